"""The backprop engine: ordering, fan-out, accumulation, graph lifetime, grad(), higher order."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autograd import Function, GradcheckError, topological_order
from chainrule.autograd.function import vertex


def f64(values, requires_grad=True):
    return cr.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ----------------------------------------------------------------- topological order


def _assert_parents_first(order):
    pos = {id(t): i for i, t in enumerate(order)}
    assert len(pos) == len(order), "a tensor appears twice in the order"
    for t in order:
        if t.grad_fn is None:
            continue
        for p in map(vertex, t.grad_fn.inputs):  # (the tensor a StandIn stands for)
            if p.requires_grad:
                assert id(p) in pos, "a parent that requires grad is missing"
                assert pos[id(p)] < pos[id(t)], "a child comes before its parent"


def test_topological_order_small_graph():
    w = f64(2.0)
    x = f64(3.0, requires_grad=False)
    b = f64(1.0)
    z = w * x + b
    y = z.sigmoid()
    r = w * w * 0.5
    loss = (y - 1.0) ** 2 * 0.5 + 0.1 * r
    order = topological_order([loss])
    assert order[-1] is loss
    _assert_parents_first(order)
    ids = {id(t) for t in order}
    assert id(w) in ids and id(b) in ids and id(z) in ids and id(y) in ids
    assert id(x) not in ids  # data that needs no gradient is not visited
    assert all(t.requires_grad for t in order)


@st.composite
def random_dags(draw):
    """A random graph over smooth ops with heavy fan-out: (leaf values, list of node specs)."""
    n_leaves = draw(st.integers(1, 3))
    leaves = [draw(st.floats(-1, 1)) for _ in range(n_leaves)]
    nodes = []
    for k in range(draw(st.integers(1, 14))):
        avail = n_leaves + k
        op = draw(st.sampled_from(["add", "sub", "mul", "sin", "tanh"]))
        i = draw(st.integers(0, avail - 1))
        j = draw(st.integers(0, avail - 1))
        nodes.append((op, i, j))
    return leaves, nodes


def _build(leaves, nodes):
    ops = {"add": lambda a, b: 0.5 * (a + b), "sub": lambda a, b: 0.5 * (a - b),
           "mul": lambda a, b: a * b, "sin": lambda a, b: a.sin(), "tanh": lambda a, b: a.tanh()}
    vals = list(leaves)
    for op, i, j in nodes:
        vals.append(ops[op](vals[i], vals[j]))
    return vals


@given(random_dags())
def test_topological_order_random_dags(dag):
    leaf_vals, nodes = dag
    leaves = [f64(v) for v in leaf_vals]
    vals = _build(leaves, nodes)
    root = sum(v for v in vals[len(leaves):])
    order = topological_order([root])
    assert order[-1] is root
    _assert_parents_first(order)


@given(random_dags())
def test_random_dag_gradients_match_finite_differences(dag):
    """Fan-out everywhere: each value's error signal is the sum over its children."""
    leaf_vals, nodes = dag
    leaves = [f64(v) for v in leaf_vals]

    def f(*xs):
        vals = _build(list(xs), nodes)
        return sum(v for v in vals[len(xs):])

    assert cr.gradcheck(f, leaves)


# ----------------------------------------------------------------- deep graphs


def test_chain_of_100k_ops_backpropagates_without_recursion():
    x = f64(1.5)
    y = x
    for i in range(100_000):
        y = y * 2.0 if i % 2 == 0 else y * 0.5  # exact in binary: dy/dx is exactly 1
    assert len(topological_order([y])) == 100_001
    y.backward()
    assert x.grad.dtype == np.float64
    assert x.grad.item() == 1.0
    assert y.item() == 1.5


def test_deleting_a_deep_graph_without_backward_is_safe():
    x = f64(0.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    ref = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert ref() is None


# ----------------------------------------------------------------- fan-out and accumulation


def test_fan_out_sums_the_childrens_signals():
    xv = np.array([0.3, -1.2, 2.0])
    x = f64(xv)
    a = np.array([1.0, 2.0, 3.0])
    y = (x * cr.tensor(a) + x * x + x.sin() + x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), a + 2 * xv + np.cos(xv) + 1, rtol=1e-14)


