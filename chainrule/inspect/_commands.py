"""`chainrule visualize` and `chainrule plot`: the command-line side of `features` and `plots`.

cli.py adds the parsers with `add_picture_parsers` and dispatches to `visualize_command` and
`plot_command`; it passes its checkpoint-to-model builder and the datasets' pixel statistics, so
a model is rebuilt exactly as `chainrule evaluate` rebuilds it. Mistakes raise ValueError (one
line on stderr from the CLI).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import nn
from chainrule.inspect import _image as im
from chainrule.inspect import features as F
from chainrule.inspect import plots as P

WHAT = ("filters", "top-inputs", "maximize", "confusion")
INPUT_SHAPE = (1, 28, 28)  # the MNIST-style datasets `chainrule train` trains on
_MAX_DEFAULT_UNITS = 16


def add_picture_parsers(subparsers: Any) -> None:
    """The `visualize` and `plot` subcommands' flags (cli.py adds them with this)."""
    v = subparsers.add_parser(
        "visualize", help="draw what a trained model's units learned",
        description="Pictures of a checkpoint written by `chainrule train`: the first layer's "
        "filters, the test images (or receptive-field patches) that activate units most, "
        "inputs optimised to maximise units or class scores, or the confusion matrix. A .png "
        "is drawn with NumPy alone; other suffixes (.svg, .pdf) need matplotlib.")
    v.add_argument("--checkpoint", required=True, metavar="PATH")
    v.add_argument("--what", required=True, choices=WHAT)
    v.add_argument("--layer", help="layer name, e.g. c3 or f5 (default: the first layer for "
                   "filters, the class scores for maximize; required for top-inputs)")
    v.add_argument("--unit", type=int, nargs="+", metavar="N",
                   help="unit or channel numbers (default: all, or the first 16)")
    v.add_argument("--k", type=int, default=9, help="top-inputs: examples per unit (9)")
    v.add_argument("--out", metavar="PATH", help="picture to write (default: WHAT.png)")
    v.add_argument("--scale", choices=("shared", "tile"), default="shared",
                   help="filters: one colour scale for all tiles, or one per tile")
    v.add_argument("--mode", choices=("auto", "patch", "image"), default="auto",
                   help="top-inputs: receptive-field patches or whole images with the field "
                   "outlined (auto: patches for convolutional layers)")
    v.add_argument("--steps", type=int, default=300, help="maximize: gradient-ascent steps")
    v.add_argument("--seed", type=int, default=0, help="maximize: random seed")
    v.add_argument("--split", choices=("test", "train"), default="test",
                   help="the dataset split searched or scored (default test)")
    v.add_argument("--limit", type=int, metavar="N", help="use only the first N examples")
    v.add_argument("--dataset", help="default: the one the model was trained on")
    v.add_argument("--data-root", metavar="DIR")
    v.add_argument("--no-download", action="store_true")
    v.add_argument("--matplotlib", action="store_true",
                   help="draw a matplotlib figure even for .png (needs chainrule[plot])")

    p = subparsers.add_parser(
        "plot", help="draw loss and accuracy curves from a --history file",
        description="Loss and accuracy per epoch (train and test) from the JSON-lines file "
        "`chainrule train --history` writes. A .png is drawn with NumPy alone; other "
        "suffixes (.svg, .pdf) need matplotlib.")
    p.add_argument("history", metavar="HISTORY", help="the --history file (JSON lines)")
    p.add_argument("--out", metavar="PATH", help="picture to write (default: HISTORY.png)")
    p.add_argument("--title", help="a title above the curves")
    p.add_argument("--matplotlib", action="store_true",
                   help="draw a matplotlib figure even for .png (needs chainrule[plot])")


def _figure_wanted(out: str, force: bool) -> bool:
    return force or Path(out).suffix.lower() != ".png"


def _save(out: str, image: np.ndarray | None, figure: Callable[[], Any] | None) -> str:
    Path(out).resolve().parent.mkdir(parents=True, exist_ok=True)
    if figure is not None:
        try:
            fig = figure()
        except ImportError as e:
            raise ValueError(f"{e} (or write a .png, which needs nothing)") from None
        fig.savefig(out, dpi=120, bbox_inches="tight")
        size = fig.get_size_inches() * 120
        import matplotlib.pyplot as plt

        plt.close(fig)
        return f"wrote {out} (matplotlib, about {int(size[0])}×{int(size[1])})"
    assert image is not None
    im.write_png(out, image)
    return f"wrote {out} ({image.shape[1]}×{image.shape[0]})"


def _units(args: argparse.Namespace, count: int) -> list[int]:
    return list(args.unit) if args.unit else list(range(min(count, _MAX_DEFAULT_UNITS)))


