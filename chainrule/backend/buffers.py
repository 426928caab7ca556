"""Reused memory for large arrays: the buffer cache, and layout helpers that go with it.

NumPy twin: `np.empty(shape, dtype)`. `empty` returns the same kind of array (uninitialised, C
order or the axis order asked for), only its memory may be a buffer that an earlier training step
used and let go of. Results never depend on it: `array_cache.clear()`, or a limit of 0, turns it
into plain `np.empty`.
"""

from __future__ import annotations

import bisect
import sys
import threading
from typing import Any

import numpy as np


class _ArrayCache:
    """Large arrays handed out again once nothing refers to them any more.

    A training step allocates the same large arrays (im2col matrices, activations, error
    signals) every time. Fresh memory of that size costs page faults (the allocator returns it to
    the OS between steps), often more than the arithmetic on it. Here each buffer (raw bytes)
    stays owned by the cache; `empty` returns a view of the smallest idle one that holds the
    request and is at most `fit` times its size, so an idle buffer of one shape serves arrays of
    another (ResNet-18 inference at batch 8 kept 233 MiB of buffers by exact size, 131 MiB so).
    A buffer is idle when its only reference is the cache's own — every array, view or Tensor
    still using a buffer holds a reference to it (a view's `.base`), so a buffer in use is never
    handed out twice. At most `limit` bytes are kept (arrays over a quarter of it are never
    cached); least recently used buffers are dropped first (an array in use then simply stays
    alive on its own). `clear()` hands all idle memory back.
    """

    #: arrays smaller than this come straight from np.empty
    min_bytes = 1 << 17
    #: an idle buffer serves a request of at least 1/fit of its size
    fit = 4

    def __init__(self, limit: int = 256 << 20) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._bufs: list[np.ndarray] = []  # uint8 buffers, by size
        self._sizes: list[int] = []        # their sizes, for bisect
        self._last: dict[int, int] = {}    # id(buffer) -> tick of its last hand-out
        self._tick = 0
        self._bytes = 0
        self._free_refs = self._refs_of_free_buffer()

    @staticmethod
    def _refs_of_free_buffer() -> int:
        """sys.getrefcount of a buffer referenced only by its list, seen as `empty` sees it."""
        bufs = [np.empty(1, np.uint8)]
        buf = bufs[0]
        return sys.getrefcount(buf)

    def empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Like np.empty(shape, dtype) (C order), possibly reusing an idle buffer."""
        dtype = np.dtype(dtype)
        count = 1
        for n in shape:
            count *= n
        nbytes = count * dtype.itemsize
        if nbytes < self.min_bytes or nbytes > self.limit // 4 or dtype.hasobject:
            return np.empty(shape, dtype)
        with self._lock:
            self._tick += 1
            bufs, sizes = self._bufs, self._sizes
            i = bisect.bisect_left(sizes, nbytes)
            end = bisect.bisect_right(sizes, nbytes * self.fit, lo=i)
            while i < end:
                buf = bufs[i]
                if sys.getrefcount(buf) == self._free_refs:
                    self._last[id(buf)] = self._tick
                    return buf[:nbytes].view(dtype).reshape(shape)
                i += 1
            buf = np.empty(nbytes, np.uint8)
            if self._bytes + nbytes > self.limit:
                self._evict(self._bytes + nbytes - self.limit)
            if self._bytes + nbytes <= self.limit:
                i = bisect.bisect_right(sizes, nbytes)
                bufs.insert(i, buf)
                sizes.insert(i, nbytes)
                self._last[id(buf)] = self._tick
                self._bytes += nbytes
            return buf[:nbytes].view(dtype).reshape(shape)

    def _evict(self, need: int) -> None:
        oldest = sorted(range(len(self._bufs)), key=lambda i: self._last[id(self._bufs[i])])
        drop = set()
        for i in oldest:
            if need <= 0:
                break
            drop.add(i)
            del self._last[id(self._bufs[i])]
            self._bytes -= self._sizes[i]
            need -= self._sizes[i]
        self._bufs = [b for i, b in enumerate(self._bufs) if i not in drop]
        self._sizes = [n for i, n in enumerate(self._sizes) if i not in drop]

    def holds(self, buf: np.ndarray) -> bool:
        """Whether `buf` is one of the cache's buffers."""
        with self._lock:
            return any(b is buf for b in self._bufs)

    def clear(self) -> None:
        """Drop every cached buffer (arrays still in use stay valid)."""
        with self._lock:
            self._bufs = []
            self._sizes = []
            self._last.clear()
            self._bytes = 0


array_cache = _ArrayCache()


def empty(shape: tuple[int, ...], dtype: Any, order: tuple[int, ...] | None = None
          ) -> np.ndarray:
    """np.empty for op outputs and scratch space, reusing idle large buffers (`_ArrayCache`).

    `order` lays the memory out in that axis order, outermost first (C order when None), as
    `memory_order` reports it, so an output can share its input's layout.
    """
    if order is None or order == tuple(range(len(shape))):
        return array_cache.empty(shape, dtype)
    buf = array_cache.empty(tuple(shape[i] for i in order), dtype)
    inverse = [0] * len(order)
    for pos, axis in enumerate(order):
        inverse[axis] = pos
    return buf.transpose(inverse)


def exclusive(a: np.ndarray) -> bool:
    """Whether a's memory is reachable only through `a`: it owns its memory, or it is a view of
    an array (a fresh result, or one of the cache's buffers) that nothing else refers to.

    The engine asks before it stores an error signal as a `.grad` without copying it: a
    reshaped weight gradient or an array from the cache is a view, and copying a large one
    (ResNet-18's weight gradients, 45 MB a step) costs more than the product that made it.
    """
    if a.flags.owndata:
        return True
    if not a.flags.writeable or any(
            st == 0 and n > 1 for st, n in zip(a.strides, a.shape, strict=True)):
        return False  # a broadcast view: its entries share memory
    base = a.base
    if not isinstance(base, np.ndarray) or not base.flags.owndata:
        return False
    # three references are this frame's: the local name, getrefcount's argument and a.base
    others = sys.getrefcount(base) - 3
    return others == 0 or (others == 1 and array_cache.holds(base))


def copy(a: np.ndarray, order: tuple[int, ...] | None = None) -> np.ndarray:
    """A copy of `a` in a (possibly reused) buffer laid out in `order` (see `empty`)."""
    out = empty(a.shape, a.dtype, order)
    np.copyto(out, a)
    return out


def memory_order(a: np.ndarray) -> tuple[int, ...]:
    """a's axes from the largest stride to the smallest: (0, 1, ...) for a C-ordered array."""
    strides = a.strides
    return tuple(sorted(range(a.ndim), key=lambda i: -abs(strides[i])))


def flat(a: np.ndarray) -> np.ndarray | None:
    """a's entries as a 1-D view in memory order, or None when a is not one dense block.
    Two arrays with the same shape and `memory_order` give views that pair up entry by entry."""
    t = a.transpose(memory_order(a))
    return t.reshape(-1) if t.flags.c_contiguous else None
