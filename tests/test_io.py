"""`chainrule.io`: checkpoint round trips, safetensors interop, corrupt files, atomic writes."""

from __future__ import annotations

import json
import math
import os
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule import io as cr_io
from chainrule import nn
from chainrule.io import CheckpointError

FORMATS = ["safetensors", "npz"]


def assert_same(a, b, where="<root>"):
    """Deep equality that also checks container types, key types, dtypes and NaN positions."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            assert type(k) is type(next(kk for kk in b if kk == k)), f"{where}: key type of {k!r}"
            assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}/{i}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} != " \
                                                          f"{b.dtype}{b.shape}"
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _nested():
    rng = np.random.default_rng(0)
    return {
        "model": {"fc1.weight": rng.standard_normal((3, 4)).astype(np.float32),
                  "fc1.bias": np.zeros(3, np.float32),
                  "double": rng.standard_normal(5)},
        "optimizer": {
            "state": {0: {"step": 12, "exp_avg": np.ones((2, 2), np.float32)},
                      1: {"step": 12, "exp_avg": np.arange(4.0)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                              "nesterov": False, "weight_decay": 0.0}],
        },
        "ints": np.arange(6, dtype=np.int64).reshape(2, 3),
        "bytes": np.array([0, 7, 255], np.uint8),
        "mask": np.array([[True, False], [False, True]]),
        "scalar0d": np.array(2.5, np.float32),
        "empty": np.zeros((0, 3), np.float32),
        "rng": np.random.default_rng(12345).bit_generator.state,  # 128-bit ints
        "big": 2**100 + 7, "neg": -(2**70), "zero": 0,
        "floats": [math.inf, -math.inf, math.nan, 0.1, -0.0, 1e300],
        "none": None, "text": "héllo / wörld", "empty_str": "", "flag": True,
        "nested_lists": [[1, [2, (3, "x")]], ()],
        "tuple": (1, 2.5, None),
        "empty_dict": {}, "empty_list": [],
        7: "int key", "7": "str key",
    }


# ----------------------------------------------------------------- round trips
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_of_nested_structures(tmp_path, fmt):
    obj = _nested()
    path = tmp_path / f"ckpt.{fmt}"
    cr_io.save(obj, path)
    back = cr_io.load(path)
    assert_same(obj, back)
    # the loaded arrays are fresh, writable copies
    back["model"]["fc1.weight"][0, 0] = 99.0
    assert obj["model"]["fc1.weight"][0, 0] != 99.0


@pytest.mark.parametrize("fmt", FORMATS)
def test_generator_state_round_trip_restores_the_stream(tmp_path, fmt):
    g = np.random.default_rng(2024)
    g.random(10)
    path = tmp_path / f"rng.{fmt}"
    cr_io.save({"rng": g.bit_generator.state}, path)
    expected = g.random(5)
    g2 = np.random.default_rng()
    g2.bit_generator.state = cr_io.load(path)["rng"]
    np.testing.assert_array_equal(g2.random(5), expected)


@pytest.mark.parametrize("fmt", FORMATS)
def test_tensors_non_contiguous_and_numpy_scalars(tmp_path, fmt):
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    obj = {"t": cr.tensor([[1.0, 2.0]]), "strided": base[:, ::2], "transposed": base.T,
           "np_float": np.float32(1.5), "np_int": np.int64(-3), "np_bool": np.bool_(True)}
    path = tmp_path / f"x.{fmt}"
    cr_io.save(obj, path)
    back = cr_io.load(path)
    assert isinstance(back["t"], np.ndarray) and back["t"].dtype == np.float32
    np.testing.assert_array_equal(back["t"], [[1.0, 2.0]])
    np.testing.assert_array_equal(back["strided"], base[:, ::2])
    np.testing.assert_array_equal(back["transposed"], base.T)
    assert back["np_float"] == 1.5 and type(back["np_float"]) is float
    assert back["np_int"] == -3 and type(back["np_int"]) is int
    assert back["np_bool"] is True


@pytest.mark.parametrize("fmt", FORMATS)
def test_big_endian_arrays_are_stored_little_endian(tmp_path, fmt):
    a = np.arange(5, dtype=">f4")
    path = tmp_path / f"be.{fmt}"
    cr_io.save({"a": a}, path)
    back = cr_io.load(path)["a"]
    np.testing.assert_array_equal(back, a)
    assert back.dtype == np.float32


@pytest.mark.parametrize("fmt", FORMATS)
def test_metadata_round_trip(tmp_path, fmt):
    path = tmp_path / f"m.{fmt}"
    cr_io.save({"w": np.ones(2, np.float32)}, path, metadata={"epoch": "3", "note": "best"})
    assert cr_io.load_metadata(path) == {"epoch": "3", "note": "best"}
    np.testing.assert_array_equal(cr_io.load(path)["w"], [1.0, 1.0])


@pytest.mark.parametrize("fmt", FORMATS)
def test_module_state_dict_round_trip_restores_outputs(tmp_path, fmt):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    path = tmp_path / f"model.{fmt}"
    cr_io.save({"model": model.state_dict(), "epoch": 5}, path)
    fresh = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    ckpt = cr_io.load(path)
    fresh.load_state_dict(ckpt["model"])
    x = cr.randn(3, 4)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())
    assert ckpt["epoch"] == 5


def test_save_creates_missing_folders(tmp_path):
    path = tmp_path / "a" / "b" / "c.safetensors"
    cr_io.save({"x": 1}, path)
    assert cr_io.load(path) == {"x": 1}


def test_load_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        cr_io.load(tmp_path / "nope.safetensors")


scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**130), 2**130),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
array_st = st.builds(
    lambda dtype, shape, seed: np.asarray(  # asarray: keep 0-d arrays (not NumPy scalars)
        np.random.default_rng(seed).standard_normal(shape) * 100).astype(dtype),
    st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]),
    st.lists(st.integers(0, 3), max_size=3).map(tuple), st.integers(0, 2**32 - 1))
keys = st.one_of(st.text(alphabet="abcxyz._-", min_size=1, max_size=5), st.integers(-5, 50))
trees = st.recursive(
    st.one_of(scalars, array_st),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.lists(children, max_size=3).map(tuple),
                               st.dictionaries(keys, children, max_size=3)),
    max_leaves=10)


@given(tree=st.dictionaries(keys, trees, max_size=4), fmt=st.sampled_from(FORMATS))
def test_round_trip_property(tmp_path_factory, tree, fmt):
    path = tmp_path_factory.mktemp("prop") / f"t.{fmt}"
    try:
        cr_io.save(tree, path)
    except TypeError as e:  # only possible clash: keys 1 and "1" both holding arrays
        assert "array name" in str(e)
        return
    assert_same(tree, cr_io.load(path))


# ----------------------------------------------------------------- safetensors interop
def test_our_file_is_read_by_the_safetensors_package(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    from safetensors import safe_open

    obj = _nested()
    path = tmp_path / "ckpt.safetensors"
    cr_io.save(obj, path, metadata={"epoch": "4"})
    tensors = safetensors_numpy.load_file(str(path))
    expected = {
        "model/fc1.weight": obj["model"]["fc1.weight"], "model/fc1.bias": obj["model"]["fc1.bias"],
        "model/double": obj["model"]["double"],
        "optimizer/state/0/exp_avg": obj["optimizer"]["state"][0]["exp_avg"],
        "optimizer/state/1/exp_avg": obj["optimizer"]["state"][1]["exp_avg"],
        "ints": obj["ints"], "bytes": obj["bytes"], "mask": obj["mask"],
        "scalar0d": obj["scalar0d"], "empty": obj["empty"],
    }
    assert sorted(tensors) == sorted(expected)
    for k, v in expected.items():
        assert tensors[k].dtype == v.dtype and tensors[k].shape == v.shape, k
        np.testing.assert_array_equal(tensors[k], v, err_msg=k)
    with safe_open(str(path), framework="numpy") as f:
        assert f.metadata()["epoch"] == "4"


def test_a_safetensors_package_file_loads_as_a_flat_dict(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(1)
    tensors = {"embed.weight": rng.standard_normal((5, 3)).astype(np.float32),
               "head.bias": rng.standard_normal(2), "ids": np.arange(7, dtype=np.int64),
               "flags": np.array([True, False]), "pix": np.array([[1, 2]], np.uint8)}
    path = tmp_path / "theirs.safetensors"
    safetensors_numpy.save_file(tensors, str(path), metadata={"format": "np"})
    back = cr_io.load(path)
    assert sorted(back) == sorted(tensors)
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype, k
        np.testing.assert_array_equal(back[k], v, err_msg=k)
    assert cr_io.load_metadata(path) == {"format": "np"}


def test_torch_state_dict_via_safetensors_loads_into_a_module(tmp_path, torch):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(tmodel.state_dict(), str(path))
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    model.load_state_dict(cr_io.load(path))
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(),
                               tmodel(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


# ----------------------------------------------------------------- corrupt files
def _write_st(tmp_path, name="bad.safetensors"):
    path = tmp_path / name
    cr_io.save({"a": np.arange(10, dtype=np.float32), "b": {"c": np.ones((2, 3))}, "n": 1}, path)
    return path


def _header(path):
    blob = path.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    return n, json.loads(blob[8:8 + n]), blob[8 + n:]


def _rewrite(path, header, data):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def _raises_naming(path, fn=cr_io.load):
    with pytest.raises(CheckpointError) as info:
        fn(path)
    assert str(path) in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("cut", ["empty", "in_length", "in_header", "end_of_header",
                                 "in_data", "last_byte"])
def test_truncated_safetensors_raise_checkpoint_error(tmp_path, cut):
    path = _write_st(tmp_path)
    blob = path.read_bytes()
    n = struct.unpack("<Q", blob[:8])[0]
    keep = {"empty": 0, "in_length": 5, "in_header": 8 + n // 2, "end_of_header": 8 + n,
            "in_data": 8 + n + 20, "last_byte": len(blob) - 1}[cut]
    path.write_bytes(blob[:keep])
    _raises_naming(path)


def test_garbage_header_json(tmp_path):
    path = _write_st(tmp_path)
    n, _, data = _header(path)
    path.write_bytes(struct.pack("<Q", n) + b"{not json!" + b"x" * (n - 10) + data)
    _raises_naming(path)


def test_header_not_utf8(tmp_path):
    path = _write_st(tmp_path)
    n, _, data = _header(path)
    path.write_bytes(struct.pack("<Q", n) + b"\xff\xfe" * (n // 2) + b" " * (n % 2) + data)
    _raises_naming(path)


@pytest.mark.parametrize("length", [2**40, 2**64 - 1, 10**6])
def test_header_length_larger_than_the_file(tmp_path, length):
    path = _write_st(tmp_path)
    blob = path.read_bytes()
    path.write_bytes(struct.pack("<Q", length) + blob[8:])
    msg = _raises_naming(path)
    assert "header" in msg


@pytest.mark.parametrize("offsets", [[0, 44], [4, 40], [0, 10**9], [40, 0], [-8, 32],
                                     ["x", 40], [0]])
def test_wrong_data_offsets(tmp_path, offsets):
    path = _write_st(tmp_path)
    _, header, data = _header(path)
    header["a"]["data_offsets"] = offsets
    _rewrite(path, header, data)
    _raises_naming(path)


@pytest.mark.parametrize("entry", [{"dtype": "F99", "shape": [10], "data_offsets": [0, 40]},
                                   {"dtype": "F32", "shape": [11], "data_offsets": [0, 40]},
                                   {"dtype": "F32", "data_offsets": [0, 40]},
                                   {"dtype": "F32", "shape": "ten", "data_offsets": [0, 40]},
                                   "not an object", [1, 2, 3], None])
def test_bad_tensor_entries(tmp_path, entry):
    path = _write_st(tmp_path)
    _, header, data = _header(path)
    header["a"] = entry
    _rewrite(path, header, data)
    _raises_naming(path)


@pytest.mark.parametrize("header", [[1, 2], "text", 3, None])
def test_header_that_is_not_an_object(tmp_path, header):
    path = tmp_path / "h.safetensors"
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    _raises_naming(path)


@pytest.mark.parametrize("structure", ['{"$array": "missing"}', "{not json", '{"$what": 1}',
                                       '{"$dict": [["a"]]}', '{"$dict": 5}'])
def test_corrupt_structure_metadata(tmp_path, structure):
    path = _write_st(tmp_path)
    _, header, data = _header(path)
    header["__metadata__"]["chainrule.structure"] = structure
    _rewrite(path, header, data)
    _raises_naming(path)


@pytest.mark.parametrize("damage", ["truncate_half", "truncate_tail", "garbage", "empty",
                                    "flip_data_byte", "npy_not_npz", "foreign_npz"])
def test_broken_npz_raises_checkpoint_error(tmp_path, damage):
    path = tmp_path / "bad.npz"
    cr_io.save({"a": np.arange(100, dtype=np.float64), "s": "x"}, path)
    blob = path.read_bytes()
    if damage == "truncate_half":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "truncate_tail":
        path.write_bytes(blob[:-10])
    elif damage == "garbage":
        path.write_bytes(os.urandom(300))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "flip_data_byte":
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("a0.npy")
        pos = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
        path.write_bytes(blob[:pos] + bytes([blob[pos] ^ 0xFF]) + blob[pos + 1:])
    elif damage == "npy_not_npz":
        with open(path, "wb") as f:
            np.save(f, np.arange(3))
    elif damage == "foreign_npz":  # a valid .npz that chainrule did not write
        with open(path, "wb") as f:
            np.savez(f, x=np.arange(3))
    _raises_naming(path)


def test_corrupt_file_errors_are_value_errors(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes(b"\x00" * 3)
    with pytest.raises(ValueError):  # CheckpointError is a ValueError
        cr_io.load(path)
    _raises_naming(path, cr_io.load_metadata)


# ----------------------------------------------------------------- atomic writes
@pytest.mark.parametrize("fmt", FORMATS)
def test_failed_write_leaves_previous_checkpoint_and_no_temp_file(tmp_path, monkeypatch, fmt):
    path = tmp_path / f"ckpt.{fmt}"
    cr_io.save({"w": np.ones(1000, np.float32), "epoch": 1}, path)
    old_bytes = path.read_bytes()
    writer_name = "_write_npz" if fmt == "npz" else "_write_safetensors"
    real_writer = getattr(cr_io, writer_name)

    def failing_writer(f, arrays, metadata):
        real_writer(f, arrays, metadata)  # write (most of) a complete new file ...
        f.truncate(f.tell() // 2)
        raise OSError("disk full")  # ... then die

    monkeypatch.setattr(cr_io, writer_name, failing_writer)
    with pytest.raises(OSError, match="disk full"):
        cr_io.save({"w": np.zeros(1000, np.float32), "epoch": 2}, path)
    assert path.read_bytes() == old_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    monkeypatch.undo()
    back = cr_io.load(path)
    assert back["epoch"] == 1 and np.all(back["w"] == 1)


def test_failed_first_write_creates_nothing(tmp_path, monkeypatch):
    def partial(f, arrays, metadata):
        f.write(b"\x10\x00\x00")
        raise KeyboardInterrupt

    monkeypatch.setattr(cr_io, "_write_safetensors", partial)
    with pytest.raises(KeyboardInterrupt):
        cr_io.save({"a": 1}, tmp_path / "new.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    cr_io.save({"v": 1}, path)

    def boom(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(cr_io.os, "replace", boom)
    with pytest.raises(OSError, match="rename failed"):
        cr_io.save({"v": 2}, path)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert cr_io.load(path) == {"v": 1}


def test_successful_overwrite_replaces_the_file(tmp_path):
    path = tmp_path / "c.npz"
    cr_io.save({"v": 1}, path)
    cr_io.save({"v": 2}, path)
    assert cr_io.load(path) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


# ----------------------------------------------------------------- unsupported objects
@pytest.mark.parametrize("obj,where", [
    ({"a": {"b": [1, object()]}}, "a/b/1"),
    ({"opt": {"state": {3: {"buf": {1, 2}}}}}, "opt/state/3/buf"),
    ({"x": np.array([1 + 2j])}, "x"),
    ({"x": np.array(["a", "b"])}, "x"),
    ({"x": np.array([None], dtype=object)}, "x"),
    ({"f": lambda: 0}, "f"),
    ({"b": b"bytes"}, "b"),
    ({"m": {(1, 2): 3}}, "m"),
    ({True: 1}, "<root>"),
    (object(), "<root>"),
])
@pytest.mark.parametrize("fmt", FORMATS)
def test_unsupported_objects_raise_type_error_naming_the_path(tmp_path, obj, where, fmt):
    path = tmp_path / f"u.{fmt}"
    with pytest.raises(TypeError) as info:
        cr_io.save(obj, path)
    assert where in str(info.value)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_colliding_array_names_raise(tmp_path):
    with pytest.raises(TypeError, match="array name"):
        cr_io.save({"a/b": np.ones(1), "a": {"b": np.ones(1)}}, tmp_path / "x.safetensors")


# ----------------------------------------------------------------- no pickle
def test_npz_checkpoint_loads_without_pickle(tmp_path):
    path = tmp_path / "c.npz"
    cr_io.save(_nested(), path)
    with np.load(path, allow_pickle=False) as z:
        for name in z.files:
            arr = z[name]  # raises ValueError if any member needed pickle
            assert arr.dtype != object, name


def test_load_never_unpickles(tmp_path):
    """A pickled object array in a .npz is refused, not executed."""
    path = tmp_path / "evil.npz"
    with open(path, "wb") as f:
        np.savez(f, __names__=np.frombuffer(json.dumps(["a"]).encode(), np.uint8),
                 __metadata__=np.frombuffer(b"{}", np.uint8),
                 a0=np.array([Path("x")], dtype=object))
    _raises_naming(path)


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX file modes")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_checkpoints_get_the_usual_file_mode(tmp_path, fmt, umask, mode):
    """Atomic writes go through a private temp file; the checkpoint still gets 0666 & ~umask."""
    path = tmp_path / f"ckpt.{fmt}"
    old = os.umask(umask)
    try:
        cr.save({"w": cr.ones(3)}, path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode


# ================================================================= PyTorch's format (.pt)
# cr.save(obj, "x.pt") writes the zip archive torch.save writes; cr.load reads torch's files
# (zip and pre-1.6 formats) through a restricted unpickler. torch is the oracle both ways.
import io as _io  # noqa: E402
import pickle  # noqa: E402
from collections import OrderedDict  # noqa: E402

from chainrule.io import UnsafeCheckpointError  # noqa: E402
from chainrule.models import lenet5  # noqa: E402


def _pt_tree():
    rng = np.random.default_rng(0)
    sd = OrderedDict([
        ("w32", cr.tensor(rng.standard_normal((3, 4)).astype(np.float32))),
        ("f64", rng.standard_normal(5)), ("f16", np.arange(3, dtype=np.float16) / 3),
        ("i64", np.arange(-3, 3, dtype=np.int64)), ("i32", np.array([2**31 - 1], np.int32)),
        ("i16", np.array([-5], np.int16)), ("i8", np.arange(-2, 2, dtype=np.int8)),
        ("u8", np.array([0, 255], np.uint8)), ("b", np.array([[True, False]])),
        ("c64", np.array([1 + 2j], np.complex64)), ("scalar", np.array(2.5, np.float32)),
        ("empty", np.zeros((0, 3), np.float32)),
        ("strided", np.arange(24.0).reshape(4, 6)[:, ::2]),          # non-contiguous input
        ("fortran", np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3))),
    ])
    return {"model": sd, "epoch": 3, "big": 2**100, "neg": -(2**40), "lr": 0.1,
            "nan": math.nan, "name": "héllo", "none": None, "flags": [True, False],
            "tuple": (1, (2.5, "x"), ()), "int_keys": {0: {"step": 7}, 1: {}},
            "param": nn.Parameter(cr.ones(2))}


def _torch_equal(ours, theirs, where="<root>"):
    """Our tree (arrays / chainrule tensors) against what torch.load gave."""
    import torch

    if isinstance(ours, cr.Tensor | np.ndarray):
        a = ours.detach().numpy() if isinstance(ours, cr.Tensor) else ours
        assert isinstance(theirs, torch.Tensor), where
        assert str(theirs.dtype) == f"torch.{a.dtype}", (where, theirs.dtype, a.dtype)
        assert tuple(theirs.shape) == a.shape, where
        np.testing.assert_array_equal(theirs.detach().numpy(), a, err_msg=where)
        assert theirs.requires_grad == (isinstance(ours, cr.Tensor) and ours.requires_grad)
        return
    assert type(theirs) is type(ours), (where, type(theirs), type(ours))
    if isinstance(ours, dict):
        assert list(theirs) == list(ours), where
        for k in ours:
            _torch_equal(ours[k], theirs[k], f"{where}/{k}")
    elif isinstance(ours, list | tuple):
        assert len(theirs) == len(ours), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _torch_equal(a, b, f"{where}/{i}")
    elif isinstance(ours, float) and math.isnan(ours):
        assert math.isnan(theirs), where
    else:
        assert theirs == ours, where


@pytest.mark.torch
def test_pt_written_by_chainrule_opens_in_torch_load_weights_only(tmp_path, torch):
    obj = _pt_tree()
    path = tmp_path / "ckpt.pt"
    cr.save(obj, path)
    back = torch.load(path, weights_only=True)
    _torch_equal(obj, back)
    assert isinstance(back["param"], torch.nn.Parameter) and back["param"].requires_grad
    mapped = torch.load(path, weights_only=True, mmap=True)
    assert torch.equal(mapped["model"]["w32"], back["model"]["w32"])
    with zipfile.ZipFile(path) as z:                      # torch's layout and alignment
        names = z.namelist()
        assert names[0] == "archive/data.pkl" and "archive/version" in names
        assert z.read("archive/byteorder") == b"little" and ".data/serialization_id" in \
            " ".join(names)
        blob = path.read_bytes()
        for info in z.infolist():
            if "/data/" in info.filename:
                start = info.header_offset + 30 + len(info.filename) + struct.unpack(
                    "<H", blob[info.header_offset + 28:info.header_offset + 30])[0]
                assert start % 64 == 0, info.filename


@pytest.mark.torch
def test_one_object_saved_twice_shares_one_storage(tmp_path, torch):
    w = cr.randn(3)
    cr.save({"a": w, "b": w, "c": [w]}, tmp_path / "tied.pth")
    back = torch.load(tmp_path / "tied.pth", weights_only=True)
    assert back["a"].data_ptr() == back["b"].data_ptr() == back["c"][0].data_ptr()
    again = cr.load(tmp_path / "tied.pth")
    assert np.shares_memory(again["a"].numpy(), again["b"].numpy())


def _torch_tree(torch):
    base = torch.arange(24.0).reshape(4, 6)
    sd = OrderedDict([
        ("base", base), ("column", base[:, 1]), ("transposed", base.t()),
        ("offset", base[2:, 3:]), ("expanded", torch.ones(3)[None].expand(4, 3)),
        ("bf16", (torch.arange(6.0) / 7).to(torch.bfloat16)),
        ("f16", torch.tensor([0.1, 65504.0], dtype=torch.float16)),
        ("f64", torch.randn(2, 2, dtype=torch.float64)), ("i64", torch.arange(-2, 3)),
        ("i32", torch.tensor([7], dtype=torch.int32)), ("i8", torch.tensor([-8], dtype=torch.int8)),
        ("u8", torch.tensor([255], dtype=torch.uint8)), ("bool", torch.tensor([True, False])),
        ("u16", torch.tensor([60000], dtype=torch.uint16)), ("scalar", torch.tensor(3.5)),
        ("empty", torch.zeros(0, 2)),
    ])
    return {"sd": sd, "param": torch.nn.Parameter(torch.ones(2)), "size": torch.Size([2, 3]),
            "dtype": torch.float64, "set": {1, 2}, "bytes": b"\x00\xff", "complex": 1 - 2j,
            "epoch": 4, "nested": [{"lr": 0.5, "betas": (0.9, 0.999)}], 3: "int key"}


def _check_torch_tree(back, theirs, torch):
    for k, t in theirs["sd"].items():
        got = back["sd"][k]
        expect = t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()
        assert isinstance(got, cr.Tensor), k
        assert got.numpy().dtype == expect.dtype and got.shape == expect.shape, k
        np.testing.assert_array_equal(got.numpy(), expect, err_msg=k)
    assert type(back["sd"]) is OrderedDict
    # views of one storage in torch are views of one array here
    assert np.shares_memory(back["sd"]["base"].numpy(), back["sd"]["column"].numpy())
    assert np.shares_memory(back["sd"]["base"].numpy(), back["sd"]["offset"].numpy())
    assert isinstance(back["param"], nn.Parameter) and back["param"].requires_grad
    assert back["size"] == (2, 3) and back["dtype"] == cr.float64 and back["set"] == {1, 2}
    assert back["bytes"] == b"\x00\xff" and back["complex"] == 1 - 2j and back[3] == "int key"
    assert back["nested"] == [{"lr": 0.5, "betas": (0.9, 0.999)}] and back["epoch"] == 4


@pytest.mark.torch
@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_torch_save_loads_with_chainrule(tmp_path, torch, zip_format):
    theirs = _torch_tree(torch)
    path = tmp_path / "theirs.pt"
    torch.save(theirs, path, _use_new_zipfile_serialization=zip_format)
    _check_torch_tree(cr.load(path), theirs, torch)
    buf = _io.BytesIO()                                       # file objects, as torch takes
    torch.save(theirs, buf, _use_new_zipfile_serialization=zip_format)
    buf.seek(0)
    _check_torch_tree(cr.load(buf), theirs, torch)


@pytest.mark.torch
def test_file_objects_both_ways(torch):
    buf = _io.BytesIO()
    cr.save({"w": cr.ones(2, 2)}, buf)
    buf.seek(0)
    assert torch.equal(torch.load(buf, weights_only=True)["w"], torch.ones(2, 2))
    buf.seek(0)
    assert np.array_equal(cr.load(buf)["w"].numpy(), np.ones((2, 2), np.float32))


def _torch_lenet5(torch):
    """chainrule.models.lenet5()'s layers and names, in torch."""
    tnn = torch.nn
    return tnn.Sequential(OrderedDict([
        ("c1", tnn.Conv2d(1, 6, 5, padding=2)), ("act1", tnn.ReLU()), ("s2", tnn.MaxPool2d(2)),
        ("c3", tnn.Conv2d(6, 16, 5)), ("act3", tnn.ReLU()), ("s4", tnn.MaxPool2d(2)),
        ("flatten", tnn.Flatten()), ("f5", tnn.Linear(400, 120)), ("act5", tnn.ReLU()),
        ("f6", tnn.Linear(120, 84)), ("act6", tnn.ReLU()), ("output", tnn.Linear(84, 10))]))


