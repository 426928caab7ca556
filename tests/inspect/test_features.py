"""First-layer features, top-activating inputs and activation maximisation; the PNG writer;
`chainrule visualize`."""

from __future__ import annotations

import functools
import os
import zlib
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn, optim
from chainrule.inspect import _image as im
from chainrule.inspect import features as F
from chainrule.inspect.receptive_field import receptive_field

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
BOUNDS = ((0 - MNIST_MEAN) / MNIST_STD, (1 - MNIST_MEAN) / MNIST_STD)


def _mnist(train: bool, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n real MNIST digits, normalised as `chainrule train` does."""
    root = os.environ.get("CHAINRULE_DATA")
    if not root or not (Path(root) / "mnist").is_dir():
        pytest.skip("CHAINRULE_DATA is not set to a folder with mnist/")
    images, labels = _read_mnist(root, train)
    x = (images[:n].astype(np.float32) / 255 - MNIST_MEAN) / MNIST_STD
    return x[:, None], labels[:n]


@functools.lru_cache(maxsize=2)
def _read_mnist(root: str, train: bool) -> tuple[np.ndarray, np.ndarray]:
    from chainrule.data import MNIST

    ds = MNIST(Path(root) / "mnist", train=train, download=False)
    return ds.data, ds.targets


def _train(model: nn.Module, steps: int, batch: int = 32, lr: float = 3e-3) -> nn.Module:
    x, y = _mnist(True, steps * batch)
    cr.manual_seed(0)
    opt = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for s in range(steps):
        xb, yb = cr.from_numpy(x[s * batch:(s + 1) * batch]), cr.from_numpy(
            y[s * batch:(s + 1) * batch])
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def lenet() -> nn.Module:
    """LeNet-5 after 120 Adam steps on 32 real MNIST digits each (about 93% accurate)."""
    cr.manual_seed(0)
    model = _train(models.lenet5(), 120)
    x, y = _mnist(False, 500)
    with cr.no_grad():
        accuracy = np.mean(np.argmax(model(cr.from_numpy(x)).detach().numpy(), 1) == y)
    assert accuracy > 0.9, accuracy
    return model


@pytest.fixture(scope="module")
def test_digits() -> tuple[np.ndarray, np.ndarray]:
    return _mnist(False, 600)


# ------------------------------------------------------------------------------------- PNG
@pytest.mark.parametrize("channels", [None, 1, 2, 3, 4])
def test_png_round_trip(tmp_path, channels) -> None:
    rng = np.random.default_rng(channels or 0)
    shape = (7, 5) if channels is None else (7, 5, channels)
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / "a.png"
    im.write_png(path, img)
    back = im.read_png(path)
    assert back.shape == (7, 5, channels or 1)
    np.testing.assert_array_equal(back.reshape(img.shape), img)
    assert not (tmp_path / "a.png.partial").exists()


def test_png_is_valid_for_matplotlib_and_floats_are_scaled(tmp_path) -> None:
    mpimg = pytest.importorskip("matplotlib.image")
    img = np.linspace(0, 1, 4 * 6 * 3).reshape(4, 6, 3)
    im.write_png(tmp_path / "f.png", img)
    theirs = mpimg.imread(tmp_path / "f.png")   # an independent decoder (it checks CRCs)
    assert theirs.shape == (4, 6, 3)
    np.testing.assert_array_equal(np.round(theirs * 255).astype(np.uint8), im.as_uint8(img))
    np.testing.assert_array_equal(im.as_uint8(img), np.round(img * 255).astype(np.uint8))


def test_png_decoder_undoes_every_filter(tmp_path) -> None:
    """PNGs written by another encoder (matplotlib's, which filters rows) decode the same."""
    pytest.importorskip("matplotlib")
    import matplotlib.image as mpimg

    rng = np.random.default_rng(1)
    img = np.cumsum(rng.integers(0, 9, (20, 30, 3)), axis=1).astype(np.uint8)  # smooth-ish
    mpimg.imsave(tmp_path / "m.png", img)
    np.testing.assert_array_equal(im.read_png(tmp_path / "m.png")[..., :3], img)


def test_png_errors() -> None:
    with pytest.raises(ValueError, match="signature"):
        im.decode_png(b"GIF89a")
    good = bytearray(im.encode_png(np.zeros((2, 2), np.uint8)))
    good[-20] ^= 1   # corrupt the IDAT chunk
    with pytest.raises((ValueError, zlib.error)):
        im.decode_png(bytes(good))
    with pytest.raises(ValueError, match="expected an"):
        im.encode_png(np.zeros((2, 2, 5), np.uint8))


# --------------------------------------------------------------------- first-layer features
def test_filters_image_draws_each_weight_in_its_colour() -> None:
    """Two 3×3 kernels, +1 and −1 at the centre: with a shared scale the centres are the
    diverging map's two ends, each a zoom × zoom block; zero weights are white."""
    conv = nn.Conv2d(1, 2, 3)
    with cr.no_grad():
        conv.weight[...] = 0.0
        conv.weight[0, 0, 1, 1] = 1.0
        conv.weight[1, 0, 1, 1] = -1.0
    model = nn.Sequential(conv)
    img = F.filters_image(model, zoom=10, labels=False)
    red, blue = im.color_of("diverging", 1.0), im.color_of("diverging", 0.0)
    body = img[:_colorbar_top(img)]   # the tiles, above the colour bar
    assert _count(body, red) == 100 and _count(body, blue) == 100
    assert _count(body, im.color_of("diverging", 0.5)) == 2 * (9 * 100 - 100)


def _count(img: np.ndarray, color: tuple[int, int, int]) -> int:
    return int(np.all(img == color, axis=-1).sum())


def _colorbar_top(img: np.ndarray) -> int:
    """First row of the colour bar: the lowest row holding the bar's grey outline."""
    rows = np.nonzero(np.all(img == (120, 120, 120), axis=-1).any(axis=1))[0]
    return int(rows.min())


def test_filters_per_tile_scale_and_colour_kernels() -> None:
    conv = nn.Conv2d(1, 2, 2)
    with cr.no_grad():
        conv.weight[...] = np.array([[[[1.0, -1.0], [0, 0]]], [[[0.1, -0.1], [0, 0]]]])
    shared = F.filters_image(nn.Sequential(conv), zoom=5, labels=False)
    tile = F.filters_image(nn.Sequential(conv), zoom=5, labels=False, scale="tile")
    red = im.color_of("diverging", 1.0)
    assert _count(shared[:_colorbar_top(shared)], red) == 25   # only the strong kernel
    assert _count(tile, red) == 50                             # each stretched to its own max
    rgb = nn.Conv2d(3, 4, 5)
    pic = F.filters_image(nn.Sequential(rgb), zoom=4, labels=False)
    assert pic.ndim == 3 and pic.shape[2] == 3
    w = F.layer_weights(nn.Sequential(rgb))
    assert w.shape == (4, 3, 5, 5)
    # A deeper conv layer: one tile per (output, input) channel pair, a row per output unit.
    lenet = models.lenet5()
    assert F.layer_weights(lenet, "c3").shape == (16, 6, 5, 5)
    assert F.filters_image(lenet, "c3").shape[0] > 3 * F.filters_image(lenet).shape[0]


def test_mlp_rows_become_28x28_pictures() -> None:
    mlp = models.mlp(784, (16,), 10)
    w = F.layer_weights(mlp)
    np.testing.assert_array_equal(w.reshape(16, 784), mlp[1].weight.detach().numpy())
    assert w.shape == (16, 1, 28, 28) and F.first_layer(mlp) == "1"
    assert F.layer_weights(models.mlp(12, (3,), 2), image_shape=(1, 3, 4)).shape == (3, 1, 3, 4)
    assert F.layer_weights(models.mlp(12, (3,), 2)).shape == (3, 3, 2, 2)   # a square RGB
    with pytest.raises(ValueError, match="10 inputs are not a square image"):
        F.layer_weights(models.mlp(10, (3,), 2))
    with pytest.raises(ValueError, match="ReLU"):
        F.layer_weights(mlp, "2")
    with pytest.raises(ValueError, match="no layer 'fc'"):
        F.layer_weights(mlp, "fc")


def _smoothness(w: np.ndarray) -> float:
    """Mean correlation of horizontally adjacent weights over the digit area of 28×28 rows."""
    a = w[:, 0, 4:24, 4:23].ravel()
    b = w[:, 0, 4:24, 5:24].ravel()
    return float(np.corrcoef(a, b)[0, 1])


def test_trained_mlp_first_layer_weights_are_strokes_not_noise() -> None:
    """Trained on MNIST, an MLP's first-layer rows become smooth stroke-like blobs: adjacent
    weights correlate strongly, where initial weights are independent."""
    cr.manual_seed(0)
    mlp = models.mlp(784, (64,), 10)
    before = _smoothness(F.layer_weights(mlp))
    _train(mlp, 300, lr=1e-3)
    after = _smoothness(F.layer_weights(mlp))
    assert abs(before) < 0.05 and after > 0.3


# --------------------------------------------------------------------- top-activating inputs
def _small_cnn() -> nn.Sequential:
    cr.manual_seed(3)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, dtype=cr.float64), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(4, 5, 3, stride=2, dtype=cr.float64),
                         nn.Tanh(), nn.Flatten(), nn.Linear(5 * 2 * 2, 6, dtype=cr.float64))


