"""The one device resolver of every job (upscale, degrade, train, evaluate, metrics): ``auto``, ``cpu``, ``cuda``,
``cuda:N``. Every job refuses an unusable device with the same one-line :class:`~wildvsr.errors.DeviceError`
(exit code 2 in the CLI), before any work starts.

The name check needs no torch (config objects validate names at construction without importing it).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
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

    Under ``torchrun`` (``local_rank`` given) every process must get its own GPU, or NCCL refuses the duplicate at DDP
    setup: ``cuda`` and ``auto`` mean ``cuda:<local_rank>``, and ``cuda:N`` means ``cuda:<N + local_rank>``, the
    node's processes taking consecutive GPUs from ``N`` (``cuda:2`` with two processes per node: GPUs 2 and 3). In a
    single process ``cuda:N`` is GPU ``N``. (``CUDA_VISIBLE_DEVICES`` picks GPUs the same way for every job.)

    Args:
        device: a name (see :func:`check_device_name`) or a ``torch.device``.
        local_rank: the process's ``LOCAL_RANK`` under ``torchrun``; None for a single process.

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
    first = torch.device(name).index or 0
    index = first + (local_rank or 0)
    count = torch.cuda.device_count()
    if index >= count:
        rank = f" for local rank {local_rank} ({name} + local rank)" if local_rank else ""
        raise DeviceError(f"device cuda:{index}{rank} does not exist ({count} CUDA device(s) here); use cuda:0 to "
                          f"cuda:{count - 1}" + (", one GPU per process" if local_rank is not None else ""))
    return torch.device("cuda", index)


def cuda_has_native_bf16(device: torch.device) -> bool:
    """True when CUDA ``device`` (the chosen ``cuda:N``, not the current device) runs bf16 natively: compute
    capability 8.0 (Ampere) or newer.

    ``torch.cuda.is_bf16_supported()`` is not enough: by default it also counts emulation, so it is True on a T4 or
    V100, where cuDNN has no bf16 convolution; and it asks about the current device, not the chosen one. Its
    ``including_emulation=False`` form checks exactly this capability, for the current device only.
    """
    import torch

    if device.type != "cuda":
        return False
    major, _minor = torch.cuda.get_device_capability(device)
    return major >= 8


@contextlib.contextmanager
def exact_fp32(precision: str, device: torch.device) -> Iterator[None]:
    """Within the block, fp32 on CUDA is full fp32: no TF32 for convolutions and matmuls (a no-op elsewhere).

    PyTorch lets cuDNN run fp32 convolutions in TF32 (10-bit mantissa) by default on Ampere and newer GPUs, so
    ``--precision fp32`` and the degradation's fp32 blur would quietly lose precision there. The flags are
    process-wide: they are restored on exit, and another thread's CUDA work inside the block also runs in full fp32.
    """
    if precision != "fp32" or device.type != "cuda":
        yield
        return
    import torch

    # Set through PyTorch's per-backend API where it exists: mixing it with the legacy allow_tf32 flags is an error.
    flags = [torch.backends.cudnn.conv, torch.backends.cuda.matmul] \
        if hasattr(torch.backends.cudnn, "conv") else []
    saved = [f.fp32_precision for f in flags]
    legacy = None if flags else torch.backends.cudnn.allow_tf32
    for f in flags:
        f.fp32_precision = "ieee"
    if legacy is not None:
        torch.backends.cudnn.allow_tf32 = False  # old PyTorch: matmuls are full fp32 by default there
    try:
        yield
    finally:
        for f, value in zip(flags, saved):
            f.fp32_precision = value
        if legacy is not None:
            torch.backends.cudnn.allow_tf32 = legacy