def visualize_command(args: argparse.Namespace,
                      load_trained: Callable[[str], tuple[nn.Module, dict[str, Any]]],
                      stats: Mapping[str, tuple[float, float]]) -> int:
    """`chainrule visualize`: rebuild the checkpoint's model (with `load_trained(path)`, which
    gives the model and its training config), draw the picture asked for, write it."""
    from chainrule.data import load_dataset, transforms

    if args.k < 1:
        raise ValueError(f"--k must be positive, got {args.k}")
    if args.steps < 1:
        raise ValueError(f"--steps must be positive, got {args.steps}")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be positive, got {args.limit}")
    out = args.out or f"{args.what}.png"
    figure = _figure_wanted(out, args.matplotlib)
    model, config = load_trained(args.checkpoint)
    dataset = args.dataset or config.get("dataset", "mnist")
    if dataset not in stats:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(stats)}")
    mean, std = stats[dataset]
    bounds = ((0 - mean) / std, (1 - mean) / std)  # pixels 0…1, normalised as in training
    shapes = F.layer_shapes(model, INPUT_SHAPE)
    name = config.get("model", "model")

    def data() -> Any:
        prep = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
        ds = load_dataset(dataset, train=args.split == "train", root=args.data_root,
                          download=not args.no_download, transform=prep)
        return ds

    image: np.ndarray | None = None
    draw: Callable[[], Any] | None = None
    if args.what == "filters":
        if args.unit:
            raise ValueError("--unit is not used with --what filters (every filter is drawn)")
        layer = args.layer or F.first_layer(model)
        if layer not in shapes:
            raise ValueError(f"no layer {layer!r}; layers: {F.describe_layers(shapes)}")
        if figure:
            def draw() -> Any:
                return F.plot_filters(model, layer, scale=args.scale)
        else:
            kind = "filters" if isinstance(F._module(model, layer), nn.Conv2d) else "units"
            image = F.filters_image(model, layer, scale=args.scale,
                                    title=f"{name} {layer}: {shapes[layer][0]} {kind}, "
                                    f"{args.scale} scale")
    elif args.what == "top-inputs":
        if not args.layer:
            raise ValueError(f"--what top-inputs needs --layer; layers: "
                             f"{F.describe_layers(shapes)}")
        if args.layer not in shapes:
            raise ValueError(f"no layer {args.layer!r}; layers: {F.describe_layers(shapes)}")
        units = _units(args, shapes[args.layer][0] if shapes[args.layer] else 0)
        F.check_unit(model, args.layer, units, INPUT_SHAPE)
        results = F.top_activations(model, data(), args.layer, units, k=args.k,
                                    limit=args.limit)
        if figure:
            def draw() -> Any:
                return F.plot_top_activations(results, mode=args.mode)
        else:
            image = F.top_activations_image(results, mode=args.mode)
    elif args.what == "maximize":
        if args.layer is not None and args.layer not in shapes:
            raise ValueError(f"no layer {args.layer!r}; layers: {F.describe_layers(shapes)}")
        count = shapes[args.layer][0] if args.layer else next(reversed(shapes.values()))[0]
        units = _units(args, count)
        F.check_unit(model, args.layer, units, INPUT_SHAPE)
        ds = data()
        n = min(len(ds), args.limit or 2000)
        # Start from the average input: a blank start leaves a ReLU network's units silent.
        init = F._Inputs(ds).fetch(np.arange(n))[0].mean(axis=0)
        results_m = F.maximize(model, INPUT_SHAPE, units, args.layer, steps=args.steps,
                               seed=args.seed, bounds=bounds, init=init)
        if figure:
            def draw() -> Any:
                return F.plot_maximized(results_m)
        else:
            names = [str(ds.classes[u]) if args.layer is None and hasattr(ds, "classes")
                     and u < len(ds.classes) else
                     (f"class {u}" if args.layer is None else f"{args.layer} #{u}")
                     for u in units]
            image = F.maximized_image(results_m, names=[s.split(" - ")[-1] for s in names])
    else:  # confusion
        if args.layer or args.unit:
            raise ValueError("--layer and --unit are not used with --what confusion")
        from chainrule.data import DataLoader, Subset

        ds = data()
        scored: Any = ds if args.limit is None else Subset(ds, range(min(args.limit, len(ds))))
        matrix = P.confusion_matrix(model, DataLoader(scored, batch_size=1000))
        title = f"{name} on {dataset} {args.split} set"
        if figure:
            def draw() -> Any:
                return P.plot_confusion(matrix, title=title)
        else:
            image = P.confusion_image(matrix, title=title)
    print(_save(out, image, draw if figure else None))
    return 0


def plot_command(args: argparse.Namespace) -> int:
    """`chainrule plot`: curves from a --history file."""
    if not os.path.exists(args.history):
        raise ValueError(f"{args.history}: no such file (write one with "
                         f"`chainrule train --history PATH`)")
    records = P.read_history(args.history)
    if not records:
        raise ValueError(f"{args.history}: no epoch records (expected one JSON object per "
                         f"line with an 'epoch' key)")
    out = args.out or str(Path(args.history).with_suffix(".png"))
    if _figure_wanted(out, args.matplotlib):
        print(_save(out, None, lambda: P.plot_history(records, title=args.title)))
    else:
        print(_save(out, P.history_image(records, title=args.title), None))
    return 0
