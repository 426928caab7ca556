"""Shared machinery of the per-op tests: shape/axis strategies, input values that keep away from
non-differentiable points, and the checks every differentiable op gets:

1. forward equals NumPy (shape, dtype and values, float32 and float64);
2. ``cr.gradcheck`` (central differences) passes in float64;
3. first-order gradients equal PyTorch's for a random upstream gradient (``backward(gradient=)``),
   and second-order ones too: g = grad(f(x), x, v, create_graph=True), then grad((g·w).sum(), x).

Conftest modules cannot be imported by name, so the helpers reach the tests through the
session-scoped ``chk`` fixture; Hypothesis tests draw through ``st.data()``. An op under test is
written once as ``fn(m, *xs)`` against the API chainrule shares with torch, ``m`` being the
module (``cr`` or ``torch``); where the APIs differ a separate torch function is passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

TORCH_REASON = "torch not installed: pip install torch==2.13.0"


@pytest.fixture(scope="session")
def torch():
    """PyTorch as the oracle (session-scoped so that Hypothesis tests may use it)."""
    return pytest.importorskip("torch", reason=TORCH_REASON)


def pytest_collection_modifyitems(config, items):
    """Mark the tests here that use the torch oracle (`-m "not torch"` deselects them)."""
    here = Path(__file__).parent
    for item in items:
        if "torch" in getattr(item, "fixturenames", ()) and item.path.is_relative_to(here):
            item.add_marker(pytest.mark.torch)


# ----------------------------------------------------------------- input values
def _normal(rng, shape):
    return rng.standard_normal(shape)


def _positive(rng, shape):
    return rng.uniform(0.2, 3.0, shape)


def _nonzero(rng, shape):
    """|x| ≥ 0.2: away from the kinks of abs, relu, sign."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


def _grid(rng, shape):
    """Multiples of 0.1 plus 0.05: never equal to a `_grid0` value or to a bound like 0.5."""
    return 0.1 * rng.integers(-20, 21, shape) + 0.05


def _grid0(rng, shape):
    return 0.1 * rng.integers(-20, 21, shape)


def _distinct(rng, shape):
    """All entries different, at least 0.2 apart: no ties for max/min/sort-like ops."""
    n = int(np.prod(shape, dtype=np.int64))
    v = (rng.permutation(n) - n / 2) * 0.25 + rng.uniform(0, 0.05, n)
    return v.reshape(shape)


def _unit(rng, shape):
    return rng.uniform(-0.9, 0.9, shape)


KINDS: dict[str, Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]] = {
    "normal": _normal, "positive": _positive, "nonzero": _nonzero, "grid": _grid,
    "grid0": _grid0, "distinct": _distinct, "unit": _unit,
}


def _outputs(y: Any) -> list:
    return list(y) if isinstance(y, tuple | list) else [y]


def _np(t: Any) -> np.ndarray:
    """Values of a cr or torch tensor as an ndarray."""
    if isinstance(t, cr.Tensor):
        return t.detach().numpy()
    return t.detach().numpy(force=True)  # force: torch may hand back a lazy ZeroTensor


