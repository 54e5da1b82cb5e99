"""Temporal helpers for training samplers: RealBasicVSR's "load L/2 frames, mirror them in time" (SPEC 3.1).

The mirrored clip ``[x1..xn, xn..x1]`` is then degraded as one sequence, so the random walk gives the second half
different parameters from the first - the "stochastic degradation" scheme (P-RBV section 4.1, about 40 % less
loading time at equal quality).
"""

from __future__ import annotations

import numpy as np
import torch


def frames_to_load(num_frames: int, stochastic: bool = True) -> int:
    """How many frames to read for a training clip of ``num_frames`` (half with mirroring; must then be even)."""
    if not stochastic:
        return num_frames
    if num_frames % 2:
        raise ValueError(f"mirroring needs an even clip length, got {num_frames}")
    return num_frames // 2


def mirror_sequence(x: np.ndarray | torch.Tensor, dim: int = 0) -> np.ndarray | torch.Tensor:
    """``[x1..xn] -> [x1..xn, xn..x1]`` along ``dim`` (0 for ``(T, ...)`` frames, 1 for ``(B, T, ...)``)."""
    if torch.is_tensor(x):
        return torch.cat([x, x.flip(dim)], dim=dim)
    return np.concatenate([x, np.flip(x, axis=dim)], axis=dim)
