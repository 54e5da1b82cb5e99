"""Helpers of the training tests (``tests/train``, ``tests/cuda_fake``): lossless synthetic clips and the tiny recipe
(``tests/train/tiny.yaml``)."""

from __future__ import annotations

from pathlib import Path

from helpers.media import synthetic_frames, write_clip

from wildvsr.train.config import TrainConfig, load_config

TINY = Path(__file__).resolve().parents[1] / "train" / "tiny.yaml"


def write_clips(root: Path, n: int = 2, frames: int = 12, height: int = 80, width: int = 96) -> Path:
    """``n`` lossless synthetic clips (FFV1) in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_clip(root / f"clip{i}.mkv", synthetic_frames(frames, height, width, seed=i), codec="ffv1",
                   pix_fmt="bgr0")
    return root


def tiny_config(clip_dir: Path, *overrides: str) -> TrainConfig:
    return load_config(TINY, [f"data.roots=[{clip_dir}]", *overrides])
