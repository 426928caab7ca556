"""chainrule.ops.conv: conv2d, conv1d, patches (im2col) and unfold.

Each op is checked against a NumPy loop over output positions written from the definition
y[n, o, p, q] = b_o + Σ_{c,i,j} w[o, c, i, j] · x_pad[n, g·C/G + c, p·s + i·d, q·s + j·d]
(float32 and float64), by ``cr.gradcheck`` in float64, and against PyTorch in float64: forward,
the gradients w.r.t. input, weight and bias for a random upstream gradient, and second
derivatives (grad of grad with create_graph=True). Hypothesis draws shapes, strides, paddings
(int, pair, 'valid', 'same'), dilations, groups, bias or none, batched or unbatched inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

F32_TOL = {"rtol": 1e-4, "atol": 1e-5}

# torch's note that 'same' with an even kernel pads a copy of the input: expected, not a problem
# every test runs on the NumPy path and on the compiled kernels (chainrule.jit)
pytestmark = [pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning"),
              pytest.mark.usefixtures("jit_mode")]



# ----------------------------------------------------------------- NumPy references
def _pads(padding, kernel, dilation):
    """(top, bottom, left, right) for torch's padding argument, from its documentation."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":  # total d·(k − 1), the odd one extra at the bottom/right
        th, tw = (d * (k - 1) for d, k in zip(dilation, kernel, strict=True))
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return ph, ph, pw, pw


