"""Process-group setup for ``torchrun`` (DDP): gloo on CPU, NCCL on CUDA; rank 0 does the logging and checkpoints."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from wildvsr.utils.device import resolve_device

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: ``rank`` of ``world_size`` processes, ``local_rank`` on its node, and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1), else a single-process ``DistInfo``.

    Under ``torchrun`` each process gets its own GPU (:func:`~wildvsr.utils.device.resolve_device` with its
    ``LOCAL_RANK``). A CUDA device becomes the process's current device even in a single process: the DataLoader's
    pin-memory thread and other ``cuda`` calls without an index use the current device, and would otherwise make a
    context on GPU 0 when the run is on ``cuda:1``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ["LOCAL_RANK"]) if "LOCAL_RANK" in os.environ else None
    dev = resolve_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
        logger.info("joined process group: rank %d/%d (%s, %s)", rank, world_size, backend, dev)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank or 0, device=dev)


def cleanup_distributed() -> None:
    """Leave the process group (no-op when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def reduce_mean(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average scalar ``values`` over all ranks (identity when not distributed); for logging only."""
    if not (dist.is_available() and dist.is_initialized()) or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist()))
