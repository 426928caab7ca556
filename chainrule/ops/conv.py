"""Convolution as the lecture draws it: every output unit looks at a small window (patch) of the
input through the same weights, so a conv layer is one big matrix multiplication over patches.

`Conv2d` gathers the windows (im2col) into a (C·KH·KW, OH·OW·N) matrix and multiplies it by the
weight matrix (O, C·KH·KW). Its backward is two more ops, each other's and `Conv2d`'s adjoints:

    x̄ = `ConvInputGrad`(ȳ, W)   (col2im of Wᵀ ȳ: every input pixel sums the error signals of the
                                 outputs whose window read it)
    W̄ = `ConvWeightGrad`(x, ȳ)  (Σ ȳ ⊗ patch, i.e. ȳ · colᵀ)
    b̄ = Σ ȳ over (N, OH, OW)

Each of the three is linear in each of its inputs, so each one's backward is written with the other
two and derivatives of any order keep working. Internally images are stored channel first and
batch last ((C, H, W, N) buffers returned as (N, C, H, W) views): the GEMM output needs no
transpose, the next layer reads it without a copy, and every im2col row, col2im update and
pooling window tap is a long contiguous run (W·N entries) instead of a few pixels.

`Patches` (the same im2col as a (N, OH, OW, C, KH, KW) tensor) and its adjoint `PatchesAdjoint`
(col2im) serve `patches`, `unfold` and the locally connected layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.autograd.function import Function, copy, empty
from chainrule.errors import ShapeError
from chainrule.ops._helpers import as_operand
from chainrule.ops.shape import cat
from chainrule.tensor import Tensor

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]  # top, bottom, left, right


def pair(v: int | tuple[int, ...], name: str, op: str) -> Pair:
    """An int or a 1/2-tuple as (height, width)."""
    if isinstance(v, int | np.integer):
        return int(v), int(v)
    t = tuple(int(x) for x in v)
    if len(t) == 1:
        return t[0], t[0]
    if len(t) != 2:
        raise ValueError(f"{op}: {name} must be an int or a pair, got {v!r}")
    return t  # type: ignore[return-value]


def out_size(n: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


def pad2d(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes (faster than np.pad for this common case)."""
    t, b, l, r = pads
    if not (t or b or l or r):
        return x
    out = np.full((*x.shape[:-2], x.shape[-2] + t + b, x.shape[-1] + l + r), value, x.dtype)
    out[..., t:t + x.shape[-2], l:l + x.shape[-1]] = x
    return out


def window_slice(i: int, j: int, s: Pair, d: Pair, out: Pair) -> tuple[slice, slice]:
    """The positions in the padded image that kernel tap (i, j) reads for all outputs."""
    return (slice(i * d[0], i * d[0] + s[0] * (out[0] - 1) + 1, s[0]),
            slice(j * d[1], j * d[1] + s[1] * (out[1] - 1) + 1, s[1]))


def _conv_out(shape: tuple[int, ...], kernel: Pair, stride: Pair, dilation: Pair,
              padding: Pads) -> Pair:
    t, b, l, r = padding
    return (out_size(shape[2], kernel[0], stride[0], dilation[0], t, b),
            out_size(shape[3], kernel[1], stride[1], dilation[1], l, r))


def _channel_rows(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) as its (C, H·W·N) matrix: free when `a` is a view of a (C, H, W, N) buffer."""
    rows = a.transpose(1, 2, 3, 0)
    if not rows.flags.c_contiguous:
        rows = copy(rows)
    return rows.reshape(a.shape[1], -1)


#: GEMMs whose small side (rows × inner dim) is at most this run in column blocks of _BLOCK:
#: OpenBLAS is several times slower on one (6, 25) @ (25, 100 000) product than on 25 blocks
_SMALL_GEMM, _BLOCK = 256, 4096


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (P, K) @ b (K, M) for a small a and a wide b, into a fresh (P, M) array."""
    out = empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    m = b.shape[1]
    if a.size > _SMALL_GEMM or m <= 2 * _BLOCK:
        return np.matmul(a, b, out=out)
    for s in range(0, m, _BLOCK):
        np.matmul(a, b[:, s:s + _BLOCK], out=out[:, s:s + _BLOCK])
    return out