def _brute_force(model: nn.Module, x: np.ndarray, layer: str, units: list[int], k: int):
    """Every example on its own: each unit's activation (a channel's maximum), then a full sort
    by value (ties: earlier example first). [(indices, values, positions)] per unit."""
    mod = dict(model.named_modules())[layer]
    outs = []
    for i in range(len(x)):
        got: list[np.ndarray] = []
        h = mod.register_forward_hook(lambda m, a, out, got=got: got.append(out.detach().numpy()))
        with cr.no_grad():
            model(cr.from_numpy(x[i:i + 1]))
        h.remove()
        outs.append(got[0][0])
    results = []
    for unit in units:
        maps = [o[unit] for o in outs]
        values = [float(m.max()) for m in maps]
        positions = [np.unravel_index(np.argmax(m), m.shape) if m.ndim else () for m in maps]
        order = sorted(range(len(x)), key=lambda i: (-values[i], i))[:k]
        results.append((np.array(order), np.array(values)[order], [positions[i] for i in order]))
    return results


@pytest.mark.parametrize("layer,unit", [("0", 1), ("1", 3), ("3", 4), ("6", 2), ("5", 7)])
def test_top_k_equals_a_brute_force_search(layer, unit) -> None:
    model = _small_cnn()
    x = np.random.default_rng(0).normal(size=(37, 2, 10, 10))
    x[20] = x[4]   # a tie: the earlier example ranks first
    got = F.top_activations(model, x, layer, unit, k=6, batch_size=8)
    ((idx, vals, pos),) = _brute_force(model, x, layer, [unit], 6)
    np.testing.assert_array_equal(got.indices, idx)
    np.testing.assert_allclose(got.values, vals, rtol=1e-12)
    if got.positions is not None:
        np.testing.assert_array_equal(got.positions, np.array(pos))
    np.testing.assert_array_equal(got.inputs, x[idx])


