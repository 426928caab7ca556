"""Section 2 of the lecture: expressive power. Deep linear networks collapse to one layer; XOR
with hard-threshold units (and why backprop cannot train them); universality for binary inputs;
logistic units approaching the hard threshold; the bump on [1, 2]; universal approximation."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.inspect import _image as im
from chainrule.inspect.plots import decision_regions_image
from chainrule.lecture import Context, Result, example
from chainrule.lecture._s123_util import COLORS, chart, panels, save, table
from chainrule.lecture._s123_util import values as _values
from chainrule.nn import functional as F


def _float64(*modules: nn.Module) -> nn.Sequential:
    """nn.Sequential(*modules) in float64."""
    net = nn.Sequential(*modules)
    net.double()
    return net


def _set(layer: Any, weight: list, bias: list | None = None) -> None:
    """Give a layer the slide's weights (float64)."""
    with cr.no_grad():
        layer.weight.copy_(cr.tensor(weight, dtype=cr.float64))
        if bias is not None:
            layer.bias.copy_(cr.tensor(bias, dtype=cr.float64))


# ------------------------------------------------------------------ deep linear networks
@example("deep-linear-collapse", section=2,
         title="a deep linear network equals one linear layer W' = W⁽³⁾W⁽²⁾W⁽¹⁾",
         slide="Expressive Power")
def deep_linear_collapse(ctx: Context) -> Result:
    cr.manual_seed(ctx.seed)
    widths = [5, 8, 6, 3]                             # x ∈ R⁵, two hidden layers, y ∈ R³
    x64 = cr.randn(100, widths[0], dtype=cr.float64)
    lines, measured = [], {}
    for bias in (False, True):
        layers = [nn.Linear(a, b, bias=bias) for a, b in itertools.pairwise(widths)]
        for dtype, name in ((cr.float64, "float64"), (cr.float32, "float32")):
            net = nn.Sequential(*layers).to(dtype)    # identity activations: linear layers
            W1, W2, W3 = (layer.weight.detach().numpy() for layer in layers)
            W = W3 @ W2 @ W1                          # W' ≜ W⁽³⁾W⁽²⁾W⁽¹⁾
            b = np.zeros(widths[-1], W.dtype)
            if bias:                                  # affine: b' = W⁽³⁾W⁽²⁾b⁽¹⁾ + W⁽³⁾b⁽²⁾ + b⁽³⁾
                b1, b2, b3 = (layer.bias.detach().numpy() for layer in layers  # type: ignore[union-attr]
                              )
                b = W3 @ W2 @ b1 + W3 @ b2 + b3
            x = x64.to(dtype)
            with cr.no_grad():
                deep = _values(net(x))
            one = _values(x) @ W.T + b
            err = float(np.max(np.abs(deep - one)))
            rel = err / float(np.max(np.abs(deep)))
            eps = float(np.finfo(W.dtype).eps)
            key = f"{'affine' if bias else 'linear'}_{name}"
            measured[key] = {"max_error": err, "relative_error": rel, "eps": eps,
                             "W_shape": W.shape}
            lines.append(f"{'with biases (affine)' if bias else 'no biases (linear)':<22} "
                         f"{name}: max |deep − one layer| = {err:.2e} "
                         f"({rel / eps:.1f} ε of the output's scale, ε = {eps:.1e})")
    r = Result(
        says="any sequence of linear layers is one linear layer: y = W⁽³⁾W⁽²⁾W⁽¹⁾x ≜ W'x; deep "
             "linear networks are no more expressive than linear regression.",
        lines=[f"nn.Sequential of Linear {' → '.join(map(str, widths))} (no activation), "
               f"W' = W⁽³⁾W⁽²⁾W⁽¹⁾ of shape {measured['linear_float64']['W_shape']}, on 100 "
               "random inputs:", *lines],
        measured=measured)
    return r


# ------------------------------------------------------------------ XOR
XOR_X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_T = [0.0, 1.0, 1.0, 0.0]


