"""The Tensor object: creation, dtypes, attributes, repr, grad modes and Python operators."""

from __future__ import annotations

import inspect
import operator

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor

# ----------------------------------------------------------------- cr.tensor and dtypes


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([[1.0, 2.0], [3.0, 4.0]], np.float32),
        ([1, 2.5], np.float32),  # mixed ints and floats: still a float tensor, float32
        (3, np.int64),
        ([1, 2, 3], np.int64),
        ([True, False], np.bool_),
    ],
)
def test_tensor_infers_dtype_from_python_data(data, dtype):
    t = cr.tensor(data)
    assert isinstance(t, Tensor)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.detach().numpy(), np.asarray(data))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int32,
                                   np.int64, np.uint8, np.bool_])
def test_tensor_keeps_numpy_dtype(dtype):
    arr = np.arange(6).reshape(2, 3).astype(dtype)
    t = cr.tensor(arr)
    assert t.dtype == np.dtype(dtype)
    assert t.shape == (2, 3)
    np.testing.assert_array_equal(t.detach().numpy(), arr)


def test_tensor_keeps_numpy_scalar_dtype():
    assert cr.tensor(np.float64(2.0)).dtype == np.float64
    assert cr.tensor(np.int32(2)).dtype == np.int32


def test_tensor_copies_its_data():
    arr = np.zeros(3, np.float32)
    t = cr.tensor(arr)
    arr[0] = 5.0
    assert t.detach().numpy()[0] == 0.0


@pytest.mark.parametrize(
    "spec", [np.float64, np.dtype("float64"), "float64", "double", "torch.float64", cr.float64,
             cr.double],
)
def test_dtype_argument_accepts_numpy_names_and_aliases(spec):
    assert cr.tensor([1, 2], dtype=spec).dtype == np.float64
    assert cr.zeros(2, dtype=spec).dtype == np.float64
    assert cr.ones(2, dtype=spec).dtype == np.float64


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("float32", np.float32), ("float", np.float32), ("long", np.int64), ("int32", np.int32),
     ("half", np.float16), ("bool", np.bool_), (cr.int64, np.int64), (np.uint8, np.uint8)],
)
def test_dtype_names(spec, expected):
    assert cr.tensor([1, 0], dtype=spec).dtype == np.dtype(expected)


def test_bad_dtype_and_bad_data_raise_type_error():
    with pytest.raises(TypeError, match="dtype"):
        cr.tensor([1.0], dtype="not_a_dtype")
    with pytest.raises(TypeError, match="tensor"):
        cr.tensor(["a", "b"])


# ----------------------------------------------------------------- creation functions


@pytest.mark.parametrize("fn, fill", [(cr.zeros, 0.0), (cr.ones, 1.0)])
def test_zeros_ones_accept_varargs_and_tuple(fn, fill):
    for t in (fn(2, 3), fn((2, 3)), fn([2, 3])):
        assert t.shape == (2, 3)
        assert t.dtype == np.float32
        assert np.all(t.detach().numpy() == fill)
        assert t.is_leaf and not t.requires_grad
    assert fn(()).shape == ()
    assert fn(4).shape == (4,)


def test_empty_shape_and_dtype():
    for t in (cr.empty(2, 3), cr.empty((2, 3))):
        assert t.shape == (2, 3) and t.dtype == np.float32
    assert cr.empty(2, dtype=cr.int64).dtype == np.int64


def test_creation_rejects_negative_and_non_integer_sizes():
    with pytest.raises(ValueError, match="negative"):
        cr.zeros(2, -1)
    with pytest.raises(TypeError, match="size"):
        cr.ones("a")


def test_full_dtype_follows_fill_value():
    t = cr.full((2, 3), 1.5)
    assert t.shape == (2, 3) and t.dtype == np.float32 and np.all(t.detach().numpy() == 1.5)
    assert cr.full((2,), 7).dtype == np.int64
    assert cr.full((2,), True).dtype == np.bool_
    assert cr.full(3, 2.0, dtype=cr.float64).dtype == np.float64
    assert cr.full(3, 2.0).shape == (3,)