def test_ties_go_to_the_earlier_example() -> None:
    """Nine copies of one image tie exactly: the weights are multiples of 1/4 and the pixels
    small integers, so every sum is exact whatever order a BLAS adds in (a batch of 1 is a
    matrix-vector product, which need not round as the batch of 2 does)."""
    cr.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, dtype=cr.float64), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 5, 3, stride=2, dtype=cr.float64),
                          nn.ReLU(), nn.Flatten(), nn.Linear(5 * 2 * 2, 6, dtype=cr.float64))
    rng = np.random.default_rng(2)
    with cr.no_grad():
        for p in model.parameters():
            p.copy_(cr.tensor(rng.integers(-4, 5, p.shape) / 4))
    x = np.repeat(rng.integers(-3, 4, (1, 2, 10, 10)).astype(np.float64), 9, axis=0)
    got = F.top_activations(model, x, "6", [0, 1], k=4, batch_size=2)
    for r in got:
        np.testing.assert_array_equal(r.indices, [0, 1, 2, 3])


def test_top_inputs_on_real_digits_and_their_patches(lenet, test_digits) -> None:
    """On real MNIST: the one-pass search over a dataset equals the brute force for C3 and F5,
    and each patch is the receptive field of the strongest position."""
    x, y = test_digits
    from chainrule.data import TensorDataset

    data = TensorDataset(x[:200], y[:200])
    for layer, units in (("c3", [0, 5, 11]), ("f5", [7, 42])):
        results = F.top_activations(lenet, data, layer, units, k=9, batch_size=64)
        for r, (idx, vals, pos) in zip(results, _brute_force(lenet, x[:200], layer, units, 9),
                                       strict=True):
            np.testing.assert_array_equal(r.indices, idx)
            np.testing.assert_allclose(r.values, vals, rtol=1e-5)
            np.testing.assert_array_equal(r.targets, y[idx])
            if r.positions is not None:
                np.testing.assert_array_equal(r.positions, np.array(pos))
    c3 = F.top_activations(lenet, x[:200], "c3", 5, k=4)
    rf = receptive_field(lenet, "c3")
    assert c3.field == rf and rf is not None
    patches = c3.patches()
    assert patches.shape == (4, 1, 14, 14)
    for j, (row, col) in enumerate(c3.positions):
        top, _, left, _ = rf.box(int(row), int(col))
        inside = np.isfinite(patches[j, 0])
        ys, xs = np.nonzero(inside)
        np.testing.assert_array_equal(patches[j, 0][inside], x[idx := c3.indices[j], 0][
            ys + top, xs + left])
        assert idx == c3.indices[j]
    assert F.top_activations(lenet, x[:50], "f5", 3).patches().shape == (9, 1, 28, 28)


