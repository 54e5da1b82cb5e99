"""MATLAB-compatible ``imresize`` (bicubic, antialiased when shrinking), in numpy.

MATLAB's result differs from PIL/OpenCV/torch bicubic: the cubic kernel (a = -0.5) is stretched by 1/scale when
shrinking (antialiasing), the borders are handled by mirroring the indices (``[1..n, n..1]``), and each output row of
weights is normalised to sum to one. NIQE and BRISQUE compute their second scale with ``imresize(im, 0.5)``, so the
scores depend on these details.
"""

from __future__ import annotations

import math

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def _contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(out_len, P)`` and 0-based source indices ``(out_len, P)`` along one axis (MATLAB ``contributions``)."""
    antialias = scale < 1
    width = 4.0 / scale if antialias else 4.0
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # output pixel centre in input coordinates (1-based)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based
    dist = u[:, None] - idx
    weights = scale * _cubic(scale * dist) if antialias else _cubic(dist)
    weights = weights / weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx0 = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    keep = np.any(weights != 0, axis=0)  # MATLAB drops all-zero tap columns
    return weights[:, keep], idx0[:, keep]


def _resize_axis(img: np.ndarray, axis: int, out_len: int, scale: float) -> np.ndarray:
    weights, idx = _contributions(img.shape[axis], out_len, scale)
    moved = np.moveaxis(img, axis, 0)
    out = np.zeros((out_len,) + moved.shape[1:], dtype=np.float64)
    wshape = (out_len,) + (1,) * (moved.ndim - 1)
    for k in range(weights.shape[1]):
        out += weights[:, k].reshape(wshape) * moved[idx[:, k]]
    return np.moveaxis(out, 0, axis)


def imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """Resize by ``scale`` like MATLAB ``imresize(img, scale)`` (bicubic, antialias on) on a float array.

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` array, any range (float64 out, no rounding: MATLAB's ``double`` path).
        scale: the same factor for both axes; output size is ``ceil(H * scale) x ceil(W * scale)``.

    Returns:
        The resized float64 array.
    """
    img = np.asarray(img, dtype=np.float64)
    out_h, out_w = int(math.ceil(img.shape[0] * scale)), int(math.ceil(img.shape[1] * scale))
    # MATLAB resizes the dimension with the smaller scale first; with equal scales, rows (axis 0) first.
    out = _resize_axis(img, 0, out_h, scale)
    return _resize_axis(out, 1, out_w, scale)
