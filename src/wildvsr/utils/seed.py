"""Seeding, in one place. Library functions never touch global RNG state; only entry points call these."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, rank: int = 0) -> None:
    """Seed Python, NumPy and torch global generators (entry points only), offset by ``rank``."""
    s = int(seed) + int(rank)
    random.seed(s)
    np.random.seed(s % 2**32)
    torch.manual_seed(s)


def set_deterministic(enabled: bool = True) -> None:
    """Process-wide: ``torch.use_deterministic_algorithms`` (warning, not failing, on ops without a deterministic
    kernel) and the cuBLAS workspace setting it needs on CUDA (entry points only, next to :func:`seed_everything`)."""
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=True)


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` on ``device`` seeded with ``seed``."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def numpy_generator(seed: int | np.random.SeedSequence) -> np.random.Generator:
    """A fresh ``numpy.random.Generator`` (PCG64) seeded with ``seed``."""
    return np.random.default_rng(seed)
