"""Helpers shared by the lecture's sections 4-6 (convolution, conv layers, LeNet-5): the MNIST
digits with their fallback, and small NumPy pictures of number grids (the slides' boxes of
numbers) built from `chainrule.inspect._image`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chainrule.data import load_dataset
from chainrule.data.mnist import ImageDataset
from chainrule.inspect import _image as im
from chainrule.lecture import Context


def digits(ctx: Context, train: bool) -> tuple[ImageDataset, str | None]:
    """MNIST's train or test split, or scikit-learn's digits when MNIST is absent.

    The second value is the line saying so (None when MNIST was found). Quick runs (CI) never
    download; full runs may, as `chainrule train` does.
    """
    said: list[str] = []
    ds = load_dataset("mnist", train=train, root=ctx.data_root, download=not ctx.quick,
                      fallback=True, log=said.append)
    return ds, (said[0] if said else None)


def number_text(v: float) -> str:
    """Integers without a decimal point (the slides' numbers), others to 2 places."""
    return str(int(round(v))) if abs(v - round(v)) < 1e-9 else f"{v:.2f}"


def number_grid(values: np.ndarray | Sequence[float], *, cell: int = 26, vmax: float | None = None,
                boxes: Sequence[tuple[int, int, int, int]] = (), blank: np.ndarray | None = None
                ) -> np.ndarray:
    """A 1-D or 2-D array drawn as the slides draw it: a box per entry with its number, tinted
    blue (negative) to red (positive). `boxes` (top, left, height, width in cells) are outlined
    in orange; `blank` (a bool mask) leaves entries empty (the zeros a shift brings in)."""
    a = np.atleast_2d(np.asarray(values, np.float64))
    m = vmax if vmax is not None else max(float(np.max(np.abs(a))), 1.0)
    tint = im.colorize(a, "diverging", -m, m)
    # Halfway to white, so the numbers stay legible on the darkest tint.
    tint = (0.5 * tint.astype(np.float64) + 0.5 * 255).astype(np.uint8)
    h, w = a.shape
    out = im.canvas(h * cell + 1, w * cell + 1)
    for i in range(h):
        for j in range(w):
            top, left = i * cell, j * cell
            empty = blank is not None and bool(blank[i, j] if blank.ndim == 2 else blank[j])
            if not empty:
                out[top + 1:top + cell, left + 1:left + cell] = tint[i, j]
                text = number_text(a[i, j])
                th, tw = im.text_size(text, 1)
                im.draw_text(out, text, top + (cell - th) // 2 + 1, left + (cell - tw) // 2 + 1)
            im.rectangle(out, top, left, top + cell + 1, left + cell + 1, (150, 150, 150))
    for top, left, bh, bw in boxes:
        im.rectangle(out, top * cell, left * cell, (top + bh) * cell + 1, (left + bw) * cell + 1,
                     (255, 140, 0), width=2)
    return out


# The bitmap font has no asterisk, and "*" is the lecture's sign for convolution: draw it.
_STAR = np.array([[c == "#" for c in r] for r in
                  [".....", "..#..", "#.#.#", ".###.", "#.#.#", "..#..", ".....", "....."]])


def text(words: str, scale: int = 1) -> np.ndarray:
    """`words` as a picture (im.text_image), with "*" drawn as the convolution star."""
    pieces = words.split("*")
    parts = []
    for k, piece in enumerate(pieces):
        if k:
            star = im.canvas(*(s * scale for s in _STAR.shape))
            star[im.zoom(_STAR, scale)] = im.INK
            parts.append(im.pad_image(star, 0, 0, scale, scale))
        if piece:
            parts.append(im.text_image(piece, scale))
    return im.stack_horizontal(parts) if parts else im.text_image(" ", scale)


def caption(image: np.ndarray, words: str, scale: int = 1) -> np.ndarray:
    """`words` written above `image`."""
    return im.stack_vertical([im.pad_image(text(words, scale), 0, 3), image])


def row(parts: Sequence[np.ndarray | str], gap: int = 8) -> np.ndarray:
    """Pictures and words (operators such as "+", "=", "x") side by side, centred vertically."""
    pics = [text(p, 2) if isinstance(p, str) else p for p in parts]
    return im.stack_horizontal(pics, gap=gap, align="center")


def framed(image: np.ndarray, title: str) -> np.ndarray:
    """A whole picture: a title in large letters, a white margin."""
    body = im.stack_vertical([im.pad_image(text(title, 2), 0, 8), image])
    return im.pad_image(body, 8, 8, 8, 8)


#: the colours of the three kinds of layer in `share_bars`
KIND_COLORS: dict[str, im.Color] = {"convolution": (214, 96, 77), "pooling": (150, 150, 150),
                                    "fully connected": (67, 147, 195)}


def share_bars(title: str, shares: dict[str, dict[str, float]], width: int = 420) -> np.ndarray:
    """One horizontal bar per measure (units, connections, weights), split by layer kind in
    proportion to its share, each part labelled with its percentage; a legend below."""
    label_w = max(im.text_size(m, 1)[1] for m in shares) + 10
    bars = []
    for measure, parts in shares.items():
        total = sum(parts.values()) or 1.0
        bar = im.canvas(22, width, (240, 240, 240))
        left = 0
        for kind, value in parts.items():
            w = int(round(width * value / total))
            if w <= 0:
                continue
            bar[:, left:left + w] = KIND_COLORS[kind]
            text = f"{value / total:.0%}"
            if im.text_size(text)[1] + 4 < w:
                im.draw_text(bar, text, 7, left + w // 2, im.WHITE, anchor="center")
            left += w
        name = im.text_image(measure)
        bars.append(im.stack_horizontal([im.pad_image(name, 0, 0, 0, label_w - name.shape[1]),
                                         bar], align="center"))
    legend = []
    for kind, color in KIND_COLORS.items():
        swatch = im.canvas(10, 10, color)
        legend += [swatch, im.pad_image(im.text_image(kind), 0, 0, 4, 14)]
    body = im.stack_vertical([*bars, im.pad_image(im.stack_horizontal(legend, align="center"),
                                                  6, 0, label_w)], gap=6)
    return framed(body, title)
