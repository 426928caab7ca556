"""Draw the pictures of docs/what-networks-learn.md (from the repository root):

    chainrule train --save lenet5.safetensors --history lenet5.json        # the default recipe
    chainrule train --model mlp --save mlp.safetensors --history mlp.json
    python docs/images/make_learn_images.py lenet5.safetensors lenet5.json mlp.safetensors

rewrites learn_*.png beside this file, with the same `chainrule visualize` / `chainrule plot`
commands the page shows, plus the XOR pictures (a 2-2-1 network trained here, seed 0).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import cli, nn
from chainrule.data import make_xor
from chainrule.inspect import decision_regions_image, hidden_units_image, write_png

HERE = Path(__file__).parent


def run(*args: str) -> None:
    print("chainrule", " ".join(args))
    if cli.main(list(args)) != 0:
        raise SystemExit(f"failed: chainrule {' '.join(args)}")


def xor_network(seed: int = 0, steps: int = 2000) -> tuple[nn.Module, np.ndarray, np.ndarray]:
    """The lecture's 2-2-1 network (tanh hidden units, a sigmoid output) trained on four noisy
    XOR clusters by full-batch gradient descent on the cross-entropy."""
    X, y = make_xor(200, noise=0.25, seed=seed)
    cr.manual_seed(seed)
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1), nn.Sigmoid())
    opt = cr.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    x, t = cr.from_numpy(X), cr.from_numpy(y.astype(np.float32)[:, None])
    for _ in range(steps):
        loss = nn.functional.binary_cross_entropy(net(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net, X, y


def main(lenet: str, history: str, mlp: str) -> None:
    out = str(HERE)
    run("visualize", "--checkpoint", lenet, "--what", "filters",
        "--out", f"{out}/learn_c1_filters.png")
    run("visualize", "--checkpoint", lenet, "--what", "top-inputs", "--layer", "c3",
        "--unit", "0", "1", "2", "3", "4", "5", "--out", f"{out}/learn_c3_top.png")
    run("visualize", "--checkpoint", lenet, "--what", "top-inputs", "--layer", "c3",
        "--unit", "0", "1", "--mode", "image", "--out", f"{out}/learn_c3_top_images.png")
    run("visualize", "--checkpoint", lenet, "--what", "top-inputs", "--layer", "f5",
        "--unit", "0", "1", "2", "3", "--out", f"{out}/learn_f5_top.png")
    run("visualize", "--checkpoint", lenet, "--what", "maximize",
        "--out", f"{out}/learn_maximize_classes.png")
    run("visualize", "--checkpoint", lenet, "--what", "maximize", "--layer", "c3",
        "--unit", "0", "1", "2", "3", "4", "5", "--out", f"{out}/learn_maximize_c3.png")
    run("visualize", "--checkpoint", lenet, "--what", "confusion",
        "--out", f"{out}/learn_confusion.png")
    run("plot", history, "--title", "LeNet-5 on MNIST, default recipe",
        "--out", f"{out}/learn_curves.png")
    run("visualize", "--checkpoint", mlp, "--what", "filters", "--scale", "tile",
        "--out", f"{out}/learn_mlp_filters.png")
    net, X, y = xor_network()
    write_png(HERE / "learn_xor_regions.png", decision_regions_image(net, X, y))
    write_png(HERE / "learn_xor_hidden.png", hidden_units_image(net, X, "1", y))
    print("wrote learn_xor_regions.png, learn_xor_hidden.png")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
