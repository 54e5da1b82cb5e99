"""The training-time degradation: parameters sampled in loader workers, the batch degraded on the training device.

Split (after ``wildvsr.degrade``): ``Degrader.sample_params`` is plain NumPy work drawn from the sample's own
generator, so it runs in the DataLoader worker (:meth:`TrainingDegradation.worker_stage`). ``Degrader.apply`` runs the
tensor stages (blur, resize, noise, JPEG) on the device of the GT it is given - the GPU in training - and the codec
stage on CPU through PyAV; the trainer calls it once per batch on ``trainer.device``
(:meth:`TrainingDegradation.device_stage`). USM sharpening of the GT also runs there.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from wildvsr.degrade import Degrader, load_preset, usm_sharp
from wildvsr.errors import ConfigError
from wildvsr.train.config import DegradationConfig

logger = logging.getLogger(__name__)


class TrainingDegradation:
    """USM + degradation of GT batches for training.

    Args:
        cfg: preset and USM switch.
        scale: LQ = GT / scale (the presets end at x1/4).
    """

    def __init__(self, cfg: DegradationConfig, scale: int = 4) -> None:
        self.cfg, self.scale = cfg, scale
        self.degrader = Degrader(load_preset(cfg.preset))
        if self.degrader.scale != scale:  # the LQ size the model and the cleaning loss expect
            raise ConfigError(f"degradation.preset: {cfg.preset!r} makes LQ at 1/{self.degrader.scale} of the GT, "
                              f"data.scale is {scale}; set 'scale: {scale}' in the preset")

    def worker_stage(self, sample: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """Loader-worker part: draw this sample's per-frame degradation parameters (CPU, NumPy)."""
        num_frames = sample["gt"].shape[0]
        sample["degrade_params"] = self.degrader.sample_params(1, num_frames, rng)
        return sample

    def sharpen(self, gt: torch.Tensor) -> torch.Tensor:
        """USM-sharpened GT (kernel 51, weight 0.5, threshold 10), or ``gt`` itself with ``usm: false``."""
        if not self.cfg.usm:
            return gt

        return usm_sharp(gt)

    def device_stage(self, gt: torch.Tensor, batch: dict[str, Any], generator: torch.Generator) -> dict[str, Any]:
        """Degrade a GT batch ``(B, T, 3, H, W)`` already on the training device.

        Returns ``{"gt", "gt_usm", "lq"}``; ``lq`` is ``(B, T, 3, H/scale, W/scale)`` on ``gt.device``. The LQ is made
        from the USM GT (official ``CopyValues(gt_unsharp -> lq)``).
        """
        gt_usm = self.sharpen(gt)
        params = batch["degrade_params"]
        lq = self._apply(gt_usm, params, generator)
        return {"gt": gt, "gt_usm": gt_usm, "lq": lq.to(gt.device)}

    def _apply(self, gt: torch.Tensor, params: list[Any], generator: torch.Generator) -> torch.Tensor:
        merged = self._merge(params)
        if merged is not None:
            return self.degrader.apply(gt, merged, generator=generator)
        # parameters of one sample each: degrade sample by sample (still on the device) and stack
        return torch.cat([self.degrader.apply(gt[i:i + 1], p, generator=generator) for i, p in enumerate(params)])

    @staticmethod
    def _merge(params: list[Any]) -> Any | None:
        if len(params) == 1:
            return params[0]
        concat = getattr(type(params[0]), "concat", None)
        return concat(params) if concat is not None else None

    def degrade_fixed(self, gt: torch.Tensor, seed: int) -> torch.Tensor:
        """Deterministic degradation of a ``(1, T, 3, H, W)`` GT (validation): same seed, same LQ."""
        rng = np.random.default_rng(seed)
        params = self.degrader.sample_params(gt.shape[0], gt.shape[1], rng)
        g = torch.Generator(device=gt.device)
        g.manual_seed(seed)
        return self.degrader.apply(self.sharpen(gt), params, generator=g)
