"""chainrule.ops.activation: the lecture's units, each checked against NumPy, finite differences
and torch (first and second order), plus their behaviour at kinks and for huge |z| in float32."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr

# every test runs on the NumPy path and on the compiled kernels (chainrule.jit)
pytestmark = pytest.mark.usefixtures("jit_mode")


def _np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _np_softplus(z, beta=1.0, threshold=20.0):
    return np.where(z * beta > threshold, z, np.logaddexp(0, z * beta) / beta)


def _unary(fn, np_fn, kind="normal", tfn=None):
    def build(chk, data):
        shape = data.draw(chk.shape(), label="shape")
        rng = chk.rng(data)
        return chk.Case(fn, np_fn, [chk.values(rng, shape, kind)], rng, tfn=tfn)
    return build


def _softplus(beta, threshold):
    def fn(m, z):
        if m is cr:
            return cr.softplus(z, beta=beta, threshold=threshold)
        return m.nn.functional.softplus(z, beta=beta, threshold=threshold)
    # "grid" values are k/10 + 0.05, so βz is never at the threshold (where softplus jumps).
    return _unary(fn, lambda z: _np_softplus(z, beta, threshold), "grid")


CASES = {
    "identity": _unary(lambda m, z: m.identity(z) * 1.0, lambda z: z * 1.0,
                       tfn=lambda t, z: t.nn.Identity()(z) * 1.0),
    "relu": _unary(lambda m, z: m.relu(z), lambda z: np.maximum(z, 0), "nonzero"),
    "relu_method": _unary(lambda m, z: z.relu(), lambda z: np.maximum(z, 0), "nonzero"),
    "sigmoid": _unary(lambda m, z: m.sigmoid(z), _np_sigmoid),
    "logistic": _unary(lambda m, z: cr.logistic(z) if m is cr else m.sigmoid(z), _np_sigmoid),
    "tanh": _unary(lambda m, z: m.tanh(z), np.tanh),
    "tanh_method": _unary(lambda m, z: z.tanh(), np.tanh),
    "softplus": _softplus(1.0, 20.0),
    "softplus_beta2_threshold1": _softplus(2.0, 1.0),
    "softplus_beta_half_threshold1": _softplus(0.5, 1.0),
    "softplus_beta3_threshold5": _softplus(3.0, 5.0),
    "relu_of_affine": _unary(lambda m, z: m.relu(z * 2.0 - 0.25) * m.tanh(z),
                             lambda z: np.maximum(z * 2.0 - 0.25, 0) * np.tanh(z), "grid"),
}


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_forward_matches_numpy_and_gradcheck(chk, name, data):
    chk.numpy_and_gradcheck(CASES[name](chk, data))


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_gradients_match_torch(chk, torch, name, data):
    chk.torch_oracle(torch, CASES[name](chk, data))


# ----------------------------------------------------------------- identity
def test_identity_returns_its_input_and_passes_the_gradient():
    z = cr.tensor([1.0, -2.0], requires_grad=True)
    assert cr.identity(z) is z and z.identity() is z
    (cr.identity(z) * 3).sum().backward()
    np.testing.assert_array_equal(z.grad.detach().numpy(), [3.0, 3.0])


# ----------------------------------------------------------------- kinks
def test_relu_gradient_is_zero_at_zero_like_torch(torch):
    z = np.array([-1.0, 0.0, 2.0])
    c = cr.tensor(z, requires_grad=True)
    t = torch.tensor(z, requires_grad=True)
    cr.relu(c).backward(gradient=np.array([5.0, 6.0, 7.0]))
    torch.relu(t).backward(gradient=torch.tensor([5.0, 6.0, 7.0], dtype=torch.float64))
    np.testing.assert_array_equal(c.grad.detach().numpy(), [0.0, 0.0, 7.0])
    np.testing.assert_array_equal(c.grad.detach().numpy(), t.grad.numpy())


@pytest.mark.parametrize("name", ["step", "hard_threshold"])
@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_step_forward_and_zero_gradient(name, dtype):
    fn = getattr(cr, name)
    z = cr.tensor([-2.0, -0.0, 0.0, 1e-30, 3.0], dtype=dtype, requires_grad=True)
    y = fn(z)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.detach().numpy(), [0.0, 0.0, 0.0, 1.0, 1.0])  # 1[z > 0]
    assert y.requires_grad  # on the graph, but no error signal flows back
    y.backward(gradient=np.ones(5))
    np.testing.assert_array_equal(z.grad.detach().numpy(), np.zeros(5))
    assert z.grad.dtype == dtype


def test_hard_threshold_is_step_and_method_exists():
    assert cr.hard_threshold is cr.step
    z = cr.tensor([[-1.0, 2.0]])
    np.testing.assert_array_equal(z.step().detach().numpy(), [[0.0, 1.0]])
    np.testing.assert_array_equal(z.hard_threshold().detach().numpy(), [[0.0, 1.0]])


@given(data=st.data())
def test_step_on_drawn_shapes(chk, data):
    shape = data.draw(chk.shape(), label="shape")
    z = chk.values(chk.rng(data), shape, "grid0")  # includes exact zeros
    x = cr.tensor(z, requires_grad=True)
    y = cr.step(x)
    np.testing.assert_array_equal(y.detach().numpy(), (z > 0).astype(np.float64))
    (g,) = cr.autograd.grad(y, [x], cr.tensor(np.ones(shape)), allow_unused=True)
    np.testing.assert_array_equal(g.detach().numpy(), np.zeros(shape))


def test_softplus_threshold_switches_to_identity_like_torch(torch):
    z = np.array([-30.0, -1.0, 0.0, 0.49, 0.51, 1.0, 25.0])
    for beta, threshold in ((1.0, 20.0), (2.0, 1.0), (0.5, 0.2)):
        c = cr.tensor(z, requires_grad=True)
        t = torch.tensor(z, requires_grad=True)
        cy = cr.softplus(c, beta=beta, threshold=threshold)
        ty = torch.nn.functional.softplus(t, beta=beta, threshold=threshold)
        np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
        cy.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(c.grad.detach().numpy(), t.grad.numpy(), rtol=1e-12)
    # above the threshold the unit is exactly the identity with slope 1
    np.testing.assert_array_equal(cr.softplus(cr.tensor([25.0, 100.0])).detach().numpy(), [25.0,
                                                                                           100.0])


# ----------------------------------------------------------------- huge inputs in float32
EXTREMES = [-1e4, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1e4]


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "relu"])
def test_stable_for_huge_inputs_in_float32(torch, name):
    z = np.array(EXTREMES, dtype=np.float32)
    c = cr.tensor(z, requires_grad=True)
    t = torch.tensor(z, requires_grad=True)
    tf = {"softplus": torch.nn.functional.softplus}.get(name, getattr(torch, name, None))
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        cy = getattr(cr, name)(c)
        assert cy.dtype == np.float32
        assert np.isfinite(cy.detach().numpy()).all()
        cy.backward(gradient=np.ones(len(z), np.float32))
    assert np.isfinite(c.grad.detach().numpy()).all()
    ty = tf(t)
    ty.backward(gradient=torch.ones(len(z)))
    # relative agreement down to the smallest normal float32 (denormals carry few digits)
    tiny = np.finfo(np.float32).tiny
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-6, atol=tiny)
    np.testing.assert_allclose(c.grad.detach().numpy(), t.grad.numpy(), rtol=1e-6, atol=tiny)


def test_sigmoid_keeps_relative_precision_in_the_tail(torch):
    # σ(z) ≈ e^z for z ≪ 0 must not round to 0 while e^z is representable: log σ(z) stays z.
    for dtype, z in ((np.float32, [-20.0, -30.0, -80.0]), (np.float64, [-40.0, -300.0, -700.0])):
        z = np.array(z, dtype)
        got = cr.sigmoid(cr.tensor(z)).detach().numpy()
        want = torch.sigmoid(torch.from_numpy(z)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
        np.testing.assert_allclose(cr.log(cr.sigmoid(cr.tensor(z))).detach().numpy(), z, rtol=1e-5)


def test_sigmoid_values_and_symmetry():
    z = cr.tensor(np.linspace(-8, 8, 17), dtype=cr.float64)
    y = cr.sigmoid(z).detach().numpy()
    np.testing.assert_allclose(y, _np_sigmoid(z.detach().numpy()), rtol=1e-13)
    np.testing.assert_allclose(y + y[::-1], np.ones(17), rtol=1e-13)
    assert cr.sigmoid(cr.tensor(0.0)).item() == 0.5


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softplus", "step"])
def test_activation_of_non_tensor_input_names_the_op(name):
    with pytest.raises(TypeError, match=rf"^{name}: unsupported operand of type str"):
        getattr(cr, name)("z")


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")
def test_relu_backward_passes_nan_and_signed_zeros_like_numpy():
    """ȳ · 1[z > 0] as a multiplication: NaN/∞ upstream signals through blocked units give NaN,
    and −0.0 / +0.0 come out as NumPy's x · 0 gives them, on both paths."""
    z = cr.tensor(np.array([[1.0, -1.0, 0.0, 2.0, -3.0, 4.0]] * 300, np.float32),
                  requires_grad=True)
    g = np.array([[np.nan, np.nan, np.inf, -2.0, -5.0, -0.0]] * 300, np.float32)
    cr.relu(z).backward(cr.tensor(g))
    expected = g * (z.detach().numpy() > 0)
    np.testing.assert_array_equal(z.grad.detach().numpy(), expected)
    assert np.array_equal(np.signbit(z.grad.detach().numpy()), np.signbit(expected))
