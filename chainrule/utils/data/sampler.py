"""`torch.utils.data.sampler`'s public names (`from ...sampler import SubsetRandomSampler`)."""

from chainrule.data.sampler import *  # noqa: F403  (the one implementation)
from chainrule.data.sampler import __all__  # noqa: F401