def test_arange_dtypes_and_values():
    t = cr.arange(5)
    assert t.dtype == np.int64
    assert t.tolist() == [0, 1, 2, 3, 4]
    assert cr.arange(2, 8, 2).tolist() == [2, 4, 6]
    f = cr.arange(0, 1, 0.25)
    assert f.dtype == np.float32
    np.testing.assert_allclose(f.detach().numpy(), [0.0, 0.25, 0.5, 0.75])
    assert cr.arange(3, dtype=cr.float64).dtype == np.float64


def test_linspace_and_eye():
    t = cr.linspace(0, 1, 5)
    assert t.dtype == np.float32
    np.testing.assert_allclose(t.detach().numpy(), [0.0, 0.25, 0.5, 0.75, 1.0])
    assert cr.linspace(-1, 1, 3, dtype=cr.float64).dtype == np.float64
    e = cr.eye(3)
    assert e.dtype == np.float32
    np.testing.assert_array_equal(e.detach().numpy(), np.eye(3))
    np.testing.assert_array_equal(cr.eye(2, 3).detach().numpy(), np.eye(2, 3))


def test_creation_with_requires_grad():
    for t in (cr.zeros(2, requires_grad=True), cr.ones((2, 2), requires_grad=True),
              cr.randn(3, requires_grad=True), cr.rand(3, requires_grad=True),
              cr.full((2,), 1.0, requires_grad=True), cr.linspace(0, 1, 3, requires_grad=True),
              cr.tensor([1.0], requires_grad=True), cr.eye(2, requires_grad=True)):
        assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None


@pytest.mark.parametrize("like", [cr.zeros_like, cr.ones_like, cr.empty_like, cr.randn_like,
                                  cr.rand_like])
def test_like_functions_keep_shape_and_dtype(like):
    ref = cr.zeros(2, 3, dtype=cr.float64)
    t = like(ref)
    assert t.shape == (2, 3) and t.dtype == np.float64
    t32 = like(ref, dtype=cr.float32)
    assert t32.shape == (2, 3) and t32.dtype == np.float32
    assert like(ref, requires_grad=True).requires_grad


@pytest.mark.parametrize("like", [cr.zeros_like, cr.ones_like, cr.empty_like, cr.randn_like,
                                  cr.rand_like, lambda t: cr.full_like(t, 2.0)])
def test_like_functions_keep_a_permuted_layout_as_torch_preserve_format(like, torch):
    """torch's *_like default to memory_format=torch.preserve_format: a dense permuted input
    gives an output with its strides (a batch-last activation's dropout mask is batch-last)."""
    base = np.zeros((3, 4, 5, 2), np.float32)
    t = cr.tensor(base).permute(3, 0, 1, 2)
    out = like(t)
    assert out.shape == (2, 3, 4, 5)
    ref = torch.zeros(3, 4, 5, 2).permute(3, 0, 1, 2)
    assert out.numpy().strides == tuple(s * 4 for s in torch.empty_like(ref).stride())
    assert not out.is_contiguous()


def test_rand_like_of_a_contiguous_tensor_draws_as_rand():
    ref = cr.zeros(3, 4)
    cr.manual_seed(5)
    a = cr.rand_like(ref).numpy()
    cr.manual_seed(5)
    np.testing.assert_array_equal(a, cr.rand(3, 4).numpy())


def test_like_values():
    ref = cr.tensor([[1.0, 2.0]])
    assert np.all(cr.zeros_like(ref).detach().numpy() == 0)
    assert np.all(cr.ones_like(ref).detach().numpy() == 1)
    f = cr.full_like(ref, 7)
    assert f.dtype == np.float32 and np.all(f.detach().numpy() == 7)


