"""Periodic validation during training (rank 0): NIQE (BRISQUE, warping error) on real LQ frames, PSNR on a fixed
degraded clean clip.

Both sets are small and cropped so a validation costs seconds: the real set is a centre crop of the first frames of
e.g. ``videolq_000``; the synthetic set is a centre GT crop of a clean video (e.g. Vid4 ``calendar``) degraded once
with a fixed seed, so PSNR values are comparable across steps. A PNG grid (bicubic-upsampled LQ | output | GT) of the
middle frame is written per set.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from wildvsr.metrics import calculate_brisque, calculate_niqe, warping_error
from wildvsr.train.config import TrainConfig
from wildvsr.utils.frames import to_frames, to_tensor
from wildvsr.video import VideoReader

logger = logging.getLogger(__name__)


def read_frames(source: str, count: int) -> np.ndarray:
    """The first ``count`` frames of a video / frame folder as ``(T, H, W, 3)`` uint8."""
    with VideoReader(source) as reader:
        frames = [np.asarray(f.image) for f in reader.frames(0, count)]
    return np.stack(frames)


def center_crop(frames: np.ndarray, size: int, multiple: int = 4) -> np.ndarray:
    """Centre crop ``(T, H, W, C)`` to at most ``size`` px square (0 = no crop), sides rounded down to ``multiple``."""
    h, w = frames.shape[1:3]
    ch = min(h, size) if size else h
    cw = min(w, size) if size else w
    ch, cw = ch - ch % multiple, cw - cw % multiple
    top, left = (h - ch) // 2, (w - cw) // 2
    return frames[:, top:top + ch, left:left + cw]


def to_video_tensor(frames: np.ndarray) -> torch.Tensor:
    """``(T, H, W, 3)`` uint8 -> ``(1, T, 3, H, W)`` float [0, 1]."""
    return to_tensor(frames)[None]


def to_uint8(video: torch.Tensor) -> np.ndarray:
    """``(1, T, 3, H, W)`` float -> ``(T, H, W, 3)`` uint8 (rounded, clipped)."""
    return to_frames(video[0])


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two [0, 1] tensors (after rounding both to 8 bits, as saved images would be)."""
    a8 = (a.clamp(0, 1) * 255).round()
    b8 = (b.clamp(0, 1) * 255).round()
    mse = torch.mean((a8 - b8) ** 2).item()
    return float("inf") if mse == 0 else 10 * math.log10(255.0**2 / mse)


def save_grid(path: Path, rows: list[np.ndarray]) -> None:
    """Write images ``(H, W, 3)`` uint8 side by side (padded to the tallest) as one PNG."""
    from PIL import Image

    h = max(r.shape[0] for r in rows)
    padded = [np.pad(r, ((0, h - r.shape[0]), (0, 4), (0, 0))) for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(padded, axis=1)).save(path)


class Validator:
    """Runs the validation sets of ``cfg.val`` on a model; returns ``{"val/niqe": ..., "val/psnr": ...}``.

    Args:
        cfg: the recipe (``cfg.val`` and ``cfg.data.scale`` are used).
        device: where the model runs.
        degradation: the training degradation (its ``degrade_fixed(gt, seed)`` makes the synthetic LQ).
        out_dir: folder for the PNG grids.
    """

    def __init__(self, cfg: TrainConfig, device: torch.device, degradation: Any, out_dir: Path) -> None:
        self.cfg, self.device, self.out_dir = cfg, device, Path(out_dir)
        v = cfg.val
        self.real: torch.Tensor | None = None
        self.synthetic: tuple[torch.Tensor, torch.Tensor] | None = None
        if v.real_frames:
            self.real = to_video_tensor(center_crop(read_frames(v.real_frames, v.real_num_frames), v.real_crop))
        if v.synthetic_video:
            gt = to_video_tensor(center_crop(read_frames(v.synthetic_video, v.synthetic_num_frames), v.synthetic_crop,
                                             4 * cfg.data.scale))
            lq = degradation.degrade_fixed(gt, v.seed)
            self.synthetic = (lq.cpu(), gt)

    @torch.no_grad()
    def run(self, model: nn.Module, step: int) -> dict[str, float]:
        was_training = model.training
        model.eval()
        results: dict[str, float] = {}
        try:
            if self.real is not None:
                out = model(self.real.to(self.device)).float().cpu()
                frames = to_uint8(out)
                results.update(self._real_scores(frames))
                if self.cfg.val.save_images:
                    mid = self.real.shape[1] // 2
                    save_grid(self.out_dir / f"step_{step:08d}_real.png",
                              [self._upsample(self.real)[mid], frames[mid]])
            if self.synthetic is not None:
                lq, gt = self.synthetic
                out = model(lq.to(self.device)).float().cpu()
                results["val/psnr"] = psnr(out, gt)
                if self.cfg.val.save_images:
                    mid = gt.shape[1] // 2
                    save_grid(self.out_dir / f"step_{step:08d}_synthetic.png",
                              [self._upsample(lq)[mid], to_uint8(out)[mid], to_uint8(gt)[mid]])
        finally:
            model.train(was_training)
        return results

    def _real_scores(self, frames: np.ndarray) -> dict[str, float]:
        """``val.real_metrics`` of the output frames ``(T, H, W, 3)`` uint8: NIQE / BRISQUE averaged over frames,
        warping error (SPyNet flow on the output) over the clip."""
        per_frame = {"niqe": calculate_niqe, "brisque": calculate_brisque}
        scores = {}
        for name in self.cfg.val.real_metrics:
            if name == "warping_error":
                scores["val/warping_error"] = float(warping_error(frames, device=self.device))
            else:
                scores[f"val/{name}"] = float(np.mean([per_frame[name](f) for f in frames]))
        return scores

    def _upsample(self, lq: torch.Tensor) -> np.ndarray:
        s = self.cfg.data.scale
        up = F.interpolate(lq[0], scale_factor=s, mode="bicubic", align_corners=False)
        return to_uint8(up[None])