def test_top_activation_pictures(lenet, test_digits, tmp_path) -> None:
    x, y = test_digits
    rows = F.top_activations(lenet, x[:200], "c3", [1, 2], k=5)
    for mode in ("patch", "image"):
        pic = F.top_activations_image(rows, mode=mode)
        im.write_png(tmp_path / f"{mode}.png", pic)
        assert im.read_png(tmp_path / f"{mode}.png").shape == (*pic.shape[:2], 3)
    # Whole images with the field outlined in orange; patches have no outline.
    orange = (255, 140, 0)
    assert _count(F.top_activations_image(rows, mode="image"), orange) > 0
    assert _count(F.top_activations_image(rows, mode="patch"), orange) == 0
    with pytest.raises(ValueError, match="mode"):
        F.top_activations_image(rows, mode="bogus")


def test_top_activations_read_arrays_datasets_and_loaders_alike(lenet, test_digits) -> None:
    from chainrule.data import DataLoader, TensorDataset, transforms

    x, y = test_digits
    raw = (x[:120] * MNIST_STD + MNIST_MEAN).astype(np.float32)   # back to pixels in [0, 1]
    prep = transforms.Normalize(MNIST_MEAN, MNIST_STD)
    loader = DataLoader(TensorDataset(raw, y[:120]), batch_size=7, shuffle=True, transform=prep)
    a = F.top_activations(lenet, x[:120], "f5", 9, k=5)
    b = F.top_activations(lenet, loader, "f5", 9, k=5)  # its dataset in order, its transform
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-4)
    np.testing.assert_array_equal(b.targets, y[b.indices])
    assert a.targets is None


