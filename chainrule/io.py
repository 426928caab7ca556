"""Checkpoints: `save(obj, path)` / `load(path)` for nested state dicts, safely.

Three formats; `save` picks one by the file extension, `load` recognises it by its first bytes:

* `.safetensors` (the default, for any other extension): the safetensors layout — an 8-byte
  little-endian header length, a JSON header naming each array's dtype, shape and byte range,
  then the raw bytes. Readable by the `safetensors` package and by torch users.
* `.npz`: NumPy's zip of arrays, read back with `allow_pickle=False`.
* `.pt` `.pth` `.tar` `.bin` `.ckpt` (or a binary file object): PyTorch's own format, the zip
  archive torch.save writes, so `torch.load(path, weights_only=True)` opens it. `load` reads
  such files — and torch's pre-1.6 format — through an unpickler that admits only torch's
  tensor-reconstruction functions, its storage and dtype names and plain containers
  (OrderedDict, Counter, set): a pickle that names anything else (`os.system`, `eval`, a
  class) is refused with `UnsafeCheckpointError` before anything runs.

The object may nest dicts, lists and tuples around NumPy arrays, chainrule tensors, numbers,
strings, bools and None — what model and optimizer `state_dict()`s hold. In safetensors and
.npz files arrays are stored as tensors named by their path ("model/fc1.weight") and the
nesting and the scalars go into the header's metadata as JSON; they load as NumPy arrays.
PyTorch files load as chainrule Tensors, as torch.load gives tensors: tensors that shared a
storage in torch share one array (views stay views); bfloat16, which NumPy lacks, becomes
float32 (exactly: every bfloat16 is a float32). Writes are atomic: a temporary file in the
same folder is renamed over the target only once it is complete, so a crash or a refused
object mid-save leaves the previous checkpoint intact. Loading never executes code.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import secrets
import struct
import tempfile
import zipfile
import zlib
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from chainrule.tensor import Size, Tensor, from_numpy

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


def _read_npz(path: Path | BinaryIO) -> tuple[dict[str, np.ndarray], dict[str, str]]:
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


# ----------------------------------------------------------------- PyTorch's format
# torch.save writes a zip archive ("archive/data.pkl": a protocol-2 pickle in which every tensor
# is a call of torch._utils._rebuild_tensor_v2 on a persistent id naming a storage;
# "archive/data/<key>": each storage's raw little-endian bytes, aligned to 64 bytes in the
# file; "archive/version", "archive/byteorder" and friends). The writer below emits that
# layout opcode by opcode, so that nothing needs torch; the reader unpickles with a
# find_class that admits only the reconstruction functions and container types a state dict
# needs, so loading never imports a module or calls a function the file names.

_TORCH_SUFFIXES = frozenset({".pt", ".pth", ".tar", ".bin", ".ckpt"})
_ALIGN = 64                                   # torch's storage alignment in the zip
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C        # the first pickle of torch's pre-1.6 format
_LEGACY_PROTOCOL = 1001

#: torch's typed storage classes and the NumPy dtype of their elements (as stored)
_STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype(np.float32), "DoubleStorage": np.dtype(np.float64),
    "HalfStorage": np.dtype(np.float16), "BFloat16Storage": np.dtype(np.uint16),
    "LongStorage": np.dtype(np.int64), "IntStorage": np.dtype(np.int32),
    "ShortStorage": np.dtype(np.int16), "CharStorage": np.dtype(np.int8),
    "ByteStorage": np.dtype(np.uint8), "BoolStorage": np.dtype(np.bool_),
    "ComplexFloatStorage": np.dtype(np.complex64),
    "ComplexDoubleStorage": np.dtype(np.complex128),
    "UntypedStorage": np.dtype(np.uint8),
}
_STORAGE_OF = {dt: name for name, dt in _STORAGE_DTYPES.items()
               if name not in ("BFloat16Storage", "UntypedStorage")}
#: dtypes without a typed storage: torch writes an UntypedStorage and _rebuild_tensor_v3
_V3_DTYPES = {np.dtype(np.uint16): "uint16", np.dtype(np.uint32): "uint32",
              np.dtype(np.uint64): "uint64"}
#: torch dtype objects (torch.float32, ...) as chainrule's NumPy dtypes; bfloat16, which NumPy
#: lacks, becomes float32, the dtype its tensors load as (every bfloat16 is a float32 exactly)
_TORCH_DTYPES: dict[str, np.dtype] = {
    **{n: np.dtype(n) for n in ("float16", "float32", "float64", "int8", "int16", "int32",
                                "int64", "uint8", "uint16", "uint32", "uint64", "complex64",
                                "complex128")},
    "half": np.dtype(np.float16), "float": np.dtype(np.float32),
    "double": np.dtype(np.float64), "short": np.dtype(np.int16), "int": np.dtype(np.int32),
    "long": np.dtype(np.int64), "bool": np.dtype(np.bool_), "cfloat": np.dtype(np.complex64),
    "cdouble": np.dtype(np.complex128), "bfloat16": np.dtype(np.float32),
}


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A pickle inside a checkpoint asks for something other than tensors and containers (an
    arbitrary function or class); it is refused before anything runs. Catchable as
    `pickle.UnpicklingError`, the class torch.load(weights_only=True) raises."""


