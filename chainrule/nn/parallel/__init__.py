"""torch.nn.parallel's name for `chainrule.distributed.DistributedDataParallel` (imported on first
use: chainrule.distributed imports chainrule.nn)."""

from typing import Any

__all__ = ["DistributedDataParallel"]


def __getattr__(name: str) -> Any:
    if name == "DistributedDataParallel":
        from chainrule.distributed.ddp import DistributedDataParallel

        return DistributedDataParallel
    raise AttributeError(f"module 'chainrule.nn.parallel' has no attribute {name!r}")