def test_matplotlib_figures_of_features(lenet) -> None:
    pytest.importorskip("matplotlib")
    fig = F.plot_filters(lenet)
    shown = [ax.get_images()[0].get_array() for ax in fig.axes if ax.get_images()]
    w = F.layer_weights(lenet)
    assert len(shown) == 6
    for k, a in enumerate(shown):
        np.testing.assert_array_equal(np.asarray(a), w[k, 0])
    res = F.maximize(lenet, (1, 28, 28), [0, 1], steps=3)
    fig = F.plot_maximized(res)
    np.testing.assert_allclose(fig.axes[2].get_lines()[0].get_ydata(), res[0].history)


def test_top_activations_errors(lenet, test_digits) -> None:
    x, _ = test_digits
    with pytest.raises(ValueError, match=r"no layer 'c9'; layers: c1 \(6 channels of 28×28\)"):
        F.top_activations(lenet, x[:10], "c9", 0)
    with pytest.raises(ValueError, match="'f5' has 120 units .0–119., got unit 120"):
        F.top_activations(lenet, x[:10], "f5", 120)
    with pytest.raises(ValueError, match="k must be"):
        F.top_activations(lenet, x[:10], "f5", 1, k=0)


# ------------------------------------------------------------------ activation maximisation
def test_regularisers_equal_torch(torch) -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 3, 9, 8))
    up = rng.normal(size=a.shape)
    cases = [
        (lambda t: F.l2_penalty(t), lambda t: 0.5 * (t * t).sum()),
        (lambda t: F.total_variation(t), lambda t: ((t[..., 1:, :] - t[..., :-1, :]) ** 2).sum()
         + ((t[..., :, 1:] - t[..., :, :-1]) ** 2).sum()),
        (lambda t: F.total_variation(t, 1), lambda t: (t[..., 1:, :] - t[..., :-1, :]).abs()
         .sum() + (t[..., :, 1:] - t[..., :, :-1]).abs().sum()),
        (lambda t: F.total_variation(t, 1.5), lambda t: ((t[..., 1:, :] - t[..., :-1, :]).abs()
         ** 1.5).sum() + ((t[..., :, 1:] - t[..., :, :-1]).abs() ** 1.5).sum()),
        (lambda t: (F.jitter(t, 2, -3) * cr.from_numpy(up)).sum(),
         lambda t: (torch.roll(t, (2, -3), (-2, -1)) * torch.from_numpy(up)).sum()),
        (lambda t: (F.gaussian_blur(t, 0.8) * cr.from_numpy(up)).sum(),
         lambda t: (_torch_blur(torch, t, 0.8) * torch.from_numpy(up)).sum()),
    ]
    for ours_fn, theirs_fn in cases:
        x = cr.from_numpy(a.copy()).requires_grad_()
        t = torch.from_numpy(a.copy()).requires_grad_()
        ours, theirs = ours_fn(x), theirs_fn(t)
        ours.backward()
        theirs.backward()
        np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def _torch_blur(torch, t, sigma):
    k = torch.from_numpy(F.gaussian_kernel(sigma))
    r = k.shape[0] // 2
    padded = torch.nn.functional.pad(t, (r, r, r, r), mode="reflect")
    weight = k.expand(t.shape[1], 1, *k.shape).contiguous()
    return torch.nn.functional.conv2d(padded, weight, groups=t.shape[1])


def test_regularisers_gradcheck() -> None:
    x = cr.from_numpy(np.random.default_rng(1).normal(size=(1, 2, 6, 5))).requires_grad_()
    for fn in (lambda t: F.total_variation(t), lambda t: F.gaussian_blur(t, 0.6),
               lambda t: F.jitter(t, 1, 2)):
        assert cr.autograd.gradcheck(fn, (x,))
    with pytest.raises(ValueError, match="too large"):
        F.gaussian_blur(cr.zeros(1, 1, 3, 3), 2.0)


