"""chainrule.ops.shape: reshape/view, flatten, transpose/permute, squeeze/unsqueeze, expand/
broadcast_to, cat/stack, split/chunk, pad and indexing, each against NumPy, finite differences and
torch (first and second order). Indexing covers slices, negative steps, ints, None, Ellipsis,
integer arrays with repeated entries (their gradients add up), boolean masks and Tensor indices."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import chainrule as cr


def _draw(chk, data, **shape_kw):
    shape = data.draw(chk.shape(**shape_kw), label="shape")
    rng = chk.rng(data)
    return shape, rng, chk.values(rng, shape)


def _norm(d, ndim):
    return d % max(ndim, 1)


# ----------------------------------------------------------------- reshape / view / flatten
def _factorizations(n, max_len=4):
    """Every shape of at most max_len dims whose sizes multiply to n."""
    out = {()} if n == 1 else set()
    for length in range(1, max_len + 1):
        for combo in itertools.product([d for d in range(1, n + 1) if n % d == 0],
                                       repeat=length):
            if math.prod(combo) == n:
                out.add(combo)
    return sorted(out)


def _reshape(chk, data):
    shape, rng, x = _draw(chk, data)
    target = data.draw(st.sampled_from(_factorizations(x.size)), label="target")
    if target and data.draw(st.booleans(), label="infer"):
        i = data.draw(st.integers(0, len(target) - 1), label="-1 at")
        target = (*target[:i], -1, *target[i + 1:])
    style = data.draw(st.sampled_from(["method_varargs", "method_tuple", "function", "view"]),
                      label="call")

    def fn(m, t):
        if style == "method_varargs":
            return t.reshape(*target) if target else t.reshape(())
        if style == "method_tuple":
            return t.reshape(target)
        if style == "view":
            return t.view(target)
        return m.reshape(t, target)

    return chk.Case(fn, lambda a: a.reshape(target), [x], rng)


def _flatten(chk, data):
    shape, rng, x = _draw(chk, data)
    s = data.draw(chk.axis(len(shape)), label="start_dim")
    e = data.draw(chk.axis(len(shape)), label="end_dim")
    assume(_norm(s, len(shape)) <= _norm(e, len(shape)))
    method = data.draw(st.booleans(), label="method")

    def fn(m, t):
        return t.flatten(s, e) if method else m.flatten(t, s, e)

    def np_fn(a):
        if a.ndim == 0:
            return a.reshape(1)
        s0, e0 = _norm(s, a.ndim), _norm(e, a.ndim)
        return a.reshape(*a.shape[:s0], -1, *a.shape[e0 + 1:])

    return chk.Case(fn, np_fn, [x], rng)


# ----------------------------------------------------------------- transpose / permute
def _transpose(chk, data):
    shape, rng, x = _draw(chk, data)
    d0 = data.draw(chk.axis(len(shape)), label="dim0")
    d1 = data.draw(chk.axis(len(shape)), label="dim1")
    method = data.draw(st.booleans(), label="method")

    def fn(m, t):
        return t.transpose(d0, d1) if method else m.transpose(t, d0, d1)

    def np_fn(a):
        return np.swapaxes(a, _norm(d0, a.ndim), _norm(d1, a.ndim)) if a.ndim else a

    return chk.Case(fn, np_fn, [x], rng)


def _permute(chk, data):
    shape, rng, x = _draw(chk, data)
    perm = data.draw(st.permutations(range(len(shape))), label="perm")
    dims = tuple(data.draw(st.sampled_from([d, d - len(shape)]), label="sign") for d in perm)
    style = data.draw(st.sampled_from(["varargs", "tuple", "function"]), label="call")

    def fn(m, t):
        if style == "varargs" and dims:  # torch's t.permute() needs at least one dim
            return t.permute(*dims)
        if style == "tuple":
            return t.permute(dims)
        return m.permute(t, dims)

    return chk.Case(fn, lambda a: np.transpose(a, [d % a.ndim for d in dims]), [x], rng)


def _T(chk, data):
    shape, rng, x = _draw(chk, data)

    def fn(m, t):
        if m is cr:
            return t.T
        return t.permute(tuple(reversed(range(t.ndim))))  # torch deprecates .T unless 2-D

    return chk.Case(fn, lambda a: a.T, [x], rng)


def _mT(chk, data):
    shape, rng, x = _draw(chk, data, min_dims=2)
    return chk.Case(lambda m, t: t.mT, lambda a: np.swapaxes(a, -1, -2), [x], rng)


# ----------------------------------------------------------------- squeeze / unsqueeze
def _squeeze(chk, data):
    shape, rng, x = _draw(chk, data, max_side=2)  # many dims of size 1
    nd = len(shape)
    dim = data.draw(st.one_of(st.none(), chk.axis(nd),
                              st.lists(st.integers(0, max(nd - 1, 0)), min_size=1, max_size=nd,
                                       unique=True).map(tuple) if nd else st.just((0,))),
                    label="dim")
    method = data.draw(st.booleans(), label="method")

    def fn(m, t):
        if dim is None:
            return t.squeeze() if method else m.squeeze(t)
        return t.squeeze(dim) if method else m.squeeze(t, dim)

    def np_fn(a):
        if dim is None:
            return np.squeeze(a)
        ds = dim if isinstance(dim, tuple) else (dim,)
        ds = tuple(d % a.ndim for d in ds if a.ndim and a.shape[d] == 1)
        return np.squeeze(a, ds)

    return chk.Case(fn, np_fn, [x], rng)


def _unsqueeze(chk, data):
    shape, rng, x = _draw(chk, data, max_dims=3)
    d = data.draw(st.integers(-len(shape) - 1, len(shape)), label="dim")
    method = data.draw(st.booleans(), label="method")

    def fn(m, t):
        return t.unsqueeze(d) if method else m.unsqueeze(t, d)

    return chk.Case(fn, lambda a: np.expand_dims(a, d % (a.ndim + 1)), [x], rng)


# ----------------------------------------------------------------- expand / broadcast_to
def _expand(style):
    def build(chk, data):
        target = data.draw(chk.shape(), label="target")
        lead = data.draw(st.integers(0, len(target)), label="new leading dims")
        ones = data.draw(st.lists(st.booleans(), min_size=len(target), max_size=len(target)),
                         label="size-1 dims")
        shape = tuple(1 if one else n for one, n in zip(ones[lead:], target[lead:], strict=True))
        rng = chk.rng(data)
        x = chk.values(rng, shape)
        sizes = target
        if style == "expand_minus_one":  # -1 keeps an existing dim's size
            sizes = tuple(-1 if i >= lead and not ones[i] else n for i, n in enumerate(target))

        def fn(m, t):
            if style == "broadcast_to":
                return m.broadcast_to(t, target)
            return t.expand(*sizes) if sizes else t.expand(())

        return chk.Case(fn, lambda a: np.broadcast_to(a, target), [x], rng)
    return build


# ----------------------------------------------------------------- cat / stack / split / chunk
def _cat(chk, data):
    shape = data.draw(chk.shape(min_dims=1), label="shape")
    d = data.draw(chk.axis(len(shape)), label="dim")
    k = data.draw(st.integers(1, 3), label="tensors")
    sizes = [data.draw(st.integers(1, 3), label="size along dim") for _ in range(k)]
    rng = chk.rng(data)
    dn = _norm(d, len(shape))
    arrays = [chk.values(rng, (*shape[:dn], s, *shape[dn + 1:])) for s in sizes]
    return chk.Case(lambda m, *ts: m.cat(list(ts), dim=d),
                    lambda *a: np.concatenate(a, axis=dn), arrays, rng)


def _stack(chk, data):
    shape = data.draw(chk.shape(max_dims=3), label="shape")
    d = data.draw(st.integers(-len(shape) - 1, len(shape)), label="dim")
    k = data.draw(st.integers(1, 3), label="tensors")
    rng = chk.rng(data)
    arrays = [chk.values(rng, shape) for _ in range(k)]
    return chk.Case(lambda m, *ts: m.stack(ts, d),
                    lambda *a: np.stack(a, axis=d % (len(shape) + 1)), arrays, rng)


def _split(chk, data):
    shape, rng, x = _draw(chk, data, min_dims=1)
    d = data.draw(chk.axis(len(shape)), label="dim")
    n = shape[_norm(d, len(shape))]
    if data.draw(st.booleans(), label="sections"):
        cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3), label="cuts"))
        sections = [b - a for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
        arg = sections
        bounds = list(itertools.accumulate(sections))[:-1]
    else:
        arg = data.draw(st.integers(1, 5), label="split_size")
        bounds = list(range(arg, n, arg))
    method = data.draw(st.booleans(), label="method")

    def fn(m, t):
        return t.split(arg, d) if method else m.split(t, arg, dim=d)

    return chk.Case(fn, lambda a: tuple(np.split(a, bounds, axis=_norm(d, a.ndim))), [x], rng)


def _chunk(chk, data):
    shape, rng, x = _draw(chk, data, min_dims=1)
    d = data.draw(chk.axis(len(shape)), label="dim")
    chunks = data.draw(st.integers(1, 5), label="chunks")
    n = shape[_norm(d, len(shape))]
    size = math.ceil(n / chunks)
    method = data.draw(st.booleans(), label="method")

    def fn(m, t):
        return t.chunk(chunks, d) if method else m.chunk(t, chunks, dim=d)

    def np_fn(a):
        return tuple(np.split(a, list(range(size, n, size)), axis=_norm(d, a.ndim)))

    return chk.Case(fn, np_fn, [x], rng)


# ----------------------------------------------------------------- pad
def _pad(chk, data):
    shape, rng, x = _draw(chk, data, min_dims=1)
    k = data.draw(st.integers(1, len(shape)), label="padded dims")
    pad = tuple(data.draw(st.lists(st.integers(0, 2), min_size=2 * k, max_size=2 * k),
                          label="pad"))
    value = data.draw(st.sampled_from([0.0, -1.5]), label="value")

    def fn(m, t):
        if m is cr:
            return t.pad(pad, value=value) if value else cr.pad(t, pad)
        return m.nn.functional.pad(t, pad, value=value)

    def np_fn(a):
        widths = [(0, 0)] * a.ndim
        for i in range(k):  # torch's order: (before, after) pairs from the last dim backwards
            widths[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        return np.pad(a, widths, constant_values=value)

    return chk.Case(fn, np_fn, [x], rng)


# ----------------------------------------------------------------- indexing
def _slice(data, n, negative_steps):
    steps = [None, 1, 2, 3] + ([-1, -2] if negative_steps else [])
    bound = st.one_of(st.none(), st.integers(-n - 1, n + 1))
    return slice(data.draw(bound, label="start"), data.draw(bound, label="stop"),
                 data.draw(st.sampled_from(steps), label="step"))


def _basic_index(data, shape):
    """A tuple of ints, slices (positive steps), None and at most one Ellipsis."""
    k = data.draw(st.integers(0, len(shape)), label="indexed dims")
    ellipsis = data.draw(st.sampled_from([None, "front", "back"]), label="Ellipsis")
    parts = []
    for n in (shape[len(shape) - k:] if ellipsis == "front" else shape[:k]):
        if data.draw(st.booleans(), label="int?"):
            parts.append(data.draw(st.integers(-n, n - 1), label="int"))
        else:
            parts.append(_slice(data, n, negative_steps=False))
    if ellipsis is not None:  # `...` stands for the dims that the parts do not index
        parts.insert(0 if ellipsis == "front" else len(parts), Ellipsis)
    if data.draw(st.booleans(), label="None?"):
        parts.insert(data.draw(st.integers(0, len(parts)), label="None at"), None)
    if len(parts) == 1 and data.draw(st.booleans(), label="bare"):
        return parts[0]
    return tuple(parts)


def _getitem_basic(chk, data):
    shape, rng, x = _draw(chk, data)
    index = _basic_index(data, shape)
    return chk.Case(lambda m, t: t[index], lambda a: a[index], [x], rng)


def _getitem_negative_steps(chk, data):
    shape, rng, x = _draw(chk, data, min_dims=1)
    k = data.draw(st.integers(1, len(shape)), label="indexed dims")
    index = tuple(_slice(data, n, negative_steps=True) for n in shape[:k])

    def fn(m, t):
        if m is cr:
            return t[index]
        for d, sl in enumerate(index):  # torch has no negative steps: select by position
            t = t.index_select(d, m.tensor(np.arange(t.shape[d])[sl].copy()))
        return t

    return chk.Case(fn, lambda a: a[index], [x], rng)


def _getitem_int_array(chk, data):
    shape, rng, x = _draw(chk, data, min_dims=1)
    n0 = shape[0]
    idx_shape = data.draw(chk.shape(max_dims=2), label="index shape")
    idx = rng.integers(-n0, n0, idx_shape)  # repeats are likely: their gradients add up
    form = data.draw(st.sampled_from(["ndarray", "tensor", "list", "with_slice"]), label="form")

    def fn(m, t):
        if m is not cr or form == "tensor":
            i = m.tensor(idx)
        elif form == "list":
            i = idx.tolist()
        else:
            i = idx
        return t[i, ...] if form == "with_slice" else t[i]

    return chk.Case(fn, lambda a: a[idx], [x], rng)


def _getitem_two_int_arrays(chk, data):
    shape, rng, x = _draw(chk, data, min_dims=2)
    gap = len(shape) >= 3 and data.draw(st.booleans(), label="slice between")
    ib = (len(shape) - 1) if gap else 1
    # 1-D or 2-D index arrays: torch reads a 0-d index tensor as an int, NumPy (and chainrule)
    # as an advanced index, which moves the result's dims when a slice separates the indices
    s0, s1 = data.draw(chk.broadcast_shapes(2, min_dims=1, max_dims=2), label="index shapes")
    i0 = rng.integers(0, shape[0], s0)
    i1 = rng.integers(-shape[ib], shape[ib], s1)

    def index(m):
        a, b = (m.tensor(i0), m.tensor(i1)) if m is not None else (i0, i1)
        return (a, Ellipsis, b) if gap else (a, b)

    return chk.Case(lambda m, t: t[index(m)], lambda a: a[index(None)], [x], rng)


def _getitem_mask(chk, data):
    shape, rng, x = _draw(chk, data, min_dims=1)
    k = data.draw(st.integers(1, len(shape)), label="mask dims")
    mask = rng.random(shape[:k]) < 0.5
    as_tensor = data.draw(st.booleans(), label="tensor mask")

    def fn(m, t):
        return t[m.tensor(mask)] if (m is not cr or as_tensor) else t[mask]

    return chk.Case(fn, lambda a: a[mask], [x], rng)


def _getitem_scalar_tensor_index(chk, data):
    shape, rng, x = _draw(chk, data, min_dims=1)
    i = data.draw(st.integers(-shape[0], shape[0] - 1), label="index")
    return chk.Case(lambda m, t: t[m.tensor(i)], lambda a: a[i], [x], rng)


CASES = {
    "reshape": _reshape,
    "flatten": _flatten,
    "transpose": _transpose,
    "permute": _permute,
    "T": _T,
    "mT": _mT,
    "squeeze": _squeeze,
    "unsqueeze": _unsqueeze,
    "expand": _expand("expand"),
    "expand_minus_one": _expand("expand_minus_one"),
    "broadcast_to": _expand("broadcast_to"),
    "cat": _cat,
    "stack": _stack,
    "split": _split,
    "chunk": _chunk,
    "pad": _pad,
    "getitem_basic": _getitem_basic,
    "getitem_negative_steps": _getitem_negative_steps,
    "getitem_int_array": _getitem_int_array,
    "getitem_two_int_arrays": _getitem_two_int_arrays,
    "getitem_mask": _getitem_mask,
    "getitem_scalar_tensor_index": _getitem_scalar_tensor_index,
}


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_forward_matches_numpy_and_gradcheck(chk, name, data):
    chk.numpy_and_gradcheck(CASES[name](chk, data))


@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_gradients_match_torch(chk, torch, name, data):
    chk.torch_oracle(torch, CASES[name](chk, data))


# ----------------------------------------------------------------- specific semantics
def test_repeated_integer_indices_accumulate_gradients():
    x = cr.tensor([10.0, 20.0, 30.0], dtype=cr.float64, requires_grad=True)
    y = x[[0, 2, 0, 0, -1]]
    np.testing.assert_array_equal(y.detach().numpy(), [10.0, 30.0, 10.0, 10.0, 30.0])
    y.backward(gradient=np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(x.grad.detach().numpy(), [1.0 + 3.0 + 4.0, 0.0, 2.0 + 5.0])


def test_repeated_rows_of_a_matrix_accumulate_like_torch(torch):
    x = np.arange(6.0).reshape(3, 2)
    idx = np.array([[1, 1], [0, 1]])
    c = cr.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    (c[cr.tensor(idx)] ** 2).sum().backward()
    (t[torch.tensor(idx)] ** 2).sum().backward()
    np.testing.assert_array_equal(c.grad.detach().numpy(), t.grad.numpy())
    np.testing.assert_array_equal(c.grad.detach().numpy()[1], 3 * 2 * x[1])


def test_pad_follows_torch_order_last_dim_first():
    x = cr.ones(2, 3)
    y = cr.pad(x, (1, 2))  # (left, right) of the last dim
    assert y.shape == (2, 6)
    y = cr.pad(x, (1, 2, 3, 0), value=7.0)  # then (top, bottom)
    assert y.shape == (5, 6)
    v = y.detach().numpy()
    assert v[0, 0] == 7.0 and v[3, 1] == 1.0 and v[3, 3] == 1.0


def test_split_and_chunk_match_torch_piece_sizes(torch):
    for n in range(1, 9):
        for k in range(1, 6):
            got = [p.shape[0] for p in cr.chunk(cr.ones(n), k)]
            want = [p.shape[0] for p in torch.chunk(torch.ones(n), k)]
            assert got == want, (n, k)
            got = [p.shape[0] for p in cr.split(cr.ones(n), k)]
            want = [p.shape[0] for p in torch.split(torch.ones(n), k)]
            assert got == want, (n, k)


def test_reshape_to_the_same_shape_and_view_alias():
    x = cr.ones(2, 3, requires_grad=True)
    assert x.reshape(2, 3).shape == (2, 3) and x.view(-1).shape == (6,)
    assert cr.view is cr.reshape and cr.concatenate is cr.cat


def test_zero_dim_transpose_and_squeeze_like_torch(torch):
    x = cr.tensor(2.0, requires_grad=True)
    for d0, d1 in ((0, 0), (-1, 0), (0, -1)):
        y = cr.transpose(x, d0, d1)
        assert y.shape == tuple(torch.transpose(torch.tensor(2.0), d0, d1).shape) == ()
    for d in (0, -1, (0,)):
        assert cr.squeeze(x, d).shape == ()
    y = cr.transpose(x, 0, -1) * 3
    y.backward()
    assert x.grad.item() == 3.0


def test_getitem_of_a_leaf_then_backward_twice_accumulates():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x[0].sum().backward()
    x[:, 1].sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [[1.0, 2.0], [0.0, 1.0]])


# ----------------------------------------------------------------- errors
def test_reshape_errors_name_the_shapes():
    with pytest.raises(cr.ShapeError, match=r"^reshape: cannot reshape a tensor of shape "
                                            r"\(2, 3\) \(6 elements\) into shape \(4, 2\)"):
        cr.ones(2, 3).reshape(4, 2)
    with pytest.raises(cr.ShapeError, match=r"^reshape: .*\(2, 3\).*\(-1, -1\)"):
        cr.ones(2, 3).reshape(-1, -1)
    with pytest.raises(cr.ShapeError, match=r"^reshape: .*\(2, 3\).*\(4, -1\)"):
        cr.ones(2, 3).view(4, -1)


@pytest.mark.parametrize("dims, pattern", [((0, 1), r"got 2 dims \(0, 1\) for a tensor of "
                                                    r"shape \(2, 3, 4\)"),
                                           ((0, 1, 1), r"dims \(0, 1, 1\) are not a "
                                                       r"permutation of 0\.\.2"),
                                           ((0, 1, 3), r"dim 3 is out of range")])
def test_permute_errors(dims, pattern):
    with pytest.raises(cr.ShapeError, match="^permute: " + pattern):
        cr.ones(2, 3, 4).permute(*dims)


@pytest.mark.parametrize("call, pattern", [
    (lambda x: cr.transpose(x, 0, 2), r"^transpose: dim 2 is out of range for a tensor with 2"),
    (lambda x: cr.unsqueeze(x, 3), r"^unsqueeze: dim 3 is out of range for a tensor with 3"),
    (lambda x: cr.squeeze(x, -3), r"^squeeze: dim -3 is out of range"),
    (lambda x: cr.flatten(x, 1, 0), r"^flatten: start_dim 1 comes after end_dim 0"),
    (lambda x: cr.split(x, 1, dim=2), r"^split: dim 2 is out of range"),
    (lambda x: cr.chunk(x, 2, dim=-3), r"^chunk: dim -3 is out of range"),
    (lambda x: cr.split(x, [1, 1], dim=1), r"^split: sections \[1, 1\] sum to 2 but dim 1 has "
                                           r"size 3"),
    (lambda x: cr.cat([x, cr.ones(3, 2)]), r"^cat: shapes \[\(2, 3\), \(3, 2\)\] must match "
                                           r"except along dim 0"),
    (lambda x: cr.cat([x, cr.ones(3)]), r"^cat: shapes \[\(2, 3\), \(3,\)\]"),
    (lambda x: cr.cat([x], dim=2), r"^cat: dim 2 is out of range"),
    (lambda x: cr.stack([x, cr.ones(3, 2)]), r"^stack: all tensors must have the same shape, "
                                             r"got \[\(2, 3\), \(3, 2\)\]"),
    (lambda x: cr.stack([x, x], dim=3), r"^stack: dim 3 is out of range"),
    (lambda x: cr.pad(x, (1,)), r"^pad: pad \(1,\) must have an even length of at most 2 × 2 "
                                r"for a tensor of shape \(2, 3\)"),
    (lambda x: cr.pad(x, (1, 1) * 3), r"^pad: pad .* for a tensor of shape \(2, 3\)"),
    (lambda x: cr.broadcast_to(x, (3, 3)), r"^broadcast_to: cannot broadcast shape \(2, 3\) "
                                           r"to \(3, 3\)"),
    (lambda x: cr.broadcast_to(x, (3,)), r"^broadcast_to: cannot broadcast shape \(2, 3\) to "
                                         r"\(3,\)"),
    (lambda x: cr.broadcast_to(x, (1, 3)), r"^broadcast_to: cannot broadcast shape \(2, 3\) "
                                           r"to \(1, 3\)"),
    (lambda x: x.expand(2, 5), r"^broadcast_to: cannot broadcast shape \(2, 3\) to \(2, 5\)"),
])
def test_shape_errors_name_the_op_and_shapes(call, pattern):
    with pytest.raises(cr.ShapeError, match=pattern):
        call(cr.ones(2, 3))


@pytest.mark.parametrize("call, error, pattern", [
    (lambda x: cr.pad(x, (-2, -2)), ValueError, r"^pad: negative padding \(-2, -2\) crops "
                                                r"more than the 3 entries of dim 1"),
    (lambda x: cr.pad(x, (1, 1), mode="reflect"), ValueError, r"^pad: only mode='constant'"),
    (lambda x: cr.split(x, 0), ValueError, r"^split: split_size must be positive, got 0"),
    (lambda x: cr.chunk(x, 0), ValueError, r"^chunk: chunks must be positive, got 0"),
    (lambda x: cr.cat([]), ValueError, r"^cat: expected a non-empty sequence"),
    (lambda x: cr.stack([]), ValueError, r"^stack: expected a non-empty sequence"),
    (lambda x: x[2], IndexError, r"^getitem: index 2 is out of bounds for axis 0 with size 2 "
                                 r"\(input shapes \(2, 3\)\)"),
    (lambda x: x[:, [0, 3]], IndexError, r"^getitem: .*\(input shapes \(2, 3\)\)"),
    (lambda x: x[0, 0, 0], IndexError, r"^getitem: too many indices .*\(input shapes \(2, 3\)"),
    (lambda x: x[np.array([True, False, True])], IndexError, r"^getitem: .*boolean"),
])
def test_other_errors_name_the_op(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(cr.ones(2, 3))


@pytest.mark.parametrize("name", ["split", "chunk"])
def test_split_of_zero_dim_tensor_is_rejected_like_torch(name):
    with pytest.raises(cr.ShapeError, match=rf"^{name}: .*at least a 1-dimensional tensor, got "
                                            r"shape \(\)"):
        getattr(cr, name)(cr.tensor(1.0), 1)
