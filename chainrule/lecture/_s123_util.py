"""Small helpers shared by the examples of sections 1-3 (units, expressive power, backprop):
writing a picture, a chart panel, a text table, a median timing. Pictures are drawn with NumPy
alone (chainrule.inspect._image and plots.line_chart), so a NumPy-only install draws them all."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from chainrule.backend.threads import num_threads as get_num_threads
from chainrule.backend.threads import set_num_threads
from chainrule.inspect import _image as im
from chainrule.inspect.plots import line_chart
from chainrule.lecture import save_picture
from chainrule.tensor import Tensor

#: pictures (PNG arrays and SVG text alike) go through the registry's writer
save = save_text = save_picture

#: distinct colours for the curves of one chart (colour-blind-safe order)
COLORS: tuple[im.Color, ...] = ((31, 119, 180), (230, 120, 20), (44, 160, 44), (200, 40, 40),
                                (148, 103, 189), (120, 80, 60), (227, 119, 194))


def values(t: Tensor | None) -> np.ndarray:
    """A tensor's values as a NumPy array (a gradient must exist)."""
    if t is None:
        raise RuntimeError("lecture: expected a tensor (a gradient), got None")
    return t.detach().numpy()


def chart(series: Sequence[tuple[str, Any, Any, im.Color]], title: str, xlabel: str = "", *,
          width: int = 300, height: int = 220, ylim: tuple[float, float] | None = None,
          integer_x: bool = False) -> np.ndarray:
    """One line chart (label, x, y, colour per curve), x read as real numbers by default."""
    return line_chart([(s[0], np.asarray(s[1], np.float64), np.asarray(s[2], np.float64), s[3])
                       for s in series], title=title, xlabel=xlabel, width=width,
                      height=height, ylim=ylim, integer_x=integer_x)


def panels(images: Sequence[np.ndarray], ncols: int, title: str | None = None) -> np.ndarray:
    """Charts in a grid (padded to one size), under an optional title."""
    h = max(a.shape[0] for a in images)
    w = max(a.shape[1] for a in images)
    tiles = [im.pad_image(a, 0, h - a.shape[0], 0, w - a.shape[1]) for a in images]
    body = im.grid(tiles, ncols, gap=6)
    if title:
        body = im.stack_vertical([im.pad_image(im.text_image(title, 2), 4, 6, 6, 6), body])
    return im.pad_image(body, 4, 4, 4, 4)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Rows as aligned text lines (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    return str(v)


def median_seconds(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """The median wall time of `fn()` over `repeats` runs (after `warmup` untimed runs)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


@contextlib.contextmanager
def one_blas_thread() -> Iterator[bool]:
    """Run the BLAS on one thread while timing (yields whether that could be arranged).

    On a small shared machine a multi-threaded BLAS spends more time waiting for its threads
    than multiplying, and a 0.5 ms product takes 30 ms at random; one thread measures the
    arithmetic. Without threadpoolctl (which cr.set_num_threads needs) the timings run as they
    are.
    """
    old = get_num_threads()
    try:
        set_num_threads(1)
    except RuntimeError:  # no threadpoolctl: the BLAS cannot be reached
        yield False
        return
    try:
        yield True
    finally:
        set_num_threads(old)
