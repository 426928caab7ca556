"""Benchmark workloads; importing this package registers them (see `benchmarks.registry`).

Import order is report order: the small engine-overhead model first.
"""

from benchmarks.workloads import xor  # noqa: F401, I001  (registration side effects)
from benchmarks.workloads import mlp  # noqa: F401
from benchmarks.workloads import nets  # noqa: F401
from benchmarks.workloads import resnet  # noqa: F401
