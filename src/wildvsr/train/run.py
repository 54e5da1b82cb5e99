"""``train()``: run a recipe in this process (or one torchrun rank), with the trainer its config asks for."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from wildvsr.train.config import TrainConfig
from wildvsr.train.distill import DistillTrainer
from wildvsr.train.mgld import MGLDTrainer
from wildvsr.train.distributed import barrier, cleanup_distributed, init_distributed
from wildvsr.train.trainer import Trainer
from wildvsr.utils.seed import seed_everything, set_deterministic


def train(cfg: TrainConfig, output_dir: str | os.PathLike, *, resume: bool = False, max_steps: int | None = None,
          progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run a recipe (the library call behind ``wildvsr train``): joins torchrun's group if any, sets the process-wide
    switches (seeds; deterministic algorithms with ``train.deterministic``), trains, leaves the group."""
    info = init_distributed(cfg.train.device)
    seed_everything(cfg.seed, info.rank)
    if cfg.train.deterministic:
        set_deterministic(True)
    try:
        trainer_cls = DistillTrainer if cfg.distill.enabled else MGLDTrainer if cfg.mgld.stage else Trainer
        trainer = trainer_cls(cfg, output_dir, resume=resume, dist_info=info, progress=progress)
        summary = trainer.fit(max_steps)
        # every rank past its last collective before any rank tears gloo down: a peer that closes its sockets while
        # rank 0 still writes the log made rank 0 abort in gloo's teardown (SIGABRT, exit 1 after a good run)
        barrier()
        return summary
    finally:
        cleanup_distributed()