def _np_conv2d(x, w, b, stride, padding, dilation, groups):
    """The definition, one output position at a time (x (N, C, H, W) or (C, H, W))."""
    if x.ndim == 3:
        return _np_conv2d(x[None], w, b, stride, padding, dilation, groups)[0]
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    t, bo, le, r = _pads(padding, (kh, kw), (dh, dw))
    xp = np.zeros((n, c, h + t + bo, wd + le + r), x.dtype)
    xp[:, :, t:t + h, le:le + wd] = x
    oh = (h + t + bo - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + le + r - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    y = np.zeros((n, o, oh, ow), x.dtype)
    for g in range(groups):
        for p in range(oh):
            for q in range(ow):
                win = xp[:, g * cg:(g + 1) * cg, p * sh:p * sh + dh * (kh - 1) + 1:dh,
                         q * sw:q * sw + dw * (kw - 1) + 1:dw]  # (N, C/G, KH, KW)
                y[:, g * og:(g + 1) * og, p, q] = np.einsum("ncij,ocij->no", win,
                                                            w[g * og:(g + 1) * og])
    if b is not None:
        y = y + b[:, None, None]
    return y


def _np_patches(x, kernel, stride, padding, dilation):
    """(N, OH, OW, C, KH, KW): window (p, q) of every channel, from the definition."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    t, bo, le, r = _pads(padding, kernel, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (le, r)))
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], oh, ow, x.shape[1], kh, kw), x.dtype)
    for p in range(oh):
        for q in range(ow):
            out[:, p, q] = xp[:, :, p * sh:p * sh + dh * (kh - 1) + 1:dh,
                              q * sw:q * sw + dw * (kw - 1) + 1:dw]
    return out


# ----------------------------------------------------------------- strategies
def _int_or_pair(lo, hi):
    return st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


def _as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _side(data, k, d, lo, hi, label):
    """An input side at least as large as the dilated kernel minus the padding."""
    need = max(d * (k - 1) + 1 - lo - hi, 1)
    return data.draw(st.integers(need, need + 3), label=label)


def _conv2d_args(data, max_groups=3):
    groups = data.draw(st.integers(1, max_groups), label="groups")
    cin = groups * data.draw(st.integers(1, 2), label="in channels per group")
    cout = groups * data.draw(st.integers(1, 2), label="out channels per group")
    kernel = data.draw(_int_or_pair(1, 3), label="kernel")
    stride = data.draw(_int_or_pair(1, 2), label="stride")
    dilation = data.draw(_int_or_pair(1, 2), label="dilation")
    options = [_int_or_pair(0, 2), st.just("valid")]
    if _as_pair(stride) == (1, 1):
        options.append(st.just("same"))
    padding = data.draw(st.one_of(*options), label="padding")
    k, d = _as_pair(kernel), _as_pair(dilation)
    t, bo, le, r = _pads(padding, k, d)
    h = _side(data, k[0], d[0], t, bo, "H")
    w = _side(data, k[1], d[1], le, r, "W")
    batch = data.draw(st.sampled_from([None, 1, 2]), label="batch (None: unbatched)")
    bias = data.draw(st.booleans(), label="bias")
    x_shape = (cin, h, w) if batch is None else (batch, cin, h, w)
    return dict(x_shape=x_shape, w_shape=(cout, cin // groups, *k), bias=bias, stride=stride,
                padding=padding, dilation=dilation, groups=groups)


def _conv2d_case(chk, data):
    a = _conv2d_args(data)
    rng = chk.rng(data)
    arrays = [chk.values(rng, a["x_shape"]), chk.values(rng, a["w_shape"])]
    if a["bias"]:
        arrays.append(chk.values(rng, a["w_shape"][:1]))
    kw = dict(stride=a["stride"], padding=a["padding"], dilation=a["dilation"],
              groups=a["groups"])

    def fn(m, x, w, b=None):
        return m.nn.functional.conv2d(x, w, b, **kw)

    def np_fn(x, w, b=None):
        return _np_conv2d(x, w, b, _as_pair(a["stride"]), a["padding"],
                          _as_pair(a["dilation"]), a["groups"])

    return chk.Case(fn, np_fn, arrays, rng, forward_kw=F32_TOL)


def _conv1d_case(chk, data):
    groups = data.draw(st.integers(1, 3), label="groups")
    cin = groups * data.draw(st.integers(1, 2), label="in channels per group")
    cout = groups * data.draw(st.integers(1, 2), label="out channels per group")
    k = data.draw(st.integers(1, 4), label="kernel")
    stride = data.draw(st.integers(1, 3), label="stride")
    d = data.draw(st.integers(1, 3), label="dilation")
    options = [st.integers(0, 2), st.integers(0, 2).map(lambda p: (p,)), st.just("valid")]
    if stride == 1:
        options.append(st.just("same"))
    padding = data.draw(st.one_of(*options), label="padding")
    t, bo, le, r = _pads(padding if isinstance(padding, str) else (0, _as_pair(padding)[0]),
                         (1, k), (1, d))
    length = _side(data, k, d, le, r, "L")
    batch = data.draw(st.sampled_from([None, 1, 2]), label="batch (None: unbatched)")
    rng = chk.rng(data)
    arrays = [chk.values(rng, (cin, length) if batch is None else (batch, cin, length)),
              chk.values(rng, (cout, cin // groups, k))]
    if data.draw(st.booleans(), label="bias"):
        arrays.append(chk.values(rng, (cout,)))

    def fn(m, x, w, b=None):
        return m.nn.functional.conv1d(x, w, b, stride=stride, padding=padding, dilation=d,
                                      groups=groups)

    def np_fn(x, w, b=None):  # a 1-D conv is a 2-D conv over a height-1 image
        pad2 = padding if isinstance(padding, str) else (0, _as_pair(padding)[0])
        y = _np_conv2d(x[..., None, :], w[:, :, None, :], b, (1, stride), pad2, (1, d), groups)
        return y[..., 0, :]

    return chk.Case(fn, np_fn, arrays, rng, forward_kw=F32_TOL)


def _window_args(data):
    kernel = data.draw(_int_or_pair(1, 3), label="kernel")
    stride = data.draw(_int_or_pair(1, 2), label="stride")
    dilation = data.draw(_int_or_pair(1, 2), label="dilation")
    padding = data.draw(_int_or_pair(0, 2), label="padding")
    k, d = _as_pair(kernel), _as_pair(dilation)
    t, bo, le, r = _pads(padding, k, d)
    shape = (data.draw(st.integers(1, 2), label="N"), data.draw(st.integers(1, 3), label="C"),
             _side(data, k[0], d[0], t, bo, "H"), _side(data, k[1], d[1], le, r, "W"))
    return shape, kernel, stride, padding, dilation


def _unfold_case(chk, data):
    shape, kernel, stride, padding, dilation = _window_args(data)
    rng = chk.rng(data)

    def fn(m, x):
        return m.nn.functional.unfold(x, kernel, dilation=dilation, padding=padding,
                                      stride=stride)

    def np_fn(x):  # torch's layout: rows (c, i, j), columns the windows in row-major order
        p = _np_patches(x, _as_pair(kernel), _as_pair(stride), padding, _as_pair(dilation))
        n, oh, ow = p.shape[:3]
        return p.reshape(n, oh * ow, -1).transpose(0, 2, 1)

    return chk.Case(fn, np_fn, [chk.values(rng, shape)], rng)


def _patches_case(chk, data):
    shape, kernel, stride, padding, dilation = _window_args(data)
    rng = chk.rng(data)

    def fn(m, x):
        return cr.patches(x, kernel, stride=stride, padding=padding, dilation=dilation)

    def tfn(torch, x):  # the same windows from torch's unfold, in patches' layout
        k = _as_pair(kernel)
        cols = torch.nn.functional.unfold(x, kernel, dilation=dilation, padding=padding,
                                          stride=stride)
        p = _np_patches(np.zeros(shape), k, _as_pair(stride), padding, _as_pair(dilation))
        oh, ow = p.shape[1:3]
        return cols.reshape(shape[0], shape[1], *k, oh, ow).permute(0, 4, 5, 1, 2, 3)

    def np_fn(x):
        return _np_patches(x, _as_pair(kernel), _as_pair(stride), padding, _as_pair(dilation))

    return chk.Case(fn, np_fn, [chk.values(rng, shape)], rng, tfn=tfn)


CASES = {"conv2d": _conv2d_case, "conv1d": _conv1d_case, "unfold": _unfold_case,
         "patches": _patches_case}


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=15)
@given(data=st.data())
def test_forward_matches_numpy_and_gradcheck(chk, name, data):
    chk.numpy_and_gradcheck(CASES[name](chk, data))


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_gradients_match_torch(chk, torch, name, data):
    """Forward, x̄ / W̄ / b̄ for a random upstream gradient, and second derivatives."""
    chk.torch_oracle(torch, CASES[name](chk, data))


# ----------------------------------------------------------------- specific semantics
def test_conv2d_is_cross_correlation_on_a_hand_example():
    """No kernel flip: w = [[1, 0], [0, −1]] gives x[i, j] − x[i+1, j+1] = −5 on arange(16)."""
    x = cr.arange(16.0).reshape(1, 1, 4, 4)
    w = cr.tensor([[[[1.0, 0.0], [0.0, -1.0]]]])
    y = cr.conv2d(x, w, cr.tensor([0.5]))
    np.testing.assert_array_equal(y.detach().numpy(), np.full((1, 1, 3, 3), -4.5))
    y = cr.conv2d(x, w, stride=2, padding=1)  # the corners of the padded 6×6 image
    # y[p, q] = x_pad[2p, 2q] − x_pad[2p+1, 2q+1] with x_pad[r, c] = x[r−1, c−1] (0 outside)
    np.testing.assert_array_equal(y.detach().numpy()[0, 0], [[0.0, -2.0, 0.0], [-8.0, -5.0, 7.0],
                                                 [0.0, 13.0, 15.0]])


def test_conv2d_gradients_on_a_hand_example():
    """x̄ = Σ over outputs of ȳ·w at the pixels each output read; W̄ = Σ ȳ ⊗ patch; b̄ = Σ ȳ."""
    x = cr.tensor(np.arange(9.0).reshape(1, 1, 3, 3), requires_grad=True)
    w = cr.tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), requires_grad=True)
    b = cr.tensor(np.array([0.0]), requires_grad=True)
    cr.conv2d(x, w, b).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy()[0, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])
    np.testing.assert_array_equal(w.grad.detach().numpy()[0, 0], [[8, 12], [20, 24]])
    np.testing.assert_array_equal(b.grad.detach().numpy(), [4.0])


def test_unbatched_input_equals_a_batch_of_one(rng):
    x, w, b = rng.standard_normal((2, 5, 6)), rng.standard_normal((3, 2, 2, 3)), \
        rng.standard_normal(3)
    y3 = cr.conv2d(cr.tensor(x), cr.tensor(w), cr.tensor(b), padding=(1, 0), stride=(2, 1))
    y4 = cr.conv2d(cr.tensor(x[None]), cr.tensor(w), cr.tensor(b), padding=(1, 0), stride=(2, 1))
    assert y3.shape == y4.shape[1:] == (3, 3, 4)
    np.testing.assert_array_equal(y3.detach().numpy(), y4.detach().numpy()[0])
    y2 = cr.conv1d(cr.tensor(x[:, 0]), cr.tensor(w[:, :, 0]), padding=1)
    assert y2.shape == (3, 6)


def test_conv_keeps_float32(rng):
    x = cr.tensor(rng.standard_normal((1, 2, 5, 5)).astype(np.float32), requires_grad=True)
    w = cr.tensor(rng.standard_normal((3, 2, 3, 3)).astype(np.float32), requires_grad=True)
    y = cr.conv2d(x, w, padding="same")
    assert y.dtype == np.float32 and y.shape == (1, 3, 5, 5)
    y.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


@pytest.mark.parametrize("shape, o, padding", [((8, 64, 20, 18), 72, 1), ((16, 64, 14, 13), 64, 0),
                                               ((8, 64, 17, 15), 64, (2, 1))])
def test_float32_inference_matches_torch(torch, rng, jit_mode, shape, o, padding):
    """Under no_grad a float32 3×3 convolution of enough channels and tiles takes Winograd's
    F(2×2, 3×3) when the kernels are compiled (chainrule.backend.winograd); the im2col product
    otherwise. Both equal torch's within float32 rounding, bias included."""
    from chainrule.backend import winograd
    from chainrule.ops.geometry import Window

    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal((o, shape[1], 3, 3)) * 0.2).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    p = (padding, padding) if isinstance(padding, int) else padding
    win = Window((3, 3), (1, 1), (1, 1), (p[0], p[0], p[1], p[1]))
    assert winograd.applies(shape, o, win, x.dtype) == (jit_mode == "numba")
    with cr.no_grad():
        got = cr.conv2d(cr.tensor(x), cr.tensor(w), cr.tensor(b), padding=padding)
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b),
                                      padding=padding)
    np.testing.assert_allclose(got.numpy(), want.numpy(), **F32_TOL)


