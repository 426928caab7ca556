"""What units learn — the lecture's closing question, answered three ways.

* **First-layer features** (`layer_weights`, `filters_image`): "the better the input matches
  these weights, the more the feature activates", so a first layer's weights are pictures of
  what it looks for — an MLP's rows reshaped to 28×28, a convolution's kernels.
* **Top-activating inputs** (`top_activations`): higher-level weights are hard to read, so look
  at the dataset examples that activate a unit most; for a convolutional channel, the patch of
  the input its strongest position sees (its receptive field, from `receptive_field`).
* **Activation maximisation** (`maximize`): the input that gradient ascent finds for a unit, a
  channel or a class score, kept readable by an L2 penalty, total variation, random jitter and
  blurring every few steps.

Everything works on any chainrule model whose layers are named modules (`model.named_modules()`
names: 'c3' and 'f5' in LeNet-5, '1' and '3' in the lecture's MLP). Pictures are NumPy uint8
RGB arrays; `save_png` writes them without any other library, and the `plot_*` functions draw
the same things as matplotlib figures (the optional `plot` extra).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from chainrule import nn
from chainrule.autograd.engine import grad as autograd_grad
from chainrule.autograd.grad_mode import no_grad
from chainrule.inspect import _image as im
from chainrule.inspect.receptive_field import ReceptiveField, crop, receptive_field
from chainrule.ops import conv2d
from chainrule.tensor import Tensor, as_tensor, from_numpy

# ----------------------------------------------------------------------------- the model
_WEIGHTED = (nn.Linear, nn.Conv2d)


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the layer of interest has run."""


def _module(model: nn.Module, layer: str) -> nn.Module:
    modules = dict(model.named_modules())
    if layer not in modules or not layer:
        names = [n for n in modules if n]
        raise ValueError(f"no layer {layer!r} in the model; its layers are "
                         f"{', '.join(names) or '(none)'}")
    return modules[layer]


