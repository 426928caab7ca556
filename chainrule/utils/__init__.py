"""Small helpers shared across chainrule's packages; `chainrule.utils.progress` is the progress
bar used by dataset downloads and by `chainrule.train.fit`. `chainrule.utils.data` is
torch.utils.data's module path for `chainrule.data`'s datasets, samplers and DataLoader."""

from typing import Any


def __getattr__(name: str) -> Any:
    # `chainrule.utils.data` is torch.utils.data's name for chainrule.data's loaders; imported
    # on first use, since chainrule.data itself imports chainrule.utils.progress.
    if name == "data":
        import importlib

        return importlib.import_module("chainrule.utils.data")
    raise AttributeError(f"module 'chainrule.utils' has no attribute {name!r}")
