"""Resizing and unsharp masking on ``(N, T, C, H, W)`` (or ``(N, C, H, W)``) float tensors in [0, 1].

Antialias choices (documented once):
- Degradation resizes (``antialias=False``, the default) follow Real-ESRGAN's ``F.interpolate`` and RealBasicVSR's
  ``cv2.resize``: ``bilinear``/``bicubic`` sample the source without a low-pass filter, so strong down-scaling aliases
  - that aliasing is part of the degradation. ``area`` averages the covered source pixels (``adaptive_avg_pool2d``),
  the anti-aliased choice, as ``cv2.INTER_AREA`` does when shrinking. Bicubic uses a = -0.75 (OpenCV and PyTorch).
- The ``bicubic`` preset (classic "BI" x4 data) uses ``antialias=True``: PyTorch then widens the cubic kernel by the
  scale factor, like MATLAB ``imresize`` (the usual BI protocol).
Values are not clamped (bicubic overshoot stays, as in both reference pipelines).
"""

from __future__ import annotations

import typing
from typing import Literal

import torch
import torch.nn.functional as F

from wildvsr.degrade.kernels import _pad_mode

Interpolation = Literal["area", "bilinear", "bicubic"]
INTERPOLATIONS: tuple[str, ...] = typing.get_args(Interpolation)


def resize(x: torch.Tensor, size: tuple[int, int] | None = None, scale: float | None = None,
           mode: str = "bicubic", antialias: bool = False) -> torch.Tensor:
    """Resize frames to ``size = (h, w)`` or by ``scale`` (output ``floor(H * scale)``, ``floor(W * scale)``).

    Args:
        x: ``(N, T, C, H, W)`` or ``(N, C, H, W)`` float.
        mode: ``area``, ``bilinear`` or ``bicubic``.
        antialias: low-pass before down-scaling (bilinear/bicubic only); see the module docstring.
    """
    if mode not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {mode!r}; expected one of {', '.join(INTERPOLATIONS)}")
    if (size is None) == (scale is None):
        raise ValueError("give exactly one of size and scale")
    h, w = x.shape[-2:]
    if size is None:
        size = (max(1, int(h * scale)), max(1, int(w * scale)))
    size = (int(size[0]), int(size[1]))
    if size == (h, w):
        return x
    lead = x.shape[:-3]
    flat = x.reshape(-1, *x.shape[-3:])
    if mode == "area":
        out = F.interpolate(flat, size=size, mode="area")
    else:
        out = F.interpolate(flat, size=size, mode=mode, align_corners=False, antialias=antialias)
    return out.reshape(*lead, *out.shape[-3:])


def gaussian_kernel1d(kernel_size: int, sigma: float = 0.0) -> torch.Tensor:
    """1D Gaussian as ``cv2.getGaussianKernel``: ``sigma <= 0`` means ``0.3 * ((k - 1) / 2 - 1) + 0.8``."""
    if sigma <= 0:
        sigma = 0.3 * ((kernel_size - 1) * 0.5 - 1) + 0.8
    ax = torch.arange(kernel_size, dtype=torch.float64) - (kernel_size - 1) / 2
    k = torch.exp(-(ax**2) / (2 * sigma**2))
    return (k / k.sum()).float()


def gaussian_blur(x: torch.Tensor, kernel_size: int, sigma: float = 0.0) -> torch.Tensor:
    """Separable Gaussian blur of ``(..., C, H, W)`` with reflect-101 borders (``cv2.GaussianBlur``)."""
    k1 = gaussian_kernel1d(kernel_size, sigma).to(device=x.device, dtype=x.dtype)
    shape = x.shape
    flat = x.reshape(-1, 1, *shape[-2:])
    pad = kernel_size // 2
    h, w = shape[-2:]
    flat = F.pad(flat, (pad, pad, pad, pad), mode=_pad_mode(pad, h, w))
    flat = F.conv2d(flat, k1.view(1, 1, 1, -1))
    flat = F.conv2d(flat, k1.view(1, 1, -1, 1))
    return flat.reshape(shape)


def usm_sharp(x: torch.Tensor, weight: float = 0.5, radius: int = 50, threshold: float = 10) -> torch.Tensor:
    """Unsharp masking for the sharpened GT (BasicSR ``usm_sharp`` / MMEditing ``UnsharpMasking``).

    ``radius`` 50 becomes an odd kernel of 51 with OpenCV's default sigma (8.0). residue = x - blur(x);
    mask = |residue| * 255 > threshold, softened by the same blur; out = soft * clip(x + weight * residue, 0, 1)
    + (1 - soft) * x.

    Args:
        x: ``(N, T, C, H, W)`` or ``(N, C, H, W)`` float in [0, 1], any device.

    Returns:
        Tensor of the same shape in [0, 1].
    """
    ks = radius + 1 if radius % 2 == 0 else radius
    blur = gaussian_blur(x, ks)
    residue = x - blur
    mask = (residue.abs() * 255 > threshold).to(x.dtype)
    soft = gaussian_blur(mask, ks)
    sharp = (x + weight * residue).clamp(0, 1)
    return soft * sharp + (1 - soft) * x