def is_torch_path(path: str | os.PathLike) -> bool:
    """Whether `save` writes PyTorch's format to `path` (.pt .pth .tar .bin .ckpt)."""
    return Path(path).suffix.lower() in _TORCH_SUFFIXES


# ------------------------------------------- writing: a protocol-2 pickle in torch's layout
class _TorchPickler:
    """The opcodes torch.save's pickler emits for a tree of containers, scalars and tensors.

    Only opcodes that torch's weights-only unpickler accepts are used. Tensors become
    `_rebuild_tensor_v2(<persistent id of storage k>, 0, shape, contiguous strides,
    requires_grad, OrderedDict())`; one object saved twice shares one storage, as in torch.
    """

    def __init__(self) -> None:
        self.out = bytearray(b"\x80\x02")              # PROTO 2
        self.storages: list[np.ndarray] = []           # contiguous little-endian, by key
        self._keys: dict[int, tuple[Any, int]] = {}    # id(source) -> (source, key)
        self._open: set[int] = set()                   # containers being written (cycles)

    def dump(self, obj: Any) -> bytes:
        self._save(obj, "")
        self.out += b"."                               # STOP
        return bytes(self.out)

    # -- scalars
    def _global(self, module: str, name: str) -> None:
        self.out += b"c" + f"{module}\n{name}\n".encode()

    def _str(self, s: str) -> None:
        raw = s.encode("utf-8", "surrogatepass")
        self.out += b"X" + struct.pack("<I", len(raw)) + raw

    def _int(self, v: int, path: str) -> None:
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        elif -(2**31) <= v < 2**31:
            self.out += b"J" + struct.pack("<i", v)
        else:
            raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            if len(raw) > 255:
                raise TypeError(f"save: the integer at {path or '<root>'} has {len(raw)} "
                                "bytes; a PyTorch checkpoint holds integers of up to 255")
            self.out += b"\x8a" + bytes([len(raw)]) + raw   # LONG1

    def _tuple_of_ints(self, values: tuple[int, ...]) -> None:
        self._tuple_items([lambda v=v: self._int(v, "") for v in values])

    def _tuple_items(self, writers: list[Any]) -> None:
        if not writers:
            self.out += b")"                               # EMPTY_TUPLE
            return
        if len(writers) > 3:
            self.out += b"("                               # MARK
        for w in writers:
            w()
        self.out += {1: b"\x85", 2: b"\x86", 3: b"\x87"}.get(len(writers), b"t")

    def _empty_ordered_dict(self) -> None:
        self._global("collections", "OrderedDict")
        self.out += b")R"                                  # EMPTY_TUPLE REDUCE

    # -- the tree
    def _save(self, obj: Any, path: str) -> None:
        from chainrule.nn.parameter import Parameter

        if isinstance(obj, Parameter):
            self._global("torch._utils", "_rebuild_parameter")
            self.out += b"("
            self._tensor(obj.detach().numpy(), False, obj, path)
            self.out += b"\x88" if obj.requires_grad else b"\x89"
            self._empty_ordered_dict()
            self.out += b"tR"
            return
        if isinstance(obj, Tensor):
            self._tensor(obj.detach().numpy(), obj.requires_grad, obj, path)
            return
        if isinstance(obj, np.ndarray):
            self._tensor(obj, False, obj, path)
            return
        if isinstance(obj, np.generic):
            obj = obj.item()
        if obj is None:
            self.out += b"N"
        elif isinstance(obj, bool):
            self.out += b"\x88" if obj else b"\x89"
        elif isinstance(obj, int):
            self._int(obj, path)
        elif isinstance(obj, float):
            self.out += b"G" + struct.pack(">d", obj)
        elif isinstance(obj, str):
            self._str(obj)
        elif isinstance(obj, dict | list | tuple):
            if id(obj) in self._open:
                raise TypeError(f"save: {path or '<root>'} contains itself; a checkpoint "
                                "must be a tree")
            self._open.add(id(obj))
            try:
                self._container(obj, path)
            finally:
                self._open.discard(id(obj))
        else:
            raise TypeError(f"save: cannot store a {type(obj).__name__} at {path or '<root>'}"
                            "; checkpoints hold arrays, tensors, numbers, strings, lists and "
                            "dicts")

    def _container(self, obj: dict | list | tuple, path: str) -> None:
        def child(k: Any) -> str:
            return f"{path}/{k}" if path else str(k)

        if isinstance(obj, dict):
            if isinstance(obj, OrderedDict):
                self._empty_ordered_dict()
            else:
                self.out += b"}"                           # EMPTY_DICT
            if obj:
                self.out += b"("
                for k, v in obj.items():
                    self._key(k, path)
                    self._save(v, child(k))
                self.out += b"u"                           # SETITEMS
        elif isinstance(obj, list):
            self.out += b"]"                               # EMPTY_LIST
            if obj:
                self.out += b"("
                for i, v in enumerate(obj):
                    self._save(v, child(i))
                self.out += b"e"                           # APPENDS
        else:
            self._tuple_items([lambda i=i, v=v: self._save(v, child(i))
                               for i, v in enumerate(obj)])

    def _key(self, k: Any, path: str) -> None:
        scalar = k is None or isinstance(k, bool | int | float | str)
        if not (scalar or (isinstance(k, tuple) and all(
                x is None or isinstance(x, bool | int | float | str) for x in k))):
            raise TypeError(f"save: dict keys must be strings, numbers or tuples of them, got "
                            f"{k!r} at {path or '<root>'}")
        self._save(k, path)

    def _tensor(self, arr: np.ndarray, requires_grad: bool, source: Any, path: str) -> None:
        dtype = arr.dtype.newbyteorder("=")
        if dtype not in _STORAGE_OF and dtype not in _V3_DTYPES:
            raise TypeError(f"save: unsupported array dtype {arr.dtype} at {path or '<root>'}"
                            "; a PyTorch checkpoint holds bool, integer, float and complex "
                            "arrays")
        if id(source) in self._keys:
            key = self._keys[id(source)][1]
        else:
            key = len(self.storages)
            self._keys[id(source)] = (source, key)     # keeps source alive: ids stay unique
            flat = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C").reshape(-1)
            self.storages.append(flat)
        shape = tuple(int(s) for s in arr.shape)
        strides, step = [], 1
        for s in reversed(shape):                      # contiguous, as torch counts them
            strides.append(step)
            step *= max(s, 1)
        v3 = dtype in _V3_DTYPES
        self._global("torch._utils", "_rebuild_tensor_v3" if v3 else "_rebuild_tensor_v2")
        self.out += b"(("                              # MARK (args) MARK (persistent id)
        self._str("storage")
        if v3:
            self._global("torch.storage", "UntypedStorage")
        else:
            self._global("torch", _STORAGE_OF[dtype])
        self._str(str(key))
        self._str("cpu")
        n = int(np.prod(shape, dtype=np.int64))
        self._int(n * dtype.itemsize if v3 else n, path)
        self.out += b"tQ"                              # TUPLE BINPERSID
        self._int(0, path)
        self._tuple_of_ints(shape)
        self._tuple_of_ints(tuple(reversed(strides)))
        self.out += b"\x88" if requires_grad else b"\x89"
        self._empty_ordered_dict()
        if v3:
            self._global("torch", _V3_DTYPES[dtype])
        self.out += b"tR"                              # TUPLE REDUCE


