"""Section 3 of the lecture: backpropagation. The univariate and multivariate chain-rule examples
traced step by step (chainrule.inspect.trace), the MLP's gradients against the slides' closed
forms, and the cost claim (backward ≈ 2 forward passes; linear in depth, quadratic in width)
counted and timed."""

from __future__ import annotations

import math
import time

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.inspect import Trace, draw_graph, summary, trace
from chainrule.inspect._trace_examples import logistic, mlp, multivariate
from chainrule.lecture import Context, Result, example
from chainrule.lecture._s123_util import (
    COLORS, chart, one_blas_thread, panels, save, save_text, table, values,
)


def _sigma(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _scalar(v: float, requires_grad: bool = False) -> cr.Tensor:
    return cr.tensor(v, dtype=cr.float64, requires_grad=requires_grad)


def _grad_of(result: Trace, name: str) -> np.ndarray:
    """The error signal the trace found for the node `name`."""
    return result.step(name).value


@example("univariate-chain-rule", section=3,
         title="logistic least squares by the univariate chain rule, traced",
         slide="Univariate Chain Rule")
def univariate_chain_rule(ctx: Context) -> Result:
    w_, b_, x_, t_ = 0.5, -1.5, 2.0, 0.0
    w, b = _scalar(w_, True), _scalar(b_, True)
    x, t = _scalar(x_), _scalar(t_)
    z = w * x + b
    y = z.sigmoid()
    L = 0.5 * (y - t) ** 2
    names = {"w": w, "b": b, "x": x, "t": t, "z": z, "y": y, "L": L}
    tr = trace(L, names, file=None)
    # "how you would have done it in calculus class": the closed forms
    s = _sigma(w_ * x_ + b_)
    dw = (s - t_) * s * (1 - s) * x_          # (σ(wx + b) − t) σ'(wx + b) x
    db = (s - t_) * s * (1 - s)               # the exercise: (σ(wx + b) − t) σ'(wx + b)
    w_bar, b_bar = float(_grad_of(tr, "w")), float(_grad_of(tr, "b"))
    r = Result(
        says="z = wx + b, y = σ(z), L = ½(y − t)²; the structured way: ȳ = y − t, "
             "z̄ = ȳ σ'(z), w̄ = z̄ x, b̄ = z̄; by calculus ∂L/∂w = (σ(wx + b) − t) σ'(wx + b) x "
             "and (the exercise) ∂L/∂b = (σ(wx + b) − t) σ'(wx + b).",
        lines=[f"w = {w_}, b = {b_}, x = {x_}, t = {t_}:", "", *tr.to_text().splitlines(), "",
               f"w̄ = {w_bar:.10g}; calculus-class closed form {dw:.10g} "
               f"(difference {abs(w_bar - dw):.1e})",
               f"b̄ = {b_bar:.10g}; the exercise's answer {db:.10g} "
               f"(difference {abs(b_bar - db):.1e})"],
        measured={"w_bar": w_bar, "b_bar": b_bar, "closed_w": dw, "closed_b": db,
                  "z_bar": float(_grad_of(tr, "z")), "y_bar": float(_grad_of(tr, "y"))})
    save_text(ctx, r, "3-univariate-graph.svg", draw_graph(L, names).svg())
    return r


@example("regularised-backprop", section=3,
         title="backprop with fan-out: L_reg = L + λR, w̄ = z̄x + R̄w, traced",
         slide="Backpropagation")
def regularised_backprop(ctx: Context) -> Result:
    w_, b_, x_, t_, lam = 0.5, -1.5, 2.0, 0.0, 0.01
    L_reg, names = logistic(w_, b_, x_, t_, lam)
    tr = trace(L_reg, names, file=None)
    s = _sigma(w_ * x_ + b_)
    z_bar = (s - t_) * s * (1 - s)            # z̄ = ȳ σ'(z), ȳ = L̄(y − t), L̄ = L̄_reg = 1
    closed = {"L_reg": 1.0, "R": lam, "L": 1.0, "y": s - t_, "z": z_bar,
              "w": z_bar * x_ + lam * w_, "b": z_bar}
    rows = [[f"{n}̄" if len(n) == 1 else f"bar({n})", float(_grad_of(tr, n)), v,
             abs(float(_grad_of(tr, n)) - v)] for n, v in closed.items()]
    w_step = tr.step("w")
    r = Result(
        says="forward z = wx + b, y = σ(z), L = ½(y − t)², R = ½w², L_reg = L + λR; backward "
             "L̄_reg = 1, R̄ = L̄_reg λ, L̄ = L̄_reg, ȳ = L̄(y − t), z̄ = ȳ σ'(z), "
             "w̄ = z̄x + R̄w (w has two children), b̄ = z̄.",
        lines=[f"w = {w_}, b = {b_}, x = {x_}, t = {t_}, λ = {lam}:", "",
               *tr.to_text().splitlines(), "",
               *table(["error signal", "engine", "slide's formula", "|difference|"], rows), "",
               f"w̄ is the sum of {len(w_step.terms)} terms, one per child: "
               + " + ".join(f"{t.value.item():.6g} (from {t.child})" for t in w_step.terms)],
        measured={"bars": {n: float(_grad_of(tr, n)) for n in closed}, "closed": closed,
                  "w_terms": len(w_step.terms)})
    save_text(ctx, r, "3-regularised-graph.svg", draw_graph(L_reg, names).svg())
    return r


@example("multivariate-chain-rule", section=3,
         title="df/dt for f = y + e^{xy}, x = cos t, y = t², traced",
         slide="Multivariate Chain Rule")
def multivariate_chain_rule(ctx: Context) -> Result:
    t_ = 0.7
    f, names = multivariate(t_)
    tr = trace(f, names, file=None)
    x_, y_ = math.cos(t_), t_ ** 2
    closed = (y_ * math.exp(x_ * y_)) * (-math.sin(t_)) + (1 + x_ * math.exp(x_ * y_)) * 2 * t_
    t_bar = float(_grad_of(tr, "t"))
    t_step = tr.step("t")
    r = Result(
        says="df/dt = ∂f/∂x dx/dt + ∂f/∂y dy/dt = (y e^{xy})(−sin t) + (1 + x e^{xy}) 2t; in "
             "the program's notation t̄ = x̄ dx/dt + ȳ dy/dt.",
        lines=[f"t = {t_}:", "", *tr.to_text().splitlines(), "",
               f"t̄ = {t_bar:.12g}; the slide's closed form {closed:.12g} "
               f"(difference {abs(t_bar - closed):.1e})",
               f"t̄ sums {len(t_step.terms)} terms (t fans out to x and y): "
               + " + ".join(f"{t.value.item():.6g} (from {t.child})" for t in t_step.terms)],
        measured={"t_bar": t_bar, "closed": closed, "t_terms": len(t_step.terms)})
    save_text(ctx, r, "3-multivariate-graph.svg", draw_graph(f, names).svg())
    return r


@example("softmax-cross-entropy", section=3,
         title="softmax with cross-entropy: z̄ = y − t, W̄ = z̄xᵀ",
         slide="Multivariate Chain Rule")
def softmax_cross_entropy(ctx: Context) -> Result:
    cr.manual_seed(ctx.seed)
    W = cr.randn(3, 4, dtype=cr.float64, requires_grad=True)
    b = cr.randn(3, dtype=cr.float64, requires_grad=True)
    x = cr.randn(4, dtype=cr.float64)
    t = cr.tensor([0.0, 1.0, 0.0], dtype=cr.float64)         # one-hot target, class 1
    z = W @ x + b                                            # z_ℓ = Σ_j w_ℓj x_j + b_ℓ
    y = z.softmax(0)                                         # y_k = e^{z_k} / Σ_ℓ e^{z_ℓ}
    L = -(t * y.log()).sum()                                 # L = −Σ_k t_k log y_k
    z.retain_grad()
    L.backward()
    yv, xv = y.detach().numpy(), x.detach().numpy()
    z_closed = yv - t.detach().numpy()
    errs = {"z_bar": float(np.max(np.abs(values(z.grad) - z_closed))),
            "W_bar": float(np.max(np.abs(values(W.grad) - np.outer(z_closed, xv)))),
            "b_bar": float(np.max(np.abs(values(b.grad) - z_closed)))}
    r = Result(
        says="softmax classifier with the cross-entropy loss: z_ℓ = Σ_j w_ℓj x_j + b_ℓ, "
             "y_k = e^{z_k}/Σ_ℓ e^{z_ℓ}, L = −Σ_k t_k log y_k; every z_ℓ feeds every y_k "
             "(fan-out), and the sum over children gives z̄ = y − t.",
        lines=[f"y = {np.round(yv, 6).tolist()}, t = {t.detach().numpy().tolist()}",
               f"z̄ (engine) = {np.round(values(z.grad), 6).tolist()}",
               f"y − t      = {np.round(z_closed, 6).tolist()}",
               "max |engine − closed form|: " + ", ".join(f"{k} {v:.1e}"
                                                          for k, v in errs.items())],
        measured={"errors": errs, "z_bar": values(z.grad).tolist(),
                  "y_minus_t": z_closed.tolist()})
    return r


@example("mlp-backprop", section=3,
         title="the two-layer MLP's gradients equal the slide's closed forms",
         slide="Backpropagation")
def mlp_backprop(ctx: Context) -> Result:
    L, names = mlp()
    tr = trace(L, names, file=None)
    v = {k: t.detach().numpy() for k, t in names.items()}
    W1, b1, W2, b2, x, t = (v[k] for k in ("W⁽¹⁾", "b⁽¹⁾", "W⁽²⁾", "b⁽²⁾", "x", "t"))
    # the vectorised backward pass of the slide, in NumPy
    z = W1 @ x + b1
    h = 1 / (1 + np.exp(-z))
    y = W2 @ h + b2
    y_bar = y - t                              # ȳ = L̄(y − t)
    h_bar = W2.T @ y_bar                       # h̄ = W⁽²⁾ᵀ ȳ
    z_bar = h_bar * h * (1 - h)                # z̄ = h̄ ∘ σ'(z)
    vectorised = {"y": y_bar, "W⁽²⁾": np.outer(y_bar, h), "b⁽²⁾": y_bar, "h": h_bar,
                  "z": z_bar, "W⁽¹⁾": np.outer(z_bar, x), "b⁽¹⁾": z_bar}
    # the same, one index at a time (the slide before: w̄ᵢⱼ = z̄ᵢ xⱼ, h̄ᵢ = Σ_k ȳ_k w_ki, …)
    W1_bar = np.zeros_like(W1)
    for i in range(W1.shape[0]):
        hi_bar = sum(y_bar[k] * W2[k, i] for k in range(W2.shape[0]))
        zi_bar = hi_bar * h[i] * (1 - h[i])
        for j in range(W1.shape[1]):
            W1_bar[i, j] = zi_bar * x[j]
    rows, errors = [], {}
    for name, closed in vectorised.items():
        err = float(np.max(np.abs(_grad_of(tr, name) - closed)))
        errors[name] = err
        rows.append([f"bar({name})", str(closed.shape), err])
    elementwise_err = float(np.max(np.abs(W1_bar - _grad_of(tr, "W⁽¹⁾"))))
    r = Result(
        says="z = W⁽¹⁾x + b⁽¹⁾, h = σ(z), y = W⁽²⁾h + b⁽²⁾, L = ½‖y − t‖²; backward "
             "ȳ = L̄(y − t), W̄⁽²⁾ = ȳhᵀ, b̄⁽²⁾ = ȳ, h̄ = W⁽²⁾ᵀȳ, z̄ = h̄ ∘ σ'(z), "
             "W̄⁽¹⁾ = z̄xᵀ, b̄⁽¹⁾ = z̄.",
        lines=["2 inputs, 3 logistic hidden units, 2 outputs (chainrule trace mlp):", "",
               *tr.to_text().splitlines(), "",
               *table(["error signal", "shape", "max |engine − slide's vectorised form|"],
                      rows),
               f"W̄⁽¹⁾ from the index-by-index form (w̄ᵢⱼ = z̄ᵢxⱼ, h̄ᵢ = Σ_k ȳ_k w_ki): max "
               f"|difference| = {elementwise_err:.1e}"],
        measured={"errors": errors, "elementwise_error": elementwise_err})
    save_text(ctx, r, "3-mlp-graph.svg", draw_graph(L, names).svg())
    return r


# ------------------------------------------------------------------ the cost of backprop
def mlp_stack(width: int, depth: int) -> nn.Sequential:
    """`depth` fully connected layers width → width, each followed by tanh."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Tanh()]
    return nn.Sequential(*layers)


def counted_multiply_adds(net: nn.Module, width: int, input_grad: bool = False
                          ) -> tuple[int, int]:
    """Multiply-adds per example of the forward pass and of the backward pass, counted by
    `chainrule.inspect.summary` from the matrix products that actually ran."""
    x = cr.randn(2, width, requires_grad=input_grad)
    params = list(net.parameters())

    def forward_and_backward(x: cr.Tensor) -> cr.Tensor:
        loss = 0.5 * (net(x) ** 2).sum()
        cr.autograd.grad(loss, params + ([x] if input_grad else []))
        return loss

    forward = int(summary(net, input_data=x).totals["total_macs"])
    both = int(summary(forward_and_backward, input_data=x).totals["total_macs"])
    return forward, both - forward


def _timed(net: nn.Module, width: int, batch: int, repeats: int) -> tuple[float, float]:
    """Median seconds of the forward pass (to the loss) and of the backward pass."""
    x = cr.randn(batch, width)
    fw, bw = [], []
    for i in range(repeats + 1):                 # the first run warms up, untimed
        start = time.perf_counter()
        loss = 0.5 * (net(x) ** 2).sum()
        middle = time.perf_counter()
        loss.backward()
        end = time.perf_counter()
        net.zero_grad()
        if i:
            fw.append(middle - start)
            bw.append(end - middle)
    return float(np.median(fw)), float(np.median(bw))


@example("backprop-cost", section=3,
         title="backward ≈ 2 forward passes; cost linear in depth, quadratic in width",
         slide="Computational Cost")
def backprop_cost(ctx: Context) -> Result:
    cr.manual_seed(ctx.seed)
    batch = 64
    repeats = 5 if ctx.quick else 21
    depths = [1, 2, 4, 8] if ctx.quick else [1, 2, 4, 8, 12, 16]
    widths = [256, 512, 768, 1024] if ctx.quick else [256, 512, 1024, 1536, 2048]
    depth_width, width_depth = 512, 2
    runs: dict[str, list[dict[str, float]]] = {"depth": [], "width": []}
    for kind, sizes in (("depth", depths), ("width", widths)):
        for n in sizes:
            width, depth = (depth_width, n) if kind == "depth" else (n, width_depth)
            net = mlp_stack(width, depth)
            fw_macs, bw_macs = counted_multiply_adds(net, width)
            _, bw_macs_x = counted_multiply_adds(net, width, input_grad=True)
            with one_blas_thread() as single:
                fw_s, bw_s = _timed(net, width, batch, repeats)
            runs[kind].append({"depth": depth, "width": width, "forward_macs": fw_macs,
                               "backward_macs": bw_macs, "backward_macs_with_x": bw_macs_x,
                               "forward_ms": 1e3 * fw_s, "backward_ms": 1e3 * bw_s})

    def rows(kind: str) -> list[list[object]]:
        return [[r["depth"], r["width"], int(r["forward_macs"]), int(r["backward_macs"]),
                 r["backward_macs"] / r["forward_macs"],
                 r["backward_macs_with_x"] / r["forward_macs"], r["forward_ms"],
                 r["backward_ms"], r["backward_ms"] / r["forward_ms"]] for r in runs[kind]]

    head = ["depth", "width", "forward MACs", "backward MACs", "bw/fw", "bw/fw (x̄ too)",
            "forward ms", "backward ms", "bw/fw time"]
    r = Result(
        says="forward: one add-multiply per weight; backward: two per weight "
             "(w̄_ki = ȳ_k h_i and h̄_i = Σ_k ȳ_k w_ki); rule of thumb: the backward pass is "
             "about as expensive as two forward passes; for an MLP the cost is linear in the "
             "number of layers, quadratic in the number of units per layer.",
        lines=["multiply-adds per example counted by chainrule.inspect.summary from the matrix "
               "products that ran; times: median of "
               f"{repeats} runs, batch {batch}, float32, "
               f"{'BLAS on one thread' if single else 'BLAS threads as configured'}, on this "
               "machine (other programs share it, so the times are noisy):",
               "", f"depth sweep (width {depth_width}):", *table(head, rows("depth")), "",
               f"width sweep (depth {width_depth}):", *table(head, rows("width")), "",
               "bw/fw is (2L − 1)/L when x needs no gradient (the first layer skips x̄ = "
               "W⁽¹⁾ᵀz̄) and exactly 2 when it does."],
        measured=runs)
    d, w = runs["depth"], runs["width"]
    depth_chart = chart([("forward", [x["depth"] for x in d], [x["forward_ms"] for x in d],
                          COLORS[0]),
                         ("backward", [x["depth"] for x in d], [x["backward_ms"] for x in d],
                          COLORS[1])],
                        f"time vs depth (width {depth_width})", "layers", width=380,
                        height=280, integer_x=True)
    ws = np.array([x["width"] for x in w], np.float64)
    bw_ms = np.array([x["backward_ms"] for x in w])
    fit = bw_ms[-1] * (ws / ws[-1]) ** 2          # c · width², through the widest point
    width_chart = chart([("forward", ws, [x["forward_ms"] for x in w], COLORS[0]),
                         ("backward", ws, bw_ms, COLORS[1]),
                         ("quadratic: c × width × width", ws, fit, (150, 150, 150))],
                        f"time vs width (depth {width_depth})", "units per layer",
                        width=380, height=280, integer_x=True)

    def macs_chart(kind: str, xlabel: str) -> np.ndarray:
        xs = [x[kind] for x in runs[kind]]
        return chart([("forward", xs, [x["forward_macs"] / 1e6 for x in runs[kind]], COLORS[0]),
                      ("backward", xs, [x["backward_macs"] / 1e6 for x in runs[kind]],
                       COLORS[1])],
                     f"counted M mult-adds vs {kind}", xlabel, width=380, height=280,
                     integer_x=True)

    save(ctx, r, "3-backprop-cost.png",
         panels([depth_chart, width_chart, macs_chart("depth", "layers"),
                 macs_chart("width", "units per layer")], 2,
                f"measured ms per batch of {batch} (median of {repeats}), counted mult-adds "
                "per example"))
    return r

