"""Exceptions chainrule raises on user mistakes. Messages name the op and the values involved.

Each is catchable as the class PyTorch raises for the same mistake (RuntimeError for shapes and
dtypes, IndexError for a dim out of range) and as the class chainrule raised before it followed
torch (ValueError, TypeError), so code written either way keeps working.
"""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit an op: broadcasting, matmul, reshape, an axis out of range."""


class DimensionError(ShapeError, IndexError):
    """A dim out of range for the tensor's number of dimensions (torch: IndexError)."""


class DTypeError(TypeError, RuntimeError):
    """A dtype an op cannot take, e.g. an integer tensor where floats are needed (torch:
    RuntimeError)."""


class ArgumentError(ValueError, RuntimeError):
    """An argument value an op cannot take: a zero stride, an unknown mode, no bound to clamp
    to (torch: RuntimeError)."""