def xor_threshold_network() -> nn.Sequential:
    """The slide's network: h₁ = 𝟙[x₁ + x₂ − 0.5 > 0] (OR), h₂ = 𝟙[x₁ + x₂ − 1.5 > 0] (AND),
    y = 𝟙[h₁ − h₂ − 0.5 > 0] (h₁ AND NOT h₂ = XOR)."""
    net = _float64(nn.Linear(2, 2), nn.HardThreshold(), nn.Linear(2, 1),
                        nn.HardThreshold())
    _set(net[0], [[1.0, 1.0], [1.0, 1.0]], [-0.5, -1.5])
    _set(net[2], [[1.0, -1.0]], [-0.5])
    return net


@example("xor-threshold", section=2, title="XOR with hard-threshold units: the truth table",
         slide="Multilayer Perceptrons")
def xor_threshold(ctx: Context) -> Result:
    net = xor_threshold_network()
    x = cr.tensor(XOR_X, dtype=cr.float64)
    with cr.no_grad():
        h = _values(net[1](net[0](x)))
        y = _values(net(x)).ravel()
    rows = [[int(a), int(b), int(h1), int(h2), int(v), int(a) ^ int(b)]
            for (a, b), (h1, h2), v in zip(XOR_X, h, y, strict=True)]
    correct = bool(np.array_equal(y, XOR_T))
    r = Result(
        says="h₁ = 𝟙[x₁ + x₂ − 0.5 > 0] (x₁ OR x₂), h₂ = 𝟙[x₁ + x₂ − 1.5 > 0] (x₁ AND x₂), "
             "y = 𝟙[h₁ − h₂ − 0.5 > 0] = h₁ AND (NOT h₂) = x₁ XOR x₂.",
        lines=[*table(["x₁", "x₂", "h₁ (OR)", "h₂ (AND)", "y", "x₁ XOR x₂"], rows), "",
               f"the network's y equals XOR on all four inputs: {correct}"],
        measured={"h": h.tolist(), "y": y.tolist(), "truth_table_correct": correct})
    save(ctx, r, "2-xor-threshold.png",
         decision_regions_image(net, np.array(XOR_X), np.array(XOR_T), resolution=240,
                                title="threshold XOR net: y=1 red, y=0 blue"))
    return r


@example("xor-backprop", section=2,
         title="the threshold XOR network has zero gradient; a logistic one trains",
         slide="Multilayer Perceptrons")
