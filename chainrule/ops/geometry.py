"""Where each unit of a convolution or pooling layer looks: the geometry of its window.

Output unit (oh, ow) of a convolution with kernel (KH, KW), stride s, dilation d and padding p
reads the padded input at

    row oh·s_h + i·d_h,   column ow·s_w + j·d_w      for each kernel tap (i, j),

so along one axis an input of n pixels gives ⌊(n + p_lo + p_hi − d(k − 1) − 1) / s⌋ + 1 outputs.
Pooling uses the same windows (max pooling with any dilation, average pooling with dilation 1);
with ceil_mode its last window may hang over the bottom/right edge, which is the same as extra
padding there. Convolution ops, pooling ops, the nn layers and the backend's im2col all take
their geometry from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from chainrule.errors import ArgumentError

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]  # top, bottom, left, right


def pair(v: Any, name: str, op: str) -> Pair:
    """An int or a 1/2-tuple as (height, width)."""
    if isinstance(v, int | np.integer):
        return int(v), int(v)
    t = tuple(int(x) for x in v)
    if len(t) == 1:
        return t[0], t[0]
    if len(t) != 2:
        raise ValueError(f"{op}: {name} must be an int or a pair, got {v!r}")
    return t[0], t[1]


def out_size(n: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """Outputs along one axis: n inputs, kernel k, stride s, dilation d, padding lo and hi."""
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


def pool_out_size(n: int, k: int, s: int, p: int, ceil_mode: bool, d: int = 1) -> int:
    """torch's pooling output size for kernel k with dilation d (a ceil-mode window must start
    inside the input or its left padding)."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def conv_padding(padding: Any, kernel: Pair, dilation: Pair, stride: Pair, op: str) -> Pads:
    """torch's padding argument (int, pair, 'valid', 'same') as (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            if stride != (1, 1):
                raise ArgumentError(f"{op}: padding='same' is not supported for strided "
                                    f"convolutions (stride={stride})")
            th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
            return th // 2, th - th // 2, tw // 2, tw - tw // 2
        raise ArgumentError(f"{op}: padding must be an int, a pair, 'valid' or 'same', "
                            f"got {padding!r}")
    ph, pw = pair(padding, "padding", op)
    if ph < 0 or pw < 0:
        raise ArgumentError(f"{op}: padding must be non-negative, got {padding!r}")
    return ph, ph, pw, pw


class Window(NamedTuple):
    """A sliding window: kernel taps, stride, dilation and padding (top, bottom, left, right).

    A named tuple: ops make one per call, and it is cheap to build, compare and hash.
    """

    kernel: Pair
    stride: Pair = (1, 1)
    dilation: Pair = (1, 1)
    padding: Pads = (0, 0, 0, 0)

    def out_shape(self, h: int, w: int) -> Pair:
        """(OH, OW): how many window positions fit an h × w input (`out_size` along each axis)."""
        (kh, kw), (sh, sw), (dh, dw), (t, b, l, r) = self
        return (h + t + b - dh * (kh - 1) - 1) // sh + 1, (w + l + r - dw * (kw - 1) - 1) // sw + 1

    def tap(self, i: int, j: int, out: Pair) -> tuple[slice, slice]:
        """The positions in the padded input that kernel tap (i, j) reads, for all outputs."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        return (slice(i * dh, i * dh + sh * (out[0] - 1) + 1, sh),
                slice(j * dw, j * dw + sw * (out[1] - 1) + 1, sw))

    def taps(self, out: Pair) -> Iterator[tuple[int, tuple[slice, slice]]]:
        """(k, slices) for every tap k = i·KW + j, in row-major order."""
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                yield i * self.kernel[1] + j, self.tap(i, j, out)

    def tiles(self, h: int, w: int) -> bool:
        """The windows cover an h × w input exactly once each (non-overlapping, no padding)."""
        oh, ow = self.out_shape(h, w)
        return (self.kernel == self.stride and self.dilation == (1, 1)
                and self.padding == (0, 0, 0, 0)
                and oh * self.kernel[0] == h and ow * self.kernel[1] == w)
