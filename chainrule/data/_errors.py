"""Exceptions raised by `chainrule.data`."""


class DataError(ValueError):
    """A data file is missing, corrupt, truncated or fails its checksum; the message names it."""


class DataNotFoundError(DataError, RuntimeError):
    """A dataset could be neither found on disk nor downloaded (a RuntimeError too, the class
    torchvision raises for "Dataset not found")."""

    # Declared, not assigned: the datasets set this one-line summary (for `load_dataset`'s
    # message), and readers use getattr with a default for errors raised without it.
    reason: str
