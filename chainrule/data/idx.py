"""The IDX file format of MNIST and Fashion-MNIST (`*-idx3-ubyte`, optionally gzip-compressed).

Layout: a 4-byte magic number `0x00 0x00 <type code> <ndim>`, then `ndim` big-endian uint32
dimension sizes, then the values in C order, big-endian. Type codes: 0x08 uint8, 0x09 int8,
0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from chainrule.data._errors import DataError

PathLike = str | os.PathLike[str]

_TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_CODE_OF = {dt.newbyteorder("=").char: code for code, dt in _TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def decompress(raw: bytes, path: PathLike = "<bytes>") -> bytes:
    """The IDX bytes of a file's contents: gunzipped when it starts with the gzip magic."""
    if not raw.startswith(_GZIP_MAGIC):
        if os.fspath(path).endswith(".gz"):
            raise DataError(f"{os.fspath(path)}: not a gzip file (the name ends in .gz but the "
                            f"first bytes are {raw[:2].hex() or 'missing'}, not 1f8b)")
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{os.fspath(path)}: broken gzip stream ({e}); the file is corrupt or "
                        "was cut short, delete it and get it again") from None


def parse_idx(content: bytes, path: PathLike = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX bytes into a native-endian array, validating every header field."""
    name = os.fspath(path)
    if len(content) < 4:
        raise DataError(f"{name}: truncated IDX file: {len(content)} bytes, shorter than the "
                        "4-byte magic number")
    if content[0] != 0 or content[1] != 0:
        raise DataError(f"{name}: bad IDX magic number 0x{content[:4].hex()}: the first two "
                        "bytes must be zero (is this an IDX file?)")
    code, ndim = content[2], content[3]
    if code not in _TYPE_CODES:
        raise DataError(f"{name}: bad IDX type code 0x{code:02x} in magic number "
                        f"0x{content[:4].hex()}; expected one of "
                        + ", ".join(f"0x{c:02x}" for c in _TYPE_CODES))
    if ndim == 0:
        raise DataError(f"{name}: bad IDX magic number 0x{content[:4].hex()}: zero dimensions")
    header = 4 + 4 * ndim
    if len(content) < header:
        raise DataError(f"{name}: truncated IDX header: {ndim} dimensions need {header} bytes, "
                        f"the file has {len(content)}")
    shape = tuple(int(d) for d in np.frombuffer(content, ">u4", count=ndim, offset=4))
    dtype = _TYPE_CODES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(content) < expected:
        raise DataError(f"{name}: truncated IDX file: shape {shape} of {dtype.name} needs "
                        f"{expected} bytes, the file has {len(content)}")
    if len(content) > expected:
        raise DataError(f"{name}: {len(content) - expected} trailing bytes after the IDX data "
                        f"(shape {shape} needs exactly {expected} bytes)")
    data = np.frombuffer(content, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not); a corrupt file raises `DataError` naming it."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{os.fspath(path)}: no such file") from None
    return parse_idx(decompress(raw, path), path)


def to_idx_bytes(array: np.ndarray) -> bytes:
    """Serialise `array` (uint8, int8, int16, int32, float32 or float64) as IDX bytes."""
    array = np.asarray(array)
    code = _CODE_OF.get(array.dtype.char)
    if code is None:
        raise TypeError(f"write_idx: IDX cannot hold dtype {array.dtype}; use uint8, int8, "
                        "int16, int32, float32 or float64")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx: IDX needs 1 to 255 dimensions, got {array.ndim}")
    head = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return head + np.ascontiguousarray(array, _TYPE_CODES[code]).tobytes()


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Write `array` as an IDX file, gzip-compressed (reproducibly, mtime 0) when `path` ends
    in `.gz`."""
    data = to_idx_bytes(array)
    if os.fspath(path).endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)