def _write_torch(f: Any, pickled: bytes, storages: list[np.ndarray]) -> None:
    """The zip archive torch.save writes: records stored uncompressed, in torch's order, each
    storage's bytes starting at a multiple of 64 in the file (torch.load(mmap=True) maps them)."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
        def record(name: str, data: bytes | np.ndarray) -> None:
            info = zipfile.ZipInfo(f"archive/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = data.nbytes if isinstance(data, np.ndarray) else len(data)
            zip64 = info.file_size * 1.05 > zipfile.ZIP64_LIMIT   # zipfile's own rule
            # local header: 30 bytes, the name, our padding field (4 + pad), zip64's 20 bytes
            start = z.start_dir + 30 + len(info.filename) + 4 + (20 if zip64 else 0)
            pad = -start % _ALIGN
            info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            with z.open(info, "w", force_zip64=zip64) as dest:
                if isinstance(data, np.ndarray):
                    raw = data.view(np.uint8)
                    for i in range(0, raw.size, 1 << 24):   # 16 MiB at a time
                        dest.write(raw[i:i + (1 << 24)].tobytes())
                else:
                    dest.write(data)

        record("data.pkl", pickled)
        record(".format_version", b"1")
        record(".storage_alignment", str(_ALIGN).encode())
        record("byteorder", b"little")
        for key, arr in enumerate(storages):
            record(f"data/{key}", arr)
        record("version", b"3\n")
        ident = f"{secrets.randbits(64):020d}{secrets.randbits(64):020d}"
        record(".data/serialization_id", ident.encode())


# ------------------------------------------- reading: a restricted unpickler
class _StorageType:
    """What `torch.FloatStorage` (...) unpickles to here: the element dtype, nothing callable."""

    __slots__ = ("dtype", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _Storage:
    """One storage of a checkpoint: a 1-D writable array; tensors are strided views of it."""

    __slots__ = ("array", "bfloat16", "key")

    def __init__(self, key: str, array: np.ndarray, bfloat16: bool) -> None:
        self.key, self.array, self.bfloat16 = key, array, bfloat16

    def fill(self, raw: bytes | memoryview, byteorder: str) -> None:
        """Copy the stored bytes in (legacy files read them after the pickle); bfloat16 is
        widened to float32 exactly, by putting its 16 bits on top of a float32's."""
        dtype = np.dtype(np.uint16 if self.bfloat16 else self.array.dtype)
        values = np.frombuffer(raw, dtype.newbyteorder("<" if byteorder == "little" else ">"))
        if self.bfloat16:
            values = (values.astype(np.uint32) << 16).view(np.float32)
        self.array[...] = values


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """`_codecs.encode` as protocol-2 pickles use it for bytes; no other codec is allowed."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafeCheckpointError(f"_codecs.encode({text!r:.40}, {encoding!r}): only latin1 "
                                    "(bytes in a protocol-2 pickle) is allowed")
    return text.encode("latin1")


class _TorchReader:
    """State of one torch.load-style read: storages by key, the tensors built so far."""

    def __init__(self, name: str, read_storage: Any, byteorder: str, map_location: Any,
                 legacy: bool, data_size: int | None = None) -> None:
        self.name = name
        self.read_storage = read_storage          # key, nbytes -> bytes (zip format)
        self.byteorder = byteorder
        self.map_location = map_location
        self.legacy = legacy
        self.data_size = data_size                # legacy: bytes available for storages
        self.storages: dict[str, _Storage] = {}
        self.built: dict[int, tuple[Tensor, np.ndarray]] = {}
        self.globals: dict[str, Any] = {
            "torch._utils._rebuild_tensor": self.rebuild_tensor,
            "torch._utils._rebuild_tensor_v2": self.rebuild_tensor_v2,
            "torch._utils._rebuild_tensor_v3": self.rebuild_tensor_v3,
            "torch._utils._rebuild_parameter": self.rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": self.rebuild_parameter_with_state,
            "collections.OrderedDict": OrderedDict, "collections.Counter": Counter,
            "torch.Size": Size, "builtins.set": set, "builtins.frozenset": frozenset,
            "builtins.complex": complex, "_codecs.encode": _latin1_encode,
        }

    def error(self, what: str) -> CheckpointError:
        return CheckpointError(f"load: {self.name}: {what}")

    # -- what the pickle may name
    def find_class(self, module: str, name: str) -> Any:
        if module == "__builtin__":   # protocol-2 pickles use Python 2's name
            module = "builtins"
        full = f"{module}.{name}"
        if full in self.globals:
            return self.globals[full]
        if module in ("torch", "torch.storage") and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch" and name in _TORCH_DTYPES:
            return _TORCH_DTYPES[name]
        hint = ""
        if module.startswith("torch.nn") or module == "__main__":
            hint = (" (the file pickles a whole model or other Python object, e.g. "
                    "torch.save(model); save model.state_dict() instead)")
        elif module.split(".")[0] == "numpy":
            hint = " (NumPy objects inside a pickle are refused, as by torch.load)"
        elif module == "torch" and name in ("float8_e4m3fn", "float8_e5m2", "complex32"):
            hint = " (a torch dtype with no NumPy equivalent)"
        raise UnsafeCheckpointError(
            f"load: {self.name}: refusing to unpickle {full}{hint}; a checkpoint may only hold "
            "tensors, numbers, strings and containers (the rule of torch.load(weights_only="
            "True)), and chainrule never imports or calls what a file names")

    # -- storages
    def persistent_load(self, pid: Any) -> _Storage:
        if not isinstance(pid, tuple) or not pid:
            raise self.error(f"bad persistent id {pid!r:.60} in the pickle")
        kind = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if kind == "module":
            raise UnsafeCheckpointError(
                f"load: {self.name}: the file pickles a whole torch.nn.Module (torch.save("
                "model)); chainrule loads state dicts only: save model.state_dict() instead")
        fields = pid[1:]
        if kind != "storage" or len(fields) != (5 if self.legacy else 4):
            raise self.error(f"bad persistent id {pid!r:.80} in the pickle")
        stype, key, location, numel = fields[:4]
        key = key.decode("ascii") if isinstance(key, bytes) else key
        location = location.decode("ascii") if isinstance(location, bytes) else location
        if (not isinstance(stype, _StorageType) or not isinstance(key, str)
                or not isinstance(location, str) or type(numel) is not int or numel < 0):
            raise self.error(f"bad storage reference {pid!r:.80} in the pickle")
        storage = self.storages.get(key)
        if storage is None:
            storage = self._new_storage(stype, key, numel)
            self.storages[key] = storage
        storage = self._restore(storage, location)
        if self.legacy and fields[4] is not None:     # a view of a storage (torch < 1.6)
            try:
                _, offset, size = fields[4]
                return _Storage(key, storage.array[int(offset):int(offset) + int(size)],
                                storage.bfloat16)
            except (TypeError, ValueError):
                raise self.error(f"bad storage view {fields[4]!r:.60}") from None
        return storage

    def _new_storage(self, stype: _StorageType, key: str, numel: int) -> _Storage:
        bf16 = stype.name == "BFloat16Storage"
        nbytes = numel * stype.dtype.itemsize
        dtype = np.dtype(np.float32) if bf16 else stype.dtype
        if self.legacy:                               # filled after the pickle is read
            if self.data_size is not None and nbytes > self.data_size:
                raise self.error(f"storage {key} claims {nbytes} bytes; the file holds "
                                 f"{self.data_size} (truncated or corrupt)")
            return _Storage(key, np.empty(numel, dtype), bf16)
        raw = self.read_storage(key)
        if len(raw) != nbytes:
            raise self.error(f"storage {key} holds {len(raw)} bytes, its tensors expect "
                             f"{nbytes} (truncated or corrupt file)")
        storage = _Storage(key, np.empty(numel, dtype), bf16)
        storage.fill(raw, self.byteorder)
        return storage

    def _restore(self, storage: _Storage, location: str) -> _Storage:
        """torch's map_location, for a library that runs on the CPU only."""
        m = self.map_location
        if callable(m) and not isinstance(m, str | dict):
            if m(storage, location) is not storage:
                raise RuntimeError(f"load: map_location={m!r} returned something other than the "
                                 "storage it was given; chainrule loads everything to the CPU, "
                                 "so pass map_location='cpu' (or a function returning storage)")
            return storage
        target = location
        if isinstance(m, dict):
            target = str(m.get(location, location))
        elif m is not None:
            target = str(m)
        if target.split(":")[0] != "cpu":
            where = ("the checkpoint's tensors were saved on " + repr(location)
                     if target == location else f"map_location asks for {target!r}")
            raise RuntimeError(f"load: {self.name}: {where}, but chainrule runs on the CPU "
                               "only; pass map_location='cpu' (as torch.load needs on a "
                               "machine without that device)")
        return storage

    # -- tensors
    def _view(self, storage: Any, offset: Any, size: Any, stride: Any,
              dtype: np.dtype | None = None) -> np.ndarray:
        if not isinstance(storage, _Storage):
            raise self.error(f"a tensor is rebuilt from a {type(storage).__name__}, not a "
                             "storage")
        ok = (type(offset) is int and offset >= 0 and isinstance(size, tuple | list)
              and isinstance(stride, tuple | list) and len(size) == len(stride)
              and all(type(v) is int and v >= 0 for v in (*size, *stride)))
        if not ok:
            raise self.error(f"bad tensor geometry: offset {offset!r:.30}, size {size!r:.60}, "
                             f"stride {stride!r:.60}")
        base = storage.array
        if dtype is not None and dtype != base.dtype:  # _rebuild_tensor_v3 on raw bytes
            if base.dtype != np.uint8 or base.size % dtype.itemsize:
                raise self.error(f"cannot view storage {storage.key} ({base.dtype}, "
                                 f"{base.size} elements) as {dtype}")
            base = base.view(dtype)
        size, stride = tuple(size), tuple(stride)
        if 0 in size:
            return np.empty(size, base.dtype)
        last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
        if last >= base.size:
            raise self.error(f"a tensor of size {size}, stride {stride} and offset {offset} "
                             f"reaches past its storage of {base.size} elements")
        return np.lib.stride_tricks.as_strided(base[offset:], shape=size,
                                               strides=[s * base.itemsize for s in stride])

    def _tensor(self, array: np.ndarray, requires_grad: Any) -> Tensor:
        t = from_numpy(array)
        if requires_grad:
            if array.dtype.kind not in "fc":
                raise self.error(f"a {array.dtype} tensor is marked requires_grad")
            t.requires_grad_(True)
        self.built[id(t)] = (t, array)
        return t

    @staticmethod
    def _no_hooks(hooks: Any, metadata: Any = None) -> None:
        if hooks or metadata and any(metadata.values()):
            raise CheckpointError("load: tensors with backward hooks or conj/neg bits are not "
                                  "supported")

    def rebuild_tensor(self, storage: Any, offset: Any, size: Any, stride: Any) -> Tensor:
        return self._tensor(self._view(storage, offset, size, stride), False)

    def rebuild_tensor_v2(self, storage: Any, offset: Any, size: Any, stride: Any,
                          requires_grad: Any, backward_hooks: Any, metadata: Any = None
                          ) -> Tensor:
        self._no_hooks(backward_hooks, metadata)
        return self._tensor(self._view(storage, offset, size, stride), requires_grad)

    def rebuild_tensor_v3(self, storage: Any, offset: Any, size: Any, stride: Any,
                          requires_grad: Any, backward_hooks: Any, dtype: Any,
                          metadata: Any = None) -> Tensor:
        self._no_hooks(backward_hooks, metadata)
        if not isinstance(dtype, np.dtype):
            raise self.error(f"_rebuild_tensor_v3 with dtype {dtype!r:.40}")
        return self._tensor(self._view(storage, offset, size, stride, dtype), requires_grad)

    def rebuild_parameter(self, data: Any, requires_grad: Any, backward_hooks: Any) -> Tensor:
        from chainrule.nn.parameter import Parameter

        self._no_hooks(backward_hooks)
        if id(data) not in self.built:
            raise self.error(f"a Parameter is rebuilt from a {type(data).__name__}")
        array = self.built[id(data)][1]
        p = Parameter(from_numpy(array), requires_grad=bool(requires_grad))
        self.built[id(p)] = (p, p.detach().numpy())
        return p

    def rebuild_parameter_with_state(self, data: Any, requires_grad: Any, backward_hooks: Any,
                                     state: Any) -> Tensor:
        if state:
            raise self.error("Parameters with Python attributes are not supported")
        return self.rebuild_parameter(data, requires_grad, backward_hooks)

    # -- the result
    def check(self, obj: Any) -> Any:
        """Walk the unpickled tree: only containers (and their attributes), scalars and the
        tensors built here, none of them altered afterwards by the pickle (BUILD opcodes)."""
        seen: set[int] = set()
        todo = [obj]
        while todo:
            x = todo.pop()
            if id(x) in seen:
                continue
            seen.add(id(x))
            if isinstance(x, Tensor):
                entry = self.built.get(id(x))
                if (entry is None or entry[0] is not x or x.grad is not None
                        or x.grad_fn is not None or x.detach().numpy() is not entry[1]):
                    raise UnsafeCheckpointError(f"load: {self.name}: the pickle alters a "
                                                "tensor after building it")
            elif type(x) in (dict, OrderedDict, Counter):
                todo += [*x.keys(), *x.values()]
            elif type(x) in (list, tuple, Size, set, frozenset):
                todo += list(x)
            elif not (x is None or type(x) in (bool, int, float, complex, str, bytes)
                      or isinstance(x, np.dtype)):
                what = ("a storage outside any tensor" if isinstance(x, _Storage)
                        else f"a {type(x).__name__}")
                raise UnsafeCheckpointError(f"load: {self.name}: the pickle yields {what}, not "
                                            "a tensor, number, string or container")
            # torch's state dicts carry `_metadata` (an OrderedDict attribute set by BUILD)
            todo += list(getattr(x, "__dict__", {}).values())
        return obj


