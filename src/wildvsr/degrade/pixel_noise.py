"""Additive Gaussian and Poisson noise, colour or gray, on ``(N, T, C, H, W)`` float tensors in [0, 1].

Naming follows BasicSR: ``generate_*`` returns the noise, ``add_*`` returns the noisy image, ``random_add_*`` also
draws the level. Levels are per frame (``(N, T)`` tensors or anything broadcastable to that), so a random walk over
the frames is just a different level per frame. Pixel noise comes from an explicit ``torch.Generator`` on ``x``'s
device. (Named ``pixel_noise`` because ``noise*.py`` belongs to the NegVSR noise-sequence code.)
"""

from __future__ import annotations

import numpy as np
import torch

# ITU-R BT.601 luma weights (cv2.cvtColor RGB2GRAY), used for the gray Poisson variant
_GRAY = (0.299, 0.587, 0.114)


def _per_frame(v: torch.Tensor | float | np.ndarray, x: torch.Tensor) -> torch.Tensor:
    """Level(s) as a tensor broadcastable over ``x`` ``(N, T, C, H, W)``: scalar, (N,), (N, T)."""
    t = torch.as_tensor(np.asarray(v, dtype=np.float32) if not torch.is_tensor(v) else v,
                        dtype=x.dtype, device=x.device)
    while t.dim() < 2:
        t = t.unsqueeze(-1)
    return t.reshape(*t.shape[:2], 1, 1, 1)


def _gray_mask(gray, x: torch.Tensor) -> torch.Tensor:
    """Per-frame gray flags as an ``(N, T)`` bool tensor on ``x``'s device."""
    n, t = x.shape[:2]
    return _per_frame(gray, x).reshape(-1, _per_frame(gray, x).shape[1]).expand(n, t).bool()


def _by_gray(x: torch.Tensor, gray, colour_fn, gray_fn) -> torch.Tensor:
    """Noise for colour frames from ``colour_fn(frames)`` and for gray frames from ``gray_fn(frames)`` (k, 1, H, W)."""
    mask = _gray_mask(gray, x)
    noise = torch.empty_like(x)
    if (~mask).any():
        noise[~mask] = colour_fn(x[~mask])
    if mask.any():
        noise[mask] = gray_fn(x[mask]).expand(-1, x.shape[2], -1, -1)
    return noise


def generate_gaussian_noise(x: torch.Tensor, sigma, gray: torch.Tensor | bool | np.ndarray = False,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """Gaussian noise N(0, sigma^2) of ``x``'s shape ``(N, T, C, H, W)``.

    Args:
        sigma: std in [0, 1] units (BasicSR ranges are in /255: pass ``s / 255``), scalar, ``(N,)`` or ``(N, T)``.
        gray: per clip/frame flag (same broadcasting): one noise plane shared by all channels.
    """
    def colour(f: torch.Tensor) -> torch.Tensor:
        return torch.randn(f.shape, generator=generator, device=f.device, dtype=f.dtype)

    def plane(f: torch.Tensor) -> torch.Tensor:
        return torch.randn((f.shape[0], 1, *f.shape[2:]), generator=generator, device=f.device, dtype=f.dtype)

    return _by_gray(x, gray, colour, plane) * _per_frame(sigma, x)


def add_gaussian_noise(x: torch.Tensor, sigma, gray=False, generator: torch.Generator | None = None,
                       clip: bool = False) -> torch.Tensor:
    """``x + N(0, sigma^2)``; ``clip`` clamps to [0, 1] (Real-ESRGAN does, RealBasicVSR leaves it to later steps)."""
    out = x + generate_gaussian_noise(x, sigma, gray, generator)
    return out.clamp(0, 1) if clip else out


def _levels(img8: torch.Tensor) -> torch.Tensor:
    """``2 ** ceil(log2(#distinct values))`` per image of a ``(K, C', H, W)`` tensor on the 0..255/255 grid."""
    k = img8.shape[0]
    idx = (img8 * 255).round().long().reshape(k, -1)
    present = torch.zeros((k, 256), dtype=torch.bool, device=img8.device).scatter_(1, idx, True)  # O(pixels)
    counts = present.sum(1).to(img8.dtype)
    return torch.exp2(torch.ceil(torch.log2(counts))).reshape(k, 1, 1, 1)


def generate_poisson_noise(x: torch.Tensor, scale, gray=False,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """Poisson (shot) noise as BasicSR/MMEditing: ``scale * (Poisson(img * v) / v - img)``.

    The image is first rounded to 8-bit levels; ``v = 2 ** ceil(log2(#distinct levels))`` per frame, so the noise
    std at intensity ``I`` is ``scale * sqrt(I / v)``. The gray variant computes it on the BT.601 luma and shares it
    across channels.

    Args:
        x: ``(N, T, C, H, W)`` float.
        scale: scalar, ``(N,)`` or ``(N, T)``.
        gray: per clip/frame flag.
    """
    def shot(img: torch.Tensor) -> torch.Tensor:
        img = torch.clamp((img * 255.0).round(), 0, 255) / 255.0
        v = _levels(img)
        return torch.poisson(img * v, generator=generator) / v - img

    def luma_shot(f: torch.Tensor) -> torch.Tensor:
        if f.shape[1] != 3:
            return shot(f[:, :1])
        weights = torch.tensor(_GRAY, dtype=f.dtype, device=f.device).view(1, 3, 1, 1)
        return shot((f * weights).sum(1, keepdim=True))

    return _by_gray(x, gray, shot, luma_shot) * _per_frame(scale, x)


def add_poisson_noise(x: torch.Tensor, scale, gray=False, generator: torch.Generator | None = None,
                      clip: bool = False) -> torch.Tensor:
    """``x + generate_poisson_noise(...)``; ``clip`` clamps to [0, 1]."""
    out = x + generate_poisson_noise(x, scale, gray, generator)
    return out.clamp(0, 1) if clip else out


def random_add_gaussian_noise(x: torch.Tensor, rng: np.random.Generator, generator: torch.Generator | None = None,
                              sigma_range=(1.0, 30.0), gray_prob: float = 0.4, clip: bool = False) -> torch.Tensor:
    """Gaussian noise with one ``sigma ~ U(sigma_range) / 255`` and gray flag per clip (``(N, T, C, H, W)``)."""
    n = x.shape[0]
    sigma = rng.uniform(*sigma_range, size=n) / 255.0
    gray = rng.uniform(size=n) < gray_prob
    return add_gaussian_noise(x, sigma, gray, generator, clip)


def random_add_poisson_noise(x: torch.Tensor, rng: np.random.Generator, generator: torch.Generator | None = None,
                             scale_range=(0.05, 3.0), gray_prob: float = 0.4, clip: bool = False) -> torch.Tensor:
    """Poisson noise with one ``scale ~ U(scale_range)`` and gray flag per clip."""
    n = x.shape[0]
    scale = rng.uniform(*scale_range, size=n)
    gray = rng.uniform(size=n) < gray_prob
    return add_poisson_noise(x, scale, gray, generator, clip)
