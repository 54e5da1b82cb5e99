"""JPEG in torch (any device, optionally differentiable): a GPU stand-in for libjpeg's baseline JPEG.

Follows libjpeg's default encoder/decoder path step by step: full-range BT.601 YCbCr (JFIF), 4:2:0 chroma by 2x2
averaging, 8x8 DCT-II, the standard luminance/chrominance tables scaled by quality exactly as ``jpeg_quality_scaling``
(q < 50: 5000 / q, else 200 - 2q; entries floor((t * s + 50) / 100) clipped to 1..255), rounding, dequantisation,
inverse DCT, "fancy" (triangular, i.e. bilinear half-pixel) chroma upsampling, and 8-bit output. Frames are padded
to a multiple of 16 by edge replication, as libjpeg does. libjpeg uses integer DCTs, so results differ slightly; the
agreement with Pillow/libjpeg is measured in ``tests/degrade/test_diffjpeg.py``.

With ``differentiable=True`` rounding is replaced by the cubic approximation ``round(x) + (x - round(x))^3`` of
Shin & Song (2017), as BasicSR's ``DiffJPEG`` does, so gradients flow to the input.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

_Y_TABLE = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], np.float64)
_C_TABLE = np.full((8, 8), 99.0)
_C_TABLE[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]


def quality_table(quality: float, chroma: bool = False) -> np.ndarray:
    """libjpeg's quality-scaled 8x8 quantisation table (baseline: entries 1..255)."""
    q = min(100, max(1, round(quality)))
    scale = 5000 / q if q < 50 else 200 - 2 * q
    base = _C_TABLE if chroma else _Y_TABLE
    return np.clip(np.floor((base * scale + 50) / 100), 1, 255)


def _dct_matrix(device, dtype) -> torch.Tensor:
    n = torch.arange(8, dtype=torch.float64)
    m = torch.cos((2 * n[None, :] + 1) * n[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    m[0] /= math.sqrt(2)
    return m.to(device=device, dtype=dtype)  # orthonormal DCT-II: X = M x M^T


def _round(x: torch.Tensor, differentiable: bool) -> torch.Tensor:
    r = torch.round(x)
    return r + (x - r) ** 3 if differentiable else r


def _code_plane(p: torch.Tensor, tables: torch.Tensor, differentiable: bool) -> torch.Tensor:
    """(K, h, w) level-shifted plane (h, w multiples of 8), per-image tables (K, 8, 8) -> reconstructed plane."""
    k, h, w = p.shape
    m = _dct_matrix(p.device, p.dtype)
    blocks = p.reshape(k, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)  # (K, by, bx, 8, 8)
    coef = m @ blocks @ m.T
    t = tables[:, None, None]
    coef = _round(coef / t, differentiable) * t
    rec = m.T @ coef @ m
    return rec.permute(0, 1, 3, 2, 4).reshape(k, h, w)


def diff_jpeg(x: torch.Tensor, quality, differentiable: bool = False) -> torch.Tensor:
    """JPEG-compress ``x`` ``(N, T, 3, H, W)`` or ``(N, 3, H, W)`` in [0, 1] at ``quality`` (scalar, (N,) or (N, T)).

    Returns:
        Same shape, device and dtype; values on the 8-bit grid unless ``differentiable``.
    """
    shape = x.shape
    flat = x.reshape(-1, 3, *shape[-2:])
    h, w = flat.shape[-2:]
    q = np.broadcast_to(np.asarray(quality, np.float64).reshape(
        np.shape(quality) + (1,) * (len(shape) - 3 - np.ndim(quality))), shape[:-3]).reshape(-1)
    ty = torch.from_numpy(np.stack([quality_table(v) for v in q])).to(flat.device, flat.dtype)
    tc = torch.from_numpy(np.stack([quality_table(v, chroma=True) for v in q])).to(flat.device, flat.dtype)
    hp, wp = -(-h // 16) * 16, -(-w // 16) * 16
    img = F.pad(flat.clamp(0, 1) * 255, (0, wp - w, 0, hp - h), mode="replicate")
    r, g, b = img[:, 0], img[:, 1], img[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    if not differentiable:  # libjpeg converts to 8-bit YCbCr before coding
        y, cb, cr = y.round(), cb.round(), cr.round()
    chroma = F.avg_pool2d(torch.stack([cb, cr], 1), 2)  # (K, 2, hp/2, wp/2): 4:2:0
    y = _code_plane(y - 128, ty, differentiable) + 128
    cb = _code_plane(chroma[:, 0] - 128, tc, differentiable) + 128
    cr = _code_plane(chroma[:, 1] - 128, tc, differentiable) + 128
    if not differentiable:
        y, cb, cr = y.round().clamp(0, 255), cb.round().clamp(0, 255), cr.round().clamp(0, 255)
    chroma = F.interpolate(torch.stack([cb, cr], 1), scale_factor=2, mode="bilinear", align_corners=False)
    cb, cr = chroma[:, 0] - 128, chroma[:, 1] - 128
    rgb = torch.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1)
    rgb = rgb[..., :h, :w].clamp(0, 255)
    if not differentiable:
        rgb = rgb.round()
    return (rgb / 255).reshape(shape)
