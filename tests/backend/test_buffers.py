"""The buffer cache behind large op outputs: a buffer still referenced is never handed out."""

from __future__ import annotations

import gc

import numpy as np

from chainrule.backend.buffers import _ArrayCache, empty, exclusive, memory_order

SHAPE = (64, 1024)  # 256 KiB of float32: above the cache's minimum size


def _addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_live_arrays_and_their_views_keep_their_buffer() -> None:
    cache = _ArrayCache()
    a = cache.empty(SHAPE, np.float32)
    view = a[::2]
    del a
    b = cache.empty(SHAPE, np.float32)
    assert _addr(b) != _addr(view)          # the view still holds the first buffer
    del view, b
    gc.collect()
    c = cache.empty(SHAPE, np.float32)
    d = cache.empty(SHAPE, np.float32)
    assert _addr(c) != _addr(d)             # two live results never share memory
    c[...] = 1
    d[...] = 2
    assert np.all(c == 1) and np.all(d == 2)


def test_idle_buffers_are_reused_and_clear_releases_them() -> None:
    cache = _ArrayCache()
    first = _addr(cache.empty(SHAPE, np.float32))
    assert _addr(cache.empty(SHAPE, np.float32)) == first  # the first result was dropped
    cache.clear()
    assert cache._bytes == 0


def test_an_idle_buffer_serves_smaller_arrays_of_any_dtype_up_to_fit() -> None:
    cache = _ArrayCache()
    first = cache.empty((4 * SHAPE[0], SHAPE[1]), np.float32)  # 1 MiB
    where = _addr(first)
    del first
    half = cache.empty((SHAPE[0], SHAPE[1]), np.float64)        # 512 KiB: fits, within fit
    assert _addr(half) == where and cache._bytes == 1 << 20
    assert half.dtype == np.float64 and half.shape == SHAPE and half.flags.c_contiguous
    assert half.flags.aligned and half.flags.writeable
    half[...] = 3.0
    other = cache.empty(SHAPE, np.float64)                      # the buffer is in use
    assert _addr(other) != where and cache._bytes == (1 << 20) + (512 << 10)
    beside = _addr(other)
    del half, other
    small = cache.empty((SHAPE[0] // 2, SHAPE[1]), np.float32)  # 128 KiB: the smallest idle
    assert _addr(small) == beside                               # buffer that holds it
    again = cache.empty((SHAPE[0] // 2, SHAPE[1]), np.float32)  # 1 MiB is over fit · 128 KiB
    assert _addr(again) != where and cache._bytes == (1 << 20) + (640 << 10)


def test_small_and_oversized_requests_bypass_the_cache() -> None:
    cache = _ArrayCache(limit=1 << 20)
    small = cache.empty((4, 4), np.float64)
    big = cache.empty((1 << 20,), np.float32)  # 4 MiB > a quarter of the limit
    assert small.shape == (4, 4) and big.shape == (1 << 20,)
    assert cache._bytes == 0


def test_empty_can_follow_another_arrays_memory_order() -> None:
    src = np.empty((2, 3, 4, 5), np.float32).transpose(3, 1, 2, 0)  # a non-C-ordered view
    order = memory_order(src)
    out = empty(src.shape, np.float32, order)
    assert out.shape == src.shape and memory_order(out) == order


def test_exclusive_tells_whether_anything_else_reaches_the_memory() -> None:
    owner = np.zeros((4, 6))
    assert exclusive(owner)
    view = owner.reshape(24)
    assert not exclusive(view)                       # the owner is still alive
    fresh = np.zeros((4, 6)).reshape(24)
    assert exclusive(fresh)  # a view of a fresh array that nothing else holds
    t = np.zeros((4, 6)).T
    other = t.T
    assert not exclusive(t) and not exclusive(other)  # two views of one memory
    spread = np.broadcast_to(np.zeros(3), (4, 3))
    assert not exclusive(spread)  # its entries share memory
    ro = np.zeros((4, 6)).reshape(24)
    ro.flags.writeable = False
    assert not exclusive(ro)


def test_exclusive_counts_the_cache_as_nobody() -> None:
    a = empty((512, 512), np.float32)  # a view of one of the cache's buffers
    assert exclusive(a)
    b = a.reshape(-1)
    assert not exclusive(a)
    del b
    r = a.reshape(512, 256, 2)
    del a
    assert exclusive(r)
    gc.collect()
