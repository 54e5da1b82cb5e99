"""What a training device can do: the autocast dtype ``train.amp`` resolves to, and what ``train.deterministic``
can promise there. One place, so the trainer, the distillation recipe and the docs say the same thing."""

from __future__ import annotations

import logging

import torch

from wildvsr.errors import ConfigError
from wildvsr.utils.device import cuda_has_native_bf16

logger = logging.getLogger(__name__)


CUDA_NONDETERMINISTIC_BACKWARD = "grid_sample (flow warping) and bilinear interpolation"
"""Ops of every recipe whose CUDA backward PyTorch lists as nondeterministic (atomic adds into the input gradient);
``torch.use_deterministic_algorithms`` has no deterministic CUDA kernel for them, so it can only warn."""


def training_amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype of ``train.amp`` on ``device`` (None = fp32).

    ``auto`` is bf16 only on a CUDA device with native bf16 (compute capability 8.0+); older GPUs (T4, V100) train in
    fp32, because cuDNN has no bf16 convolution there and fp16 training would need loss scaling, which the loop does
    not do. CPUs train in fp32 unless ``bf16`` is asked for.

    Raises:
        ConfigError: ``bf16`` on a CUDA device without native bf16.
    """
    if amp == "fp32":
        return None
    native = cuda_has_native_bf16(device)
    if amp == "bf16":
        if device.type == "cuda" and not native:
            raise ConfigError(f"train.amp=bf16: {device} has no native bf16 (compute capability below 8.0); "
                              "use train.amp=fp32")
        return torch.bfloat16
    if device.type == "cuda" and not native:
        logger.info("train.amp=auto: %s has no native bf16 (compute capability below 8.0); training in fp32", device)
    return torch.bfloat16 if native else None


def warn_deterministic_limits(device: torch.device) -> None:
    """Say what ``train.deterministic`` can promise on ``device``: on CPU a resumed run equals an uninterrupted one
    bit for bit; on CUDA the forward and most of the backward are deterministic, but not the backward of
    :data:`CUDA_NONDETERMINISTIC_BACKWARD`, so a resume stays close, not exact."""
    if not torch.are_deterministic_algorithms_enabled():
        logger.warning("train.deterministic is set but deterministic algorithms are off in this process; "
                       "call wildvsr.utils.seed.set_deterministic(True) first (train() does)")
    if device.type == "cuda":
        logger.warning("train.deterministic on %s: the backward of %s has no deterministic CUDA kernel, so runs and "
                       "resumes are close but not bit-exact (exact resume holds on CPU)", device,
                       CUDA_NONDETERMINISTIC_BACKWARD)