def test_random_functions_shapes_dtypes_and_ranges():
    cr.manual_seed(0)
    n = cr.randn(2, 3)
    assert n.shape == (2, 3) and n.dtype == np.float32
    assert cr.randn((4,), dtype=cr.float64).dtype == np.float64
    u = cr.rand(1000)
    assert u.dtype == np.float32 and u.numpy().min() >= 0.0 and u.numpy().max() < 1.0
    r = cr.randint(2, 5, (1000,))
    assert r.dtype == np.int64 and r.shape == (1000,)
    assert set(np.unique(r.detach().numpy()).tolist()) == {2, 3, 4}
    r0 = cr.randint(3, size=(2, 2))
    assert r0.shape == (2, 2) and r0.detach().numpy().min() >= 0 and r0.detach().numpy().max() < 3
    p = cr.randperm(10)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(10))
    big = cr.randn(20000, dtype=cr.float64).detach().numpy()
    assert abs(big.mean()) < 0.05 and abs(big.std() - 1) < 0.05


def _draw_all():
    ref = cr.zeros(3, 2)
    return [cr.randn(4), cr.rand(2, 2), cr.randint(0, 100, (5,)), cr.randperm(6),
            cr.randn_like(ref), cr.rand_like(ref), cr.randn(3, dtype=cr.float64)]


def test_manual_seed_makes_every_random_function_reproducible():
    cr.manual_seed(1234)
    first = _draw_all()
    cr.manual_seed(1234)
    second = _draw_all()
    for a, b in zip(first, second, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    cr.manual_seed(4321)
    third = _draw_all()
    assert not np.array_equal(first[0].detach().numpy(), third[0].detach().numpy())
    # consecutive draws differ (the generator advances)
    cr.manual_seed(1234)
    assert not np.array_equal(cr.randn(4).detach().numpy(), cr.randn(4).detach().numpy())


def test_manual_seed_sets_default_generator():
    g = cr.manual_seed(7)
    assert cr.default_generator() is g


def test_from_numpy_shares_memory_and_keeps_dtype():
    arr = np.arange(6, dtype=np.int32).reshape(2, 3)
    t = cr.from_numpy(arr)
    assert t.dtype == np.int32 and t.shape == (2, 3)
    arr[0, 0] = 100
    assert t.detach().numpy()[0, 0] == 100
    t.detach().numpy()[1, 2] = -1
    assert arr[1, 2] == -1
    assert np.shares_memory(t.numpy(), arr)
    with pytest.raises(TypeError, match="ndarray"):
        cr.from_numpy([1, 2, 3])


def test_as_tensor_reuses_tensor():
    t = cr.tensor([1.0, 2.0])
    assert cr.as_tensor(t) is t
    assert cr.as_tensor(t, dtype=cr.float64).dtype == np.float64


# ----------------------------------------------------------------- attributes


def test_array_attributes():
    arr = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = cr.tensor(arr)
    assert isinstance(t.detach().numpy(), np.ndarray)
    assert t.shape == (2, 3, 4)
    assert t.dtype == np.float32
    assert t.ndim == 3
    assert t.numel() == 24 and t.size() == (2, 3, 4) and t.size(-1) == 4
    assert len(t) == 2
    assert t.T.shape == (4, 3, 2)
    np.testing.assert_array_equal(t.T.detach().numpy(), arr.T)
    np.testing.assert_array_equal(t.numpy(), arr)
    assert t.tolist() == arr.tolist()


def test_transpose_of_matrix():
    m = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert m.T.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]


def test_len_of_0d_tensor_raises():
    with pytest.raises(TypeError):
        len(cr.tensor(1.0))


def test_item():
    f = cr.tensor(2.5).item()
    assert f == 2.5 and type(f) is float
    i = cr.tensor([[7]]).item()
    assert i == 7 and type(i) is int
    with pytest.raises(ValueError, match="one-element"):
        cr.tensor([1.0, 2.0]).item()


def test_numpy_refuses_tensors_that_require_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    with pytest.raises(RuntimeError, match="detach"):
        (x * 2).numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])


def test_leaf_and_grad_fn():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([3.0, 4.0])
    y = x * c
    assert x.is_leaf and x.grad_fn is None
    assert c.is_leaf and not c.requires_grad
    assert not y.is_leaf and y.requires_grad and y.grad_fn is not None
    assert y.grad_fn.inputs[0] is x and y.grad_fn.inputs[1] is c
    z = c * 2  # no input requires grad: no graph is recorded
    assert z.is_leaf and z.grad_fn is None and not z.requires_grad


