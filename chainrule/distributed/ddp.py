"""`DistributedDataParallel`: the same model on every rank, each rank a share of every batch, and
after each backward pass the gradients averaged over the ranks, so every rank takes the same
optimizer step as one process on the whole batch would.

The averaging is an MPI allreduce over flat buckets of gradients (one call per bucket, not per
tensor). Each parameter's post-accumulate-grad hook (`Tensor.register_post_accumulate_grad_hook`)
counts it ready; a bucket whose parameters are all ready is packed and its nonblocking allreduce
(MPI_Iallreduce) starts while backward goes on with the earlier layers. Buckets hold the
parameters in reverse order of registration, the order in which backward reaches them, and are
started strictly in bucket order, so every rank issues the same collectives in the same order.
When the last bucket has started, the hook waits for all of them and writes the averages back
into `.grad` — so when `loss.backward()` returns, the gradients are already averaged.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule.autograd.engine import topological_order
from chainrule.autograd.grad_mode import is_grad_enabled
from chainrule.distributed import _comm
from chainrule.nn.module import Module
from chainrule.tensor import Tensor, from_numpy

_MB = 1 << 20
#: torch's default bucket size cap, and its smaller first bucket (started as early as possible)
DEFAULT_BUCKET_CAP_MB = 25.0
FIRST_BUCKET_BYTES = 1 * _MB


class _Bucket:
    """Parameters of one dtype whose gradients travel in one allreduce call."""

    def __init__(self, params: list[Tensor]) -> None:
        self.params = params
        self.sizes = [p.numel() for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int).tolist()
        self.flat = np.zeros(self.offsets[-1], dtype=params[0].detach().numpy().dtype)
        self.pending = len(params)
        self.request: Any = None

    def pack(self) -> None:
        for p, lo, hi in zip(self.params, self.offsets, self.offsets[1:], strict=False):
            g = p.grad
            self.flat[lo:hi] = 0 if g is None else g.detach().numpy().reshape(-1)


def _flat_outputs(out: Any) -> Iterator[Tensor]:
    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, list | tuple):
        for o in out:
            yield from _flat_outputs(o)
    elif isinstance(out, dict):
        for o in out.values():
            yield from _flat_outputs(o)


class DistributedDataParallel(Module):
    """Data parallelism over the ranks of the MPI job, with torch's constructor and behaviour.

    At wrap time every rank checks that its parameters and buffers have the same names, shapes
    and dtypes as rank 0's (a RuntimeError naming the first difference otherwise) and then takes
    rank 0's values (`init_sync=False` skips both). Each training forward first broadcasts
    rank 0's buffers (BatchNorm's running statistics; `broadcast_buffers=False` keeps each
    rank's own). After `backward()`
    every `.grad` holds the average over the ranks. Inside `no_sync()` gradients only accumulate
    locally; the first backward after it averages the accumulated sum.

    `bucket_cap_mb` caps a bucket's size (torch's default 25 MB). `overlap=False` (chainrule's
    own switch) runs the allreduces after the whole backward pass instead of during it.
    `find_unused_parameters=True` allows parameters that the forward did not use: they are found
    from the output's graph and reduced as zeros (a parameter unused on every rank keeps
    `.grad` None). With a single process (no MPI launcher) the wrapper only forwards.
    """

    def __init__(self, module: Module, device_ids: list[Any] | None = None,
                 output_device: Any = None, dim: int = 0, broadcast_buffers: bool | None = None,
                 init_sync: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, *, overlap: bool = True) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got "
                            f"{type(module).__name__}")
        if device_ids not in (None, [], ["cpu"]) or output_device not in (None, "cpu"):
            raise ValueError("DistributedDataParallel: device_ids and output_device must be "
                             "None for a CPU module (chainrule runs on the CPU)")
        if dim != 0:
            raise ValueError(f"DistributedDataParallel: dim must be 0, got {dim}")
        if process_group is not None:
            raise ValueError("DistributedDataParallel: only the world process group exists "
                             "(process_group=None)")
        cap = DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else float(bucket_cap_mb)
        if cap <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, "
                             f"got {bucket_cap_mb}")
        self.module = module
        self.broadcast_buffers = broadcast_buffers is not False
        self.find_unused_parameters = find_unused_parameters
        self.bucket_cap_mb = cap
        self.overlap = overlap
        self.require_backward_grad_sync = True
        self.world_size = _comm.world_size()
        self._armed = False
        self._launched = self._got = 0
        self._buckets: list[_Bucket] = []
        self._where: dict[int, int] = {}
        self._hooks: list[Any] = []
        self._locally_used: np.ndarray | None = None
        #: seconds spent in allreduce calls (packing, waiting, unpacking) since the last reset
        self.comm_seconds = 0.0
        if self.world_size > 1:
            if init_sync:
                self._check_same_model()
                self._sync(self._state_tensors(buffers=True))
            self._build_buckets(int(cap * _MB))

    # ------------------------------------------------------------ set-up
    def _state_tensors(self, buffers: bool) -> list[tuple[str, Tensor]]:
        out: list[tuple[str, Tensor]] = list(self.module.named_parameters())
        if buffers:
            out += [(n, b) for n, b in self.module.named_buffers() if b is not None]
        return out

    def _check_same_model(self) -> None:
        mine = [(n, tuple(t.shape), str(t.dtype)) for n, t in self._state_tensors(True)]
        everyone = _comm.all_gather_object(mine)
        first = everyone[0]
        for r, theirs in enumerate(everyone[1:], 1):
            if theirs == first:
                continue
            a, b = dict((n, s) for n, *s in first), dict((n, s) for n, *s in theirs)
            for name in [*a, *(n for n in b if n not in a)]:
                if a.get(name) != b.get(name):
                    def show(x: Any) -> str:
                        return "missing" if x is None else f"shape {x[0]} {x[1]}"
                    raise RuntimeError(
                        f"DistributedDataParallel: every rank must wrap the same model, but "
                        f"'{name}' is {show(a.get(name))} on rank 0 and {show(b.get(name))} on "
                        f"rank {r}")
            raise RuntimeError(f"DistributedDataParallel: rank {r} registers the parameters "
                               f"and buffers in another order than rank 0")

    def _sync(self, named: list[tuple[str, Tensor]]) -> None:
        """Rank 0's values into every rank's tensors: one broadcast per dtype."""
        by_dtype: dict[np.dtype, list[np.ndarray]] = {}
        for _, t in named:
            a = t.detach().numpy()
            by_dtype.setdefault(a.dtype, []).append(a)
        for dtype, arrays in by_dtype.items():
            flat = np.concatenate([a.reshape(-1) for a in arrays]) if arrays else \
                np.zeros(0, dtype)
            _comm.broadcast(flat, 0)
            lo = 0
            for a in arrays:
                a[...] = flat[lo:lo + a.size].reshape(a.shape)
                lo += a.size

    def _build_buckets(self, cap: int) -> None:
        params = [p for p in self.module.parameters() if p.requires_grad]
        open_: dict[np.dtype, tuple[list[Tensor], int]] = {}
        limit = min(FIRST_BUCKET_BYTES, cap)
        for p in reversed(params):
            dt = p.detach().numpy().dtype
            nbytes = p.numel() * dt.itemsize
            ps, n = open_.get(dt, ([], 0))
            if ps and n + nbytes > limit:
                self._buckets.append(_Bucket(ps))
                limit, ps, n = cap, [], 0
            ps.append(p)
            open_[dt] = (ps, n + nbytes)
        self._buckets.extend(_Bucket(ps) for ps, _ in open_.values())
        for b, bucket in enumerate(self._buckets):
            for q in bucket.params:
                self._where[id(q)] = b
                self._hooks.append(q.register_post_accumulate_grad_hook(self._ready))

    # ------------------------------------------------------------ forward and backward
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        sync = self.world_size > 1 and is_grad_enabled() and self.training
        if sync:
            if self._armed and self._got:
                raise RuntimeError(
                    "DistributedDataParallel: expected to have finished reduction in the prior "
                    "iteration before starting a new one: some parameters got no gradient in "
                    "the last backward pass (parameters the forward did not use). Pass "
                    "find_unused_parameters=True to DistributedDataParallel, or make every "
                    "parameter take part in the loss")
            if self.broadcast_buffers:
                buffers = [(n, b) for n, b in self.module.named_buffers() if b is not None]
                if buffers:
                    self._sync(buffers)
        out = self.module(*inputs, **kwargs)
        self._armed = sync and self.require_backward_grad_sync
        if self._armed:
            self._launched = self._got = 0
            self._locally_used = None
            for bucket in self._buckets:
                bucket.pending = len(bucket.params)
            if self.find_unused_parameters:
                self._mark_unused(out)
        return out

    def _mark_unused(self, out: Any) -> None:
        reached = {id(t) for t in topological_order(list(_flat_outputs(out)))}
        params = [p for b in self._buckets for p in b.params]
        self._locally_used = np.array([id(p) in reached for p in params], dtype=np.int32)
        for p in params:
            if id(p) not in reached:
                self._mark(p)

    def _ready(self, p: Tensor) -> None:
        """The post-accumulate-grad hook: p's gradient is final for this backward pass."""
        if self._armed:
            self._got += 1
            self._mark(p)

    def _mark(self, p: Tensor) -> None:
        bucket = self._buckets[self._where[id(p)]]
        bucket.pending -= 1
        if bucket.pending < 0:
            raise RuntimeError("DistributedDataParallel: a parameter received its gradient "
                               "twice in one backward pass (a second backward through the "
                               "same forward?); call forward again before each backward")
        if self.overlap:
            self._launch_ready()
        elif all(b.pending == 0 for b in self._buckets):
            self._launch_ready()
        if self._launched == len(self._buckets):
            self._finish()

    def _launch_ready(self) -> None:
        from mpi4py import MPI

        t0 = time.perf_counter()
        comm = _comm.communicator()
        while self._launched < len(self._buckets) and \
                self._buckets[self._launched].pending == 0:
            bucket = self._buckets[self._launched]
            bucket.pack()
            if self.overlap:
                bucket.request = comm.Iallreduce(MPI.IN_PLACE, bucket.flat, op=MPI.SUM)
            else:
                comm.Allreduce(MPI.IN_PLACE, bucket.flat, op=MPI.SUM)
            self._launched += 1
        if self.overlap:  # MPI moves a nonblocking collective on only inside MPI calls
            MPI.Request.Testall([b.request for b in self._buckets[:self._launched]
                                 if b.request is not None])
        self.comm_seconds += time.perf_counter() - t0

    def _finish(self) -> None:
        from mpi4py import MPI

        t0 = time.perf_counter()
        self._armed = False
        self._launched = self._got = 0
        requests = [b.request for b in self._buckets if b.request is not None]
        if requests:
            MPI.Request.Waitall(requests)
        used = None
        if self._locally_used is not None:
            used = _comm.allreduce_array(self._locally_used.copy())
        k = 0
        scale = 1.0 / self.world_size
        for bucket in self._buckets:
            bucket.request = None
            bucket.flat *= bucket.flat.dtype.type(scale)
            for p, lo, hi in zip(bucket.params, bucket.offsets, bucket.offsets[1:],
                                 strict=False):
                avg = bucket.flat[lo:hi].reshape(p.shape)
                g = p.grad
                if g is None:
                    if used is not None and used[k]:
                        p.grad = from_numpy(avg.copy())
                else:
                    arr = g.detach().numpy()
                    if arr.flags.writeable and not g.requires_grad:
                        arr[...] = avg
                    else:
                        p.grad = from_numpy(avg.copy())
                k += 1
        self.comm_seconds += time.perf_counter() - t0

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside accumulate gradients locally, unaveraged."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def extra_repr(self) -> str:
        return (f"world_size={self.world_size}, buckets={len(self._buckets)}, "
                f"bucket_cap_mb={self.bucket_cap_mb:g}")


__all__ = ["DistributedDataParallel"]
