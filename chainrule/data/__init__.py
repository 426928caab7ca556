"""Data loading for chainrule: datasets, samplers, a batching `DataLoader`, transforms, MNIST.

    from chainrule import data
    tf = data.Compose([data.ToTensor(), data.Normalize(0.1307, 0.3081)])
    train = data.load_dataset("mnist", train=True, transform=tf)   # fallback=True: digits offline
    loader = data.DataLoader(train, batch_size=64, shuffle=True)
    for x, y in loader:                          # x (64, 1, 28, 28) float32, y (64,) int64
        ...
"""

from chainrule.data import transforms
from chainrule.data._errors import DataError, DataNotFoundError
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
from chainrule.data.digits import Digits, load_dataset, load_digits_fallback
from chainrule.data.idx import read_idx, write_idx
from chainrule.data.loader import DataLoader
from chainrule.data.mnist import MNIST, FashionMNIST, ImageDataset, cache_dir
from chainrule.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from chainrule.data.toy import make_blobs, make_circles, make_moons, make_spirals, make_xor
from chainrule.data.transforms import (
    Compose,
    Flatten,
    Identity,
    Lambda,
    Normalize,
    Pad,
    RandomShift,
    ToTensor,
    Transform,
)

__all__ = [
    "MNIST", "Compose", "DataError", "DataLoader", "DataNotFoundError", "Dataset", "Digits",
    "FashionMNIST", "Flatten", "Identity", "ImageDataset", "Lambda", "Normalize", "Pad",
    "RandomShift", "Subset", "TensorDataset", "ToTensor", "Transform", "cache_dir",
    "default_collate", "load_dataset", "load_digits_fallback", "make_blobs", "make_circles",
    "make_moons", "make_spirals", "make_xor", "random_split", "read_idx", "transforms",
    "write_idx",
    "BatchSampler", "ConcatDataset", "IterableDataset", "RandomSampler", "Sampler",
    "SequentialSampler", "SubsetRandomSampler", "WeightedRandomSampler", "default_convert",
    "get_worker_info",
]
