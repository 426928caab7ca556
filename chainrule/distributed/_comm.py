"""The process group: MPI's COMM_WORLD when the script was started by an MPI launcher (mpiexec,
mpirun, Slurm's srun), else a single process of rank 0 in a world of size 1.

mpi4py is imported only when a launcher's environment says there are several processes, so a
script written for data parallelism runs unchanged (and without mpi4py) as one process.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from typing import Any, NoReturn

import numpy as np

from chainrule.tensor import Tensor

#: environment variables that launchers set in each process they start: (rank, size)
_LAUNCHERS = (
    ("PMI_RANK", "PMI_SIZE"),                                 # MPICH/hydra, Intel MPI, srun pmi2
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),         # Open MPI's mpirun
    ("PMIX_RANK", None),                                      # PMIx (Open MPI 5, srun --mpi=pmix)
)

_comm: Any = None          # mpi4py's communicator once initialised with several processes
_initialized = False
_rank, _size = 0, 1


class ReduceOp:
    """The reductions of `all_reduce`, under torch.distributed.ReduceOp's names."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


def launched() -> tuple[int, int] | None:
    """(rank, world size) as the launcher's environment gives them, None outside a launcher.
    CHAINRULE_MPI=1 forces MPI on (an unusual launcher), CHAINRULE_MPI=0 forces it off."""
    force = os.environ.get("CHAINRULE_MPI", "")
    if force == "0":
        return None
    for rank_var, size_var in _LAUNCHERS:
        if rank_var in os.environ:
            size = int(os.environ[size_var]) if size_var and size_var in os.environ else -1
            return int(os.environ[rank_var]), size
    return (0, -1) if force == "1" else None


def _mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as e:
        where = launched()
        raise RuntimeError(
            f"chainrule.distributed: this process was started by an MPI launcher (rank "
            f"{where[0] if where else '?'}), but mpi4py is not installed, so it cannot talk to "
            f"the other ranks; install the extra: pip install 'chainrule[mpi]'") from e
    return MPI


def init(backend: str = "mpi") -> None:
    """Join the job's process group: MPI's world under a launcher, else a single process.

    Idempotent. Under several ranks it also makes a failing rank stop the whole job (see
    `install_failure_handler`), so an exception on one rank never leaves the others waiting.
    """
    global _comm, _initialized, _rank, _size
    if backend not in ("mpi", "gloo"):  # gloo: torch scripts' CPU backend; MPI stands in for it
        raise ValueError(f"init: chainrule's only backend is 'mpi', got {backend!r}")
    if _initialized:
        return
    where = launched()
    if where is not None and where[1] != 1:
        MPI = _mpi()
        comm = MPI.COMM_WORLD
        _rank, _size = comm.Get_rank(), comm.Get_size()
        if _size > 1:
            _comm = comm
            install_failure_handler()
    _initialized = True


def _ensure() -> None:
    if not _initialized:
        init()


def is_available() -> bool:
    """True: the single-process mode needs nothing; several ranks need mpi4py (extra `mpi`)."""
    return True


def is_initialized() -> bool:
    """Whether `init` has run (explicitly, or on first use by DDP, samplers and helpers)."""
    return _initialized


def rank() -> int:
    """This process's rank, 0 .. world_size() - 1 (0 as a single process)."""
    _ensure()
    return _rank


def world_size() -> int:
    """The number of processes in the job (1 without MPI)."""
    _ensure()
    return _size


def is_main_process() -> bool:
    """Rank 0: the one that prints, writes files and saves checkpoints."""
    return rank() == 0


def communicator() -> Any:
    """mpi4py's communicator, or None in the single-process mode."""
    _ensure()
    return _comm


def barrier() -> None:
    """Wait until every rank has reached this call."""
    if communicator() is not None:
        _comm.Barrier()


# ------------------------------------------------------------------------ collectives
def _mpi_op(op: str) -> Any:
    MPI = _mpi()
    table = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
             ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}
    if op not in table:
        raise ValueError(f"all_reduce: op must be one of {', '.join(table)}, got {op!r}")
    return table[op]


def allreduce_array(a: np.ndarray, op: str = ReduceOp.SUM) -> np.ndarray:
    """`a` reduced elementwise over all ranks, in place when `a` is contiguous and writable."""
    if op == ReduceOp.AVG and not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"all_reduce: op 'avg' needs a floating-point array, got {a.dtype}")
    if communicator() is None:
        return a
    MPI = _mpi()
    buf = a if a.flags.c_contiguous and a.flags.writeable else np.ascontiguousarray(a).copy()
    _comm.Allreduce(MPI.IN_PLACE, buf, op=_mpi_op(op))
    if op == ReduceOp.AVG:
        buf /= _size
    if buf is not a and a.flags.writeable:
        a[...] = buf
        return a
    return buf


