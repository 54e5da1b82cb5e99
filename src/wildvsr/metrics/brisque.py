"""BRISQUE (Mittal, Moorthy and Bovik, 2012), a port of LIVE's original MATLAB release (``brisquescore.m``).

The model is LIVE's ``allmodel`` (epsilon-SVR, RBF kernel gamma 0.05, 774 support vectors, rho -153.591) and
``allrange`` (per-feature min/max for scaling to [-1, 1]), shipped as ``data/brisque_live_model.npz`` (see
``data/README.md`` for provenance; the ``brisque`` PyPI package's ``svm.txt`` is a re-fit, not LIVE's model). The SVR
is evaluated here in numpy (no libsvm).

Features (``brisque_feature.m``), per scale (the second is MATLAB ``imresize(im, 0.5)``):
MSCN with a 7x7 Gaussian (sigma 7/6) and zero padding (``filter2``); GGD fit of the MSCN coefficients (shape,
variance); AGGD fit of the products with the 4 circularly shifted neighbours (shape, mean, left var, right var).
The original prints the features with ``%f`` and ``svm-scale`` writes ``%g``; both roundings are reproduced.
Scores are roughly 0 (best) to 100 (worst) and can leave that range; lower is better.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
from scipy.special import gamma as gamma_fn

from wildvsr.errors import InputError
from wildvsr.metrics.color import crop, rgb_to_gray, to_float255
from wildvsr.metrics.imresize import imresize
from wildvsr.metrics.nss import fit_aggd, fit_ggd, mscn, paired_products

_BRISQUE_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))
MIN_SIZE = 16


@lru_cache(maxsize=1)
def load_model() -> dict[str, np.ndarray]:
    """LIVE's SVR model and feature ranges as float64 arrays (keys: support_vectors (774, 36), dual_coef (774,),
    rho, gamma, feature_min (36,), feature_max (36,))."""
    with resources.files("wildvsr.metrics").joinpath("data/brisque_live_model.npz").open("rb") as f:
        data = np.load(f)
        return {k: np.asarray(data[k], dtype=np.float64) for k in data.files}


def brisque_features(gray: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of a 2-D float image on the 0-255 scale -> ``(36,)`` float64."""
    feats: list[float] = []
    im = gray
    for scale in (1, 2):
        coeffs, _ = mscn(im, padding="zero")
        shape, std = fit_ggd(coeffs.reshape(1, -1))
        feats += [shape[0], std[0] ** 2]
        for pair in paired_products(coeffs, _BRISQUE_SHIFTS):
            alpha, lstd, rstd = fit_aggd(pair.reshape(1, -1))
            const = np.sqrt(gamma_fn(1.0 / alpha) / gamma_fn(3.0 / alpha))
            mean = (rstd - lstd) * (gamma_fn(2.0 / alpha) / gamma_fn(1.0 / alpha)) * const
            feats += [alpha[0], mean[0], lstd[0] ** 2, rstd[0] ** 2]
        if scale == 1:
            im = imresize(im, 0.5)
    return np.asarray(feats, dtype=np.float64)


def _round_significant(x: np.ndarray, digits: int = 6) -> np.ndarray:
    """printf ``%g``: round to ``digits`` significant digits."""
    return np.array([float(f"{v:.{digits}g}") for v in x])


def svr_score(features: np.ndarray) -> float:
    """Scale the 36 features to [-1, 1] with LIVE's ranges and evaluate LIVE's RBF epsilon-SVR."""
    model = load_model()
    feats = np.round(features, 6)  # fprintf('%f')
    lo, hi = model["feature_min"], model["feature_max"]
    scaled = _round_significant(-1.0 + 2.0 * (feats - lo) / (hi - lo))  # svm-scale output, '%g'
    sq_dist = ((model["support_vectors"] - scaled[None, :]) ** 2).sum(axis=1)
    return float(model["dual_coef"] @ np.exp(-model["gamma"] * sq_dist) - model["rho"])


def brisque_from_gray(gray: np.ndarray) -> float:
    """BRISQUE of a 2-D float image on the 0-255 scale."""
    if min(gray.shape) < MIN_SIZE:
        raise InputError(f"BRISQUE needs an image of at least {MIN_SIZE}x{MIN_SIZE} pixels, got {gray.shape[1]}x{gray.shape[0]}")
    return svr_score(brisque_features(gray))


def calculate_brisque(img: np.ndarray, crop_border: int = 0) -> float:
    """BRISQUE of one image (lower is better; about 0-100).

    Args:
        img: ``(H, W, 3)`` RGB ``uint8`` [0, 255] or float [0, 1] (scaled by 255); ``(H, W)`` is taken as luma.
            Converted with MATLAB ``rgb2gray`` on uint8 (rounded), as ``brisquescore.m`` does; this is the Y of
            YIQ, i.e. the "Y channel" of pyiqa's ``brisque``.
        crop_border: pixels removed from each side first.
    """
    return brisque_from_gray(rgb_to_gray(crop(to_float255(img), crop_border), round_to_uint8=True))