def test_same_tensor_twice_in_one_op():
    x = f64([3.0, -2.0])
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [2.0, 2.0])
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [6.0, -4.0])


def test_grad_accumulates_across_backward_calls():
    x = f64([1.0, 2.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [2.0, 4.0])
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [5.0, 7.0])
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [3.0, 3.0])


def test_leaf_grads_are_private_writable_arrays():
    """(a + b) hands the same ȳ to both parents and sum's backward is a broadcast view: each
    leaf's .grad must still be its own writable array, so in-place updates stay local."""
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    (a + b).sum().backward()
    assert a.grad is not b.grad
    assert not np.shares_memory(a.grad.detach().numpy(), b.grad.detach().numpy())
    a.grad.detach().numpy()[...] *= 10.0
    np.testing.assert_array_equal(b.grad.detach().numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(a.grad.detach().numpy(), [10.0, 10.0])

    x = f64([1.0, 2.0])
    seed = cr.tensor(np.array([1.0, 1.0]))
    (x * 1.0).backward(seed)
    x.grad.detach().numpy()[0] = 5.0
    assert seed.tolist() == [1.0, 1.0]


# ----------------------------------------------------------------- retain_graph


def test_second_backward_without_retain_graph_raises():
    x = f64([1.0, 2.0])
    loss = (x.exp() * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_retain_graph_allows_a_second_backward_and_doubles_grad():
    xv = np.array([1.0, 2.0])
    x = f64(xv)
    loss = (x.exp() * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad.detach().numpy().copy()
    np.testing.assert_allclose(first, np.exp(xv) * (xv + 1), rtol=1e-14)
    loss.backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * first, rtol=1e-14)
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_shared_subgraph_is_freed_by_the_first_backward():
    x = f64([1.0])
    h = x.tanh()
    l1, l2 = (h * 2).sum(), (h * 3).sum()
    l1.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        l2.backward()


# ----------------------------------------------------------------- errors


def test_backward_on_non_scalar_needs_gradient():
    x = f64([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()
    y.backward(gradient=np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.detach().numpy(), [2.0, 20.0])


def test_backward_with_wrong_shaped_gradient_names_the_shapes():
    x = f64(np.ones((2, 3)))
    y = x * 2
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(cr.ones(3, 2, dtype=cr.float64))
    with pytest.raises(cr.ShapeError):
        y.backward(np.ones(6))


def test_backward_on_tensor_that_does_not_require_grad_raises():
    t = cr.tensor([1.0, 2.0]).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        t.backward()
    with cr.no_grad():
        u = (f64([1.0]) * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        u.backward()


# ----------------------------------------------------------------- graph lifetime


def test_no_leaks_after_backward():
    x = cr.randn(4, 3, requires_grad=True)
    w = cr.randn(3, 5, requires_grad=True)
    h = x @ w
    a = h.tanh()
    s = a.sigmoid() * a
    refs = [weakref.ref(t) for t in (h, a, s)] + [weakref.ref(t.grad_fn) for t in (h, a, s)]
    loss = s.mean()
    del h, a, s
    # the graph keeps its nodes alive until backward (and the values that some node reads)
    assert all(r() is not None for r in refs[3:])
    loss.backward()
    del loss
    gc.collect()
    assert all(r() is None for r in refs)
    assert x.grad is not None and w.grad is not None


def test_no_reference_cycles_with_retained_graph():
    """Even with retain_graph, dropping the root frees the graph by reference counting."""
    x = cr.randn(3, requires_grad=True)
    h = x.exp()
    y = (h * x).softmax(0)
    refs = [weakref.ref(h), weakref.ref(y), weakref.ref(y.grad_fn)]
    loss = (y * y).sum()
    del h, y
    loss.backward(retain_graph=True)
    gc.disable()
    try:
        del loss
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_backprop_yields_each_node_once_with_its_finished_error_signal():
    """The lecture's loop: v̄_N = 1, then each v_i after all its children, with v̄_i summed."""
    x = f64([2.0])
    a = x * 3.0                 # a = 3x
    b = a.exp()                 # b = e^a
    y = a * b                   # y = a e^a: a has two children (b and y)
    seen = list(cr.autograd.backprop([y], [cr.ones_like(y)], retain_graph=True))
    order = [v for v, _ in seen]
    assert [id(v) for v in order] == [id(y), id(b), id(a), id(x)]
    grads = {id(v): g.detach().numpy() for v, g in seen}
    ea = np.exp(6.0)
    np.testing.assert_allclose(grads[id(b)], [6.0])                 # ȳ ∂y/∂b = a
    np.testing.assert_allclose(grads[id(a)], [ea + 6.0 * ea])       # b + a·e^a (both children)
    np.testing.assert_allclose(grads[id(x)], [3.0 * (ea + 6.0 * ea)])
    assert x.grad is None  # backprop only yields; storing into .grad is backpropagate's job


def test_backward_releases_saved_values():
    x = f64([1.0, 2.0])
    y = x.exp()
    fn = y.grad_fn
    (y * 1.0).sum().backward()
    assert fn.released and fn.inputs == ()


# ----------------------------------------------------------------- cr.autograd.grad


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    xv, yv = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    x, y = f64(xv), f64(yv)
    out = (x * x * y).sum()
    gx, gy = cr.autograd.grad(out, [x, y])
    np.testing.assert_allclose(gx.detach().numpy(), 2 * xv * yv)
    np.testing.assert_allclose(gy.detach().numpy(), xv * xv)
    assert x.grad is None and y.grad is None
    assert not gx.requires_grad and gx.grad_fn is None
    (single,) = cr.autograd.grad((x * 3).sum(), x)
    np.testing.assert_array_equal(single.detach().numpy(), [3.0, 3.0])
    x.grad = cr.tensor(np.array([7.0, 7.0]))
    cr.autograd.grad((x * x).sum(), x)
    assert x.grad.tolist() == [7.0, 7.0]


def test_grad_with_grad_outputs_and_multiple_outputs():
    x = f64([1.0, 2.0, 3.0])
    y = x * x
    (g,) = cr.autograd.grad(y, x, grad_outputs=cr.tensor(np.array([1.0, 0.0, 2.0])))
    np.testing.assert_array_equal(g.detach().numpy(), [2.0, 0.0, 12.0])
    a, b = (x * 2).sum(), (x * x).sum()
    (g,) = cr.autograd.grad([a, b], [x])
    np.testing.assert_array_equal(g.detach().numpy(), [4.0, 6.0,
                                                       8.0])  # the outputs' gradients add up
    with pytest.raises(RuntimeError, match="scalar"):
        cr.autograd.grad(x * 2, x)
    with pytest.raises(ValueError, match="grad_outputs"):
        cr.autograd.grad([a, b], [x], grad_outputs=[None])


def test_grad_retain_graph():
    x = f64([2.0])
    y = (x ** 3).sum()
    (g1,) = cr.autograd.grad(y, x, retain_graph=True)
    (g2,) = cr.autograd.grad(y, x)
    assert g1.item() == g2.item() == 12.0
    with pytest.raises(RuntimeError, match="retain_graph"):
        cr.autograd.grad(y, x)


def test_grad_allow_unused():
    x, unused = f64([1.0]), f64([1.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        cr.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = cr.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None


def test_grad_input_must_require_grad():
    x = f64([1.0])
    c = cr.tensor([1.0])
    with pytest.raises(RuntimeError, match="require grad"):
        cr.autograd.grad((x * c).sum(), [c])


def test_grad_with_respect_to_an_intermediate():
    x = f64([0.5, -0.5])
    h = x * 3.0
    out = (h.tanh()).sum()
    (gh,) = cr.autograd.grad(out, h)
    np.testing.assert_allclose(gh.detach().numpy(), 1 - np.tanh(3 * x.detach().numpy()) ** 2,
                               rtol=1e-14)


def test_create_graph_second_and_third_derivatives():
    x = f64([0.7, -1.3])
    y = (x ** 3).sum()
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    np.testing.assert_allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2)
    (gg,) = cr.autograd.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(gg.detach().numpy(), 6 * x.detach().numpy())
    (ggg,) = cr.autograd.grad(gg.sum(), x)
    np.testing.assert_allclose(ggg.detach().numpy(), [6.0, 6.0])
    assert x.grad is None


def test_backward_create_graph_then_differentiate_dot_grad():
    xv = np.array([0.4, 1.1])
    x = f64(xv)
    x.sin().sum().backward(create_graph=True)
    g = x.grad  # cos x, on the graph
    assert g.grad_fn is not None
    np.testing.assert_allclose(g.detach().numpy(), np.cos(xv))
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), -np.sin(xv), rtol=1e-14)


# ----------------------------------------------------------------- retain_grad, broadcast, dtype


def test_retain_grad_on_non_leaf():
    x = f64([1.0, 2.0])
    h = x * 3.0
    h.retain_grad()
    y = h * h
    loss = y.sum()
    loss.backward()
    np.testing.assert_array_equal(h.grad.detach().numpy(), 2 * h.detach().numpy())
    assert y.grad is None  # non-leaves keep no .grad unless asked
    np.testing.assert_array_equal(x.grad.detach().numpy(), 6 * h.detach().numpy())
    with pytest.raises(RuntimeError, match="retain_grad"):
        cr.tensor([1.0]).retain_grad()


def test_retain_grad_accumulates_and_leaf_keeps_root_grad():
    x = f64([2.0])
    x.retain_grad()
    x.sum().backward()
    assert x.grad.tolist() == [1.0]
    x.sum().backward()
    assert x.grad.tolist() == [2.0]


def test_broadcasting_gradients_are_summed_back():
    a = cr.tensor(np.arange(3.0).reshape(3, 1), requires_grad=True)
    b = cr.tensor(np.arange(4.0), requires_grad=True)
    c = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    out = (a + b) * c
    assert out.shape == (3, 4)
    out.sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,) and c.grad.shape == ()
    np.testing.assert_array_equal(a.grad.detach().numpy(), np.full((3, 1), 8.0))
    np.testing.assert_array_equal(b.grad.detach().numpy(), np.full(4, 6.0))
    assert c.grad.item() == float((np.arange(3.0)[:, None] + np.arange(4.0)).sum())


def test_broadcasting_with_weights_of_the_gradient():
    rng = np.random.default_rng(1)
    av, bv, gv = rng.standard_normal((2, 1, 3)), rng.standard_normal((4, 1)), rng.standard_normal(
        (2, 4, 3))
    a, b = f64(av), f64(bv)
    (a * b).backward(gv)
    np.testing.assert_allclose(a.grad.detach().numpy(), (gv * bv).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(b.grad.detach().numpy(), (gv * av).sum(axis=(0, 2))[:, None])


@pytest.mark.parametrize(("da", "db"), [("float32", "float64"), ("float64", "float32"),
                                        ("float32", "float32"), ("float64", "float64")])
def test_grad_dtype_matches_leaf_dtype(da, db):
    a = cr.tensor([1.0, 2.0], dtype=da, requires_grad=True)
    b = cr.tensor([3.0, 4.0], dtype=db, requires_grad=True)
    out = (a * b + a.exp()).sum()
    out.backward()
    assert a.grad.dtype == np.dtype(da)
    assert b.grad.dtype == np.dtype(db)
    (ga, gb) = cr.autograd.grad((a * b).sum(), [a, b])
    assert ga.dtype == np.dtype(da) and gb.dtype == np.dtype(db)


def test_grad_dtype_through_explicit_casts():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    (a.double() * 3.0).sum().backward()
    assert a.grad.dtype == np.float32
    np.testing.assert_array_equal(a.grad.detach().numpy(), [3.0, 3.0])


# ----------------------------------------------------------------- higher order against PyTorch


def _mlp_loss(lib, x, t, params):
    """Two hidden layers (tanh, softplus), linear output, squared error."""
    w1, b1, w2, b2, w3, b3 = params
    if lib == "cr":
        h1 = (x @ w1 + b1).tanh()
        h2 = cr.softplus(h1 @ w2 + b2)
    else:
        import torch

        h1 = torch.tanh(x @ w1 + b1)
        h2 = torch.nn.functional.softplus(h1 @ w2 + b2)
    y = h2 @ w3 + b3
    return ((y - t) ** 2).sum() * 0.5


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hessian_vector_products_match_pytorch(torch, seed):
    rng = np.random.default_rng(seed)
    n, d, h1, h2, k = 5, 3, 4, 3, 2
    shapes = [(d, h1), (h1,), (h1, h2), (h2,), (h2, k), (k,)]
    values = [rng.standard_normal(s) for s in shapes]
    vecs = [rng.standard_normal(s) for s in shapes]
    xv, tv = rng.standard_normal((n, d)), rng.standard_normal((n, k))

    params = [f64(v) for v in values]
    loss = _mlp_loss("cr", cr.tensor(xv), cr.tensor(tv), params)
    grads = cr.autograd.grad(loss, params, create_graph=True)
    gv = sum((g * cr.tensor(v)).sum() for g, v in zip(grads, vecs, strict=True))
    hvp = cr.autograd.grad(gv, params)

    tparams = [torch.tensor(v, requires_grad=True) for v in values]
    tloss = _mlp_loss("torch", torch.tensor(xv), torch.tensor(tv), tparams)
    tgrads = torch.autograd.grad(tloss, tparams, create_graph=True)
    tgv = sum((g * torch.tensor(v)).sum() for g, v in zip(tgrads, vecs, strict=True))
    thvp = torch.autograd.grad(tgv, tparams)

    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    for g, tg in zip(grads, tgrads, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    for hv, thv in zip(hvp, thvp, strict=True):
        assert hv.dtype == np.float64 and hv.shape == tuple(thv.shape)
        np.testing.assert_allclose(hv.detach().numpy(), thv.numpy(), rtol=1e-10, atol=1e-12)
    assert all(p.grad is None for p in params)


_SECOND_ORDER = {
    "exp": (lambda x: x.exp(), lambda t, x: t.exp(x)),
    "log": (lambda x: x.log(), lambda t, x: t.log(x)),
    "sqrt": (lambda x: x.sqrt(), lambda t, x: t.sqrt(x)),
    "sin": (lambda x: x.sin(), lambda t, x: t.sin(x)),
    "cos": (lambda x: x.cos(), lambda t, x: t.cos(x)),
    "tanh": (lambda x: x.tanh(), lambda t, x: t.tanh(x)),
    "sigmoid": (lambda x: x.sigmoid(), lambda t, x: t.sigmoid(x)),
    "softplus": (lambda x: cr.softplus(x), lambda t, x: t.nn.functional.softplus(x)),
    "recip": (lambda x: 1.0 / x, lambda t, x: 1.0 / x),
    "pow": (lambda x: x ** 2.5, lambda t, x: x ** 2.5),
    "self_pow": (lambda x: x ** x, lambda t, x: x ** x),
    "mul_div": (lambda x: x * x.exp() / (x + 1.0), lambda t, x: x * t.exp(x) / (x + 1.0)),
    "softmax": (lambda x: x.softmax(0) * x, lambda t, x: t.softmax(x, 0) * x),
    "logsumexp": (lambda x: x.logsumexp(0) * x, lambda t, x: t.logsumexp(x, 0) * x),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(_SECOND_ORDER))
def test_second_and_third_derivatives_match_pytorch(torch, name):
    """Each op's backward is built from differentiable ops, so derivatives of any order work."""
    f, tf = _SECOND_ORDER[name]
    xv = np.array([0.3, 0.9, 1.7, 2.4])
    wv = np.array([1.0, -2.0, 0.5, 3.0])
    x = f64(xv)
    (g,) = cr.autograd.grad((f(x) * cr.tensor(wv)).sum(), x, create_graph=True)
    (gg,) = cr.autograd.grad((g * cr.tensor(wv)).sum(), x, create_graph=True)
    (ggg,) = cr.autograd.grad(gg.sum(), x)
    tx = torch.tensor(xv, requires_grad=True)
    (tg,) = torch.autograd.grad((tf(torch, tx) * torch.tensor(wv)).sum(), tx, create_graph=True)
    (tgg,) = torch.autograd.grad((tg * torch.tensor(wv)).sum(), tx, create_graph=True)
    (tggg,) = torch.autograd.grad(tgg.sum(), tx)
    for ours, theirs in ((g, tg), (gg, tgg), (ggg, tggg)):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


@pytest.mark.torch
def test_hessian_via_backward_create_graph_matches_pytorch(torch):
    rng = np.random.default_rng(3)
    values = [rng.standard_normal(s) for s in [(2, 3), (3,), (3, 3), (3,), (3, 1), (1,)]]
    xv, tv = rng.standard_normal((4, 2)), rng.standard_normal((4, 1))
    w = f64(values[0])
    params = [w] + [f64(v, requires_grad=False) for v in values[1:]]
    _mlp_loss("cr", cr.tensor(xv), cr.tensor(tv), params).backward(create_graph=True)
    # full Hessian block d²L/dw² row by row from the recorded gradient
    g = w.grad
    rows = [cr.autograd.grad(g.reshape(-1)[i], w, retain_graph=True)[0].detach().numpy().ravel()
            for i in range(w.numel())]

    tw = torch.tensor(values[0], requires_grad=True)
    tparams = [tw] + [torch.tensor(v) for v in values[1:]]
    th = torch.autograd.functional.hessian(
        lambda a: _mlp_loss("torch", torch.tensor(xv), torch.tensor(tv), [a] + tparams[1:]), tw)
    np.testing.assert_allclose(np.stack(rows), th.reshape(w.numel(), w.numel()).numpy(), rtol=1e-10,
                               atol=1e-12)


# ----------------------------------------------------------------- gradcheck


def test_gradcheck_accepts_correct_functions():
    rng = np.random.default_rng(0)
    a, b = f64(rng.standard_normal((2, 3))), f64(rng.standard_normal((3, 2)))
    assert cr.gradcheck(lambda x, y: (x @ y).tanh(), [a, b]) is True
    assert cr.gradcheck(lambda x: cr.softplus(x) * x.sigmoid(), a) is True
    c = cr.tensor(rng.standard_normal(3))  # inputs that do not require grad are held fixed
    assert cr.gradcheck(lambda x, k: (x * k).sum(), [f64(rng.standard_normal(3)), c]) is True


class _WrongSquare(Function):
    """y = a², with a backward that forgets the factor 2."""

    def forward(self, a):
        return a * a

    def backward(self, g, out):
        (a,) = self.inputs
        return (g * a,)


class _Square(_WrongSquare):
    def backward(self, g, out):
        (a,) = self.inputs
        return (g * 2.0 * a,)


def test_custom_function_subclass_works_with_the_engine():
    x = f64([1.0, -3.0])
    y = _Square.apply(x)
    assert y.grad_fn is not None and y.grad_fn.name() == "_SquareBackward"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [2.0, -6.0])
    assert cr.gradcheck(lambda t: _Square.apply(t), f64([0.5, 2.0]))


def test_gradcheck_raises_on_a_wrong_backward():
    x = f64([1.0, -2.0, 3.0])
    with pytest.raises(GradcheckError) as info:
        cr.gradcheck(lambda t: _WrongSquare.apply(t), [x])
    msg = str(info.value)
    assert "input 0" in msg and "element 0" in msg
    assert "backprop gives 1" in msg and "finite differences give 2" in msg
    assert isinstance(info.value, AssertionError)


def test_gradcheck_rejects_float32_and_no_grad_inputs():
    with pytest.raises(TypeError, match="float64"):
        cr.gradcheck(lambda t: t * 2, cr.tensor([1.0], requires_grad=True))
    with pytest.raises(ValueError, match="requires grad"):
        cr.gradcheck(lambda t: t * 2, cr.tensor(np.array([1.0])))


def test_a_weight_gradient_is_stored_without_a_copy_yet_never_shares_memory():
    """A conv weight's error signal is a view (a reshaped product): it becomes `.grad` as it is,
    while two leaves fed the same error signal (Add) still get arrays of their own."""
    import numpy as np

    import chainrule as cr

    x = cr.randn(2, 3, 8, 8)
    w = cr.randn(4, 3, 3, 3, requires_grad=True)
    cr.nn.functional.conv2d(x, w).sum().backward()
    assert w.grad is not None and w.grad.numpy().flags.c_contiguous
    a, b = cr.randn(5, requires_grad=True), cr.randn(5, requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.numpy()[:] = 7
    assert (b.grad.numpy() == 1).all()
