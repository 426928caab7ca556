"""The real MNIST, when CHAINRULE_DATA points at it (e.g. CHAINRULE_DATA=../shared/data)."""

import numpy as np
import pytest

from chainrule.data import MNIST, DataLoader, DataNotFoundError, FashionMNIST
from chainrule.data import transforms as T

pytestmark = pytest.mark.slow

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def real(real_data_dir, monkeypatch):
    if not real_data_dir:
        pytest.skip("CHAINRULE_DATA is not set: point it at a folder with mnist/ to run this")
    monkeypatch.setenv("CHAINRULE_DATA", real_data_dir)
    return real_data_dir


def pixel_stats(data):
    hist = np.bincount(data.ravel(), minlength=256).astype(np.float64)
    v = np.arange(256) / 255.0
    mean = (hist * v).sum() / hist.sum()
    return mean, np.sqrt((hist * (v - mean) ** 2).sum() / hist.sum())


def test_real_mnist(real):
    train = MNIST(download=False)
    test = MNIST(train=False, download=False)
    assert train.source == "CHAINRULE_DATA"
    assert train.data.shape == (60000, 28, 28) and test.data.shape == (10000, 28, 28)
    assert np.bincount(train.targets).tolist() == TRAIN_COUNTS
    assert np.bincount(test.targets).tolist() == TEST_COUNTS
    mean, std = pixel_stats(train.data)
    assert abs(mean - 0.1307) < 5e-5 and abs(std - 0.3081) < 5e-5
    mean, std = pixel_stats(test.data)
    assert abs(mean - 0.1325) < 5e-5 and abs(std - 0.3105) < 5e-5
    loader = DataLoader(train, batch_size=1000, shuffle=True, seed=0,
                        transform=T.Compose([T.ToTensor(), T.Normalize(0.1307, 0.3081)]))
    x, y = next(iter(loader))
    assert x.shape == (1000, 1, 28, 28) and abs(float(x.numpy().mean())) < 0.1


def test_real_fashion_mnist(real):
    try:
        train = FashionMNIST(download=False)
    except DataNotFoundError:
        pytest.skip("no fashion-mnist/ under CHAINRULE_DATA")
    assert np.bincount(train.targets).tolist() == [6000] * 10
    assert np.bincount(FashionMNIST(train=False, download=False).targets).tolist() == [1000] * 10
