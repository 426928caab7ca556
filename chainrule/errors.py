"""Exceptions chainrule raises on user mistakes. Messages name the op and the values involved."""


class ShapeError(ValueError):
    """Shapes that do not fit an op: broadcasting, matmul, reshape, an axis out of range."""
