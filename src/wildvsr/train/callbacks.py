"""What the training loop does around the steps, as callbacks: progress, metric logging, validation, checkpoints.

``Trainer.fit`` calls, on every rank and in list order, ``on_fit_start(trainer)`` once, ``on_step_end(trainer, rec)``
after every step and ``on_fit_end(trainer)`` once. A callback that runs a collective (``reduce_mean``,
``all_gather_object``) must do so on every rank; one that only writes checks ``trainer.dist.is_main``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from wildvsr.train.distributed import reduce_mean
from wildvsr.train.logbook import progress_line

if TYPE_CHECKING:
    from wildvsr.train.trainer import Trainer
    from wildvsr.train.validation import Validator

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class StepRecord:
    """One finished step: its number (after the step), the run's last step, loss values, and wall times in seconds
    (``wait``: waiting for the batch; ``total``: the whole step including the wait)."""

    step: int
    max_steps: int
    values: dict[str, float]
    wait: float
    total: float


class Callback:
    """Base class: every hook does nothing."""

    def on_fit_start(self, trainer: Trainer) -> None:
        pass

    def on_step_end(self, trainer: Trainer, rec: StepRecord) -> None:
        pass

    def on_fit_end(self, trainer: Trainer) -> None:
        pass


class Progress(Callback):
    """Calls ``fn(step)`` after every step (the CLI's progress bar)."""

    def __init__(self, fn: Callable[[int], None]) -> None:
        self.fn = fn

    def on_step_end(self, _trainer: Trainer, rec: StepRecord) -> None:
        self.fn(rec.step)


class MetricsLog(Callback):
    """Every ``every`` steps (and at the last): loss means over the window averaged across ranks, a progress line and
    a ``metrics.jsonl`` record (main process) with ``it_s``, ``data_wait``, ``lr`` (and on CUDA
    ``peak_mem_gib``, the peak allocated memory since the previous record)."""

    def __init__(self, every: int) -> None:
        self.every = every
        self._reset()

    def _reset(self) -> None:
        self.sums: dict[str, float] = {}
        self.n, self.wait, self.time = 0, 0.0, 0.0

    def on_step_end(self, trainer: Trainer, rec: StepRecord) -> None:
        for k, v in rec.values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.n, self.wait, self.time = self.n + 1, self.wait + rec.wait, self.time + rec.total
        if rec.step % self.every and rec.step != rec.max_steps:
            return
        means = reduce_mean({k: v / self.n for k, v in self.sums.items()}, trainer.device)  # every rank
        it_s = self.n / self.time if self.time > 0 else 0.0
        frac = self.wait / self.time if self.time > 0 else 0.0
        lr = trainer.optim.optim_g.param_groups[0]["lr"]
        if trainer.dist.is_main:
            losses = {k: v for k, v in means.items() if k.startswith("loss/")}
            logger.info(progress_line(rec.step, rec.max_steps, it_s, frac, losses, lr))
            record = {**means, "it_s": it_s, "data_wait": frac, "lr": lr}
            if trainer.device.type == "cuda":
                record["peak_mem_gib"] = torch.cuda.max_memory_allocated(trainer.device) / 2**30
                # the peak of this window only: without a reset every record repeats the run's largest peak so far
                torch.cuda.reset_peak_memory_stats(trainer.device)
            trainer.logbook.write(rec.step, record)
        self._reset()


class Validation(Callback):
    """Validation on the main process: before training (from step 0) and every ``every`` steps; the EMA model when
    there is one. Results go to the log and ``metrics.jsonl`` (``val/niqe``, ``val/psnr``)."""

    def __init__(self, validator: Validator, every: int) -> None:
        self.validator, self.every = validator, every

    def on_fit_start(self, trainer: Trainer) -> None:
        if trainer.step == 0:
            self.run(trainer)

    def on_step_end(self, trainer: Trainer, rec: StepRecord) -> None:
        if rec.step % self.every == 0:
            self.run(trainer)

    def run(self, trainer: Trainer) -> None:
        model = trainer.ema.module if trainer.ema is not None else trainer.raw_net_g
        results = self.validator.run(model, trainer.step)
        if results:
            logger.info("validation at step %d: %s", trainer.step, " ".join(f"{k} {v:.4f}" for k, v in results.items()))
            trainer.logbook.write(trainer.step, results)


class Checkpoints(Callback):
    """A checkpoint every ``every`` steps and at the last step (every rank takes part: RNG states are gathered);
    ``last`` is the newest path written (main process)."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.last: Path | None = None

    def on_step_end(self, trainer: Trainer, rec: StepRecord) -> None:
        if rec.step % self.every == 0 or rec.step == rec.max_steps:
            self.last = trainer.save()
