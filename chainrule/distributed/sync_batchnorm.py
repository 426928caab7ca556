"""`SyncBatchNorm`: batch normalisation whose statistics are those of the global batch, summed
over the ranks, and `AllReduceSum`, the differentiable allreduce it is built from."""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from chainrule.autograd.function import Function
from chainrule.distributed import _comm
from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.nn.normalization import _BatchNorm
from chainrule.tensor import Tensor


class AllReduceSum(Function):
    """y = Σ_r a_r, the sum of a over the ranks, on every rank.   ā_r = Σ_r' ȳ_r'.

    Every rank's y feeds that rank's loss, and the job's loss is the sum of the ranks' losses,
    so the error signal of a_r collects ȳ from every rank: the backward pass is the same
    allreduce, applied to ȳ.
    """

    op_name = "all_reduce"

    def forward(self, a):
        out = np.array(a, dtype=a.dtype, copy=True, order="C")
        return _comm.allreduce_array(out)

    def backward(self, g, out):
        return (all_reduce_sum(g),)


def all_reduce_sum(x: Tensor) -> Tensor:
    """Σ over the ranks of x, differentiable (torch.distributed.nn.functional.all_reduce)."""
    return AllReduceSum.apply(x)


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, ...) inputs whose mean and variance, while training on several
    ranks, are those of all the ranks' batches together, as torch.nn.SyncBatchNorm. Each forward
    costs two allreduces of C numbers and each backward two more. In eval mode, or as a single
    process, it is BatchNorm."""

    _dims = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Any = None, device: Any = None, dtype: object = None, *,
                 bias: bool = True) -> None:
        if process_group is not None:
            raise ValueError("SyncBatchNorm: only the world process group exists "
                             "(process_group=None)")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {x.ndim}D input)")
        if x.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm: input {tuple(x.shape)} has {x.shape[1]} channels, "
                             f"expected {self.num_features}")
        use_batch = self.training or not self.track_running_stats
        if not (use_batch and self.training and _comm.world_size() > 1):
            return self._local(x, use_batch)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            tracked = cast(Tensor, self.num_batches_tracked)
            tracked._data[...] += 1
            if self.momentum is None:
                momentum = 1.0 / float(tracked._data)
        c = x.shape[1]
        axes = (0, *range(2, x.ndim))
        shape = (1, c) + (1,) * (x.ndim - 2)
        n = int(_comm.all_reduce(x.numel() // c))
        if n <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel when "
                             f"training, got {n} over all ranks")
        mean = all_reduce_sum(x.sum(dim=axes)) / n
        centred = x - mean.reshape(shape)
        var = all_reduce_sum((centred * centred).sum(dim=axes)) / n
        if self.track_running_stats:
            rm, rv = cast(Tensor, self.running_mean), cast(Tensor, self.running_var)
            rm._data[...] = (1 - momentum) * rm._data + momentum * mean.detach().numpy()
            rv._data[...] = ((1 - momentum) * rv._data
                             + momentum * var.detach().numpy() * (n / (n - 1)))
        y = centred / (var.reshape(shape) + self.eps).sqrt()
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        return y

    def _local(self, x: Tensor, use_batch: bool) -> Tensor:
        """BatchNorm's own forward (any number of dims)."""
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            tracked = cast(Tensor, self.num_batches_tracked)
            tracked._data[...] += 1
            if self.momentum is None:
                momentum = 1.0 / float(tracked._data)
        update = self.training and self.track_running_stats
        keep = update or not use_batch
        return F.batch_norm(x, self.running_mean if keep else None,
                            self.running_var if keep else None, self.weight, self.bias,
                            use_batch, momentum, self.eps)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """`module` with every BatchNorm*d replaced by a SyncBatchNorm that shares its
        parameters and buffers (the module itself is changed; the top one may be replaced)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out: Module = cls(module.num_features, module.eps, module.momentum, module.affine,
                              module.track_running_stats, process_group,
                              bias=module.bias is not None)
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            if module.track_running_stats:
                out.running_mean = module.running_mean
                out.running_var = module.running_var
                out.num_batches_tracked = module.num_batches_tracked
            out.train(module.training)
        else:
            out = module
        for name, child in list(module._modules.items()):
            if child is not None:
                new = cls.convert_sync_batchnorm(child, process_group)
                if new is not child:
                    out.add_module(name, new)
        return out


__all__ = ["AllReduceSum", "SyncBatchNorm", "all_reduce_sum"]
