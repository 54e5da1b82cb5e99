"""How a model call runs fast: the precision ``auto`` resolves to, and the channels-last memory format.

Issue 12 reports, on a CPU with AVX512-BF16 + AMX-BF16: bf16 autocast alone gains little because oneDNN's AMX
convolution kernels engage only for channels-last (NHWC) tensors, and bf16 autocast with channels-last model and
input is about 5x faster than fp32. On a CPU without those units bf16 is several times slower than fp32 (measured
here: 3x, BasicVSR, one thread), so ``auto`` picks bf16 only where the flags say the units exist
(``benchmarks/upscale_speed.py`` prints the figures for the machine it runs on). Everything here works on any ``nn.Module`` whose
inputs are ``(B, C, H, W)`` frames or ``(B, T, C, H, W)`` clips.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import TYPE_CHECKING

import torch
from torch import nn

from wildvsr.utils.device import cuda_has_native_bf16

if TYPE_CHECKING:
    from wildvsr.models.spec import ModelSpec

logger = logging.getLogger(__name__)

_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


# oneDNN instruction-set caps (ONEDNN_MAX_CPU_ISA) below which it runs bf16 without native bf16 dot products.
_ONEDNN_ISA_WITHOUT_BF16 = frozenset({"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE",
                                      "AVX512_CORE_VNNI"})


@functools.cache
def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 matrix instructions (AMX-BF16 or AVX512-BF16, from ``/proc/cpuinfo``) and
    oneDNN may use them (a user's ``ONEDNN_MAX_CPU_ISA`` cap below AVX512_CORE_BF16 makes bf16 emulated, slow)."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in _ONEDNN_ISA_WITHOUT_BF16:
        return False
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return any(flag in flags for flag in _BF16_CPU_FLAGS)
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> ``bf16`` on CUDA devices with native bf16 (compute capability 8.0+, checked on ``device`` itself)
    and on CPUs with native bf16 units, else ``fp32``.

    A T4 or V100 gets fp32: PyTorch emulates bf16 there, but cuDNN has no bf16 convolution below capability 8.0.
    Any other value is returned as given (validated by :func:`wildvsr.inference.device.check_precision`).
    """
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if cuda_has_native_bf16(device) else "fp32"
    return "bf16" if device.type == "cpu" and cpu_has_bf16() else "fp32"


def resolve_channels_last(channels_last: bool | None, precision: str, device: torch.device, spec: ModelSpec) -> bool:
    """None (auto) -> channels-last for reduced precision (oneDNN's AMX kernels on CPU, tensor cores on CUDA), and
    in fp32 on CPU for models whose spec declares ``cpu_fp32_channels_last``.

    In fp32 on this project's AVX-512 CPU (no bf16 units, 2 threads, real frames) channels-last made BasicVSR 1.25x
    faster at 160x120 and 1.5x at 640x360 (oneDNN's NCHW convolutions reorder every input and output, and lose
    more to it on large frames; 93.5 dB from NCHW), while RRDBNet was unchanged (1.01x) and SRVGGNet slower (0.93x),
    so the per-frame models keep NCHW (``benchmarks/upscale_speed.py --variants fp32+cl``).
    """
    if channels_last is not None:
        return bool(channels_last)
    if precision != "fp32":
        return True
    return device.type == "cpu" and spec.cpu_fp32_channels_last


def model_to_channels_last(model: nn.Module) -> nn.Module:
    """Convert the 4-D parameters (convolution weights) of ``model`` to channels-last, in place; returns ``model``."""
    return model.to(memory_format=torch.channels_last)


def frames_to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """Give ``(B, C, H, W)`` or ``(B, T, C, H, W)`` per-frame NHWC strides (values unchanged).

    A 5-D clip gets strides such that every ``x[:, t]`` is a channels-last ``(B, C, H, W)`` tensor, which is what the
    recurrent models slice and feed to their convolutions (``torch.channels_last_3d`` would put T, not the frame,
    innermost-but-one and is not what a per-frame convolution wants).
    """
    if x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    if x.dim() == 5:
        if x.permute(0, 1, 3, 4, 2).is_contiguous():
            return x
        return x.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
    raise ValueError(f"expected a 4-D or 5-D tensor, got shape {tuple(x.shape)}")


def isolate_inductor_cache() -> str | None:
    """Give ``torch.compile`` a kernel cache folder of its own per ``ATEN_CPU_CAPABILITY``; returns the folder set.

    Inductor's on-disk cache is not keyed by that variable: a CPU kernel compiled under one capability and reused
    under another corrupted the heap (glibc "malloc assertion failure") or returned NaN (measured with torch 2.13.0 on
    an AMD EPYC: compile with ``ATEN_CPU_CAPABILITY=avx2``, then again without it, same cache). A folder the user chose
    (``TORCHINDUCTOR_CACHE_DIR``) is left alone.
    """
    capability = os.environ.get("ATEN_CPU_CAPABILITY")
    if not capability or "TORCHINDUCTOR_CACHE_DIR" in os.environ:
        return None
    try:
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir  # private; its layout may move
        base = default_cache_dir()
    except ImportError:
        import getpass
        import tempfile
        base = os.path.join(tempfile.gettempdir(), f"torchinductor_{getpass.getuser()}")
    folder = f"{base}_{capability.lower()}"
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = folder
    return folder