def test_detach_shares_memory_and_leaves_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.detach().numpy(), y.detach().numpy())
    dx = x.detach()
    dx.detach().numpy()[0] = 10.0
    assert x.detach().numpy()[0] == 10.0


def test_requires_grad_():
    x = cr.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    assert x.requires_grad_(False) is x and not x.requires_grad
    y = cr.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


@pytest.mark.parametrize("dtype", [cr.int64, cr.int32, cr.uint8, cr.bool_])
def test_integer_tensors_cannot_require_grad(dtype):
    name = str(np.dtype(dtype))
    with pytest.raises(TypeError, match=name):
        cr.tensor([1, 0], dtype=dtype, requires_grad=True)
    with pytest.raises(TypeError, match=name):
        cr.zeros(2, dtype=dtype, requires_grad=True)
    t = cr.tensor([1, 0], dtype=dtype)
    with pytest.raises(TypeError, match=name):
        t.requires_grad_()
    with pytest.raises(TypeError, match=name):
        t.requires_grad = True
    assert not t.requires_grad


def test_arange_of_ints_cannot_require_grad():
    with pytest.raises(TypeError, match="int64"):
        cr.arange(3, requires_grad=True)


# ----------------------------------------------------------------- repr


def test_repr_like_pytorch():
    assert repr(cr.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(cr.tensor(3.5)) == "tensor(3.5)"
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(cr.tensor([1.0, 2.0], dtype=cr.float64)) == "tensor([1., 2.], dtype=float64)"
    assert repr(cr.tensor([1, 2], dtype=cr.int32)) == "tensor([1, 2], dtype=int32)"
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(x + 1) == "tensor([2., 3.], grad_fn=<AddBackward>)"
    x64 = cr.tensor([1.0], dtype=cr.float64, requires_grad=True)
    assert repr(x64) == "tensor([1.], dtype=float64, requires_grad=True)"
    assert repr(x64.exp()).endswith("dtype=float64, grad_fn=<ExpBackward>)")


def test_repr_of_matrix_is_aligned():
    assert repr(cr.tensor([[1.0, 2.0], [3.0, 4.0]])) == ("tensor([[1., 2.],\n"
                                                           "        [3., 4.]])")


def test_repr_summarises_large_tensors():
    r = repr(cr.zeros(5000))
    assert "..." in r and len(r) < 200


# ----------------------------------------------------------------- grad modes


def test_no_grad_context_manager():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert cr.is_grad_enabled()
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = x * 2
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    np.testing.assert_array_equal(y.detach().numpy(), [2.0, 4.0])


def test_no_grad_decorator():
    x = cr.tensor([1.0], requires_grad=True)

    @cr.no_grad()
    def f(t):
        assert not cr.is_grad_enabled()
        return t * 3

    y = f(x)
    assert not y.requires_grad and y.grad_fn is None
    assert cr.is_grad_enabled()


def test_no_grad_decorator_is_reentrant():
    """A recursive decorated function must leave grad mode as it found it."""

    @cr.no_grad()
    def f(n):
        if n:
            f(n - 1)
        return cr.is_grad_enabled()

    assert f(3) is False
    assert cr.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        with cr.enable_grad():
            assert cr.is_grad_enabled()
            y = x * 2
        assert not cr.is_grad_enabled()
        z = x * 2
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad

    @cr.enable_grad()
    def g(t):
        return t * 2

    with cr.no_grad():
        w = g(x)
        assert not cr.is_grad_enabled()
    assert w.requires_grad
    w.sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [2.0])


def test_grad_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with cr.no_grad():
            1 / 0  # noqa: B018
    assert cr.is_grad_enabled()


def test_set_grad_enabled():
    with cr.set_grad_enabled(False):
        assert not cr.is_grad_enabled()
        with cr.set_grad_enabled(True):
            assert cr.is_grad_enabled()
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    cr.set_grad_enabled(False)  # a plain call switches the mode, as in torch
    try:
        assert not cr.is_grad_enabled()
    finally:
        cr.set_grad_enabled(True)
    assert cr.is_grad_enabled()


