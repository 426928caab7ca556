"""The rest of torch's tensor surface (issue 10), each op against torch with random shapes:
comparisons, view_as/reshape_as/expand_as, mm/bmm/mv/dot/outer/t, repeat, norm, clone and
contiguous, isclose/allclose, cumsum, any/all, sort/argsort/topk, gather/scatter/scatter_add,
index_select, masked_fill/masked_select, flip, unbind, nonzero, where(condition), rounding,
sum(dtype=), negative padding, max_pool2d(dilation=, return_indices=) and max_unpool2d.

Differentiable ops get forward, first- and second-order gradients against torch in float64
(`chk.vs_torch`) and central differences (`chk.gradcheck`). Ties: sort is stable on both sides
(compared index for index); torch's topk orders tied entries arbitrarily, so there the values are
compared and the indices are checked to point at them (chainrule takes the lowest index).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr


def _draw(chk, data, kind="normal", **shape_kw):
    shape = tuple(data.draw(chk.shape(**shape_kw), label="shape"))
    rng = chk.rng(data)
    return shape, rng, chk.values(rng, shape, kind)


def _same(c, t):
    """A chainrule result equals torch's: shape, dtype and values (floats to rounding)."""
    cv, tv = c.detach().numpy(), t.detach().numpy()
    assert cv.shape == tv.shape, (cv.shape, tv.shape)
    assert cv.dtype == tv.dtype, (cv.dtype, tv.dtype)
    if cv.dtype.kind == "f":
        np.testing.assert_allclose(cv, tv, rtol=1e-6 if cv.dtype == np.float32 else 1e-12)
    else:
        np.testing.assert_array_equal(cv, tv)


# ----------------------------------------------------------------- comparisons, logic, tests
@given(data=st.data(), op=st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge", "logical_and",
                                           "logical_or", "logical_xor"]))
def test_comparisons_and_logic_match_torch(chk, torch, data, op):
    sa, sb = data.draw(chk.broadcast_shapes(2), label="shapes")
    rng = chk.rng(data)
    a, b = chk.values(rng, sa, "grid0"), chk.values(rng, sb, "grid0")  # many ties
    ca, cb = cr.tensor(a, requires_grad=True), cr.tensor(b)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b)
    pairs = [(getattr(ca, op)(cb), getattr(ta, op)(tb)),
             (getattr(cr, op)(ca, cb), getattr(torch, op)(ta, tb))]
    if not op.startswith("logical"):  # torch's logical ops take tensors only
        pairs.append((getattr(ca, op)(0.5), getattr(ta, op)(0.5)))
    for c, t in pairs:
        _same(c, t)
        assert not c.requires_grad and not t.requires_grad


def test_elementwise_tests_match_torch(torch):
    x = np.array([1.0, -np.inf, np.nan, np.inf, 0.0])
    for op in ("isnan", "isinf", "isfinite"):
        _same(getattr(cr.tensor(x), op)(), getattr(torch.tensor(x), op)())
        _same(getattr(cr, op)(cr.tensor([1, 2])), getattr(torch, op)(torch.tensor([1, 2])))


@given(data=st.data(), equal_nan=st.booleans())
def test_isclose_and_allclose_match_torch(chk, torch, data, equal_nan):
    sa, sb = data.draw(chk.broadcast_shapes(2), label="shapes")
    rng = chk.rng(data)
    a = chk.values(rng, sa)
    if sa == sb:  # near misses on both sides of the tolerance
        b = a + rng.choice([0.0, 1e-9, 1e-6, 1e-3], sa)
    else:
        b = chk.values(rng, sb)
    a.flat[:1] = np.nan
    b.flat[:1] = np.nan
    for rtol, atol in [(1e-5, 1e-8), (0.0, 1e-4)]:
        _same(cr.isclose(cr.tensor(a), cr.tensor(b), rtol, atol, equal_nan),
              torch.isclose(torch.tensor(a), torch.tensor(b), rtol, atol, equal_nan))
        assert (cr.tensor(a).allclose(cr.tensor(b), rtol, atol, equal_nan)
                == torch.allclose(torch.tensor(a), torch.tensor(b), rtol, atol, equal_nan))


