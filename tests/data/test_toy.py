import numpy as np
import pytest

import chainrule as cr
from chainrule.data import make_blobs, make_circles, make_moons, make_spirals, make_xor

MAKERS = [(make_xor, 2), (make_moons, 2), (make_circles, 2), (make_spirals, 2),
          (make_blobs, 3)]


@pytest.mark.parametrize("make, k", MAKERS)
def test_shapes_labels_determinism(make, k):
    X, y = make(n_samples=101, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert len(counts) == k and counts.max() - counts.min() <= 1     # balanced
    X2, y2 = make(n_samples=101, seed=0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, make(n_samples=101, seed=1)[0])
    assert np.all(np.isfinite(X))
    assert not np.array_equal(y, np.sort(y))                          # shuffled
    cr.manual_seed(3)
    a = make(n_samples=20)
    cr.manual_seed(3)
    b = make(n_samples=20)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_geometry_without_noise():
    X, y = make_xor(200, noise=0.0, seed=0)
    assert np.all(np.abs(X) == 1) and np.array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(int))
    X, y = make_circles(200, noise=0.0, seed=0, factor=0.3)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1, rtol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.3, rtol=1e-6)
    X, y = make_moons(200, noise=0.0, seed=0)
    np.testing.assert_allclose(np.hypot(X[y == 0, 0], X[y == 0, 1]), 1, rtol=1e-6)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5), 1, rtol=1e-6)
    X, y = make_spirals(300, noise=0.0, seed=0, n_arms=3)
    assert set(y.tolist()) == {0, 1, 2} and np.hypot(X[:, 0], X[:, 1]).max() <= 1 + 1e-6


def test_blobs_centers():
    centers = [[0, 0], [10, 10], [-10, 5]]
    X, y = make_blobs(3000, centers=centers, noise=0.5, seed=0)
    for k, c in enumerate(centers):
        np.testing.assert_allclose(X[y == k].mean(0), c, atol=0.1)
        np.testing.assert_allclose(X[y == k].std(0), 0.5, atol=0.05)
    assert len(np.unique(make_blobs(50, centers=5, seed=0)[1])) == 5
