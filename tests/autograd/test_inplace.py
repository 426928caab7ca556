"""In-place ops, `.data` and version counters, side by side with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def pair(values, requires_grad=True):
    v = np.asarray(values, np.float64)
    return (cr.tensor(v.copy(), requires_grad=requires_grad),
            torch.tensor(v.copy(), requires_grad=requires_grad))


def close(c, t):
    np.testing.assert_allclose(np.asarray(c.detach().numpy()), t.detach().numpy(), rtol=1e-12)


def test_the_tutorial_update_idiom_changes_the_weight_in_place():
    (cw, tw), xs = pair([0.5, -1.0, 2.0]), np.linspace(-1, 1, 3)
    before = cw
    for _ in range(3):
        for lib, w in ((cr, cw), (torch, tw)):
            loss = ((w * lib.tensor(xs)).sum() - 1.0) ** 2
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
                w.grad.zero_()
    assert cw is before and cw.is_leaf and cw.requires_grad
    close(cw, tw)
    assert cw._version == tw._version


@pytest.mark.parametrize("op", [
    lambda w: w.add_(1.0), lambda w: w.mul_(2.0), lambda w: w.zero_(),
    lambda w: w.__iadd__(1.0), lambda w: w.__setitem__(0, 3.0), lambda w: w.clamp_(0.0, 1.0),
])
def test_a_leaf_that_requires_grad_is_refused_outside_no_grad(op):
    cw, tw = pair([0.5, 2.0])
    with pytest.raises(RuntimeError):
        op(tw)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        op(cw)


def test_in_place_ops_on_graph_values_are_recorded():
    (ca, ta), (cb, tb) = pair([1.0, -2.0, 3.0]), pair([0.5, 0.25, -1.0])
    grads = []
    for a, b in ((ca, cb), (ta, tb)):
        h = a * 2.0
        h.mul_(b).add_(b, alpha=3.0).sub_(1.0).div_(2.0).pow_(2)
        h[1] = b[0] * 5.0
        h.relu_()
        g = b * 1.0
        g.exp_()
        (h * a + g * g).sum().backward()
        grads.append((a.grad, b.grad))
    close(grads[0][0], grads[1][0])
    close(grads[0][1], grads[1][1])


def test_setitem_with_a_broadcast_value_matches_torch():
    (cx, tx), (cv, tv) = pair(np.arange(6.0).reshape(2, 3)), pair([7.0, 8.0, 9.0])
    for x, v in ((cx, cv), (tx, tv)):
        y = x * 1.0
        y[1:] = v
        y[:, 0] = 0.0
        (y * y).sum().backward()
    close(cx.grad, tx.grad)
    close(cv.grad, tv.grad)


def test_a_value_changed_after_use_makes_backward_refuse():
    for lib in (torch, cr):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        h = a * 2.0
        z = h * h          # saves h for its backward
        h.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_an_optimizer_step_invalidates_a_graph_built_before_it():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    opt = cr.optim.SGD([w], lr=0.1)
    w.grad = cr.ones(2)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_views_share_memory_and_version_with_their_base():
    cx, tx = cr.zeros(2, 3), torch.zeros(2, 3)
    for x in (cx, tx):
        x[0].add_(1.0)
        x.view(6)[5] = 4.0
        x.t()[1, 0] = 2.0
    close(cx, tx)
    assert cx._version == tx._version == 3


def test_data_shares_memory_but_not_the_version_and_detach_shares_both():
    (cp, tp) = pair([1.0, 2.0])
    for p in (cp, tp):
        p.data.add_(1.0)
        p.data.mul_(2.0)
    close(cp, tp)
    assert isinstance(cp.data, cr.Tensor) and not cp.data.requires_grad
    assert cp._version == tp._version == 0
    for p in (cp, tp):
        p.detach().zero_()
    assert cp.tolist() == [0.0, 0.0] and cp._version == tp._version == 1
    cp.data = cr.tensor([5.0, 6.0, 7.0], dtype=cr.float64)   # rebinding .data, as torch allows
    assert cp.shape == (3,) and cp.requires_grad


def test_errors_match_torch_classes():
    for lib in (torch, cr):
        with pytest.raises(RuntimeError):          # an int tensor cannot hold a float result
            lib.zeros(3, dtype=lib.int64).add_(0.5)
        with pytest.raises(RuntimeError):          # the result must keep the tensor's shape
            lib.zeros(2, 1).add_(lib.ones(2, 3))
    c = cr.zeros(3)
    c += cr.ones(3, dtype=cr.float64)              # a float64 result fits a float32 tensor
    assert c.dtype == np.float32 and c.tolist() == [1.0, 1.0, 1.0]


def test_fill_copy_and_random_fills():
    x = cr.empty(2, 3)
    assert x.fill_(1.5).tolist() == [[1.5] * 3] * 2
    x.copy_(cr.tensor([1.0, 2.0, 3.0]))
    assert x.tolist() == [[1.0, 2.0, 3.0]] * 2
    cr.manual_seed(0)
    u = cr.empty(4000).uniform_(-2.0, 3.0)
    assert -2.0 <= float(u.min()) and float(u.max()) < 3.0
    n = cr.empty(4000, dtype=cr.float64).normal_(1.0, 0.5)
    assert n.dtype == np.float64 and abs(float(n.mean()) - 1.0) < 0.05
    cr.manual_seed(0)
    assert np.array_equal(cr.empty(4000).uniform_(-2.0, 3.0).numpy(), u.numpy())


def test_copy_into_a_graph_value_sends_the_gradient_to_the_source():
    (ca, ta), (cs, ts) = pair([1.0, 2.0]), pair([3.0, 4.0])
    for a, s in ((ca, cs), (ta, ts)):
        y = a * 1.0
        y.copy_(s * s)
        (y * a).sum().backward()
    close(ca.grad, ta.grad)
    close(cs.grad, ts.grad)


def test_relu_in_place_after_a_convolution_equals_out_of_place():
    cr.manual_seed(0)
    conv = cr.nn.Conv2d(1, 2, 3)
    x = cr.randn(1, 1, 6, 6)
    conv(x).relu_().sum().backward()
    inplace = conv.weight.grad.numpy().copy()
    conv.zero_grad()
    conv(x).relu().sum().backward()
    np.testing.assert_array_equal(conv.weight.grad.numpy(), inplace)


def test_a_view_of_a_value_changed_earlier_backpropagates():
    for lib in (torch, cr):
        x = lib.zeros(3, requires_grad=True)
        with lib.no_grad():
            x[...] = 1.0
        x[1:].sum().backward()
        assert x.grad.tolist() == [0.0, 1.0, 1.0]


def test_relu_in_place_without_a_graph_writes_the_array_itself():
    """Where nothing is recorded, relu_ computes max(z, 0) in z's memory (one pass): views see
    it, the version moves, integer tensors work too, and a broadcast view still refuses."""
    import numpy as np

    import chainrule as cr

    x = cr.tensor([[-1.0, 2.0], [3.0, -4.0]])
    view = x[1]
    before = x._version
    memory = x._data
    assert x.relu_() is x
    assert x._data is memory and x._version == before + 1
    assert view.tolist() == [3.0, 0.0]
    i = cr.tensor([-3, 4])
    i.relu_()
    assert i.tolist() == [0, 4]
    wide = cr.tensor([-1.0, 1.0]).expand(3, 2)
    with pytest.raises(RuntimeError, match="relu_"):
        wide.relu_()
    with cr.no_grad():
        w = cr.randn(4, requires_grad=True)
        cr.nn.functional.relu(w, inplace=True)
    assert (w.detach().numpy() >= 0).all() and np.isfinite(w.detach().numpy()).all()