# ----------------------------------------------------------------- as / products / t
@given(data=st.data(), op=st.sampled_from(["view_as", "reshape_as", "expand_as"]))
def test_view_reshape_expand_as_match_torch(chk, torch, data, op):
    shape, rng, x = _draw(chk, data)
    if op == "expand_as":
        lead = data.draw(st.lists(st.integers(1, 3), max_size=2), label="lead")
        target = (*lead, *[data.draw(st.integers(1, 3)) if n == 1 else n for n in shape])
    else:
        target = (int(np.prod(shape)),)
    other = np.zeros(target)
    chk.vs_torch(torch, lambda m, t, o: getattr(t, op)(o), [x, other], rng, wrt=[0])


@given(data=st.data(), op=st.sampled_from(["mm", "bmm", "mv", "dot", "outer"]))
def test_fixed_rank_products_match_torch_and_finite_differences(chk, torch, data, op):
    n, k, m, b = (data.draw(st.integers(1, 4)) for _ in range(4))
    shapes = {"mm": [(n, k), (k, m)], "bmm": [(b, n, k), (b, k, m)], "mv": [(n, k), (k,)],
              "dot": [(k,), (k,)], "outer": [(n,), (m,)]}[op]
    rng = chk.rng(data)
    xs = [chk.values(rng, s) for s in shapes]
    method = data.draw(st.booleans(), label="method")

    def fn(mod, a, c):
        return getattr(a, op)(c) if method else getattr(mod, op)(a, c)

    chk.vs_torch(torch, fn, xs, rng)
    chk.gradcheck(fn, xs)


@given(data=st.data())
def test_t_matches_torch(chk, torch, data):
    shape, rng, x = _draw(chk, data, max_dims=2)
    chk.vs_torch(torch, lambda m, a: a.t() if len(shape) % 2 else m.t(a), [x], rng)


# ----------------------------------------------------------------- repeat, flip, unbind
@given(data=st.data())
def test_repeat_matches_torch_and_finite_differences(chk, torch, data):
    shape, rng, x = _draw(chk, data, max_dims=3, max_side=3)
    extra = data.draw(st.integers(0, 2), label="extra dims")
    reps = tuple(data.draw(st.integers(0 if i else 1, 3)) for i in range(len(shape) + extra))
    chk.vs_torch(torch, lambda m, a: a.repeat(*reps) if reps else a.repeat(()), [x], rng)
    chk.gradcheck(lambda m, a: a.repeat(reps), [x])


@given(data=st.data())
def test_flip_matches_torch_and_copies(chk, torch, data):
    shape, rng, x = _draw(chk, data, min_dims=1)
    dims = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1,
                              unique_by=lambda d: d % len(shape)), label="dims")
    chk.vs_torch(torch, lambda m, a: m.flip(a, dims), [x], rng)
    chk.vs_torch(torch, lambda m, a: a.flip(*dims), [x], rng)
    t = cr.tensor(x)
    assert not np.shares_memory(t.flip(dims).numpy(), t.numpy())


@given(data=st.data())
def test_unbind_matches_torch(chk, torch, data):
    shape, rng, x = _draw(chk, data, min_dims=1)
    dim = data.draw(chk.axis(len(shape)), label="dim")
    chk.vs_torch(torch, lambda m, a: m.unbind(a, dim), [x], rng)


# ----------------------------------------------------------------- norm
@settings(max_examples=30)
@given(data=st.data(), p=st.sampled_from([2, "fro", 1, 3, 1.5, 0.5, -1, np.inf, -np.inf, 0]),
       keepdim=st.booleans())
def test_norm_matches_torch_and_finite_differences(chk, torch, data, p, keepdim):
    # ±inf: distinct |x| so that the maximum is unique; otherwise away from the kink at 0
    kind = "distinct" if p in (np.inf, -np.inf) else "nonzero"
    shape, rng, x = _draw(chk, data, kind=kind, max_dims=3)
    dim = data.draw(chk.axes(len(shape)) if p != "fro" else
                    st.one_of(st.none(), chk.axis(len(shape))), label="dim")
    method = data.draw(st.booleans(), label="method")

    def fn(m, a):
        return a.norm(p, dim, keepdim) if method else m.norm(a, p, dim, keepdim)

    chk.vs_torch(torch, fn, [x], rng, rtol=1e-6)
    if p != 0:
        chk.gradcheck(fn, [x])