@pytest.mark.torch
def test_lenet5_state_dict_round_trips_through_torch(tmp_path, torch):
    cr.manual_seed(0)
    ours = lenet5()
    theirs = _torch_lenet5(torch)
    x = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    cr.save(ours.state_dict(), tmp_path / "ours.pt")            # chainrule -> torch
    theirs.load_state_dict(torch.load(tmp_path / "ours.pt", weights_only=True))
    np.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(),
                               ours(cr.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    torch.manual_seed(1)
    theirs = _torch_lenet5(torch)                               # torch -> chainrule
    torch.save(theirs.state_dict(), tmp_path / "theirs.pth")
    fresh = lenet5()
    fresh.load_state_dict(cr.load(tmp_path / "theirs.pth"))
    np.testing.assert_allclose(fresh(cr.tensor(x)).detach().numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.torch
def test_optimizer_state_dict_round_trips(tmp_path, torch):
    from chainrule import optim

    cr.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        model(cr.randn(4, 3)).sum().backward()
        opt.step()
    cr.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "o.pt")
    loaded = torch.load(tmp_path / "o.pt", weights_only=True)
    _torch_equal(opt.state_dict(), loaded["optimizer"])
    twin = nn.Linear(3, 2)
    twin_opt = optim.Adam(twin.parameters(), lr=0.01)
    ckpt = cr.load(tmp_path / "o.pt")
    twin.load_state_dict(ckpt["model"])
    twin_opt.load_state_dict(ckpt["optimizer"])
    x = cr.randn(4, 3)
    for m, o in ((model, opt), (twin, twin_opt)):
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


# ----------------------------------------------------------------- refusing code
class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _wrap(kind, payload):
    if kind == "zip":
        buf = _io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("archive/data.pkl", payload)
            z.writestr("archive/version", "3\n")
        return buf.getvalue()
    if kind == "legacy":
        return b"".join(pickle.dumps(v, protocol=2) for v in (
            0x1950A86A20F9469CFC6C, 1001, {"little_endian": True})) + payload
    return payload


@pytest.mark.parametrize("kind", ["zip", "legacy", "plain"])
@pytest.mark.parametrize("attack", ["reduce", "eval", "getattr", "protocol5", "nested"])
def test_malicious_pickles_are_refused_and_run_nothing(tmp_path, kind, attack):
    marker = tmp_path / "PWNED"
    payload = {
        "reduce": pickle.dumps({"w": _Evil(marker)}, protocol=2),
        "eval": b"\x80\x02cbuiltins\neval\nX\x1a\x00\x00\x00__import__('os').getpid()\x85R.",
        "getattr": b"\x80\x02cbuiltins\ngetattr\ncbuiltins\nobject\nX\x0e\x00\x00\x00"
                   b"__subclasses__\x86R.",
        "protocol5": pickle.dumps([_Evil(marker)], protocol=5),
        "nested": pickle.dumps(OrderedDict(a=[1, {"b": (_Evil(marker),)}]), protocol=2),
    }[attack]
    path = tmp_path / "evil.pt"
    path.write_bytes(_wrap(kind, payload))
    with pytest.raises(UnsafeCheckpointError) as info:
        cr.load(path, weights_only=False)          # restricted whatever the flag says
    assert isinstance(info.value, pickle.UnpicklingError)
    assert "refusing to unpickle" in str(info.value) and str(path) in str(info.value)
    assert any(name in str(info.value) for name in ("system", "eval", "getattr"))
    assert not marker.exists()


@pytest.mark.torch
def test_whole_model_and_numpy_pickles_are_refused_with_a_hint(tmp_path, torch):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "model.pt")
    with pytest.raises(UnsafeCheckpointError, match="state_dict"):
        cr.load(tmp_path / "model.pt")
    torch.save({"best": np.float64(0.9)}, tmp_path / "np.pt")
    with pytest.raises(UnsafeCheckpointError, match="NumPy"):
        cr.load(tmp_path / "np.pt")


