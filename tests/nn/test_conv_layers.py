"""Conv2d, Conv1d, the pooling layers and LocallyConnected2d.

Conv and pooling modules against torch.nn: the same weights (torch's state_dict loaded into
chainrule) give the same outputs and the same input / weight / bias gradients (float64 and
float32), the same repr and the same state_dict keys and shapes; default init is
U(−1/√fan_in, 1/√fan_in). LocallyConnected2d against an explicit NumPy loop (every output
position its own filter), ``cr.gradcheck``, and the lecture's parameter count.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn

with_fixtures = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")



def _tdtype(torch, dtype):
    return torch.float64 if dtype == np.float64 else torch.float32


def _copy_of(torch, tmod, cls, *args, dtype=np.float64, **kwargs):
    """A chainrule module built with the same arguments, holding torch's (random) weights."""
    mod = cls(*args, dtype=dtype, **kwargs)
    mod.load_state_dict(tmod.state_dict())
    return mod


def _same_state_dict_layout(cmod, tmod):
    csd, tsd = cmod.state_dict(), tmod.state_dict()
    assert list(csd) == list(tsd)
    for k in csd:
        assert csd[k].shape == tuple(tsd[k].shape), k


def _compare(torch, cmod, tmod, x, rng, rtol, atol):
    """Output, x̄ and every parameter gradient for one random upstream gradient."""
    cx = cr.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    cy, ty = cmod(cx), tmod(tx)
    assert cy.shape == tuple(ty.shape) and cy.dtype == x.dtype
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    g = rng.standard_normal(cy.shape).astype(x.dtype)
    cy.backward(gradient=g)
    ty.backward(gradient=torch.from_numpy(g))
    np.testing.assert_allclose(cx.grad.detach().numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    tparams = dict(tmod.named_parameters())
    assert [k for k, _ in cmod.named_parameters()] == list(tparams)
    for k, p in cmod.named_parameters():
        assert p.grad.dtype == x.dtype, k
        np.testing.assert_allclose(p.grad.detach().numpy(), tparams[k].grad.numpy(), rtol=rtol,
                                   atol=atol,
                                   err_msg=k)


# ----------------------------------------------------------------- Conv2d / Conv1d vs torch
def _int_or_tuple(n, lo, hi):
    return st.one_of(st.integers(lo, hi), st.tuples(*[st.integers(lo, hi)] * n))


def _conv_module_args(data, n):
    groups = data.draw(st.integers(1, 3), label="groups")
    cin = groups * data.draw(st.integers(1, 2), label="in per group")
    cout = groups * data.draw(st.integers(1, 2), label="out per group")
    kernel = data.draw(_int_or_tuple(n, 1, 3), label="kernel_size")
    stride = data.draw(_int_or_tuple(n, 1, 2), label="stride")
    dilation = data.draw(_int_or_tuple(n, 1, 2), label="dilation")
    strided = any(s != 1 for s in ((stride,) if isinstance(stride, int) else stride))
    pads = [_int_or_tuple(n, 0, 2), st.just("valid")] + ([] if strided else [st.just("same")])
    padding = data.draw(st.one_of(*pads), label="padding")
    bias = data.draw(st.booleans(), label="bias")
    k = (kernel,) * n if isinstance(kernel, int) else kernel
    d = (dilation,) * n if isinstance(dilation, int) else dilation
    sizes = tuple(d_ * (k_ - 1) + 1 + data.draw(st.integers(0, 3), label="extra size")
                  for k_, d_ in zip(k, d, strict=True))
    batch = data.draw(st.sampled_from([None, 1, 3]), label="batch (None: unbatched)")
    x_shape = (cin, *sizes) if batch is None else (batch, cin, *sizes)
    return (cin, cout, kernel), dict(stride=stride, padding=padding, dilation=dilation,
                                     groups=groups, bias=bias), x_shape


@pytest.mark.parametrize("name, n", [("Conv2d", 2), ("Conv1d", 1)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@with_fixtures
@given(data=st.data())
def test_conv_module_matches_torch(torch, name, n, dtype, data):
    """Weights copied from torch: same output, x̄, W̄ and b̄; same repr and state_dict layout."""
    args, kwargs, x_shape = _conv_module_args(data, n)
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    torch.manual_seed(seed % 2**31)
    tmod = getattr(torch.nn, name)(*args, dtype=_tdtype(torch, dtype), **kwargs)
    cmod = _copy_of(torch, tmod, getattr(nn, name), *args, dtype=dtype, **kwargs)
    assert repr(cmod) == repr(tmod)
    _same_state_dict_layout(cmod, tmod)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    _compare(torch, cmod, tmod, x, rng, **tol)


@pytest.mark.parametrize("build", [
    lambda m: m.Conv2d(3, 8, 5),
    lambda m: m.Conv2d(1, 6, 5, padding=2),
    lambda m: m.Conv2d(4, 6, (3, 1), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    lambda m: m.Conv2d(4, 8, 3, groups=4, bias=False),
    lambda m: m.Conv2d(2, 4, 3, padding="same"),
    lambda m: m.Conv2d(2, 4, 3, padding="valid"),
    lambda m: m.Conv1d(3, 5, 2),
    lambda m: m.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False),
    lambda m: m.Conv1d(2, 4, 4, padding="same"),
])
def test_conv_repr_and_state_dict_equal_torch(torch, build):
    cmod, tmod = build(nn), build(torch.nn)
    assert repr(cmod) == repr(tmod)
    _same_state_dict_layout(cmod, tmod)
    assert cmod.weight.dtype == np.float32
    assert [k for k, _ in cmod.named_parameters()] == [k for k, _ in tmod.named_parameters()]


def test_torch_state_dict_round_trips(torch):
    tmod = torch.nn.Conv2d(3, 4, 3, padding=1)
    cmod = nn.Conv2d(3, 4, 3, padding=1)
    cmod.load_state_dict(tmod.state_dict())
    back = torch.nn.Conv2d(3, 4, 3, padding=1)
    back.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in cmod.state_dict().items()})
    for k, v in tmod.state_dict().items():
        assert torch.equal(back.state_dict()[k], v), k


@pytest.mark.parametrize("build, fan_in", [
    (lambda: nn.Conv2d(16, 64, 5), 16 * 25),
    (lambda: nn.Conv2d(96, 192, 3, groups=4), 24 * 9),   # fan_in counts in_channels/groups
    (lambda: nn.Conv1d(50, 400, 3), 150),
])
def test_conv_default_init_is_uniform_within_one_over_sqrt_fan_in(build, fan_in):
    """torch's default (kaiming_uniform_ with a=√5): W, b ~ U(−1/√fan_in, 1/√fan_in)."""
    cr.manual_seed(0)
    mod = build()
    bound = 1 / math.sqrt(fan_in)
    w = mod.weight.detach().numpy().astype(np.float64)
    assert w.size >= 20_000
    assert np.all(np.abs(w) <= bound)
    assert w.max() > 0.99 * bound and w.min() < -0.99 * bound
    assert abs(w.mean()) < 0.02 * bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.03)
    hist, _ = np.histogram(w, bins=4, range=(-bound, bound))
    np.testing.assert_allclose(hist / w.size, 0.25, atol=0.015)
    b = mod.bias.detach().numpy()
    assert np.all(np.abs(b) <= bound) and b.max() > 0.5 * bound and b.min() < -0.5 * bound


