"""Per-frame models (Real-ESRGAN's RRDBNet, SRVGGNetCompact) in the Upscaler and ``upscale_video``: no temporal
overlap, batched frames, reflection pre-pad, tiling, precision guard and the stabilizer hook."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.frames import assert_frames_close, psnr
from helpers.media import read_frames, synthetic_frames
from wildvsr.errors import ConfigError
from wildvsr.inference import UpscaleConfig, Upscaler, upscale_video
from wildvsr.inference.runner import load_model
from wildvsr.inference.plan import PRE_PAD
from wildvsr.models import create_model
from wildvsr.models.rrdbnet import RRDBNet
from wildvsr.video import VideoWriter


def _tiny_rrdbnet(seed: int = 0) -> RRDBNet:
    """A 1-block RRDBNet whose output spans mid-grey +- ~0.1 (random init alone gives ~0: all black after clamping)."""
    torch.manual_seed(seed)
    model = RRDBNet(num_feat=8, num_block=1, num_grow_ch=4).eval()
    with torch.no_grad():
        model.conv_last.weight.mul_(10)
        model.conv_last.bias.fill_(0.5)
    return model


@pytest.fixture(scope="module")
def tiny():
    return _tiny_rrdbnet()


@pytest.fixture(scope="module")
def clip():
    return synthetic_frames(7, 20, 28, seed=5)


class AverageStabilizer:
    """Test-local stabilizer of the agreed shape: each output frame is averaged with the previous output frame."""

    def __init__(self) -> None:
        self.prev: torch.Tensor | None = None

    def reset(self) -> None:
        self.prev = None

    def __call__(self, lq: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
        assert lq.shape[0] == sr.shape[0] and sr.shape[-2:] == (4 * lq.shape[-2], 4 * lq.shape[-1])
        outs = []
        for frame in sr:
            if self.prev is not None:
                frame = 0.5 * frame + 0.5 * self.prev
            self.prev = frame
            outs.append(frame)
        return torch.stack(outs)


def _reference(model, frames: np.ndarray, pad: int = PRE_PAD) -> np.ndarray:
    """Independent per-frame reference: reflect pre-pad with torch, one frame at a time, crop, round."""
    outs = []
    for frame in frames:
        x = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            y = model(F.pad(x, (pad,) * 4, mode="reflect"))[:, :, 4 * pad: -4 * pad, 4 * pad: -4 * pad]
        outs.append((y.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy())
    return np.stack(outs)


def test_no_overlap_and_equal_for_any_chunk_size(tiny, clip):
    assert 40 < clip.std() and 20 < _reference(tiny, clip).std()  # outputs are not flat: equality means something
    ups = [Upscaler(tiny, "cpu", chunk_size=c, overlap=8) for c in (1, 3, 10)]
    assert all(u.overlap == 0 for u in ups)  # nothing is recomputed for a per-frame model
    outs = [u.upscale_frames(clip) for u in ups]
    for out in outs[1:]:  # 1, 3 or 10 frames per model call: same values up to a last-bit rounding flip
        assert_frames_close(out, outs[0])
    # batched frames equal one frame at a time (up to float rounding in the batched convs: at most 1 level)
    assert np.abs(outs[0].astype(int) - _reference(tiny, clip)).max() <= 1


def test_frames_run_in_batches(tiny, clip, monkeypatch):
    calls = []
    up = Upscaler(tiny, "cpu", chunk_size=5)
    original = up._guarded_call
    monkeypatch.setattr(up, "_guarded_call", lambda x: calls.append(tuple(x.shape)) or original(x))
    up.upscale_frames(clip)
    pad = 2 * PRE_PAD
    assert calls == [(5, 3, 20 + pad, 28 + pad), (2, 3, 20 + pad, 28 + pad)]  # a chunk's frames in one call


def test_tiled_close_to_whole(tiny):
    # Tiny model's receptive field is 17 input px; with 16 px of tile context the feathered seams stay above 40 dB.
    frames = synthetic_frames(2, 48, 56, seed=1)
    whole = Upscaler(tiny, "cpu", chunk_size=2).upscale_frames(frames)
    tiled = Upscaler(tiny, "cpu", chunk_size=2, tile=16, tile_overlap=16).upscale_frames(frames)
    assert tiled.shape == whole.shape and psnr(tiled, whole) > 40


def test_stabilizer_state_carries_across_chunks(tiny, clip):
    plain = Upscaler(tiny, "cpu", chunk_size=3).upscale_frames(clip)
    np.testing.assert_array_equal(Upscaler(tiny, "cpu", chunk_size=3, stabilizer=None).upscale_frames(clip), plain)
    whole = Upscaler(tiny, "cpu", chunk_size=10, stabilizer=AverageStabilizer()).upscale_frames(clip)
    chunked_up = Upscaler(tiny, "cpu", chunk_size=2, stabilizer=AverageStabilizer())
    chunked = chunked_up.upscale_frames(clip)
    assert_frames_close(chunked, whole)  # 2 vs 10 frames per model call: rounding may differ (assert_frames_close)
    np.testing.assert_array_equal(chunked_up.upscale_frames(clip), chunked)  # reset between videos: same shapes, exact
    assert_frames_close(whole[0], plain[0])  # 10 vs 3 frames per call
    assert psnr(whole[1:], plain[1:]) < 60  # it did change the later frames


def test_upscale_video_with_stabilizer_equals_in_memory(tiny, clip, tmp_path):
    src = tmp_path / "in"
    with VideoWriter(src) as writer:
        for frame in clip:
            writer.write(frame)
    out = upscale_video(src, tmp_path / "out", UpscaleConfig(device="cpu", chunk_size=3), model=tiny)
    got = read_frames(out)
    assert_frames_close(got, Upscaler(tiny, "cpu", chunk_size=7).upscale_frames(clip))  # 3 vs 7 frames per call


@pytest.mark.parametrize("chunk_size", [1, 3, 10])
def test_real_animevideov3_end_to_end(tmp_path, chunk_size):
    frames = synthetic_frames(3, 32, 32, seed=7)
    src = tmp_path / "in"
    with VideoWriter(src) as writer:
        for frame in frames:
            writer.write(frame)
    # fp32: "auto" is bf16 on CPUs with bf16 units, and the reference is fp32
    config = UpscaleConfig(model="srvgg.animevideov3", device="cpu", precision="fp32", chunk_size=chunk_size)
    out = upscale_video(src, tmp_path / "out", config)
    got = read_frames(out)
    assert got.shape == (3, 128, 128, 3)
    assert np.abs(got.astype(int) - _reference(create_model("srvgg.animevideov3"), frames)).max() <= 1


def test_bf16_close_and_nan_guard(tiny, clip, caplog):
    ref = Upscaler(tiny, "cpu", precision="fp32", chunk_size=7).upscale_frames(clip)  # auto may be bf16
    assert psnr(Upscaler(tiny, "cpu", precision="bf16", chunk_size=7).upscale_frames(clip), ref) > 35
    huge = _tiny_rrdbnet(seed=1)
    with torch.no_grad():
        huge.conv_first.weight.mul_(1e5)  # features beyond fp16's 65504: a real overflow under CPU autocast
        huge.conv_last.weight.mul_(1e-9)
    with caplog.at_level(logging.WARNING, logger="wildvsr.inference.upscaler"):
        out = Upscaler(huge, "cpu", precision="fp16", chunk_size=7).upscale_frames(clip)
    assert "recomputed it in fp32" in caplog.text
    # the fp32 recompute runs channels-last (the reduced-precision Upscaler's layout), the reference NCHW
    assert_frames_close(out, Upscaler(huge, "cpu", precision="fp32", chunk_size=7).upscale_frames(clip))


def test_refine_threshold_still_rejected_for_per_frame_models():
    with pytest.raises(ConfigError, match="--refine-threshold applies to realbasicvsr"):
        load_model(UpscaleConfig(model="rrdbnet.x4plus", refine_threshold=2.0))
