"""chainrule.data.transforms: torchvision's per-sample rules (checked against the same arithmetic
in torch), and `batch(xs)` equal, bit for bit, to the stack of the per-sample results."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import transforms as T


def images(n=4, h=28, w=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w), dtype=np.uint8)


def per_sample(t, xs, rng=None):
    return np.stack([np.asarray(t(x, rng=rng)) for x in xs])


# ----------------------------------------------------------------- ToTensor
def test_to_tensor_on_one_image_is_torchvisions(torch):
    x = images(1)[0]
    y = T.ToTensor()(x)
    assert isinstance(y, cr.Tensor) and y.shape == (1, 28, 28) and str(y.dtype) == "float32"
    np.testing.assert_array_equal(y.numpy(), torch.from_numpy(x)[None].float().div(255).numpy())
    rgb = np.random.default_rng(1).integers(0, 256, (5, 6, 3), dtype=np.uint8)   # H x W x C
    np.testing.assert_array_equal(T.ToTensor()(rgb).numpy(),
                                  rgb.transpose(2, 0, 1) / np.float32(255))
    f64 = np.random.default_rng(2).random((5, 6))
    out = T.ToTensor()(f64)                     # not uint8: dtype kept, no scaling
    assert str(out.dtype) == "float64" and np.array_equal(out.numpy()[0], f64)
    assert T.ToTensor()(np.full((2, 2), 255, np.uint8)).numpy().max() == 1.0
    with pytest.raises(ValueError, match="2/3 dimensional"):
        T.ToTensor()(np.zeros((1, 2, 2, 1), np.uint8))


@pytest.mark.parametrize("shape", [(4, 28, 28), (3, 5, 6, 3), (2, 4, 4, 1)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_to_tensor_batch_is_the_stack_of_samples(shape, dtype):
    xs = (np.random.default_rng(0).random(shape) * 255).astype(dtype)
    got = T.ToTensor().batch(xs)
    assert got.dtype == (np.float32 if dtype == np.uint8 else dtype)
    np.testing.assert_array_equal(got, per_sample(T.ToTensor(), xs))
    with pytest.raises(ValueError):
        T.ToTensor().batch(xs[0, 0])


# ----------------------------------------------------------------- Normalize
def test_normalize_matches_torch_and_keeps_the_dtype(torch):
    x = T.ToTensor()(images(1)[0])
    y = T.Normalize((0.1307,), (0.3081,))(x)
    expect = (torch.from_numpy(x.numpy()) - torch.tensor([0.1307]).view(-1, 1, 1)) / \
        torch.tensor([0.3081]).view(-1, 1, 1)
    assert isinstance(y, cr.Tensor) and str(y.dtype) == "float32"
    np.testing.assert_array_equal(y.numpy(), expect.numpy())
    rgb = np.random.default_rng(0).random((3, 4, 4))                  # float64 C x H x W
    z = T.Normalize([0.0, 0.5, 1.0], [1.0, 0.5, 2.0])(cr.from_numpy(rgb))
    assert str(z.dtype) == "float64"
    np.testing.assert_array_equal(z.numpy(), (rgb - np.array([0, .5, 1])[:, None, None])
                                  / np.array([1, .5, 2])[:, None, None])


def test_normalize_errors_are_torchvisions():
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize(0.5, 0.5)(cr.zeros(1, 2, 2, dtype=cr.uint8))
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        T.Normalize(0.5, 0.5)(cr.zeros(2, 2))
    with pytest.raises(ValueError):
        T.Normalize(0, 0)
    with pytest.raises(RuntimeError, match="do not fit"):
        T.Normalize([0.5, 0.5], [1.0, 1.0])(cr.zeros(3, 2, 2))


def test_normalize_inplace_writes_into_the_tensor():
    x = cr.ones(1, 2, 2)
    assert T.Normalize(0.5, 0.25, inplace=True)(x) is x
    assert np.all(x.numpy() == 2.0)


def test_normalize_batch_is_the_stack_of_samples():
    xs = T.ToTensor().batch(images(5))
    for t in (T.Normalize(0.1307, 0.3081), T.Normalize((0.5,), (0.2,))):
        np.testing.assert_array_equal(t.batch(xs), per_sample(t, xs))
    rgb = np.random.default_rng(0).random((2, 3, 4, 4)).astype(np.float32)
    t = T.Normalize([0.1, 0.2, 0.3], [0.4, 0.5, 0.6])
    np.testing.assert_array_equal(t.batch(rgb), per_sample(t, rgb))


# ----------------------------------------------------------------- Pad
@pytest.mark.parametrize("padding, mode, torch_mode", [
    (2, "constant", "constant"), ((1, 3), "constant", "constant"),
    ((1, 2, 3, 4), "edge", "replicate"), ((2, 1), "reflect", "reflect")])
def test_pad_matches_torch(torch, padding, mode, torch_mode):
    x = T.ToTensor()(images(1, 6, 7)[0])
    left, top, right, bottom = (padding,) * 4 if isinstance(padding, int) else (
        (padding[0], padding[1]) * 2 if len(padding) == 2 else padding)
    expect = torch.nn.functional.pad(torch.from_numpy(x.numpy())[None],
                                     (left, right, top, bottom), mode=torch_mode)[0]
    got = T.Pad(padding, padding_mode=mode)(x)
    assert isinstance(got, cr.Tensor)
    np.testing.assert_array_equal(got.numpy(), expect.numpy())


def test_pad_arrays_stay_arrays_and_batch_is_the_stack():
    xs = images(3)
    y = T.Pad(2, fill=7)(xs[0])
    assert isinstance(y, np.ndarray) and y.shape == (32, 32) and y.dtype == np.uint8
    assert y[0, 0] == 7 and np.array_equal(y[2:30, 2:30], xs[0])
    for t in (T.Pad(2), T.Pad((1, 2, 3, 4), fill=3), T.Pad(1, padding_mode="symmetric")):
        np.testing.assert_array_equal(t.batch(xs), per_sample(t, xs))
    with pytest.raises(ValueError, match="1, 2, or 4"):
        T.Pad((1, 2, 3))
    with pytest.raises(ValueError, match="Padding mode"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError):
        T.Pad(-1)


# ----------------------------------------------------------------- RandomShift
def shifted(img, dy, dx):
    """Reference: translate by (dy, dx), zero fill."""
    h, w = img.shape
    out = np.zeros_like(img)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        img[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


@pytest.mark.parametrize("channel", [False, True])
def test_random_shift_is_a_per_sample_translation(channel):
    n, s = 64, 2
    x = (np.arange(n * 100).reshape(n, 10, 10) % 250 + 1).astype(np.uint8)  # no zeros
    inp = x[:, None] if channel else x
    y = T.RandomShift(s).batch(inp, rng=np.random.default_rng(0))
    assert y.shape == inp.shape and y.dtype == np.uint8
    y = y[:, 0] if channel else y
    seen = set()
    for i in range(n):
        hits = [(dy, dx) for dy in range(-s, s + 1) for dx in range(-s, s + 1)
                if np.array_equal(y[i], shifted(x[i], dy, dx))]
        assert len(hits) == 1
        seen.add(hits[0])
    assert len(seen) > 10                                       # shifts differ per sample


def test_random_shift_draws_the_same_shifts_alone_or_in_a_batch():
    xs = images(50, 9, 9)
    batch = T.RandomShift(3).batch(xs, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(batch, per_sample(T.RandomShift(3), xs,
                                                    rng=np.random.default_rng(4)))
    t = T.ToTensor()(xs[0])
    assert isinstance(T.RandomShift(1)(t), cr.Tensor)


def test_random_shift_generators():
    x = images(8)
    a = T.RandomShift(3).batch(x, rng=np.random.default_rng(5))
    assert np.array_equal(a, T.RandomShift(3).batch(x, rng=np.random.default_rng(5)))
    own = T.RandomShift(3, generator=np.random.default_rng(5))
    assert np.array_equal(own.batch(x, rng=np.random.default_rng(99)), a)   # its own wins
    cr.manual_seed(1)
    b = T.RandomShift(3).batch(x)
    cr.manual_seed(1)
    assert np.array_equal(b, T.RandomShift(3).batch(x))
    assert np.array_equal(T.RandomShift(0).batch(x), x)


# ----------------------------------------------------------------- Compose, Lambda, Flatten
def test_compose_of_batchable_transforms_batches_identically():
    t = T.Compose([T.Pad(2), T.ToTensor(), T.RandomShift(1), T.Normalize(0.5, 0.5),
                   T.Flatten()])
    assert t.batchable
    xs = images(6)
    y = t.batch(xs, rng=np.random.default_rng(0))
    assert y.shape == (6, 32 * 32) and y.dtype == np.float32
    np.testing.assert_array_equal(y, per_sample(t, xs, rng=np.random.default_rng(0)))
    assert "RandomShift(max_shift=1)" in repr(t) and "Normalize(mean=0.5, std=0.5)" in repr(t)


def test_lambda_runs_per_sample_and_makes_a_pipeline_unbatchable():
    lam = T.Lambda(lambda x: x.reshape(-1) * 2)     # a per-sample function, as in torchvision
    assert not lam.batchable and repr(lam) == "Lambda()"
    t = T.Compose([T.ToTensor(), lam])
    assert not t.batchable
    y = t(images(1)[0])
    assert isinstance(y, cr.Tensor) and y.shape == (784,)
    with pytest.raises(TypeError, match="no batched form"):
        t.batch(images(2))
    with pytest.raises(TypeError, match="callable"):
        T.Lambda(3)
    assert T.Flatten()(T.ToTensor()(images(1)[0])).shape == (784,)
    assert T.Identity()(y) is y