def _storage_pickle(torch, rebuild_args, storage=("storage", "FloatStorage", "0", "cpu", 4)):
    """A data.pkl calling _rebuild_tensor_v2 on a storage, with chosen arguments."""
    class Storage:
        pass

    class Fake:
        def __reduce__(self):
            return (torch._utils._rebuild_tensor_v2, (Storage(), *rebuild_args))

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return (storage[0], getattr(torch, storage[1]), *storage[2:])
            return None

    buf = _io.BytesIO()
    P(buf, protocol=2).dump({"t": Fake()})
    return buf.getvalue()


def _torch_zip(path, data_pkl, storages):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", data_pkl)
        for key, raw in storages.items():
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", "3\n")


@pytest.mark.torch
@pytest.mark.parametrize("args, what", [
    ((0, (5,), (1,), False, OrderedDict()), "reaches past"),
    ((2, (2, 2), (1, 1), False, OrderedDict()), "reaches past"),
    ((0, (2,), (-1,), False, OrderedDict()), "geometry"),
    ((-1, (1,), (1,), False, OrderedDict()), "geometry"),
    ((0, (2,), (1, 1), False, OrderedDict()), "geometry"),
    ((0, "x", (1,), False, OrderedDict()), "geometry"),
])
def test_bad_tensor_geometry_is_refused_not_read_out_of_bounds(tmp_path, torch, args, what):
    path = tmp_path / "bad.pt"
    _torch_zip(path, _storage_pickle(torch, args), {"0": np.arange(4, dtype=np.float32)
                                                    .tobytes()})
    with pytest.raises(CheckpointError, match=what):
        cr.load(path)


