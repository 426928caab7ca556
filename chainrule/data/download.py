"""Fetching dataset files: the per-user cache folder, mirror lists, md5 checks, atomic writes.

A download goes to a temporary file in the target folder, is verified there, and only then is
renamed into place with `os.replace` (atomic within one filesystem), so an interrupted, cut or
corrupt download never leaves a file that a later run would take for a complete one.

Checksums: a file is accepted when the md5 of its bytes *or* of its decompressed content is a
known one, because re-compressed copies (such as Debian's) differ only in their gzip wrapper.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from chainrule.data._errors import DataError
from chainrule.utils.progress import progress as progress_bar

# The network modules are imported where a download starts: urllib.request brings ssl, http and
# email with it, 3.6 MiB of every chainrule process that never downloads anything (measured
# after numpy.random, which chainrule imports and which already loads hashlib).


def _mirror_errors() -> tuple[type[BaseException], ...]:
    """What a bad mirror can raise: refused or dropped connections, HTTP errors (OSError), a
    malformed reply, or a file that fails verification (DataError, ValueError)."""
    import http.client

    return (OSError, http.client.HTTPException, DataError, ValueError)


class DownloadError(DataError):
    """No mirror gave a verified copy; `.errors` has one `"url: reason"` line per mirror."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors) or "no mirrors to download from")
        self.errors = list(errors)


def cache_dir() -> Path:
    """chainrule's per-user data cache: `$XDG_CACHE_HOME/chainrule` or `~/.cache/chainrule`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "chainrule"


def md5(data: bytes) -> str:
    # md5 here detects corruption and wrong files, not tampering; usedforsecurity=False keeps
    # it working on FIPS-restricted Pythons.
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def check_md5(path: Path, raw: bytes, content: bytes,
              checksums: Mapping[str, Sequence[str]], dataset: str) -> None:
    """Accept `raw` (the file's bytes) when its md5, or that of `content` (its decompressed
    bytes; the same object when it was not compressed), is listed in `checksums` under the
    file's name without `.gz`; otherwise raise DataError naming both md5s."""
    key = path.name.removesuffix(".gz")
    known = checksums.get(key, ())
    got = md5(raw)
    if got in known:
        return
    got_content = got if content is raw else md5(content)
    if got_content in known:
        return
    raise DataError(f"{path}: md5 checksum mismatch: file {got}, decompressed "
                    f"{got_content}; expected one of {', '.join(known) or '(none known)'} "
                    f"for {dataset}'s {key}. The file is corrupt or not {dataset}: "
                    "delete it, or pass verify=False to load it anyway")


def mirror_urls(mirrors: Sequence[str] | None, env_var: str,
                default: Sequence[str]) -> list[str]:
    """`mirrors` when given, else the URLs in `$env_var` (separated by spaces or commas), else
    `default`."""
    if mirrors is not None:
        return list(mirrors)
    env = os.environ.get(env_var)
    if env:
        return env.replace(",", " ").split()
    return list(default)


def make_folder(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; return those it created, deepest first, so a
    failed download can take them away again (`remove_empty_folders`)."""
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    return created


def remove_empty_folders(folders: Iterable[Path]) -> None:
    """Remove each folder that exists and is empty, in the order given (deepest first)."""
    for p in folders:
        if p.is_dir() and not any(p.iterdir()):
            p.rmdir()


def download(url: str, dest: Path, *, verify: Callable[[bytes, str], None] | None = None,
             progress: bool | None = None, timeout: float = 30.0) -> None:
    """Fetch `url` to a temporary file beside `dest`, call `verify(raw_bytes, url)` (which raises
    to reject it), then rename it to `dest`. `progress`: show a bar (None: when stderr is a
    terminal). On any failure no temporary file is left and `dest` is untouched."""
    import tempfile
    import urllib.request

    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": "chainrule"})
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                length = resp.headers.get("Content-Length")
                with progress_bar(total=int(length) if length else None, desc=dest.name,
                                  unit="B", enabled=progress, unit_scale=True,
                                  unit_divisor=1024) as bar:
                    while chunk := resp.read(1 << 16):
                        out.write(chunk)
                        bar.update(len(chunk))
            out.flush()
            # On disk before the rename, so a crash cannot leave a renamed but empty file.
            os.fsync(out.fileno())
        if verify is not None:
            verify(Path(tmp).read_bytes(), url)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def download_from_mirrors(filename: str, mirrors: Sequence[str], dest: Path, *,
                          verify: Callable[[bytes, str], None] | None = None,
                          progress: bool | None = None, timeout: float = 30.0) -> str:
    """Download `filename` from the first mirror (a base URL) that serves a copy passing
    `verify`, to `dest`; return the URL it came from. Raises DownloadError when none does."""
    errors = []
    for base in mirrors:
        url = base.rstrip("/") + f"/{filename}"
        try:
            download(url, dest, verify=verify, progress=progress, timeout=timeout)
            return url
        except _mirror_errors() as e:
            errors.append(f"{url}: {e}")
    raise DownloadError(errors)
