"""Normalisation layers: batch normalisation with running statistics (torch's momentum, eps,
affine, train/eval), local response normalisation across channels (AlexNet's), layer norm."""

from __future__ import annotations

from typing import Any, cast

from chainrule import _device
from chainrule import _dtypes
from chainrule.errors import ShapeError
from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor, ones, tensor, zeros


class _BatchNorm(Module):
    _dims: tuple[int, ...]
    # Buffers, registered (not None) exactly when track_running_stats is set.
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: object = None, bias: bool = True) -> None:
        super().__init__()
        _device.check(device, type(self).__name__)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_features, dtype=dtype)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=_dtypes.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            cast(Tensor, self.running_mean)._data[...] = 0
            cast(Tensor, self.running_var)._data[...] = 1
            cast(Tensor, self.num_batches_tracked)._data[...] = 0

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self._dims:
            dims = " or ".join(f"{d}-D" for d in self._dims)
            raise ShapeError(f"{type(self).__name__}: expected {dims} input, got shape "
                             f"{x.shape}")
        momentum = 0.0 if self.momentum is None else self.momentum
        use_batch = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            tracked = cast(Tensor, self.num_batches_tracked)
            tracked._data[...] += 1
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(tracked._data)
        update = self.training and self.track_running_stats
        return F.batch_norm(x, self.running_mean if update or not use_batch else None,
                            self.running_var if update or not use_batch else None,
                            self.weight, self.bias, use_batch, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs, one mean/variance per channel."""

    _dims = (4,)


class LocalResponseNorm(Module):
    """Local response normalisation across channels (AlexNet's, Krizhevsky et al. 2012):
    y_c = x_c / (k + (α/n) Σ_{c' ∈ W(c)} x_{c'}²)^β over a window of n = `size` neighbouring
    channels, as torch.nn.LocalResponseNorm. No parameters."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
                 ) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: Tensor) -> Tensor:
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class LayerNorm(Module):
    """Layer normalisation: each example normalised over its trailing `normalized_shape` dims,
    y = (x − μ) / √(σ² + ε) · γ + β, with γ, β of shape `normalized_shape` (elementwise_affine).
    The statistics are the example's own, so training and evaluation compute the same thing."""

    def __init__(self, normalized_shape: int | tuple[int, ...] | list[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: object = None) -> None:
        super().__init__()
        _device.check(device, type(self).__name__)
        shape = ((int(normalized_shape),) if isinstance(normalized_shape, int)
                 else tuple(int(s) for s in normalized_shape))
        self.normalized_shape = shape
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = (Parameter(zeros(shape, dtype=dtype)) if elementwise_affine and bias
                     else None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            self.weight._data[...] = 1
        if self.bias is not None:
            self.bias._data[...] = 0

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")
