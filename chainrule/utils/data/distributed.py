"""`torch.utils.data.distributed`'s public name: `DistributedSampler`."""

from chainrule.distributed.sampler import DistributedSampler

__all__ = ["DistributedSampler"]