def test_set_grad_enabled_as_decorator_does_not_leak():
    @cr.set_grad_enabled(False)
    def f():
        return cr.is_grad_enabled()

    assert cr.is_grad_enabled()  # decorating alone must not switch grad mode off
    assert f() is False
    assert cr.is_grad_enabled()


def test_backward_works_inside_no_grad_and_keeps_mode():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    with cr.no_grad():
        loss.backward()
        assert not cr.is_grad_enabled()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [2.0, 4.0])


# ----------------------------------------------------------------- operators

_A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
_B = np.array([[0.5, -1.5, 2.0], [1.0, 3.0, -0.25]], np.float32)

_ARITH = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]
_CMP = [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]


def _operands(kind):
    """Right-hand operands of every supported kind, with their NumPy equivalent."""
    if kind == "tensor":
        return cr.tensor(_B), _B
    if kind == "ndarray":
        return _B.copy(), _B
    if kind == "float":
        return 2.0, np.float32(2.0)
    return 2, np.float32(2)


@pytest.mark.parametrize("kind", ["tensor", "ndarray", "float", "int"])
@pytest.mark.parametrize("op", _ARITH, ids=lambda f: f.__name__)
def test_arithmetic_operators_both_orders(op, kind):
    a = cr.tensor(_A)
    other, ref = _operands(kind)
    left = op(a, other)
    right = op(other, a)
    assert isinstance(left, Tensor) and isinstance(right, Tensor)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(left.detach().numpy(), op(_A, ref), rtol=1e-6)
        np.testing.assert_allclose(right.detach().numpy(), op(ref, _A), rtol=1e-6)
    assert left.dtype == np.float32 and right.dtype == np.float32


@pytest.mark.parametrize("kind", ["tensor", "ndarray", "float", "int"])
@pytest.mark.parametrize("op", _CMP, ids=lambda f: f.__name__)
def test_comparison_operators_both_orders(op, kind):
    a = cr.tensor(_A)
    other, ref = _operands(kind)
    if kind == "float":
        other, ref = 3.0, 3.0
    elif kind == "int":
        other, ref = 3, 3
    left, right = op(a, other), op(other, a)
    assert isinstance(left, Tensor) and isinstance(right, Tensor)
    assert left.dtype == np.bool_ and right.dtype == np.bool_
    np.testing.assert_array_equal(left.detach().numpy(), op(_A, ref))
    np.testing.assert_array_equal(right.detach().numpy(), op(ref, _A))
    assert not left.requires_grad


def test_comparisons_are_outside_the_graph():
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    m = x > 0
    assert not m.requires_grad and m.grad_fn is None
    assert (~m).tolist() == [False, True]


def test_ndarray_on_the_left_gives_a_tensor_and_keeps_the_graph():
    x = cr.tensor(_A, requires_grad=True)
    for y in (_B + x, _B - x, _B * x, _B / x, np.float32(2.0) * x, _B.T @ x):
        assert isinstance(y, Tensor)
        assert y.requires_grad and y.grad_fn is not None


def test_matmul_operators():
    a, b = cr.tensor(_A), cr.tensor(_B.T)
    for y, ref in ((a @ b, _A @ _B.T), (_A @ b, _A @ _B.T), (a @ _B.T, _A @ _B.T),
                   (a @ cr.tensor([1.0, 0.0, -1.0]), _A @ [1.0, 0.0, -1.0])):
        assert isinstance(y, Tensor)
        np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-6)


def test_unary_operators():
    x = cr.tensor([1.0, -2.0])
    assert (-x).tolist() == [-1.0, 2.0]
    assert (+x) is x
    assert abs(x).tolist() == [1.0, 2.0]


