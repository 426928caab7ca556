import numpy as np
import pytest

import chainrule as cr
from chainrule.data import transforms as T


def batch(n=4, h=28, w=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w), dtype=np.uint8)


def test_to_tensor():
    x = batch()
    y = T.ToTensor()(x)
    assert y.shape == (4, 1, 28, 28) and y.dtype == np.float32
    np.testing.assert_allclose(y[:, 0], x / 255.0, rtol=1e-6)
    assert T.ToTensor()(np.full((1, 2, 2), 255, np.uint8)).max() == 1.0
    assert T.ToTensor()(y).shape == (4, 1, 28, 28)              # 4-D float: unchanged shape
    assert T.ToTensor()(cr.from_numpy(x)).shape == (4, 1, 28, 28)


def test_normalize_scalar_and_per_channel():
    x = T.ToTensor()(batch())
    y = T.Normalize(0.1307, 0.3081)(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, (x - 0.1307) / 0.3081, rtol=1e-5, atol=1e-6)
    rgb = np.ones((2, 3, 4, 4), np.float32)
    z = T.Normalize([0.0, 0.5, 1.0], [1.0, 0.5, 2.0])(rgb)
    assert z.shape == rgb.shape and z[:, :, 0, 0].tolist() == [[1.0, 1.0, 0.0]] * 2
    with pytest.raises(ValueError):
        T.Normalize(0, 0)


def test_pad():
    x = batch()
    y = T.Pad(2)(x)
    assert y.shape == (4, 32, 32) and y.dtype == np.uint8
    np.testing.assert_array_equal(y[:, 2:30, 2:30], x)
    assert y[:, :2].max() == 0 and y[:, :, -2:].max() == 0
    assert T.Pad(1)(T.ToTensor()(x)).shape == (4, 1, 30, 30)


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
    y = T.RandomShift(s)(inp, rng=np.random.default_rng(0))
    assert y.shape == inp.shape and y.dtype == np.uint8
    y = y[:, 0] if channel else y
    seen = set()
    for i in range(n):
        hits = [(dy, dx) for dy in range(-s, s + 1) for dx in range(-s, s + 1)
                if np.array_equal(y[i], shifted(x[i], dy, dx))]
        assert len(hits) == 1
        seen.add(hits[0])
    assert len(seen) > 10                                       # shifts differ per sample


def test_random_shift_generators():
    x = batch(8)
    a = T.RandomShift(3)(x, rng=np.random.default_rng(5))
    assert np.array_equal(a, T.RandomShift(3)(x, rng=np.random.default_rng(5)))
    own = T.RandomShift(3, generator=np.random.default_rng(5))
    assert np.array_equal(own(x, rng=np.random.default_rng(99)), a)   # its own wins
    cr.manual_seed(1)
    b = T.RandomShift(3)(x)
    cr.manual_seed(1)
    assert np.array_equal(b, T.RandomShift(3)(x))
    assert np.array_equal(T.RandomShift(0)(x), x)


def test_flatten_compose_lambda():
    t = T.Compose([T.ToTensor(), T.Pad(2), T.RandomShift(1), T.Normalize(0.5, 0.5),
                   T.Flatten(), T.Lambda(lambda a: a * 2)])
    y = t(batch(3), rng=np.random.default_rng(0))
    assert y.shape == (3, 32 * 32) and y.dtype == np.float32
    z = T.Compose([T.ToTensor(), T.Pad(2), T.RandomShift(1), T.Normalize(0.5, 0.5),
                   T.Flatten()])(batch(3), rng=np.random.default_rng(0))
    np.testing.assert_array_equal(y, z * 2)
    assert "RandomShift(max_shift=1)" in repr(t.transforms[2])
