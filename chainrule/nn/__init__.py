"""Neural-network building blocks with PyTorch's names, shapes and state_dict keys."""

from chainrule.nn import functional, init
from chainrule.nn.activation import (
    HardThreshold, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Step, Tanh,
)
from chainrule.nn.layers import Dropout, Flatten, Identity, Linear
from chainrule.nn.loss import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HalfSquaredErrorLoss, MSELoss, NLLLoss,
)
from chainrule.nn.module import Module, ModuleDict, ModuleList, Sequential
from chainrule.nn.parameter import Parameter

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Flatten", "HalfSquaredErrorLoss",
    "HardThreshold", "Identity", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleDict",
    "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Softplus",
    "Step", "Tanh", "functional", "init",
]
