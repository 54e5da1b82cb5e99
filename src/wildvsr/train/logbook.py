"""Training records: a JSONL metrics log (always), TensorBoard (when installed) and a one-line progress summary."""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def format_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


_ORDER = ("total", "pix", "clean", "per", "gan", "aug_n", "d_real", "d_fake")


def progress_line(step: int, max_steps: int, it_s: float, data_wait: float, losses: dict[str, float],
                  lr: float) -> str:
    """``step 120/300000 | 1.84 it/s | data 3% | pix 0.0412 clean 0.0311 | lr 1.0e-04 | eta 45:12:03``."""
    order = {k: i for i, k in enumerate(_ORDER)}
    names = sorted(losses, key=lambda k: (order.get(k.removeprefix("loss/"), len(order)), k))
    loss_txt = " ".join(f"{k.removeprefix('loss/')} {losses[k]:.4g}" for k in names)
    eta = (max_steps - step) / it_s if it_s > 0 else float("inf")
    return (f"step {step}/{max_steps} | {it_s:.2f} it/s | data {100 * data_wait:.0f}% | {loss_txt} | "
            f"lr {lr:.1e} | eta {format_eta(eta)}")


class Logbook:
    """Appends metric records to ``metrics.jsonl`` and mirrors scalars to TensorBoard if ``tensorboard`` is installed.

    Only the main process should create one.
    """

    def __init__(self, directory: str | os.PathLike, tensorboard: bool = True) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "metrics.jsonl"
        self._file = self.path.open("a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                logger.info("tensorboard is not installed; metrics go to %s only (pip install tensorboard)", self.path)
            else:
                self._tb = SummaryWriter(str(self.directory / "tensorboard"))

    def write(self, step: int, values: dict[str, Any]) -> None:
        record = {"step": int(step), **values}
        self._file.write(json.dumps(record, sort_keys=False) + "\n")
        self._file.flush()
        if self._tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    self._tb.add_scalar(k, v, step)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()

