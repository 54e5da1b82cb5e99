"""The trainer on the tiny recipe: loss falls, exact resume, cleaning loss target, device placement, export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from helpers.train import tiny_config

from wildvsr.errors import OutputExistsError
from wildvsr.train.degradation import TrainingDegradation
from wildvsr.train.distributed import DistInfo
from wildvsr.train.export import export_checkpoint
from wildvsr.train.losses import area_downsample
from wildvsr.train.trainer import Trainer

CPU = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.net_g.state_dict().items()}


def test_tiny_recipe_loss_falls(clip_dir, tmp_path):
    # fixed data: the same 2 samples (crop, flips, degradation parameters) every step
    cfg = tiny_config(clip_dir, "data.num_samples=2", "train.max_steps=40")
    trainer = Trainer(cfg, tmp_path / "run", dist_info=CPU)
    summary = trainer.fit()
    losses = summary["losses"]
    assert len(losses) == 40 and summary["step"] == 40
    first, last = float(np.mean(losses[:5])), float(np.mean(losses[-5:]))
    print(f"tiny recipe: loss first5 {first:.4f} last5 {last:.4f}; {summary['it_s']:.2f} it/s; "
          f"data wait {100 * summary['data_wait']:.1f}%")
    assert last < 0.7 * first
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss/pix" in r] == [5, 10, 15, 20, 25, 30, 35, 40]
    assert {"it_s", "data_wait", "lr", "loss/clean"} <= set(records[0])
    assert (tmp_path / "run" / "checkpoints" / "step_00000040.pt").is_file()
    assert (tmp_path / "run" / "config.yaml").is_file()


def test_resume_equals_uninterrupted(clip_dir, tmp_path):
    overrides = ("train.deterministic=true", "train.checkpoint_every=5", "data.batch_size=1")
    full = Trainer(tiny_config(clip_dir, *overrides, "train.max_steps=10"), tmp_path / "full", dist_info=CPU)
    full.fit()
    first = Trainer(tiny_config(clip_dir, *overrides, "train.max_steps=5"), tmp_path / "split", dist_info=CPU)
    first.fit()
    with pytest.raises(OutputExistsError):  # a run folder with checkpoints needs --resume
        Trainer(tiny_config(clip_dir, *overrides, "train.max_steps=10"), tmp_path / "split", dist_info=CPU)
    second = Trainer(tiny_config(clip_dir, *overrides, "train.max_steps=10"), tmp_path / "split", resume=True,
                     dist_info=CPU)
    assert second.step == 5
    second.fit()
    a, b = _weights(full), _weights(second)
    assert a.keys() == b.keys()
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    assert worst <= 1e-6
    ema_a, ema_b = full.ema.state_dict(), second.ema.state_dict()
    assert max((ema_a[k].float() - ema_b[k].float()).abs().max().item() for k in ema_a) <= 1e-6


class ControlledCleaning(nn.Module):
    """Cleaning output fixed at 0.25 everywhere; SR output = bicubic x4 of the input times a learnable gain."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(()))

    def forward(self, lqs: torch.Tensor, return_lqs: bool = False):
        b, t, c, h, w = lqs.shape
        out = F.interpolate(lqs.flatten(0, 1), scale_factor=4, mode="bicubic").view(b, t, c, 4 * h, 4 * w) * self.gain
        cleaned = torch.full_like(lqs, 0.25) + 0 * self.gain
        return (out, cleaned) if return_lqs else out


class RecordingDegradation(TrainingDegradation):
    """The real training degradation, recording the device of every batch its tensor stage receives."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.devices: list[torch.device] = []

    def _apply(self, gt, params, generator):
        self.devices.append(gt.device)
        lq = super()._apply(gt, params, generator)
        assert lq.device == gt.device
        return lq


def test_cleaning_loss_targets_area_downsampled_sharpened_gt(clip_dir, tmp_path):
    cfg = tiny_config(clip_dir, "loss.pixel.weight=0", "train.ema_decay=0")
    trainer = Trainer(cfg, tmp_path / "run", dist_info=CPU, net_g=ControlledCleaning())
    batch = next(iter(trainer.make_loader(0, 1)))
    gen = torch.Generator().manual_seed(0)
    data = trainer.prepare_batch(batch, gen)
    assert not torch.equal(data["gt_usm"], data["gt"])  # USM on: the two GTs differ
    logs = trainer.train_step(data, gen, np.random.default_rng(0))
    expected = (0.25 - area_downsample(data["gt_usm"], 4)).abs().mean()
    assert logs["loss/clean"].item() == pytest.approx(expected.item(), rel=1e-6)
    wrong = (0.25 - area_downsample(data["gt"], 4)).abs().mean()
    assert abs(wrong.item() - expected.item()) > 1e-6  # the test can tell the two GTs apart


def _placement_run(clip_dir, tmp_path, device: str) -> RecordingDegradation:
    cfg = tiny_config(clip_dir, f"train.device={device}", "train.max_steps=2", "train.amp=auto")
    info = DistInfo(0, 1, 0, torch.device(device))
    degradation = RecordingDegradation(cfg.degradation, cfg.data.scale)
    trainer = Trainer(cfg, tmp_path / device, dist_info=info, degradation=degradation)
    trainer.fit()
    assert degradation.devices and all(d == trainer.device for d in degradation.devices)
    return degradation


def test_degradation_tensor_stage_runs_on_trainer_device_cpu(clip_dir, tmp_path):
    _placement_run(clip_dir, tmp_path, "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_degradation_tensor_stage_runs_on_gpu(clip_dir, tmp_path):
    degradation = _placement_run(clip_dir, tmp_path, "cuda")
    assert all(d.type == "cuda" for d in degradation.devices)


def test_export_gives_upscale_loadable_weights(clip_dir, tmp_path):
    from wildvsr.models import create_model, from_pretrained

    cfg = tiny_config(clip_dir, "train.max_steps=2")
    trainer = Trainer(cfg, tmp_path / "run", dist_info=CPU)
    ckpt = trainer.fit()["checkpoint"]
    out = export_checkpoint(ckpt, tmp_path / "tiny.safetensors", ema=True)
    model = from_pretrained(out)
    again = create_model("realbasicvsr", weights=str(out))
    for k, v in trainer.ema.state_dict().items():
        assert torch.equal(model.state_dict()[k], v) and torch.equal(again.state_dict()[k], v)
    half = export_checkpoint(tmp_path / "run", tmp_path / "half.safetensors", half=True)
    assert from_pretrained(half).basicvsr.conv_last.weight.dtype in (torch.float16, torch.float32)
    with torch.no_grad():
        y = model.eval()(torch.rand(1, 3, 3, 16, 16))
    assert y.shape == (1, 3, 3, 64, 64)


def test_trainer_changes_no_global_state_and_writes_nothing_until_fit(clip_dir, tmp_path):
    before = torch.are_deterministic_algorithms_enabled()
    trainer = Trainer(tiny_config(clip_dir, "train.deterministic=true"), tmp_path / "run", dist_info=CPU)
    assert torch.are_deterministic_algorithms_enabled() == before  # train() sets it, next to seed_everything
    assert not (tmp_path / "run").exists()
    assert [type(cb).__name__ for cb in trainer.callbacks] == ["MetricsLog", "Checkpoints"]
    assert [t.name for t in trainer.objective.terms] == ["loss/pix", "loss/clean"]
