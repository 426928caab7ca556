"""Checkpoints: `save(obj, path)` / `load(path)` for nested state dicts, never pickle.

Two formats, chosen by the file extension:

* `.safetensors` (default): the safetensors layout — an 8-byte little-endian header length, a
  JSON header naming each array's dtype, shape and byte range, then the raw bytes. Readable by
  the `safetensors` package and by torch users.
* `.npz`: NumPy's zip of arrays, read back with `allow_pickle=False`.

The object may nest dicts (str or int keys), lists and tuples around NumPy arrays, chainrule
tensors, numbers, strings, bools and None — what model and optimizer `state_dict()`s hold.
Arrays are stored as tensors named by their path ("model/fc1.weight"); the nesting and the
scalars go into the header's metadata as JSON. Writes are atomic: a temporary file in the same
folder is renamed over the target only once it is complete, so a crash mid-save leaves the
previous checkpoint intact. Loading never executes code.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.tensor import Tensor

_FORMAT_KEY = "chainrule.structure"
_ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
              "U16": np.uint16, "U32": np.uint32, "U64": np.uint64}
_ST_NAMES = {np.dtype(v): k for k, v in _ST_DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024


class CheckpointError(ValueError):
    """A checkpoint file is corrupt, truncated, of an unknown format, or holds unsupported data."""


# ----------------------------------------------------------------- structure <-> (arrays, json)
def _flatten(obj: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """JSON skeleton of obj; arrays are moved into `arrays` and referenced by name."""
    if isinstance(obj, Tensor):
        obj = obj._data
    if isinstance(obj, np.ndarray):
        if obj.dtype.byteorder == ">":  # stored little-endian, as safetensors requires
            obj = obj.astype(obj.dtype.newbyteorder("<"))
        if obj.dtype not in _ST_NAMES:
            raise TypeError(f"save: unsupported array dtype {obj.dtype} at {path or '<root>'}")
        if path in arrays:
            raise TypeError(f"save: two entries map to the array name {path!r}; avoid '/' in "
                            "dict keys")
        arrays[path] = obj
        return {"$array": path}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, bool | int | float | str):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"$float": repr(obj)}
        return obj
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, str | int) or isinstance(k, bool):
                raise TypeError(f"save: dict keys must be str or int, got {k!r} at "
                                f"{path or '<root>'}")
            child = f"{path}/{k}" if path else str(k)
            items.append([k, _flatten(v, child, arrays)])
        return {"$dict": items}
    if isinstance(obj, list | tuple):
        kind = "$list" if isinstance(obj, list) else "$tuple"
        return {kind: [_flatten(v, f"{path}/{i}" if path else str(i), arrays)
                       for i, v in enumerate(obj)]}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {path or '<root>'}; "
                    "checkpoints hold arrays, tensors, numbers, strings, lists and dicts")


def _unflatten(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(node, dict):
        if "$array" in node:
            return arrays[node["$array"]]
        if "$float" in node:
            return float(node["$float"])
        if "$dict" in node:
            return {k: _unflatten(v, arrays) for k, v in node["$dict"]}
        if "$list" in node:
            return [_unflatten(v, arrays) for v in node["$list"]]
        if "$tuple" in node:
            return tuple(_unflatten(v, arrays) for v in node["$tuple"])
        raise CheckpointError(f"unknown node {sorted(node)} in checkpoint structure")
    return node


# ----------------------------------------------------------------- atomic writes
def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes the file 0600: give it the usual mode instead
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ----------------------------------------------------------------- safetensors
def _write_safetensors(f: Any, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    header: dict[str, Any] = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name, a in arrays.items():
        a = np.asarray(a, order="C")  # (np.ascontiguousarray would turn a 0-d array into 1-d)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        header[name] = {"dtype": _ST_NAMES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # align the data section to 8 bytes
    f.write(struct.pack("<Q", len(raw)))
    f.write(raw)
    for a in blobs:
        f.write(a.tobytes())


def _read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    blob = path.read_bytes()
    if len(blob) < 8:
        raise CheckpointError(f"{path}: truncated safetensors file ({len(blob)} bytes)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > _MAX_HEADER or 8 + n > len(blob):
        raise CheckpointError(f"{path}: corrupt or truncated safetensors header "
                              f"(header length {n}, file length {len(blob)})")
    try:
        header = json.loads(blob[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: corrupt safetensors header: {e}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header (not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    data = memoryview(blob)[8 + n:]
    arrays = {}
    for name, info in header.items():
        try:
            dtype = np.dtype(_ST_DTYPES[info["dtype"]])
            shape = tuple(int(s) for s in info["shape"])
            start, end = (int(v) for v in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path}: bad header entry for tensor {name!r}") from None
        if not 0 <= start <= end <= len(data) or end - start != dtype.itemsize * int(
                np.prod(shape, dtype=np.int64)):
            raise CheckpointError(f"{path}: tensor {name!r} has byte range [{start}, {end}) "
                                  f"that does not fit its shape {shape} or the file "
                                  f"(data section {len(data)} bytes; truncated?)")
        arrays[name] = np.frombuffer(data[start:end], dtype=dtype).reshape(shape).copy()
    return arrays, metadata


# ----------------------------------------------------------------- npz
def _write_npz(f: Any, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    meta = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    # Typed Any: mypy checks a **dict's values against every keyword of savez, allow_pickle too.
    entries: dict[str, Any] = {f"a{i}": a for i, a in enumerate(arrays.values())}
    np.savez(f, **entries,
             __names__=np.frombuffer(json.dumps(list(arrays)).encode(), dtype=np.uint8),
             __metadata__=meta)


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    try:
        z = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as e:
        raise CheckpointError(f"{path}: corrupt or truncated .npz checkpoint: {e}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):  # a bare .npy array, not a zip of arrays
        raise CheckpointError(f"{path}: not a .npz checkpoint (it holds a single .npy array)")
    try:
        with z:
            names = json.loads(z["__names__"].tobytes())
            metadata = json.loads(z["__metadata__"].tobytes())
            arrays = {name: z[f"a{i}"] for i, name in enumerate(names)}
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as e:
        raise CheckpointError(f"{path}: corrupt or truncated .npz checkpoint: {e}") from None
    return arrays, metadata


# ----------------------------------------------------------------- public API
def save(obj: Any, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Write obj (nested state dicts) to `path` atomically; `.npz` selects NumPy's format,
    anything else safetensors. `metadata` adds free-form string entries to the header."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    skeleton = _flatten(obj, "", arrays)
    meta = dict(metadata or {})
    meta[_FORMAT_KEY] = json.dumps(skeleton)
    writer = _write_npz if path.suffix == ".npz" else _write_safetensors
    _atomic_write(path, lambda f: writer(f, arrays, meta))


def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by `save` (or any safetensors file: a flat dict of arrays)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load: no checkpoint at {path}")
    arrays, metadata = _read_npz(path) if path.suffix == ".npz" else _read_safetensors(path)
    if _FORMAT_KEY not in metadata:
        return arrays
    try:
        return _unflatten(json.loads(metadata[_FORMAT_KEY]), arrays)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: corrupt checkpoint structure: {e}") from None


def load_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The free-form metadata strings of a checkpoint (without loading its structure)."""
    path = Path(path)
    _, metadata = _read_npz(path) if path.suffix == ".npz" else _read_safetensors(path)
    return {k: v for k, v in metadata.items() if k != _FORMAT_KEY}
