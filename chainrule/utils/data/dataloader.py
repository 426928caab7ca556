"""`torch.utils.data.dataloader`'s public names (`from ...dataloader import default_collate`)."""

from chainrule.data.dataset import default_collate, default_convert, get_worker_info
from chainrule.data.loader import DataLoader

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]