def _matmul_nt(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (P, M) @ b (Q, M)ᵀ for wide a and b (a sum over M), as (b aᵀ)ᵀ (faster in OpenBLAS)."""
    m = a.shape[1]
    if a.shape[0] * b.shape[0] > _SMALL_GEMM or m <= 2 * _BLOCK:
        return (b @ a.T).T
    out = b[:, :_BLOCK] @ a[:, :_BLOCK].T
    for s in range(_BLOCK, m, _BLOCK):
        out += b[:, s:s + _BLOCK] @ a[:, s:s + _BLOCK].T
    return out.T


def _im2col(x: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, padding: Pads
            ) -> np.ndarray:
    """col[(c, i, j), (oh, ow, n)] = x_pad[n, c, oh·s + i·d, ow·s + j·d] (C·KH·KW, OH·OW·N).

    The image is read as (C, H, W, N) (batch innermost), so each (c, i, j, oh) row of col is one
    run of OW·N consecutive entries (stride 1), whatever the channel count.
    """
    n, c, h, w = x.shape
    t, b, l, r = padding
    out = _conv_out(x.shape, kernel, stride, dilation, padding)
    xp = x.transpose(1, 2, 3, 0)  # (C, H, W, N)
    if t or b or l or r or not xp.flags.c_contiguous:
        xp = empty((c, h + t + b, w + l + r, n), x.dtype)
        xp[:, :t] = 0
        xp[:, t + h:] = 0
        xp[:, t:t + h, :l] = 0
        xp[:, t:t + h, l + w:] = 0
        xp[:, t:t + h, l:l + w] = x.transpose(1, 2, 3, 0)
    (kh, kw), (st, sl), (dh, dw) = kernel, stride, dilation
    sc, sh, sw, sn = xp.strides
    col = empty((c, kh, kw, *out, n), x.dtype)
    np.copyto(col, as_strided(xp, col.shape, (sc, sh * dh, sw * dw, sh * st, sw * sl, sn),
                              writeable=False))
    return col.reshape(c * kh * kw, out[0] * out[1] * n)


def _col2im(dcol: np.ndarray, shape: tuple[int, ...], kernel: Pair, stride: Pair,
            dilation: Pair, padding: Pads) -> np.ndarray:
    """The adjoint of `_im2col`: x̄[n, c, h, w] = Σ of dcol over the entries that copied
    x[n, c, h, w]. Returned as an (N, C, H, W) view of a (C, H, W, N) buffer."""
    n, c, h, w = shape
    t, b, l, r = padding
    out = _conv_out(shape, kernel, stride, dilation, padding)
    xp = empty((c, h + t + b, w + l + r, n), dcol.dtype)
    xp.fill(0)
    taps = dcol.reshape(c, kernel[0], kernel[1], *out, n)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows, cols = window_slice(i, j, stride, dilation, out)
            xp[:, rows, cols] += taps[:, i, j]
    return xp[:, t:t + h, l:l + w].transpose(3, 0, 1, 2)


class Patches(Function):
    """im2col as a tensor: y[n, oh, ow, c, i, j] = x_pad[n, c, oh·s + i·d, ow·s + j·d].

    x̄ = col2im(ȳ): each input pixel gets the sum of the error signals of every patch entry that
    copied it (its children), which is `PatchesAdjoint`. Same kernels as `Conv2d`, in the
    (N, OH, OW, C, KH, KW) layout that `unfold` and the locally connected layer index.
    """

    kernel: Pair
    stride: Pair
    dilation: Pair
    padding: Pads

    def forward(self, x):
        col = _im2col(x, self.kernel, self.stride, self.dilation, self.padding)
        c, (kh, kw), n = x.shape[1], self.kernel, x.shape[0]
        out = _conv_out(x.shape, self.kernel, self.stride, self.dilation, self.padding)
        return np.ascontiguousarray(
            col.reshape(c, kh, kw, *out, n).transpose(5, 3, 4, 0, 1, 2))

    def backward(self, g, out):
        return (PatchesAdjoint.apply(g, shape=self.inputs[0].shape, kernel=self.kernel,
                                     stride=self.stride, dilation=self.dilation,
                                     padding=self.padding),)


class PatchesAdjoint(Function):
    """col2im: x[n, c, h, w] = Σ of g over the patch entries that read pixel (h, w).

    ḡ = patches(x̄) (the adjoint of a sum of copies is the copies).
    """

    shape: tuple[int, int, int, int]
    kernel: Pair
    stride: Pair
    dilation: Pair
    padding: Pads

    def forward(self, g):
        dcol = np.ascontiguousarray(g.transpose(3, 4, 5, 1, 2, 0)).reshape(
            g.shape[3] * g.shape[4] * g.shape[5], -1)
        return _col2im(dcol, self.shape, self.kernel, self.stride, self.dilation, self.padding)

    def backward(self, gg, out):
        return (Patches.apply(gg, kernel=self.kernel, stride=self.stride,
                              dilation=self.dilation, padding=self.padding),)


class _ConvOp(Function):
    stride: Pair
    dilation: Pair
    padding: Pads

    def _geometry(self) -> dict[str, Any]:
        return {"stride": self.stride, "dilation": self.dilation, "padding": self.padding}


class Conv2d(_ConvOp):
    """y[n, o, oh, ow] = b_o + Σ_{c,i,j} w[o, c, i, j] · x_pad[n, c, oh·s + i·d, ow·s + j·d]
    (groups=1), computed as W (O, C·KH·KW) @ col (C·KH·KW, OH·OW·N).

    x̄ = ConvInputGrad(ȳ, W),   W̄ = ConvWeightGrad(x, ȳ) = ȳ colᵀ,   b̄ = Σ_{n,oh,ow} ȳ.
    The im2col matrix is kept for W̄, as the patches were before.
    """

    def forward(self, x, w, b=None):
        o, kernel = w.shape[0], w.shape[2:]
        out = _conv_out(x.shape, kernel, self.stride, self.dilation, self.padding)
        col = _im2col(x, kernel, self.stride, self.dilation, self.padding)
        y = _matmul(w.reshape(o, -1), col)  # (O, OH·OW·N)
        if b is not None:
            y += b[:, None]
        self.col = col
        return y.reshape(o, *out, x.shape[0]).transpose(3, 0, 1, 2)

    def backward(self, g, out):
        x, w = self.inputs[0], self.inputs[1]
        geo = self._geometry()
        gx = ConvInputGrad.apply(g, w, shape=x.shape, **geo) if self.needs_grad(0) else None
        gw = ConvWeightGrad.apply(x, g, kernel=w.shape[2:], col=self.col,
                                  **geo) if self.needs_grad(1) else None
        if len(self.inputs) == 2:
            return gx, gw
        return gx, gw, (g.sum(dim=(0, 2, 3)) if self.needs_grad(2) else None)


class ConvInputGrad(_ConvOp):
    """x̄ of a convolution as an op of (ȳ, W): x̄ = col2im(Wᵀ ȳ) (a transposed convolution).

    Bilinear in (ȳ, W); for an upstream error signal H (shaped like x):
    ȳ̄ = conv2d(H, W),   W̄ = ConvWeightGrad(H, ȳ).
    """

    shape: tuple[int, int, int, int]

    def forward(self, g, w):
        o, kernel = w.shape[0], w.shape[2:]
        dcol = _matmul(w.reshape(o, -1).T, _channel_rows(g))  # (C·KH·KW, OH·OW·N)
        return _col2im(dcol, self.shape, kernel, self.stride, self.dilation, self.padding)

    def backward(self, h, out):
        g, w = self.inputs
        geo = self._geometry()
        gg = Conv2d.apply(h, w, **geo) if self.needs_grad(0) else None
        gw = ConvWeightGrad.apply(h, g, kernel=w.shape[2:], **geo) if self.needs_grad(1) else None
        return gg, gw


class ConvWeightGrad(_ConvOp):
    """W̄ of a convolution as an op of (x, ȳ): W̄[o, c, i, j] = Σ_{n,oh,ow} ȳ[n, o, oh, ow] ·
    x_pad[n, c, oh·s + i·d, ow·s + j·d] = ȳ colᵀ.

    Bilinear in (x, ȳ); for an upstream error signal H (shaped like W):
    x̄ = ConvInputGrad(ȳ, H),   ȳ̄ = conv2d(x, H).
    """

    kernel: Pair

    def forward(self, x, g):
        col = self.__dict__.pop("col", None)  # the forward's im2col of x, when it is at hand
        if col is None:
            col = _im2col(x, self.kernel, self.stride, self.dilation, self.padding)
        g2 = _channel_rows(g)
        return _matmul_nt(g2, col).reshape(g2.shape[0], x.shape[1], *self.kernel)

    def backward(self, h, out):
        x, g = self.inputs
        geo = self._geometry()
        gx = ConvInputGrad.apply(g, h, shape=x.shape, **geo) if self.needs_grad(0) else None
        gg = Conv2d.apply(x, h, **geo) if self.needs_grad(1) else None
        return gx, gg


def conv_padding(padding: Any, kernel: Pair, dilation: Pair, stride: Pair, op: str) -> Pads:
    """torch's padding argument (int, pair, 'valid', 'same') as (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
            return th // 2, th - th // 2, tw // 2, tw - tw // 2
        raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', "
                         f"got {padding!r}")
    ph, pw = pair(padding, "padding", op)
    if ph < 0 or pw < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return ph, ph, pw, pw


