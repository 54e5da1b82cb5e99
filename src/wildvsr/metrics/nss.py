"""Natural-scene-statistics building blocks shared by NIQE and BRISQUE (LIVE's MATLAB code, vectorised).

* MSCN coefficients: ``(I - mu) / (sigma + 1)`` with a 7x7 Gaussian window (sigma 7/6, ``fspecial``) on the 0-255
  scale. NIQE filters with ``imfilter(..., 'replicate')``, BRISQUE with ``filter2(..., 'same')`` (zero padding).
* Moment-matching fits of the generalized Gaussian (GGD) and asymmetric GGD (AGGD) by a grid search over the shape
  0.2:0.001:10, exactly as ``estimateggdparam.m`` / ``estimateaggdparam.m``. Fits run on a batch of samples at once:
  ``x`` has shape ``(N, M)`` (N independent vectors of M samples) and every result has shape ``(N,)``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.special import gamma as gamma_fn

_SHAPE_GRID = 0.2 + 0.001 * np.arange(9801)  # MATLAB 0.2:0.001:10
_R_AGGD = gamma_fn(2.0 / _SHAPE_GRID) ** 2 / (gamma_fn(1.0 / _SHAPE_GRID) * gamma_fn(3.0 / _SHAPE_GRID))
_R_GGD = 1.0 / _R_AGGD


def gaussian_window_1d(size: int = 7, sigma: float = 7.0 / 6.0) -> np.ndarray:
    """1-D factor of MATLAB ``fspecial('gaussian', size, sigma)`` (the 2-D window is its outer product)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def mscn(img: np.ndarray, padding: str = "replicate") -> tuple[np.ndarray, np.ndarray]:
    """Mean-subtracted contrast-normalised coefficients of a 2-D float image on the 0-255 scale.

    Args:
        img: ``(H, W)`` float64.
        padding: ``"replicate"`` (NIQE's ``imfilter``) or ``"zero"`` (BRISQUE's ``filter2``).

    Returns:
        ``(mscn, sigma)``, both ``(H, W)`` float64; ``sigma`` is the local standard deviation.
    """
    mode = {"replicate": "nearest", "zero": "constant"}[padding]
    g = gaussian_window_1d()

    def blur(a: np.ndarray) -> np.ndarray:  # the Gaussian is separable; correlate == convolve (symmetric)
        return ndimage.correlate1d(ndimage.correlate1d(a, g, axis=0, mode=mode), g, axis=1, mode=mode)

    mu = blur(img)
    sigma = np.sqrt(np.abs(blur(img * img) - mu * mu))
    return (img - mu) / (sigma + 1.0), sigma


def _nearest_on_grid(table: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Shape-grid entry whose ``table`` value is nearest to each of ``values`` (NaN stays NaN).

    Equals MATLAB's ``min((table - v).^2)`` / ``min(abs(v - table))`` including its first-index tie rule, but by a
    binary search: ``table`` is strictly monotonic on the grid (increasing for the AGGD ratio, decreasing for the GGD
    one), so the nearest entry is one of the two neighbours of the insertion point.
    """
    increasing = table[-1] > table[0]
    ordered = table if increasing else table[::-1]
    n = len(ordered)
    safe = np.where(np.isnan(values), ordered[0], values)
    right = np.clip(np.searchsorted(ordered, safe), 1, n - 1)
    left = right - 1
    d_left, d_right = np.abs(safe - ordered[left]), np.abs(safe - ordered[right])
    if increasing:  # lower grid index = left neighbour; it wins ties
        pos = np.where(d_left <= d_right, left, right)
    else:  # reversed order: the right neighbour has the lower grid index
        pos = n - 1 - np.where(d_right <= d_left, right, left)
    return np.where(np.isnan(values), np.nan, _SHAPE_GRID[pos])


def fit_aggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AGGD fit per row: ``(alpha, left_std, right_std)`` (``estimateaggdparam.m``; BRISQUE's variant).

    NIQE's variant returns ``beta = std * sqrt(gamma(1/alpha) / gamma(3/alpha))`` instead of the stds; see
    :func:`aggd_beta`.
    """
    x = np.asarray(x, dtype=np.float64)
    m = x.shape[1]
    neg, pos = np.minimum(x, 0.0), np.maximum(x, 0.0)
    neg_sq, pos_sq = np.einsum("ij,ij->i", neg, neg), np.einsum("ij,ij->i", pos, pos)
    n_neg, n_pos = np.count_nonzero(x < 0, axis=1), np.count_nonzero(x > 0, axis=1)
    abs_sum = pos.sum(axis=1) - neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        left_std = np.sqrt(neg_sq / n_neg)
        right_std = np.sqrt(pos_sq / n_pos)
        gammahat = left_std / right_std
        rhat = (abs_sum / m) ** 2 / ((neg_sq + pos_sq) / m)
        rhatnorm = rhat * (gammahat ** 3 + 1) * (gammahat + 1) / (gammahat ** 2 + 1) ** 2
    return _nearest_on_grid(_R_AGGD, rhatnorm), left_std, right_std


def aggd_beta(alpha: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Scale parameter of an AGGD side from its shape and standard deviation."""
    return std * np.sqrt(gamma_fn(1.0 / alpha) / gamma_fn(3.0 / alpha))


def fit_ggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GGD fit per row: ``(shape, std)`` (``estimateggdparam.m``, BRISQUE's MSCN features)."""
    x = np.asarray(x, dtype=np.float64)
    sigma_sq = (x * x).mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = sigma_sq / np.abs(x).mean(axis=1) ** 2
    shape = _nearest_on_grid(_R_GGD, rho)
    return shape, np.sqrt(sigma_sq)


def paired_products(coeffs: np.ndarray, shifts: tuple[tuple[int, int], ...]) -> list[np.ndarray]:
    """Products of MSCN coefficients with their circularly shifted copies (MATLAB ``circshift`` on the last 2 axes).

    ``coeffs`` is ``(..., H, W)``; a shift ``(dy, dx)`` moves content down/right as ``circshift(x, [dy dx])``.
    """
    return [coeffs * np.roll(coeffs, shift, axis=(-2, -1)) for shift in shifts]
