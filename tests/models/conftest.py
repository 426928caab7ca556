"""The torchvision oracle: torchvision's own model definitions, run on the installed torch.

torchvision's wheel does not import beside this project's torch (its compiled ops are built for
another torch), but the model files are plain Python. The `tv` fixture takes alexnet.py, vgg.py,
googlenet.py and resnet.py (and the pure-Python weight-enum files they import) out of the wheel
into a cache directory and imports them as the package ``_torchvision_oracle``, with stand-ins
for the three compiled or heavy imports they make: ``utils._log_api_usage_once`` (telemetry),
``transforms._presets.ImageClassification`` (only named in the weight enums' metadata) and
``_internally_replaced_utils.load_state_dict_from_url`` (a download; never called here).

The wheel is found, in order: ``$CHAINRULE_TORCHVISION_WHEEL``; an earlier extraction in the
cache; ``.venv/wheels/`` (where ``make test`` puts it); ``pip download --no-deps
torchvision==0.29.1``. The tests skip with the reason when none works.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import pytest

VERSION = "0.29.1"
PACKAGE = "_torchvision_oracle"
FILES = ("torchvision/_utils.py", "torchvision/models/_api.py", "torchvision/models/_meta.py",
         "torchvision/models/_utils.py", "torchvision/models/alexnet.py",
         "torchvision/models/vgg.py", "torchvision/models/googlenet.py",
         "torchvision/models/resnet.py")
MODELS = ("alexnet", "vgg", "googlenet", "resnet")
ROOT = Path(__file__).resolve().parents[2]


def _wheels(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"torchvision-{VERSION}-*.whl")) if folder.is_dir() else []


def _find_wheel(cache: Path) -> tuple[Path | None, str]:
    """A torchvision wheel, or None and why not."""
    env = os.environ.get("CHAINRULE_TORCHVISION_WHEEL")
    if env:
        if Path(env).is_file():
            return Path(env), ""
        return None, f"CHAINRULE_TORCHVISION_WHEEL={env} is not a file"
    for folder in (ROOT / ".venv" / "wheels", cache):
        found = _wheels(folder)
        if found:
            return found[-1], ""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
           f"torchvision=={VERSION}", "-d", str(cache)]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"`{' '.join(cmd[2:])}` failed: {e}"
    found = _wheels(cache)
    if run.returncode or not found:
        last = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no wheel saved"]
        return None, f"`pip download --no-deps torchvision=={VERSION}` failed: {last[0]}"
    return found[-1], ""


def _extract(cache: Path) -> tuple[Path | None, str]:
    """The folder holding torchvision/models/*.py, extracted from the wheel once."""
    target = cache / "src"
    if all((target / f).is_file() for f in FILES):
        return target, ""
    wheel, why = _find_wheel(cache)
    if wheel is None:
        return None, why
    try:
        with zipfile.ZipFile(wheel) as z:
            for name in FILES:
                z.extract(name, target)
    except (zipfile.BadZipFile, KeyError, OSError) as e:
        return None, f"cannot extract the model files from {wheel}: {e}"
    return target, ""


def _stub(name: str, **attrs: object) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


def _never_download(*args: object, **kwargs: object) -> None:
    raise RuntimeError("the torchvision oracle loads no pretrained weights")


class ImageClassification:
    """Stand-in for torchvision.transforms._presets.ImageClassification (metadata only)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("the torchvision oracle has no transforms")


def _import(src: Path) -> types.SimpleNamespace:
    if PACKAGE not in sys.modules:
        pkg = _stub(PACKAGE, __path__=[str(src / "torchvision")])
        pkg.utils = _stub(f"{PACKAGE}.utils", _log_api_usage_once=lambda obj: None)
        pkg.transforms = _stub(f"{PACKAGE}.transforms", __path__=[])
        _stub(f"{PACKAGE}.transforms._presets", ImageClassification=ImageClassification)
        _stub(f"{PACKAGE}._internally_replaced_utils",
              load_state_dict_from_url=_never_download)
        # the real models/__init__.py imports every model; only the four files are needed
        _stub(f"{PACKAGE}.models", __path__=[str(src / "torchvision" / "models")])
    return types.SimpleNamespace(**{m: importlib.import_module(f"{PACKAGE}.models.{m}")
                                    for m in MODELS})


@pytest.fixture(scope="session")
def tv(request):
    """torchvision's alexnet, vgg, googlenet and resnet modules (a namespace of the four)."""
    pytest.importorskip("torch", reason="torch not installed: pip install torch==2.13.0")
    cache_of = getattr(request.config, "cache", None)
    cache = (Path(cache_of.mkdir(f"torchvision-{VERSION}")) if cache_of is not None
             else Path(tempfile.gettempdir()) / f"chainrule-torchvision-{VERSION}")
    cache.mkdir(parents=True, exist_ok=True)
    src, why = _extract(cache)
    if src is None:
        pytest.skip(f"torchvision oracle unavailable: {why}")
    try:
        return _import(src)
    except Exception as e:  # an incompatible torchvision/torch pair: say which
        pytest.skip(f"torchvision {VERSION}'s model files do not import on this torch: "
                    f"{type(e).__name__}: {e}")


@pytest.fixture(autouse=True)
def _seeded():
    """Both libraries' random initialisations are seeded, so a comparison in float32 (where a
    ReLU or max-pool decision can flip between two correct implementations) is the same every
    run instead of failing now and then."""
    import chainrule as cr

    cr.manual_seed(0)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)
