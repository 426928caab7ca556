"""chainrule: a NumPy deep-learning library whose backward pass is the lecture's backpropagation.

    import chainrule as cr
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad  # tensor([2., 4.])
"""

from typing import TYPE_CHECKING, Any

from chainrule import autograd, data, nn, ops, optim, signal
from chainrule.backend import jit
from chainrule.backend.threads import num_threads as get_num_threads
from chainrule.backend.threads import set_num_threads
from chainrule._device import accelerator, backends, cuda, device
from chainrule._dtypes import (
    bool_, double, float16, float32, float64, half, int8, int16, int32, int64, long, uint8,
)
from chainrule._dtypes import bool_ as bool  # noqa: A001  (torch's names: cr.bool, cr.float, cr.int)
from chainrule._dtypes import float32 as float  # noqa: A001
from chainrule._dtypes import int32 as int  # noqa: A001
from chainrule.autograd import enable_grad, gradcheck, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.errors import ShapeError
from chainrule.ops import *  # noqa: F403  (every op: cr.relu, cr.conv2d, ...)
from chainrule.ops import __all__ as _ops_all
from chainrule.tensor import (
    Size, Tensor, arange, as_tensor, default_generator, empty, empty_like, eye, from_numpy, full,
    full_like, linspace, manual_seed, ones, ones_like, rand, rand_like, randint, randn,
    randn_like, randperm, tensor, zeros, zeros_like,
)

if TYPE_CHECKING:
    from chainrule import io
    from chainrule.io import load, save

__version__ = "0.1.0"

__all__ = [*_ops_all,
           "ShapeError", "Size", "Tensor", "accelerator", "backends", "bool", "cuda", "device",
           "float", "int", "arange", "as_tensor", "autograd", "bool_", "data", "default_generator",
           "double", "empty", "empty_like", "enable_grad", "eye", "float16", "float32", "float64",
           "from_numpy", "full", "full_like", "get_num_threads", "gradcheck", "half", "int8",
           "int16", "int32", "int64", "is_grad_enabled", "jit", "linspace", "load", "long",
           "manual_seed", "nn", "no_grad", "ones", "ones_like", "ops", "optim", "rand",
           "rand_like", "randint", "randn", "randn_like", "randperm", "save", "set_grad_enabled",
           "set_num_threads", "signal", "tensor", "uint8", "zeros", "zeros_like"]


def __getattr__(name: str) -> Any:
    """`save`, `load` and `io` come from chainrule.io, imported on first use: it brings zipfile,
    json, pickle and tempfile (`import chainrule`: 39.3 → 37.5 MiB; with numba, which imports
    most of them itself, a training run's peak moves 0.3 MiB)."""
    if name in ("io", "save", "load"):
        import importlib

        io_module = importlib.import_module("chainrule.io")
        value = io_module if name == "io" else getattr(io_module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "io", "save", "load"})
