"""Every differentiable op, defined once with its forward and backward side by side.

- `elementwise`: arithmetic, exp/log, maximum/minimum, clip, where, casts, comparisons
- `activation`: the lecture's units (identity, ReLU, soft ReLU, hard threshold, logistic, tanh),
  and leaky ReLU, ELU, GELU, SiLU, hard tanh
- `reductions`: sum, mean, var/std, max/min, logsumexp, softmax, log_softmax, cumsum, norm,
  any/all
- `linalg`: matmul and the fully connected layer's affine map; mm, bmm, mv, dot, outer
- `shape`: reshape, permute, broadcast, indexing, pad, cat/stack/split, gather/scatter, flip,
  repeat
- `sorting`: sort, argsort, topk
- `geometry`: the windows of convolution and pooling (output sizes, padding, taps)
- `conv`: conv2d (im2col + one GEMM) with its input- and weight-gradient ops; patches/unfold
- `pooling`: max and average pooling (1-D, 2-D, adaptive), max unpooling
- `normalization`: local response normalisation across channels
- `loss`: softmax cross-entropy, binary cross-entropy and KL divergence terms as single nodes
"""

from chainrule.ops._helpers import index_to_numpy
from chainrule.ops.activation import (
    hard_threshold, identity, logistic, relu, sigmoid, softplus, step, tanh,
)
from chainrule.ops.activation import elu, gelu, hardtanh, leaky_relu, normal_cdf, silu
from chainrule.ops.conv import conv1d, conv2d, patches, unfold
from chainrule.ops.elementwise import (
    abs, add, allclose, astype, clamp, clip, cos, div, eq, exp, ge, gt, isclose, le, log, log1p,
    logical_not, lt, maximum, minimum, mul, ne, neg, pow, sign, sin, sqrt, sub, where,
)
from chainrule.ops.linalg import linear, matmul
from chainrule.ops.normalization import local_response_norm
from chainrule.ops.pooling import (
    adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d,
)
from chainrule.ops.reductions import (
    amax, amin, argmax, argmin, logsumexp, log_softmax, max, mean, min, softmax, std, sum, var,
)
from chainrule.ops.shape import (
    broadcast_to, cat, chunk, concatenate, expand, flatten, getitem, pad, permute, reshape,
    split, squeeze, stack, sum_to_size, transpose, unsqueeze, view,
)
# the rest of torch's tensor surface (issue 10)
from chainrule.ops.elementwise import (
    ceil, clone, floor, isfinite, isinf, isnan, logical_and, logical_or, logical_xor, masked_fill,
    reciprocal, round, rsqrt, square, trunc,
)
from chainrule.ops.linalg import bmm, dot, mm, mv, outer
from chainrule.ops.pooling import max_unpool2d
from chainrule.ops.reductions import all, any, cumsum, norm
from chainrule.ops.shape import (
    contiguous, flip, gather, index_select, masked_select, nonzero, repeat, scatter, scatter_add,
    t, unbind,
)
from chainrule.ops.sorting import argsort, sort, topk

__all__ = [
    "abs", "adaptive_avg_pool2d", "add", "allclose", "amax", "amin", "argmax", "argmin",
    "astype", "avg_pool1d", "avg_pool2d", "broadcast_to", "cat", "chunk", "clamp", "clip",
    "concatenate", "conv1d", "conv2d", "cos", "div", "eq", "exp", "expand", "flatten", "ge",
    "getitem", "gt", "hard_threshold", "identity", "isclose", "le", "linear", "log", "log1p",
    "log_softmax", "logical_not", "logistic", "logsumexp", "lt", "matmul", "max", "max_pool1d",
    "max_pool2d", "maximum", "mean", "min", "minimum", "mul", "ne", "neg", "pad", "patches",
    "permute", "pow", "relu", "reshape", "sigmoid", "sign", "sin", "softmax", "softplus", "split",
    "sqrt", "squeeze", "stack", "std", "step", "sub", "sum", "sum_to_size", "tanh", "transpose",
    "unfold", "unsqueeze", "var", "view", "where",
    "local_response_norm",
    "elu", "gelu", "hardtanh", "leaky_relu", "normal_cdf", "silu",
    "all", "any", "argsort", "bmm", "ceil", "clone", "contiguous", "cumsum", "dot", "flip",
    "floor", "gather", "index_select", "isfinite", "isinf", "isnan", "logical_and",
    "logical_or", "logical_xor", "masked_fill", "masked_select", "max_unpool2d", "mm", "mv",
    "nonzero", "norm", "outer", "reciprocal", "repeat", "round", "rsqrt", "scatter",
    "scatter_add", "sort", "square", "t", "topk", "trunc", "unbind",
]

