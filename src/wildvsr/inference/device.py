"""Devices, precision, and turning out-of-memory into an error a user can act on."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import torch

from wildvsr.errors import ConfigError, DeviceError
from wildvsr.inference.acceleration import cpu_has_bf16
from wildvsr.utils.device import cuda_has_native_bf16, exact_fp32  # noqa: F401  (exact_fp32 re-exported)
from wildvsr.utils.device import resolve_device  # noqa: F401  (re-exported: the one resolver lives there)

logger = logging.getLogger(__name__)

_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse precisions a device cannot run; warn about ones that run but slowly.

    On CPU, bf16 and fp16 run through CPU autocast and give correct results, but on CPUs without native bf16 matrix
    units (AMX-BF16/AVX512-BF16) they are slower than fp32 (1.8-3x for BasicVSR on this project's AVX-512 machine),
    so they are accepted with a warning there; fp16 on CPU always warns.

    Raises:
        ConfigError: an unknown precision, or bf16 on a CUDA device without native bf16 (compute capability below
            8.0, where PyTorch would emulate it and cuDNN has no bf16 convolution).
    """
    if precision not in _DTYPES:
        raise ConfigError(f"precision must be fp32, bf16 or fp16, got {precision!r}")
    if precision == "bf16" and device.type == "cuda" and not cuda_has_native_bf16(device):
        raise ConfigError(f"{device} has no native bf16 (compute capability below 8.0); use --precision fp16 or fp32")
    if device.type == "cpu" and (precision == "fp16" or (precision == "bf16" and not cpu_has_bf16())):
        logger.warning("precision %s is slower than fp32 on a CPU without native bf16 units; it is meant for CUDA "
                       "devices and CPUs with AMX/AVX512-BF16", precision)


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """Autocast to ``precision`` on ``device`` (a no-op for fp32)."""
    if precision == "fp32":
        yield
        return
    with torch.autocast(device_type=device.type, dtype=_DTYPES[precision]):
        yield


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA OOM and for the CPU allocator failing to allocate."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        "out of memory" in text or "can't allocate memory" in text or isinstance(exc, MemoryError))


def out_of_memory_error(device: torch.device, frames: int, height: int, width: int, tile: int | None) -> DeviceError:
    """The :class:`DeviceError` raised for an out-of-memory failure, with a concrete ``--tile`` hint."""
    suggestion = max(64, (tile or max(height, width)) // 2)
    where = f"{frames} frames of {width}x{height}" + (f" in tiles of {tile}" if tile else "")
    return DeviceError(f"{device} ran out of memory on {where}; retry with --tile {suggestion} "
                       "(or a smaller --chunk-size/--overlap)")


def available_memory(device: torch.device) -> int | None:
    """Free memory in bytes on ``device``, or None when unknown.

    CUDA: the driver's free memory plus PyTorch's reserved-but-unallocated blocks. ``mem_get_info`` is
    cudaMemGetInfo, which counts every block the caching allocator keeps after a call as used; PyTorch reuses those
    blocks for the next call, so without them a run would be refused at its second chunk after the first fitted, and
    a second job of the web app would see the first one's cache as used. CPU: MemAvailable.
    """
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + max(0, cached))
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(AttributeError, ValueError, OSError):
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    return None


def empty_cache(device: torch.device) -> None:
    """Release cached device memory after an out-of-memory failure."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def release_cached_memory() -> None:
    """Give the CUDA caching allocator's unused blocks back to the driver, between jobs of a long-lived process (the
    web app): other processes on the GPU see them free again. A no-op where CUDA was never used in this process."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