@pytest.mark.slow
def test_maximize_raises_class_scores_far_above_their_start(lenet, test_digits) -> None:
    """With the regularisers, every class score ends far above where it started; without
    them, plain gradient ascent inside the valid pixel range beats the best real digit."""
    x, _ = test_digits
    with cr.no_grad():
        best_real = lenet(cr.from_numpy(x)).detach().numpy().max(axis=0)
    res = F.maximize(lenet, (1, 28, 28), list(range(10)), steps=100, bounds=BOUNDS,
                     init=x.mean(axis=0), seed=0)
    for r in res:
        assert r.history.shape == (100,)
        # at least 4 logits up (e⁴ ≈ 55 times the odds); the least-raised class varies with
        # the float rounding of the 120 training steps (class 8 measured +4.5 to +6)
        assert r.value > r.start + 4, (r.unit, r.start, r.value)
        assert BOUNDS[0] - 1e-6 <= r.image.min() and r.image.max() <= BOUNDS[1] + 1e-6
    plain = F.maximize(lenet, (1, 28, 28), list(range(10)), steps=100, bounds=BOUNDS,
                       init=x.mean(axis=0), l2=0, tv=0, blur_every=0, jitter_px=0)
    for r in plain:
        assert r.value > best_real[r.unit], (r.unit, r.value, best_real[r.unit])


def test_maximize_is_reproducible_and_independent_of_batching(lenet) -> None:
    kw = dict(steps=25, seed=7, bounds=BOUNDS)
    grads = [None if p.grad is None else p.grad.detach().numpy().copy()
             for p in lenet.parameters()]
    lenet.train()
    a = F.maximize(lenet, (1, 28, 28), [2, 5], "c3", **kw)
    b = F.maximize(lenet, (1, 28, 28), [2, 5], "c3", **kw)
    alone = F.maximize(lenet, (1, 28, 28), 5, "c3", **kw)
    other = F.maximize(lenet, (1, 28, 28), 5, "c3", **{**kw, "seed": 8})
    for r, s in zip(a, b, strict=True):
        np.testing.assert_array_equal(r.image, s.image)
        np.testing.assert_array_equal(r.history, s.history)
    np.testing.assert_allclose(alone.image, a[1].image, rtol=1e-5, atol=1e-6)
    assert not np.allclose(other.image, alone.image)
    # The model comes back as it was: its mode, and its parameters' gradients untouched.
    assert lenet.training
    lenet.eval()
    for p, g in zip(lenet.parameters(), grads, strict=True):
        assert (p.grad is None) == (g is None)
        if g is not None:
            np.testing.assert_array_equal(p.grad.detach().numpy(), g)


def test_maximize_a_single_position_and_errors(lenet) -> None:
    """Without the image-wide regularisers only the pixels a C1 unit sees can move: at (14, 14)
    those are rows and columns 12…16."""
    kw = dict(jitter_px=0, l2=0, tv=0, blur_every=0, position=(14, 14))
    r = F.maximize(lenet, (1, 28, 28), 3, "c1", steps=30, **kw)
    start = F.maximize(lenet, (1, 28, 28), 3, "c1", steps=0, **kw)
    assert r.value > r.start + 1 and start.value == start.start == r.start
    rows, cols = np.nonzero(r.image[0] != start.image[0])
    assert rows.size > 0 and rows.min() >= 12 and rows.max() <= 16
    assert cols.min() >= 12 and cols.max() <= 16
    with pytest.raises(ValueError, match=r"output has 10 units \(0–9\), got unit 10"):
        F.maximize(lenet, (1, 28, 28), 10)
    with pytest.raises(ValueError, match="init has shape"):
        F.maximize(lenet, (1, 28, 28), 1, init=np.zeros((28, 28)))


def test_maximized_picture(lenet, tmp_path) -> None:
    res = F.maximize(lenet, (1, 28, 28), [0, 1, 2], steps=5)
    pic = F.maximized_image(res)
    im.write_png(tmp_path / "m.png", pic)
    assert im.read_png(tmp_path / "m.png").shape == (*pic.shape[:2], 3)