def all_reduce(value: Any, op: str = ReduceOp.SUM) -> Any:
    """Reduce `value` over all ranks (`op`: ReduceOp.SUM, AVG, PRODUCT, MIN, MAX).

    A Tensor or ndarray is reduced in place, as torch.distributed.all_reduce does, and returned;
    a Python number or a sequence of numbers (a metric's sums) comes back reduced. Every rank
    must make the same call.
    """
    if op not in vars(ReduceOp).values():
        raise ValueError(f"all_reduce: op must be one of sum, avg, product, min, max, "
                         f"got {op!r}")
    if isinstance(value, Tensor):
        arr = value.detach().numpy()
        allreduce_array(arr, op)
        return value
    if isinstance(value, np.ndarray):
        return allreduce_array(value, op)
    arr = np.array(value, dtype=np.float64 if op == ReduceOp.AVG else None)
    if arr.dtype == object:
        raise TypeError(f"all_reduce: expected a Tensor, an ndarray, a number or a sequence of "
                        f"numbers, got {type(value).__name__}")
    out = allreduce_array(arr, op)
    return out.tolist()


def broadcast(value: Any, src: int = 0) -> Any:
    """Rank `src`'s `value` on every rank: a Tensor or ndarray is overwritten in place (same
    shape and dtype on every rank), any other picklable object is returned."""
    if communicator() is None:
        if src != 0:
            raise ValueError(f"broadcast: src {src} is not a rank of this single-process job")
        return value
    if not 0 <= src < _size:
        raise ValueError(f"broadcast: src {src} is not a rank (world size {_size})")
    if isinstance(value, Tensor | np.ndarray):
        arr = value.detach().numpy() if isinstance(value, Tensor) else value
        buf = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
        _comm.Bcast(buf, root=src)
        if buf is not arr:
            arr[...] = buf
        return value
    return _comm.bcast(value, root=src)


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's `obj` (picklable), as a list indexed by rank."""
    if communicator() is None:
        return [obj]
    return list(_comm.allgather(obj))


def gather_object(obj: Any, dst: int = 0) -> list[Any] | None:
    """Every rank's `obj` on rank `dst` (a list indexed by rank); None on the other ranks."""
    if communicator() is None:
        return [obj]
    return _comm.gather(obj, root=dst)


# ------------------------------------------------------------------------ failures
def failure_line(exc: BaseException) -> str:
    """The one line that says which rank stopped the job and why."""
    who = f"rank {_rank} of {_size}"
    if isinstance(exc, KeyboardInterrupt):
        return f"chainrule: {who} was interrupted; stopping every rank"
    message = str(exc) or type(exc).__name__
    return f"chainrule: {who} failed ({type(exc).__name__}: {message}); stopping every rank"


def abort(line: str, code: int = 1) -> NoReturn:
    """Print `line` on stderr and stop every rank of the job now (MPI_Abort)."""
    sys.stderr.write(line.rstrip("\n") + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    if _comm is not None:
        # MPI_Abort kills the job at once: give mpiexec's proxy a moment to forward the line
        # (without it the line was lost in about 1 run of 7)
        time.sleep(0.3)
        _comm.Abort(code)
    os._exit(code)


def _excepthook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
    if not isinstance(exc, KeyboardInterrupt):
        traceback.print_exception(kind, exc, tb)
    abort(failure_line(exc), 130 if isinstance(exc, KeyboardInterrupt) else 1)


def install_failure_handler() -> None:
    """Make an uncaught exception on any rank print one line naming the rank and the error, then
    abort the whole job. Without it the other ranks would wait forever inside their next
    collective for a rank that has died."""
    sys.excepthook = _excepthook


def run_or_abort(fn: Any, *args: Any) -> Any:
    """fn(*args); on several ranks, an exception, a Ctrl-C or a non-zero exit status (what a
    command returns) stops every rank with one line naming this rank, instead of leaving the
    others waiting. (A rank that calls sys.exit(1) outside it would hang the job: MPI's
    finalisation waits for the other ranks.)"""
    try:
        result = fn(*args)
    except BaseException as e:
        if world_size() == 1 or isinstance(e, SystemExit) and e.code in (0, None):
            raise
        if os.environ.get("CHAINRULE_DEBUG") and not isinstance(e, KeyboardInterrupt):
            traceback.print_exc()
        if isinstance(e, KeyboardInterrupt) and _rank > 0:
            time.sleep(1.0)  # a Ctrl-C reaches every rank: rank 0 says how to resume, first
        abort(failure_line(e), 130 if isinstance(e, KeyboardInterrupt) else 1)
    if result not in (0, None) and world_size() > 1:
        why = "was interrupted" if result == 130 else f"stopped with exit status {result}"
        if result == 130 and _rank > 0:
            time.sleep(1.0)
        abort(f"chainrule: rank {_rank} of {_size} {why}; stopping every rank",
              result if isinstance(result, int) else 1)
    return result
