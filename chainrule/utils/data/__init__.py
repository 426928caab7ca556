"""`torch.utils.data` under chainrule's name: `from chainrule.utils.data import DataLoader`.

The same objects as `chainrule.data`'s (one implementation): datasets, samplers, the loader
and torch's collate functions. `DataLoader` accepts torch's keywords; `num_workers` and the
other multiprocessing options are accepted but batches are made in this process (see
`chainrule.data.loader`), so `get_worker_info()` is always None.
"""

from chainrule.data.dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)
from chainrule.data.loader import DataLoader
from chainrule.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = ["BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
           "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
           "TensorDataset", "WeightedRandomSampler", "default_collate", "default_convert",
           "get_worker_info", "random_split"]