def xor_backprop(ctx: Context) -> Result:
    x = cr.tensor(XOR_X, dtype=cr.float64)
    t = cr.tensor(XOR_T, dtype=cr.float64).reshape(4, 1)
    # 1. The hard-threshold network, at the slide's weights and at random ones: ∂L/∂θ = 0.
    grads = {}
    for label, net in (("slide's weights", xor_threshold_network()),
                       ("random weights", _random_threshold_net(ctx.seed))):
        loss = 0.5 * ((net(x) - t) ** 2).sum()
        g = cr.autograd.grad(loss, list(net.parameters()))
        grads[label] = (float(loss.item()), max(float(np.max(np.abs(_values(gi)))) for gi in g))
    # 2. The same architecture with logistic units, trained by backprop (gradient descent).
    cr.manual_seed(ctx.seed)
    net = _float64(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    opt = optim.Adam(net.parameters(), lr=0.05)
    steps = 1000 if ctx.quick else 3000
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.binary_cross_entropy(net(x), t)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    with cr.no_grad():
        y = _values(net(x)).ravel()
    predicted = (y > 0.5).astype(np.float64)
    correct = int(np.sum(predicted == XOR_T))
    r = Result(
        says="the hard threshold's derivative is 0 wherever it exists, so backprop passes no "
             "error signal and cannot train the XOR network; logistic units are differentiable, "
             "so we can train them with gradient descent.",
        lines=["hard-threshold network, L = ½ Σ (y − t)²:",
               *[f"  {k}: L = {v[0]:g}, max |∂L/∂θ| over all 9 parameters = {v[1]:g}"
                 for k, v in grads.items()], "",
               f"logistic network (same 2-2-1 shape), Adam lr 0.05, {steps} full-batch steps of "
               f"binary cross-entropy, seed {ctx.seed}:",
               f"  loss {losses[0]:.4f} → {losses[-1]:.4f}; y = {np.round(y, 3).tolist()} "
               f"for x = {XOR_X}",
               f"  thresholded at 0.5: {correct}/4 correct"],
        measured={"threshold_grad_max": {k: v[1] for k, v in grads.items()},
                  "threshold_loss": {k: v[0] for k, v in grads.items()},
                  "logistic_loss_first": losses[0], "logistic_loss_last": losses[-1],
                  "logistic_y": y.tolist(), "logistic_correct": correct, "steps": steps})
    curve = chart([("training loss", np.arange(1, steps + 1), losses, COLORS[0])],
                  title="logistic XOR: BCE loss", xlabel="step", width=360, height=260,
                  integer_x=True)
    regions = decision_regions_image(net, np.array(XOR_X), np.array(XOR_T), resolution=220,
                                     title="trained logistic net: P(y = 1)")
    save(ctx, r, "2-xor-logistic.png", im.pad_image(
        im.stack_horizontal([curve, regions], gap=10, align="center"), 4, 4, 4, 4))
    return r


def _random_threshold_net(seed: int) -> nn.Sequential:
    cr.manual_seed(seed)
    return _float64(nn.Linear(2, 2), nn.HardThreshold(), nn.Linear(2, 1),
                         nn.HardThreshold())


# ------------------------------------------------------------------ binary universality
def binary_universality_network(targets: np.ndarray) -> nn.Sequential:
    """2^D hard-threshold hidden units, one per input pattern p ∈ {−1, 1}^D, and a linear output.

    Unit k fires only on its own pattern: pₖᵀx = D when x = pₖ and at most D − 2 otherwise, so
    hₖ = 𝟙[pₖᵀx − (D − 1) > 0] = 𝟙[x = pₖ]. The output y = Σₖ tₖ hₖ then reads off the target
    of the one pattern that fired. `targets` is (2^D, F): F Boolean functions at once.
    """
    n, n_functions = targets.shape
    d = int(round(math.log2(n)))
    patterns = np.array(list(itertools.product([-1.0, 1.0], repeat=d)))
    net = _float64(nn.Linear(d, n), nn.HardThreshold(), nn.Linear(n, n_functions))
    _set(net[0], patterns.tolist(), [-(d - 1.0)] * n)
    _set(net[2], targets.T.tolist(), [0.0] * n_functions)
    return net


@example("binary-universality", section=2,
         title="2^D hard-threshold units represent every Boolean function (all 256 for D = 3)",
         slide="Expressive Power")
def binary_universality(ctx: Context) -> Result:
    d = 3
    patterns = np.array(list(itertools.product([-1.0, 1.0], repeat=d)))    # 2^D inputs
    # every function {−1, 1}³ → {−1, 1}: column j holds the bits of j as ±1 targets
    functions = np.array(list(itertools.product([-1.0, 1.0], repeat=2 ** d))).T  # (8, 256)
    net = binary_universality_network(functions)
    with cr.no_grad():
        x = cr.tensor(patterns, dtype=cr.float64)
        h = _values(net[1](net[0](x)))
        y = _values(net(x))
    represented = int(np.sum(np.all(y == functions, axis=0)))
    one_hot = bool(np.array_equal(h, np.eye(2 ** d)))
    widths = [[D, 2 ** D, (D + 1) * 2 ** D + 2 ** D + 1, 2 ** (2 ** D)] for D in (1, 2, 3, 4, 5)]
    r = Result(
        says="universality for binary inputs and targets: hard-threshold hidden units, linear "
             "output, 2^D hidden units each responding to one input configuration; only one "
             "hidden layer, though extremely wide.",
        lines=[f"D = {d}: hidden units {2 ** d}, each fires on exactly one input pattern "
               f"(hidden activations = identity matrix: {one_hot})",
               f"functions represented exactly on all {2 ** d} inputs: {represented} of "
               f"{functions.shape[1]}", "",
               "the slide's rows, e.g. function t = (x₂ = 1 ? 1 : −1):",
               *table(["x₁", "x₂", "x₃", "t", "y"],
                      [[int(a), int(b), int(c), int(b), int(yv)] for (a, b, c), yv in
                       zip(patterns, y[:, _column_of(functions, patterns[:, 1])],
                           strict=True)]), "",
               "the width grows as 2^D:",
               *table(["D", "hidden units 2^D", "parameters (one output)", "Boolean functions"],
                      widths)],
        measured={"hidden_units": 2 ** d, "functions": functions.shape[1],
                  "represented": represented, "hidden_one_hot": one_hot,
                  "widths": {row[0]: row[1] for row in widths}})
    return r


def _column_of(functions: np.ndarray, target: np.ndarray) -> int:
    return int(np.flatnonzero(np.all(functions == target[:, None], axis=0))[0])


# ------------------------------------------------------------------ logistic → hard threshold
@example("sigmoid-sharpening", section=2,
         title="σ(kx) approaches the hard threshold as the weight k grows",
         slide="Expressive Power")
def sigmoid_sharpening(ctx: Context) -> Result:
    scales = [1, 5, 25, 125]
    grid, dx = _midpoints(-3, 3, 60000)
    step = (grid > 0).astype(np.float64)
    rows, series = [], []
    measured: dict[Any, Any] = {}
    for i, k in enumerate(scales):
        unit = nn.Linear(1, 1, dtype=cr.float64)     # one logistic unit, weight k, bias 0
        _set(unit, [[float(k)]], [0.0])
        x = cr.tensor(grid[:, None], dtype=cr.float64, requires_grad=True)
        y = cr.sigmoid(unit(x))
        (dy,) = cr.autograd.grad(y.sum(), [x])
        yv = _values(y).ravel()
        l1 = float(np.sum(np.abs(yv - step)) * dx)     # ∫|σ(kx) − 1[x>0]| dx, midpoint rule
        # exactly: 2 ∫₀³ σ(−kx) dx = (2/k) log(2 / (1 + e^(−3k)))
        exact = 2 / k * math.log(2 / (1 + math.exp(-3 * k)))
        away = np.abs(grid) >= 0.5
        sup = float(np.max(np.abs(yv - step)[away]))   # worst error for |x| ≥ 0.5
        grad0 = float(_values(dy).ravel()[np.argmin(np.abs(grid))])
        rows.append([f"σ({k}x)", l1, exact, sup, grad0])
        measured[k] = {"l1_error": l1, "l1_closed_form": exact, "sup_away": sup,
                       "slope_at_0": grad0}
        series.append((f"sigma({k}x)", grid[::50], yv[::50], COLORS[i]))
    r = Result(
        says="you can approximate a hard threshold by scaling up the weights and biases: "
             "y = σ(x), y = σ(5x), …; this is good: logistic units are differentiable, so we "
             "can train them with gradient descent.",
        lines=["on x ∈ [−3, 3]:",
               *table(["unit", "∫|σ(kx) − 1[x>0]| dx", "(2/k) log(2/(1 + e^(−3k)))",
                       "max error for |x| ≥ 0.5", "dy/dx at 0 (= k/4)"], rows), "",
               "the error shrinks like (2 ln 2)/k while the derivative stays non-zero "
               "(trainable)."],
        measured=measured)
    series.append(("1[x > 0]", grid[::50], step[::50], (30, 30, 30)))   # drawn on top
    save(ctx, r, "2-sigmoid-sharpening.png",
         chart(series, "sigma(kx) approaching the hard threshold", "x", width=520, height=320,
               ylim=(-0.05, 1.1)))
    return r


# ------------------------------------------------------------------ the bump on [1, 2]
def bump(x: np.ndarray) -> np.ndarray:
    """The exercise's target: 1 for x ∈ [1, 2], 0 elsewhere."""
    return ((x >= 1) & (x <= 2)).astype(np.float64)


def _midpoints(a: float, b: float, n: int) -> tuple[np.ndarray, float]:
    """The midpoints of n equal cells of [a, b] and the cell width (the midpoint rule)."""
    dx = (b - a) / n
    return a + (np.arange(n) + 0.5) * dx, dx


def _grid(quick: bool) -> np.ndarray:
    # a step of 1/400 (1/100 quick) puts 1 and 2 on the grid
    return np.linspace(-1, 4, 2001 if not quick else 501)


@example("bump-threshold", section=2,
         title="the bump on [1, 2] with two hard-threshold units",
         slide="Expressive Power")
def bump_threshold(ctx: Context) -> Result:
    # f(x) = w₁φ(x − b₁) + w₂φ(x − b₂) with w = (1, −1), b = (1, 2)
    net = _float64(nn.Linear(1, 2), nn.HardThreshold(), nn.Linear(2, 1, bias=False))
    _set(net[0], [[1.0], [1.0]], [-1.0, -2.0])
    _set(net[2], [[1.0, -1.0]])
    grid = _grid(ctx.quick)
    with cr.no_grad():
        f = _values(net(cr.tensor(grid[:, None], dtype=cr.float64))).ravel()
    wrong = grid[f != bump(grid)]
    probes = [0.5, 1.0, 1.5, 2.0, 2.5]
    with cr.no_grad():
        at = _values(net(cr.tensor([[p] for p in probes], dtype=cr.float64))).ravel()
    r = Result(
        says="Q: represent the function that is +1 on x ∈ [1, 2] and 0 elsewhere with hard "
             "threshold units: f(x) = w₁φ(x − b₁) + w₂φ(x − b₂).",
        lines=["w₁ = 1, b₁ = 1, w₂ = −1, b₂ = 2: f(x) = 𝟙[x − 1 > 0] − 𝟙[x − 2 > 0]",
               *table(["x", "f(x)", "target"],
                      [[p, float(v), float(bump(np.array(p)))] for p, v in
                       zip(probes, at, strict=True)]),
               f"on {len(grid)} grid points in [−1, 4]: f differs from the target at "
               f"{len(wrong)} point(s): {wrong.tolist()}",
               "(φ = 𝟙[z > 0] is 0 at z = 0, so f is 1 on (1, 2]: exact except at the single "
               "point x = 1, a set of measure zero.)"],
        measured={"mismatches": wrong.tolist(), "probes": dict(zip(probes, at.tolist(),
                                                                   strict=True))})
    save(ctx, r, "2-bump-threshold.png",
         chart([("target", grid, bump(grid), (60, 60, 60)),
                ("1[x-1>0] - 1[x-2>0]", grid, f, COLORS[0])],
               "two hard-threshold units: identical to the target", "x", width=480, height=280,
               ylim=(-0.1, 1.25)))
    return r


def relu_bump_network(slope: float) -> nn.Sequential:
    """f(x) = Σᵢ wᵢ φ(vᵢ(x − bᵢ)) with four ReLUs, vᵢ = slope, w = (1, −1, −1, 1),
    b = (1 − 1/slope, 1, 2, 2 + 1/slope): a ramp up to 1 just before x = 1, flat at 1 on
    [1, 2], a ramp down just after x = 2."""
    s = float(slope)
    net = _float64(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 1, bias=False))
    b = [1 - 1 / s, 1.0, 2.0, 2 + 1 / s]
    _set(net[0], [[s]] * 4, [-s * bi for bi in b])   # vᵢ(x − bᵢ) = vᵢx − vᵢbᵢ
    _set(net[2], [[1.0, -1.0, -1.0, 1.0]])
    return net


