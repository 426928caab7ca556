"""Neural-network building blocks with PyTorch's names, shapes and state_dict keys."""

from chainrule.nn import functional, init
from chainrule.nn.activation import (
    HardThreshold, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Step, Tanh,
)
from chainrule.nn.conv import Conv1d, Conv2d, LocallyConnected2d
from chainrule.nn.layers import Dropout, Flatten, Identity, Linear
from chainrule.nn.loss import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HalfSquaredErrorLoss, MSELoss, NLLLoss,
)
from chainrule.nn.module import Module, ModuleDict, ModuleList, Sequential
from chainrule.nn.normalization import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from chainrule.nn.parameter import Parameter
from chainrule.nn.pooling import (
    AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d,
)
from chainrule.nn import utils  # torch.nn.utils: clip_grad_norm_, parameters_to_vector, ...
from chainrule.nn.activation import ELU, GELU, Hardtanh, LeakyReLU, SiLU
from chainrule.nn.layers import Dropout2d
from chainrule.nn.loss import HuberLoss, KLDivLoss, L1Loss, SmoothL1Loss
from chainrule.nn.normalization import LayerNorm

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv1d",
    "Conv2d", "LocallyConnected2d", "MaxPool1d", "MaxPool2d",
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Flatten",
    "HalfSquaredErrorLoss",
    "HardThreshold", "Identity", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleDict",
    "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Softplus",
    "Step", "Tanh", "functional", "init",
    "LocalResponseNorm",
    "Dropout2d", "ELU", "GELU", "Hardtanh", "HuberLoss", "KLDivLoss", "L1Loss", "LayerNorm",
    "LeakyReLU", "SiLU", "SmoothL1Loss", "utils",
]


def __getattr__(name: str) -> object:
    # torch.nn's names for chainrule.distributed's classes, imported on first use (distributed
    # itself imports nn): nn.SyncBatchNorm, nn.parallel.DistributedDataParallel.
    if name == "SyncBatchNorm":
        from chainrule.distributed.sync_batchnorm import SyncBatchNorm

        return SyncBatchNorm
    if name == "parallel":
        import importlib

        return importlib.import_module("chainrule.nn.parallel")
    raise AttributeError(f"module 'chainrule.nn' has no attribute {name!r}")
