"""NIQE (Mittal, Soundararajan and Bovik, 2013), a port of LIVE's original MATLAB release (``computequality.m``).

The pristine model is the original ``modelparameters.mat`` (``mu_prisparam`` 1x36, ``cov_prisparam`` 36x36), shipped
in ``data/niqe_pris_params.npz`` (see ``data/README.md`` for provenance). Steps, as in the original:

1. RGB -> gray with MATLAB ``rgb2gray`` on the uint8 image (rounded), then ``double``.
2. Crop to a whole number of 96x96 blocks (top-left kept).
3. Two scales (the second is MATLAB ``imresize(im, 0.5)``, bicubic antialiased): MSCN with a 7x7 Gaussian window
   (sigma 7/6, replicate padding), then per block (96 px, then 48 px) 18 features: the AGGD fit of the MSCN
   coefficients (shape, mean of the two betas) and of the products with the 4 neighbours (circular shift inside the
   block: shape, mean, left beta, right beta).
4. A multivariate Gaussian fit of the 36-D block features; the score is the Mahalanobis-like distance
   ``sqrt((mu_p - mu_d) pinv((cov_p + cov_d) / 2) (mu_p - mu_d)')``. Lower is better; no fixed upper bound.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
from scipy.special import gamma as gamma_fn

from wildvsr.errors import InputError
from wildvsr.metrics.color import crop, rgb_to_gray, rgb_to_y, to_float255
from wildvsr.metrics.imresize import imresize
from wildvsr.metrics.nss import aggd_beta, fit_aggd, mscn, paired_products

BLOCK_SIZE = 96
_NIQE_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


@lru_cache(maxsize=1)
def load_pristine_params() -> tuple[np.ndarray, np.ndarray]:
    """The original LIVE pristine model: ``(mu (36,), cov (36, 36))`` float64."""
    with resources.files("wildvsr.metrics").joinpath("data/niqe_pris_params.npz").open("rb") as f:
        data = np.load(f)
        return data["mu_pris_param"].astype(np.float64).ravel(), data["cov_pris_param"].astype(np.float64)


def _block_features(structdis: np.ndarray, block: int) -> np.ndarray:
    """18 features per block: ``structdis`` ``(H, W)`` with H, W multiples of ``block`` -> ``(num_blocks, 18)``."""
    h, w = structdis.shape
    # MATLAB blkproc walks blocks column-major; the order does not change the mean/cov, keep row-major.
    blocks = structdis.reshape(h // block, block, w // block, block).transpose(0, 2, 1, 3).reshape(-1, block, block)
    n = blocks.shape[0]
    feats = []
    alpha, lstd, rstd = fit_aggd(blocks.reshape(n, -1))
    feats += [alpha, (aggd_beta(alpha, lstd) + aggd_beta(alpha, rstd)) / 2]
    for pair in paired_products(blocks, _NIQE_SHIFTS):
        alpha, lstd, rstd = fit_aggd(pair.reshape(n, -1))
        beta_l, beta_r = aggd_beta(alpha, lstd), aggd_beta(alpha, rstd)
        mean = (beta_r - beta_l) * gamma_fn(2.0 / alpha) / gamma_fn(1.0 / alpha)
        feats += [alpha, mean, beta_l, beta_r]
    return np.stack(feats, axis=1)


def niqe_features(gray: np.ndarray) -> np.ndarray:
    """Per-block 36-D NIQE features of a 2-D float image on the 0-255 scale -> ``(num_blocks, 36)``."""
    h, w = gray.shape
    rows, cols = h // BLOCK_SIZE, w // BLOCK_SIZE
    if rows == 0 or cols == 0:
        raise InputError(f"NIQE needs an image of at least {BLOCK_SIZE}x{BLOCK_SIZE} pixels, got {w}x{h}")
    im = gray[: rows * BLOCK_SIZE, : cols * BLOCK_SIZE]
    per_scale = []
    for scale in (1, 2):
        coeffs, _ = mscn(im, padding="replicate")
        per_scale.append(_block_features(coeffs, BLOCK_SIZE // scale))
        if scale == 1:
            im = imresize(im, 0.5)
    return np.concatenate(per_scale, axis=1)


def _nancov(x: np.ndarray) -> np.ndarray:
    rows = x[~np.isnan(x).any(axis=1)]  # MATLAB nancov: drop rows with any NaN
    return np.cov(rows, rowvar=False)


def niqe_from_gray(gray: np.ndarray) -> float:
    """NIQE of a 2-D float image on the 0-255 scale (the converted luma)."""
    feats = niqe_features(gray)
    mu_p, cov_p = load_pristine_params()
    mu_d = np.nanmean(feats, axis=0)
    cov_d = _nancov(feats) if feats.shape[0] > 1 else np.zeros_like(cov_p)
    diff = mu_p - mu_d
    return float(np.sqrt(diff @ np.linalg.pinv((cov_p + cov_d) / 2.0) @ diff))


def calculate_niqe(img: np.ndarray, crop_border: int = 0, convert: str = "gray") -> float:
    """NIQE of one image (lower is better).

    Args:
        img: ``(H, W, 3)`` RGB ``uint8`` [0, 255] or float [0, 1] (float is scaled by 255); ``(H, W)`` is taken as
            luma. At least 96x96 after cropping.
        crop_border: pixels removed from each side first (0 in the papers' protocols).
        convert: ``"gray"`` (default, the original: MATLAB ``rgb2gray`` rounded to uint8, i.e. Y of YIQ = what pyiqa
            calls ``test_y_channel`` with ``color_space='yiq'``) or ``"ycbcr"`` (BasicSR's ``calculate_niqe``: Y of
            ``rgb2ycbcr``, [16, 235], rounded).
    """
    img255 = crop(to_float255(img), crop_border)
    if convert == "gray":
        gray = rgb_to_gray(img255, round_to_uint8=True)
    elif convert == "ycbcr":
        gray = rgb_to_y(img255, round_to_uint8=True)
    else:
        raise InputError(f"convert must be 'gray' or 'ycbcr', got {convert!r}")
    return niqe_from_gray(gray)
