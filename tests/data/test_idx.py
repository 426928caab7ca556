import gzip

import numpy as np
import pytest

from chainrule.data import DataError, read_idx, write_idx
from chainrule.data.idx import to_idx_bytes


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, suffix):
    a = (np.arange(2 * 3 * 4) - 7).reshape(2, 3, 4).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


def test_header_layout_is_the_standard_one(tmp_path):
    raw = to_idx_bytes(np.zeros((300, 28, 28), np.uint8))
    assert raw[:16] == bytes.fromhex("00000803" "0000012c" "0000001c" "0000001c")
    assert len(raw) == 16 + 300 * 784
    assert to_idx_bytes(np.zeros(10, np.uint8))[:8] == bytes.fromhex("00000801 0000000a")


def test_gzip_detected_by_content_not_name(tmp_path):
    a = np.arange(5, dtype=np.uint8)
    p = tmp_path / "labels-idx1-ubyte"       # gzip bytes without the .gz suffix
    p.write_bytes(gzip.compress(to_idx_bytes(a)))
    np.testing.assert_array_equal(read_idx(p), a)


def test_write_rejects_int64(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))


GOOD = to_idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize("data, what", [
    (b"\x01\x00" + GOOD[2:], "magic"),
    (b"\x00\x00\x07" + GOOD[3:], "type code 0x07"),
    (b"\x00\x00\x08\x00", "zero dimensions"),
    (GOOD[:-1], "truncated"),
    (GOOD[:10], "truncated IDX header"),
    (GOOD[:2], "truncated"),
    (GOOD + b"\x00\x00", "2 trailing bytes"),
])
@pytest.mark.parametrize("compress", [False, True])
def test_corruption_raises_naming_the_file(tmp_path, data, what, compress):
    path = tmp_path / ("broken-idx3-ubyte" + (".gz" if compress else ""))
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(DataError, match=what) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_broken_gzip_streams(tmp_path):
    gz = gzip.compress(GOOD * 50, mtime=0)
    cases = {
        "cut.gz": gz[: len(gz) // 2],                                      # cut short
        "flipped.gz": gz[:20] + bytes([gz[20] ^ 0xFF]) + gz[21:],          # bit rot
        "crc.gz": gz[:-8] + bytes(4) + gz[-4:],                            # wrong CRC
        "notgzip.gz": GOOD,                                                # .gz that isn't
    }
    for name, body in cases.items():
        path = tmp_path / name
        path.write_bytes(body)
        with pytest.raises(DataError) as info:
            read_idx(path)
        assert str(path) in str(info.value), name


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nope.gz")
