"""Devices as PyTorch names them. chainrule computes on the CPU only: `device("cpu")` is accepted
everywhere torch takes a device, and any other device is an error that says so (never a silent
run on the CPU of code that asked for a GPU)."""

from __future__ import annotations

from typing import Any


class device:  # noqa: N801  (torch's spelling)
    """`chainrule.device("cpu")`; "cuda", "mps" and the rest can be named, but not used."""

    __slots__ = ("type", "index")

    type: str
    index: int | None

    def __init__(self, type: Any, index: int | None = None) -> None:  # noqa: A002
        spec: Any = type
        if isinstance(type, device):
            spec, index = type.type, type.index
        elif isinstance(type, int):  # torch reads a bare int as a CUDA ordinal
            spec, index = "cuda", type
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu', got "
                            f"{spec.__class__.__name__}")
        name, _, ordinal = spec.partition(":")
        if ordinal:
            if index is not None:
                raise RuntimeError(f"device: type {spec!r} already has an index; got index "
                                   f"{index} as well")
            if not ordinal.isdigit():
                raise RuntimeError(f"device: invalid device string {spec!r}")
            index = int(ordinal)
        self.type = name
        self.index = index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        return (isinstance(other, device) and other.type == self.type
                and other.index == self.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


CPU = device("cpu")


def check(dev: Any, op: str) -> None:
    """Accept None or the CPU; refuse any other device with a clear error."""
    if dev is None:
        return
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cpu":
        raise RuntimeError(f"{op}: device {str(d)!r} is not available: chainrule computes on the "
                           f"CPU only (use device='cpu', or check torch.cuda.is_available(), "
                           f"which is False here)")


def is_device(value: Any) -> bool:
    """Whether a positional argument of `.to(...)` names a device (vs a dtype or a tensor)."""
    if isinstance(value, device):
        return True
    if isinstance(value, str):
        return value.partition(":")[0] in _DEVICE_TYPES
    return False


_DEVICE_TYPES = frozenset({"cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "vulkan",
                           "ipu", "hpu", "mtia", "privateuseone"})


class _Unavailable:
    """`chainrule.cuda`, `chainrule.backends.mps`, `chainrule.accelerator`: each says it is not
    available, so scripts that check before choosing a device pick the CPU."""

    def __init__(self, name: str) -> None:
        self._name = name

    def is_available(self) -> bool:
        return False

    def device_count(self) -> int:
        return 0

    def current_accelerator(self) -> None:
        return None

    def manual_seed(self, seed: int) -> None:
        """Nothing to seed without the device (torch does the same)."""

    manual_seed_all = manual_seed

    def __repr__(self) -> str:
        return f"<chainrule.{self._name}: not available (CPU only)>"


cuda = _Unavailable("cuda")
accelerator = _Unavailable("accelerator")


class _Backends:
    def __init__(self) -> None:
        self.mps = _Unavailable("backends.mps")
        self.cuda = _Unavailable("backends.cuda")


backends = _Backends()
