"""Resize sizes, USM, noise levels, JPEG monotonicity."""

import itertools

import numpy as np
import pytest
import torch

from wildvsr.degrade.jpeg import add_jpg_compression, jpeg_roundtrip
from wildvsr.degrade.pixel_noise import add_gaussian_noise, add_poisson_noise, generate_gaussian_noise
from wildvsr.degrade.resize import INTERPOLATIONS, resize, usm_sharp


def _texture(n=1, t=2, h=64, w=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, t, 3, h // 4, w // 4, generator=g)
    return resize(base, size=(h, w), mode="bicubic").clamp(0, 1)


@pytest.mark.parametrize("mode", INTERPOLATIONS)
@pytest.mark.parametrize("size", [(16, 16), (31, 17), (128, 96), (7, 200)])
def test_resize_output_sizes(mode, size):
    x = torch.rand(2, 3, 3, 40, 50)
    assert resize(x, size=size, mode=mode).shape == (2, 3, 3, *size)
    assert resize(x[:, 0], size=size, mode=mode).shape == (2, 3, *size)


def test_resize_by_scale_floors_like_cv2_and_interpolate():
    x = torch.rand(1, 1, 3, 45, 61)
    assert resize(x, scale=0.25).shape[-2:] == (11, 15)
    assert resize(x, scale=1.5, mode="area").shape[-2:] == (67, 91)


def test_area_downscale_is_block_mean_and_antialias_matters():
    x = torch.rand(1, 1, 3, 64, 64)
    a = resize(x, size=(16, 16), mode="area")
    want = x.reshape(1, 1, 3, 16, 4, 16, 4).mean((4, 6))
    assert torch.allclose(a, want, atol=1e-6)
    # fine stripes (0.4 cycles/pixel) alias without antialiasing and average to grey with it
    stripes = (0.5 + 0.5 * torch.cos(2 * torch.pi * 0.4 * torch.arange(64).float())).expand(1, 1, 3, 64, 64)
    assert resize(stripes, size=(16, 16), mode="bicubic", antialias=True).std() < 0.02
    assert resize(stripes, size=(16, 16), mode="bicubic").std() > 0.1


def test_usm_sharpens_edges_and_keeps_flat_areas():
    x = torch.full((1, 1, 3, 80, 80), 0.3)
    x[..., 40:] = 0.7
    y = usm_sharp(x)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    assert torch.allclose(y[..., :, :10], x[..., :, :10], atol=1e-6)  # far from the edge: unchanged
    assert y[..., 39].mean() < 0.3 - 0.01 and y[..., 40].mean() > 0.7 + 0.01  # overshoot at the edge


@pytest.mark.parametrize("sigma255", [2.0, 10.0, 30.0])
def test_gaussian_noise_std_within_5_percent(sigma255):
    x = torch.full((2, 3, 3, 96, 96), 0.5)
    g = torch.Generator().manual_seed(1)
    noise = add_gaussian_noise(x, sigma255 / 255, False, g) - x
    assert abs(noise.std().item() / (sigma255 / 255) - 1) < 0.05
    # per-frame levels: (N, T) sigmas
    sig = torch.tensor([[5.0, 20.0, 10.0], [1.0, 3.0, 30.0]]) / 255
    n2 = generate_gaussian_noise(x, sig, False, g)
    measured = n2.std(dim=(2, 3, 4))
    assert torch.all((measured / sig - 1).abs() < 0.05)


def test_gray_noise_is_shared_across_channels():
    x = torch.full((1, 2, 3, 32, 32), 0.5)
    g = torch.Generator().manual_seed(0)
    n = generate_gaussian_noise(x, 0.1, torch.tensor([[True, False]]), g)
    assert torch.equal(n[0, 0, 0], n[0, 0, 1]) and torch.equal(n[0, 0, 0], n[0, 0, 2])
    assert not torch.equal(n[0, 1, 0], n[0, 1, 1])


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_poisson_noise_std_matches_shot_noise_model(scale):
    # 256 distinct 8-bit levels -> v = 256, so the std at intensity I is scale * sqrt(I / 256)
    levels = (torch.arange(256).float() / 255).repeat(64)  # every level 64 times per row block
    x = levels.reshape(1, 1, 1, 128, 128).expand(1, 2, 3, 128, 128).contiguous()
    g = torch.Generator().manual_seed(2)
    noise = add_poisson_noise(x, scale, False, g) - x
    want = scale * torch.sqrt(x / 256).pow(2).mean().sqrt()
    assert abs(noise.std().item() / want.item() - 1) < 0.05


def test_jpeg_decodes_and_error_grows_as_quality_drops():
    x = _texture(1, 2, 64, 64)
    errors = []
    for q in (95, 80, 60, 40, 20, 5):
        y = add_jpg_compression(x, q)
        assert y.shape == x.shape
        errors.append((y - x).abs().mean().item())
    assert all(a < b for a, b in itertools.pairwise(errors)), errors
    # per-frame qualities are honoured: the same frame at q=10 and q=90
    both = add_jpg_compression(torch.cat([x[:, :1], x[:, :1]], 1), np.array([[10, 90]]))
    assert torch.equal(both[:, 0], add_jpg_compression(x[:, :1], 10)[:, 0])
    assert torch.equal(both[:, 1], add_jpg_compression(x[:, :1], 90)[:, 0])


def test_jpeg_roundtrip_is_libjpeg():
    img = (np.random.default_rng(0).uniform(size=(32, 40, 3)) * 255).astype(np.uint8)
    out = jpeg_roundtrip(img, 50)
    assert out.shape == img.shape and out.dtype == np.uint8 and not np.array_equal(out, img)