def _windows_of(x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                op: str) -> Tensor:
    """`Patches` of a 4-D x, after checking that at least one window fits (errors name `op`)."""
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W) or (C, H, W), got shape {x.shape}")
    k = pair(kernel_size, "kernel_size", op)
    s, d = pair(stride, "stride", op), pair(dilation, "dilation", op)
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive, got {k}, "
                         f"{s} and {d}")
    pads = conv_padding(padding, k, d, s, op) if not (
        isinstance(padding, tuple) and len(padding) == 4) else padding
    if (out_size(x.shape[2], k[0], s[0], d[0], *pads[:2]) < 1
            or out_size(x.shape[3], k[1], s[1], d[1], *pads[2:]) < 1):
        raise ShapeError(f"{op}: input {x.shape} (padded by {pads}) is smaller than the kernel "
                         f"{k} with dilation {d}")
    return Patches.apply(x, kernel=k, stride=s, dilation=d, padding=pads)


def patches(x: Tensor, kernel_size: Any, stride: Any = 1, padding: Any = 0,
            dilation: Any = 1) -> Tensor:
    """Every (C, KH, KW) window of x (N, C, H, W), as a (N, OH, OW, C, KH, KW) tensor."""
    return _windows_of(as_operand(x, op="patches"), kernel_size, stride, padding, dilation,
                       "patches")


