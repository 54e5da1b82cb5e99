"""Comparing frames: equal up to rounding (:func:`assert_frames_close`) and PSNR."""

from __future__ import annotations

import numpy as np


def assert_frames_close(actual: np.ndarray, expected: np.ndarray, max_level: int = 1,
                        max_fraction: float = 1e-4) -> None:
    """uint8 (or uint16) frames equal up to rounding: no value more than ``max_level`` apart and at most
    ``max_fraction`` of the values differing at all.

    For two computations that run the same model on different shapes (frames per call, chunk lengths, tiles): CPU
    convolution libraries (oneDNN) pick their kernel, and so the order of a sum, by shape and by the CPU's instruction
    set, so a float that lands on a rounding boundary can round to the neighbouring integer on some machines
    (measured: 1 value of 188,160 one level apart on an AVX2-only AMD EPYC). Exact comparisons stay for the same
    operations on the same shapes."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    diff = np.abs(actual.astype(np.int64) - expected.astype(np.int64))
    worst, share = int(diff.max(initial=0)), float((diff > 0).mean()) if diff.size else 0.0
    assert worst <= max_level and share <= max_fraction, \
        f"frames differ by up to {worst} levels on {share:.3%} of values (allowed {max_level} on {max_fraction:.3%})"


def psnr(a, b) -> float:
    """PSNR in dB between two uint8 arrays (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
