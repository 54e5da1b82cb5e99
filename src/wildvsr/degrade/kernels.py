"""Blur kernels (NumPy, built from explicit parameters or an explicit ``np.random.Generator``) and ``filter2D``.

Kernel formulas follow BasicSR ``data/degradations.py`` (Real-ESRGAN) and MMEditing ``blur_kernels.py``
(RealBasicVSR): a kernel is a ``(k, k)`` float32 array on the integer grid centred at 0, normalised to sum 1.

- Gaussian: ``exp(-1/2 x^T S^-1 x)``; generalized Gaussian: ``exp(-1/2 (x^T S^-1 x)^beta)``;
  plateau: ``1 / (1 + (x^T S^-1 x)^beta)``, where ``S = R(theta) diag(sx^2, sy^2) R(theta)^T``.
- sinc (circular low-pass, ringing): ``omega J1(omega r) / (2 pi r)``, centre ``omega^2 / (4 pi)``: the ideal low-pass
  with cut-off ``omega`` rad/pixel, truncated to the kernel window.

``filter2D`` applies one kernel per frame to ``(N, T, C, H, W)`` by grouped convolution with reflect padding
(OpenCV's BORDER_REFLECT_101, which ``cv2.filter2D`` uses by default).
"""

from __future__ import annotations

import math
import typing
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from scipy import special

KernelType = Literal["iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso", "sinc"]
KERNEL_TYPES: tuple[str, ...] = typing.get_args(KernelType)
KERNEL_SIZES = tuple(range(7, 22, 2))  # 7, 9, ..., 21


# ----------------------------------------------------------------------------------------------------------- kernels
def _check_size(kernel_size: int) -> None:
    if kernel_size % 2 != 1 or kernel_size < 1:
        raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size}")


