"""Training checkpoints: one ``step_XXXXXXXX.pt`` per save, written atomically, plus RNG-state capture/restore.

A checkpoint is a plain dict loadable with ``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts
only (NumPy and Python RNG states are converted to lists).
"""

from __future__ import annotations

import io
import logging
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wildvsr.models.checkpoint_keys import DISCRIMINATOR_KEY, EMA_KEY, GENERATOR_KEY
from wildvsr.errors import ConfigError, InputError
from wildvsr.utils.files import atomic_write_bytes

__all__ = ["DISCRIMINATOR_KEY", "EMA_KEY", "GENERATOR_KEY", "checkpoint_path", "list_checkpoints", "latest_checkpoint",
           "save_checkpoint", "load_checkpoint", "generator_weights", "capture_rng_state", "restore_rng_state"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^step_(\d{8,})\.pt$")



def checkpoint_path(directory: str | os.PathLike, step: int) -> Path:
    return Path(directory) / f"step_{step:08d}.pt"


def list_checkpoints(directory: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, path)`` of the complete checkpoints in ``directory``, oldest first (partial temp files are ignored)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    found = list_checkpoints(directory)
    return found[-1][1] if found else None


def save_checkpoint(state: dict[str, Any], directory: str | os.PathLike, step: int, keep: int = 3) -> Path:
    """Write ``state`` atomically as ``directory/step_XXXXXXXX.pt``; keep only the ``keep`` newest checkpoints."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(state, buf)
    path = atomic_write_bytes(checkpoint_path(directory, step), buf.getvalue(), overwrite=True)
    for _, old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (on CPU)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {path} not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises several unrelated types for a corrupt file
        raise InputError(f"checkpoint {path} is unreadable ({type(exc).__name__}); pick an earlier step_*.pt") from None
    if not isinstance(state, dict) or "config" not in state or "step" not in state:
        raise ConfigError(f"{path} is not a wildvsr training checkpoint (no 'config'/'step')")
    return state


def generator_weights(state: dict[str, Any], *, ema: bool, source: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The generator weights of a loaded checkpoint: its EMA (``ema``) or raw weights; ``InputError`` naming
    ``source`` when the EMA was not kept."""
    key = EMA_KEY if ema else GENERATOR_KEY
    if key not in state:
        raise InputError(f"checkpoint {source} has no EMA weights (train.ema_decay was 0); use its raw weights")
    return state[key]


def capture_rng_state() -> dict[str, Any]:
    """Global RNG states (torch CPU, CUDA, NumPy legacy, Python) in a ``weights_only``-loadable form."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": np_state[0], "key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": {"version": py_state[0], "state": list(py_state[1]),
                   "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:
            logger.warning("checkpoint has CUDA RNG states for %d devices, this machine has %d; not restored",
                           len(cuda), torch.cuda.device_count())
