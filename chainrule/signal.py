"""Signal processing in the lecture's notation: convolution, correlation, convolution matrices and
the classic image filters, all differentiable.

Convolution of two arrays (signals):

    (a ∗ b)_t = Σ_τ a_τ b_{t−τ}                      (A ∗ B)_ij = Σ_s Σ_t A_st B_{i−s, j−t}

Correlation slides b over a *without* flipping it; in 'valid' mode

    (a ⋆ b)_t = Σ_τ a_{t+τ} b_τ,

so correlation is convolution with the flipped kernel: a ⋆ b = a ∗ flip(b), flip(b)_τ = b_{K−1−τ}
(the lecture's "flip-and-filter"). Conv layers (`cr.conv2d`, `nn.Conv2d`, torch) compute
correlations: they learn the kernel, and learning b or flip(b) is the same problem, so the flip
does not matter there. Convolution is the one with the algebra: a ∗ b = b ∗ a and
a ∗ (λ₁b + λ₂c) = λ₁ a ∗ b + λ₂ a ∗ c.

Modes, per axis, for a of length N and b of length K (as numpy.convolve and
scipy.signal.convolve / convolve2d):
  'full'  all N + K − 1 outputs (every overlap of a and the shifted b);
  'valid' the |N − K| + 1 outputs where one fully overlaps the other (2-D: one array must be at
          least as large as the other along both axes);
  'same'  the N outputs of the full result starting at ⌊(K − 1)/2⌋: the size of a, centred as
          scipy does. (numpy.convolve gives max(N, K) outputs instead when b is the longer one.)
correlate*(a, b, mode) is exactly convolve*(a, flip(b), mode) in every mode, as numpy.correlate
and scipy.signal.correlate; for an even K, scipy.signal.correlate2d and conv2d(padding='same')
centre 'same' one step differently.

Inputs are Tensors, NumPy arrays or (nested) lists. The first argument may carry a leading batch
dimension, (N, L) for 1-D and (N, H, W) for 2-D, filtered by one shared kernel; the kernel has
no batch dimension. Float arrays keep their dtype (two floats: NumPy's promotion), integer and
bool inputs become float32, and lists follow `cr.tensor` (Python floats → float32).

Everything is built from existing ops (pad, getitem, reshape, conv2d), so
gradients with respect to both arguments, and gradients of gradients, come for free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.errors import ShapeError
from chainrule.ops.conv import conv2d
from chainrule.ops.shape import cat, pad
from chainrule.tensor import Tensor

ArrayLike = Tensor | np.ndarray | Sequence[Any]
Span = tuple[int, int]  # (start, length) of the output inside the full result, along one axis

MODES = ("full", "valid", "same")

__all__ = [
    "KERNELS", "MODES", "conv_matrix", "convolve1d", "convolve2d", "correlate1d", "correlate2d",
    "filter_image", "get_kernel",
]


# ----------------------------------------------------------------- argument handling
def _tensor(x: Any, name: str, op: str) -> Tensor:
    t = x if isinstance(x, Tensor) else Tensor(x)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {name} must hold real numbers, got dtype {t.dtype}")
    return t


def _float_dtype(*ts: Tensor) -> np.dtype:
    """The result dtype: floats keep theirs (promoted together), ints and bools count as float32."""
    return np.result_type(*(t.dtype if t.dtype.kind == "f" else np.float32 for t in ts))


def _cast(t: Tensor, dtype: np.dtype) -> Tensor:
    return t if t.dtype == dtype else t.astype(dtype)


def _check_mode(mode: str, op: str) -> None:
    if mode not in MODES:
        raise ValueError(f"{op}: mode must be 'full', 'valid' or 'same', got {mode!r}")


def _span(n: int, k: int, mode: str) -> Span:
    """Where the mode's output lies in the full result of an n-signal and a k-kernel."""
    if mode == "full":
        return 0, n + k - 1
    if mode == "same":
        return (k - 1) // 2, n
    return min(n, k) - 1, abs(n - k) + 1


def _spans_2d(size: tuple[int, int], ksize: tuple[int, int], mode: str, op: str
              ) -> tuple[Span, Span]:
    if mode == "valid" and not (all(n >= k for n, k in zip(size, ksize, strict=True))
                                or all(n <= k for n, k in zip(size, ksize, strict=True))):
        raise ValueError(f"{op}: in 'valid' mode one input must be at least as large as the other "
                         f"along both axes, got {size} and {ksize}")
    return _span(size[0], ksize[0], mode), _span(size[1], ksize[1], mode)