def mesh_grid(kernel_size: int) -> np.ndarray:
    """``(k, k, 2)`` float64 grid of ``(x, y)`` offsets from the centre pixel (x along columns)."""
    _check_size(kernel_size)
    ax = np.arange(-(kernel_size // 2), kernel_size // 2 + 1, dtype=np.float64)
    xx, yy = np.meshgrid(ax, ax)
    return np.stack([xx, yy], axis=-1)


def sigma_matrix2(sig_x: float, sig_y: float, theta: float) -> np.ndarray:
    """2x2 covariance ``R(theta) diag(sig_x^2, sig_y^2) R(theta)^T``."""
    d = np.diag([sig_x**2, sig_y**2])
    u = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    return u @ d @ u.T


def _quadratic_form(kernel_size: int, sig_x: float, sig_y: float, theta: float) -> np.ndarray:
    grid = mesh_grid(kernel_size)
    inv = np.linalg.inv(sigma_matrix2(sig_x, sig_y, theta))
    return np.einsum("...i,ij,...j->...", grid, inv, grid)


def _normalise(kernel: np.ndarray) -> np.ndarray:
    return (kernel / kernel.sum()).astype(np.float32)


def bivariate_gaussian(kernel_size: int, sig_x: float, sig_y: float | None = None, theta: float = 0.0) -> np.ndarray:
    """Anisotropic (or, with ``sig_y=None``, isotropic) Gaussian kernel ``(k, k)``, sum 1."""
    sig_y = sig_x if sig_y is None else sig_y
    return _normalise(np.exp(-0.5 * _quadratic_form(kernel_size, sig_x, sig_y, theta)))


def bivariate_generalized_gaussian(kernel_size: int, sig_x: float, sig_y: float | None, theta: float,
                                   beta: float) -> np.ndarray:
    """Generalized Gaussian ``exp(-1/2 q^beta)``: beta < 1 heavier tails, beta > 1 flatter top."""
    sig_y = sig_x if sig_y is None else sig_y
    return _normalise(np.exp(-0.5 * np.power(_quadratic_form(kernel_size, sig_x, sig_y, theta), beta)))


def bivariate_plateau(kernel_size: int, sig_x: float, sig_y: float | None, theta: float, beta: float) -> np.ndarray:
    """Plateau kernel ``1 / (1 + q^beta)``."""
    sig_y = sig_x if sig_y is None else sig_y
    return _normalise(1.0 / (np.power(_quadratic_form(kernel_size, sig_x, sig_y, theta), beta) + 1.0))


def circular_lowpass_kernel(cutoff: float, kernel_size: int, pad_to: int = 0) -> np.ndarray:
    """2D sinc (ideal circular low-pass with cut-off ``cutoff`` rad/pixel), ``(k, k)`` or zero-padded to ``pad_to``."""
    _check_size(kernel_size)
    c = (kernel_size - 1) / 2
    yy, xx = np.mgrid[0:kernel_size, 0:kernel_size].astype(np.float64)
    r = np.sqrt((xx - c) ** 2 + (yy - c) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = cutoff * special.j1(cutoff * r) / (2 * np.pi * r)
    kernel[int(c), int(c)] = cutoff**2 / (4 * np.pi)  # the limit at r = 0
    kernel = _normalise(kernel)
    if pad_to > kernel_size:
        kernel = pad_kernel(kernel, pad_to)
    return kernel


def pad_kernel(kernel: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad a ``(k, k)`` kernel to ``(size, size)`` keeping it centred (size - k must be even)."""
    k = kernel.shape[-1]
    if size < k or (size - k) % 2:
        raise ValueError(f"cannot pad a {k}x{k} kernel to {size}x{size}")
    p = (size - k) // 2
    return np.pad(kernel, ((p, p), (p, p)))


def make_kernel(kernel_type: str, kernel_size: int, *, sigma_x: float = 1.0, sigma_y: float = 1.0,
                rotation: float = 0.0, beta: float = 1.0, omega: float = math.pi / 2) -> np.ndarray:
    """Build one kernel of ``kernel_type`` (see ``KERNEL_TYPES``) from explicit parameters.

    Isotropic types use ``sigma_x`` for both axes and no rotation; ``beta`` is used by the generalized/plateau types;
    ``omega`` by ``sinc``.
    """
    if kernel_type == "sinc":
        return circular_lowpass_kernel(omega, kernel_size)
    iso = kernel_type.endswith("iso") and not kernel_type.endswith("aniso")
    sx, sy, th = (sigma_x, sigma_x, 0.0) if iso else (sigma_x, sigma_y, rotation)
    if kernel_type in ("iso", "aniso"):
        return bivariate_gaussian(kernel_size, sx, sy, th)
    if kernel_type.startswith("generalized"):
        return bivariate_generalized_gaussian(kernel_size, sx, sy, th, beta)
    if kernel_type.startswith("plateau"):
        return bivariate_plateau(kernel_size, sx, sy, th, beta)
    raise ValueError(f"unknown kernel type {kernel_type!r}; expected one of {', '.join(KERNEL_TYPES)}")


def sample_beta(rng: np.random.Generator, beta_range: Sequence[float]) -> float:
    """Real-ESRGAN's shape sampling: U(lo, 1) or U(1, hi) with p = 1/2 each."""
    lo, hi = beta_range
    # written as a + (b - a) U so that a reversed interval (MMEditing's beta > 1 case) is still sampled
    if rng.uniform() < 0.5:
        return float(lo + (1.0 - lo) * rng.uniform())
    return float(1.0 + (hi - 1.0) * rng.uniform())


def random_mixed_kernels(rng: np.random.Generator, kernel_list: Sequence[str], kernel_prob: Sequence[float],
                         kernel_size: int = 21, sigma_x_range: Sequence[float] = (0.6, 5.0),
                         sigma_y_range: Sequence[float] = (0.6, 5.0), rotation_range: Sequence[float] = (-math.pi,
                                                                                                       math.pi),
                         betag_range: Sequence[float] = (0.5, 8.0), betap_range: Sequence[float] = (0.5, 8.0),
                         omega_range: Sequence[float] | None = None) -> tuple[np.ndarray, dict]:
    """Draw a kernel type by ``kernel_prob``, then its parameters uniformly from the ranges (BasicSR semantics).

    Returns:
        ``(kernel (k, k) float32 sum 1, params dict)``; the dict is what was drawn, for provenance.
    """
    kernel_type = str(rng.choice(list(kernel_list), p=np.asarray(kernel_prob) / np.sum(kernel_prob)))
    if omega_range is None:
        omega_range = (math.pi / 3, math.pi) if kernel_size < 13 else (math.pi / 5, math.pi)
    p = {"kernel_type": kernel_type, "kernel_size": kernel_size,
         "sigma_x": float(rng.uniform(*sigma_x_range)), "sigma_y": float(rng.uniform(*sigma_y_range)),
         "rotation": float(rng.uniform(*rotation_range)), "beta": 1.0, "omega": float(rng.uniform(*omega_range))}
    if kernel_type.startswith("generalized"):
        p["beta"] = sample_beta(rng, betag_range)
    elif kernel_type.startswith("plateau"):
        p["beta"] = sample_beta(rng, betap_range)
    kernel = make_kernel(kernel_type, kernel_size, sigma_x=p["sigma_x"], sigma_y=p["sigma_y"],
                         rotation=p["rotation"], beta=p["beta"], omega=p["omega"])
    return kernel, p


# ---------------------------------------------------------------------------------------------------------- filtering
def _pad_mode(pad: int, h: int, w: int) -> str:
    # reflect needs pad < size; tiny frames (strong down-scaling) fall back to edge replication
    return "reflect" if pad < min(h, w) else "replicate"


def filter2D(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve every frame with its own kernel (reflect-101 border, output size = input size).

    Args:
        x: ``(N, T, C, H, W)`` or ``(N, C, H, W)`` float.
        kernel: ``(N, T, k, k)`` (one per frame), ``(N, k, k)`` (one per clip/image) or ``(k, k)`` (shared); k odd.
            Applied as correlation, as ``cv2.filter2D`` does (identical to convolution for symmetric kernels).

    Returns:
        Tensor of ``x``'s shape, dtype and device.
    """
    video = x.dim() == 5
    if not video:
        x = x.unsqueeze(1)
    n, t, c, h, w = x.shape
    kernel = kernel.to(device=x.device, dtype=x.dtype)
    k = kernel.shape[-1]
    if k % 2 != 1:
        raise ValueError(f"kernel size must be odd, got {k}")
    if kernel.dim() == 2:
        kernel = kernel.expand(n, t, k, k)
    elif kernel.dim() == 3:
        kernel = kernel[:, None].expand(n, t, k, k)
    pad = k // 2
    xf = F.pad(x.reshape(1, n * t * c, h, w), (pad, pad, pad, pad), mode=_pad_mode(pad, h, w))
    weight = kernel.reshape(n * t, 1, 1, k, k).expand(n * t, c, 1, k, k).reshape(n * t * c, 1, k, k)
    out = F.conv2d(xf, weight, groups=n * t * c).reshape(n, t, c, h, w)
    return out if video else out[:, 0]