@example("bump-relu", section=2,
         title="the bump on [1, 2] approximately with ReLUs, better as the slope grows",
         slide="Expressive Power")
def bump_relu(ctx: Context) -> Result:
    slopes = [1, 2, 5, 10, 50]
    grid = _grid(ctx.quick)
    fine, dx = _midpoints(-1, 4, 100000)          # for the integral
    rows, series = [], []
    measured: dict[Any, Any] = {}
    for i, s in enumerate(slopes):
        net = relu_bump_network(s)
        with cr.no_grad():
            f = _values(net(cr.tensor(grid[:, None], dtype=cr.float64))).ravel()
            f_fine = _values(net(cr.tensor(fine[:, None], dtype=cr.float64))).ravel()
        l1 = float(np.sum(np.abs(f_fine - bump(fine))) * dx)
        err = np.abs(f - bump(grid))
        inside = float(np.max(err[(grid >= 1) & (grid <= 2)]))
        far = float(np.max(err[(grid <= 1 - 1 / s) | (grid >= 2 + 1 / s)]))
        rows.append([s, l1, 1 / s, inside, far])
        measured[s] = {"l1_error": l1, "l1_closed_form": 1 / s, "max_error_on_1_2": inside,
                       "max_error_outside_ramps": far}
        if s in (1, 2, 5, 50):
            series.append((f"slope {s}", grid, f, COLORS[i]))
    r = Result(
        says="Q: approximately represent the function that is +1 on [1, 2] and 0 elsewhere "
             "with ReLUs: f(x) ≈ w₁φ(v₁(x − b₁)) + w₂φ(v₂(x − b₂)) + …",
        lines=["four ReLUs, vᵢ = slope, w = (1, −1, −1, 1), b = (1 − 1/slope, 1, 2, 2 + 1/slope)"
               ":", *table(["slope", "∫|f − target| dx", "closed form 1/slope",
                            "max error on [1, 2]", "max error off the ramps"], rows), "",
               "exact on [1, 2] and away from the two ramps of width 1/slope; the error "
               "(the two ramps' triangles) shrinks as 1/slope."],
        measured=measured)
    series.append(("target", grid, bump(grid), (30, 30, 30)))   # drawn on top
    save(ctx, r, "2-bump-relu.png",
         chart(series, "bump with four ReLUs of growing slope", "x", width=480, height=280,
               ylim=(-0.1, 1.25)))
    return r