def test_norm_at_zero_has_torch_gradient_and_dtype_rules(torch):
    for p in (2, 3, 0.5, -1, 1, np.inf):
        c = cr.zeros(3, dtype=cr.float64, requires_grad=True)
        t = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        c.norm(p).backward()
        t.norm(p).backward()
        _same(c.grad, t.grad)
    x = np.array([[1.0, 0.0, -2.0], [0.0, 0.0, 0.0]])
    c, t = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    c.norm(dim=1).sum().backward()
    t.norm(dim=1).sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    assert cr.ones(2, 3).norm(dtype=cr.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="norm: dtype float32 must be a floating-point dtype "
                                           "that holds the input's float64"):
        cr.ones(2, dtype=cr.float64).norm(dtype=cr.float32)
    with pytest.raises(RuntimeError, match="norm: needs a floating-point tensor, got int64"):
        cr.norm(cr.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="nuclear norm"):
        cr.ones(2, 2).norm("nuc")


# ----------------------------------------------------------------- clone / contiguous
def test_clone_and_contiguous_follow_torch_memory_rules(torch):
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.clone()
    assert not np.shares_memory(y.detach().numpy(), x.detach().numpy())
    assert x.contiguous() is x and x.is_contiguous()
    xt = x.t()
    assert not xt.is_contiguous() and torch.ones(2, 3).t().is_contiguous() is False
    c = xt.contiguous()
    assert c.is_contiguous() and c is not xt
    assert not np.shares_memory(c.detach().numpy(), x.detach().numpy())
    (c * cr.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    assert cr.clone(cr.tensor([1, 2])).dtype == np.int64


@given(data=st.data())
def test_clone_and_contiguous_gradients_match_torch(chk, torch, data):
    shape, rng, x = _draw(chk, data, min_dims=2, max_dims=3)
    chk.vs_torch(torch, lambda m, a: m.clone(a) * a, [x], rng)
    chk.vs_torch(torch, lambda m, a: a.transpose(0, 1).contiguous() * 2, [x], rng)


# ----------------------------------------------------------------- cumsum, any/all, sum(dtype)
@given(data=st.data())
def test_cumsum_matches_torch_and_finite_differences(chk, torch, data):
    shape, rng, x = _draw(chk, data)
    dim = data.draw(chk.axis(len(shape)), label="dim")
    chk.vs_torch(torch, lambda m, a: a.cumsum(dim), [x], rng)
    chk.gradcheck(lambda m, a: m.cumsum(a, dim), [x])
    ints = rng.integers(-3, 4, shape)
    for dt in (np.int32, np.uint8, np.bool_):
        a = ints.astype(dt)
        _same(cr.tensor(a).cumsum(dim), torch.tensor(a).cumsum(dim))
    _same(cr.cumsum(cr.tensor(ints), dim, dtype=cr.float64),
          torch.cumsum(torch.tensor(ints), dim, dtype=torch.float64))


@given(data=st.data(), op=st.sampled_from(["any", "all"]), keepdim=st.booleans(),
       dtype=st.sampled_from([np.float64, np.int64, np.bool_, np.uint8]))
def test_any_all_match_torch(chk, torch, data, op, keepdim, dtype):
    shape = data.draw(chk.shape(), label="shape")
    rng = chk.rng(data)
    x = (rng.random(shape) < data.draw(st.sampled_from([0.1, 0.5, 0.9]))).astype(dtype)
    ct, tt = cr.tensor(x), torch.tensor(x)
    dim = data.draw(st.one_of(st.none(), chk.axis(len(shape)), st.just(())), label="dim")
    if dim is None:
        _same(getattr(ct, op)(), getattr(tt, op)())
    else:
        _same(getattr(ct, op)(dim, keepdim), getattr(tt, op)(dim, keepdim))
        _same(getattr(cr, op)(ct, dim=dim, keepdim=keepdim),
              getattr(torch, op)(tt, dim=dim, keepdim=keepdim))


@given(data=st.data(), dtype=st.sampled_from([np.bool_, np.uint8, np.int32, np.int64]))
def test_sum_of_integers_is_int64_and_dtype_casts_first(chk, torch, data, dtype):
    shape = data.draw(chk.shape(), label="shape")
    rng = chk.rng(data)
    x = rng.integers(0, 200, shape).astype(dtype)
    dim = data.draw(st.one_of(st.none(), chk.axis(len(shape)), st.just(())), label="dim")
    kw = {} if dim is None else {"dim": dim}
    _same(cr.tensor(x).sum(**kw), torch.tensor(x).sum(**kw))
    f = chk.values(rng, shape) * 3
    for c_dt, t_dt in [(cr.float64, torch.float64), (cr.int32, torch.int32)]:
        _same(cr.sum(cr.tensor(f, dtype=cr.float32), dtype=c_dt, **kw),
              torch.sum(torch.tensor(f, dtype=torch.float32), dtype=t_dt, **kw))


def test_sum_dtype_keeps_the_graph_for_floats(torch):
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=cr.float32, requires_grad=True)
    y = x.sum(dim=0, dtype=cr.float64)
    assert y.dtype == np.float64 and y.requires_grad
    y.backward(cr.tensor([1.0, 2.0], dtype=cr.float64))
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 2.0], [1.0, 2.0]])


