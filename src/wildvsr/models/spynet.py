"""SPyNet: a 6-level spatial pyramid optical-flow network (Ranjan & Black, CVPR 2017), as used by BasicVSR.

Written from SPEC 1.3 (the MMEditing variant; BasicSR's is numerically equivalent). Parameter keys use the
MMEditing layout ``basic_module.{level}.basic_module.{k}.conv.{weight,bias}``; BasicSR's ``basic_module.{2k}`` layout
is mapped by :func:`checkpoint_filter_fn`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wildvsr.models.layers import flow_warp
from wildvsr.models.spec import ModelSpec

__all__ = ["SPyNet", "SPyNetBasicModule", "SPEC", "checkpoint_filter_fn"]

_NUM_LEVELS = 6
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class _ConvAct(nn.Module):
    """A 7x7 conv with an optional ReLU; the ``.conv`` attribute gives MMEditing's ``ConvModule`` key names."""

    def __init__(self, in_channels: int, out_channels: int, act: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 7, 1, 3)
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class SPyNetBasicModule(nn.Module):
    """One pyramid level: ``cat[ref, warped supp, flow]`` (8 channels) -> flow residual (2 channels)."""

    def __init__(self) -> None:
        super().__init__()
        chans = (8, 32, 64, 32, 16, 2)
        self.basic_module = nn.Sequential(
            *[_ConvAct(chans[i], chans[i + 1], act=i < len(chans) - 2) for i in range(len(chans) - 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.basic_module(x)


class SPyNet(nn.Module):
    """Optical flow from ``ref`` to ``supp``: ``supp`` warped by the flow (``flow_warp``) matches ``ref``.

    Input images are RGB in [0, 1], any size (they are resized internally to multiples of 32; the flow is resized back
    and rescaled, so it is in pixels of the input). 1,440,300 parameters plus the ``mean``/``std`` buffers.
    """

    def __init__(self) -> None:
        super().__init__()
        self.config: dict = {}  # constructor kwargs, for saving
        self.basic_module = nn.ModuleList([SPyNetBasicModule() for _ in range(_NUM_LEVELS)])
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def compute_flow(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        """Flow for inputs whose H and W are multiples of 32. ``(B, 3, H, W)`` x 2 -> ``(B, 2, H, W)`` pixels."""
        b, _, h, w = ref.shape
        refs = [(ref - self.mean) / self.std]
        supps = [(supp - self.mean) / self.std]
        for _ in range(_NUM_LEVELS - 1):
            refs.append(F.avg_pool2d(refs[-1], kernel_size=2, stride=2, count_include_pad=False))
            supps.append(F.avg_pool2d(supps[-1], kernel_size=2, stride=2, count_include_pad=False))
        refs, supps = refs[::-1], supps[::-1]  # coarse (H/32) to fine (H)

        flow = ref.new_zeros(b, 2, h // 32, w // 32)
        for level, module in enumerate(self.basic_module):
            if level == 0:
                flow_up = flow
            else:  # twice the size means twice the displacement
                flow_up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2.0
            warped = flow_warp(supps[level], flow_up.permute(0, 2, 3, 1), padding_mode="border")
            flow = flow_up + module(torch.cat([refs[level], warped, flow_up], dim=1))
        return flow

    def forward(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        """Flow from ``ref`` to ``supp``.

        Args:
            ref: Reference images ``(B, 3, H, W)``, RGB in [0, 1].
            supp: Supporting images, same shape.

        Returns:
            Flow ``(B, 2, H, W)`` in pixels (channel 0 = x displacement, 1 = y).
        """
        if ref.shape != supp.shape or ref.dim() != 4 or ref.shape[1] != 3:
            raise ValueError(f"SPyNet expects two (B, 3, H, W) tensors of one shape, got {tuple(ref.shape)} "
                             f"and {tuple(supp.shape)}")
        h, w = ref.shape[-2:]
        h_up, w_up = -(-h // 32) * 32, -(-w // 32) * 32  # round up to multiples of 32
        if (h_up, w_up) != (h, w):
            ref = F.interpolate(ref, size=(h_up, w_up), mode="bilinear", align_corners=False)
            supp = F.interpolate(supp, size=(h_up, w_up), mode="bilinear", align_corners=False)
        flow = self.compute_flow(ref, supp)
        if (h_up, w_up) != (h, w):
            flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
            scale = torch.tensor([w / w_up, h / h_up], dtype=flow.dtype, device=flow.device).view(1, 2, 1, 1)
            flow = flow * scale
        return flow


def convert_basicsr_spynet_keys(state: dict[str, torch.Tensor], prefix: str = "") -> dict[str, torch.Tensor]:
    """Rename BasicSR SPyNet keys (``basic_module.L.basic_module.{2k}.*``) to ours (``...{k}.conv.*``).

    Keys already in our layout pass through; keys outside ``prefix`` are returned unchanged.
    """
    out = {}
    for key, value in state.items():
        if key.startswith(prefix + "basic_module."):
            parts = key[len(prefix):].split(".")
            # basic_module, L, basic_module, idx, (weight|bias)   -- BasicSR (5 parts, idx even)
            if len(parts) == 5 and parts[2] == "basic_module" and parts[3].isdigit():
                idx = int(parts[3])
                key = prefix + ".".join(parts[:3] + [str(idx // 2), "conv", parts[4]])
        out[key] = value
    return out


def checkpoint_filter_fn(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map a foreign state dict to :class:`SPyNet` keys.

    Accepts a bare SPyNet (BasicSR ``spynet_sintel_final`` or MMEditing ``spynet_20210409`` layout) or a whole
    BasicVSR/RealBasicVSR state dict, from which the ``spynet.`` / ``basicvsr.spynet.`` part is extracted.
    """
    for prefix in ("basicvsr.spynet.", "spynet."):
        if any(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            break
    return convert_basicsr_spynet_keys(state)


SPEC = ModelSpec(task="flow", temporal=False)
"""An optical-flow network (a part of the video models, not an upscaler)."""
