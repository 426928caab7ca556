"""Data types: chainrule's dtypes are NumPy's, with PyTorch's names and float32 as the default."""

from __future__ import annotations

from typing import Any

import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

half, float, double = float16, float32, float64  # noqa: A001  (torch's aliases)
long, int = int64, int32  # noqa: A001

default_float = float32

_ALIASES: dict[str, np.dtype] = {"float": float32, "double": float64, "half": float16,
                                 "long": int64, "int": int32, "bool": bool_}

DTypeLike = Any


def as_dtype(dtype: DTypeLike) -> np.dtype:
    """Turn a NumPy dtype, a dtype name ('float32', 'torch.float64') or a type into a np.dtype."""
    if isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.")
        if name in _ALIASES:
            return _ALIASES[name]
        dtype = name
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: cannot interpret {dtype!r} as a data type; expected a NumPy "
                        "dtype, a name such as 'float32', or cr.float32/cr.float64/cr.int64"
                        ) from None


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def tensor_type_name(dtype: np.dtype) -> str:
    """torch's legacy type name of a tensor, e.g. 'torch.FloatTensor' for float32."""
    return f"torch.{_TYPE_NAMES.get(dtype.name, dtype.name)}Tensor"


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"
