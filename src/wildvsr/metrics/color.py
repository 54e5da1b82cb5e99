"""Image input checks and the MATLAB colour conversions the reference metric implementations use.

Every metric accepts an RGB image ``(H, W, 3)`` as ``uint8`` in [0, 255] or as floating point in [0, 1] (a 2-D
``(H, W)`` array is taken as an already-converted luma image on the same scale). Internally images become float64 on
the 0-255 scale, like MATLAB's ``double(uint8_image)``.
"""

from __future__ import annotations

import numpy as np

from wildvsr.errors import InputError

# MATLAB rgb2gray (= luma row of MATLAB's rgb2ntsc inverse, i.e. the Y of YIQ): what LIVE's NIQE and BRISQUE use.
_GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
# MATLAB rgb2ycbcr luma (BT.601, studio range: Y in [16, 235] for 8-bit input): what the SR literature's PSNR/SSIM use.
_YCBCR_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0


def to_float255(img: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``img`` as float64 on the 0-255 scale; ``uint8`` is taken as [0, 255], floats as [0, 1].

    Args:
        img: ``(H, W, 3)`` RGB or ``(H, W)`` luma, ``uint8`` or float in [0, 1].
        name: what to call the array in error messages.

    Raises:
        InputError: wrong rank, channel count or dtype, or an empty image.
    """
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise InputError(f"{name} must be (H, W, 3) RGB or (H, W) luma, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype == np.uint8:
        return arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.floating):
        return arr.astype(np.float64) * 255.0
    raise InputError(f"{name} must be uint8 in [0, 255] or float in [0, 1], got dtype {arr.dtype}")


def _round_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB's conversion to uint8: round half away from zero (not numpy's half-to-even), then saturate."""
    return np.clip(np.floor(x + 0.5), 0, 255)


def rgb_to_gray(img255: np.ndarray, round_to_uint8: bool = True) -> np.ndarray:
    """MATLAB ``rgb2gray`` on the 0-255 scale; ``(H, W, 3)`` -> ``(H, W)`` float64 (2-D input passes through).

    With ``round_to_uint8`` the result is rounded and clipped like ``rgb2gray`` on a ``uint8`` image (what the
    original NIQE and BRISQUE code receive from ``imread``).
    """
    if img255.ndim == 2:
        return img255
    gray = img255 @ _GRAY_WEIGHTS
    return _round_uint8(gray) if round_to_uint8 else gray


def rgb_to_y(img255: np.ndarray, round_to_uint8: bool = False) -> np.ndarray:
    """Y of MATLAB ``rgb2ycbcr`` (BT.601, Y in [16, 235]) on the 0-255 scale; ``(H, W, 3)`` -> ``(H, W)`` float64."""
    if img255.ndim == 2:
        return img255
    y = img255 @ _YCBCR_Y_WEIGHTS + 16.0
    return _round_uint8(y) if round_to_uint8 else y


def crop(img: np.ndarray, crop_border: int) -> np.ndarray:
    """Remove ``crop_border`` pixels from each side of the first two axes."""
    if crop_border < 0:
        raise InputError(f"crop_border must be >= 0, got {crop_border}")
    if crop_border == 0:
        return img
    if img.shape[0] <= 2 * crop_border or img.shape[1] <= 2 * crop_border:
        raise InputError(f"crop_border {crop_border} leaves nothing of a {img.shape[1]}x{img.shape[0]} image")
    return img[crop_border:-crop_border, crop_border:-crop_border]
