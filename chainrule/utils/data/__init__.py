"""`torch.utils.data` under chainrule's name: `from chainrule.utils.data import DataLoader`.

The same objects as `chainrule.data`'s (one implementation): datasets, samplers, the loader
and torch's collate functions. `DataLoader` accepts torch's keywords; `num_workers` and the
other multiprocessing options are accepted but batches are made in this process (see
`chainrule.data.loader`), so `get_worker_info()` is always None.
"""

from chainrule.utils.data.dataloader import *
from chainrule.utils.data.dataloader import __all__ as _dataloader
from chainrule.utils.data.dataset import *
from chainrule.utils.data.dataset import __all__ as _dataset
from chainrule.utils.data.distributed import DistributedSampler
from chainrule.utils.data.sampler import *
from chainrule.utils.data.sampler import __all__ as _sampler

__all__ = sorted([*_dataloader, *_dataset, *_sampler, "DistributedSampler"])
