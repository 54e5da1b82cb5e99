"""Validation during training: NIQE, BRISQUE, warping error on 'real' frames, PSNR on a fixed degraded clip, PNG grids, JSONL records."""

from __future__ import annotations

import json

import torch
from helpers.media import synthetic_frames, write_clip
from helpers.train import tiny_config

from wildvsr.train.distributed import DistInfo
from wildvsr.train.trainer import Trainer


def test_validation_records_and_grids(clip_dir, tmp_path):
    real = write_clip(tmp_path / "real.mkv", synthetic_frames(3, 48, 48, seed=5), codec="ffv1", pix_fmt="bgr0")
    cfg = tiny_config(clip_dir, f"val.real_frames={real}", "val.real_num_frames=2", "val.real_crop=32",
                      f"val.synthetic_video={clip_dir / 'clip0.mkv'}", "val.synthetic_num_frames=3",
                      "val.synthetic_crop=64", "train.max_steps=2", "train.val_every=2",
                      "val.real_metrics=[niqe, brisque, warping_error]")
    trainer = Trainer(cfg, tmp_path / "run", dist_info=DistInfo(0, 1, 0, torch.device("cpu")))
    trainer.fit()
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    vals = [r for r in records if "val/psnr" in r]
    assert [r["step"] for r in vals] == [0, 2]  # before training and at val_every
    assert all(5 < r["val/psnr"] < 60 for r in vals)
    assert all(r["val/niqe"] > 0 and r["val/brisque"] != 0 and r["val/warping_error"] >= 0 for r in vals)
    pngs = sorted(p.name for p in (tmp_path / "run" / "val").iterdir())
    assert pngs == ["step_00000000_real.png", "step_00000000_synthetic.png", "step_00000002_real.png",
                    "step_00000002_synthetic.png"]