def layer_shapes(model: nn.Module, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """Output shape (per example) of every named module, from one forward pass of zeros."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []

    def recorder(name: str) -> Any:
        def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
            shapes[name] = tuple(getattr(output, "shape", (0,)))[1:]
        return hook

    for name, m in model.named_modules():
        if name:
            handles.append(m.register_forward_hook(recorder(name)))
    try:
        with no_grad(), _eval(model):
            model(_zeros_input(model, input_shape))
    finally:
        for h in handles:
            h.remove()
    return shapes


def _zeros_input(model: nn.Module, input_shape: Sequence[int]) -> Tensor:
    dtype = next((p.detach().numpy().dtype for p in model.parameters()), np.float32)
    return from_numpy(np.zeros((1, *input_shape), dtype))


def describe_layers(shapes: Mapping[str | None, tuple[int, ...]] | Mapping[str, tuple[int, ...]]
                    ) -> str:
    """'c1 (6 channels of 28×28), …, f5 (120 units)': what `--layer` and `--unit` can be (the
    model's output, key None, left out)."""
    parts = []
    for name, s in shapes.items():
        if name is None:
            continue
        if len(s) == 3:
            parts.append(f"{name} ({s[0]} channels of {s[1]}×{s[2]})")
        elif len(s) == 1:
            parts.append(f"{name} ({s[0]} units)")
        else:
            parts.append(f"{name} (output {s})")
    return ", ".join(parts)


def check_unit(model: nn.Module, layer: str | None, unit: int | Sequence[int],
               input_shape: Sequence[int]) -> tuple[int, ...]:
    """The layer's output shape per example; ValueError naming the layers and unit counts that
    exist when `layer` or a unit does not. layer None is the model's output. One forward pass
    of a single zero example."""
    shapes: dict[str | None, tuple[int, ...]] = {
        k: v for k, v in layer_shapes(model, input_shape).items()}
    with no_grad(), _eval(model):
        shapes[None] = tuple(model(_zeros_input(model, input_shape)).shape[1:])
    return _check_units(shapes, layer, unit)


def _check_units(shapes: dict[str | None, tuple[int, ...]], layer: str | None,
                 units: int | Sequence[int]) -> tuple[int, ...]:
    if layer not in shapes:
        raise ValueError(f"no layer {layer!r}; layers: {describe_layers(shapes)}")
    shape = shapes[layer]
    what = "the model's output" if layer is None else f"layer {layer!r}"
    if len(shape) not in (1, 3):
        raise ValueError(f"{what} gives outputs of shape {shape} per example; units are read "
                         f"from (features,) or (channels, height, width) outputs")
    for unit in _unit_list(units):
        if not 0 <= unit < shape[0]:
            kind = "channels" if len(shape) == 3 else "units"
            raise ValueError(f"{what} has {shape[0]} {kind} (0–{shape[0] - 1}), got unit "
                             f"{unit}")
    return shape


class _eval:
    """Eval mode for the duration of a `with` block, then the previous mode."""

    def __init__(self, model: nn.Module) -> None:
        self.model, self.was = model, model.training

    def __enter__(self) -> nn.Module:
        return self.model.eval()

    def __exit__(self, *exc: Any) -> None:
        self.model.train(self.was)


def _forward_to(model: nn.Module, layer: str | None, x: Tensor) -> Tensor:
    """The output of `layer` (the model's output when None), stopping the forward pass there."""
    if layer is None:
        return model(x)
    captured: list[Tensor] = []

    def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
        captured.append(output)
        raise _Stop

    handle = _module(model, layer).register_forward_hook(hook)
    try:
        model(x)
    except _Stop:
        pass
    finally:
        handle.remove()
    if not captured:
        raise ValueError(f"layer {layer!r} did not run in the model's forward pass")
    return captured[0]


# ------------------------------------------------------------------- first-layer features
def first_layer(model: nn.Module) -> str:
    """The name of the first fully connected or convolutional layer."""
    for name, m in model.named_modules():
        if name and isinstance(m, _WEIGHTED):
            return name
    raise ValueError("first_layer: the model has no Linear or Conv2d layer")


def _image_shape(n: int) -> tuple[int, int, int]:
    for c in (1, 3):
        side = math.isqrt(n // c)
        if n % c == 0 and side * side * c == n:
            return c, side, side
    raise ValueError(f"layer_weights: {n} inputs are not a square image; pass image_shape="
                     f"(channels, height, width)")


def layer_weights(model: nn.Module, layer: str | None = None,
                  image_shape: Sequence[int] | None = None) -> np.ndarray:
    """A layer's weights as pictures, (units, channels, height, width).

    A Linear layer's rows are reshaped to `image_shape` (default: a square grey image, or a
    square RGB one, e.g. 784 → (1, 28, 28)); a Conv2d layer's kernels are (out, in, kh, kw)
    already. `layer` defaults to the first Linear or Conv2d layer.
    """
    name = first_layer(model) if layer is None else layer
    m = _module(model, name)
    if not isinstance(m, _WEIGHTED):
        raise ValueError(f"layer {name!r} is a {type(m).__name__}; weights are pictured for "
                         f"Linear and Conv2d layers")
    w = m.weight.detach().numpy()
    if isinstance(m, nn.Conv2d):
        return w.copy()
    shape = tuple(image_shape) if image_shape is not None else _image_shape(w.shape[1])
    if int(np.prod(shape)) != w.shape[1] or len(shape) != 3:
        raise ValueError(f"layer {name!r} has {w.shape[1]} inputs per unit; image_shape "
                         f"{shape} holds {int(np.prod(shape))}")
    return w.reshape(w.shape[0], *shape).copy()


def _auto_zoom(h: int, w: int, target: int = 60) -> int:
    return max(1, -(-target // max(h, w)))


def _header(text: str, width: int) -> np.ndarray:
    return im.pad_image(im.text_image(text, scale=2), 4, 6, 4, max(0, width - 8
                        - im.text_size(text, 2)[1]))


def filters_image(model: nn.Module, layer: str | None = None, *, scale: str = "shared",
                  cmap: str = "diverging", ncols: int | None = None, zoom: int | None = None,
                  image_shape: Sequence[int] | None = None, labels: bool | None = None,
                  title: str | None = None, clip: float = 99.5) -> np.ndarray:
    """A grid of a layer's weights (default: the first layer) as an RGB picture.

    `scale` 'shared' uses one colour scale for every tile (their strengths compare), 'tile'
    stretches each tile to its own scale (their patterns show best). A scale runs from −m to m
    with m the `clip` percentile of |weight| (100: the largest), so a few outliers do not wash
    the rest out; weights beyond it saturate. `cmap`
    'diverging' (blue negative, white zero, red positive) or 'gray'. Kernels with three input
    channels are drawn in colour (zero weight grey); other multi-channel kernels get one tile
    per (output, input) channel pair, a row per output unit.
    """
    if scale not in ("shared", "tile"):
        raise ValueError(f"filters_image: scale must be 'shared' or 'tile', got {scale!r}")
    name = first_layer(model) if layer is None else layer
    w = layer_weights(model, name, image_shape)
    units, c, h, wd = w.shape
    # Many tiles (an MLP's 256 rows) are drawn smaller than a few kernels.
    n_tiles = units * c
    z = zoom or _auto_zoom(h, wd, target=80 if n_tiles <= 16 else 60 if n_tiles <= 64 else 40)

    def limits(v: np.ndarray) -> tuple[float, float]:
        m = float(np.percentile(np.abs(v), clip))
        return (-m, m) if m > 0 else im.symmetric_limits(v)

    shared = limits(w)
    tiles: list[np.ndarray] = []
    if c == 3:
        for k in range(units):
            m = shared[1] if scale == "shared" else limits(w[k])[1]
            tiles.append(im.as_uint8(0.5 + np.transpose(w[k], (1, 2, 0)) / (2 * m)))
        cols = ncols or _columns(units)
        names = [str(k) for k in range(units)]
    else:
        flat = w.reshape(units * c, h, wd)
        for t in flat:
            lo, hi = shared if scale == "shared" else limits(t)
            tiles.append(im.colorize(t, cmap, lo, hi))
        cols = ncols or (c if c > 1 else _columns(units))
        names = [f"{k // c}.{k % c}" if c > 1 else str(k) for k in range(units * c)]
    tiles = [im.zoom(t, z) for t in tiles]
    show = labels if labels is not None else len(tiles) <= 64
    if show:  # white gaps would merge with white (zero) weights: frame each tile
        tiles = [im.pad_image(t, 1, 1, 1, 1, (150, 150, 150)) for t in tiles]
    if show:
        tiles = [_captioned(t, [n]) for t, n in zip(tiles, names, strict=True)]
    body = im.grid(tiles, cols, gap=3 if show else 2, border=0, background=(255, 255, 255)
                   if show else (96, 96, 96))
    shape_text = f"{c}×{h}×{wd}"
    head = title if title is not None else (
        f"{name}: {units} {'filters' if isinstance(_module(model, name), nn.Conv2d) else 'units'}"
        f" ({shape_text}), {scale} scale")
    parts = [_header(head, body.shape[1]), body]
    if scale == "shared" and c != 3:
        lo, hi = shared
        parts.append(im.pad_image(im.colorbar(cmap, lo, hi, min(body.shape[1], 320),
                                              scale=1), 8, 4))
    return im.pad_image(im.stack_vertical(parts), 4, 4, 4, 4)


def _columns(n: int) -> int:
    """A near-square grid, wider than tall."""
    return n if n <= 10 else math.ceil(math.sqrt(n))


def _captioned(tile: np.ndarray, lines: Sequence[str], scale: int = 1) -> np.ndarray:
    parts = [tile]
    for text in lines:
        t = im.text_image(text, scale=scale)
        if t.shape[1] > tile.shape[1]:  # too wide for the tile: clip rather than distort
            t = t[:, :tile.shape[1]]
        parts.append(im.pad_image(t, 2, 0))
    return im.stack_vertical(parts, align="center")


# ------------------------------------------------------------------------------ the data
class _Inputs:
    """Batches of model inputs by index from an array, a tensor, a dataset or a DataLoader
    (whose dataset and transform are used; its shuffling is not)."""

    def __init__(self, data: Any) -> None:
        self.transform = None
        if hasattr(data, "dataset") and hasattr(data, "batch_size") and not hasattr(
                data, "get_batch"):
            self.transform, data = getattr(data, "transform", None), data.dataset
        if isinstance(data, Tensor):
            data = data.detach().numpy()
        self.data = data
        self.array = data if isinstance(data, np.ndarray) else None
        if self.array is not None and self.array.ndim < 2:
            raise ValueError(f"expected inputs of shape (N, ...), got {self.array.shape}")

    def __len__(self) -> int:
        return len(self.data)

    def fetch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(inputs, targets or None) at `indices`."""
        from chainrule.data.dataset import apply_transform, get_batch

        if self.array is not None:
            return np.asarray(self.array[indices]), None
        batch = get_batch(self.data, indices)
        x, y = (batch[0], batch[1] if len(batch) > 1 else None) if isinstance(
            batch, tuple | list) else (batch, None)
        if self.transform is not None:
            x = apply_transform(self.transform, x)
        x = x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)
        if y is not None:
            y = y.detach().numpy() if isinstance(y, Tensor) else np.asarray(y)
        return x, y

    def batches(self, batch_size: int, limit: int | None = None
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = len(self) if limit is None else min(limit, len(self))
        for start in range(0, n, batch_size):
            idx = np.arange(start, min(start + batch_size, n))
            yield idx, self.fetch(idx)[0]


def _float_input(model: nn.Module, x: np.ndarray) -> Tensor:
    dtype = next((p.detach().numpy().dtype for p in model.parameters()), np.float32)
    return from_numpy(np.ascontiguousarray(x, dtype=dtype))


# ------------------------------------------------------------------ top-activating inputs
@dataclass
class TopActivations:
    """The k examples that activate one unit most, most active first.

    For a channel of a convolutional layer an example's activation is the channel's largest
    value over positions; `positions` says where (row, column of the layer's output) and
    `field` which input pixels that position sees, so `patches()` are the parts of the inputs
    that made the unit fire.
    """

    layer: str
    unit: int
    indices: np.ndarray          # (k,) positions in the dataset
    values: np.ndarray           # (k,) activations
    inputs: np.ndarray           # (k, *input_shape) the examples as the model saw them
    positions: np.ndarray | None = None   # (k, 2) for convolutional layers
    field: ReceptiveField | None = None   # None: each unit sees the whole input
    targets: np.ndarray | None = None     # (k,) labels, when the dataset has them

    @property
    def boxes(self) -> np.ndarray | None:
        """(k, 4) input boxes (top, bottom, left, right; half-open) of the strongest positions."""
        if self.positions is None or self.field is None:
            return None
        f = self.field
        return np.array([f.box(int(r), int(c)) for r, c in self.positions], np.int64).reshape(
            -1, 4)

    def patches(self, fill: float = np.nan) -> np.ndarray:
        """(k, C, rh, rw): each input cropped to the field of its strongest position (`fill`
        where the field hangs over the image); the whole inputs for global fields."""
        boxes = self.boxes
        if boxes is None:
            return self.inputs.astype(np.result_type(self.inputs.dtype, np.float32))
        return np.stack([crop(x, tuple(b), fill) for x, b in zip(self.inputs, boxes, strict=True)])


def _unit_list(units: int | Sequence[int]) -> list[int]:
    if isinstance(units, int | np.integer):
        return [int(units)]
    return [int(u) for u in units]


def _unit_scores(out: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(batch, units) activations and, for (N, C, H, W) outputs, (batch, units, 2) positions
    of each channel's first maximum (row-major)."""
    if out.ndim == 2:
        return out[:, units], None
    if out.ndim != 4:
        raise ValueError(f"top_activations: the layer's output has shape {out.shape}; expected "
                         f"(N, features) or (N, channels, height, width)")
    maps = out[:, units].reshape(out.shape[0], len(units), -1)
    where = np.argmax(maps, axis=2)
    values = np.take_along_axis(maps, where[..., None], axis=2)[..., 0]
    return values, np.stack(np.unravel_index(where, out.shape[2:]), axis=-1)


@overload
def top_activations(model: nn.Module, data: Any, layer: str, units: int, k: int = ...,
                    batch_size: int = ..., limit: int | None = ...) -> TopActivations: ...


@overload
def top_activations(model: nn.Module, data: Any, layer: str, units: Sequence[int] | None,
                    k: int = ..., batch_size: int = ..., limit: int | None = ...
                    ) -> list[TopActivations]: ...


def top_activations(model: nn.Module, data: Any, layer: str,
                    units: int | Sequence[int] | None = None, k: int = 9,
                    batch_size: int = 500, limit: int | None = None
                    ) -> TopActivations | list[TopActivations]:
    """The k examples of `data` that activate each of `units` of `layer` most.

    One batched pass over `data` (an (N, …) array or tensor, a dataset, or a DataLoader —
    its dataset in order, with its transform), or over its first `limit` examples; the forward
    pass stops at `layer`. `units` is one unit (gives one result), a list, or None for all of
    the layer's units or channels. Ties go to the earlier example. The model runs in eval mode.
    """
    if k < 1:
        raise ValueError(f"top_activations: k must be >= 1, got {k}")
    src = _Inputs(data)
    n = len(src) if limit is None else min(limit, len(src))
    if n == 0:
        raise ValueError("top_activations: the data holds no examples")
    first, _ = src.fetch(np.arange(1))
    shapes: dict[str | None, tuple[int, ...]] = {
        k: v for k, v in layer_shapes(model, first.shape[1:]).items()}
    if layer not in shapes:
        raise ValueError(f"no layer {layer!r}; layers: {describe_layers(shapes)}")
    count = shapes[layer][0] if shapes[layer] else 0
    single = isinstance(units, int | np.integer)
    unit_list = list(range(count)) if units is None else _unit_list(units)
    _check_units(shapes, layer, unit_list)
    us = np.array(unit_list, np.int64)
    kk = min(k, n)
    best_v = np.full((len(us), 0), -np.inf)
    best_i = np.zeros((len(us), 0), np.int64)
    best_p: np.ndarray | None = None
    with no_grad(), _eval(model):
        for idx, x in src.batches(batch_size, n):
            out = _forward_to(model, layer, _float_input(model, x)).detach().numpy()
            v, p = _unit_scores(out, us)
            cand_v = np.concatenate([best_v, v.T.astype(np.float64)], axis=1)
            cand_i = np.concatenate([best_i, np.broadcast_to(idx, (len(us), len(idx)))], axis=1)
            # Rank by value (largest first), then by dataset index (earliest first).
            order = np.lexsort((cand_i, -cand_v), axis=1)[:, :kk]
            if p is not None:
                cand_p = p.transpose(1, 0, 2) if best_p is None else np.concatenate(
                    [best_p, p.transpose(1, 0, 2)], axis=1)
                best_p = np.take_along_axis(cand_p, order[..., None], axis=1)
            best_v = np.take_along_axis(cand_v, order, axis=1)
            best_i = np.take_along_axis(cand_i, order, axis=1)
    rf = receptive_field(model, layer, first.shape[1:]) if best_p is not None else None
    results = []
    for j, u in enumerate(unit_list):
        inputs, targets = src.fetch(best_i[j])
        results.append(TopActivations(
            layer, u, best_i[j].copy(), best_v[j].copy(), np.asarray(inputs),
            None if best_p is None else best_p[j].copy(), rf,
            None if targets is None else np.asarray(targets)))
    return results[0] if single else results


def _display_range(x: np.ndarray) -> tuple[float, float]:
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def _image_tile(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """A (C, H, W) input as an RGB tile: grey for one channel, colour for three, the first
    channel otherwise; NaN (outside the image) in the OUTSIDE colour."""
    if x.shape[0] == 3:
        t = (np.transpose(x, (1, 2, 0)) - lo) / (hi - lo if hi > lo else 1.0)
        tile = im.as_uint8(t)
        tile[np.isnan(x).any(axis=0)] = im.OUTSIDE
        return tile
    return im.colorize(x[0], "gray", lo, hi)


def top_activations_image(results: TopActivations | Sequence[TopActivations], *,
                          mode: str = "auto", zoom: int | None = None,
                          title: str | None = None) -> np.ndarray:
    """Each unit's top inputs as a row of tiles, each captioned with its activation (and the
    example's label, when known).

    `mode` 'patch' crops convolutional units' inputs to the receptive field of the strongest
    position (tan where the field hangs over the image), 'image' shows whole inputs with that
    field outlined in orange, 'auto' is 'patch' for convolutional layers. Tiles share the grey
    scale of the whole inputs they come from, so a patch's black is the image's black.
    """
    rows = [results] if isinstance(results, TopActivations) else list(results)
    if not rows:
        raise ValueError("top_activations_image: no results")
    if mode not in ("auto", "patch", "image"):
        raise ValueError(f"top_activations_image: mode must be 'auto', 'patch' or 'image', "
                         f"got {mode!r}")
    row_images = []
    label_w = max(im.text_size(f"{r.layer} #{r.unit}", 2)[1] for r in rows) + 12
    for r in rows:
        use_patch = r.boxes is not None and mode in ("auto", "patch")
        pics = r.patches() if use_patch else r.inputs
        h, w = pics.shape[-2:]
        z = zoom or _auto_zoom(h, w)
        tiles = []
        for j in range(len(r.indices)):
            lo, hi = _display_range(r.inputs[j])
            tile = im.zoom(_image_tile(pics[j], lo, hi), z)
            if not use_patch and r.boxes is not None and mode != "patch":
                t, b, lft, rt = (int(v) * z for v in r.boxes[j])
                im.rectangle(tile, t, lft, b, rt, (255, 140, 0), width=max(1, z // 2))
            caption = [im.format_number(float(r.values[j]))]
            if r.targets is not None:
                caption.append(f"label {int(r.targets[j])}")
            tiles.append(_captioned(tile, caption))
        strip = im.grid(tiles, len(tiles), gap=4)
        name = im.text_image(f"{r.layer} #{r.unit}", scale=2)
        row_images.append(im.stack_horizontal([im.pad_image(name, 0, 0, 0, label_w
                                                            - name.shape[1]), strip],
                                              align="center"))
    body = im.stack_vertical(row_images, gap=10)
    first = rows[0]
    what = "receptive-field patches" if first.boxes is not None and mode != "image" else "inputs"
    head = title if title is not None else f"top-{len(first.indices)} {what} by activation"
    return im.pad_image(im.stack_vertical([_header(head, body.shape[1]), body]), 4, 4, 4, 4)


# ---------------------------------------------------------------- activation maximisation
def l2_penalty(x: Tensor) -> Tensor:
    """½‖x‖² (summed over everything): its gradient x pulls the image towards zero (decay)."""
    return 0.5 * (x * x).sum()


def total_variation(x: Tensor, p: float = 2.0) -> Tensor:
    """Σ |x[…, i+1, j] − x[…, i, j]|^p + Σ |x[…, i, j+1] − x[…, i, j]|^p over the last two
    axes: small for smooth images. p=2 (the default) is smooth everywhere; p=1 is the classic
    anisotropic total variation, which keeps edges sharp."""
    if x.ndim < 2:
        raise ValueError(f"total_variation: expected an image (…, H, W), got shape {x.shape}")
    dh = x[..., 1:, :] - x[..., :-1, :]
    dw = x[..., :, 1:] - x[..., :, :-1]
    if p == 2:
        return (dh * dh).sum() + (dw * dw).sum()
    if p == 1:
        return dh.abs().sum() + dw.abs().sum()
    return (dh.abs() ** p).sum() + (dw.abs() ** p).sum()


def jitter(x: Tensor, dy: int, dx: int) -> Tensor:
    """x rolled by (dy, dx) pixels over its last two axes, wrapping around (torch.roll with
    dims=(-2, -1)); the gradient rolls back."""
    h, w = x.shape[-2:]
    rows = (np.arange(h) - dy) % h
    cols = (np.arange(w) - dx) % w
    return x[(..., rows[:, None], cols[None, :])]


def gaussian_kernel(sigma: float, size: int | None = None) -> np.ndarray:
    """A normalised (size, size) Gaussian; size defaults to 2·⌈3σ⌉ + 1."""
    if sigma <= 0:
        raise ValueError(f"gaussian_kernel: sigma must be positive, got {sigma}")
    size = size or 2 * math.ceil(3 * sigma) + 1
    r = (np.arange(size) - (size - 1) / 2) / sigma
    g = np.exp(-0.5 * r * r)
    k = np.outer(g, g)
    return k / k.sum()


def gaussian_blur(x: Tensor, sigma: float, size: int | None = None) -> Tensor:
    """Each channel of (N, C, H, W) x convolved with a Gaussian, borders reflected (as
    torchvision's gaussian_blur: reflect padding, no edge repeat)."""
    if x.ndim != 4:
        raise ValueError(f"gaussian_blur: expected (N, C, H, W), got shape {x.shape}")
    k = gaussian_kernel(sigma, size)
    r = k.shape[0] // 2
    h, w = x.shape[-2:]
    if r >= min(h, w):
        raise ValueError(f"gaussian_blur: a {k.shape[0]}×{k.shape[0]} kernel is too large for a "
                         f"{h}×{w} image (reflect padding needs radius < size)")
    rows = np.abs(np.arange(-r, h + r))
    rows = np.where(rows >= h, 2 * (h - 1) - rows, rows)
    cols = np.abs(np.arange(-r, w + r))
    cols = np.where(cols >= w, 2 * (w - 1) - cols, cols)
    padded = x[(..., rows[:, None], cols[None, :])]
    c = x.shape[1]
    weight = as_tensor(np.broadcast_to(k, (c, 1, *k.shape)).astype(x.dtype))
    return conv2d(padded, weight, groups=c)


@dataclass
class Maximized:
    """An input found by gradient ascent for one unit; `history` is the objective (the unit's
    activation, penalties left out) at each step, `start` and `value` that of the initial and
    the final input, both without jitter."""

    layer: str | None            # None: a class score (the model's output)
    unit: int
    image: np.ndarray            # (*input_shape) in the model's input space
    history: np.ndarray          # (steps,)
    start: float
    value: float
    settings: dict[str, Any] = field(default_factory=dict)


def _objective(out: Tensor, units: np.ndarray, position: tuple[int, int] | None) -> Tensor:
    """(batch,) the activation of unit units[i] for example i: a feature, a channel's mean over
    positions, or the channel's value at `position`."""
    rows = np.arange(len(units))
    if out.ndim == 2:
        return out[rows, units]
    if out.ndim != 4:
        raise ValueError(f"maximize: the layer's output has shape {out.shape}; expected "
                         f"(N, features) or (N, channels, height, width)")
    if position is not None:
        return out[rows, units, position[0], position[1]]
    return out[rows, units].mean(axis=(1, 2))


@overload
def maximize(model: nn.Module, input_shape: Sequence[int], units: int,
             layer: str | None = ..., *, steps: int = ..., lr: float = ..., l2: float = ...,
             tv: float = ..., tv_p: float = ..., jitter_px: int = ..., blur_every: int = ...,
             blur_sigma: float = ..., bounds: tuple[float, float] | None = ...,
             init_std: float = ..., init: np.ndarray | None = ...,
             position: tuple[int, int] | None = ..., seed: int = ...
             ) -> Maximized: ...


@overload
def maximize(model: nn.Module, input_shape: Sequence[int], units: Sequence[int],
             layer: str | None = ..., *, steps: int = ..., lr: float = ..., l2: float = ...,
             tv: float = ..., tv_p: float = ..., jitter_px: int = ..., blur_every: int = ...,
             blur_sigma: float = ..., bounds: tuple[float, float] | None = ...,
             init_std: float = ..., init: np.ndarray | None = ...,
             position: tuple[int, int] | None = ..., seed: int = ...
             ) -> list[Maximized]: ...


def maximize(model: nn.Module, input_shape: Sequence[int], units: int | Sequence[int],
             layer: str | None = None, *, steps: int = 300, lr: float = 0.05, l2: float = 1e-3,
             tv: float = 2e-2, tv_p: float = 2.0, jitter_px: int = 1, blur_every: int = 10,
             blur_sigma: float = 0.5, bounds: tuple[float, float] | None = None,
             init_std: float = 0.2, init: np.ndarray | None = None,
             position: tuple[int, int] | None = None, seed: int = 0
             ) -> Maximized | list[Maximized]:
    """Inputs that maximise units of `layer` (None: the model's output, i.e. class scores) by
    gradient ascent on

        objective(x) − l2 · ½‖x‖² − tv · TV_p(x),

    with Adam (step size `lr`, torch's default betas) for `steps` steps. Each step rolls the
    input by a random (dy, dx) ∈ [−jitter_px, jitter_px]² first; every `blur_every` steps the
    input is blurred (Gaussian, `blur_sigma` pixels); `bounds` (lo, hi) clips it to the valid
    input range after each step. A channel's objective is its mean over positions, or its
    value at `position`.

    Reproducible: the start (Gaussian noise of std `init_std`) is drawn from (seed, unit) and
    the jitter from seed alone, so a unit gets the same image whether it is optimised alone or
    with others (several units are optimised together, one example each). Eval mode; the
    model's parameters and their .grad are left untouched.
    """
    single = isinstance(units, int | np.integer)
    unit_list = _unit_list(units)
    if not unit_list:
        raise ValueError("maximize: no units given")
    if steps < 0:
        raise ValueError(f"maximize: steps must be >= 0, got {steps}")
    check_unit(model, layer, unit_list, input_shape)
    dtype = next((p.detach().numpy().dtype for p in model.parameters()), np.float32)
    base = np.zeros(tuple(input_shape)) if init is None else np.asarray(init, np.float64)
    if base.shape != tuple(input_shape):
        raise ValueError(f"maximize: init has shape {base.shape}, expected {tuple(input_shape)}")
    start = np.stack([base + np.random.default_rng([seed, u]).normal(0.0, init_std, base.shape)
                      for u in unit_list]).astype(dtype)
    if bounds is not None:
        start = np.clip(start, *bounds)
    shifts = np.random.default_rng(seed).integers(-jitter_px, jitter_px + 1, size=(steps, 2)) \
        if jitter_px > 0 else np.zeros((steps, 2), np.int64)
    us = np.array(unit_list, np.int64)
    history = np.zeros((steps, len(us)))
    spatial = len(input_shape) == 3

    def objective(inp: Tensor) -> Tensor:
        return _objective(_forward_to(model, layer, inp), us, position)

    # Adam (torch's defaults β = (0.9, 0.999), ε = 1e-8) stepping uphill. Each step starts from
    # a fresh leaf made from the current array: blurring and clipping then replace the array
    # instead of changing a tensor in place under the graph.
    x_np = start.copy()
    m1, m2 = np.zeros_like(x_np), np.zeros_like(x_np)
    b1, b2, eps = 0.9, 0.999, 1e-8
    with _eval(model):
        with no_grad():
            start_value = objective(from_numpy(start)).detach().numpy().astype(np.float64)
        for step in range(steps):
            x = from_numpy(x_np).requires_grad_()
            dy, dx = (int(s) for s in shifts[step])
            seen = jitter(x, dy, dx) if spatial and (dy or dx) else x
            obj = objective(seen)
            total = obj.sum()
            if l2:
                total = total - l2 * l2_penalty(x)
            if tv and spatial:
                total = total - tv * total_variation(x, tv_p)
            (g_t,) = autograd_grad(total, [x])
            assert g_t is not None
            g = g_t.detach().numpy()
            history[step] = obj.detach().numpy()
            m1 = b1 * m1 + (1 - b1) * g
            m2 = b2 * m2 + (1 - b2) * g * g
            t = step + 1
            x_np = (x_np + lr * (m1 / (1 - b1 ** t)) / (np.sqrt(m2 / (1 - b2 ** t)) + eps)
                    ).astype(dtype)
            if spatial and blur_every and t % blur_every == 0 and blur_sigma > 0:
                with no_grad():
                    x_np = gaussian_blur(from_numpy(x_np), blur_sigma).detach().numpy()
            if bounds is not None:
                x_np = np.clip(x_np, *bounds)
        with no_grad():
            final = from_numpy(x_np)
            value = objective(final).detach().numpy().astype(np.float64)
    settings = {"steps": steps, "lr": lr, "l2": l2, "tv": tv, "tv_p": tv_p,
                "jitter_px": jitter_px, "blur_every": blur_every, "blur_sigma": blur_sigma,
                "bounds": bounds, "init_std": init_std, "position": position, "seed": seed}
    image = x_np.copy()
    results = [Maximized(layer, u, image[j], history[:, j].copy(), float(start_value[j]),
                         float(value[j]), dict(settings)) for j, u in enumerate(unit_list)]
    return results[0] if single else results


def maximized_image(results: Maximized | Sequence[Maximized], *, ncols: int | None = None,
                    zoom: int | None = None, names: Sequence[str] | None = None,
                    title: str | None = None) -> np.ndarray:
    """The optimised inputs as a grid of grey (or colour) tiles, each stretched to its own
    range and captioned with its unit (or class) and the objective it reached."""
    rows = [results] if isinstance(results, Maximized) else list(results)
    if not rows:
        raise ValueError("maximized_image: no results")
    tiles = []
    for j, r in enumerate(rows):
        x = r.image if r.image.ndim == 3 else r.image.reshape(1, 1, -1)
        lo, hi = _display_range(x)
        z = zoom or _auto_zoom(x.shape[-2], x.shape[-1], target=84)
        label = names[j] if names is not None else (
            f"class {r.unit}" if r.layer is None else f"{r.layer} #{r.unit}")
        tiles.append(_captioned(im.zoom(_image_tile(x, lo, hi), z),
                                [label, f"{im.format_number(r.start)} to "
                                        f"{im.format_number(r.value)}"]))
    body = im.grid(tiles, ncols or _columns(len(tiles)), gap=6)
    r0 = rows[0]
    head = title if title is not None else (
        f"inputs maximising {'class scores' if r0.layer is None else r0.layer + ' units'}"
        f" ({r0.settings.get('steps')} steps)")
    return im.pad_image(im.stack_vertical([_header(head, body.shape[1]), body]), 4, 4, 4, 4)


# ------------------------------------------------------------------------- matplotlib side
def require_matplotlib() -> Any:
    """matplotlib.pyplot with a headless backend when no display is set; ImportError naming the
    extra when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("chainrule.inspect: drawing figures needs matplotlib: "
                          "pip install chainrule[plot]") from None
    import os

    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_of(image: np.ndarray, title: str | None = None, dpi: int = 100) -> Any:
    """A matplotlib figure showing a picture pixel for pixel."""
    plt = require_matplotlib()
    h, w = image.shape[:2]
    fig = plt.figure(figsize=(w / dpi, h / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(im.to_rgb(image), interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def plot_filters(model: nn.Module, layer: str | None = None, *, scale: str = "shared",
                 ncols: int | None = None, image_shape: Sequence[int] | None = None,
                 cmap: str = "RdBu_r", clip: float = 99.5) -> Any:
    """The first layer's (or `layer`'s) weights as a matplotlib figure with a colour bar (the
    scales as in `filters_image`)."""
    plt = require_matplotlib()
    name = first_layer(model) if layer is None else layer
    w = layer_weights(model, name, image_shape)
    units, c = w.shape[:2]
    tiles = [w[k, 0] for k in range(units)] if c != 3 else [w[k] for k in range(units)]
    cols = ncols or _columns(units)
    nrows = -(-units // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(1.1 * cols + 0.8, 1.1 * nrows + 0.4),
                             squeeze=False)
    def limit(v: np.ndarray) -> float:
        return float(np.percentile(np.abs(v), clip)) or 1.0

    hi = limit(w)
    shown = None
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= units:
            continue
        t = tiles[k]
        if c == 3:
            m = hi if scale == "shared" else limit(t)
            ax.imshow(np.clip(0.5 + np.transpose(t, (1, 2, 0)) / (2 * m), 0, 1))
        else:
            m = hi if scale == "shared" else limit(t)
            shown = ax.imshow(t, cmap=cmap, vmin=-m, vmax=m, interpolation="nearest")
        if units <= 64:
            ax.set_title(str(k), fontsize=8)
    if shown is not None and scale == "shared":
        fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8)
    fig.suptitle(f"{name}: {units} filters ({c}×{w.shape[2]}×{w.shape[3]})")
    return fig


def plot_top_activations(results: TopActivations | Sequence[TopActivations], *,
                         mode: str = "auto") -> Any:
    """`top_activations_image` as a matplotlib figure."""
    return figure_of(top_activations_image(results, mode=mode))


def plot_maximized(results: Maximized | Sequence[Maximized]) -> Any:
    """The optimised inputs and each one's objective over the steps, as a matplotlib figure."""
    plt = require_matplotlib()
    rows = [results] if isinstance(results, Maximized) else list(results)
    n = len(rows)
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n + 0.6, 3.6), squeeze=False,
                             gridspec_kw={"height_ratios": [1.3, 1]})
    for j, r in enumerate(rows):
        ax = axes[0, j]
        x = r.image if r.image.ndim == 3 else r.image.reshape(1, 1, -1)
        if x.shape[0] == 3:
            lo, hi = _display_range(x)
            ax.imshow(np.clip((np.transpose(x, (1, 2, 0)) - lo) / max(hi - lo, 1e-12), 0, 1))
        else:
            ax.imshow(x[0], cmap="gray", interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"class {r.unit}" if r.layer is None else f"{r.layer} #{r.unit}",
                     fontsize=9)
        axes[1, j].plot(r.history, lw=1)
        axes[1, j].tick_params(labelsize=7)
    axes[1, 0].set_ylabel("objective")
    fig.tight_layout()
    return fig

