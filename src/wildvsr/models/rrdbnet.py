"""RRDBNet (ESRGAN generator) as used by Real-ESRGAN's x4plus models: a per-frame x4 image super-resolution network.

Written from the paper's description (Wang et al., ESRGAN, ECCVW 2018; Real-ESRGAN, ICCVW 2021) with the module and
state-dict names of xinntao's BasicSR ``RRDBNet`` (``conv_first``, ``body.{i}.rdb{1,2,3}.conv{1..5}``, ``conv_body``,
``conv_up1``, ``conv_up2``, ``conv_hr``, ``conv_last``), so an official ``RealESRGAN_x4plus.pth`` loads unchanged.
Only x4 is built here (Real-ESRGAN's x2/x1 variants pixel-unshuffle the input first; they are not shipped to us).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from wildvsr.models.layers import default_init_weights, make_layer
from wildvsr.models.memory import frame_memory
from wildvsr.models.spec import ModelSpec

__all__ = ["RRDBNet", "ResidualDenseBlock", "RRDB", "SPEC", "checkpoint_filter_fn", "infer_config", "estimate_memory"]


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs (LeakyReLU 0.2 after the first four); output ``0.2 * conv5 + x``.

    ``(B, num_feat, H, W)`` -> same shape.
    """

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        default_init_weights([self.conv1, self.conv2, self.conv3, self.conv4, self.conv5], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Activations, scaling and residual adds in place on fresh conv outputs (autograd-safe: a conv's backward
        # needs its input, LeakyReLU's its output): the same values without a new full-size tensor per op.
        x1 = F.leaky_relu(self.conv1(x), 0.2, inplace=True)
        x2 = F.leaky_relu(self.conv2(torch.cat((x, x1), 1)), 0.2, inplace=True)
        x3 = F.leaky_relu(self.conv3(torch.cat((x, x1, x2), 1)), 0.2, inplace=True)
        x4 = F.leaky_relu(self.conv4(torch.cat((x, x1, x2, x3), 1)), 0.2, inplace=True)
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5.mul_(0.2).add_(x)  # residual scaling 0.2 (ESRGAN)


class RRDB(nn.Module):
    """Residual-in-residual dense block: three :class:`ResidualDenseBlock` and an outer ``0.2 * out + x``."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))).mul_(0.2).add_(x)


class RRDBNet(nn.Module):
    """x4 RRDBNet: ``(B, 3, H, W)`` float RGB in [0, 1] -> ``(B, 3, 4H, 4W)`` (roughly [0, 1], not clamped).

    A per-frame model (``temporal = False``): frames are independent, so the runner batches them without temporal
    context. Upsampling is two nearest-neighbour x2 steps, each followed by a 3x3 conv and LeakyReLU 0.2.

    Args:
        num_feat: feature channels (64 in Real-ESRGAN).
        num_block: RRDB blocks (23 for x4plus: 16,697,987 parameters; 6 for x4plus_anime_6B).
        num_grow_ch: growth channels of the dense blocks (32).
    """

    temporal = False  # (N, 3, H, W) frames (what :data:`SPEC` declares, and scripts read)
    scale = 4

    def __init__(self, num_feat: int = 64, num_block: int = 23, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.config = {"num_feat": num_feat, "num_block": num_block, "num_grow_ch": num_grow_ch}
        self.conv_first = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.body = make_layer(RRDB, num_block, num_feat=num_feat, num_grow_ch=num_grow_ch)
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        feat = F.leaky_relu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))


def checkpoint_filter_fn(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our keys are BasicSR's: an official Real-ESRGAN ``.pth`` (after ``params_ema`` unwrapping) needs no renames.

    Older ESRGAN files (``RRDB_trunk.``/``trunk_conv``/``upconv1``/``HRconv``) are renamed to the BasicSR layout.
    """
    renames = (("RRDB_trunk.", "body."), ("trunk_conv.", "conv_body."), ("upconv1.", "conv_up1."),
               ("upconv2.", "conv_up2."), ("HRconv.", "conv_hr."), (".RDB", ".rdb"))
    out = {}
    for key, value in state.items():
        for old, new in renames:
            key = key.replace(old, new)
        out[key] = value
    return out


def infer_config(state: dict[str, torch.Tensor]) -> dict[str, int]:
    """Constructor kwargs read off a state dict in our layout: block count and widths; {} if unsure."""
    first = state.get("conv_first.weight")
    grow = state.get("body.0.rdb1.conv1.weight")
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"body\.(\d+)\.", k))}
    if first is None or grow is None or not blocks:
        return {}
    return {"num_feat": int(first.shape[0]), "num_block": max(blocks) + 1, "num_grow_ch": int(grow.shape[0])}


def estimate_memory(config: Mapping[str, Any], frames: int, height: int, width: int, *, scale: int = 4,
                    batch: int = 1, act: int = 4) -> int:
    """Peak bytes of one forward (:data:`~wildvsr.models.spec.MemoryFn`): ``num_feat`` channels, also computed at
    the x2/x4 output size by the upsampling convs."""
    feat = int(config["num_feat"])
    return frame_memory(feat, feat, frames, height, width, scale=scale, batch=batch, act=act)


SPEC = ModelSpec(temporal=RRDBNet.temporal, memory=estimate_memory)
"""A per-frame model."""
