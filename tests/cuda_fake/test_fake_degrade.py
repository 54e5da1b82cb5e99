"""Degradation on a fake GPU with CUDA generators (issue 26, finding 6)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import wildvsr.degrade.video as degrade_video_module
from wildvsr.degrade import Degrader, load_preset
from wildvsr.degrade.video import DegradeConfig, degrade_video

PRESETS = ["bicubic", "realesrgan", "realbasicvsr", "vcisr"]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_degrades_on_the_gpu_with_a_cuda_generator(fake_cuda, preset):
    degrader = Degrader(load_preset(preset))
    params = degrader.sample_params(2, 3, np.random.default_rng(1))
    gt = fake_cuda.fake(torch.rand(2, 3, 3, 32, 32))
    with fake_cuda.running():
        lq = degrader.apply(gt, params, torch.Generator(device="cuda").manual_seed(0))
    assert lq.device == torch.device("cuda", 0) and tuple(lq.shape) == (2, 3, 3, 8, 8)


def test_a_cpu_generator_for_gpu_work_fails_in_the_lane(fake_cuda):
    """The lane's own negative control: PyTorch's generator/device rule is enforced."""
    degrader = Degrader(load_preset("realesrgan"))
    params = degrader.sample_params(1, 2, np.random.default_rng(1))
    gt = fake_cuda.fake(torch.rand(1, 2, 3, 32, 32))
    with fake_cuda.running(), pytest.raises(RuntimeError, match="device type for generator"):
        degrader.apply(gt, params, torch.Generator().manual_seed(0))


def test_degrade_video_on_the_gpu_records_the_device_and_runs_full_fp32(fake_cuda, tiny_clip, tmp_path, monkeypatch):
    """Finding 6: the same seed gives other bytes on CUDA than on CPU, so the parameters JSON says where it ran; the
    blur/USM convolutions run without TF32 (cuDNN's default on Ampere and newer)."""
    seen: list[str] = []
    real_apply = Degrader.apply

    def apply(self, *args, **kwargs):
        seen.append(torch.backends.cudnn.conv.fp32_precision)
        return real_apply(self, *args, **kwargs)

    monkeypatch.setattr(Degrader, "apply", apply)
    monkeypatch.setattr(degrade_video_module, "to_tensor", lambda frames, device: fake_cuda.fake(
        torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255, device))
    with fake_cuda.running():
        degrade_video(tiny_clip, tmp_path / "lq", DegradeConfig(preset="bicubic", device="cuda", chunk_size=4),
                      params_out=tmp_path / "p.json")
    assert json.loads((tmp_path / "p.json").read_text())["device"] == "cuda:0"
    assert seen and set(seen) == {"ieee"}
    assert torch.backends.cudnn.conv.fp32_precision != "ieee"  # restored