# ------------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def checkpoint(lenet, tmp_path_factory) -> Path:
    from chainrule import train

    path = tmp_path_factory.mktemp("ckpt") / "lenet.safetensors"
    train.save_checkpoint(path, lenet, config={"model": "lenet5", "hidden": [256],
                                                "activation": "relu", "pooling": "max",
                                                "dataset": "mnist"})
    return path


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    from chainrule import cli

    rc = cli.main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_visualize_writes_pictures(checkpoint, tmp_path, capsys) -> None:
    _mnist(False, 1)   # skips without the data
    out = tmp_path / "filters.png"
    rc, text, err = _cli(["visualize", "--checkpoint", str(checkpoint), "--what", "filters",
                          "--out", str(out)], capsys)
    assert rc == 0, err
    pic = im.read_png(out)
    assert f"({pic.shape[1]}×{pic.shape[0]})" in text
    np.testing.assert_array_equal(pic, F.filters_image(
        _load(checkpoint), "c1", title="lenet5 c1: 6 filters, shared scale"))
    out = tmp_path / "top.png"
    rc, text, err = _cli(["visualize", "--checkpoint", str(checkpoint), "--what", "top-inputs",
                          "--layer", "f5", "--unit", "3", "4", "--k", "4", "--limit", "100",
                          "--out", str(out)], capsys)
    assert rc == 0, err
    assert im.read_png(out).shape[0] > 2 * 56
    for what, extra in (("maximize", ["--steps", "3", "--unit", "0", "1"]),
                        ("confusion", ["--limit", "200"])):
        out = tmp_path / f"{what}.png"
        rc, text, err = _cli(["visualize", "--checkpoint", str(checkpoint), "--what", what,
                              "--out", str(out), *extra], capsys)
        assert rc == 0, err
        assert im.read_png(out).shape[2] == 3
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    rc, text, err = _cli(["visualize", "--checkpoint", str(checkpoint), "--what", "filters",
                          "--out", str(tmp_path / "f.svg")], capsys)
    assert rc == 0 and "matplotlib" in text
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")


def _load(path: Path) -> nn.Module:
    from chainrule import io

    model = models.lenet5()
    model.load_state_dict(io.load(path)["model"])
    return model


@pytest.mark.parametrize("args,message", [
    (["--what", "top-inputs"], r"needs --layer; layers: c1 \(6 channels of 28×28\), act1"),
    (["--what", "top-inputs", "--layer", "c9"], "no layer 'c9'; layers: c1"),
    (["--what", "top-inputs", "--layer", "c3", "--unit", "16"],
     r"layer 'c3' has 16 channels \(0–15\), got unit 16"),
    (["--what", "maximize", "--unit", "10"], r"output has 10 units \(0–9\), got unit 10"),
    (["--what", "filters", "--layer", "act1"], "act1' is a ReLU"),
    (["--what", "filters", "--unit", "1"], "--unit is not used with --what filters"),
    (["--what", "confusion", "--layer", "c1"], "not used with --what confusion"),
    (["--what", "top-inputs", "--layer", "c3", "--k", "0"], "--k must be positive"),
])
def test_cli_visualize_errors_name_what_exists(checkpoint, tmp_path, capsys, args,
                                               message) -> None:
    import re

    rc, _, err = _cli(["visualize", "--checkpoint", str(checkpoint), "--out",
                       str(tmp_path / "x.png"), *args], capsys)
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err


def test_cli_visualize_rejects_other_files(tmp_path, capsys) -> None:
    from chainrule import io

    io.save({"weights": np.zeros(3)}, tmp_path / "w.safetensors")
    rc, _, err = _cli(["visualize", "--checkpoint", str(tmp_path / "w.safetensors"), "--what",
                       "filters"], capsys)
    assert rc == 1 and "not a checkpoint written by `chainrule train`" in err
