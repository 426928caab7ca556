"""Section 1 of the lecture: the unit y = φ(wᵀx + b), its six activation functions and their
derivatives, layers y = φ(Wx + b), and the exercise's two-layer network."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.inspect import _image as im
from chainrule.lecture import Context, Result, example
from chainrule.lecture._s123_util import COLORS, chart, panels, save, table, values


def _sigma(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


#: the lecture's six activation functions: the chainrule module, the closed form of φ and of φ'
Curve = Callable[[np.ndarray], np.ndarray]
ACTIVATIONS: dict[str, tuple[nn.Module, Curve, Curve]] = {
    "identity": (nn.Identity(), lambda z: z, lambda z: np.ones_like(z)),
    "ReLU": (nn.ReLU(), lambda z: np.maximum(0, z), lambda z: (z > 0).astype(z.dtype)),
    "soft ReLU": (nn.Softplus(), lambda z: np.log1p(np.exp(z)), _sigma),
    "hard threshold": (nn.HardThreshold(), lambda z: (z > 0).astype(z.dtype),
                       lambda z: np.zeros_like(z)),
    "logistic": (nn.Sigmoid(), _sigma, lambda z: _sigma(z) * (1 - _sigma(z))),
    "tanh": (nn.Tanh(), np.tanh, lambda z: 1 - np.tanh(z) ** 2),
}

# One unit with three inputs, and three input vectors to feed it.
UNIT_W = [0.5, -1.0, 2.0]
UNIT_B = 0.25
UNIT_X = [[1.0, 2.0, 0.5], [2.0, 0.0, -0.5], [0.0, 0.5, 0.125]]


@example("unit", section=1, title="one unit y = φ(wᵀx + b) with each of the six activations",
         slide="Inspiration: The Brain")
def unit(ctx: Context) -> Result:
    layer = nn.Linear(3, 1, dtype=cr.float64)
    with cr.no_grad():
        layer.weight.copy_(cr.tensor([UNIT_W], dtype=cr.float64))
        layer.bias.copy_(cr.tensor([UNIT_B], dtype=cr.float64))  # type: ignore[union-attr]
    x = cr.tensor(UNIT_X, dtype=cr.float64)
    z = layer(x)                                  # z = wᵀx + b, one row per input vector
    zs = z.detach().numpy().ravel()
    by_hand = np.array(UNIT_X) @ np.array(UNIT_W) + UNIT_B
    ys = {name: phi(z).detach().numpy().ravel() for name, (phi, _, _) in ACTIVATIONS.items()}
    errors = {name: float(np.max(np.abs(ys[name] - f(zs))))
              for name, (_, f, _) in ACTIVATIONS.items()}
    rows = [[str(x_i), float(zs[i])] + [float(ys[n][i]) for n in ACTIVATIONS]
            for i, x_i in enumerate(UNIT_X)]
    r = Result(
        says="a unit computes y = φ(wᵀx + b): weights w, bias b, inputs x, activation φ; with "
             "the logistic φ = σ it is logistic regression, y = σ(wᵀx + b).",
        lines=[f"w = {UNIT_W}, b = {UNIT_B}", "",
               *table(["x", "z = wᵀx + b", *ACTIVATIONS], rows), "",
               f"z from nn.Linear vs wᵀx + b by hand: max |difference| = "
               f"{float(np.max(np.abs(zs - by_hand))):.1e}",
               "y from the chainrule modules vs the closed forms: max |difference| = "
               f"{max(errors.values()):.1e}"],
        measured={"z": zs.tolist(), "y": {n: v.tolist() for n, v in ys.items()},
                  "closed_form_error": errors})
    return r


_YLIM = {"identity": (-4.2, 4.2), "ReLU": (-0.5, 4.2), "soft ReLU": (-0.5, 4.2)}


@example("activation-derivatives", section=1,
         title="the six activations and their derivatives from autograd vs closed forms",
         slide="Activation Functions")
def activation_derivatives(ctx: Context) -> Result:
    n = 161 if not ctx.quick else 81
    grid = np.linspace(-4, 4, n)
    rows, measured, charts = [], {}, []
    for name, (phi, f, df) in ACTIVATIONS.items():
        z = cr.tensor(grid, dtype=cr.float64, requires_grad=True)
        y = phi(z)
        # y is elementwise, so the gradient of Σ yᵢ is the vector of φ'(zᵢ)
        (dy,) = cr.autograd.grad(y.sum(), [z])
        dyv = values(dy)
        err_phi = float(np.max(np.abs(y.detach().numpy() - f(grid))))
        err_d = float(np.max(np.abs(dyv - df(grid))))
        rows.append([name, err_phi, err_d, float(dyv[n // 2]), float(dyv[-1])])
        measured[name] = {"phi_error": err_phi, "derivative_error": err_d,
                          "derivative_at_0": float(dyv[n // 2]), "derivative": dyv.tolist()}
        charts.append(chart([("phi(z)", grid, f(grid), COLORS[0]),
                             ("phi'(z) autograd", grid, dyv, COLORS[1])],
                            title=name, xlabel="z", ylim=_YLIM.get(name, (-1.15, 1.25))))
    r = Result(
        says="identity y = z, ReLU y = max(0, z), soft ReLU y = log(1 + e^z), hard threshold "
             "y = 1[z > 0], logistic y = 1/(1 + e^(−z)), tanh y = (e^z − e^(−z))/(e^z + e^(−z)); "
             "their derivatives are 1, 1[z > 0], σ(z), 0, σ(z)(1 − σ(z)), 1 − tanh²(z).",
        lines=[f"on {n} points z in [-4, 4] (float64); φ' from chainrule.autograd.grad:", "",
               *table(["φ", "max|φ − closed form|", "max|φ' − closed form|", "φ'(0)", "φ'(4)"],
                      rows), "",
               "φ'(0): ReLU's derivative at 0 is taken as 0 (as in torch); the hard threshold's "
               "is 0 everywhere it exists."],
        measured=measured)
    save(ctx, r, "1-activations.png",
         panels(charts, 3, "The six activations phi (blue) and phi' from autograd (orange)"))
    return r


@example("layer-matrix", section=1,
         title="M units in parallel: y = φ(Wx + b) with an M × N weight matrix",
         slide="Multilayer Perceptrons (Feedforward Neural Networks)")
def layer_matrix(ctx: Context) -> Result:
    cr.manual_seed(ctx.seed)
    n_in, m_out = 4, 3
    layer = nn.Linear(n_in, m_out, dtype=cr.float64)
    x = cr.randn(n_in, dtype=cr.float64)
    y = layer(x).tanh()                        # all M units at once: φ(Wx + b)
    W = layer.weight.detach().numpy()
    b = values(layer.bias)
    xv = x.detach().numpy()
    # the same M units one at a time: yᵢ = φ(wᵢᵀx + bᵢ), wᵢ the i-th row of W
    one_by_one = np.array([np.tanh(W[i] @ xv + b[i]) for i in range(m_out)])
    err = float(np.max(np.abs(y.detach().numpy() - one_by_one)))
    r = Result(
        says="computing M outputs from N inputs in parallel uses an M × N weight matrix: "
             "y = f(x) = φ(Wx + b).",
        lines=[f"nn.Linear({n_in}, {m_out}): weight shape {tuple(layer.weight.shape)} (M × N), "
               f"bias shape {b.shape}",
               f"y = tanh(Wx + b) = {np.round(y.detach().numpy(), 4).tolist()}",
               f"unit by unit, yᵢ = tanh(wᵢᵀx + bᵢ): max |difference| = {err:.1e}"],
        measured={"weight_shape": tuple(layer.weight.shape), "bias_shape": b.shape,
                  "max_difference": err})
    return r


# The exercise's network: two inputs, two hidden units, one linear output.
EX_W1 = [[1.0, -1.0], [0.5, 2.0]]
EX_B1 = [0.0, -1.0]
EX_W2 = [2.0, -1.0]
EX_B2 = 0.5
EX_X = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]]


def two_layer_by_hand(x1: float, x2: float, phi: Callable[[float], float]) -> float:
    """The exercise's answer, written out:
    h₁ = φ(w⁽¹⁾₁₁x₁ + w⁽¹⁾₁₂x₂ + b⁽¹⁾₁),  h₂ = φ(w⁽¹⁾₂₁x₁ + w⁽¹⁾₂₂x₂ + b⁽¹⁾₂),
    y = w⁽²⁾₁h₁ + w⁽²⁾₂h₂ + b⁽²⁾."""
    h1 = phi(EX_W1[0][0] * x1 + EX_W1[0][1] * x2 + EX_B1[0])
    h2 = phi(EX_W1[1][0] * x1 + EX_W1[1][1] * x2 + EX_B1[1])
    return EX_W2[0] * h1 + EX_W2[1] * h2 + EX_B2


def exercise_network(activation: nn.Module) -> nn.Sequential:
    """The same network as chainrule modules: Linear(2, 2), φ, Linear(2, 1)."""
    hidden, output = nn.Linear(2, 2, dtype=cr.float64), nn.Linear(2, 1, dtype=cr.float64)
    with cr.no_grad():
        hidden.weight.copy_(cr.tensor(EX_W1, dtype=cr.float64))
        hidden.bias.copy_(cr.tensor(EX_B1, dtype=cr.float64))   # type: ignore[union-attr]
        output.weight.copy_(cr.tensor([EX_W2], dtype=cr.float64))
        output.bias.copy_(cr.tensor([EX_B2], dtype=cr.float64))  # type: ignore[union-attr]
    return nn.Sequential(hidden, activation, output)


def _surface(net: nn.Module, title: str, res: int) -> np.ndarray:
    """y(x₁, x₂) over [-2, 2]² as a heat map (x₁ to the right, x₂ up) with its colour bar."""
    g = np.linspace(-2, 2, res)
    x1, x2 = np.meshgrid(g, g[::-1])
    pts = np.stack([x1.ravel(), x2.ravel()], axis=1)
    with cr.no_grad():
        y = net(cr.tensor(pts, dtype=cr.float64)).detach().numpy().reshape(res, res)
    lo, hi = im.symmetric_limits(y)
    heat = im.colorize(y, "diverging", lo, hi)
    heat = im.zoom(heat, max(1, 200 // res))
    im.rectangle(heat, 0, 0, heat.shape[0], heat.shape[1], (120, 120, 120))
    return im.stack_vertical([im.text_image(title, 2), heat,
                              im.text_image("x1 in [-2, 2] to the right, x2 in [-2, 2] up"),
                              im.colorbar("diverging", lo, hi, heat.shape[1])], gap=4)


@example("two-layer-exercise", section=1,
         title="the exercise: a two-layer network with two hidden units and a linear output",
         slide="Multilayer Perceptrons (Feedforward Neural Networks)")
def two_layer_exercise(ctx: Context) -> Result:
    phis = {"ReLU": (nn.ReLU(), lambda v: max(0.0, v)),
            "tanh": (nn.Tanh(), lambda v: float(np.tanh(v)))}
    rows, measured, pictures = [], {}, []
    for name, (module, scalar_phi) in phis.items():
        net = exercise_network(module)
        with cr.no_grad():
            y = net(cr.tensor(EX_X, dtype=cr.float64)).detach().numpy().ravel()
        by_hand = [two_layer_by_hand(a, b, scalar_phi) for a, b in EX_X]
        measured[name] = {"y": y.tolist(), "by_hand": by_hand,
                          "max_difference": float(np.max(np.abs(y - by_hand)))}
        rows += [[name, str(x), float(v), float(h)] for x, v, h in zip(EX_X, y, by_hand,
                                                                       strict=True)]
        pictures.append(_surface(net, f"y(x1, x2), phi = {name}", 100 if ctx.quick else 200))
    params = sum(p.numel() for p in exercise_network(nn.ReLU()).parameters())
    r = Result(
        says="Q: write down the equations of a two-layer NN (one hidden, one output layer), two "
             "hidden units, φ the hidden activation, a linear one-dimensional output. A: "
             "h₁ = φ(w⁽¹⁾₁₁x₁ + w⁽¹⁾₁₂x₂ + b⁽¹⁾₁), h₂ = φ(w⁽¹⁾₂₁x₁ + w⁽¹⁾₂₂x₂ + b⁽¹⁾₂), "
             "y = w⁽²⁾₁h₁ + w⁽²⁾₂h₂ + b⁽²⁾ (two inputs here).",
        lines=[f"W⁽¹⁾ = {EX_W1}, b⁽¹⁾ = {EX_B1}, w⁽²⁾ = {EX_W2}, b⁽²⁾ = {EX_B2}",
               f"parameters: 2·2 + 2 + 2 + 1 = {params}", "",
               *table(["φ", "x", "y (nn.Sequential)", "y (equations by hand)"], rows), "",
               "max |difference|: " + ", ".join(f"{n} {m['max_difference']:.1e}"
                                               for n, m in measured.items())],
        measured={**measured, "params": params})
    save(ctx, r, "1-two-layer-exercise.png",
         im.pad_image(im.stack_horizontal(pictures, gap=16), 6, 6, 6, 6))
    return r
