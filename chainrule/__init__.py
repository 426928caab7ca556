"""chainrule: a NumPy deep-learning library whose backward pass is the lecture's backpropagation.

    import chainrule as cr
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad  # tensor([2., 4.])
"""

from chainrule._dtypes import (
    bool_, double, float16, float32, float64, half, int8, int16, int32, int64, long, uint8,
)
from chainrule.tensor import (  # noqa: I001  (tensor must load before the ops it binds)
    Tensor, arange, as_tensor, default_generator, empty, empty_like, eye, from_numpy, full,
    full_like, linspace, manual_seed, ones, ones_like, rand, rand_like, randint, randn,
    randn_like, randperm, tensor, zeros, zeros_like,
)
from chainrule import autograd, ops
from chainrule.autograd import (
    enable_grad, gradcheck, is_grad_enabled, no_grad, set_grad_enabled,
)
from chainrule.errors import ShapeError
from chainrule import data, nn, optim  # noqa: E402
from chainrule import signal  # noqa: E402
from chainrule.io import load, save  # noqa: E402
from chainrule.ops import *  # noqa: F403
from chainrule.ops import __dict__ as _ops_namespace

__version__ = "0.1.0"

__all__ = [name for name in _ops_namespace if not name.startswith("_")] + [
    "Tensor", "ShapeError", "data", "load", "nn", "optim", "save", "arange", "as_tensor", "autograd", "bool_", "default_generator",
    "double", "empty", "empty_like", "enable_grad", "eye", "float16", "float32", "float64",
    "from_numpy", "full", "full_like", "gradcheck", "half", "int8", "int16", "int32", "int64",
    "is_grad_enabled", "linspace", "long", "manual_seed", "no_grad", "ones", "ones_like", "ops",
    "rand", "rand_like", "randint", "randn", "randn_like", "randperm", "set_grad_enabled", "signal",
    "tensor", "uint8", "zeros", "zeros_like",
]
