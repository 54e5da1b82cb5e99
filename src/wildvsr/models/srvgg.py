"""SRVGGNetCompact (Real-ESRGAN's compact per-frame SR network, e.g. ``realesr-animevideov3``).

A plain VGG-style stack: 3x3 conv + PReLU, ``num_conv`` times conv + PReLU, a last conv to ``3 * upscale**2`` channels,
pixel shuffle, plus the nearest-upsampled input as a residual. Module names follow xinntao's ``SRVGGNetCompact``
(``body.{i}`` alternating conv and PReLU), so an official ``.pth`` loads unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from wildvsr.models.memory import frame_memory
from wildvsr.models.spec import ModelSpec

__all__ = ["SRVGGNetCompact", "SPEC", "checkpoint_filter_fn", "infer_config", "estimate_memory"]


class SRVGGNetCompact(nn.Module):
    """``(B, 3, H, W)`` float RGB in [0, 1] -> ``(B, 3, 4H, 4W)`` (roughly [0, 1], not clamped), per frame.

    Args:
        num_feat: feature channels (64).
        num_conv: body convs after the first one (16 for animevideov3: 621,424 parameters at x4).
        upscale: output scale (only 4 is used by the runner; the architecture accepts any integer).
    """

    temporal = False  # (N, 3, H, W) frames (what :data:`SPEC` declares, and scripts read)

    def __init__(self, num_feat: int = 64, num_conv: int = 16, upscale: int = 4) -> None:
        super().__init__()
        self.config = {"num_feat": num_feat, "num_conv": num_conv, "upscale": upscale}
        self.scale = upscale
        layers: list[nn.Module] = [nn.Conv2d(3, num_feat, 3, 1, 1), nn.PReLU(num_parameters=num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_parameters=num_feat)]
        layers.append(nn.Conv2d(num_feat, 3 * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


def checkpoint_filter_fn(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official Real-ESRGAN SRVGGNetCompact files already use our keys (after ``params``/``params_ema`` unwrapping)."""
    return dict(state)


def infer_config(state: dict[str, torch.Tensor]) -> dict[str, int]:
    """Constructor kwargs read off a state dict in our layout; {} if unsure."""
    convs = sorted(int(m.group(1)) for k in state if (m := re.match(r"body\.(\d+)\.weight$", k))
                   and state[k].ndim == 4)
    if not convs:
        return {}
    first, last = state[f"body.{convs[0]}.weight"], state[f"body.{convs[-1]}.weight"]
    upscale = round((last.shape[0] / 3) ** 0.5)
    if 3 * upscale * upscale != last.shape[0]:
        return {}
    return {"num_feat": int(first.shape[0]), "num_conv": len(convs) - 2, "upscale": upscale}


def estimate_memory(config: Mapping[str, Any], frames: int, height: int, width: int, *, scale: int = 4,
                    batch: int = 1, act: int = 4) -> int:
    """Peak bytes of one forward (:data:`~wildvsr.models.spec.MemoryFn`): ``num_feat`` channels at input size, no
    features at output size (pixel shuffle of the last conv)."""
    return frame_memory(int(config["num_feat"]), 0, frames, height, width, scale=scale, batch=batch, act=act)


SPEC = ModelSpec(temporal=SRVGGNetCompact.temporal, memory=estimate_memory)
"""A per-frame model."""
