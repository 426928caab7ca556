"""torch.set_num_threads / get_num_threads on NumPy's BLAS (through threadpoolctl)."""

from __future__ import annotations

import pytest

import chainrule as cr


def test_set_num_threads_sets_the_blas_and_get_reads_it_back():
    pytest.importorskip("threadpoolctl")
    old = cr.get_num_threads()
    try:
        cr.set_num_threads(1)
        assert cr.get_num_threads() == 1
        cr.set_num_threads(old)
        assert cr.get_num_threads() == old
    finally:
        cr.set_num_threads(old)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_refuses_what_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match="set_num_threads: expected a positive integer"):
        cr.set_num_threads(bad)