@pytest.mark.torch
def test_storages_of_the_wrong_size_or_missing_raise(tmp_path, torch):
    pkl = _storage_pickle(torch, (0, (4,), (1,), False, OrderedDict()))
    path = tmp_path / "s.pt"
    _torch_zip(path, pkl, {"0": b"\x00" * 12})
    with pytest.raises(CheckpointError, match="holds 12 bytes"):
        cr.load(path)
    _torch_zip(path, pkl, {})
    with pytest.raises(CheckpointError, match="missing record"):
        cr.load(path)
    _torch_zip(path, pkl, {"0": b"\x00" * 16})
    assert cr.load(path)["t"].shape == (4,)


@pytest.mark.torch
def test_cuda_tensors_need_map_location_as_in_torch_on_a_cpu_machine(tmp_path, torch):
    src = tmp_path / "cpu.pt"
    torch.save({"w": torch.ones(2)}, src)
    with zipfile.ZipFile(src) as z:
        records = {n: z.read(n) for n in z.namelist()}
    prefix = next(n for n in records if n.endswith("data.pkl"))
    records[prefix] = records[prefix].replace(b"X\x03\x00\x00\x00cpu",
                                              b"X\x06\x00\x00\x00cuda:0")
    path = tmp_path / "cuda.pt"
    with zipfile.ZipFile(path, "w") as z:
        for n, raw in records.items():
            z.writestr(n, raw)
    with pytest.raises(RuntimeError, match="cuda:0.*map_location='cpu'"):
        cr.load(path)
    for where in ("cpu", torch.device("cpu"), {"cuda:0": "cpu"}, lambda s, loc: s):
        assert np.array_equal(cr.load(path, map_location=where)["w"].numpy(), [1.0, 1.0])
    with pytest.raises(RuntimeError, match="CPU only"):
        cr.load(tmp_path / "cpu.pt", map_location="cuda")