class _RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose find_class and persistent_load are the reader's."""

    def __init__(self, file: Any, reader: _TorchReader, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._reader = reader

    def find_class(self, module: str, name: str) -> Any:
        return self._reader.find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        return self._reader.persistent_load(pid)


_PICKLE_ERRORS = (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError,
                  IndexError, KeyError, struct.error, OverflowError, RecursionError,
                  UnicodeDecodeError, MemoryError)


def _unpickle(f: Any, reader: _TorchReader, args: dict[str, Any]) -> Any:
    try:
        return _RestrictedUnpickler(f, reader, **args).load()
    except (CheckpointError, RuntimeError):
        raise
    except _PICKLE_ERRORS as e:
        raise reader.error(f"corrupt pickle ({type(e).__name__}: {e})") from None


def _read_torch_zip(z: zipfile.ZipFile, name: str, map_location: Any,
                    args: dict[str, Any]) -> Any:
    names = z.namelist()
    pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if not pickles:
        if any(n.endswith("/constants.pkl") for n in names):
            raise CheckpointError(f"load: {name}: a TorchScript archive (torch.jit.save); "
                                  "chainrule reads torch.save checkpoints")
        raise CheckpointError(f"load: {name}: a zip archive, but neither a PyTorch checkpoint "
                              "(no data.pkl) nor a chainrule .npz")
    prefix = pickles[0][:-len("data.pkl")]

    def read(record: str) -> bytes:
        try:
            return z.read(prefix + record)
        except KeyError:
            raise CheckpointError(f"load: {name}: missing record {prefix + record} (truncated "
                                  "or corrupt file)") from None

    byteorder = read("byteorder").decode("ascii", "replace") if (
        prefix + "byteorder") in names else "little"
    if byteorder not in ("little", "big"):
        raise CheckpointError(f"load: {name}: unknown byte order {byteorder!r}")
    reader = _TorchReader(name, lambda key: read(f"data/{key}"), byteorder, map_location,
                          legacy=False)
    return reader.check(_unpickle(io.BytesIO(read("data.pkl")), reader, args))


def _read_torch_legacy(blob: bytes, name: str, map_location: Any,
                       args: dict[str, Any]) -> Any:
    """torch.save(..., _use_new_zipfile_serialization=False) and torch < 1.6: pickles in a row
    (magic number, protocol, system info, the object, its storage keys), then each storage as
    an int64 element count and its little-endian bytes."""
    f = io.BytesIO(blob)
    reader = _TorchReader(name, None, "little", map_location, legacy=True,
                          data_size=len(blob))
    if _unpickle(f, reader, args) != _LEGACY_MAGIC:
        raise CheckpointError(f"load: {name}: a pickle, but not a PyTorch checkpoint (no "
                              "torch magic number); chainrule does not load plain pickles")
    if _unpickle(f, reader, args) != _LEGACY_PROTOCOL:
        raise CheckpointError(f"load: {name}: unsupported legacy PyTorch protocol version")
    info = _unpickle(f, reader, args)
    if isinstance(info, dict) and not info.get("little_endian", True):
        raise CheckpointError(f"load: {name}: a big-endian legacy PyTorch checkpoint")
    result = _unpickle(f, reader, args)
    keys = _unpickle(f, reader, args)
    if not isinstance(keys, list):
        raise CheckpointError(f"load: {name}: corrupt storage list")
    for key in keys:
        storage = reader.storages.get(key.decode() if isinstance(key, bytes) else str(key))
        if storage is None:
            raise CheckpointError(f"load: {name}: storage {key!r} is listed but never used")
        head = f.read(8)
        numel = int.from_bytes(head, "little", signed=True) if len(head) == 8 else -1
        itemsize = 2 if storage.bfloat16 else storage.array.itemsize
        raw = f.read(max(numel, 0) * itemsize)
        if numel != storage.array.size or len(raw) != numel * itemsize:
            raise CheckpointError(f"load: {name}: storage {key} is truncated or corrupt")
        storage.fill(raw, "little")
    return reader.check(result)


# ----------------------------------------------------------------- public API
def _is_file_object(f: Any) -> bool:
    return not isinstance(f, str | os.PathLike) and (hasattr(f, "write") or hasattr(f, "read"))


def save(obj: Any, path: str | os.PathLike | BinaryIO,
         metadata: dict[str, str] | None = None) -> None:
    """Write obj (nested state dicts) to `path` atomically.

    `.pt` `.pth` `.tar` `.bin` `.ckpt`, or a binary file object: PyTorch's format (what
    torch.save writes; torch.load reads it with weights_only=True). `.npz`: NumPy's. Anything
    else: safetensors. `metadata` adds free-form strings to a safetensors / .npz header.
    """
    file_object = _is_file_object(path)
    if file_object or is_torch_path(path):  # type: ignore[arg-type]
        if metadata is not None:
            raise TypeError("save: metadata= is for .safetensors and .npz files; a PyTorch "
                            "checkpoint keeps everything in obj")
        pickler = _TorchPickler()
        pickled = pickler.dump(obj)                     # checks obj before touching any file
        if file_object:
            _write_torch(path, pickled, pickler.storages)
        else:
            _atomic_write(Path(path),  # type: ignore[arg-type]
                          lambda f: _write_torch(f, pickled, pickler.storages))
        return
    path = Path(path)  # type: ignore[arg-type]
    arrays: dict[str, np.ndarray] = {}
    skeleton = _flatten(obj, "", arrays)
    meta = dict(metadata or {})
    meta[_FORMAT_KEY] = json.dumps(skeleton)
    writer = _write_npz if path.suffix == ".npz" else _write_safetensors
    _atomic_write(path, lambda f: writer(f, arrays, meta))


def _sniff(head: bytes) -> str:
    """The format from a file's first bytes (a safetensors header is JSON from byte 8)."""
    if head[8:9] == b"{":
        return "safetensors"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    if head[257:262] == b"ustar":
        return "tar"
    return "safetensors"


def load(path: str | os.PathLike | BinaryIO, map_location: Any = None,
         pickle_module: Any = None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Read a checkpoint: PyTorch's `.pt`/`.pth` (zip or pre-1.6 format), safetensors, `.npz`.

    The format is read from the file's first bytes (`.npz` files by their extension).
    PyTorch files give chainrule Tensors (views of one storage stay views of one array, as
    in torch; bfloat16 becomes float32 exactly); safetensors and `.npz` give NumPy arrays.
    torch.load's arguments are accepted: `map_location` ('cpu', a device, a dict or a
    function returning its storage: chainrule is CPU-only, so tensors saved on another
    device need it, as in torch on a machine without that device); `weights_only` — True or
    False, the pickle is restricted to tensors and containers either way: chainrule never
    executes code from a file; `mmap` (the file is read into memory either way);
    `encoding`/`errors` for Python 2 pickles.
    """
    if pickle_module is not None:
        raise TypeError("load: pickle_module is not supported; chainrule unpickles with its own "
                        "restricted unpickler")
    unknown = sorted(set(pickle_load_args) - {"encoding", "errors"})
    if unknown:
        raise TypeError(f"load: unexpected keyword arguments {unknown}")
    del weights_only, mmap
    if _is_file_object(path):
        blob = path.read()  # type: ignore[union-attr]
        name = str(getattr(path, "name", "<file object>"))
        kind = _sniff(blob[:512])
        if kind == "zip":
            return _load_zip(io.BytesIO(blob), name, map_location, pickle_load_args)
        if kind == "pickle":
            return _read_torch_legacy(blob, name, map_location, pickle_load_args)
        raise CheckpointError(f"load: {name}: a file object must hold a PyTorch checkpoint")
    path = Path(path)  # type: ignore[arg-type]
    if not path.is_file():
        raise FileNotFoundError(f"load: no checkpoint at {path}")
    if path.suffix == ".npz":
        return _structure(path, *_read_npz(path))
    with open(path, "rb") as f:
        head = f.read(512)
    kind = _sniff(head)
    if kind == "zip":
        return _load_zip(path, str(path), map_location, pickle_load_args)
    if kind == "pickle":
        return _read_torch_legacy(path.read_bytes(), str(path), map_location, pickle_load_args)
    if kind == "tar":
        raise CheckpointError(f"load: {path}: a tar archive (PyTorch's format before 0.4?); "
                              "re-save it with a current torch.save")
    return _structure(path, *_read_safetensors(path))


def _load_zip(source: Path | io.BytesIO, name: str, map_location: Any,
              args: dict[str, Any]) -> Any:
    try:
        with zipfile.ZipFile(source) as z:
            names = z.namelist()
            if "__names__.npy" in names and not any(n.endswith("/data.pkl") for n in names):
                return _structure(name, *_read_npz(source))   # a chainrule .npz, renamed
            return _read_torch_zip(z, name, map_location, args)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, struct.error,
            NotImplementedError) as e:
        raise CheckpointError(f"load: {name}: corrupt or truncated zip archive: {e}") from None


def _structure(path: Any, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> Any:
    if _FORMAT_KEY not in metadata:
        return arrays
    try:
        return _unflatten(json.loads(metadata[_FORMAT_KEY]), arrays)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: corrupt checkpoint structure: {e}") from None


def load_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The free-form metadata strings of a checkpoint (without loading its structure); a
    PyTorch checkpoint has none."""
    path = Path(path)
    if path.suffix != ".npz" and path.is_file():
        with open(path, "rb") as f:
            if _sniff(f.read(512)) in ("zip", "pickle"):
                return {}
    _, metadata = _read_npz(path) if path.suffix == ".npz" else _read_safetensors(path)
    return {k: v for k, v in metadata.items() if k != _FORMAT_KEY}
