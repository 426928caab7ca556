"""Convolution as the lecture draws it: every output unit looks at a small window (patch) of the
input through the same weights, so a conv layer is one big matrix multiplication over patches.

`Convolution` gathers the windows (im2col) into a (C·KH·KW, OH·OW·N) matrix and multiplies it by
the weight matrix (O, C·KH·KW). Its backward is two more ops, each other's and `Convolution`'s
adjoints:

    x̄ = `ConvInputGrad`(ȳ, W)   (col2im of Wᵀ ȳ: every input pixel sums the error signals of the
                                 outputs whose window read it)
    W̄ = `ConvWeightGrad`(x, ȳ)  (Σ ȳ ⊗ patch, i.e. ȳ · colᵀ)
    b̄ = Σ ȳ over (N, OH, OW)

Each of the three is linear in each of its inputs, so each one's backward is written with the other
two and derivatives of any order keep working. The window geometry is `chainrule.ops.geometry`;
im2col, col2im and the memory layout that makes them fast are `chainrule.backend.windows`.

`Patches` (the same im2col as a (N, OH, OW, C, KH, KW) tensor) and its adjoint `PatchesAdjoint`
(col2im) serve `patches`, `unfold` and the locally connected layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autograd.function import Function
from chainrule.autograd.grad_mode import is_grad_enabled
from chainrule.backend import conv, gemm, windows, winograd
from chainrule.errors import ArgumentError, ShapeError
from chainrule.ops._helpers import as_operand, same_dtype
from chainrule.ops.geometry import Window, conv_padding, out_size, pair
from chainrule.ops.shape import cat
from chainrule.tensor import Tensor


class Patches(Function):
    """im2col as a tensor: y[n, oh, ow, c, i, j] = x_pad[n, c, oh·s + i·d, ow·s + j·d].

    x̄ = col2im(ȳ): each input pixel gets the sum of the error signals of every patch entry that
    copied it (its children), which is `PatchesAdjoint`. Same windows as `Convolution`, in the
    (N, OH, OW, C, KH, KW) layout that `unfold` and the locally connected layer index.
    """

    window: Window

    def forward(self, x):
        return windows.patches(x, self.window)

    def backward(self, g, out):
        return (PatchesAdjoint.apply(g, shape=self.inputs[0].shape, window=self.window),)


class PatchesAdjoint(Function):
    """col2im: x[n, c, h, w] = Σ of g over the patch entries that read pixel (h, w).

    ḡ = patches(x̄) (the adjoint of a sum of copies is the copies).
    """

    shape: tuple[int, int, int, int]
    window: Window

    def forward(self, g):
        return windows.patches_adjoint(g, self.shape, self.window)

    def backward(self, gg, out):
        return (Patches.apply(gg, window=self.window),)


def _live(w: np.ndarray, window: Window, x_shape: tuple[int, ...]) -> tuple[np.ndarray, Window]:
    """The kernel's taps that read the input somewhere, and their window (`conv.live_taps`):
    a tap that meets only padding adds zeros to every sum, so it is left out."""
    live = conv.live_taps(window, *x_shape[2:])
    if live is None:
        return w, window
    taps, win = live
    return conv.live_weight(w, taps, win), win


class Convolution(Function):
    """y[n, o, oh, ow] = b_o + Σ_{c,i,j} w[o, c, i, j] · x_pad[n, c, oh·s + i·d, ow·s + j·d]
    (groups=1), computed as W (O, C·KH·KW) @ col (C·KH·KW, OH·OW·N).

    x̄ = ConvInputGrad(ȳ, W),   W̄ = ConvWeightGrad(x, ȳ) = ȳ colᵀ,   b̄ = Σ_{n,oh,ow} ȳ.
    The im2col matrix is saved for W̄ (where the backend builds it whole; see
    `chainrule.backend.conv`). Where no W̄ will be asked for, a float32 3×3 convolution may take
    Winograd's F(2×2, 3×3) instead (`chainrule.backend.winograd`): the same sums, regrouped.
    Taps that read only padding for every output add zeros and are left out (`_live`), in this
    op and in its two gradient ops.
    """

    op_name = "conv2d"
    window: Window
    keep_col: bool = True  # False: no W̄ will be asked for (no grad mode, a frozen weight)

    def forward(self, x, w, b=None):
        o = w.shape[0]
        w, win = _live(w, self.window, x.shape)
        w2 = w.reshape(o, -1)
        oh, ow = win.out_shape(*x.shape[2:])
        if not self.keep_col and winograd.applies(x.shape, o, win, x.dtype):
            # 16 smaller GEMMs over 2×2 output tiles, the bias added in the output transform
            y = conv.winograd_forward(x, w, b, win)
            if y is not None:  # else x is not finite: the direct sums below
                self.save(col=None)
                return y.reshape(o, oh, ow, x.shape[0]).transpose(3, 0, 1, 2)
        if conv.blocked(w2.shape[1], win, self.keep_col,
                        w2.shape[1] * oh * ow * x.shape[0] * x.itemsize):
            # im2col a cached block at a time; W̄, if asked for, rebuilds it
            y = conv.conv_forward(x, w2, win)
            col = None
        else:
            col = windows.im2col(x, win)
            y = gemm.matmul_wide(w2, col)  # (O, OH·OW·N)
            if windows.pointwise(win):
                col = None  # x's own rows (or their copy): W̄ takes them again from x
        if b is not None:
            y += b[:, None]
        self.save(col=col)
        return y.reshape(o, oh, ow, x.shape[0]).transpose(3, 0, 1, 2)

    def backward(self, g, out):
        x, w = self.inputs[0], self.inputs[1]
        win = self.window
        gx = ConvInputGrad.apply(g, w, shape=x.shape, window=win) if self.needs_grad(0) else None
        gw = ConvWeightGrad.apply(x, g, window=win, col=self.col) if self.needs_grad(1) else None
        if len(self.inputs) == 2:
            return gx, gw
        return gx, gw, (g.sum(dim=(0, 2, 3)) if self.needs_grad(2) else None)


class ConvInputGrad(Function):
    """x̄ of a convolution as an op of (ȳ, W): x̄ = col2im(Wᵀ ȳ) (a transposed convolution); for a
    float32 3×3 convolution of stride 1 the backend may take Winograd's F(2×2, 3×3) of the
    correlation of ȳ with the flipped kernel instead (`chainrule.backend.conv`).

    Bilinear in (ȳ, W); for an upstream error signal H (shaped like x):
    ȳ̄ = conv2d(H, W),   W̄ = ConvWeightGrad(H, ȳ).
    """

    shape: tuple[int, int, int, int]
    window: Window

    def forward(self, g, w):
        w, win = _live(w, self.window, self.shape)
        full = conv.winograd_input_window(win)
        if full is not None and winograd.applies(g.shape, w.shape[1], full, g.dtype):
            # x̄ as the 3×3 correlation of ȳ with the flipped kernel, by Winograd's F(2×2, 3×3)
            gx = conv.winograd_input_grad(w, g, win)
            if gx is not None:  # else ȳ is not finite: col2im's sums below
                return gx
        # col2im(Wᵀ ȳ), Wᵀ ȳ a (C·KH·KW, OH·OW·N) matrix
        return conv.conv_input_grad(w.reshape(w.shape[0], -1), windows.channel_rows(g),
                                    self.shape, win)

    def backward(self, h, out):
        g, w = self.inputs
        win = self.window
        gg = Convolution.apply(h, w, window=win) if self.needs_grad(0) else None
        gw = ConvWeightGrad.apply(h, g, window=win) if self.needs_grad(1) else None
        return gg, gw


class ConvWeightGrad(Function):
    """W̄ of a convolution as an op of (x, ȳ): W̄[o, c, i, j] = Σ_{n,oh,ow} ȳ[n, o, oh, ow] ·
    x_pad[n, c, oh·s + i·d, ow·s + j·d] = ȳ colᵀ.

    Bilinear in (x, ȳ); for an upstream error signal H (shaped like W):
    x̄ = ConvInputGrad(ȳ, H),   ȳ̄ = conv2d(x, H).
    """

    window: Window
    col: np.ndarray | None = None  # the forward's im2col of x, when it is at hand

    def forward(self, x, g):
        col, self.col = self.col, None  # used once: not kept alive by this node
        g2 = windows.channel_rows(g)
        live = conv.live_taps(self.window, *x.shape[2:])
        win = self.window if live is None else live[1]
        k = x.shape[1] * win.kernel[0] * win.kernel[1]
        if col is None and conv.blocked(k, win, True, k * g2.shape[1] * x.itemsize):
            gw = conv.conv_weight_grad(x, g2, win)
        else:
            gw = gemm.matmul_nt_wide(g2, col if col is not None else windows.im2col(x, win))
        gw = gw.reshape(g2.shape[0], x.shape[1], *win.kernel)
        return gw if live is None else conv.full_weight_grad(gw, live[0], self.window.kernel)

    def backward(self, h, out):
        x, g = self.inputs
        win = self.window
        gx = ConvInputGrad.apply(g, h, shape=x.shape, window=win) if self.needs_grad(0) else None
        gg = Convolution.apply(x, h, window=win) if self.needs_grad(1) else None
        return gx, gg


def _windows_of(x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                op: str) -> Tensor:
    """`Patches` of a 4-D x, after checking that at least one window fits (errors name `op`)."""
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W) or (C, H, W), got shape {x.shape}")
    k = pair(kernel_size, "kernel_size", op)
    s, d = pair(stride, "stride", op), pair(dilation, "dilation", op)
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise ArgumentError(f"{op}: kernel_size, stride and dilation must be positive, got "
                            f"{k}, {s} and {d}")
    pads = conv_padding(padding, k, d, s, op) if not (
        isinstance(padding, tuple) and len(padding) == 4) else padding
    window = Window(k, s, d, pads)
    if min(window.out_shape(*x.shape[2:])) < 1:
        raise ShapeError(f"{op}: input {x.shape} (padded by {pads}) is smaller than the kernel "
                         f"{k} with dilation {d}")
    return Patches.apply(x, window=window)


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
    same_dtype("conv2d", x, weight, bias)
    if x.ndim == 3:
        return conv2d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    if x.ndim != 4 or weight.ndim != 4:
        raise ShapeError(f"conv2d: expected input (N, C, H, W) and weight (O, C/groups, KH, KW), "
                         f"got input {x.shape} and weight {weight.shape}")
    _check_channels(x, weight, bias, groups, "conv2d")
    o, cg, kh, kw = weight.shape
    s, d = pair(stride, "stride", "conv2d"), pair(dilation, "dilation", "conv2d")
    if min(s) < 1 or min(d) < 1:
        raise ArgumentError(f"conv2d: stride and dilation must be positive, got {s} and {d}")
    pads = conv_padding(padding, (kh, kw), d, s, "conv2d")
    window = Window((kh, kw), s, d, pads)
    if min(window.out_shape(*x.shape[2:])) < 1:
        raise ShapeError(f"conv2d: input {x.shape} (padded by {pads}) is smaller than the "
                         f"kernel {(kh, kw)} with dilation {d}")

    keep = is_grad_enabled() and weight.requires_grad  # will W̄ need the forward's im2col?

    def one(xg: Tensor, wg: Tensor, bg: Tensor | None) -> Tensor:
        if bg is None:
            return Convolution.apply(xg, wg, window=window, keep_col=keep)
        return Convolution.apply(xg, wg, bg, window=window, keep_col=keep)

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
        raise ArgumentError(f"conv1d: stride and dilation must be positive, got {s} and {d}")
    if padding == "same" and s != 1:
        raise ArgumentError(f"conv1d: padding='same' is not supported for strided convolutions "
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
