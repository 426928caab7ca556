"""Section 5: convolutional layers and the size of a network — weight sharing on the 200×200
example, how stride and padding set the output size, LeNet-5's size table and its two rules of
thumb, and the AlexNet homework (done at length in docs/size-of-a-network.md)."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import models, nn
from chainrule.inspect import (
    Summary, conv_layer_size, fc_layer_size, lecture_200x200_example,
    pooling_layer_size, summary,
)
from chainrule.inspect.plots import line_chart
from chainrule.lecture import Context, Result, example
from chainrule.lecture import save_picture as save
from chainrule.lecture._s456_util import framed, share_bars

#: the lecture's table "Sizes of layers in LeNet": (layer, type, units, connections, weights)
LENET_SLIDE = [
    ("c1", "convolution", 4704, 117_600, 150),
    ("s2", "pooling", 1176, 4704, 0),
    ("c3", "convolution", 1600, 240_000, 2400),
    ("s4", "pooling", 400, 1600, 0),
    ("f5", "fully connected", 120, 48_000, 48_000),
    ("f6", "fully connected", 84, 10_080, 10_080),
    ("output", "fully connected", 10, 840, 840),
]

_KINDS = {"Conv2d": "convolution", "MaxPool2d": "pooling", "AvgPool2d": "pooling",
          "Linear": "fully connected"}


@example("locally-connected-vs-conv", section=5,
         title="Locally connected vs convolutional: parameters on a 200x200 image",
         slide="Convolutional Layer")
def locally_connected_vs_conv(ctx: Context) -> Result:
    # The layers themselves, built and counted (biases apart: the slides count weights).
    local = nn.LocallyConnected2d(1, 1, 200, 10, padding="same")
    conv = nn.Conv2d(1, 100, 10)
    formulas = lecture_200x200_example()
    lc, cv = formulas["locally connected"], formulas["convolution"]
    local_units = int(np.prod(local.output_size))
    rows = [
        ("locally connected", local_units, local.weight.numel(), lc.connections,
         local.bias.numel() if local.bias is not None else 0),
        ("convolution (100 filters)", cv.units, conv.weight.numel(), cv.connections,
         conv.bias.numel() if conv.bias is not None else 0),
    ]
    lines = ["200x200 image, 10x10 filters      units    weights   connections   biases"]
    lines += [f"{name:<27} {u:>12,} {w:>10,} {c:>13,} {b:>8,}" for name, u, w, c, b in rows]
    lines += [
        "",
        f"weights counted on the modules (nn.LocallyConnected2d, nn.Conv2d) equal the size "
        f"formulas (chainrule.inspect.size): {local.weight.numel() == lc.weights} and "
        f"{conv.weight.numel() == cv.weights}",
        f"sharing: one 10x10 filter per map instead of one per position divides the weights "
        f"of a map by {lc.weights // (cv.weights // 100):,} (the number of positions)",
    ]
    return Result(
        says="Locally connected: 200x200 image, 40K hidden units, filter size 10x10, 4M "
             "parameters. Convolutional: 200x200 image, 100 filters, filter size 10x10, 10K "
             "parameters (the same filter shared across positions).",
        lines=lines,
        measured={"locally_connected_units": local_units,
                  "locally_connected_weights": local.weight.numel(),
                  "conv_weights": conv.weight.numel(), "conv_filters": conv.out_channels,
                  "formula_locally_connected_weights": lc.weights,
                  "formula_conv_weights": cv.weights},
    )


def output_size(width: int, kernel: int, stride: int, padding: int) -> int:
    """⌊(W + 2P − K) / S⌋ + 1: the positions a K-wide window, moved S at a time, finds in a
    W-wide input with P zeros added on each side."""
    return (width + 2 * padding - kernel) // stride + 1


@example("conv-output-size", section=5, title="Stride and padding set the output size",
         slide="Convolutional Layer")
def conv_output_size(ctx: Context) -> Result:
    cases = [(200, 10, 1, 0), (32, 5, 1, 0), (32, 5, 1, 2), (32, 5, 2, 0), (32, 5, 2, 2),
             (32, 3, 1, 1), (32, 3, 2, 1), (28, 5, 1, 2), (227, 11, 4, 0), (224, 7, 2, 3)]
    if not ctx.quick:
        cases += [(32, k, s, p) for k in (3, 5, 7) for s in (1, 2, 3) for p in (0, 1, 2)]
    table = []
    for w, k, s, p in cases:
        layer = nn.Conv2d(1, 1, k, stride=s, padding=p)
        ran = layer(cr.zeros(1, 1, w, w)).shape[-1]
        table.append((w, k, s, p, output_size(w, k, s, p), ran))
    pools = [(28, 2, 2), (10, 2, 2), (55, 3, 2), (13, 3, 2)]
    pool_table = [(w, f, s, (w - f) // s + 1, nn.MaxPool2d(f, s)(cr.zeros(1, 1, w, w)).shape[-1])
                  for w, f, s in pools]
    lines = ["conv layer: input W, filter K, stride S, padding P -> output (formula, nn.Conv2d)",
             "    W   K  S  P   formula  nn.Conv2d"]
    lines += [f"  {w:>3} {k:>3} {s:>2} {p:>2}  {f:>8}  {r:>9}" for w, k, s, p, f, r in table]
    lines += ["pooling layer: input W, extent F, stride S -> output (formula, nn.MaxPool2d)",
              "    W  F  S   formula  nn.MaxPool2d"]
    lines += [f"  {w:>3} {f:>2} {s:>2}  {o:>8}  {r:>12}" for w, f, s, o, r in pool_table]
    agree = all(f == r for *_, f, r in table) and all(o == r for *_, o, r in pool_table)
    lines.append(f"every row: the formula equals the layer's actual output size: {agree}")
    result = Result(
        says="Hyperparameters of a convolutional layer: the number of filters (the depth of "
             "the output), the stride (how many units apart a filter is applied: the spatial "
             "size of the output) and the size w x h of the filters; of a pooling layer: the "
             "spatial extent F and the stride. Output width: (W + 2P - K) // S + 1.",
        lines=lines,
        measured={"conv": table, "pool": pool_table, "all_agree": agree},
    )
    if ctx.out is not None:
        strides = np.arange(1, 6)
        colors = [(214, 96, 77), (67, 147, 195), (90, 160, 90)]
        series = []
        for p, color in zip((0, 2, 4), colors, strict=True):
            sizes = np.array([nn.Conv2d(1, 1, 5, stride=int(s), padding=p)(
                cr.zeros(1, 1, 32, 32)).shape[-1] for s in strides], np.float64)
            series.append((f"padding {p}", strides.astype(np.float64), sizes, color))
        chart = line_chart(series, title="output width (nn.Conv2d, run)", xlabel="stride S",
                           width=460, height=300)
        save(ctx, result, "5-output-size.png",
             framed(chart, "A 5x5 filter on a 32x32 input"))
    return result


def _shares(s: Summary) -> dict[str, dict[str, float]]:
    """Units, connections and weights summed by kind of layer (conv, pooling, fully connected)."""
    out: dict[str, dict[str, float]] = {m: dict.fromkeys(("convolution", "pooling",
                                                          "fully connected"), 0.0)
                                        for m in ("units", "connections", "weights")}
    for layer_type, counts in s.by_type().items():
        kind = _KINDS.get(layer_type)
        if kind is None:
            continue
        for m in out:
            out[m][kind] += counts[m]
    return out


def _rules(shares: dict[str, dict[str, float]]) -> tuple[dict[str, float], list[str]]:
    frac = {
        "units_in_conv": shares["units"]["convolution"] / sum(shares["units"].values()),
        "connections_in_conv": (shares["connections"]["convolution"]
                                / sum(shares["connections"].values())),
        "weights_in_fc": shares["weights"]["fully connected"] / sum(shares["weights"].values()),
    }
    lines = [
        f"units in convolution layers:        {frac['units_in_conv']:6.1%} (pooling: the rest)",
        f"connections in convolution layers:  {frac['connections_in_conv']:6.1%}",
        f"weights in fully connected layers:  {frac['weights_in_fc']:6.1%}",
    ]
    return frac, lines


@example("lenet5-size", section=5, title="LeNet-5's size table and the two rules of thumb",
         slide="Size of a Conv Net")
def lenet5_size(ctx: Context) -> Result:
    s = summary(models.lenet5(), (1, 1, 28, 28))
    rows = {r["name"]: r for r in s.rows}
    # The same numbers from the lecture's formulas (chainrule.inspect.size), layer by layer.
    by_formula = {
        "c1": conv_layer_size(28, 28, 1, 6, 5), "s2": pooling_layer_size(28, 28, 6, 2),
        "c3": conv_layer_size(10, 10, 6, 16, 5), "s4": pooling_layer_size(10, 10, 16, 2),
        "f5": fc_layer_size(1, 1, 400, 120), "f6": fc_layer_size(1, 1, 120, 84),
        "output": fc_layer_size(1, 1, 84, 10),
    }
    lines = ["layer   type              units  connections  weights   (slide: units, "
             "connections, weights)"]
    matches = True
    for name, kind, units, conns, weights in LENET_SLIDE:
        r = rows[name]
        f = by_formula[name]
        ok = (r["units"], r["connections"], r["weights"]) == (units, conns, weights) == (
            f.units, f.connections, f.weights)
        matches &= ok
        lines.append(f"{name:<7} {kind:<15} {r['units']:>7,} {r['connections']:>12,} "
                     f"{r['weights']:>8,}   ({units:,}, {conns:,}, {weights:,}) "
                     f"{'same' if ok else 'DIFFERENT'}")
    shares = _shares(s)
    frac, rule_lines = _rules(shares)
    lines += ["", f"summary, formulas and slide agree on every row: {matches}", *rule_lines,
              f"totals: {s.total_units:,} units, {s.total_connections:,} connections, "
              f"{s.total_weights:,} weights (+ {s.total_biases} biases)"]
    result = Result(
        says="Sizes of layers in LeNet (the table). Rules of thumb: most of the units and "
             "connections are in the convolution layers; most of the weights are in the fully "
             "connected layers.",
        lines=lines,
        measured={"rows": {n: (rows[n]["units"], rows[n]["connections"], rows[n]["weights"])
                           for n, *_ in LENET_SLIDE},
                  "matches_slide": matches, **frac, "total_weights": s.total_weights},
    )
    if ctx.out is not None:
        save(ctx, result, "5-lenet5-shares.png",
             share_bars("LeNet-5: where units, connections and weights are", shares))
    return result


@example("alexnet-homework", section=5,
         title="The homework: units, weights and connections of AlexNet",
         slide="Size of a Conv Net")
def alexnet_homework(ctx: Context) -> Result:
    s = summary(models.alexnet_original(), (1, 3, 227, 227), depth=2)
    layers = [r for r in s.rows if r["type"] in _KINDS]
    lines = ["AlexNet (Krizhevsky et al. 2012, two-GPU version, 227x227 input), "
             "per layer:",
             "layer             units   connections     weights"]
    lines += [f"{r['name']:<16} {r['units']:>7,} {r['connections']:>13,} {r['weights']:>11,}"
              for r in layers]
    shares = _shares(s)
    frac, rule_lines = _rules(shares)
    lenet = summary(models.lenet5(), (1, 1, 28, 28))
    lines += [
        "",
        f"totals: {s.total_units:,} units, {s.total_connections:,} connections, "
        f"{s.total_weights:,} weights, {s.total_params:,} parameters with biases",
        *rule_lines,
        f"against LeNet-5: {s.total_units / lenet.total_units:.0f}x the units, "
        f"{s.total_connections / lenet.total_connections:,.0f}x the connections, "
        f"{s.total_weights / lenet.total_weights:,.0f}x the weights",
        f"about {3 * s.total_connections / 1e9:.1f} billion add-multiplies per training image "
        f"(3 per connection)",
        "More (the paper's neuron counts, GoogLeNet, ResNet-152): docs/size-of-a-network.md",
    ]
    result = Result(
        says="You'll repeat this exercise for AlexNet for homework. Conv nets have gotten a LOT "
             "larger since 1998! (AlexNet: 60 million parameters.)",
        lines=lines,
        measured={"layers": {r["name"]: (r["units"], r["connections"], r["weights"])
                             for r in layers},
                  "total_params": s.total_params, "total_weights": s.total_weights,
                  "total_units": s.total_units, "total_connections": s.total_connections,
                  **frac},
    )
    if ctx.out is not None:
        save(ctx, result, "5-alexnet-shares.png",
             share_bars("AlexNet: where units, connections and weights are", shares))
    return result
