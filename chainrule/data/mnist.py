"""MNIST and Fashion-MNIST as torchvision-style datasets: find the IDX files or download them.

Where the files come from, first match wins:

1. `root=`: a folder holding the standard files, or holding `mnist/` (`fashion-mnist/`);
2. `$CHAINRULE_DATA/mnist` (`$CHAINRULE_DATA/fashion-mnist`);
3. the per-user cache, `$XDG_CACHE_HOME/chainrule/mnist` (default `~/.cache/chainrule/...`);
4. a download from the mirrors (`mirrors=`, or `$CHAINRULE_MNIST_MIRRORS` /
   `$CHAINRULE_FASHION_MNIST_MIRRORS`, URLs separated by spaces or commas), saved to
   `root/mnist` when `root` is given, else to the cache.

Every file is checked against the published md5 of its `.gz` *or* of its decompressed content.
How files are fetched (mirrors, md5s, atomic writes, the progress bar) is in
`chainrule.data.download`; this module knows what the datasets are and where to look for them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.data._errors import DataError, DataNotFoundError
from chainrule.data.dataset import (
    Dataset,
    apply_transform,
    default_collate,
    is_batchable,
    transform_sample,
)
from chainrule.data.download import (
    DownloadError,
    cache_dir,
    check_md5,
    download_from_mirrors,
    make_folder,
    mirror_urls,
    remove_empty_folders,
)
from chainrule.data.idx import PathLike, decompress, parse_idx

_HINT = ("Point chainrule at a copy: set CHAINRULE_DATA to a folder containing {folder}/ with "
         "the four IDX files ({files}), or pass root=/path/to/{folder}.")


class ImageDataset(Dataset):
    """Images `data` (N, H, W) uint8 and labels `targets` (N,) int64, as torchvision's MNIST.

    `ds[i]` is `(transform(image), target_transform(label))` by torchvision's rules: the image
    is its (H, W) uint8 array (chainrule's stand-in for torchvision's PIL image: what
    `np.asarray` of that gives) and the label an int, so `transform=ToTensor()` gives the usual
    (1, H, W) float32 tensor in [0, 1]. Without a transform `ds[i]` is the raw array, which a
    DataLoader stacks into (N, H, W) uint8 tensors. Batches are cut by fancy indexing, the
    transform run on the whole batch when it is batchable (see `chainrule.data.transforms`),
    else sample by sample: the same values either way.
    """

    def __init__(self, data: np.ndarray, targets: np.ndarray, classes: Sequence[str],
                 transform: Callable[..., Any] | None = None,
                 target_transform: Callable[..., Any] | None = None) -> None:
        self.data = data
        self.targets = np.asarray(targets, np.int64)
        self.classes = list(classes)
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def _sample(self, index: int, rng: np.random.Generator | None) -> tuple[Any, Any]:
        img = transform_sample(self.transform, self.data[index].copy(), rng)
        target = int(self.targets[index])
        return img, transform_sample(self.target_transform, target, rng)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return self._sample(index, None)

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> Any:
        if self.target_transform is None and is_batchable(self.transform):
            return apply_transform(self.transform, self.data[indices], rng), \
                self.targets[indices]
        return default_collate([self._sample(int(i), rng) for i in indices])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} images {tuple(self.data.shape[1:])})"


class MNIST(ImageDataset):
    """The MNIST handwritten digits: `.data` (N, 28, 28) uint8, `.targets` (N,) int64.

    Args: `root` (a folder to look in first, and to download to), `train` (60,000 training or
    10,000 test images), `download` (allow downloading), `transform` / `target_transform`
    (applied to each image / label, as in torchvision; see `ImageDataset`),
    `mirrors` (base URLs to download from, tried in turn), `verify` (check md5s of local files),
    `progress` (show a download progress bar; default: when stderr is a terminal),
    `timeout` (seconds per network operation).
    Attributes besides the data: `.folder` (where the files were read) and `.source`
    ("root", "CHAINRULE_DATA", "cache" or "download").
    """

    name = "MNIST"
    subdir = "mnist"
    torchvision_subdir = "MNIST"
    mirror_env = "CHAINRULE_MNIST_MIRRORS"
    mirrors: tuple[str, ...] = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    )
    files = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    # Accepted md5s per file: the published .gz (torchvision's MNIST.resources) and the
    # decompressed IDX content (train images: as published; the others computed from the
    # same canonical files).
    checksums: dict[str, tuple[str, ...]] = {
        "train-images-idx3-ubyte": ("f68b3c2dcbeaaa9fbdd348bbdeb94873",
                                    "6bbc9ace898e44ae57da46a324031adb"),
        "train-labels-idx1-ubyte": ("d53e105ee54ea40749a09fcbcd1e9432",
                                    "a25bea736e30d166cdddb491f175f624"),
        "t10k-images-idx3-ubyte": ("9fb629c4189551a2d022fa330f9573f3",
                                   "2646ac647ad5339dbf082846283269ea"),
        "t10k-labels-idx1-ubyte": ("ec29112dd5afa0611ce80d1b7f02629c",
                                   "27ae3e4e09519cfbb04c329615203637"),
    }
    classes_ = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
                "6 - six", "7 - seven", "8 - eight", "9 - nine")

    def __init__(self, root: PathLike | None = None, train: bool = True, download: bool = True,
                 transform: Callable[..., Any] | None = None,
                 mirrors: Sequence[str] | None = None, verify: bool = True,
                 progress: bool | None = None, timeout: float = 30.0,
                 target_transform: Callable[..., Any] | None = None) -> None:
        self.train = bool(train)
        self.root = None if root is None else Path(root)
        self.verify = verify
        names = self.files[self.train]
        searched: list[str] = []
        found, damaged_cache = None, False
        for source, folder in self._candidates():
            paths = self._find(folder, names)
            searched.append(str(folder))
            if paths is None:
                continue
            try:
                found = (*self._load(paths, verify), folder, source)
            except DataError:
                if source != "cache" or not download:
                    raise
                damaged_cache = True   # _fetch downloads the bad file again, over it
            break
        if found is None:
            target = cache_dir() / self.subdir
            if self.root is not None and not damaged_cache:
                target = self.root / self.subdir
            found = (*self._fetch(target, names, download, searched, mirrors, progress,
                                  timeout), target, "download")
        data, targets, self.folder, self.source = found
        super().__init__(data, targets, self.classes_, transform, target_transform)

    # ------------------------------------------------------------------ locating files
    def _candidates(self) -> list[tuple[str, Path]]:
        out: list[tuple[str, Path]] = []
        if self.root is not None:
            out += [("root", self.root), ("root", self.root / self.subdir),
                    ("root", self.root / self.torchvision_subdir / "raw")]
        env = os.environ.get("CHAINRULE_DATA")
        if env:
            base = Path(env)
            out += [("CHAINRULE_DATA", base / self.subdir),
                    ("CHAINRULE_DATA", base / self.torchvision_subdir / "raw")]
        out.append(("cache", cache_dir() / self.subdir))
        return out

    @staticmethod
    def _find(folder: Path, names: Sequence[str]) -> list[Path] | None:
        paths = []
        for name in names:
            for candidate in (folder / f"{name}.gz", folder / name):
                if candidate.is_file():
                    paths.append(candidate)
                    break
            else:
                return None
        return paths

    # ------------------------------------------------------------------ reading + checking
    def _read(self, path: Path, verify: bool) -> np.ndarray:
        raw = path.read_bytes()
        content = decompress(raw, path)
        if verify:
            check_md5(path, raw, content, self.checksums, self.name)
        return parse_idx(content, path)

    def _load(self, paths: Sequence[Path], verify: bool) -> tuple[np.ndarray, np.ndarray]:
        images, labels = (self._read(p, verify) for p in paths)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(f"{paths[0]}: expected uint8 images of shape (N, H, W), got "
                            f"{images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise DataError(f"{paths[1]}: expected integer labels of shape (N,), got "
                            f"{labels.dtype} {labels.shape}")
        if labels.shape[0] != images.shape[0]:
            raise DataError(f"{paths[1]}: {labels.shape[0]} labels for {images.shape[0]} images "
                            f"in {paths[0]}")
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes_)):
            raise DataError(f"{paths[1]}: labels must lie in 0..{len(self.classes_) - 1}, got "
                            f"{labels.min()}..{labels.max()}")
        return images, labels.astype(np.int64)

    # ------------------------------------------------------------------ downloading
    def _not_found(self, searched: Sequence[str], why: str,
                   short: str | None = None) -> DataNotFoundError:
        split = "train" if self.train else "test"
        names = self.files[self.train]
        all_names = ", ".join(f"{n}.gz" for pair in self.files.values() for n in pair)
        err = DataNotFoundError(
            f"{self.name} ({split}) not found: looked for {names[0]}[.gz] and {names[1]}[.gz] "
            f"in {', '.join(searched)}; {why}. "
            + _HINT.format(folder=self.subdir, files=all_names))
        err.reason = short or why   # one line, for load_dataset's message
        return err

    def _fetch(self, folder: Path, names: Sequence[str], download: bool,
               searched: Sequence[str], mirrors: Sequence[str] | None,
               progress: bool | None, timeout: float) -> tuple[np.ndarray, np.ndarray]:
        if not download:
            raise self._not_found(searched, "download=False, so nothing was downloaded")
        urls = mirror_urls(mirrors, self.mirror_env, self.mirrors)
        if not urls:
            raise self._not_found(searched, "no download mirrors are configured")
        try:
            created = make_folder(folder)
        except OSError as e:
            raise self._not_found(searched, f"cannot create {folder} to download into: {e}"
                                  ) from None
        paths = []
        for name in names:
            existing = self._find(folder, [name])
            if existing is not None:
                try:   # one half of the pair already there: keep it when it checks out
                    self._read(existing[0], verify=True)
                    paths.append(existing[0])
                    continue
                except DataError:
                    pass   # damaged: download it again over it
            dest = folder / f"{name}.gz"
            try:
                download_from_mirrors(dest.name, urls, dest, verify=self._verify_download,
                                      progress=progress, timeout=timeout)
            except DownloadError as e:
                remove_empty_folders(created)   # leave no empty folders behind
                errors = e.errors
                more = f" and {len(errors) - 1} more mirror(s)" if len(errors) > 1 else ""
                raise self._not_found(searched, "download failed: " + "; ".join(errors),
                                      f"the download failed ({errors[0]}{more})") from None
            paths.append(dest)
        return self._load(paths, verify=False)   # each file was verified as it arrived

    def _verify_download(self, raw: bytes, url: str) -> None:
        """Reject a download that is not this dataset's file: bad gzip, md5 or IDX layout."""
        content = decompress(raw, url)
        check_md5(Path(url.rsplit("/", 1)[-1]), raw, content, self.checksums, self.name)
        parse_idx(content, url)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: ten clothing classes, same format and sizes as `MNIST`."""

    name = "Fashion-MNIST"
    subdir = "fashion-mnist"
    torchvision_subdir = "FashionMNIST"
    mirror_env = "CHAINRULE_FASHION_MNIST_MIRRORS"
    mirrors = (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    )
    # The published .gz md5s (Zalando's README, torchvision's FashionMNIST.resources) and the
    # decompressed content md5s (computed from Debian's dataset-fashion-mnist copies).
    checksums = {
        "train-images-idx3-ubyte": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                                    "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        "train-labels-idx1-ubyte": ("25c81989df183df01b3e8a0aad5dffbe",
                                    "9018921c3c673c538a1fc5bad174d6f9"),
        "t10k-images-idx3-ubyte": ("bef4ecab320f06d8554ea6380940ec79",
                                   "8181f5470baa50b63fa0f6fddb340f0a"),
        "t10k-labels-idx1-ubyte": ("bb300cfdad3c16e7a12a480ee83cd310",
                                   "15d484375f8d13e6eb1aabb0c3f46965"),
    }
    classes_ = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                "Sneaker", "Bag", "Ankle boot")
