"""Upscaler on a tiny bidirectional recurrent stand-in model: chunking, tiling, scale, precision guard, errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from helpers.frames import psnr
from helpers.media import synthetic_frames
from helpers.models import TinyBiRecurrent
from wildvsr.errors import DeviceError, InputError
from wildvsr.inference import Upscaler
from wildvsr.inference.tiling import iter_tiles
from wildvsr.inference.upscaler import pad_input
from wildvsr.models import ModelSpec


@pytest.fixture(scope="module")
def frames():
    return synthetic_frames(20, 24, 32, seed=3)


def whole(model, frames):
    return Upscaler(model, "cpu", chunk_size=len(frames), overlap=0, check_memory=False).upscale_frames(frames)


def test_output_shape_and_dtype(frames):
    out = Upscaler(TinyBiRecurrent(), "cpu", chunk_size=6, overlap=2).upscale_frames(frames)
    assert out.shape == (20, 96, 128, 3) and out.dtype == np.uint8


def test_chunking_with_full_context_equals_whole_sequence(frames):
    """With overlap >= the clip length every chunk sees the whole clip: bit-identical to one pass."""
    model = TinyBiRecurrent()
    ref = whole(model, frames)
    out = Upscaler(model, "cpu", chunk_size=4, overlap=20).upscale_frames(frames)
    np.testing.assert_array_equal(out, ref)


def test_more_overlap_is_closer_to_whole_sequence(frames):
    model = TinyBiRecurrent()
    ref = whole(model, frames)
    scores = [psnr(Upscaler(model, "cpu", chunk_size=5, overlap=o).upscale_frames(frames), ref) for o in (0, 2, 8)]
    assert scores[0] < scores[1] < scores[2], scores
    assert scores[0] < 45  # the stand-in's recurrence really carries information across chunk borders


def test_progress_counts_every_frame(frames):
    seen = []
    Upscaler(TinyBiRecurrent(), "cpu", chunk_size=6, overlap=1).upscale_frames(frames, progress=seen.append)
    assert seen == [6, 6, 6, 2]


def test_tiled_matches_untiled():
    model = TinyBiRecurrent()
    clip = synthetic_frames(6, 40, 56, seed=1)
    ref = Upscaler(model, "cpu", chunk_size=6, overlap=0).upscale_frames(clip)
    tiled = Upscaler(model, "cpu", chunk_size=6, overlap=0, tile=16, tile_overlap=8).upscale_frames(clip)
    assert psnr(tiled, ref) >= 40
    # Without context/blending the tile borders show: the feathered version must be much closer.
    hard = Upscaler(model, "cpu", chunk_size=6, overlap=0, tile=16, tile_overlap=0).upscale_frames(clip)
    assert psnr(tiled, ref) > psnr(hard, ref) + 5


@pytest.mark.parametrize("scale", [2, 3])
def test_output_scale_resizes_the_x4_output(frames, scale):
    out = Upscaler(TinyBiRecurrent(), "cpu", chunk_size=20, overlap=0, scale=scale).upscale_frames(frames[:3])
    assert out.shape == (3, 24 * scale, 32 * scale, 3)
    x4 = Upscaler(TinyBiRecurrent(), "cpu", chunk_size=20, overlap=0).upscale_frames(frames[:3])
    small = torch.nn.functional.interpolate(torch.from_numpy(x4).permute(0, 3, 1, 2).float(),
                                            size=out.shape[1:3], mode="area")
    assert psnr(out, small.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()) > 30


def test_fp16_overflow_falls_back_to_fp32(frames, caplog):
    """A model whose activations overflow fp16 (real overflow under CPU autocast) is recomputed in fp32."""
    model = TinyBiRecurrent(gain=1e6)  # fusion outputs beyond fp16's 65504 before the x0.1 residual scale
    clip = frames[:4]
    # the fp32 recompute runs in the Upscaler's memory format (channels-last for reduced precision): same reference
    ref = Upscaler(model, "cpu", precision="fp32", channels_last=True, chunk_size=4, overlap=0).upscale_frames(clip)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.float16):  # the overflow is real
        raw = model(torch.from_numpy(clip).permute(0, 3, 1, 2)[None].float() / 255)
    assert not torch.isfinite(raw).all()
    with caplog.at_level(logging.WARNING, logger="wildvsr.inference.upscaler"):
        out = Upscaler(model, "cpu", precision="fp16", chunk_size=4, overlap=0).upscale_frames(clip)
    assert "recomputed it in fp32" in caplog.text
    np.testing.assert_array_equal(out, ref)


def test_bf16_on_cpu_is_close_to_fp32():
    clip = synthetic_frames(3, 16, 16, seed=2)
    model = TinyBiRecurrent()
    ref = Upscaler(model, "cpu", chunk_size=3, overlap=0).upscale_frames(clip)
    out = Upscaler(model, "cpu", precision="bf16", chunk_size=3, overlap=0).upscale_frames(clip)
    assert psnr(out, ref) > 35


def test_frame_too_large_for_memory_is_a_device_error_with_tile_hint():
    """A window whose estimated memory exceeds the free memory is refused before the model runs."""
    model = TinyBiRecurrent()
    model.spec = ModelSpec(config={"mid_channels": 64})  # estimate as for a BasicVSR-sized model
    up = Upscaler(model, "cpu", chunk_size=24, overlap=8)
    with pytest.raises(DeviceError, match=r"--tile \d+"):
        up._check_fits(40, 8000, 8000)  # 40 frames of 8000x8000 need far more than this machine has
    up._check_fits(4, 16, 16)  # small ones pass


def test_bad_frames_are_input_errors():
    up = Upscaler(TinyBiRecurrent(), "cpu")
    with pytest.raises(InputError):
        up.upscale_frames(np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(InputError):
        up.upscale_frames(np.zeros((0, 8, 8, 3), np.uint8))
    with pytest.raises(InputError):
        up.upscale_frames(np.zeros((2, 8, 8, 3), np.float32))


def test_pad_input_reflect_and_replicate():
    x = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(1, 2, 3, 5, 7)
    y, h, w = pad_input(x, multiple=4)
    assert y.shape == (1, 2, 3, 8, 8) and (h, w) == (5, 7)
    assert torch.equal(y[..., :5, :7], x)
    z, _, _ = pad_input(x, min_size=16)  # pad larger than the frame: replicate
    assert z.shape[-2:] == (16, 16) and torch.equal(z[..., :5, :7], x)


def test_single_frame_input():
    out = Upscaler(TinyBiRecurrent(), "cpu").upscale_frames(synthetic_frames(1, 12, 12))
    assert out.shape == (1, 48, 48, 3)
    assert len(list(iter_tiles(12, 12, None))) == 1