@pytest.mark.parametrize("padding, dilation, k", [("same", 1, 2), ("same", 2, 3), ("same", 1, 4),
                                                  ("same", 3, 2)])
def test_same_padding_keeps_the_size_and_pads_bottom_right_more_like_torch(torch, padding,
                                                                           dilation, k):
    x = np.arange(1.0, 36.0).reshape(1, 1, 5, 7)
    w = np.random.default_rng(1).standard_normal((2, 1, k, k))
    got = cr.conv2d(cr.tensor(x), cr.tensor(w), padding=padding, dilation=dilation)
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=padding,
                                      dilation=dilation)
    assert got.shape == (1, 2, 5, 7)
    np.testing.assert_allclose(got.detach().numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


def test_unfold_then_matmul_is_conv2d(rng):
    """The lecture's view: a conv layer is one matrix product over the unfolded patches."""
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2))
    cols = cr.unfold(cr.tensor(x), (3, 2), padding=1, stride=(2, 1))       # (N, 18, L)
    y = (cr.tensor(w.reshape(4, -1)) @ cols).reshape(2, 4, 3, 6)
    np.testing.assert_allclose(y.detach().numpy(), cr.conv2d(cr.tensor(x), cr.tensor(w), padding=1,
                                                 stride=(2, 1)).detach().numpy(), rtol=1e-12)


