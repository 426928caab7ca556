import gzip
import hashlib

import numpy as np
import pytest

from chainrule.data import MNIST, DataError, DataLoader, DataNotFoundError, FashionMNIST, cache_dir
from chainrule.data import transforms as T

TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def trusted(fake, monkeypatch):
    """The fake files' gzip md5s are the 'published' ones."""
    monkeypatch.setattr(MNIST, "checksums", fake.checksums("gz"))
    monkeypatch.setattr(FashionMNIST, "checksums", fake.checksums("gz"))
    return fake


def check(ds, fake, train=True):
    images, labels = TRAIN if train else TEST
    assert ds.data.dtype == np.uint8 and ds.data.shape == fake.arrays[images].shape
    assert ds.targets.dtype == np.int64
    np.testing.assert_array_equal(ds.data, fake.arrays[images])
    np.testing.assert_array_equal(ds.targets, fake.arrays[labels])
    assert len(ds) == len(fake.arrays[labels]) and len(ds.classes) == 10


def test_root_folder_with_the_files(tmp_path, trusted):
    trusted.write(tmp_path / "here")
    ds = MNIST(root=tmp_path / "here", download=False)
    check(ds, trusted)
    assert ds.source == "root" and ds.folder == tmp_path / "here"
    check(MNIST(root=tmp_path / "here", train=False, download=False), trusted, train=False)


@pytest.mark.parametrize("cls, sub", [(MNIST, "mnist"), (FashionMNIST, "fashion-mnist"),
                                      (MNIST, "MNIST/raw"), (FashionMNIST, "FashionMNIST/raw")])
def test_root_with_dataset_subfolder(tmp_path, trusted, cls, sub):
    trusted.write(tmp_path / sub)
    ds = cls(root=str(tmp_path), download=False)
    check(ds, trusted)
    assert ds.folder == tmp_path / sub


def test_uncompressed_files(tmp_path, trusted, monkeypatch):
    monkeypatch.setattr(MNIST, "checksums", trusted.checksums("content"))
    check(MNIST(root=trusted.write(tmp_path, compress=False), download=False), trusted)


def test_chainrule_data_env(tmp_path, trusted, monkeypatch):
    trusted.write(tmp_path / "data" / "mnist")
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    ds = MNIST(train=False, download=False)
    check(ds, trusted, train=False)
    assert ds.source == "CHAINRULE_DATA"
    with pytest.raises(DataNotFoundError):   # mnist/ is not fashion-mnist/
        FashionMNIST(download=False)


def test_cache_folder(tmp_path, trusted, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "chainrule"
    trusted.write(tmp_path / "xdg" / "chainrule" / "mnist")
    ds = MNIST(download=False)
    assert ds.source == "cache"
    check(ds, trusted)
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "chainrule"


def test_precedence_root_then_env_then_cache(tmp_path, monkeypatch, make_fake):
    fakes = [make_fake(seed=s) for s in range(3)]
    sums = {k: tuple(f.checksums()[k][0] for f in fakes) for k in fakes[0].arrays}
    monkeypatch.setattr(MNIST, "checksums", sums)
    fakes[0].write(tmp_path / "root")
    fakes[1].write(tmp_path / "env" / "mnist")
    fakes[2].write(cache_dir() / "mnist")
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "env"))
    check(MNIST(root=tmp_path / "root", download=False), fakes[0])
    check(MNIST(root=tmp_path / "empty", download=False), fakes[1])
    monkeypatch.delenv("CHAINRULE_DATA")
    check(MNIST(download=False), fakes[2])


def test_checksum_of_decompressed_content_accepted(tmp_path, fake, monkeypatch):
    # Re-compressed copies (other gzip level/mtime) differ in their .gz md5 only.
    folder = tmp_path / "recompressed"
    folder.mkdir()
    for name, content in fake.content.items():
        gz = gzip.compress(content, compresslevel=1, mtime=123)
        assert md5(gz) != fake.checksums("gz")[name][0]
        (folder / f"{name}.gz").write_bytes(gz)
    monkeypatch.setattr(MNIST, "checksums", {k: ("0" * 32, v[0]) for k, v in
                                             fake.checksums("content").items()})
    check(MNIST(root=folder, download=False), fake)


def test_checksum_mismatch_rejected(tmp_path, fake, monkeypatch):
    fake.write(tmp_path)
    monkeypatch.setattr(MNIST, "checksums", {k: ("0" * 32,) for k in fake.arrays})
    with pytest.raises(DataError, match="checksum mismatch") as info:
        MNIST(root=tmp_path, download=False)
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    check(MNIST(root=tmp_path, download=False, verify=False), fake)


def test_real_checksums_reject_fake_files(tmp_path, fake):
    fake.write(tmp_path)
    with pytest.raises(DataError, match="checksum"):
        MNIST(root=tmp_path, download=False)


def test_not_found_explains_how_to_point_at_mnist(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        MNIST(root=tmp_path, download=False)
    msg = str(info.value)
    assert "CHAINRULE_DATA" in msg and "root=" in msg and str(tmp_path) in msg
    assert isinstance(info.value, DataError)


def test_inconsistent_files(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(MNIST, "checksums", {})
    fake.write(tmp_path)
    (tmp_path / f"{TRAIN[1]}.gz").write_bytes(fake.gz[TEST[1]])        # 25 labels, 60 images
    with pytest.raises(DataError, match="25 labels for 60 images"):
        MNIST(root=tmp_path, download=False, verify=False)
    from chainrule.data import write_idx
    write_idx(tmp_path / f"{TRAIN[1]}.gz", np.full(60, 10, np.uint8))
    with pytest.raises(DataError, match="labels must lie in 0..9"):
        MNIST(root=tmp_path, download=False, verify=False)


def test_items_batches_and_transform(tmp_path, trusted):
    trusted.write(tmp_path)
    ds = MNIST(root=tmp_path, download=False, transform=T.ToTensor())
    x, y = ds[3]
    assert x.shape == (1, 28, 28) and str(x.dtype) == "float32" and isinstance(y, int)
    xb, yb = ds.get_batch(np.array([3, 0, 3]))
    assert xb.shape == (3, 1, 28, 28) and xb.dtype == np.float32
    np.testing.assert_allclose(xb[0, 0], trusted.arrays[TRAIN[0]][3] / 255, rtol=1e-6)
    np.testing.assert_array_equal(yb, trusted.arrays[TRAIN[1]][[3, 0, 3]])
    assert FashionMNIST.classes_[0] == "T-shirt/top"


def test_no_transform_gives_the_raw_images_as_torchvision_gives_pil_images(tmp_path, trusted):
    trusted.write(tmp_path)
    x, y = next(iter(DataLoader(MNIST(root=tmp_path, download=False, transform=T.ToTensor()),
                                batch_size=8)))
    assert x.shape == (8, 1, 28, 28) and str(x.dtype) == "float32" and str(y.dtype) == "int64"
    assert float(x.numpy().max()) <= 1.0
    img, label = MNIST(root=tmp_path, download=False)[0]
    assert isinstance(img, np.ndarray) and img.shape == (28, 28) and img.dtype == np.uint8
    assert isinstance(label, int)
    raw = MNIST(root=tmp_path, download=False)
    x, _ = next(iter(DataLoader(raw, batch_size=8)))
    assert x.shape == (8, 28, 28) and str(x.dtype) == "uint8"
    np.testing.assert_array_equal(x.numpy(), trusted.arrays[TRAIN[0]][:8])