# ----------------------------------------------------------------- sort / argsort / topk
@given(data=st.data(), descending=st.booleans())
def test_sort_matches_torch_including_ties_and_nan(chk, torch, data, descending):
    shape, rng, x = _draw(chk, data, kind="distinct")
    dim = data.draw(chk.axis(len(shape)), label="dim")
    chk.vs_torch(torch, lambda m, a: m.sort(a, dim, descending), [x], rng)
    chk.vs_torch(torch, lambda m, a: a.sort(dim=dim, descending=descending).values, [x], rng)
    chk.gradcheck(lambda m, a: m.sort(a, dim, descending)[0], [x])
    # ties and NaN: both sides sort stably with NaN above every number
    g = np.asarray(chk.values(rng, shape, "grid0") * 5 // 3)
    g[rng.random(shape) < 0.1] = np.nan
    for stable in (False, True):
        c = cr.sort(cr.tensor(g), dim, descending, stable=stable)
        t = torch.sort(torch.tensor(g), dim=dim, descending=descending, stable=True)
        _same(c.indices, t.indices)
        _same(c.values, t.values)
        _same(cr.argsort(cr.tensor(g), dim, descending),
              torch.argsort(torch.tensor(g), dim=dim, descending=descending, stable=True))


@given(data=st.data(), largest=st.booleans())
def test_topk_matches_torch(chk, torch, data, largest):
    shape, rng, x = _draw(chk, data, kind="distinct")
    dim = data.draw(chk.axis(len(shape)), label="dim")
    n = shape[dim] if shape else 1
    k = data.draw(st.integers(0, n), label="k")
    chk.vs_torch(torch, lambda m, a: m.topk(a, k, dim, largest), [x], rng)
    if k:
        chk.gradcheck(lambda m, a: a.topk(k, dim, largest).values, [x])
    # ties: the same values; chainrule's indices are the lowest ones holding them
    g = np.asarray(chk.values(rng, shape, "grid0") // 0.7)
    c = cr.topk(cr.tensor(g), k, dim, largest)
    t = torch.topk(torch.tensor(g), k, dim, largest)
    _same(c.values, t.values)
    if shape:
        np.testing.assert_array_equal(np.take_along_axis(g, c.indices.numpy(), dim),
                                      c.values.numpy())
        order = np.argsort(-g if largest else g, axis=dim, kind="stable")
        np.testing.assert_array_equal(c.indices.numpy(), np.take(order, np.arange(k), dim))


def test_topk_and_sort_on_0d_and_ints(torch):
    for m in (cr, torch):
        v, i = m.topk(m.tensor(3.0), 1)
        assert v.item() == 3.0 and i.item() == 0
    _same(cr.tensor([3, 1, 2]).topk(2).values, torch.tensor([3, 1, 2]).topk(2).values)
    _same(cr.tensor([True, False]).sort().values, torch.tensor([True, False]).sort().values)
    v = cr.tensor([3.0, 1.0, 2.0], requires_grad=True).sort()
    assert v.values.requires_grad and not v.indices.requires_grad
    assert v.indices.dtype == np.int64


# ----------------------------------------------------------------- gather / scatter
def _index_case(chk, data, min_dims=1):
    """x, a dim, and an index no larger than x off that dim, entries in range."""
    shape, rng, x = _draw(chk, data, min_dims=min_dims, max_dims=3)
    dim = data.draw(chk.axis(len(shape)), label="dim")
    d = dim % max(len(shape), 1)
    ishape = tuple(data.draw(st.integers(1, 4) if i == d else st.integers(1, n), label="index")
                   for i, n in enumerate(shape))
    return shape, rng, x, dim, d, ishape


@given(data=st.data())
def test_gather_matches_torch_and_finite_differences(chk, torch, data):
    shape, rng, x, dim, d, ishape = _index_case(chk, data)
    idx = rng.integers(0, shape[d], ishape)  # repeats: their gradients add up
    method = data.draw(st.booleans(), label="method")

    def fn(m, a, i):
        return a.gather(dim, i) if method else m.gather(a, dim, i)

    chk.vs_torch(torch, fn, [x, idx], rng)
    chk.gradcheck(fn, [x, idx])


@given(data=st.data(), number=st.booleans())
def test_scatter_matches_torch_and_finite_differences(chk, torch, data, number):
    shape, rng, x, dim, d, ishape = _index_case(chk, data)
    ishape = ishape[:d] + (min(ishape[d], shape[d]),) + ishape[d + 1:]
    # distinct positions along dim, so that torch defines every gradient
    idx = np.argsort(rng.random(ishape[:d] + (shape[d],) + ishape[d + 1:]), axis=d)
    idx = np.take(idx, np.arange(ishape[d]), axis=d)
    src = chk.values(rng, ishape)
    if number:
        chk.vs_torch(torch, lambda m, a, i: a.scatter(dim, i, 2.5), [x, idx], rng)
        chk.vs_torch(torch, lambda m, a, i: m.scatter(a, dim, i, value=-1.0), [x, idx], rng)
        return
    chk.vs_torch(torch, lambda m, a, i, s: m.scatter(a, dim, i, s), [x, idx, src], rng)
    # a src larger than index: only its leading corner is read (torch cannot differentiate
    # this case, so its forward alone is compared)
    big = chk.values(rng, tuple(n + 1 for n in ishape))
    _same(cr.tensor(x).scatter(dim, cr.tensor(idx), cr.tensor(big)),
          torch.tensor(x).scatter(dim, torch.tensor(idx), torch.tensor(big)))
    chk.gradcheck(lambda m, a, i, s: a.scatter(dim, i, s), [x, idx, big])


@given(data=st.data())
def test_scatter_add_matches_torch_and_finite_differences(chk, torch, data):
    shape, rng, x, dim, d, ishape = _index_case(chk, data)
    idx = rng.integers(0, shape[d], ishape)
    src = chk.values(rng, ishape)
    chk.vs_torch(torch, lambda m, a, i, s: a.scatter_add(dim, i, s), [x, idx, src], rng)
    chk.gradcheck(lambda m, a, i, s: m.scatter_add(a, dim, i, s), [x, idx, src])


def test_scatter_writes_the_last_value_at_a_repeated_position_as_torch_on_cpu(torch):
    x = np.zeros((2, 3))
    idx = np.array([[1, 1, 1], [0, 2, 0]])
    src = np.arange(6.0).reshape(2, 3)
    _same(cr.tensor(x).scatter(1, cr.tensor(idx), cr.tensor(src)),
          torch.tensor(x).scatter(1, torch.tensor(idx), torch.tensor(src)))
    _same(cr.tensor(3.0).scatter(0, cr.tensor(0), 5.0),
          torch.tensor(3.0).scatter(0, torch.tensor(0), 5.0))


@given(data=st.data())
def test_index_select_matches_torch_and_finite_differences(chk, torch, data):
    shape, rng, x = _draw(chk, data, min_dims=1, max_dims=3)
    dim = data.draw(chk.axis(len(shape)), label="dim")
    idx = rng.integers(0, shape[dim], data.draw(st.integers(0, 5), label="n"))
    chk.vs_torch(torch, lambda m, a, i: a.index_select(dim, i), [x, idx], rng)
    chk.gradcheck(lambda m, a, i: m.index_select(a, dim, i), [x, idx])


# ----------------------------------------------------------------- masks, where, nonzero
@given(data=st.data(), tensor_value=st.booleans())
def test_masked_fill_matches_torch(chk, torch, data, tensor_value):
    sx, sm = data.draw(chk.broadcast_shapes(2), label="shapes")
    rng = chk.rng(data)
    x, mask = chk.values(rng, sx), rng.random(sm) < 0.5
    if tensor_value:
        chk.vs_torch(torch, lambda m, a, mk, v: a.masked_fill(mk, v), [x, mask, np.array(0.7)],
                     rng)
        chk.gradcheck(lambda m, a, mk, v: m.masked_fill(a, mk, v), [x, mask, np.array(0.7)])
    else:
        chk.vs_torch(torch, lambda m, a, mk: a.masked_fill(mk, -5.0), [x, mask], rng)
        chk.vs_torch(torch, lambda m, a, mk: m.masked_fill(a, mk, 2), [x, mask], rng)
        _same(cr.tensor(x).masked_fill(cr.tensor(mask), -np.inf),
              torch.tensor(x).masked_fill(torch.tensor(mask), -np.inf))
    ints = rng.integers(0, 5, sx)
    _same(cr.tensor(ints).masked_fill(cr.tensor(mask), 2.7),
          torch.tensor(ints).masked_fill(torch.tensor(mask), 2.7))


@given(data=st.data())
def test_masked_select_where_and_nonzero_match_torch(chk, torch, data):
    sx, sm = data.draw(chk.broadcast_shapes(2), label="shapes")
    rng = chk.rng(data)
    x, mask = chk.values(rng, sx), rng.random(sm) < 0.5
    chk.vs_torch(torch, lambda m, a, mk: a.masked_select(mk), [x, mask], rng)
    chk.vs_torch(torch, lambda m, a, mk: m.where(mk, a, 0.0), [x, mask], rng)
    chk.vs_torch(torch, lambda m, a, mk: a.where(mk, -a), [x, mask], rng)
    for c, t in zip(cr.where(cr.tensor(mask)), torch.where(torch.tensor(mask)), strict=True):
        _same(c, t)
    _same(cr.tensor(mask).nonzero(), torch.tensor(mask).nonzero())
    for c, t in zip(cr.nonzero(cr.tensor(x > 0), as_tuple=True),
                    torch.nonzero(torch.tensor(x > 0), as_tuple=True), strict=True):
        _same(c, t)


# ----------------------------------------------------------------- rounding, square, rsqrt
@given(data=st.data(), op=st.sampled_from(["floor", "ceil", "trunc", "round", "square",
                                           "rsqrt", "reciprocal"]))
def test_rounding_and_powers_match_torch(chk, torch, data, op):
    kind = "positive" if op in ("rsqrt", "reciprocal") else "grid"
    shape, rng, x = _draw(chk, data, kind=kind)
    x = x * 3 if op in ("floor", "ceil", "trunc", "round") else x
    chk.vs_torch(torch, lambda m, a: getattr(a, op)(), [x], rng)
    chk.vs_torch(torch, lambda m, a: getattr(m, op)(a), [x], rng)
    ints = np.asarray(rng.integers(1, 5, shape))
    _same(getattr(cr.tensor(ints), op)(), getattr(torch.tensor(ints), op)())


def test_round_halves_to_even_and_decimals_as_torch(torch):
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.25, 1.35, 2.675])
    _same(cr.tensor(x).round(), torch.tensor(x).round())
    _same(cr.round(cr.tensor(x), decimals=1), torch.round(torch.tensor(x), decimals=1))


