"""Shared building blocks for the recurrent VSR models (BasicVSR family).

Names follow BasicSR/MMEditing (``ResidualBlockNoBN``, ``ResidualBlocksWithInputConv``, ``PixelShufflePack``,
``make_layer``, ``flow_warp``) so that checkpoint keys map with few renames. Feature maps are ``(B, C, H, W)``.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ResidualBlockNoBN",
    "ResidualBlocksWithInputConv",
    "PixelShufflePack",
    "make_layer",
    "flow_warp",
    "default_init_weights",
]


@torch.no_grad()
def default_init_weights(module: nn.Module | list[nn.Module], scale: float = 1.0, bias_fill: float = 0.0) -> None:
    """Kaiming-normal init (fan_in) of every conv/linear weight, scaled by ``scale``; biases filled with ``bias_fill``.

    A scale of 0.1 on residual blocks keeps a deep stack close to the identity at the start of training (EDSR/BasicSR).
    """
    modules = module if isinstance(module, list) else [module]
    for mod in modules:
        for m in mod.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)
                m.weight.mul_(scale)
                if m.bias is not None:
                    m.bias.fill_(bias_fill)


def make_layer(block: Callable[..., nn.Module], num_blocks: int, **kwargs) -> nn.Sequential:
    """``nn.Sequential`` of ``num_blocks`` fresh ``block(**kwargs)`` instances."""
    return nn.Sequential(*[block(**kwargs) for _ in range(num_blocks)])


class ResidualBlockNoBN(nn.Module):
    """``x + res_scale * conv2(relu(conv1(x)))`` with 3x3 convs and no batch norm (EDSR block).

    Args:
        mid_channels: Channels in and out.
        res_scale: Scale of the residual branch.
    """

    def __init__(self, mid_channels: int = 64, res_scale: float = 1.0) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        default_init_weights([self.conv1, self.conv2], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.relu(self.conv1(x)))
        if self.res_scale != 1.0:  # the official checkpoints use 1: skip a full-tensor multiply by one
            out = out * self.res_scale
        # In place on the conv output (its backward needs only its input): no fresh tensor per block, which on large
        # frames costs page faults (at 360x640 on CPU: 21 ms per out-of-place add, 4 ms for the in-place ReLU).
        return out.add_(x)


class ResidualBlocksWithInputConv(nn.Module):
    """Conv3x3(in -> mid) + LeakyReLU(0.1) + ``num_blocks`` x :class:`ResidualBlockNoBN`.

    Keys: ``main.0`` (input conv), ``main.2.{i}.conv{1,2}`` (blocks), as in MMEditing and BasicSR.
    """

    def __init__(self, in_channels: int, out_channels: int = 64, num_blocks: int = 30) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=True),
            nn.LeakyReLU(negative_slope=0.1, inplace=True),
            make_layer(ResidualBlockNoBN, num_blocks, mid_channels=out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


class PixelShufflePack(nn.Module):
    """Conv (in -> out * s^2, kernel ``k``) followed by ``PixelShuffle(s)``: ``(B, in, H, W) -> (B, out, sH, sW)``."""

    def __init__(self, in_channels: int, out_channels: int, scale_factor: int, upsample_kernel: int = 3) -> None:
        super().__init__()
        self.scale_factor = scale_factor
        self.upsample_conv = nn.Conv2d(in_channels, out_channels * scale_factor * scale_factor, upsample_kernel, 1,
                                       (upsample_kernel - 1) // 2)
        default_init_weights(self.upsample_conv, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.upsample_conv(x), self.scale_factor)


def flow_warp(x: torch.Tensor, flow: torch.Tensor, interp_mode: str = "bilinear", padding_mode: str = "zeros",
              align_corners: bool = True) -> torch.Tensor:
    """Warp ``x`` by an optical flow: ``out[p] = x[p + flow[p]]`` (backward warping).

    Args:
        x: Features ``(B, C, H, W)``.
        flow: Flow in pixels ``(B, H, W, 2)``, x (width) component first.
        interp_mode: ``grid_sample`` mode (``"bilinear"`` or ``"nearest"``).
        padding_mode: ``"zeros"`` (BasicVSR propagation) or ``"border"`` (SPyNet pyramid).
        align_corners: Grid normalisation; True matches the ``2 g / (W - 1) - 1`` formula used here.

    Returns:
        Warped features ``(B, C, H, W)``.
    """
    if x.shape[-2:] != flow.shape[1:3]:
        raise ValueError(f"flow_warp: x is {tuple(x.shape[-2:])} but flow is {tuple(flow.shape[1:3])} (H, W)")
    _, _, h, w = x.shape
    # Sampling coordinates in fp32 even for fp16/bf16 features: bf16 keeps 8 mantissa bits, i.e. whole-pixel errors
    # on the normalised grid of a few-hundred-pixel-wide frame.
    compute = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device, dtype=compute),
                            torch.arange(w, device=x.device, dtype=compute), indexing="ij")
    grid = torch.stack((gx, gy), dim=-1) + flow.to(compute)  # (B, H, W, 2) absolute pixel coordinates
    gx_n = 2.0 * grid[..., 0] / max(w - 1, 1) - 1.0
    gy_n = 2.0 * grid[..., 1] / max(h - 1, 1) - 1.0
    out = F.grid_sample(x.to(compute), torch.stack((gx_n, gy_n), dim=-1), mode=interp_mode,
                        padding_mode=padding_mode, align_corners=align_corners)
    return out.to(x.dtype)
