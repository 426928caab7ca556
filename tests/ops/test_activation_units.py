"""chainrule.ops.activation, the units beyond the lecture's six (leaky ReLU, ELU, GELU exact and
tanh, SiLU, hard tanh, Φ): NumPy values, finite differences (first and second order, float64)
and torch (forward, first and second order) on drawn shapes, plus their behaviour at the kinks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr

_erf = np.vectorize(math.erf, otypes=[np.float64])
# Each unit is a few elementwise formulas: a handful of drawn shapes per unit covers them (the
# suite shares a 2-core machine); CI's profile still sets the deadline-free settings.
FEW = settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])


def _np_gelu(z):
    return (z.astype(np.float64) * 0.5 * (1 + _erf(z / math.sqrt(2)))).astype(z.dtype)


def _np_gelu_tanh(z):
    u = math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)
    return 0.5 * z * (1 + np.tanh(u))


def _np_elu(z, alpha):
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))


def _unary(fn, np_fn, kind="normal", tfn=None):
    def build(chk, data):
        shape = data.draw(chk.shape(), label="shape")
        rng = chk.rng(data)
        return chk.Case(fn, np_fn, [chk.values(rng, shape, kind)], rng, tfn=tfn)
    return build


def _f(name, **kw):
    """fn(m, z) calling torch.nn.functional.<name> or its chainrule twin (also under cr.*)."""
    def fn(m, z):
        if m is cr:
            return getattr(cr.nn.functional, name)(z, **kw)
        return getattr(m.nn.functional, name)(z, **kw)
    return fn


CASES = {
    # "nonzero" keeps |z| ≥ 0.2: away from the kinks, where finite differences are meaningless
    "leaky_relu": _unary(_f("leaky_relu"), lambda z: np.where(z > 0, z, 0.01 * z), "nonzero"),
    "leaky_relu_0.3": _unary(_f("leaky_relu", negative_slope=0.3),
                             lambda z: np.where(z > 0, z, 0.3 * z), "nonzero"),
    "leaky_relu_negative_slope": _unary(_f("leaky_relu", negative_slope=-1.5),
                                        lambda z: np.where(z > 0, z, -1.5 * z), "nonzero"),
    "elu": _unary(_f("elu"), lambda z: _np_elu(z, 1.0), "nonzero"),
    "elu_alpha_2.5": _unary(_f("elu", alpha=2.5), lambda z: _np_elu(z, 2.5), "nonzero"),
    "gelu": _unary(_f("gelu"), _np_gelu),
    "gelu_wide": _unary(_f("gelu"), _np_gelu, "grid"),
    "gelu_tanh": _unary(_f("gelu", approximate="tanh"), _np_gelu_tanh),
    "silu": _unary(_f("silu"), lambda z: z / (1 + np.exp(-z))),
    "silu_wide": _unary(_f("silu"), lambda z: z / (1 + np.exp(-z)), "grid"),
    # "grid" values are k/10 + 0.05: never on a bound
    "hardtanh": _unary(_f("hardtanh"), lambda z: np.clip(z, -1, 1), "grid"),
    "hardtanh_-0.3_1.7": _unary(_f("hardtanh", min_val=-0.3, max_val=1.7),
                                lambda z: np.clip(z, -0.3, 1.7), "grid"),
    "normal_cdf": _unary(lambda m, z: cr.normal_cdf(z) if m is cr else m.special.ndtr(z),
                         lambda z: (0.5 * (1 + _erf(z / math.sqrt(2)))).astype(z.dtype)),
    "gelu_of_affine_times_silu": _unary(
        lambda m, z: m.nn.functional.gelu(z * 1.5 - 0.2) * m.nn.functional.silu(z),
        lambda z: _np_gelu(z * 1.5 - 0.2) * z / (1 + np.exp(-z))),
}


@pytest.mark.parametrize("name", CASES)
@FEW
@given(data=st.data())
def test_forward_matches_numpy_and_gradcheck(chk, name, data):
    chk.numpy_and_gradcheck(CASES[name](chk, data))


@pytest.mark.parametrize("name", CASES)
@FEW
@given(data=st.data())
def test_gradients_match_torch(chk, torch, name, data):
    chk.torch_oracle(torch, CASES[name](chk, data))


@pytest.mark.parametrize("name", ["leaky_relu", "elu_alpha_2.5", "gelu", "gelu_tanh", "silu",
                                  "hardtanh", "normal_cdf"])
@FEW
@given(data=st.data())
def test_second_order_gradcheck(chk, name, data):
    """Finite differences of the recorded gradient z ↦ ∂(v · f(z))/∂z (torch's gradgradcheck)."""
    case = CASES[name](chk, data)
    (z_np,) = case.arrays
    v = cr.tensor(case.rng.standard_normal(z_np.shape))

    def gradient(z):
        (g,) = cr.autograd.grad(case.fn(cr, z), [z], v, create_graph=True)
        return g

    assert cr.gradcheck(gradient, [cr.tensor(z_np, requires_grad=True)])


# ----------------------------------------------------------------- kinks, bounds, extremes
KINK = np.array([-2.0, -1.0, -0.0, 0.0, 1.0, 2.0])


@pytest.mark.parametrize(("name", "kw"), [
    ("leaky_relu", {}), ("leaky_relu", dict(negative_slope=0.2)), ("elu", {}),
    ("elu", dict(alpha=2.0)), ("hardtanh", {}), ("hardtanh", dict(min_val=-2.0, max_val=0.0)),
    ("silu", {}), ("gelu", {}), ("gelu", dict(approximate="tanh")),
])
def test_values_and_gradients_at_kinks_and_bounds_equal_torch(torch, name, kw, jit_mode):
    """At z = 0 leaky ReLU has slope a and ELU slope α (torch's x ≤ 0 branch); hard tanh passes
    no gradient at its bounds (torch's hardtanh_backward), unlike clamp."""
    c = cr.tensor(KINK, requires_grad=True)
    t = torch.tensor(KINK, requires_grad=True)
    cy = getattr(cr.nn.functional, name)(c, **kw)
    ty = getattr(torch.nn.functional, name)(t, **kw)
    g = np.arange(1.0, 7.0)
    cy.backward(gradient=g)
    ty.backward(gradient=torch.from_numpy(g))
    # the piecewise units exactly, the smooth ones to their last few bits
    rtol = 0 if name in ("leaky_relu", "elu", "hardtanh") else 1e-14
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=0)
    np.testing.assert_allclose(c.grad.detach().numpy(), t.grad.numpy(), rtol=rtol, atol=0)
    assert np.array_equal(np.signbit(cy.detach().numpy()), np.signbit(ty.detach().numpy()))