def test_reflected_operator_gradients():
    """The reflected forms differentiate the right operand: d(c - x) = -1, d(c / x) = -c/x², ..."""
    xv = np.array([0.5, 1.5, 3.0])
    x = cr.tensor(xv, requires_grad=True)
    cases = [
        (lambda t: 2.0 + t, np.ones(3)),
        (lambda t: 2.0 - t, -np.ones(3)),
        (lambda t: 2.0 * t, 2 * np.ones(3)),
        (lambda t: 2.0 / t, -2.0 / xv**2),
        (lambda t: 2.0 ** t, 2.0**xv * np.log(2.0)),
        (lambda t: t ** 3, 3 * xv**2),
        (lambda t: t ** t, xv**xv * (np.log(xv) + 1)),
        (lambda t: -t, -np.ones(3)),
        (lambda t: np.array([1.0, 2.0, 3.0]) - t, -np.ones(3)),
        (lambda t: np.array([1.0, 2.0, 3.0]) / t, -np.array([1.0, 2.0, 3.0]) / xv**2),
    ]
    for f, expected in cases:
        x.grad = None
        f(x).sum().backward()
        np.testing.assert_allclose(x.grad.detach().numpy(), expected, rtol=1e-12)


def test_scalar_operands_keep_float32():
    x = cr.tensor([1.0, 2.0])
    for y in (x + 1, 1 + x, x * 2.5, 2.5 * x, x / 3, 3 / x, x ** 2, 2 ** x, x - 1.0, 1.0 - x):
        assert y.dtype == np.float32


def test_unsupported_operand_raises_type_error():
    with pytest.raises(TypeError):
        cr.tensor([1.0]) + "a"
    with pytest.raises(TypeError):
        cr.tensor([1.0]) * object()


def test_bool_of_multi_element_tensor_raises():
    assert bool(cr.tensor([1.0]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.tensor([1.0, 2.0]))


# ----------------------------------------------------------------- __setitem__


def test_setitem_on_plain_tensor():
    t = cr.zeros(2, 3)
    t[0, 1] = 5.0
    t[1] = cr.tensor([1.0, 2.0, 3.0])
    assert t.tolist() == [[0.0, 5.0, 0.0], [1.0, 2.0, 3.0]]


def test_setitem_on_graph_tensors_follows_torch():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y[0] = 0.0  # recorded: y is now setitem(x * 2)
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 2.0]
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        x[0] = 0.0
    with cr.no_grad():
        x[0] = 10.0  # a leaf may be written under no_grad (initialisation, optimizer steps)
    assert x.tolist() == [10.0, 2.0]


# ----------------------------------------------------------------- op methods

# Every method that used to be setattr'd onto Tensor from chainrule.ops at import time.
_OP_METHODS = (
    "abs", "exp", "log", "log1p", "sqrt", "sin", "cos", "sign", "clip", "clamp", "maximum",
    "minimum", "relu", "sigmoid", "tanh", "softplus", "step", "hard_threshold", "sum", "mean",
    "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp", "softmax",
    "log_softmax", "matmul", "flatten", "transpose", "squeeze", "unsqueeze", "pad", "split",
    "chunk", "add", "sub", "mul", "div", "pow", "neg",
    "reshape", "view", "permute", "expand", "broadcast_to", "sum_to_size", "identity",
)


def test_op_methods_are_written_in_the_class_body():
    missing = [name for name in _OP_METHODS if not inspect.isfunction(Tensor.__dict__.get(name))]
    assert missing == []
    assert all(Tensor.__dict__[name].__qualname__ == f"Tensor.{name}" for name in _OP_METHODS)
    params = inspect.signature(Tensor.sum).parameters
    assert list(params) == ["self", "dim", "keepdim", "dtype", "axis", "keepdims"]
    assert params["axis"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["dtype"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["keepdim"].default is False
    assert list(inspect.signature(Tensor.reshape).parameters) == ["self", "shape"]


def test_format_item_and_requires_grad_errors_as_torch():
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        assert f"{lib.tensor(1.2345):.2f}" == "1.23" and format(lib.tensor(3), "d") == "3"
        with pytest.raises(TypeError):
            format(lib.tensor([2.5]), ".1f")
        with pytest.raises(RuntimeError):
            lib.ones(2).item()
        with pytest.raises(RuntimeError):
            lib.ones(2, dtype=lib.int64).requires_grad_()
