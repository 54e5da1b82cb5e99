"""SPyNet with the official weights recovers a known sub-pixel shift of a smooth synthetic texture."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wildvsr.models import create_model

SHIFT = (2.0, -1.5)  # (dx, dy) pixels


def shifted_texture(h: int, w: int, dx: float, dy: float, seed: int = 0, sigma: float = 1.5) -> torch.Tensor:
    """Periodic band-limited noise texture ``(1, 3, H, W)`` in [0, 1], shifted exactly by ``(dx, dy)`` (Fourier phase).

    ``out(x, y) = tex(x - dx, y - dy)``: the content moves by ``+(dx, dy)``.
    """
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    spectrum = np.fft.fft2(rng.standard_normal((3, h, w)))
    spectrum *= np.exp(-2 * (math.pi * sigma) ** 2 * (fx ** 2 + fy ** 2))  # Gaussian low-pass: smooth texture
    spectrum *= np.exp(-2j * math.pi * (fx * dx + fy * dy))  # exact sub-pixel translation
    img = np.fft.ifft2(spectrum).real
    img = (img - img.mean()) / img.std() * 0.18 + 0.5
    return torch.from_numpy(img).float().clamp(0, 1)[None]


@pytest.fixture(scope="module")
def spynet():
    return create_model("spynet", weights="reds4")


@pytest.mark.parametrize("size", [(96, 96), (100, 90)])  # a multiple of 32, and one SPyNet must resize
def test_spynet_recovers_subpixel_shift(spynet, size):
    h, w = size
    ref = shifted_texture(h, w, 0.0, 0.0)
    supp = shifted_texture(h, w, *SHIFT)
    with torch.no_grad():
        flow = spynet(ref, supp)[0]  # (2, H, W): supp(p + flow) = ref(p)
    centre = flow[:, 16:-16, 16:-16]
    epe = torch.sqrt((centre[0] - SHIFT[0]) ** 2 + (centre[1] - SHIFT[1]) ** 2)
    # measured (torch 2.13 CPU): mean end-point error 0.014 px (96x96) and 0.020 px (100x90); max 0.037 / 0.046 px
    assert abs(centre[0].mean().item() - SHIFT[0]) < 0.1
    assert abs(centre[1].mean().item() - SHIFT[1]) < 0.1
    assert epe.max().item() < 0.1, f"max end-point error {epe.max().item():.3f} px"


def test_spynet_zero_flow_for_identical_images(spynet):
    img = shifted_texture(64, 64, 0.0, 0.0, seed=1)
    with torch.no_grad():
        flow = spynet(img, img)
    assert flow.abs().mean().item() < 0.05