def test_unfold_accepts_unbatched_input_like_torch(torch, rng):
    x = rng.standard_normal((2, 4, 5))
    got = cr.unfold(cr.tensor(x), 2, padding=1)
    want = torch.nn.functional.unfold(torch.tensor(x), 2, padding=1)
    assert got.shape == tuple(want.shape) == (8, 30)
    np.testing.assert_array_equal(got.detach().numpy(), want.numpy())


def test_second_derivative_of_a_conv_net_matches_torch(torch, rng):
    """d²/dx² of Σ tanh(conv(tanh(conv(x)))) · v: the conv's backward is itself differentiated
    (Conv2d ↔ ConvInputGrad ↔ ConvWeightGrad) through a nonlinearity, so the Hessian-vector
    product is not 0."""
    x, w1, w2 = (rng.standard_normal(s) for s in ((2, 2, 5, 5), (3, 2, 3, 3), (2, 3, 2, 2)))
    v, u = rng.standard_normal((2, 2, 2, 2)), rng.standard_normal(x.shape)

    def run(m, t):
        xs = [t(a, requires_grad=True) for a in (x, w1, w2)]
        F = m.nn.functional
        y = F.conv2d(m.tanh(F.conv2d(xs[0], xs[1], stride=1, padding=1)), xs[2], stride=2,
                     dilation=1)
        (g,) = m.autograd.grad((m.tanh(y) * t(v)).sum(), [xs[0]], create_graph=True)
        return g, m.autograd.grad((g * t(u)).sum(), xs)

    cg, cgg = run(cr, cr.tensor)
    tg, tgg = run(torch, torch.tensor)
    np.testing.assert_allclose(cg.detach().numpy(), tg.detach().numpy(), rtol=1e-9, atol=1e-12)
    for c, t in zip(cgg, tgg, strict=True):
        assert np.abs(t.numpy()).max() > 1e-3
        np.testing.assert_allclose(c.detach().numpy(), t.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, kw", [
    ((3, 8, 1, 1), (6, 8, 3, 3), dict(padding=1)),  # ResNet-18's last stage at 32²
    ((2, 3, 1, 5), (4, 3, 3, 3), dict(padding=1)),  # the middle kernel row only
    ((2, 2, 1, 1), (3, 2, 7, 7), dict(stride=2, padding=3)),  # a 7×7 stem on one pixel
])
def test_taps_that_read_only_padding_are_left_out_with_torchs_gradients(torch, rng, x_shape,
                                                                        w_shape, kw):
    """Where a kernel's taps meet only padding (`backend.conv.live_taps`), the convolution runs
    on the others: y, x̄, W̄ (0 at the taps left out), b̄ and the second derivatives through
    ConvInputGrad and ConvWeightGrad are torch's."""
    x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, w_shape[:1]))

    def run(m, t):
        xs = [t(a, requires_grad=True) for a in (x, w, b)]
        y = m.nn.functional.conv2d(*xs, **kw)
        v = t(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)))
        g = m.autograd.grad((m.tanh(y) * v).sum(), xs, create_graph=True)
        gg = m.autograd.grad(sum((gi * gi).sum() for gi in g[:2]), xs)
        return [y, *g, *gg]

    from chainrule.backend import conv

    win = cr.ops.geometry.Window(w_shape[2:], (kw.get("stride", 1),) * 2,
                                 padding=(kw["padding"],) * 4)
    assert conv.live_taps(win, *x_shape[2:]) is not None  # the case takes the path
    for c, t in zip(run(cr, cr.tensor), run(torch, torch.tensor), strict=True):
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-9,
                                   atol=1e-12)


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize("call, error, pattern", [
    (lambda: cr.conv2d(cr.ones(1, 3, 5, 5), cr.ones(4, 2, 3, 3)), cr.ShapeError,
     r"^conv2d: weight \(4, 2, 3, 3\) expects 2 input channels \(groups=1\), but the input "
     r"\(1, 3, 5, 5\) has 3"),
    (lambda: cr.conv2d(cr.ones(1, 4, 5, 5), cr.ones(4, 2, 3, 3), groups=3), cr.ShapeError,
     r"^conv2d: groups=3 must divide both the input channels \(4\) and the output channels "
     r"\(4\)"),
    (lambda: cr.conv2d(cr.ones(1, 4, 5, 5), cr.ones(3, 2, 3, 3), groups=2), cr.ShapeError,
     r"^conv2d: groups=2 .*output channels \(3\)"),
    (lambda: cr.conv2d(cr.ones(1, 3, 2, 2), cr.ones(4, 3, 3, 3)), cr.ShapeError,
     r"^conv2d: input \(1, 3, 2, 2\) \(padded by \(0, 0, 0, 0\)\) is smaller than the kernel "
     r"\(3, 3\)"),
    (lambda: cr.conv2d(cr.ones(1, 3, 4, 4), cr.ones(4, 3, 3, 3), padding=1, dilation=3),
     cr.ShapeError, r"^conv2d: input \(1, 3, 4, 4\) \(padded by \(1, 1, 1, 1\)\) is smaller "
                    r"than the kernel \(3, 3\) with dilation \(3, 3\)"),
    (lambda: cr.conv2d(cr.ones(1, 3, 5, 5), cr.ones(4, 3, 3, 3), stride=(2, 1), padding="same"),
     ValueError, r"^conv2d: padding='same' is not supported for strided convolutions "
                 r"\(stride=\(2, 1\)\)"),
    (lambda: cr.conv2d(cr.ones(1, 3, 5, 5), cr.ones(4, 3, 3, 3), cr.ones(3)), cr.ShapeError,
     r"^conv2d: bias of shape \(3,\) does not fit 4 output channels"),
    (lambda: cr.conv2d(cr.ones(3, 5), cr.ones(4, 3, 3, 3)), cr.ShapeError,
     r"^conv2d: expected input \(N, C, H, W\) .*got input \(3, 5\) and weight \(4, 3, 3, 3\)"),
    (lambda: cr.conv2d(cr.ones(1, 3, 5, 5), cr.ones(4, 3, 3, 3), padding="full"), ValueError,
     r"^conv2d: padding must be .*'full'"),
    (lambda: cr.conv2d(cr.ones(1, 3, 5, 5), cr.ones(4, 3, 3, 3), stride=0), ValueError,
     r"^conv2d: stride and dilation must be positive"),
    (lambda: cr.conv1d(cr.ones(1, 3, 5), cr.ones(4, 2, 3)), cr.ShapeError,
     r"^conv1d: weight \(4, 2, 3\) expects 2 input channels \(groups=1\), but the input "
     r"\(1, 3, 5\) has 3"),
    (lambda: cr.conv1d(cr.ones(1, 4, 5), cr.ones(4, 2, 3), groups=3), cr.ShapeError,
     r"^conv1d: groups=3 must divide both the input channels \(4\)"),
    (lambda: cr.conv1d(cr.ones(1, 3, 2), cr.ones(4, 3, 3)), cr.ShapeError,
     r"^conv1d: input \(1, 3, 2\) \(padded by \(0, 0\)\) is smaller than the kernel 3"),
    (lambda: cr.conv1d(cr.ones(1, 3, 5), cr.ones(4, 3, 3), stride=2, padding="same"),
     ValueError, r"^conv1d: padding='same' is not supported for strided convolutions "
                 r"\(stride=2\)"),
    (lambda: cr.conv1d(cr.ones(1, 3, 5, 5), cr.ones(4, 3, 3)), cr.ShapeError,
     r"^conv1d: expected input \(N, C, L\) .*got input \(1, 3, 5, 5\)"),
    (lambda: cr.unfold(cr.ones(1, 1, 2, 2), 3), cr.ShapeError,
     r"^unfold: input \(1, 1, 2, 2\) \(padded by \(0, 0, 0, 0\)\) is smaller than the kernel "
     r"\(3, 3\)"),
    (lambda: cr.patches(cr.ones(2, 2), 1), cr.ShapeError,
     r"^patches: expected input \(N, C, H, W\).*got shape \(2, 2\)"),
])
def test_errors_name_the_op_and_the_shapes(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