EXTREMES = np.array([-1e4, -100.0, -30.0, -3.0, 0.0, 3.0, 30.0, 100.0, 1e4], np.float32)


@pytest.mark.parametrize(("name", "kw"), [
    ("leaky_relu", {}), ("elu", {}), ("gelu", {}), ("gelu", dict(approximate="tanh")),
    ("silu", {}), ("hardtanh", {}),
])
def test_float32_extremes_are_finite_and_equal_torch(torch, name, kw):
    c = cr.tensor(EXTREMES, requires_grad=True)
    t = torch.tensor(EXTREMES, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        cy = getattr(cr.nn.functional, name)(c, **kw)
        cy.backward(gradient=np.ones(EXTREMES.size, np.float32))
    ty = getattr(torch.nn.functional, name)(t, **kw)
    ty.backward(gradient=torch.ones(EXTREMES.size))
    assert cy.dtype == np.float32 and c.grad.dtype == np.float32
    assert np.isfinite(cy.detach().numpy()).all() and np.isfinite(c.grad.numpy()).all()
    # torch's float32 GELU forms 1 + erf(z/√2) in float32, which cancels for z ≪ 0 (at z = −3
    # it is 4e-5 off in relative terms); ours rounds the float64 value once. Both agree to the
    # float32 rounding of O(1) numbers.
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=2e-6, atol=1e-6)


def test_gelu_saves_phi_for_its_backward_and_frees_it():
    z = cr.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    y = cr.gelu(z)
    node = y.grad_fn
    assert type(node).__name__ == "GaussianErrorLinear" and "cdf" in node.saved_names
    y.sum().backward()
    assert node.released


@pytest.mark.parametrize(("call", "error", "pattern"), [
    (lambda: cr.gelu(cr.tensor([1.0]), approximate="erf"), ValueError,
     "gelu: approximate must be 'none' or 'tanh', got 'erf'"),
    (lambda: cr.hardtanh(cr.tensor([1.0]), 1.0, -1.0), ValueError,
     "min_val cannot be greater than max_val"),
    (lambda: cr.elu(cr.tensor([1, 2])), TypeError, "elu: expected a floating-point tensor"),
    (lambda: cr.silu("z"), TypeError, "silu: unsupported operand of type str"),
])
def test_errors_name_the_op(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
