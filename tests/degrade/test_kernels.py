"""Blur kernels: normalisation, requested covariance/shape, sinc cut-off, and per-frame grouped filtering."""

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from wildvsr.degrade.kernels import (
    KERNEL_SIZES,
    KERNEL_TYPES,
    bivariate_gaussian,
    bivariate_generalized_gaussian,
    bivariate_plateau,
    circular_lowpass_kernel,
    filter2D,
    make_kernel,
    mesh_grid,
    random_mixed_kernels,
    sigma_matrix2,
)


@pytest.mark.parametrize("ktype", KERNEL_TYPES)
@pytest.mark.parametrize("size", KERNEL_SIZES)
def test_every_kernel_sums_to_one(ktype, size):
    k = make_kernel(ktype, size, sigma_x=1.7, sigma_y=0.6, rotation=0.7, beta=1.5, omega=1.2)
    assert k.shape == (size, size) and k.dtype == np.float32
    assert abs(float(k.sum()) - 1.0) < 1e-5


def _moments(k):
    grid = mesh_grid(k.shape[0])
    k = k.astype(np.float64)
    mean = np.einsum("ij,ijc->c", k, grid)
    d = grid - mean
    return mean, np.einsum("ij,ijc,ijd->cd", k, d, d)


@pytest.mark.parametrize("sx,sy,theta", [(2.0, 1.0, 0.5), (3.0, 0.5, -1.2), (1.2, 1.2, 0.0)])
def test_gaussian_empirical_covariance(sx, sy, theta):
    # a 21x21 window truncates the tails a little; use a window > 6 sigma for the measurement
    k = bivariate_gaussian(31, sx, sy, theta)
    mean, cov = _moments(k)
    want = sigma_matrix2(sx, sy, theta)
    assert np.allclose(mean, 0, atol=1e-6)
    assert np.allclose(cov, want, rtol=0.02, atol=0.01), (cov, want)


def test_isotropic_is_rotation_invariant_and_symmetric():
    k = make_kernel("iso", 21, sigma_x=2.0, sigma_y=0.3, rotation=1.0)  # iso ignores sigma_y/rotation
    assert np.allclose(k, k.T, atol=1e-7) and np.allclose(k, k[::-1], atol=1e-7)
    assert np.allclose(k, bivariate_gaussian(21, 2.0), atol=1e-7)


def test_generalized_and_plateau_shapes():
    g1 = bivariate_generalized_gaussian(21, 2.0, 1.0, 0.3, beta=1.0)
    assert np.allclose(g1, bivariate_gaussian(21, 2.0, 1.0, 0.3), atol=1e-7)  # beta = 1 is the Gaussian
    heavy = bivariate_generalized_gaussian(21, 2.0, 2.0, 0.0, beta=0.5)
    flat = bivariate_generalized_gaussian(21, 2.0, 2.0, 0.0, beta=4.0)
    c = 10
    # beta < 1: heavier tails; beta > 1: flatter top (neighbour of the centre almost as high as the centre)
    assert heavy[c, 0] / heavy[c, c] > g1[c, 0] / g1[c, c]
    assert flat[c, c + 1] / flat[c, c] > 0.99
    plat = bivariate_plateau(21, 2.0, 2.0, 0.0, beta=2.0)
    assert plat[c, c + 1] / plat[c, c] > 0.9 and plat[c, 0] / plat[c, c] < 0.05


@pytest.mark.parametrize("omega", [math.pi / 5, math.pi / 3, math.pi / 2, 2.0])
def test_sinc_frequency_response_cuts_off_at_omega(omega):
    k = circular_lowpass_kernel(omega, 21)
    n = 512
    resp = np.abs(np.fft.fft2(k, s=(n, n)))
    freqs = np.fft.fftfreq(n) * 2 * np.pi  # rad / pixel
    fy, fx = np.meshgrid(freqs, freqs, indexing="ij")
    r = np.sqrt(fx**2 + fy**2)
    # pass band well below the cut-off stays near 1; stop band well above it is near 0 (21-tap window: ripples)
    assert resp[r < 0.7 * omega].min() > 0.8
    assert resp[(r > 1.3 * omega) & (r < np.pi)].max() < 0.2
    # the half-amplitude radius along the x axis is the configured cut-off
    row = resp[0, : n // 2]
    half = freqs[: n // 2][np.argmax(row < 0.5)]
    assert abs(half - omega) < 0.08 * omega + 0.05, (half, omega)


def test_random_mixed_kernels_records_its_draw():
    rng = np.random.default_rng(3)
    k, p = random_mixed_kernels(rng, ["aniso"], [1.0], 15, (0.5, 2.0), (0.5, 2.0))
    assert k.shape == (15, 15) and abs(k.sum() - 1) < 1e-5
    assert 0.5 <= p["sigma_x"] <= 2.0 and p["kernel_type"] == "aniso"
    assert np.allclose(k, make_kernel("aniso", 15, sigma_x=p["sigma_x"], sigma_y=p["sigma_y"],
                                      rotation=p["rotation"]))


def test_filter2d_applies_each_frames_kernel_with_reflect101_border():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(2, 3, 3, 20, 24)).astype(np.float32)
    kernels = np.stack([[make_kernel("aniso", 7, sigma_x=0.5 + i + j, sigma_y=0.7, rotation=0.3 * j)
                         for j in range(3)] for i in range(2)])
    out = filter2D(torch.from_numpy(x), torch.from_numpy(kernels)).numpy()
    for i in range(2):
        for j in range(3):
            for c in range(3):
                want = ndimage.correlate(x[i, j, c], kernels[i, j], mode="mirror")  # mirror = reflect-101
                assert np.allclose(out[i, j, c], want, atol=1e-5)
    # a 4D input with one kernel per image
    out4 = filter2D(torch.from_numpy(x[:, 0]), torch.from_numpy(kernels[:, 0])).numpy()
    assert np.allclose(out4, out[:, 0], atol=1e-6)
