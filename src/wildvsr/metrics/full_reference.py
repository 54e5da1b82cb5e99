"""Full-reference metrics: PSNR and SSIM with BasicSR's ``calculate_psnr`` / ``calculate_ssim`` semantics.

Both take two images of the same size, RGB ``(H, W, 3)`` (or ``(H, W)`` luma) as ``uint8`` [0, 255] or float [0, 1]
(floats are scaled by 255, not rounded), work on the 0-255 scale in float64, and optionally:

* ``crop_border``: remove that many pixels from each side first (the SR convention is the scale factor, 4);
* ``test_y_channel``: compare only a luma channel, chosen by ``color_space``: ``"ycbcr"`` (default) is the Y of MATLAB
  ``rgb2ycbcr`` (BT.601, Y in [16, 235], not rounded), as the SR literature and BasicSR do; ``"yiq"`` is MATLAB
  ``rgb2gray`` rounded to uint8 (Y of YIQ), the convention of pyiqa's calibration table (its "ssim" row is reproduced
  exactly this way). Otherwise RGB: PSNR over all three channels, SSIM as the mean of per-channel SSIMs.

SSIM is Wang et al.'s: 11x11 Gaussian window (sigma 1.5), C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, statistics over
the 'valid' region only (no padding), no downsampling. Higher is better for both; PSNR in dB (inf when identical).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from wildvsr.errors import InputError
from wildvsr.metrics.color import crop, rgb_to_gray, rgb_to_y, to_float255


def _prepare(img: np.ndarray, ref: np.ndarray, crop_border: int, test_y_channel: bool,
             color_space: str) -> tuple[np.ndarray, np.ndarray]:
    if color_space not in ("ycbcr", "yiq"):
        raise InputError(f"color_space must be 'ycbcr' or 'yiq', got {color_space!r}")
    a, b = to_float255(img, "image"), to_float255(ref, "reference")
    if a.shape != b.shape:
        raise InputError(f"image and reference differ in shape: {a.shape} vs {b.shape}")
    a, b = crop(a, crop_border), crop(b, crop_border)
    if test_y_channel:
        luma = rgb_to_y if color_space == "ycbcr" else rgb_to_gray
        a, b = luma(a), luma(b)
    return a, b


def calculate_psnr(img: np.ndarray, ref: np.ndarray, crop_border: int = 0, test_y_channel: bool = False,
                   color_space: str = "ycbcr") -> float:
    """PSNR in dB on the 0-255 scale: ``10 log10(255^2 / MSE)`` (``inf`` for identical images)."""
    a, b = _prepare(img, ref, crop_border, test_y_channel, color_space)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def _gaussian_1d(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    g = _gaussian_1d()
    half = len(g) // 2
    if a.shape[0] < len(g) or a.shape[1] < len(g):
        raise InputError(f"SSIM needs images of at least {len(g)}x{len(g)} pixels, got {a.shape[1]}x{a.shape[0]}")

    def blur(x: np.ndarray) -> np.ndarray:  # 'valid' region of an 11x11 separable Gaussian filter
        y = ndimage.correlate1d(ndimage.correlate1d(x, g, axis=0, mode="constant"), g, axis=1, mode="constant")
        return y[half:-half, half:-half]

    mu_a, mu_b = blur(a), blur(b)
    mu_aa, mu_bb, mu_ab = mu_a * mu_a, mu_b * mu_b, mu_a * mu_b
    var_a, var_b, cov = blur(a * a) - mu_aa, blur(b * b) - mu_bb, blur(a * b) - mu_ab
    ssim_map = ((2 * mu_ab + c1) * (2 * cov + c2)) / ((mu_aa + mu_bb + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def calculate_ssim(img: np.ndarray, ref: np.ndarray, crop_border: int = 0, test_y_channel: bool = False,
                   color_space: str = "ycbcr") -> float:
    """SSIM in [-1, 1] (1 = identical); on RGB the mean of the three channels' SSIM."""
    a, b = _prepare(img, ref, crop_border, test_y_channel, color_space)
    if a.ndim == 2:
        return _ssim_channel(a, b)
    return float(np.mean([_ssim_channel(a[..., c], b[..., c]) for c in range(a.shape[2])]))
