"""The pictures of training: loss and accuracy curves from a `chainrule train --history` file, a
confusion matrix, and for 2-D toy problems (XOR, moons, circles, spirals) a model's decision
regions with the data on top and each hidden unit's response over the plane (TensorFlow
Playground's heat maps).

Every picture comes two ways: a NumPy RGB array (`*_image`, written by `save_png` with no other
library) and a matplotlib figure (`plot_*`, the optional `plot` extra: pip install
chainrule[plot]).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import nn
from chainrule.autograd.grad_mode import no_grad
from chainrule.inspect import _image as im
from chainrule.inspect.features import _eval, _forward_to, _module, require_matplotlib
from chainrule.tensor import Tensor, from_numpy

Record = dict[str, Any]
METRICS = ("loss", "accuracy")
# Curve colours per split (train, test, val, ...), in order of appearance.
_SPLIT_COLORS: tuple[im.Color, ...] = ((31, 119, 180), (230, 97, 1), (44, 160, 44),
                                       (148, 103, 189), (140, 86, 75))
_CLASS_COLORS: tuple[im.Color, ...] = ((33, 102, 172), (214, 96, 77), (27, 158, 119),
                                       (117, 112, 179), (230, 171, 2), (102, 166, 30),
                                       (166, 118, 29), (231, 41, 138), (102, 102, 102),
                                       (0, 0, 0))


# -------------------------------------------------------------------------------- history
def read_history(path: str | os.PathLike) -> list[Record]:
    """The per-epoch records of a `chainrule train --history` file.

    The file is JSON lines, one record per epoch (`{"epoch": 1, "train_loss": …,
    "test_accuracy": …}`); also read: a JSON list of records, or an object holding one under
    "history". Tolerated: blank lines, a last line cut short (a run still writing it), lines
    without an "epoch" (headers, notes: skipped), and an epoch written twice (a resumed run:
    the later record wins).
    """
    text = Path(path).read_text()
    stripped = text.strip()
    records: list[Any]
    if stripped.startswith("[") or (stripped.startswith("{") and "\n" not in stripped):
        try:
            loaded = json.loads(stripped)
        except json.JSONDecodeError:
            loaded = None
        if isinstance(loaded, list):
            records = loaded
        elif isinstance(loaded, dict) and isinstance(loaded.get("history"), list):
            records = loaded["history"]
        elif isinstance(loaded, dict):
            records = [loaded]
        else:
            records = _json_lines(text, path)
    elif stripped.startswith("{") and '"history"' in stripped[:200] and stripped.endswith("}"):
        loaded = json.loads(stripped)
        records = loaded["history"] if isinstance(loaded, dict) else []
    else:
        records = _json_lines(text, path)
    by_epoch: dict[Any, Record] = {}
    for r in records:
        if isinstance(r, dict) and "epoch" in r:
            by_epoch[r["epoch"]] = r
    return sorted(by_epoch.values(), key=lambda r: float(r["epoch"]))


def _json_lines(text: str, path: Any) -> list[Any]:
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    out = []
    for k, (n, line) in enumerate(lines):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as e:
            if k == len(lines) - 1 and not text.endswith("\n"):
                break  # the line being written right now
            raise ValueError(f"{path}: line {n} is not JSON ({e.msg}); expected one JSON "
                             f"record per line as `chainrule train --history` writes") from None
    return out


def history_series(history: Sequence[Record]) -> dict[str, dict[str, tuple[np.ndarray,
                                                                            np.ndarray]]]:
    """{metric: {split: (epochs, values)}} for every numeric `<split>_loss` and
    `<split>_accuracy` column (train, test, val, …), missing values left out."""
    out: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {m: {} for m in METRICS}
    keys: list[str] = []
    for r in history:
        keys += [k for k in r if k not in keys]
    for key in keys:
        for metric in METRICS:
            if key.endswith("_" + metric):
                split = key[:-len(metric) - 1]
                pts = [(float(r["epoch"]), float(r[key])) for r in history
                       if isinstance(r.get(key), int | float) and not isinstance(r[key], bool)]
                if pts:
                    xs, ys = (np.array(v) for v in zip(*pts, strict=True))
                    out[metric][split] = (xs, ys)
    return {m: s for m, s in out.items() if s}


def _nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(start, hi + step * 1e-9, step)
    return ticks[(ticks >= lo - 1e-12) & (ticks <= hi + 1e-12)]


def _tick_label(v: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if step * 10 ** decimals % 1 > 1e-6:  # 2.5-steps need one digit more
        decimals += 1
    return f"{v:.{decimals}f}"


def line_chart(series: Sequence[tuple[str, np.ndarray, np.ndarray, im.Color]], *,
               title: str = "", xlabel: str = "", width: int = 440, height: int = 300,
               ylim: tuple[float, float] | None = None, integer_x: bool = True) -> np.ndarray:
    """A line chart with axes, ticks, a grid and a legend: series are (label, x, y, colour)."""
    xs = np.concatenate([s[1] for s in series])
    ys = np.concatenate([s[2] for s in series])
    x0, x1 = float(xs.min()), float(xs.max())
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = ylim if ylim is not None else (float(ys.min()), float(ys.max()))
    pad = (y1 - y0) * 0.06 or 0.5
    if ylim is None:
        y0, y1 = y0 - pad, y1 + pad
    yt = _nice_ticks(y0, y1, 6)
    ystep = float(yt[1] - yt[0]) if len(yt) > 1 else 1.0
    ylabels = [_tick_label(v, ystep) for v in yt]
    left = 10 + max(im.text_size(s)[1] for s in ylabels)
    top, right, bottom = 28, 12, 36
    pw, ph = width - left - right, height - top - bottom
    img = im.canvas(height, width)
    im.draw_text(img, title, 6, left, im.INK, scale=2)

    def px(x: np.ndarray | float) -> Any:
        return left + (np.asarray(x) - x0) / (x1 - x0) * (pw - 1)

    def py(y: np.ndarray | float) -> Any:
        return top + (1 - (np.asarray(y) - y0) / (y1 - y0)) * (ph - 1)

    for v, s in zip(yt, ylabels, strict=True):
        yy = int(round(py(v)))
        img[yy, left:left + pw] = (232, 232, 232)
        im.draw_text(img, s, yy - 4, left - 5, im.INK, anchor="right")
    xt = _nice_ticks(x0, x1, 6)
    if integer_x:
        xt = np.unique(np.round(xt))
        xt = xt[(xt >= x0) & (xt <= x1)]
    xstep = float(xt[1] - xt[0]) if len(xt) > 1 else 1.0
    for v in xt:
        xx = int(round(px(v)))
        img[top:top + ph, xx] = (232, 232, 232)
        img[top + ph:top + ph + 4, xx] = im.INK
        im.draw_text(img, _tick_label(v, xstep) if not integer_x else str(int(v)),
                     top + ph + 6, xx, im.INK, anchor="center")
    im.rectangle(img, top, left, top + ph, left + pw, (120, 120, 120))
    im.draw_text(img, xlabel, height - 11, left + pw // 2, im.INK, anchor="center")
    # The legend goes into whichever right-hand corner the curves leave emptier.
    lw = max(im.text_size(label)[1] for label, *_ in series) + 30
    lh = 12 * len(series)
    pts_x = np.concatenate([px(s[1]) for s in series])
    pts_y = np.concatenate([py(s[2]) for s in series])
    lx = left + pw - lw - 6

    def crowd(ty: float) -> int:
        return int(np.sum((pts_x >= lx - 4) & (pts_y >= ty - 4) & (pts_y <= ty + lh + 4)))

    legend_top = min((top + 6, top + ph - lh - 6), key=crowd)
    for _, x, y, color in series:
        ok = np.isfinite(y) & (y >= y0) & (y <= y1)
        cx, cy = px(x[ok]), py(y[ok])
        for k in range(len(cx) - 1):
            im.line(img, cy[k], cx[k], cy[k + 1], cx[k + 1], color, width=2)
        im.dots(img, cy, cx, np.array([color] * len(cx)), radius=2.0, edge=None)
    for label, _, _, color in series:
        im.line(img, legend_top + 3, lx, legend_top + 3, lx + 16, color, width=2)
        im.draw_text(img, label, legend_top, lx + 22, im.INK)
        legend_top += 12
    return img


def _split_colors(splits: Iterable[str]) -> dict[str, im.Color]:
    order = ["train", "test", "val"]
    names = sorted(set(splits), key=lambda s: (order.index(s) if s in order else 9, s))
    return {s: _SPLIT_COLORS[k % len(_SPLIT_COLORS)] for k, s in enumerate(names)}


def history_image(history: Sequence[Record] | str | os.PathLike, *, title: str | None = None
                  ) -> np.ndarray:
    """Loss and accuracy (in %) per epoch, train and test side by side, as an RGB picture."""
    records = read_history(history) if isinstance(history, str | os.PathLike) else history
    series = history_series(records)
    if not series:
        raise ValueError("history_image: no *_loss or *_accuracy values in the history")
    colors = _split_colors(s for m in series.values() for s in m)
    panels = []
    for metric, splits in series.items():
        scale = 100.0 if metric == "accuracy" else 1.0
        lines = [(s, xs, ys * scale, colors[s]) for s, (xs, ys) in splits.items()]
        label = "accuracy (%)" if metric == "accuracy" else metric
        panels.append(line_chart(lines, title=label, xlabel="epoch"))
    body = im.stack_horizontal(panels, gap=8)
    parts = [body] if not title else [im.pad_image(im.text_image(title, 2), 4, 4, 8), body]
    return im.pad_image(im.stack_vertical(parts), 4, 4, 4, 4)


def plot_history(history: Sequence[Record] | str | os.PathLike, *, title: str | None = None
                 ) -> Any:
    """Loss and accuracy curves (train and test) as a matplotlib figure."""
    plt = require_matplotlib()
    records = read_history(history) if isinstance(history, str | os.PathLike) else history
    series = history_series(records)
    if not series:
        raise ValueError("plot_history: no *_loss or *_accuracy values in the history")
    fig, axes = plt.subplots(1, len(series), figsize=(5.2 * len(series), 3.6), squeeze=False)
    colors = _split_colors(s for m in series.values() for s in m)
    for ax, (metric, splits) in zip(axes[0], series.items(), strict=True):
        scale = 100.0 if metric == "accuracy" else 1.0
        for split, (xs, ys) in splits.items():
            ax.plot(xs, ys * scale, marker="o", ms=3, label=split,
                    color=tuple(c / 255 for c in colors[split]))
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)" if metric == "accuracy" else metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------ confusion matrix
def confusion_matrix(model: nn.Module, data: Iterable[Any], num_classes: int | None = None
                     ) -> np.ndarray:
    """(classes, classes) counts: row = true class, column = predicted (the largest output).

    `data` yields (inputs, targets) batches (a DataLoader); eval mode, no gradients.
    """
    trues, preds = [], []
    with no_grad(), _eval(model):
        for x, y in data:
            out = model(x if isinstance(x, Tensor) else from_numpy(np.asarray(x)))
            preds.append(np.argmax(out.detach().numpy(), axis=-1).ravel())
            trues.append((y.detach().numpy() if isinstance(y, Tensor) else np.asarray(y)).ravel())
    if not trues:
        raise ValueError("confusion_matrix: the data yielded no batches")
    return confusion_from_labels(np.concatenate(trues), np.concatenate(preds), num_classes)


def confusion_from_labels(y_true: np.ndarray, y_pred: np.ndarray,
                          num_classes: int | None = None) -> np.ndarray:
    """(classes, classes) counts of (true, predicted) label pairs."""
    t, p = np.asarray(y_true, np.int64).ravel(), np.asarray(y_pred, np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"confusion_from_labels: {t.size} true labels but {p.size} predictions")
    k = int(max(t.max(initial=-1), p.max(initial=-1)) + 1) if num_classes is None else num_classes
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= k):
        raise ValueError(f"confusion_from_labels: labels must lie in [0, {k}), got "
                         f"{min(t.min(), p.min())}…{max(t.max(), p.max())}")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def confusion_image(matrix: np.ndarray, labels: Sequence[str] | None = None, *,
                    title: str | None = None, cell: int = 40) -> np.ndarray:
    """The matrix as coloured cells (shade: fraction of the true class), each with its count;
    a last column gives each class's accuracy (recall)."""
    m = np.asarray(matrix)
    k = m.shape[0]
    names = list(labels) if labels is not None else [str(i) for i in range(k)]
    rows = np.maximum(m.sum(axis=1, keepdims=True), 1)
    frac = m / rows
    label_w = max(im.text_size(n)[1] for n in names) + 8
    recall_w = im.text_size("100.0%")[1] + 10
    head_h = 40
    img = im.canvas(head_h + k * cell + 26, 22 + label_w + k * cell + recall_w + 4)
    x0, y0 = 22 + label_w, head_h
    shades = im.colorize(np.sqrt(frac), "blues", 0.0, 1.0)  # sqrt: small errors stay visible
    for i in range(k):
        for j in range(k):
            top, left = y0 + i * cell, x0 + j * cell
            img[top:top + cell, left:left + cell] = shades[i, j]
            ink = im.WHITE if np.sqrt(frac[i, j]) > 0.55 else (
                im.INK if m[i, j] else (190, 190, 190))
            text = str(int(m[i, j]))
            if im.text_size(text)[1] > cell - 2:
                text = im.format_number(float(m[i, j]))
            im.draw_text(img, text, top + cell // 2 - 4, left + cell // 2, ink, anchor="center")
        im.draw_text(img, names[i], y0 + i * cell + cell // 2 - 4, x0 - 6, im.INK,
                     anchor="right")
        acc = m[i, i] / rows[i, 0]
        im.draw_text(img, f"{100 * acc:.1f}%", y0 + i * cell + cell // 2 - 4,
                     x0 + k * cell + 6, im.INK)
        im.draw_text(img, names[i], y0 - 12, x0 + i * cell + cell // 2, im.INK, anchor="center")
    im.rectangle(img, y0, x0, y0 + k * cell, x0 + k * cell, (120, 120, 120))
    im.draw_text(img, "predicted", y0 - 26, x0 + k * cell // 2, im.INK, anchor="center")
    im.draw_text(img, "true", y0 - 12, x0 - 6, im.INK, anchor="right")
    im.draw_text(img, "recall", y0 - 12, x0 + k * cell + 6, im.INK)
    total = int(m.sum())
    acc_all = np.trace(m) / max(total, 1)
    im.draw_text(img, f"{total} examples, accuracy {100 * acc_all:.2f}%", y0 + k * cell + 10,
                 x0, im.INK)
    parts = [img] if not title else [im.pad_image(im.text_image(title, 2), 4, 2, 4), img]
    return im.pad_image(im.stack_vertical(parts), 4, 4, 4, 4)


def plot_confusion(matrix: np.ndarray, labels: Sequence[str] | None = None, *,
                   title: str | None = None) -> Any:
    """The confusion matrix as a matplotlib figure (counts in the cells)."""
    plt = require_matplotlib()
    m = np.asarray(matrix)
    k = m.shape[0]
    frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(0.5 * k + 2.2, 0.5 * k + 1.6))
    ax.imshow(np.sqrt(frac), cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=7,
                    color="white" if np.sqrt(frac[i, j]) > 0.55 else "black")
    names = list(labels) if labels is not None else [str(i) for i in range(k)]
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"accuracy {100 * np.trace(m) / max(int(m.sum()), 1):.2f}%")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------- 2-D decision regions
def plane(X: np.ndarray, resolution: int = 200, margin: float = 0.25
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A resolution × resolution grid over the data's range widened by `margin` of its size:
    (xs, ys, points (resolution², 2)), row 0 at the largest y (the top of a picture)."""
    X = np.asarray(X, np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plane: expected 2-D points (N, 2), got shape {X.shape}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - margin * span, hi + margin * span
    xs = np.linspace(lo[0], hi[0], resolution)
    ys = np.linspace(hi[1], lo[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)


def _run(model: nn.Module | Callable[[Tensor], Tensor], points: np.ndarray,
         layer: str | None = None) -> np.ndarray:
    dtype: Any = np.float32
    if isinstance(model, nn.Module):
        dtype = next((p.detach().numpy().dtype for p in model.parameters()), np.float32)
    x = from_numpy(points.astype(dtype))
    with no_grad():
        if isinstance(model, nn.Module):
            with _eval(model):
                out = _forward_to(model, layer, x)
        else:
            out = model(x)
    return np.asarray(out.detach().numpy(), np.float64)


def class_probabilities(outputs: np.ndarray) -> np.ndarray:
    """(N, classes) probabilities from a model's outputs: one output is read as P(class 1) when
    all values lie in [0, 1] (a sigmoid unit, as the lecture's XOR network) and as a logit
    otherwise; several outputs are logits (softmax)."""
    out = outputs.reshape(len(outputs), -1)
    if out.shape[1] == 1:
        p = out[:, 0] if out.min() >= 0 and out.max() <= 1 else 1 / (1 + np.exp(-out[:, 0]))
        return np.stack([1 - p, p], axis=1)
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _to_pixels(X: np.ndarray, xs: np.ndarray, ys: np.ndarray, res: int
               ) -> tuple[np.ndarray, np.ndarray]:
    cols = (X[:, 0] - xs[0]) / (xs[-1] - xs[0]) * (res - 1)
    rows = (X[:, 1] - ys[0]) / (ys[-1] - ys[0]) * (res - 1)
    return rows, cols


def _region_colors(probs: np.ndarray, res: int) -> np.ndarray:
    k = probs.shape[1]
    if k == 2:
        # Blue for class 0, red for class 1, white where the model is unsure; pale enough for
        # the data points to stand out.
        rgb = im.colorize(probs[:, 1].reshape(res, res), "diverging", -0.1, 1.1)
        return (rgb * 0.6 + 255 * 0.4 + 0.5).astype(np.uint8)
    base = np.array([_CLASS_COLORS[c % len(_CLASS_COLORS)] for c in range(k)], np.float64)
    win = probs.argmax(axis=1)
    conf = (probs.max(axis=1) - 1 / k) / (1 - 1 / k)
    mix = 0.25 + 0.45 * conf[:, None]
    rgb = base[win] * mix + 255 * (1 - mix)
    return (rgb.reshape(res, res, 3) + 0.5).astype(np.uint8)


def decision_regions_image(model: nn.Module | Callable[[Tensor], Tensor], X: np.ndarray,
                           y: np.ndarray | None = None, *, resolution: int = 400,
                           margin: float = 0.25, title: str | None = None) -> np.ndarray:
    """A 2-D model's prediction over the plane, the decision boundary in black and the data
    points on top (coloured by their class, white rim).

    Two classes: the shade is P(class 1), blue (class 0) through white (0.5) to red (class 1).
    More: each class its own colour, paler where the model is less sure.
    """
    X = np.asarray(X, np.float64)
    xs, ys, pts = plane(X, resolution, margin)
    probs = class_probabilities(_run(model, pts))
    img = _region_colors(probs, resolution)
    win = probs.argmax(axis=1).reshape(resolution, resolution)
    edge = np.zeros(win.shape, np.bool_)
    edge[:-1] |= win[:-1] != win[1:]
    edge[:, :-1] |= win[:, :-1] != win[:, 1:]
    img[edge] = (40, 40, 40)
    if y is not None:
        rows, cols = _to_pixels(X, xs, ys, resolution)
        lab = np.asarray(y).astype(np.int64).ravel()
        k = max(probs.shape[1], int(lab.max()) + 1)
        colors = np.array([_point_color(int(c), k) for c in lab], np.uint8)
        im.dots(img, rows, cols, colors, radius=3.5, edge=im.WHITE)
    im.rectangle(img, 0, 0, img.shape[0], img.shape[1], (120, 120, 120))
    framed = _with_axes(img, xs, ys)
    acc = "" if y is None else (
        f", training accuracy "
        f"{100 * np.mean(class_probabilities(_run(model, X)).argmax(axis=1) == y):.1f}%")
    head = title if title is not None else f"decision regions{acc}"
    return im.pad_image(im.stack_vertical([im.pad_image(im.text_image(head, 2), 4, 6), framed]),
                        4, 4, 4, 4)


def _point_color(c: int, k: int) -> im.Color:
    if k == 2:
        return ((5, 48, 97), (103, 0, 31))[c]
    r, g, b = _CLASS_COLORS[c % len(_CLASS_COLORS)]
    return int(r * 0.7), int(g * 0.7), int(b * 0.7)


def _with_axes(img: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Tick labels for the plane's range under and left of a picture."""
    h, w = img.shape[:2]
    xt, yt = _nice_ticks(xs[0], xs[-1], 5), _nice_ticks(ys[-1], ys[0], 5)
    xstep = float(xt[1] - xt[0]) if len(xt) > 1 else 1.0
    ystep = float(yt[1] - yt[0]) if len(yt) > 1 else 1.0
    ylabels = [_tick_label(v, ystep) for v in yt]
    left = max(im.text_size(s)[1] for s in ylabels) + 8
    out = im.canvas(h + 16, left + w + 8)
    im.paste(out, img, 0, left)
    for v in xt:
        x = left + int(round((v - xs[0]) / (xs[-1] - xs[0]) * (w - 1)))
        out[h:h + 3, x] = im.INK
        im.draw_text(out, _tick_label(v, xstep), h + 5, x, im.INK, anchor="center")
    for v, s in zip(yt, ylabels, strict=True):
        yy = int(round((ys[0] - v) / (ys[0] - ys[-1]) * (h - 1)))
        out[yy, left - 3:left] = im.INK
        im.draw_text(out, s, yy - 4, left - 5, im.INK, anchor="right")
    return out


def hidden_responses(model: nn.Module, X: np.ndarray, layer: str, resolution: int = 80,
                     margin: float = 0.25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each unit of `layer` over the plane: (xs, ys, responses (units, resolution, resolution))."""
    _module(model, layer)
    xs, ys, pts = plane(X, resolution, margin)
    out = _run(model, pts, layer)
    if out.ndim != 2:
        raise ValueError(f"hidden_responses: layer {layer!r} gives outputs of shape "
                         f"{out.shape[1:]} per point; expected (units,)")
    return xs, ys, out.T.reshape(-1, resolution, resolution)


def hidden_units_image(model: nn.Module, X: np.ndarray, layer: str,
                       y: np.ndarray | None = None, *, resolution: int = 160,
                       margin: float = 0.25, ncols: int | None = None,
                       title: str | None = None) -> np.ndarray:
    """Every unit of `layer` as a heat map over the input plane (blue negative, white zero,
    red positive, each on its own symmetric scale ±m, written under it), the data on top."""
    xs, ys, resp = hidden_responses(model, X, layer, resolution, margin)
    tiles = []
    for u, r in enumerate(resp):
        lo, hi = im.symmetric_limits(r)
        # Pale, as the decision regions, so that the data points stay visible.
        tile = (im.colorize(r, "diverging", lo, hi) * 0.7 + 255 * 0.3 + 0.5).astype(np.uint8)
        if y is not None:
            rows, cols = _to_pixels(np.asarray(X, np.float64), xs, ys, resolution)
            lab = np.asarray(y).astype(np.int64).ravel()
            k = int(lab.max()) + 1
            colors = np.array([_point_color(int(c), max(k, 2)) for c in lab], np.uint8)
            im.dots(tile, rows, cols, colors, radius=1.5, edge=im.WHITE)
        im.rectangle(tile, 0, 0, tile.shape[0], tile.shape[1], (120, 120, 120))
        tiles.append(_captioned_tile(tile, f"unit {u} (±{im.format_number(hi)})"))
    body = im.grid(tiles, ncols or min(len(tiles), 4), gap=8)
    head = title if title is not None else f"layer {layer}: each unit over the plane"
    return im.pad_image(im.stack_vertical([im.pad_image(im.text_image(head, 2), 4, 6), body]),
                        4, 4, 4, 4)


def _captioned_tile(tile: np.ndarray, text: str) -> np.ndarray:
    t = im.text_image(text)
    return im.stack_vertical([tile, im.pad_image(t[:, :tile.shape[1]], 3, 0)], align="center")


def plot_decision_regions(model: nn.Module | Callable[[Tensor], Tensor], X: np.ndarray,
                          y: np.ndarray | None = None, *, resolution: int = 200,
                          margin: float = 0.25, title: str | None = None) -> Any:
    """Decision regions and data as a matplotlib figure."""
    plt = require_matplotlib()
    X = np.asarray(X, np.float64)
    xs, ys, pts = plane(X, resolution, margin)
    probs = class_probabilities(_run(model, pts))
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    extent = (xs[0], xs[-1], ys[-1], ys[0])
    ax.imshow(_region_colors(probs, resolution), extent=extent, interpolation="bilinear")
    ax.contour(xs, ys, probs.argmax(axis=1).reshape(resolution, resolution), levels=
               np.arange(probs.shape[1]) + 0.5, colors="k", linewidths=1)
    if y is not None:
        lab = np.asarray(y).astype(np.int64).ravel()
        k = max(probs.shape[1], int(lab.max()) + 1)
        colors = [tuple(v / 255 for v in _point_color(int(c), k)) for c in lab]
        ax.scatter(X[:, 0], X[:, 1], c=colors, s=18, edgecolors="white", linewidths=0.8)
    ax.set_title(title or "decision regions")
    fig.tight_layout()
    return fig


def plot_hidden_units(model: nn.Module, X: np.ndarray, layer: str, *, resolution: int = 100,
                      margin: float = 0.25) -> Any:
    """Each unit of `layer` over the plane, as a matplotlib figure."""
    plt = require_matplotlib()
    xs, ys, resp = hidden_responses(model, X, layer, resolution, margin)
    n = len(resp)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols, 2.4 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < n:
            lo, hi = im.symmetric_limits(resp[k])
            ax.imshow(resp[k], cmap="RdBu_r", vmin=lo, vmax=hi,
                      extent=(xs[0], xs[-1], ys[-1], ys[0]))
            ax.set_title(f"{layer} unit {k}", fontsize=9)
    fig.tight_layout()
    return fig