@pytest.mark.parametrize("damage", ["truncate", "half", "garbage_pickle", "torchscript"])
def test_broken_pt_files_raise_checkpoint_error(tmp_path, damage):
    path = tmp_path / "b.pt"
    cr.save({"w": cr.ones(100), "n": 1}, path)
    blob = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(blob[:-30])
    elif damage == "half":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "garbage_pickle":
        _torch_zip(path, b"\x80\x02}q\x00(X\x01", {})
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("model/constants.pkl", b"")
    with pytest.raises(CheckpointError) as info:
        cr.load(path)
    assert str(path) in str(info.value)


def test_pt_saves_are_atomic_and_check_the_object_first(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    cr.save({"w": cr.ones(3), "epoch": 1}, path)
    old = path.read_bytes()
    with pytest.raises(TypeError, match="a/1"):
        cr.save({"a": [1, object()]}, path)
    real = cr_io._write_torch

    def dying(f, pickled, storages):
        real(f, pickled, storages)
        raise OSError("disk full")

    monkeypatch.setattr(cr_io, "_write_torch", dying)
    with pytest.raises(OSError, match="disk full"):
        cr.save({"w": cr.zeros(3)}, path)
    assert path.read_bytes() == old and [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    with pytest.raises(TypeError, match="metadata"):
        cr.save({}, tmp_path / "m.pt", metadata={"a": "b"})
    assert cr_io.load_metadata(path) == {}
    loop: list = []
    loop.append(loop)
    with pytest.raises(TypeError, match="contains itself"):
        cr.save(loop, tmp_path / "loop.pt")


def test_pt_round_trip_within_chainrule_keeps_types(tmp_path):
    obj = _pt_tree()
    cr.save(obj, tmp_path / "x.ckpt")
    back = cr.load(tmp_path / "x.ckpt")
    for k, v in obj["model"].items():
        a = v.detach().numpy() if isinstance(v, cr.Tensor) else v
        assert isinstance(back["model"][k], cr.Tensor) and back["model"][k].numpy().dtype == \
            a.dtype
        np.testing.assert_array_equal(back["model"][k].numpy(), a)
    assert type(back["model"]) is OrderedDict and back["int_keys"] == {0: {"step": 7}, 1: {}}
    assert back["tuple"] == (1, (2.5, "x"), ()) and back["big"] == 2**100
    assert isinstance(back["param"], nn.Parameter)
    cr.save({"x": 1}, tmp_path / "x.safetensors")             # safetensors stays the default
    assert cr_io._sniff((tmp_path / "x.safetensors").read_bytes()[:512]) == "safetensors"


@pytest.mark.torch
def test_a_pickle_that_alters_a_built_tensor_is_refused(tmp_path, torch):
    class Storage:
        pass

    class Fake:   # REDUCE then BUILD: sets the tensor's grad_fn slot
        def __reduce__(self):
            return (torch._utils._rebuild_tensor_v2,
                    (Storage(), 0, (4,), (1,), False, OrderedDict()),
                    (None, {"grad_fn": OrderedDict()}))

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", 4) if isinstance(
                obj, Storage) else None

    buf = _io.BytesIO()
    P(buf, protocol=2).dump({"t": Fake()})
    _torch_zip(tmp_path / "b.pt", buf.getvalue(), {"0": bytes(16)})
    with pytest.raises(UnsafeCheckpointError, match="alters a tensor"):
        cr.load(tmp_path / "b.pt")
