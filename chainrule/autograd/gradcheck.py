"""Finite-difference checks: the numerical derivative a backward pass must agree with."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from chainrule.autograd.engine import grad as autograd_grad
from chainrule.tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when analytical and numerical derivatives disagree."""


def _outputs(fn: Callable[..., Tensor | Sequence[Tensor]], inputs: Sequence[Tensor]
             ) -> list[Tensor]:
    out = fn(*inputs)
    return [out] if isinstance(out, Tensor) else list(out)


def gradcheck(fn: Callable[..., Tensor | Sequence[Tensor]], inputs: Tensor | Sequence[Tensor],
              eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Compare every ∂output/∂input from backprop with central differences (f(x+ε) − f(x−ε))/2ε.

    Inputs that require grad must be float64 (float32 has too few digits for the test). Returns
    True, or raises GradcheckError naming the worst mismatch.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    wrt = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad")
    for t in wrt:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck: inputs that require grad must be float64, got {t.dtype}")
    outs = _outputs(fn, inputs)
    for k, out in enumerate(outs):
        if not out.requires_grad:
            continue
        flat_out = out._data.size
        # Analytical Jacobian, one row per output element (one backward pass each).
        analytic = [np.zeros((flat_out, t.numel())) for t in wrt]
        for r in range(flat_out):
            seed = np.zeros(out.shape, out.dtype)
            seed.flat[r] = 1.0
            fresh = _outputs(fn, inputs)[k]
            grads = autograd_grad(fresh, wrt, grad_outputs=Tensor(seed), allow_unused=True)
            for j, g in enumerate(grads):
                if g is not None:
                    analytic[j][r] = g._data.ravel()
        # Numerical Jacobian, one column per input element. Grad mode stays on: fn may itself
        # differentiate (a gradient of a gradient), as in torch's gradgradcheck.
        for j, t in enumerate(wrt):
            if not t._data.flags.c_contiguous:  # perturb the array backprop reads
                t._data = np.ascontiguousarray(t._data)
            flat = t._data.reshape(-1)
            for c in range(flat.size):
                orig = flat[c]
                flat[c] = orig + eps
                plus = _outputs(fn, inputs)[k]._data.astype(np.float64).ravel()
                flat[c] = orig - eps
                minus = _outputs(fn, inputs)[k]._data.astype(np.float64).ravel()
                flat[c] = orig
                numeric = (plus - minus) / (2 * eps)
                a = analytic[j][:, c]
                err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
                if np.any(err > 0) or np.any(np.isnan(a) != np.isnan(numeric)):
                    r = int(np.nanargmax(np.where(np.isnan(err), np.inf, err)))
                    raise GradcheckError(
                        f"gradcheck: output {k} element {r} w.r.t. input {j} element {c}: "
                        f"backprop gives {a[r]:.8g}, finite differences give "
                        f"{numeric[r]:.8g} (atol={atol}, rtol={rtol})")
    return True