def test_conv_module_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"^Conv2d: in_channels \(3\) and out_channels \(4\) "
                                         r"must be divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"^Conv1d: padding='same' is not supported for "
                                         r"strided convolutions"):
        nn.Conv1d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"^Conv2d: padding must be 'same', 'valid'"):
        nn.Conv2d(2, 2, 3, padding="full")
    with pytest.raises(ValueError, match=r"^Conv2d: only padding_mode='zeros'"):
        nn.Conv2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(cr.ShapeError, match=r"^conv2d: weight \(4, 4, 3, 3\) expects 4 input "
                                            r"channels \(groups=1\), but the input "
                                            r"\(1, 3, 5, 5\) has 3"):
        nn.Conv2d(4, 4, 3)(cr.ones(1, 3, 5, 5))


# ----------------------------------------------------------------- pooling layers vs torch
POOLS = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3,), dict(stride=2)),
    ("MaxPool2d", ((3, 2),), dict(stride=(2, 1), padding=(1, 0), ceil_mode=True)),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False, ceil_mode=True)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, divisor_override=2)),
    ("MaxPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, count_include_pad=False)),
    ("AvgPool1d", (2,), {}),
    ("AdaptiveAvgPool2d", ((3, 2),), {}),
    ("AdaptiveAvgPool2d", ((None, 4),), {}),
    ("AdaptiveAvgPool2d", (1,), {}),
]