# ------------------------------------------------------------------ universal approximation
def target_function(x: np.ndarray) -> np.ndarray:
    """The 1-D function the universal-approximation example fits."""
    return np.sin(3 * x) + 0.5 * x


def _width_verdict(measured: dict[Any, Any]) -> str:
    """What the width sweep shows, read from the numbers (not assumed)."""
    widths = list(measured)
    best = min(widths, key=lambda w: measured[w]["rmse"])
    text = (f"the RMS error falls {measured[widths[0]]['rmse'] / measured[best]['rmse']:.0f}-fold "
            f"from width {widths[0]} to width {best}")
    if best != widths[-1]:
        text += (f"; wider than {best} it rises again: with the same number of steps for "
                 "every width the optimiser, not the representation, limits the fit (the "
                 "slide's 'how can you find the appropriate weights?')")
    return text + "."


@example("universal-approximation", section=2,
         title="fitting a 1-D function with one hidden layer of growing width",
         slide="Expressive Power")
def universal_approximation(ctx: Context) -> Result:
    widths = [1, 2, 4, 8, 16] if ctx.quick else [1, 2, 4, 8, 16, 32, 64]
    steps = 1500 if ctx.quick else 5000
    xs = np.linspace(-2, 2, 200)
    x = cr.tensor(xs[:, None], dtype=cr.float64)
    t = cr.tensor(target_function(xs)[:, None], dtype=cr.float64)
    fine = np.linspace(-2, 2, 801)               # evaluated between the training points too
    rows, fits = [], {}
    measured: dict[Any, Any] = {}
    for width in widths:
        cr.manual_seed(ctx.seed)
        net = _float64(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, 1))
        opt = optim.Adam(net.parameters(), lr=0.02)
        for _ in range(steps):
            opt.zero_grad()
            loss = F.mse_loss(net(x), t)
            loss.backward()
            opt.step()
        with cr.no_grad():
            f = _values(net(cr.tensor(fine[:, None], dtype=cr.float64))).ravel()
        rmse = float(np.sqrt(np.mean((f - target_function(fine)) ** 2)))
        worst = float(np.max(np.abs(f - target_function(fine))))
        params = sum(p.numel() for p in net.parameters())
        rows.append([width, params, rmse, worst])
        measured[width] = {"rmse": rmse, "max_error": worst, "params": params}
        fits[width] = f
    r = Result(
        says="multilayer feed-forward networks with nonlinear activations are universal "
             "function approximators: they can approximate any function arbitrarily well.",
        lines=[f"target f(x) = sin(3x) + x/2 on [−2, 2]; one tanh hidden layer, linear output; "
               f"Adam lr 0.02, {steps} full-batch steps of MSE on 200 points, seed {ctx.seed};"
               " errors on 801 points:",
               *table(["width", "parameters", "RMS error", "max error"], rows), "",
               _width_verdict(measured)],
        measured=measured)
    shown = [w for w in widths if w in (1, 2, 4, 16)]
    fit_chart = chart([(f"width {w}", fine, fits[w], COLORS[i]) for i, w in enumerate(shown)]
                      + [("target", fine[::8], target_function(fine[::8]), (30, 30, 30))],
                      "fits of sin(3x) + x/2", "x", width=440, height=300)
    err_chart = chart([("log10 RMS error", np.log2(widths),
                        np.log10([measured[w]["rmse"] for w in widths]), COLORS[3])],
                      "error against width", "log2(hidden width)", width=360, height=300,
                      integer_x=True)
    save(ctx, r, "2-universal-approximation.png", panels([fit_chart, err_chart], 2))
    return r
