"""One progress display for chainrule's long loops: dataset downloads and training epochs.

    bar = progress(total=n_bytes, desc="train-images.gz", unit="B", enabled=None)
    with bar:
        for chunk in chunks:
            bar.update(len(chunk))

tqdm is an optional extra (`pip install 'chainrule[progress]'`). Without it `progress` returns a
`PlainProgress`, which has the same `update` / `set_postfix` / `close` / iteration /
context-manager surface and draws a one-line counter on stderr (or nothing, for callers that
would rather stay quiet than show a poor substitute).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sized
from types import TracebackType
from typing import Any, Protocol, TextIO


class ProgressBar(Protocol):
    """What callers may use of a bar, whether tqdm's or `PlainProgress`."""

    def update(self, n: int = 1) -> Any: ...

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True,
                    **kwargs: Any) -> None: ...

    def close(self) -> None: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: Any) -> Any: ...


class PlainProgress:
    """tqdm's surface without tqdm: counts, and when `draw` is set rewrites one stderr line.

    Byte counts (`unit="B"`) are shown in MiB, anything else as `n/total unit`.
    """

    def __init__(self, iterable: Iterable[Any] | None = None, total: int | None = None,
                 desc: str = "", unit: str = "it", draw: bool = False,
                 file: TextIO | None = None) -> None:
        if total is None and isinstance(iterable, Sized):
            total = len(iterable)
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.draw, self.n = draw, 0
        self.postfix = ""
        self._file = file
        self._closed = False

    def _line(self) -> str:
        head = f"{self.desc}: " if self.desc else ""
        if self.unit == "B":
            of = f" / {self.total / 2**20:.1f}" if self.total else ""
            body = f"{self.n / 2**20:.1f}{of} MiB"
        else:
            of = f"/{self.total}" if self.total else ""
            body = f"{self.n}{of} {self.unit}"
        return head + body + (f", {self.postfix}" if self.postfix else "")

    def _write(self, text: str) -> None:
        # Looked up at each write, not at construction, so a redirected sys.stderr (pytest's
        # capsys, a notebook) receives the output.
        out = self._file if self._file is not None else sys.stderr
        out.write(text)
        out.flush()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.draw and not self._closed:
            self._write("\r" + self._line())

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True,
                    **kwargs: Any) -> None:
        items = {**(dict(ordered_dict) if ordered_dict else {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())
        if refresh and self.draw and not self._closed:
            self._write("\r" + self._line())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.draw:
            self._write("\n")

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("progress: this bar was made without an iterable to go over")
        try:
            for item in self.iterable:
                yield item
                self.update()
        finally:
            self.close()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PlainProgress({self._line()!r})"


def progress(iterable: Iterable[Any] | None = None, total: int | None = None, desc: str = "",
             unit: str = "it", *, enabled: bool | None = True, plain: bool = True,
             leave: bool = False, **options: Any) -> ProgressBar:
    """A progress bar on stderr: tqdm's when tqdm is installed, else a `PlainProgress`.

    `enabled`: False shows nothing; None shows the bar only when stderr is a terminal (so logs
    and pipes stay clean). `plain`: without tqdm, draw the one-line counter (True) or stay silent
    (False). `options` go to tqdm only (`unit_scale=True`, `dynamic_ncols=True`, ...). Whatever
    comes back can be iterated (when `iterable` is given), updated, closed and used in `with`.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if enabled:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            pass
        else:
            return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave,
                        file=sys.stderr, **options)
    return PlainProgress(iterable, total, desc, unit, draw=bool(enabled and plain))