@pytest.mark.parametrize("name, args, kwargs", POOLS)
def test_pool_modules_match_torch(torch, name, args, kwargs):
    rng = np.random.default_rng(3)
    cmod, tmod = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(cmod) == repr(tmod)
    assert cmod.state_dict() == {} and list(cmod.parameters()) == []
    shape = (2, 3, 7) if name.endswith("1d") else (2, 3, 7, 6)
    _compare(torch, cmod, tmod, rng.standard_normal(shape), rng, rtol=1e-12, atol=1e-14)
    # unbatched input and an MNIST-like constant background (ties: for max pooling the
    # gradients must be exactly equal, the first maximum of each window getting ȳ)
    x = np.zeros(shape[1:])
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = cmod(cx), tmod(tx)
    assert cy.shape == tuple(ty.shape)
    g = rng.integers(-3, 4, cy.shape).astype(np.float64)
    cy.backward(gradient=g)
    ty.backward(gradient=torch.from_numpy(g))
    if name.startswith("Max"):
        np.testing.assert_array_equal(cx.grad.detach().numpy(), tx.grad.numpy())
    else:
        np.testing.assert_allclose(cx.grad.detach().numpy(), tx.grad.numpy(), rtol=1e-12,
                                   atol=1e-14)


def test_pool_module_in_a_float32_network(torch):
    rng = np.random.default_rng(4)
    tnet = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.MaxPool2d(3, 2),
                               torch.nn.Conv2d(3, 2, 2), torch.nn.AdaptiveAvgPool2d((2, 3)))
    cnet = nn.Sequential(nn.Conv2d(2, 3, 3), nn.MaxPool2d(3, 2), nn.Conv2d(3, 2, 2),
                         nn.AdaptiveAvgPool2d((2, 3)))
    cnet.load_state_dict(tnet.state_dict())
    assert repr(cnet) == repr(tnet)
    x = rng.standard_normal((2, 2, 13, 12)).astype(np.float32)
    _compare(torch, cnet, tnet, x, rng, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------- LocallyConnected2d
def _np_locally_connected(x, w, b, stride, pads):
    """y[n, o, p, q] = b[o, p, q] + Σ_{c,i,j} w[p, q, o, c, i, j] · x_pad[n, c, p·s+i, q·s+j]."""
    oh, ow, o, c, kh, kw = w.shape
    t, bo, le, r = pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (le, r)))
    y = np.zeros((x.shape[0], o, oh, ow), x.dtype)
    for n in range(x.shape[0]):
        for oc in range(o):
            for p in range(oh):
                for q in range(ow):
                    total = 0.0 if b is None else b[oc, p, q]
                    for ci in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                total += (w[p, q, oc, ci, i, j]
                                          * xp[n, ci, p * stride[0] + i, q * stride[1] + j])
                    y[n, oc, p, q] = total
    return y


@pytest.mark.parametrize("kwargs, pads, out", [
    (dict(in_channels=2, out_channels=3, input_size=(5, 6), kernel_size=3), (0, 0, 0, 0),
     (3, 4)),
    (dict(in_channels=1, out_channels=2, input_size=5, kernel_size=(2, 3), stride=2,
          padding=1), (1, 1, 1, 1), (3, 3)),
    (dict(in_channels=2, out_channels=1, input_size=(4, 5), kernel_size=(2, 2),
          padding="same"), (0, 1, 0, 1), (4, 5)),
    (dict(in_channels=1, out_channels=2, input_size=4, kernel_size=3, bias=False),
     (0, 0, 0, 0), (2, 2)),
])
def test_locally_connected_matches_an_explicit_loop_and_gradcheck(kwargs, pads, out):
    cr.manual_seed(1)
    layer = nn.LocallyConnected2d(**kwargs, dtype=cr.float64)
    o, c = kwargs["out_channels"], kwargs["in_channels"]
    k = kwargs["kernel_size"]
    k = (k, k) if isinstance(k, int) else k
    assert layer.output_size == out
    assert layer.weight.shape == (*out, o, c, *k)
    has_bias = kwargs.get("bias", True)
    assert (layer.bias.shape == (o, *out)) if has_bias else layer.bias is None
    assert list(layer.state_dict()) == (["weight", "bias"] if has_bias else ["weight"])
    size = kwargs["input_size"]
    size = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, c, *size))
    s = kwargs.get("stride", 1)
    want = _np_locally_connected(x, layer.weight.detach().numpy(),
                                 layer.bias.detach().numpy() if has_bias else None,
                                 (s, s), pads)
    got = layer(cr.tensor(x))
    assert got.shape == (2, o, *out)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)

    xt = cr.tensor(x[:1], requires_grad=True)
    params = [layer.weight] + ([layer.bias] if has_bias else [])
    assert cr.gradcheck(lambda xx, *ps: cr.nn.functional.locally_connected2d(
        xx, ps[0], ps[1] if has_bias else None, kwargs.get("stride", 1),
        kwargs.get("padding", 0)), [xt, *params])


