"""Downloads against a local HTTP server; nothing here reaches the network."""

import gzip
import sys

import numpy as np
import pytest

from chainrule.data import MNIST, DataNotFoundError, FashionMNIST, cache_dir

TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")


@pytest.fixture
def published(fake, monkeypatch):
    """The fake files as published: their .gz md5s are the known checksums."""
    monkeypatch.setattr(MNIST, "checksums", fake.checksums("gz"))
    monkeypatch.setattr(FashionMNIST, "checksums", fake.checksums("gz"))
    return {f"{k}.gz": v for k, v in fake.gz.items()}


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_to_cache_then_reuse(server, fake, published):
    url = server.serve("good", published)
    ds = MNIST(mirrors=[url])
    assert ds.source == "download" and ds.folder == cache_dir() / "mnist"
    np.testing.assert_array_equal(ds.data, fake.arrays[TRAIN[0]])
    np.testing.assert_array_equal(ds.targets, fake.arrays[TRAIN[1]])
    assert leftovers(ds.folder) == [f"{n}.gz" for n in TRAIN]   # no temp files
    assert (ds.folder / f"{TRAIN[0]}.gz").read_bytes() == published[f"{TRAIN[0]}.gz"]
    server.close()                      # the cache needs no server
    again = MNIST(mirrors=["http://127.0.0.1:9/"])
    assert again.source == "cache"


def test_download_into_root(tmp_path, server, published):
    url = server.serve("good", published)
    ds = MNIST(root=tmp_path, train=False, mirrors=[url])
    assert ds.folder == tmp_path / "mnist" and len(ds) == 25
    assert MNIST(root=tmp_path, train=False, download=False).source == "root"


def test_mirror_from_environment(server, published, monkeypatch):
    url = server.serve("env", published)
    monkeypatch.setenv("CHAINRULE_FASHION_MNIST_MIRRORS", f"http://127.0.0.1:9/x/, {url}")
    assert FashionMNIST().source == "download"
    assert cache_dir().joinpath("fashion-mnist", f"{TRAIN[0]}.gz").is_file()


@pytest.mark.parametrize("mode", ["corrupt", "cut", "missing", "wrong-dataset"])
def test_bad_mirror_is_skipped_and_leaves_nothing(server, published, mode):
    bad = dict(published)
    if mode == "corrupt":   # a flipped byte: the checksum fails
        bad = {k: v[:40] + bytes([v[40] ^ 1]) + v[41:] for k, v in published.items()}
    elif mode == "wrong-dataset":   # a valid IDX gzip, but not the published file
        bad = {k: gzip.compress(gzip.decompress(v)[:-1] + b"\x01") for k, v in
               published.items()}
    bad_url = server.serve("bad", {} if mode == "missing" else bad,
                           "cut" if mode == "cut" else "ok")
    good_url = server.serve("good", published)
    ds = MNIST(mirrors=[bad_url, good_url])
    assert ds.source == "download"
    assert server.log[:2] == [f"/bad/{TRAIN[0]}.gz", f"/good/{TRAIN[0]}.gz"]
    assert leftovers(ds.folder) == [f"{n}.gz" for n in TRAIN]


@pytest.mark.parametrize("mode", ["corrupt", "cut"])
def test_all_mirrors_bad_leaves_no_file(tmp_path, server, published, mode):
    bad = {k: v[:-5] for k, v in published.items()} if mode == "corrupt" else published
    urls = [server.serve("a", bad, "cut" if mode == "cut" else "ok"),
            server.serve("b", bad, "cut" if mode == "cut" else "ok")]
    with pytest.raises(DataNotFoundError) as info:
        MNIST(root=tmp_path, mirrors=urls)
    msg = str(info.value)
    assert f"{urls[0]}{TRAIN[0]}.gz" in msg and f"{urls[1]}{TRAIN[0]}.gz" in msg
    assert "CHAINRULE_DATA" in msg
    assert leftovers(tmp_path) == []          # not even an empty mnist/ folder


def test_damaged_cache_file_is_downloaded_again(server, fake, published):
    folder = cache_dir() / "mnist"
    fake.write(folder)
    (folder / f"{TRAIN[0]}.gz").write_bytes(b"\x1f\x8b garbage")
    url = server.serve("good", published)
    ds = MNIST(mirrors=[url])
    assert ds.source == "download" and server.log == [f"/good/{TRAIN[0]}.gz"]
    np.testing.assert_array_equal(ds.data, fake.arrays[TRAIN[0]])


def test_damaged_cache_without_download_raises(fake, published):
    folder = cache_dir() / "mnist"
    fake.write(folder)
    (folder / f"{TRAIN[1]}.gz").write_bytes(b"junk")
    with pytest.raises(Exception, match=TRAIN[1]):
        MNIST(download=False)


def test_progress(tmp_path, server, published, capsys):
    url = server.serve("good", published)
    MNIST(root=tmp_path / "a", mirrors=[url])    # stderr is not a terminal: silent
    assert capsys.readouterr().err == ""
    MNIST(root=tmp_path / "b", mirrors=[url], progress=True)
    assert f"{TRAIN[0]}.gz" in capsys.readouterr().err


def test_progress_without_tqdm_is_a_mib_counter(tmp_path, server, published, capsys,
                                                  monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)   # as without the `progress` extra
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    url = server.serve("good", published)
    MNIST(root=tmp_path, mirrors=[url], progress=True)
    lines = capsys.readouterr().err.split("\n")
    assert lines[0].startswith(f"\r{TRAIN[0]}.gz: 0.0 / 0.0 MiB") and lines[-1] == ""
    assert lines[1].startswith(f"\r{TRAIN[1]}.gz: ") and len(lines) == 3