def unfold(x: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
           ) -> Tensor:
    """torch.nn.functional.unfold: (N, C, H, W) → (N, C·KH·KW, L) sliding blocks
    ((C, H, W) → (C·KH·KW, L) unbatched)."""
    x = as_operand(x, op="unfold")
    if x.ndim == 3:
        return unfold(x.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    p = _windows_of(x, kernel_size, stride, padding, dilation, "unfold")
    n, oh, ow = p.shape[:3]
    return p.reshape(n, oh * ow, -1).permute(0, 2, 1)


def _check_channels(x: Tensor, weight: Tensor, bias: Tensor | None, groups: int, op: str
                    ) -> None:
    """Channel counts of input (N, C, ...), weight (O, C/groups, ...) and bias (O,) agree."""
    c, (o, cg) = x.shape[1], weight.shape[:2]
    if groups < 1 or c % groups or o % groups:
        raise ShapeError(f"{op}: groups={groups} must divide both the input channels ({c}) "
                         f"and the output channels ({o})")
    if cg * groups != c:
        raise ShapeError(f"{op}: weight {weight.shape} expects {cg * groups} input channels "
                         f"(groups={groups}), but the input {x.shape} has {c}")
    if bias is not None and bias.shape != (o,):
        raise ShapeError(f"{op}: bias of shape {bias.shape} does not fit {o} output channels")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation as in torch (what conv layers compute; no kernel flip).

    y[n, o, oh, ow] = b_o + Σ_{c,i,j} w[o, c, i, j] · x_pad[n, c, oh·s + i·d, ow·s + j·d]
    Input (N, C, H, W) or (C, H, W); weight (O, C/groups, KH, KW).
    """
    x = as_operand(input, op="conv2d")
    if x.ndim == 3:
        return conv2d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    if x.ndim != 4 or weight.ndim != 4:
        raise ShapeError(f"conv2d: expected input (N, C, H, W) and weight (O, C/groups, KH, KW), "
                         f"got input {x.shape} and weight {weight.shape}")
    _check_channels(x, weight, bias, groups, "conv2d")
    o, cg, kh, kw = weight.shape
    s, d = pair(stride, "stride", "conv2d"), pair(dilation, "dilation", "conv2d")
    if min(s) < 1 or min(d) < 1:
        raise ValueError(f"conv2d: stride and dilation must be positive, got {s} and {d}")
    pads = conv_padding(padding, (kh, kw), d, s, "conv2d")
    oh = out_size(x.shape[2], kh, s[0], d[0], pads[0], pads[1])
    ow = out_size(x.shape[3], kw, s[1], d[1], pads[2], pads[3])
    if oh < 1 or ow < 1:
        raise ShapeError(f"conv2d: input {x.shape} (padded by {pads}) is smaller than the "
                         f"kernel {(kh, kw)} with dilation {d}")

    def one(xg: Tensor, wg: Tensor, bg: Tensor | None) -> Tensor:
        if bg is None:
            return Conv2d.apply(xg, wg, stride=s, dilation=d, padding=pads)
        return Conv2d.apply(xg, wg, bg, stride=s, dilation=d, padding=pads)

    if groups == 1:
        return one(x, weight, bias)
    og = o // groups
    outs = [one(x[:, g * cg:(g + 1) * cg], weight[g * og:(g + 1) * og],
                None if bias is None else bias[g * og:(g + 1) * og]) for g in range(groups)]
    return cat(outs, dim=1)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation as in torch: input (N, C, L) or (C, L), weight (O, C/groups, K)."""
    x = as_operand(input, op="conv1d")
    if x.ndim == 2:
        return conv1d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    if x.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv1d: expected input (N, C, L) and weight (O, C/groups, K), got "
                         f"input {x.shape} and weight {weight.shape}")
    _check_channels(x, weight, bias, groups, "conv1d")
    k = weight.shape[2]
    s, d = _single(stride, "stride"), _single(dilation, "dilation")
    if s < 1 or d < 1:
        raise ValueError(f"conv1d: stride and dilation must be positive, got {s} and {d}")
    if padding == "same" and s != 1:
        raise ValueError(f"conv1d: padding='same' is not supported for strided convolutions "
                         f"(stride={s})")
    pad = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    pads = conv_padding(pad, (1, k), (1, d), (1, s), "conv1d")
    if out_size(x.shape[2], k, s, d, pads[2], pads[3]) < 1:
        raise ShapeError(f"conv1d: input {x.shape} (padded by {pads[2:]}) is smaller than the "
                         f"kernel {k} with dilation {d}")
    y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, s), pad, (1, d), groups)
    return y.squeeze(2)


def _single(v: Any, name: str) -> int:
    """conv1d's int or 1-tuple argument as an int."""
    if isinstance(v, int | np.integer):
        return int(v)
    t = tuple(int(x) for x in v)
    if len(t) != 1:
        raise ValueError(f"conv1d: {name} must be an int or a 1-tuple, got {v!r}")
    return t[0]
