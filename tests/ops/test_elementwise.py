"""chainrule.ops.elementwise: arithmetic, exp/log, maximum/minimum, clip, where, casts, comparisons.

Every differentiable op is drawn by Hypothesis (shapes of 0–4 dims with sizes 1–4, broadcasting
between operands) and checked three ways through the `chk` fixture (tests/ops/conftest.py):
forward == NumPy, cr.gradcheck in float64, first- and second-order gradients == torch.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr


# ----------------------------------------------------------------- case builders
def _binary(fn, np_fn, kinds=("normal", "normal")):
    def build(chk, data):
        sa, sb = data.draw(chk.broadcast_shapes(2), label="shapes")
        rng = chk.rng(data)
        return chk.Case(fn, np_fn, [chk.values(rng, sa, kinds[0]), chk.values(rng, sb, kinds[1])],
                        rng)
    return build


def _unary(fn, np_fn, kind="normal", **kw):
    def build(chk, data):
        shape = data.draw(chk.shape(), label="shape")
        rng = chk.rng(data)
        return chk.Case(fn, np_fn, [chk.values(rng, shape, kind)], rng, **kw)
    return build


def _where(chk, data):
    sc, sa, sb = data.draw(chk.broadcast_shapes(3), label="shapes")
    rng = chk.rng(data)
    cond = rng.random(sc) < 0.5
    return chk.Case(lambda m, c, x, y: m.where(c, x, y), np.where,
                    [cond, chk.values(rng, sa), chk.values(rng, sb)], rng)


def _where_scalar(chk, data):
    sc, sa = data.draw(chk.broadcast_shapes(2), label="shapes")
    rng = chk.rng(data)
    cond = rng.random(sc) < 0.5
    return chk.Case(lambda m, c, x: m.where(c, 0.5, x), lambda c, a: np.where(c, 0.5, a),
                    [cond, chk.values(rng, sa)], rng)


def _clip(lo, hi, name="clamp", kwargs=False):
    def fn(m, x):
        f = getattr(m, name)
        return f(x, min=lo, max=hi) if kwargs else f(x, lo, hi)
    # "grid" values are k/10 + 0.05: never on a bound, so the kinks are avoided.
    return _unary(fn, lambda a: np.clip(a, lo, hi), "grid")


def _astype_roundtrip(chk, data):
    shape = data.draw(chk.shape(), label="shape")
    rng = chk.rng(data)
    # x·float32(x): the cast rounds, so finite differences need a larger step.
    return chk.Case(lambda m, x: x.to(m.float32).to(m.float64) * x,
                    lambda a: a.astype(np.float32).astype(np.float64) * a,
                    [chk.values(rng, shape)], rng, gradcheck_kw={"eps": 1e-3, "atol": 1e-3},
                    torch_kw={"rtol": 1e-6})


CASES = {
    "add": _binary(lambda m, x, y: m.add(x, y), np.add),
    "add_operator": _binary(lambda m, x, y: x + y, np.add),
    "sub": _binary(lambda m, x, y: x - y, np.subtract),
    "sub_method": _binary(lambda m, x, y: x.sub(y), np.subtract),
    "mul": _binary(lambda m, x, y: x * y, np.multiply),
    "mul_self": _unary(lambda m, x: x * x, lambda a: a * a),
    "div": _binary(lambda m, x, y: x / y, np.divide, ("normal", "nonzero")),
    "div_function": _binary(lambda m, x, y: m.div(x, y), np.divide, ("normal", "nonzero")),
    "pow_tensor": _binary(lambda m, x, y: x ** y, np.power, ("positive", "normal")),
    "pow_function": _binary(lambda m, x, y: m.pow(x, y), np.power, ("positive", "normal")),
    "neg": _unary(lambda m, x: -x, np.negative),
    "neg_function": _unary(lambda m, x: m.neg(x), np.negative),
    "abs": _unary(lambda m, x: m.abs(x), np.abs, "nonzero"),
    "abs_builtin": _unary(lambda m, x: abs(x), np.abs, "nonzero"),
    "exp": _unary(lambda m, x: m.exp(x), np.exp),
    "log": _unary(lambda m, x: m.log(x), np.log, "positive"),
    "log_method": _unary(lambda m, x: x.log(), np.log, "positive"),
    "log1p": _unary(lambda m, x: m.log1p(x), np.log1p, "unit"),
    "sqrt": _unary(lambda m, x: m.sqrt(x), np.sqrt, "positive"),
    "sin": _unary(lambda m, x: m.sin(x), np.sin),
    "cos": _unary(lambda m, x: x.cos(), np.cos),
    "sign": _unary(lambda m, x: m.sign(x), np.sign, "nonzero"),
    "maximum": _binary(lambda m, x, y: m.maximum(x, y), np.maximum, ("grid", "grid0")),
    "minimum": _binary(lambda m, x, y: m.minimum(x, y), np.minimum, ("grid", "grid0")),
    "maximum_method": _binary(lambda m, x, y: x.maximum(y), np.maximum, ("grid0", "grid")),
    "clamp": _clip(-0.5, 0.7),
    "clamp_min_only": _clip(-0.5, None, kwargs=True),
    "clamp_max_only": _clip(None, 0.7, kwargs=True),
    "clamp_lo_above_hi": _clip(0.7, -0.5),
    "clip": _clip(-0.5, 0.7, name="clip"),
    "where": _where,
    "where_scalar": _where_scalar,
    "astype_roundtrip": _astype_roundtrip,
    "composite": _binary(lambda m, x, y: m.sin(x * y) / (1 + m.exp(-x)) - m.sqrt(y * y + 1),
                         lambda a, b: np.sin(a * b) / (1 + np.exp(-a)) - np.sqrt(b * b + 1)),
}

# Scalar exponents, with a positive base (and integer ones with a base of either sign).
for _p in (0, 1, 2, 0.5, -1, 3, -2.5, 2.0):
    CASES[f"pow_scalar_{_p!r}"] = _unary(lambda m, x, p=_p: x ** p,
                                         lambda a, p=_p: np.power(a, p), "positive")
for _p in (2, 3, -1):
    CASES[f"pow_scalar_{_p!r}_signed"] = _unary(lambda m, x, p=_p: m.pow(x, p),
                                                lambda a, p=_p: np.power(a, p), "nonzero")


# Operators with a Python number or a NumPy array as the other operand, in both orders.
_OPERATORS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
              "truediv": operator.truediv, "pow": operator.pow}


def _mixed(op_name, side, const):
    op = _OPERATORS[op_name]
    # the tensor must stay positive as a base of pow and nonzero as a divisor
    kind = ("positive" if op_name == "pow" and side == "left" else
            "nonzero" if op_name == "truediv" and side == "right" else "normal")

    def build(chk, data):
        if const == "array":
            sx, sc = data.draw(chk.broadcast_shapes(2), label="shapes")
        else:
            sx, sc = data.draw(chk.shape(), label="shape"), None
        rng = chk.rng(data)
        if const == "array":
            c = chk.values(rng, sc, "positive" if op_name in ("pow", "truediv") else "normal")
        else:
            c = {"float": 1.5, "int": 3}[const]

        def cr_fn(m, x):
            cc = m.from_numpy(c) if (m is not cr and isinstance(c, np.ndarray)) else c
            return op(x, cc) if side == "left" else op(cc, x)

        def np_fn(a):
            return op(a, c) if side == "left" else op(c, a)

        return chk.Case(cr_fn, np_fn, [chk.values(rng, sx, kind)], rng)
    return build


MIXED = {f"{op}_tensor_{side}_{const}": _mixed(op, side, const)
         for op in _OPERATORS for side in ("left", "right") for const in ("float", "int", "array")}


# ----------------------------------------------------------------- the three checks
@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_forward_matches_numpy_and_gradcheck(chk, name, data):
    chk.numpy_and_gradcheck(CASES[name](chk, data))


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_gradients_match_torch(chk, torch, name, data):
    chk.torch_oracle(torch, CASES[name](chk, data))


# The 30 operand-order cases reuse the ops above, so fewer examples each keep the suite fast.
@pytest.mark.parametrize("name", MIXED)
@settings(max_examples=10)
@given(data=st.data())
def test_operand_orders_match_numpy_and_gradcheck(chk, name, data):
    chk.numpy_and_gradcheck(MIXED[name](chk, data))


@pytest.mark.parametrize("name", MIXED)
@settings(max_examples=10)
@given(data=st.data())
def test_operand_orders_match_torch(chk, torch, name, data):
    chk.torch_oracle(torch, MIXED[name](chk, data))


# ----------------------------------------------------------------- non-differentiable points
def _grads_vs_torch(torch, fn, *arrays, upstream=None):
    """First-order gradients of fn(m, *xs) for cr and torch, float64, with a fixed upstream."""
    cx = [cr.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]
    tx = [torch.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]
    cy, ty = fn(cr, *cx), fn(torch, *tx)
    v = np.arange(1.0, cy.numel() + 1).reshape(cy.shape) if upstream is None else upstream
    cy.backward(gradient=v)
    ty.backward(gradient=torch.from_numpy(np.asarray(v, np.float64)))
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy())
    out = []
    for c, t in zip(cx, tx, strict=True):
        cg = np.zeros(c.shape) if c.grad is None else c.grad.detach().numpy()
        tg = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(cg, tg, rtol=1e-12, atol=0)
        out.append(cg)
    return out


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_gradient_in_half_like_torch(torch, op):
    a = [[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]]
    b = [[1.0, 0.0, 3.0], [0.0, 4.0, -5.0]]
    ga, gb = _grads_vs_torch(torch, lambda m, x, y: getattr(m, op)(x, y), a, b)
    assert ga[0, 0] == 0.5 and gb[0, 0] == 0.5  # upstream 1 at a tie
    assert ga[0, 2] == 1.5 and gb[0, 2] == 1.5  # upstream 3 at a tie
    # broadcasting: b[0] ties twice and b[1] once; b's gradient sums the halves (upstream 1..4)
    ga, gb = _grads_vs_torch(torch, lambda m, x, y: getattr(m, op)(x, y),
                             [[1.0, 2.0], [1.0, 0.0]], [1.0, 2.0])
    np.testing.assert_array_equal(gb, [0.5 + 1.5, 1.0 + 4.0] if op == "maximum" else [2.0, 1.0])


@pytest.mark.parametrize("lo, hi", [(-1.0, 1.0), (-1.0, None), (None, 1.0), (1.0, -1.0),
                                    (0.0, 0.0)])
def test_clamp_bounds_are_inclusive_like_torch(torch, lo, hi):
    x = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]
    (g,) = _grads_vs_torch(torch, lambda m, t: m.clamp(t, lo, hi), x, upstream=np.ones(7))
    if (lo, hi) == (-1.0, 1.0):
        np.testing.assert_array_equal(g, [0, 1, 1, 1, 1, 1, 0])
    y = cr.clamp(cr.tensor(x), lo, hi)
    np.testing.assert_array_equal(y.detach().numpy(), torch.clamp(torch.tensor(x), lo, hi).numpy())


def test_clip_and_clamp_are_the_same_function():
    assert cr.clip is cr.clamp
    x = cr.tensor([-3.0, 0.25, 3.0])
    np.testing.assert_array_equal(x.clamp(-1.0, 1.0).detach().numpy(), [-1.0, 0.25, 1.0])


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="clip: at least one of min and max"):
        cr.clamp(cr.ones(2))


def test_abs_and_sign_at_zero_like_torch(torch):
    x = [-2.0, 0.0, 3.0]
    (g,) = _grads_vs_torch(torch, lambda m, t: m.abs(t), x)
    np.testing.assert_array_equal(g, [-1.0, 0.0, 3.0])
    (g,) = _grads_vs_torch(torch, lambda m, t: m.sign(t), x)
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(cr.sign(cr.tensor(x)).detach().numpy(), [-1.0, 0.0, 1.0])


def test_sign_gradient_is_zero_but_flows_to_the_leaf():
    x = cr.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = x.sign()
    assert y.requires_grad and y.grad_fn is not None
    (y * 5).sum().backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.detach().numpy(), np.zeros(3))


def test_pow_at_zero_base_and_zero_exponent_like_torch(torch):
    # d(a^b)/db = a^b log a is 0 where a = 0 and b >= 0 (torch masks the 0·(−inf)), and
    # d(a^b)/da = b a^(b−1) is 0 where b = 0 (a^0 = 1 is flat), even at a = 0.
    ga, gb = _grads_vs_torch(torch, lambda m, a, b: a ** b, [0.0, 0.0, 2.0, 0.0, 3.0],
                             [2.0, 1.0, 3.0, 0.0, 0.0])
    assert np.isfinite(ga).all() and np.isfinite(gb).all()
    np.testing.assert_array_equal(ga, [0.0, 2.0, 3 * 3 * 4.0, 0.0, 0.0])
    np.testing.assert_allclose(gb[2], 3 * 8 * np.log(2.0))


@pytest.mark.parametrize("p", [0, 1, 2, 0.5, -1])
def test_pow_scalar_exponent_special_cases(p):
    x = cr.tensor([0.5, 2.0, 4.0], dtype=cr.float64, requires_grad=True)
    y = x ** p
    np.testing.assert_allclose(y.detach().numpy(), np.power(x.detach().numpy(), p))
    y.backward(gradient=np.array([1.0, 2.0, 3.0]))
    want = np.array([1.0, 2.0, 3.0]) * p * np.power(x.detach().numpy(),
                                                    p - 1) if p != 0 else np.zeros(3)
    np.testing.assert_allclose(x.grad.detach().numpy(), want)


def test_rpow_with_python_base():
    x = cr.tensor([0.0, 1.0, 2.5], dtype=cr.float64, requires_grad=True)
    y = 2 ** x
    assert y.dtype == np.float64
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 ** x.detach().numpy() * np.log(2.0))


# ----------------------------------------------------------------- casts
def test_astype_between_floats_keeps_the_graph_and_grad_dtype():
    x = cr.tensor([1.5, -2.0], dtype=cr.float64, requires_grad=True)
    y = x.astype(cr.float32)
    assert y.dtype == np.float32 and y.requires_grad
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.detach().numpy(), [3.0, 3.0])
    assert x.double() is x  # same dtype, no copy: the tensor itself
    z = x.clone()
    assert z is not x and z.requires_grad and z.dtype == np.float64


@pytest.mark.parametrize("dtype", [cr.int64, cr.int32, cr.bool_, "long"])
def test_astype_to_non_float_leaves_the_graph(dtype):
    x = cr.tensor([1.7, -2.2, 0.0], requires_grad=True)
    y = x.astype(dtype)
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.detach().numpy(),
                                  x.detach().numpy().astype(np.int64 if dtype == "long" else dtype))
    z = y.float()  # back to float: a fresh constant, no path to x
    assert not z.requires_grad


def test_astype_rejects_unknown_dtype():
    with pytest.raises(TypeError, match="dtype: cannot interpret"):
        cr.ones(2).astype("not-a-dtype")


# ----------------------------------------------------------------- NumPy dtype promotion
@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv,
                                operator.pow])
@pytest.mark.parametrize("order", ["tensor_first", "scalar_first"])
def test_python_float_keeps_float32(op, order):
    x = cr.tensor([0.5, 2.0], requires_grad=True)
    y = op(x, 1.5) if order == "tensor_first" else op(1.5, x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_python_int_keeps_float_dtype():
    for dt in (cr.float32, cr.float64):
        x = cr.ones(2, dtype=dt)
        assert (x + 2).dtype == dt and (2 * x).dtype == dt and (x ** 3).dtype == dt


def test_float32_with_float64_promotes_to_float64_and_grads_keep_leaf_dtypes():
    a = cr.tensor([1.0, 2.0], dtype=cr.float32, requires_grad=True)
    b = cr.tensor([3.0, 4.0], dtype=cr.float64, requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.backward(gradient=np.array([1.0, 1.0]))
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad.detach().numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(b.grad.detach().numpy(), [1.0, 2.0])


@pytest.mark.parametrize("other", [np.ones(2), np.float64(2.0), np.ones(2, np.float32),
                                   np.int64(3), np.arange(2), np.array(2.0), np.float32(1.5),
                                   np.array(2, np.int64)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16"])
def test_numpy_operands_promote_as_in_torch(torch, other, dtype):
    x = cr.tensor([1, 2], dtype=dtype)
    t = torch.tensor([1, 2], dtype=getattr(torch, dtype))
    ops = [lambda a: a + other, lambda a: a - other, lambda a: a * other]
    if not isinstance(other, np.ndarray):  # torch refuses `ndarray op Tensor`; NumPy scalars work
        ops += [lambda a: other + a, lambda a: other * a]
    for op in ops:
        y, ty = op(x), op(t)
        assert isinstance(y, cr.Tensor)
        assert str(y.dtype) == str(ty.dtype).removeprefix("torch."), (other, dtype)
        np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-3)


@pytest.mark.parametrize("make", [
    lambda m: m.tensor([1, 2]) * 1.5, lambda m: 2.5 * m.tensor([1, 2]),
    lambda m: m.tensor([1, 2]) / 2, lambda m: m.tensor([1, 2]) / m.tensor([2, 4]),
    lambda m: m.tensor([1, 2]) ** 0.5, lambda m: m.tensor([1, 2]) + m.ones(2),
    lambda m: m.ones(2) * m.tensor(2.0, dtype=m.float64), lambda m: m.tensor([True]) + 1.5,
    lambda m: m.tensor([1, 2], dtype=m.int32) + 7, lambda m: m.tensor([True]) + 1,
    lambda m: m.tensor([1], dtype=m.uint8) + m.tensor([1], dtype=m.int8),
    lambda m: m.ones(2, dtype=m.float16) * 2.5, lambda m: m.tensor(2.0) * m.tensor([1, 2]),
])
def test_result_dtypes_follow_torch_where_numpy_differs(torch, make):
    assert str(make(cr).dtype) == str(make(torch).dtype).removeprefix("torch.")


def test_integer_tensors_stay_integer():
    i = cr.tensor([1, 2, 3])
    assert i.dtype == np.int64
    assert (i + 1).dtype == np.int64 and (i * i).dtype == np.int64
    assert (i + 0.5).dtype == np.float32 and (i / 1).dtype == np.float32   # torch's default float


# ----------------------------------------------------------------- comparisons
_COMPARISONS = {"eq": (operator.eq, np.equal), "ne": (operator.ne, np.not_equal),
                "lt": (operator.lt, np.less), "le": (operator.le, np.less_equal),
                "gt": (operator.gt, np.greater), "ge": (operator.ge, np.greater_equal)}


@pytest.mark.parametrize("name", _COMPARISONS)
@given(data=st.data())
def test_comparisons_are_bool_and_outside_the_graph(chk, name, data):
    op, np_op = _COMPARISONS[name]
    sa, sb = data.draw(chk.broadcast_shapes(2), label="shapes")
    rng = chk.rng(data)
    a, b = chk.values(rng, sa, "grid0"), chk.values(rng, sb, "grid0")  # ties occur
    x = cr.tensor(a, requires_grad=True)
    for y, want in ((op(x, cr.tensor(b)), np_op(a, b)), (getattr(cr, name)(x, b), np_op(a, b)),
                    (op(x, 0.5), np_op(a, 0.5)), (op(0.5, x), np_op(0.5, a)),
                    (op(x, b), np_op(a, b)), (op(b, x), np_op(b, a))):
        assert isinstance(y, cr.Tensor)
        assert y.dtype == np.bool_
        assert not y.requires_grad and y.grad_fn is None
        np.testing.assert_array_equal(y.detach().numpy(), want)


def test_comparisons_match_torch(torch):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b = np.array([2.0, 2.0, 2.0])
    for name, (op, _) in _COMPARISONS.items():
        got = op(cr.tensor(a), cr.tensor(b)).detach().numpy()
        want = op(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_logical_not_and_isclose():
    x = cr.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal((~(x > 1.5)).detach().numpy(), [True, False, False])
    assert cr.allclose(x, x + 1e-9) and not cr.allclose(x, x + 1e-3)
    np.testing.assert_array_equal(cr.isclose(x, [1.0, 2.5, 3.0]).detach().numpy(), [True, False,
                                                                                    True])


def test_comparison_result_masks_gradient_flow():
    x = cr.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    y = cr.where(x > 0, x * x, cr.zeros(3))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [0.0, 4.0, 6.0])


# ----------------------------------------------------------------- errors
_BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum",
           "eq", "ne", "lt", "le", "gt", "ge"]


@pytest.mark.parametrize("name", _BINARY)
def test_shape_mismatch_names_op_and_shapes(name):
    a, b = cr.ones(2, 3, requires_grad=True), cr.ones(4)
    with pytest.raises(cr.ShapeError, match=rf"^{name}: .*\(2, 3\), \(4,\)"):
        getattr(cr, name)(a, b)


@pytest.mark.parametrize("op, name", [(operator.add, "add"), (operator.sub, "sub"),
                                      (operator.mul, "mul"), (operator.truediv, "div"),
                                      (operator.pow, "pow"), (operator.lt, "lt")])
def test_operator_shape_mismatch_names_op_and_shapes(op, name):
    with pytest.raises(cr.ShapeError, match=rf"^{name}: .*\(3,\), \(2, 2\)"):
        op(cr.ones(3), np.ones((2, 2)))


def test_where_shape_mismatch_names_all_shapes():
    with pytest.raises(cr.ShapeError, match=r"^where: .*\(2, 3\).*\(4,\)"):
        cr.where(cr.ones(2, 3) > 0, cr.ones(4), 0.0)
    with pytest.raises(cr.ShapeError, match=r"^where: .*\(5,\).*\(2, 3\)"):
        cr.where(cr.ones(5) > 0, cr.ones(2, 3), cr.ones(3))


def test_where_needs_a_bool_condition():
    with pytest.raises(TypeError, match="where: condition must be a bool tensor, got dtype "
                                        "float32"):
        cr.where(cr.ones(2), cr.ones(2), cr.zeros(2))


@pytest.mark.parametrize("name", ["add", "mul", "exp", "log", "abs", "maximum"])
def test_unsupported_operand_type_names_op(name):
    fn = getattr(cr, name)
    with pytest.raises(TypeError, match=rf"^{name}: unsupported operand of type str"):
        fn("x") if name in ("exp", "log", "abs") else fn(cr.ones(2), "x")


def test_only_float_tensors_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients, "
                                        "got int64"):
        cr.tensor([1, 2], requires_grad=True)