# ----------------------------------------------------------------- negative padding
@given(data=st.data())
def test_negative_padding_matches_torch_and_finite_differences(chk, torch, data):
    shape, rng, x = _draw(chk, data, min_dims=1, max_dims=3)
    pad = []
    for n in shape[::-1][:data.draw(st.integers(1, len(shape)), label="padded dims")]:
        lo = data.draw(st.integers(-n, 2), label="lo")
        pad += [lo, data.draw(st.integers(-(n + min(lo, 0)), 2), label="hi")]
    value = data.draw(st.sampled_from([0.0, -1.5]), label="value")
    chk.vs_torch(torch, lambda m, a: m.nn.functional.pad(a, pad, value=value), [x], rng)
    chk.gradcheck(lambda m, a: m.nn.functional.pad(a, pad, value=value), [x])
    t = cr.tensor(x)
    assert not np.shares_memory(cr.nn.functional.pad(t, pad).numpy(), t.numpy())


# ----------------------------------------------------------------- pooling with indices
@st.composite
def _pool_case(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    ceil_mode = draw(st.booleans())
    hw = [draw(st.integers(max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i]), 7)) for i in range(2)]
    batch = draw(st.sampled_from([(1, 2), (2, 1), (3,)]))
    return (*batch, *hw), k, s, p, d, ceil_mode