def _close(actual, expected, rtol, atol, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if actual.dtype.kind in "biu" or expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
    else:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


@dataclass
class Case:
    """One drawn example of an op: fn(m, *xs) for m in (cr, torch) and its NumPy reference."""

    fn: Callable
    np_fn: Callable
    arrays: list[np.ndarray]
    rng: np.random.Generator
    tfn: Callable | None = None
    wrt: Sequence[int] | None = None
    dtypes: Sequence[Any] = (np.float32, np.float64)
    gradcheck: bool = True
    forward_kw: dict = field(default_factory=dict)
    gradcheck_kw: dict = field(default_factory=dict)
    torch_kw: dict = field(default_factory=dict)


class Checks:
    """Strategies and checks; an instance is handed to the tests as the `chk` fixture."""

    # ------------------------------------------------------------- strategies
    @staticmethod
    def shape(min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 4):
        return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                max_side=max_side)

    @staticmethod
    def broadcast_shapes(n: int = 2, min_dims: int = 0, max_dims: int = 4):
        """n shapes that broadcast together (sizes 1–4, possibly different ranks)."""
        return hnp.mutually_broadcastable_shapes(
            num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4,
        ).map(lambda b: b.input_shapes)

    @staticmethod
    def axis(ndim: int):
        """One dim, negative or not (a 0-d tensor accepts 0 and -1, as in torch)."""
        n = max(ndim, 1)
        return st.integers(-n, n - 1)

    @classmethod
    def axes(cls, ndim: int, allow_none: bool = True):
        """None (all), one dim, or a non-empty tuple of distinct dims, each maybe negative."""
        options = [cls.axis(ndim)]
        if ndim:
            options.append(
                st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
                .flatmap(lambda ds: st.tuples(*[st.sampled_from([d, d - ndim]) for d in ds])))
        else:
            options.append(st.sampled_from([(0,), (-1,)]))
        if allow_none:
            options.append(st.none())
        return st.one_of(*options)

    @staticmethod
    def rng(data) -> np.random.Generator:
        """A NumPy generator seeded by Hypothesis (values are reproducible from the seed)."""
        return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))

    @staticmethod
    def values(rng: np.random.Generator, shape: Sequence[int], kind: str = "normal"
               ) -> np.ndarray:
        return np.asarray(KINDS[kind](rng, tuple(shape)), dtype=np.float64)

    # ------------------------------------------------------------- checks
    @staticmethod
    def forward(fn: Callable, np_fn: Callable, arrays: Sequence[np.ndarray], *,
                dtype: Any = np.float64, rtol: float | None = None, atol: float | None = None,
                check_dtype: bool = True) -> list[cr.Tensor]:
        """fn(cr, *tensors) equals np_fn(*arrays) in shape, dtype and values.

        Floating arrays are cast to `dtype` (and require grad, so the recording path runs);
        other arrays (masks, indices) are passed as they are.
        """
        f32 = np.dtype(dtype) == np.float32
        rtol = rtol if rtol is not None else (2e-5 if f32 else 1e-10)
        atol = atol if atol is not None else (1e-5 if f32 else 1e-12)
        arrs = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
        xs = [cr.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrs]
        got = _outputs(fn(cr, *xs))
        want = _outputs(np_fn(*arrs))
        assert len(got) == len(want), f"{len(got)} outputs, NumPy gives {len(want)}"
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            assert isinstance(g, cr.Tensor), f"output {k} is a {type(g).__name__}"
            w = np.asarray(w)
            if check_dtype:
                assert g.dtype == w.dtype, f"output {k}: dtype {g.dtype}, NumPy gives {w.dtype}"
            _close(g.detach().numpy(), w, rtol, atol, f"forward output {k}")
        return got

    @staticmethod
    def gradcheck(fn: Callable, arrays: Sequence[np.ndarray], wrt: Sequence[int] | None = None,
                  **kwargs: Any) -> None:
        """cr.gradcheck of fn(cr, *tensors) w.r.t. the floating inputs (or those in `wrt`)."""
        wrt = _wrt(arrays, wrt)
        xs = [cr.tensor(a, dtype=cr.float64 if a.dtype.kind == "f" else None,
                        requires_grad=i in wrt) for i, a in enumerate(arrays)]
        assert cr.gradcheck(lambda *ts: fn(cr, *ts), xs, **kwargs) is True

    @staticmethod
    def vs_torch(torch, fn: Callable, arrays: Sequence[np.ndarray], rng: np.random.Generator,
                 *, tfn: Callable | None = None, wrt: Sequence[int] | None = None,
                 rtol: float = 1e-7, atol: float = 1e-10, second_order: bool = True) -> None:
        """Forward, first- and second-order gradients of fn(cr, …) equal tfn(torch, …) in float64.

        First order: each differentiable output y_k gets a random upstream v_k through
        ``backward(gradient=v)`` (a weighted sum when there are several outputs). Second order:
        g = autograd.grad(h(y), x, v, create_graph=True), then autograd.grad(Σ (g·w).sum(), x)
        for random w, with h(y) = y and h(y) = y². A gradient that is None (or not on the graph)
        counts as zeros on both sides.
        """
        tfn = tfn or fn
        wrt = _wrt(arrays, wrt)

        def leaves():
            cx, tx = [], []
            for i, a in enumerate(arrays):
                a = a.astype(np.float64) if a.dtype.kind == "f" else a
                cx.append(cr.tensor(a, requires_grad=i in wrt))
                tx.append(torch.tensor(a, requires_grad=i in wrt))
            return cx, tx

        cx, tx = leaves()
        cy, ty = _outputs(fn(cr, *cx)), _outputs(tfn(torch, *tx))
        assert len(cy) == len(ty), f"{len(cy)} outputs, torch gives {len(ty)}"
        diff = []
        for k, (c, t) in enumerate(zip(cy, ty, strict=True)):
            _close(_np(c), _np(t), rtol, atol, f"forward output {k} vs torch")
            assert c.requires_grad == t.requires_grad, (
                f"output {k}: requires_grad {c.requires_grad}, torch says {t.requires_grad}")
            if c.requires_grad:
                diff.append(k)
        if not diff:
            return
        vs = [np.asarray(rng.standard_normal(cy[k].shape)) for k in diff]

        # first order, accumulated into .grad by backward(gradient=v)
        if len(diff) == 1:
            cy[diff[0]].backward(gradient=vs[0])
            ty[diff[0]].backward(gradient=torch.from_numpy(vs[0]))
        else:
            pairs = list(zip(diff, vs, strict=True))
            sum((cy[k] * v).sum() for k, v in pairs).backward()
            sum((ty[k] * torch.from_numpy(v)).sum() for k, v in pairs).backward()
        for i in wrt:
            _close(_grad(cx[i].grad, arrays[i]), _grad(tx[i].grad, arrays[i]), rtol, atol,
                   f"gradient of input {i} vs torch")
            if cx[i].grad is not None:
                assert cx[i].grad.dtype == np.float64, f"gradient dtype {cx[i].grad.dtype}"

        # second order: differentiate (g · w).sum() with g = grad(h(y), x, v, create_graph=True),
        # for the head h(y) = y and, so that the upstream depends on x and the op's own backward
        # is differentiated (linear ops included), for h(y) = y².
        ws = [np.asarray(rng.standard_normal(arrays[i].shape)) for i in wrt]
        for head in ("y", "y²"):
            cx, tx = leaves()
            cy, ty = _outputs(fn(cr, *cx)), _outputs(tfn(torch, *tx))
            cys, tys = [cy[k] for k in diff], [ty[k] for k in diff]
            if head == "y²":
                cys, tys = [y * y for y in cys], [y * y for y in tys]
            cxs, txs = [cx[i] for i in wrt], [tx[i] for i in wrt]
            cg = cr.autograd.grad(cys, cxs, [cr.tensor(v) for v in vs], create_graph=True,
                                  allow_unused=True)
            tg = torch.autograd.grad(tys, txs, [torch.from_numpy(v) for v in vs],
                                     create_graph=True, allow_unused=True)
            for i, c, t in zip(wrt, cg, tg, strict=True):
                _close(_grad(c, arrays[i]), _grad(t, arrays[i]), rtol, atol,
                       f"create_graph gradient of {head} w.r.t. input {i} vs torch")
            if not second_order:
                return
            cs = [(c * w).sum() for c, w in zip(cg, ws, strict=True)
                  if c is not None and c.requires_grad]
            ts = [(t * torch.from_numpy(w)).sum() for t, w in zip(tg, ws, strict=True)
                  if t is not None and t.requires_grad]
            cgg = cr.autograd.grad(sum(cs), cxs, allow_unused=True) if cs else [None] * len(wrt)
            tgg = torch.autograd.grad(sum(ts), txs, allow_unused=True) if ts else [None] * len(wrt)
            for i, c, t in zip(wrt, cgg, tgg, strict=True):
                _close(_grad(c, arrays[i]), _grad(t, arrays[i]), rtol, atol,
                       f"second-order gradient of {head} w.r.t. input {i} vs torch")

    # ------------------------------------------------------------- whole cases
    Case = Case

    @classmethod
    def numpy_and_gradcheck(cls, case: Case) -> None:
        """Checks (1) and (2): forward == NumPy in each of case.dtypes, gradcheck in float64."""
        for dt in case.dtypes:
            cls.forward(case.fn, case.np_fn, case.arrays, dtype=dt, **case.forward_kw)
        if case.gradcheck:
            cls.gradcheck(case.fn, case.arrays, case.wrt, **case.gradcheck_kw)

    @classmethod
    def torch_oracle(cls, torch, case: Case) -> None:
        """Check (3): forward, first- and second-order gradients == torch (float64)."""
        cls.vs_torch(torch, case.fn, case.arrays, case.rng, tfn=case.tfn, wrt=case.wrt,
                     **case.torch_kw)


def _wrt(arrays: Sequence[np.ndarray], wrt: Sequence[int] | None) -> list[int]:
    if wrt is None:
        return [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    return list(wrt)


def _grad(g: Any, like: np.ndarray) -> np.ndarray:
    """A gradient as float64 values, with None (no error signal) as zeros."""
    if g is None:
        return np.zeros(np.shape(like))
    return _np(g).astype(np.float64)


@pytest.fixture(scope="session")
def chk() -> Checks:
    return Checks()
