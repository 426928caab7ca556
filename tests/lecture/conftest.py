"""What every lecture example's pictures must be: the files it says it wrote, real PNGs of a
sensible size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from chainrule import lecture
from chainrule.inspect import read_png

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def check_pictures() -> Callable[..., None]:
    def check(result: lecture.Result, names: list[str], min_h: int = 40, min_w: int = 100
              ) -> None:
        assert sorted(p.name for p in result.pictures) == sorted(names)
        for p in result.pictures:
            assert Path(p).read_bytes()[:8] == PNG
            assert 500 < Path(p).stat().st_size < 150_000
            h, w = read_png(p).shape[:2]
            assert min_h < h < 2000 and min_w < w < 2000
    return check