def _reads_image(shape, k, s, p, d, ceil_mode, torch):
    """Whether every window reads a pixel (torch gives −∞ for a window of padding only)."""
    y = torch.nn.functional.max_pool2d(torch.zeros(shape), k, s, p, d, ceil_mode)
    return bool((y == 0).all())


@settings(max_examples=30)
@given(data=st.data())
def test_max_pool2d_dilation_and_indices_match_torch(chk, torch, data):
    shape, k, s, p, d, ceil_mode = data.draw(_pool_case(), label="case")
    try:
        ok = _reads_image(shape, k, s, p, d, ceil_mode, torch)
    except RuntimeError:
        ok = False
    if not ok:
        with pytest.raises(RuntimeError):
            cr.nn.functional.max_pool2d(cr.zeros(shape), k, s, p, d, ceil_mode)
        return
    rng = chk.rng(data)
    x = chk.values(rng, shape, "distinct")
    chk.vs_torch(torch, lambda m, a: m.nn.functional.max_pool2d(
        a, k, s, p, d, ceil_mode, return_indices=True), [x], rng)
    chk.gradcheck(lambda m, a: m.nn.functional.max_pool2d(a, k, s, p, d, ceil_mode), [x])
    with cr.no_grad():  # the unrecorded path computes the same indices
        y, i = cr.nn.functional.max_pool2d(cr.tensor(x), k, s, p, d, ceil_mode,
                                           return_indices=True)
    _, ti = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, d, ceil_mode,
                                           return_indices=True)
    _same(i, ti)


