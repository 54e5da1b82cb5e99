"""Methods a benchmark runs: ``bicubic`` (torch bicubic x4) and the registered video models.

A method maps a clip ``(T, H, W, 3)`` uint8 RGB to ``(T, 4H, 4W, 3)`` uint8 RGB and records its own timing.
Model names: a registered name (``basicvsr``; its default weights), ``name.tag`` (``basicvsr.vimeo_bi``), or a weights
file path (loaded as ``realbasicvsr``, else ``basicvsr``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from wildvsr.errors import UnknownModelError, WeightsMismatchError

__all__ = ["Method", "check_method_names", "create_method"]

logger = logging.getLogger(__name__)

SCALE = 4
UPSCALING_MODELS = ("realbasicvsr", "basicvsr")
"""Registered x4 video models a benchmark can run (a weights file is tried as each, in this order)."""


class Method:
    """A named x4 upscaling method with accumulated timing.

    Attributes:
        name: Its name in reports.
        temporal: Uses neighbouring frames (False: frames may be processed alone, so only scored frames are run).
        seconds: Wall time spent in :meth:`__call__`; ``frames``: frames processed.
    """

    def __init__(self, name: str, fn, temporal: bool, description: str) -> None:
        self.name = name
        self._fn = fn
        self.temporal = temporal
        self.description = description
        self.seconds = 0.0
        self.frames = 0

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        out = self._fn(np.ascontiguousarray(frames))
        self.seconds += time.perf_counter() - start
        self.frames += len(frames)
        return out

    def warmup(self, frames: np.ndarray) -> None:
        """Run once without counting time or frames (first-call costs would otherwise bias s/frame)."""
        self._fn(np.ascontiguousarray(frames))

    @property
    def seconds_per_frame(self) -> float | None:
        return self.seconds / self.frames if self.frames else None


def bicubic_x4(frames: np.ndarray) -> np.ndarray:
    """Torch bicubic x4 (``align_corners=False``, a = -0.75), one frame at a time; ``(T,H,W,3)`` uint8 -> uint8."""
    outs = []
    for frame in frames:
        x = torch.from_numpy(frame).permute(2, 0, 1)[None].float()
        y = F.interpolate(x, scale_factor=SCALE, mode="bicubic", align_corners=False)
        outs.append(y.round_().clamp_(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy())
    return np.stack(outs)


def check_method_names(names: list[str]) -> None:
    """Raise :class:`UnknownModelError` (listing the valid names) for a name that is no method, before any work."""
    for name in names:
        if name == "bicubic" or Path(name).is_file() or name.partition(".")[0] in UPSCALING_MODELS:
            continue
        raise UnknownModelError(f"unknown method {name!r}; use bicubic, a model ({', '.join(UPSCALING_MODELS)}), "
                                f"name.tag, or a weights file")


def create_method(name: str, device: str = "cpu") -> Method:
    """Build a method by name (see the module docstring). Model weights load now, not at the first call.

    Raises:
        UnknownModelError, WeightsNotFoundError, WeightsMismatchError.
    """
    if name == "bicubic":
        return Method(name, bicubic_x4, False, "torch bicubic x4")
    from wildvsr.inference import UpscaleConfig, build_upscaler

    check_method_names([name])
    if Path(name).is_file():
        error: Exception | None = None
        for model in UPSCALING_MODELS:
            try:
                upscaler = build_upscaler(UpscaleConfig(model=model, weights=name, device=device))
                break
            except WeightsMismatchError as exc:
                error = exc
        else:
            raise WeightsMismatchError(f"{name} fits none of {', '.join(UPSCALING_MODELS)}: {error}")
        return Method(Path(name).stem, upscaler.upscale_frames, True, f"{model} weights {name}")
    upscaler = build_upscaler(UpscaleConfig(model=name, device=device))
    return Method(name, upscaler.upscale_frames, True, f"model {name}")