def _operands(a: Any, b: Any, mode: str, ndim: int, op: str) -> tuple[Tensor, Tensor]:
    """a (signal, optionally batched) and b (kernel) as tensors of one float dtype."""
    _check_mode(mode, op)
    a, b = _tensor(a, "a", op), _tensor(b, "b", op)
    if a.ndim not in (ndim, ndim + 1) or b.ndim != ndim:
        want = ("a of shape (L,) or (N, L) and b of shape (K,)" if ndim == 1 else
                "A of shape (H, W) or (N, H, W) and B of shape (KH, KW)")
        raise ShapeError(f"{op}: expected {want}, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.numel() == 0 or b.numel() == 0:
        raise ShapeError(f"{op}: inputs must not be empty, got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    dtype = _float_dtype(a, b)
    return _cast(a, dtype), _cast(b, dtype)


# ----------------------------------------------------------------- the one computation
def _full_window(x: Tensor, k: Tensor, spans: tuple[Span, Span], flip: bool) -> Tensor:
    """The `spans` window of the full convolution (flip=True) or correlation of every x[n].

    x is (B, H, W), k is (KH, KW). The full result is a cross-correlation of x zero-padded by
    K − 1 on each side with w = flip(k) (or k); the window needs only part of that padding:
    lo = K − 1 − start before and whatever fills `length` outputs after.
    """
    w = k[::-1, ::-1] if flip else k
    pads = []
    for (start, length), n, kk in zip(spans, x.shape[1:], k.shape, strict=True):
        lo = kk - 1 - start
        pads.append((lo, length + kk - 1 - n - lo))  # both ≥ 0 for the three modes
    (top, bottom), (left, right) = pads
    if top or bottom or left or right:
        x = pad(x, (left, right, top, bottom))
    y = conv2d(x.unsqueeze(1), w.reshape(1, 1, *k.shape))  # (B, 1, OH, OW)
    return y.reshape(x.shape[0], spans[0][1], spans[1][1])


def _filter1d(a: Any, b: Any, mode: str, flip: bool, op: str) -> Tensor:
    a, b = _operands(a, b, mode, 1, op)
    span = _span(a.shape[-1], b.shape[0], mode)
    y = _full_window(a.reshape(-1, 1, a.shape[-1]), b.reshape(1, -1), ((0, 1), span), flip)
    return y.reshape(*a.shape[:-1], span[1])


def _filter2d(a: Any, b: Any, mode: str, flip: bool, op: str) -> Tensor:
    a, b = _operands(a, b, mode, 2, op)
    spans = _spans_2d(a.shape[-2:], b.shape, mode, op)
    y = _full_window(a.reshape(-1, *a.shape[-2:]), b, spans, flip)
    return y.reshape(*a.shape[:-2], spans[0][1], spans[1][1])


# ----------------------------------------------------------------- public API
def convolve1d(a: ArrayLike, b: ArrayLike, mode: str = "full") -> Tensor:
    """(a ∗ b)_t = Σ_τ a_τ b_{t−τ} for a (L,) or a batch (N, L), and a kernel b (K,).

    >>> convolve1d([2., -1., 1.], [1., 1., 2.])   # the lecture's example
    tensor([ 2.,  1.,  4., -1.,  2.])
    """
    return _filter1d(a, b, mode, True, "convolve1d")


def convolve2d(a: ArrayLike, b: ArrayLike, mode: str = "full") -> Tensor:
    """(A ∗ B)_ij = Σ_s Σ_t A_st B_{i−s, j−t} for A (H, W) or a batch (N, H, W), and B (KH, KW).

    Matches scipy.signal.convolve2d(A, B, mode) (zero boundary) for every mode.
    """
    return _filter2d(a, b, mode, True, "convolve2d")


def correlate1d(a: ArrayLike, b: ArrayLike, mode: str = "full") -> Tensor:
    """a ⋆ b = a ∗ flip(b): in 'valid' mode y_t = Σ_τ a_{t+τ} b_τ, what `cr.conv1d` computes."""
    return _filter1d(a, b, mode, False, "correlate1d")


def correlate2d(a: ArrayLike, b: ArrayLike, mode: str = "full") -> Tensor:
    """A ⋆ B = A ∗ flip(B): in 'valid' mode Y_ij = Σ_s Σ_t A_{i+s, j+t} B_st, as `cr.conv2d`."""
    return _filter2d(a, b, mode, False, "correlate2d")


def conv_matrix(kernel: ArrayLike, input_length_or_shape: int | Sequence[int],
                mode: str = "full") -> Tensor:
    """The matrix M of the linear map x ↦ x ∗ kernel ("convolution as matrix multiplication").

    M @ x.ravel() == convolve1d/2d(x, kernel, mode).ravel() for x of the given length L or shape
    (H, W): M is Toeplitz in 1-D and doubly block Toeplitz in 2-D, with M[t, τ] = k_{t−τ}
    (entries outside the kernel are 0), of shape (outputs, L or H·W). The result is a Tensor and
    differentiable with respect to the kernel; Mᵀ is the backward pass x̄ = Mᵀ ȳ.

    >>> conv_matrix([1., 1., 2.], 3)   # the lecture's (2, −1, 1) ∗ (1, 1, 2)
    tensor([[1., 0., 0.],
            [1., 1., 0.],
            [2., 1., 1.],
            [0., 2., 1.],
            [0., 0., 2.]])
    """
    op = "conv_matrix"
    _check_mode(mode, op)
    k = _tensor(kernel, "kernel", op)
    shape = ((input_length_or_shape,) if isinstance(input_length_or_shape, int | np.integer)
             else tuple(input_length_or_shape))
    if not all(isinstance(n, int | np.integer) for n in shape) or len(shape) not in (1, 2):
        raise ValueError(f"{op}: input_length_or_shape must be an int L or a shape (L,) or "
                         f"(H, W), got {input_length_or_shape!r}")
    if k.ndim != len(shape) or k.numel() == 0 or min(shape) < 1:
        raise ShapeError(f"{op}: expected a non-empty kernel with as many dims as the input "
                         f"shape {shape}, got kernel {tuple(k.shape)}")
    k = _cast(k, _float_dtype(k))
    size = (1, int(shape[0])) if len(shape) == 1 else (int(shape[0]), int(shape[1]))
    ksize = (1, k.shape[0]) if k.ndim == 1 else (k.shape[0], k.shape[1])
    (s0, n0), (s1, n1) = _spans_2d(size, ksize, mode, op)
    # M[(i, j), (p, q)] = k[s0 + i − p, s1 + j − q]: gather from the kernel plus one trailing 0.
    r0 = s0 + np.arange(n0)[:, None] - np.arange(size[0])[None, :]  # (n0, H)
    r1 = s1 + np.arange(n1)[:, None] - np.arange(size[1])[None, :]  # (n1, W)
    inside = ((r0 >= 0) & (r0 < ksize[0]))[:, None, :, None] & \
             ((r1 >= 0) & (r1 < ksize[1]))[None, :, None, :]
    flat = np.where(inside, r0[:, None, :, None] * ksize[1] + r1[None, :, None, :],
                    ksize[0] * ksize[1])
    padded = cat([k.reshape(-1), Tensor(np.zeros(1, k.dtype))])
    return padded[flat.reshape(n0 * n1, size[0] * size[1])]


# ----------------------------------------------------------------- classic filters
def _frozen(rows: Sequence[Sequence[float]]) -> np.ndarray:
    arr = np.array(rows, dtype=np.float32)
    arr.setflags(write=False)
    return arr


_SOBEL = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]

KERNELS: dict[str, np.ndarray] = {
    # The lecture's numbers, unnormalised (get_kernel(..., normalize=True) rescales them).
    "blur": _frozen([[0, 1, 0], [1, 4, 1], [0, 1, 0]]),         # Σ = 8: weighted local average
    "sharpen": _frozen([[0, -1, 0], [-1, 8, -1], [0, -1, 0]]),  # Σ = 4: 4·I − ∇²I
    "edge": _frozen([[0, -1, 0], [-1, 4, -1], [0, -1, 0]]),     # Σ = 0: −∇²I (Laplacian)
    "sobel_x": _frozen(_SOBEL),                    # ∝ ∂I/∂x (left → right): vertical edges
    "sobel_y": _frozen(np.array(_SOBEL).T.tolist()),  # ∝ ∂I/∂y (top → bottom): horizontal edges
}
"""The lecture's filters as read-only float32 arrays. Aliases: 'laplacian' = 'edge',
'sobel' = 'sobel_x'. Convolving (not correlating) with sobel_x gives +8 on a ramp I_ij = j."""

_ALIASES = {"laplacian": "edge", "sobel": "sobel_x"}


def get_kernel(name: str, normalize: bool = False) -> np.ndarray:
    """A writable float32 copy of KERNELS[name] (or an alias: 'laplacian', 'sobel').

    normalize=True divides by Σk when it is non-zero (blur /8, sharpen /4: a constant image keeps
    its value) and by Σ|k| for the zero-sum edge and Sobel kernels (Sobel /8 turns the response
    to a ramp I_ij = j into its slope, 1).
    """
    key = _ALIASES.get(name, name)
    if key not in KERNELS:
        raise ValueError(f"get_kernel: unknown kernel {name!r}; choose one of "
                         f"{sorted([*KERNELS, *_ALIASES])}")
    k = KERNELS[key].copy()
    if normalize:
        total = float(k.sum())
        k /= total if total != 0 else float(np.abs(k).sum())
    return k


def filter_image(image: ArrayLike, kernel: str | ArrayLike, mode: str = "same",
                 normalize: bool = False) -> Tensor:
    """image ∗ kernel for an image (H, W) or a batch (N, H, W); zeros outside the image.

    `kernel` is a name from KERNELS (or an alias) or any 2-D array; normalize=True rescales it
    as get_kernel does. 'same' (the default) keeps the image's size. Returns a Tensor (float32
    for integer images such as uint8 pixels).
    """
    op = "filter_image"
    img = _tensor(image, "image", op)
    if img.ndim not in (2, 3):
        raise ShapeError(f"{op}: expected an image (H, W) or a batch (N, H, W), got shape "
                         f"{tuple(img.shape)}")
    k = _tensor(get_kernel(kernel) if isinstance(kernel, str) else kernel, "kernel", op)
    if k.ndim != 2:
        raise ShapeError(f"{op}: expected a 2-D kernel (KH, KW), got shape {tuple(k.shape)}")
    if normalize:  # get_kernel's rule, with tensor ops so a learned kernel stays differentiable
        k = _cast(k, _float_dtype(k))
        total = k.sum()
        k = k / (total if float(total.item()) != 0 else k.abs().sum())
    return convolve2d(img, k, mode)
