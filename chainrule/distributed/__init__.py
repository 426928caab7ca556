"""Data-parallel training on MPI (`pip install 'chainrule[mpi]'`), with torch.distributed's names.

    mpiexec -n 4 python train.py        # or: mpiexec -n 4 chainrule train ...

    import chainrule.distributed as dist
    dist.init()                                     # optional: first use initialises
    model = dist.DistributedDataParallel(model)     # rank 0's weights on every rank
    sampler = dist.DistributedSampler(train_set)    # each rank its share of every epoch
    loader = DataLoader(train_set, batch_size=global_batch // dist.world_size(),
                        sampler=sampler)
    ...  loss.backward()                            # .grad now averaged over the ranks
    if dist.rank() == 0: print(dist.all_reduce(correct), "correct in all")

Started without an MPI launcher (or without mpi4py), a script runs as the single rank 0 of a
world of size 1: `DistributedDataParallel` only forwards, the sampler yields everything and the
collectives return their inputs. Under several ranks an uncaught exception on any rank prints
one line naming the rank and stops the whole job (MPI_Abort), never leaving the others waiting.
See docs/distributed.md.
"""

from chainrule.distributed._comm import (
    ReduceOp, abort, all_gather_object, all_reduce, barrier, broadcast, communicator,
    failure_line, gather_object, init, install_failure_handler, is_available, is_initialized,
    is_main_process, launched, rank, run_or_abort, world_size,
)
from chainrule.distributed.ddp import DistributedDataParallel
from chainrule.distributed.sampler import DistributedSampler
from chainrule.distributed.sync_batchnorm import SyncBatchNorm, all_reduce_sum

# torch.distributed's spellings
init_process_group = init
get_rank = rank
get_world_size = world_size


def destroy_process_group() -> None:
    """Nothing to release: MPI is finalised when the process exits (mpi4py does it)."""


__all__ = [
    "DistributedDataParallel", "DistributedSampler", "ReduceOp", "SyncBatchNorm", "abort",
    "all_gather_object", "all_reduce", "all_reduce_sum", "barrier", "broadcast", "communicator",
    "destroy_process_group", "failure_line", "gather_object", "get_rank", "get_world_size",
    "init", "init_process_group", "install_failure_handler", "is_available", "is_initialized",
    "is_main_process", "launched", "rank", "run_or_abort", "world_size",
]
