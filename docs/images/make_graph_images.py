"""Draw the graph pictures of docs/graphs-and-trace.md: `python docs/images/make_graph_images.py`
(from the repository root) rewrites graph_*.svg beside this file."""

from __future__ import annotations

from pathlib import Path

import chainrule as cr
from chainrule.inspect import draw_graph, record_modules
from chainrule.inspect._trace_examples import logistic, mlp
from chainrule.models import lenet5
from chainrule.nn import functional as F

HERE = Path(__file__).parent


def main() -> None:
    loss, names = logistic()
    (HERE / "graph_logistic.svg").write_text(draw_graph(loss, names).svg(), encoding="utf-8")
    loss, names = mlp()
    (HERE / "graph_mlp.svg").write_text(draw_graph(loss, names).svg(), encoding="utf-8")
    cr.manual_seed(0)
    model = lenet5()
    x = cr.randn(8, 1, 28, 28)
    with record_modules(model):
        logits = model(x)
    loss = F.cross_entropy(logits, cr.tensor([0, 1, 2, 3, 4, 5, 6, 7]))
    names = {**dict(model.named_parameters()), "x": x, "logits": logits, "loss": loss}
    (HERE / "graph_lenet5_modules.svg").write_text(
        draw_graph(loss, params=names, group="module", direction="TB").svg(), encoding="utf-8")
    (HERE / "graph_lenet5.svg").write_text(
        draw_graph(loss, params=names, direction="TB").svg(), encoding="utf-8")


if __name__ == "__main__":
    main()