@given(data=st.data())
def test_max_pool1d_indices_match_torch(chk, torch, data):
    shape, rng, x = _draw(chk, data, kind="distinct", min_dims=3, max_dims=3, max_side=6)
    k = data.draw(st.integers(1, min(3, shape[2])), label="k")
    chk.vs_torch(torch, lambda m, a: m.nn.functional.max_pool1d(a, k, return_indices=True),
                 [x], rng)


@settings(max_examples=20)
@given(data=st.data(), given_size=st.booleans())
def test_max_unpool2d_matches_torch(chk, torch, data, given_size):
    n, c = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    k = data.draw(st.integers(1, 3), label="k")
    s = data.draw(st.integers(1, 3), label="s")
    h, w = data.draw(st.integers(k, 7)), data.draw(st.integers(k, 7))
    rng = chk.rng(data)
    x = chk.values(rng, (n, c, h, w), "grid0")  # ties: overlapping windows pick one index
    pooled, idx = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, return_indices=True)
    size = (n, c, h, w) if given_size else None
    try:
        torch.nn.functional.max_unpool2d(pooled, idx, k, s, output_size=size)
    except (RuntimeError, ValueError) as e:  # a size torch rejects, or indices beyond it
        with pytest.raises(type(e), match="^max_unpool2d: "):
            cr.nn.functional.max_unpool2d(cr.tensor(pooled.numpy()), cr.tensor(idx.numpy()),
                                          k, s, output_size=size)
        return
    ci = cr.tensor(idx.numpy())
    chk.vs_torch(torch, lambda m, a: m.nn.functional.max_unpool2d(
        a, ci if m is cr else idx, k, s, output_size=size), [pooled.numpy()], rng)
    chk.vs_torch(torch, lambda m, a: m.nn.functional.max_unpool2d(
        *m.nn.functional.max_pool2d(a, k, s, return_indices=True), k, s, output_size=size),
        [x], rng)
