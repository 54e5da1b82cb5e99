"""PSNR/SSIM semantics, MATLAB imresize, the NSS fits, NIQE/BRISQUE input handling and the registry."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.media import synthetic_frames
from wildvsr.errors import InputError, MissingDependencyError, UnknownModelError
from wildvsr.metrics import (calculate_brisque, calculate_niqe, calculate_psnr, calculate_ssim, create_metric,
                             describe_metrics, list_metrics, metric_info)
from wildvsr.metrics.imresize import imresize
from wildvsr.metrics.nss import fit_aggd, fit_ggd


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(1)
    ref = synthetic_frames(1, 64, 80, seed=3)[0]
    noisy = np.clip(ref.astype(np.int16) + rng.integers(-8, 9, ref.shape), 0, 255).astype(np.uint8)
    return noisy, ref


def test_psnr_definition(pair):
    img, ref = pair
    mse = np.mean((img.astype(np.float64) - ref) ** 2)
    assert calculate_psnr(img, ref) == pytest.approx(10 * np.log10(255 ** 2 / mse), abs=1e-10)
    assert calculate_psnr(ref, ref) == float("inf")
    # float [0, 1] input gives the same value as uint8
    assert calculate_psnr(img / 255.0, ref / 255.0) == pytest.approx(calculate_psnr(img, ref), abs=1e-9)


def test_psnr_y_and_crop(pair):
    img, ref = pair
    y = lambda a: a.astype(np.float64) @ (np.array([65.481, 128.553, 24.966]) / 255) + 16  # noqa: E731
    cy, cr = y(img)[4:-4, 4:-4], y(ref)[4:-4, 4:-4]
    expected = 10 * np.log10(255 ** 2 / np.mean((cy - cr) ** 2))
    assert calculate_psnr(img, ref, crop_border=4, test_y_channel=True) == pytest.approx(expected, abs=1e-10)
    assert create_metric("psnr_y", crop_border=4)(img, ref) == pytest.approx(expected, abs=1e-10)


def test_ssim_properties(pair):
    img, ref = pair
    assert calculate_ssim(ref, ref) == pytest.approx(1.0, abs=1e-12)
    rgb = calculate_ssim(img, ref)
    per_channel = [calculate_ssim(img[..., c], ref[..., c]) for c in range(3)]
    assert rgb == pytest.approx(np.mean(per_channel), abs=1e-12) and 0 < rgb < 1
    assert calculate_ssim(img, ref, test_y_channel=True) != rgb
    worse = np.clip(img.astype(np.int16) * 2 - ref, 0, 255).astype(np.uint8)
    assert calculate_ssim(worse, ref) < rgb


def test_full_reference_errors(pair):
    img, ref = pair
    with pytest.raises(InputError):
        calculate_psnr(img[:32], ref)
    with pytest.raises(InputError):
        calculate_ssim(img, ref, crop_border=40)
    with pytest.raises(InputError):
        calculate_psnr(img.astype(np.int32), ref)
    with pytest.raises(InputError):
        create_metric("psnr")(img)  # needs a reference
    with pytest.raises(InputError):
        create_metric("niqe")(img, ref)  # no-reference


def test_imresize_matches_matlab_semantics():
    assert imresize(np.full((10, 14), 7.0), 0.5) == pytest.approx(np.full((5, 7), 7.0))
    assert imresize(np.zeros((9, 11)), 0.5).shape == (5, 6)  # ceil, as MATLAB
    # A linear ramp stays linear away from the mirrored borders; antialiasing averages pairs: out[i] = 2 i + 0.5
    ramp = np.tile(np.arange(32, dtype=np.float64), (4, 1))
    out = imresize(ramp, 0.5)[0]
    assert out[3:-3] == pytest.approx(2 * np.arange(16)[3:-3] + 0.5, abs=1e-12)
    # MATLAB's kernel is the antialiased a=-0.5 cubic stretched to 8 taps: the weights of an interior output pixel
    x = np.zeros(40)
    x[20] = 1.0
    taps = imresize(x[None, :], 0.5)[0]
    u = np.arange(1, 21) / 0.5 + 0.5 * (1 - 2)  # centres in input coordinates (1-based)
    d = (u - 21) * 0.5
    cubic = np.where(np.abs(d) <= 1, 1.5 * np.abs(d) ** 3 - 2.5 * d ** 2 + 1,
                     np.where(np.abs(d) <= 2, -0.5 * np.abs(d) ** 3 + 2.5 * d ** 2 - 4 * np.abs(d) + 2, 0))
    assert taps[5:15] == pytest.approx(0.5 * cubic[5:15], abs=1e-12)


def test_aggd_and_ggd_fits_recover_gaussian_shape():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 2.0, size=(3, 200_000))
    shape, std = fit_ggd(x)
    assert shape == pytest.approx(2.0, abs=0.03) and std == pytest.approx(2.0, rel=0.01)
    alpha, left, right = fit_aggd(x)
    assert alpha == pytest.approx(2.0, abs=0.05) and left == pytest.approx(2.0, rel=0.01)
    lap = rng.laplace(0, 1.0, size=(1, 200_000))
    assert fit_ggd(lap)[0][0] == pytest.approx(1.0, abs=0.03)


def _pink_noise_image(size: int, rng: np.random.Generator) -> np.ndarray:
    """A grey 1/f-spectrum image, (size, size, 3) uint8: natural-scene-like statistics without any data file."""
    f = np.fft.fftfreq(size)
    radius = np.hypot(f[:, None], f[None, :])
    radius[0, 0] = 1.0
    img = np.real(np.fft.ifft2((rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) / radius))
    img = (img - img.mean()) / img.std() * 50 + 128
    return np.repeat(np.clip(img, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def test_niqe_brisque_inputs_and_direction():
    rng = np.random.default_rng(0)
    clean = _pink_noise_image(192, rng)
    noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    assert calculate_niqe(noisy) > calculate_niqe(clean)
    assert calculate_brisque(noisy) > calculate_brisque(clean)
    assert calculate_niqe(clean / 255.0) == pytest.approx(calculate_niqe(clean), abs=1e-9)
    with pytest.raises(InputError):
        calculate_niqe(clean[:90])  # smaller than one 96x96 block
    with pytest.raises(InputError):
        calculate_niqe(clean, convert="lab")


def test_registry():
    names = list_metrics()
    for core in ("niqe", "brisque", "psnr", "psnr_y", "ssim", "ssim_y", "warping_error"):
        assert core in names and metric_info(core).available
    assert metric_info("niqe").lower_better and not metric_info("psnr").lower_better
    assert metric_info("ssim_y").needs_reference and not metric_info("brisque").needs_reference
    assert create_metric("ssim", test_y_channel=True, color_space="yiq").info.color_space.startswith("Y of YIQ")
    assert create_metric("psnr", crop_border=4).info.crop_border == 4
    assert {i.name for i in describe_metrics()} == set(names)
    with pytest.raises(UnknownModelError):
        create_metric("lpipz")


def test_unavailable_optional_metric_raises_one_line():
    info = metric_info("musiq")
    if info.available:
        pytest.skip("pyiqa and its MUSIQ weights are installed here")
    with pytest.raises(MissingDependencyError) as err:
        create_metric("musiq")
    assert "\n" not in str(err.value) and info.availability in str(err.value)