def test_locally_connected_filters_are_untied():
    """Changing the filter of one position changes that output only (a conv would change all)."""
    layer = nn.LocallyConnected2d(1, 1, 4, 3, dtype=cr.float64)
    x = cr.randn(1, 1, 4, 4, dtype=cr.float64)
    before = layer(x).detach().numpy().copy()
    layer.weight.detach().numpy()[1, 0] += 1.0
    diff = layer(x).detach().numpy() - before
    assert diff[0, 0, 1, 0] != 0
    diff[0, 0, 1, 0] = 0.0
    np.testing.assert_array_equal(diff, 0.0)


def test_locally_connected_with_the_same_filter_everywhere_is_a_conv(rng):
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1, dtype=cr.float64)
    lc = nn.LocallyConnected2d(2, 3, (7, 6), 3, stride=2, padding=1, dtype=cr.float64)
    # broadcast over the (OH, OW) positions
    lc.weight.detach().numpy()[...] = conv.weight.detach().numpy()
    lc.bias.detach().numpy()[...] = conv.bias.detach().numpy()[:, None, None]
    x = cr.tensor(rng.standard_normal((2, 2, 7, 6)))
    np.testing.assert_allclose(lc(x).detach().numpy(), conv(x).detach().numpy(), rtol=1e-12,
                               atol=1e-12)


def test_lecture_parameter_count_locally_connected_vs_conv():
    """A 200×200 image, 10×10 receptive fields, one unit per position ('same' output size):
    40,000 hidden units; untied, 40,000 × 100 = 4,000,000 weights; a conv layer shares one
    10×10 filter: 100 weights. (Sizes only: no forward pass on this layer.)"""
    lc = nn.LocallyConnected2d(1, 1, (200, 200), 10, padding="same", bias=False)
    assert lc.output_size == (200, 200)
    assert math.prod(lc.output_size) * lc.out_channels == 40_000
    assert lc.weight.numel() == 4_000_000
    assert lc.weight.shape == (200, 200, 1, 1, 10, 10)
    conv = nn.Conv2d(1, 1, 10, padding="same", bias=False)
    assert conv.weight.numel() == 100
    assert conv(cr.zeros(1, 1, 200, 200)).shape == (1, 1, 200, 200)
    # the same count from the lecture's 'valid' variant: 191×191 positions
    valid = nn.LocallyConnected2d(1, 1, 200, 10, bias=False)
    assert valid.output_size == (191, 191) and valid.weight.numel() == 191 * 191 * 100


def test_locally_connected_errors():
    layer = nn.LocallyConnected2d(3, 4, 5, 3)
    with pytest.raises(cr.ShapeError, match=r"^locally_connected2d: input \(1, 3, 6, 6\) gives "
                                            r"\(4, 4\) output positions but the weight has "
                                            r"\(3, 3\)"):
        layer(cr.ones(1, 3, 6, 6))
    with pytest.raises(cr.ShapeError, match=r"^locally_connected2d: input \(1, 2, 5, 5\) does "
                                            r"not fit weight"):
        layer(cr.ones(1, 2, 5, 5))
    with pytest.raises(ValueError, match=r"^LocallyConnected2d: padding='same' is not "
                                         r"supported for strided"):
        nn.LocallyConnected2d(1, 1, 8, 3, stride=2, padding="same")
