"""The one device resolver of every job (upscale, degrade, train, evaluate, metrics): ``auto``, ``cpu``, ``cuda``,
``cuda:N``. Every job refuses an unusable device with the same one-line :class:`~wildvsr.errors.DeviceError`
(exit code 2 in the CLI), before any work starts.

The name check needs no torch (config objects validate names at construction without importing it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from wildvsr.errors import ConfigError, DeviceError

if TYPE_CHECKING:
    import torch

DEVICE_NAMES = "auto, cpu, cuda or cuda:N"
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device_name(device: str) -> str:
    """Return ``device`` when it is ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

    Raises:
        ConfigError: any other spelling (``gpu``, ``mps``, ``cuda:x``, ...).
    """
    name = str(device).strip().lower()
    if not _DEVICE_RE.match(name):
        raise ConfigError(f"device {device!r} is not supported; use {DEVICE_NAMES}")
    return name


def resolve_device(device: str | torch.device, local_rank: int | None = None) -> torch.device:
    """``auto`` -> ``cuda`` when available (else ``cpu``); check that a requested CUDA device exists.

    Args:
        device: a name (see :func:`check_device_name`) or a ``torch.device``.
        local_rank: under ``torchrun``, the process's GPU: ``cuda`` and ``auto`` become ``cuda:<local_rank>``.

    Raises:
        ConfigError: a bad name.
        DeviceError: CUDA asked for but not available, or a CUDA index out of range.
    """
    import torch

    if isinstance(device, torch.device):
        device = "cpu" if device.type == "cpu" else str(device)
    name = check_device_name(device)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DeviceError(f"device {name} was requested but CUDA is not available here; use cpu (or auto)")
    dev = torch.device(name)
    index = dev.index if dev.index is not None else (local_rank or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(f"device cuda:{index} does not exist ({count} CUDA device(s) here); use cuda:0 to "
                          f"cuda:{count - 1}")
    return torch.device("cuda", index)
