"""Data-parallel training across processes (``torchrun``): who am I, which part of a batch is mine.

:func:`landslide_utils.training.loop.fit` trains with :class:`torch.nn.parallel.DistributedDataParallel` when it is given
an active :class:`DistContext`. The batch plan of step ``s`` (:func:`landslide_utils.training.sampling.step_samples`, a pure
function of the seed and the step) is the same on every process; :func:`shard` gives process ``rank`` its
contiguous share, so the *global* batch is the profile's ``training.batch_size`` whatever the number of
processes, and DDP averages the gradients of the shares. Only rank 0 writes the checkpoint, the loss log and the
progress bar; every rank's random-number state goes into the checkpoint, so a resumed run continues as the
uninterrupted one would.

The processes find each other through the environment ``torchrun`` sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``): :func:`from_environment` starts the process group with
``nccl`` when the device is CUDA (each process on GPU ``LOCAL_RANK``) and ``gloo`` on CPU. Without those
variables it returns an inactive context and training is the one-process loop it always was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["DistContext", "from_environment", "shard", "batch_problem", "training_batch_sizes", "processes_for",
           "SINGLE"]


@dataclass(frozen=True)
class DistContext:
    """One process's place in a data-parallel run (``world == 1``: no run across processes)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        """True when more than one process trains (a process group is running)."""
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes files and shows progress."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every process (no-op in a one-process run)."""
        if self.active:
            dist.barrier()

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the processes (the value itself in a one-process run)."""
        if not self.active:
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64)
        if self.backend == "nccl":
            t = t.cuda()
        dist.all_reduce(t)
        return float(t.item()) / self.world

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, in rank order (``[obj]`` in a one-process run)."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out


SINGLE = DistContext()


def from_environment(device: str | torch.device = "cpu") -> DistContext:
    """The context ``torchrun`` describes in the environment, with its process group started (``nccl`` for
    CUDA, ``gloo`` otherwise); :data:`SINGLE` when the variables are absent or ``WORLD_SIZE`` is 1.

    Raises:
        ValueError: ``WORLD_SIZE`` or ``RANK`` is not a whole number, or CUDA training asks for more processes
            on this node than it has GPUs.
    """
    world_s = os.environ.get("WORLD_SIZE")
    if world_s is None:
        return SINGLE
    try:
        world, rank = int(world_s), int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise ValueError(f"WORLD_SIZE / RANK / LOCAL_RANK must be whole numbers (set by torchrun): {exc}") from exc
    if world <= 1:
        return SINGLE
    cuda = torch.device(device).type == "cuda"
    if cuda:
        if local >= torch.cuda.device_count():
            raise ValueError(f"process {rank} has LOCAL_RANK {local} but this node has "
                             f"{torch.cuda.device_count()} GPU(s); start at most that many per node "
                             "(torchrun --nproc_per_node)")
        torch.cuda.set_device(local)
    backend = "nccl" if cuda else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistContext(rank=rank, world=world, local_rank=local, backend=backend)


def batch_problem(n: int, world: int, *, what: str = "training.batch_size") -> str | None:
    """Why a global batch of ``n`` cannot be split evenly over ``world`` processes (naming the key), or None."""
    if world <= 1 or n % world == 0:
        return None
    return (f"{what}: a global batch of {n} does not split evenly over {world} processes; choose a batch size "
            f"divisible by {world} (e.g. {max(world, n - n % world)}) or another --nproc_per_node")


def shard(items: list[Any], ctx: DistContext, *, what: str = "training.batch_size") -> list[Any]:
    """This process's contiguous share of a global batch (all of it in a one-process run).

    Raises:
        ValueError: the batch does not split evenly over the processes (named key, the sizes, what to do).
    """
    if not ctx.active:
        return list(items)
    problem = batch_problem(len(items), ctx.world, what=what)
    if problem:
        raise ValueError(problem)
    k = len(items) // ctx.world
    return list(items[ctx.rank * k:(ctx.rank + 1) * k])


def training_batch_sizes(training: Any) -> dict[str, int]:
    """The global batch sizes a training spec uses: ``training.batch_size``, and ``training.frozen_batch_size``
    when a frozen phase runs."""
    sizes = {"training.batch_size": int(training.batch_size)}
    if training.frozen_share:
        sizes["training.frozen_batch_size"] = int(training.frozen_batch_size or training.batch_size)
    return sizes


def processes_for(batch_sizes: list[int], devices: int) -> int:
    """The most processes, at most ``devices`` (and at least 1), that split every batch size evenly."""
    return max(n for n in range(1, max(int(devices), 1) + 1) if all(b % n == 0 for b in batch_sizes))
