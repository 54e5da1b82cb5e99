"""RCVSR: the project's compact recurrent real-world video SR network (issue 27).

A causal (forward-only) recurrent network built for CPUs: per frame, a VGG-style stack of ``num_conv`` 3x3 convs with
PReLU (the SRVGGNetCompact body of Real-ESRGAN) sees the LR frame together with a small hidden state carried from the
previous frame, warped by SPyNet flow computed at LR. The hidden state is what makes it a video model: detail and
denoising decisions of the previous frame are carried along the motion, which is what keeps the output from
flickering, at the cost of ``hidden_channels`` extra input channels and one 3x3 conv out of the last features.

Why this shape (measured in README's model section): the per-frame compact body costs 0.62 M multiply-adds per input
pixel at 64 channels and 16 convs, SPyNet at LR about 0.33 M; the whole is about 1/19 of RRDBNet x4plus (17.9 M). A
bidirectional design would need every frame of a chunk before the first output and twice the flow; a causal one
streams.

Initialisation (:meth:`RCVSR.init_from` with ``SPEC.pretrained_init``): the body from ``srvgg.animevideov3`` (the first conv's
hidden-state input channels zeroed, so an untrained RCVSR equals animevideov3 frame by frame) and SPyNet from the
official BasicVSR REDS4 checkpoint, frozen.

Shapes: ``(B, T, 3, H, W)`` RGB in [0, 1] -> ``(B, T, 3, 4H, 4W)`` (roughly [0, 1], not clamped).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from wildvsr.models.layers import flow_warp
from wildvsr.models.memory import video_memory
from wildvsr.models.spec import ModelSpec
from wildvsr.models.spynet import SPyNet

__all__ = ["RCVSR", "SPEC", "checkpoint_filter_fn", "infer_config", "estimate_memory"]


class RCVSR(nn.Module):
    """Causal recurrent compact x4 video SR.

    Args:
        num_feat: body channels (64).
        num_conv: body convs after the first one (16, as animevideov3).
        hidden_channels: channels of the recurrent state, at LR (16).
        upscale: output scale (4).
    """

    temporal = True  # (B, T, 3, H, W) clips (what :data:`SPEC` declares, and scripts read)

    def __init__(self, num_feat: int = 64, num_conv: int = 16, hidden_channels: int = 16, upscale: int = 4) -> None:
        super().__init__()
        self.config = {"num_feat": num_feat, "num_conv": num_conv, "hidden_channels": hidden_channels,
                       "upscale": upscale}
        self.scale, self.hidden_channels, self.mid_channels = upscale, hidden_channels, num_feat
        layers: list[nn.Module] = [nn.Conv2d(3 + hidden_channels, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        self.body = nn.Sequential(*layers)
        self.to_rgb = nn.Conv2d(num_feat, 3 * upscale * upscale, 3, 1, 1)
        self.to_hidden = nn.Conv2d(num_feat, hidden_channels, 3, 1, 1)
        self.upsampler = nn.PixelShuffle(upscale)
        self.spynet = SPyNet()
        self.spynet.requires_grad_(False)

    # ------------------------------------------------------------------------------------------------------ forward
    def flows(self, lqs: torch.Tensor) -> torch.Tensor:
        """Flow from each frame to its predecessor, ``(B, T-1, 2, H, W)`` pixels (frame t's grid, warps t-1 onto t)."""
        b, t, _, h, w = lqs.shape
        if t < 2:
            return lqs.new_zeros(b, 0, 2, h, w)
        cur, prev = lqs[:, 1:].reshape(-1, 3, h, w), lqs[:, :-1].reshape(-1, 3, h, w)
        with torch.autocast(device_type=lqs.device.type, enabled=False):  # flow in fp32 (sub-pixel accuracy)
            flow = self.spynet(cur.float(), prev.float())
        return flow.view(b, t - 1, 2, h, w)

    def step(self, frame: torch.Tensor, hidden: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """One frame: ``frame (B, 3, H, W)``, ``hidden (B, C_h, H, W)`` already aligned to it (None: zeros) ->
        ``(output (B, 3, 4H, 4W), next hidden (B, C_h, H, W))``."""
        if hidden is None:
            hidden = frame.new_zeros(frame.shape[0], self.hidden_channels, *frame.shape[-2:])
        feat = self.body(torch.cat([frame, hidden.to(frame.dtype)], dim=1))
        out = self.upsampler(self.to_rgb(feat)) + F.interpolate(frame, scale_factor=self.scale, mode="nearest")
        return out, self.to_hidden(feat)

    def forward(self, lqs: torch.Tensor, hidden: torch.Tensor | None = None) -> torch.Tensor:
        """``lqs (B, T, 3, H, W)`` -> ``(B, T, 3, 4H, 4W)``; ``hidden``: state after the frame before ``lqs[:, 0]``,
        already aligned to it (None: a fresh start)."""
        return self._recur(lqs, hidden)[0]

    def stream(self, lqs: torch.Tensor, state: dict[str, torch.Tensor] | None = None
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One chunk of a stream: :meth:`forward` over ``lqs (B, T, 3, H, W)`` continuing from ``state`` (what the
        previous chunk returned; None or empty: the video's start). Returns the outputs and the state after the last
        frame: ``frame`` (its LR input, ``(B, 3, H, W)``) and ``hidden`` (``(B, C_h, H, W)``, not yet aligned to the
        next frame). Chunks of a video streamed in order give the frames :meth:`forward` gives on the whole, up to the
        rounding of flow computed in other batch shapes, with no frame computed twice."""
        hidden = None
        if state:
            pair = torch.stack([state["frame"].to(lqs.dtype), lqs[:, 0]], dim=1)  # (B, 2, 3, H, W)
            hidden = flow_warp(state["hidden"], self.flows(pair)[:, 0].permute(0, 2, 3, 1))
        outs, hidden = self._recur(lqs, hidden)
        return outs, {"frame": lqs[:, -1], "hidden": hidden}

    def _recur(self, lqs: torch.Tensor, hidden: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        if lqs.dim() != 5 or lqs.shape[2] != 3:
            raise ValueError(f"RCVSR expects (B, T, 3, H, W), got {tuple(lqs.shape)}")
        flows = self.flows(lqs)
        outs = []
        for i in range(lqs.shape[1]):
            if i > 0:
                hidden = flow_warp(hidden, flows[:, i - 1].permute(0, 2, 3, 1))
            out, hidden = self.step(lqs[:, i], hidden)
            outs.append(out)
        return torch.stack(outs, dim=1), hidden

    # ---------------------------------------------------------------------------------------------- initialisation
    @torch.no_grad()
    def init_from(self, parts: dict[str, nn.Module]) -> list[str]:
        """Copy shipped models into this one: ``parts["body"]`` an SRVGGNetCompact of the same width and depth,
        ``parts["spynet"]`` a SPyNet (``SPEC.pretrained_init`` names the ones the recipe uses; the caller builds them, so
        this module does not depend on the registry).

        The first conv's hidden-state channels are zeroed, so the result equals the body model frame by frame until
        training moves it. Returns the names of the initialised tensors.
        """
        loaded = []
        if "body" in parts:
            src = parts["body"]
            if src.config.get("num_feat") != self.config["num_feat"] or \
                    src.config.get("num_conv") != self.config["num_conv"]:
                raise ValueError(f"init_from: the body model has {src.config}, this RCVSR has {self.config}")
            theirs = list(src.body)
            for mine, other in zip(self.body, theirs[:-1]):
                if isinstance(mine, nn.Conv2d) and mine.in_channels != other.in_channels:
                    mine.weight.zero_()
                    mine.weight[:, :other.in_channels] = other.weight
                    mine.bias.copy_(other.bias)
                else:
                    mine.load_state_dict(other.state_dict())
            self.to_rgb.load_state_dict(theirs[-1].state_dict())
            loaded += [f"body.{k}" for k in self.body.state_dict()] + [f"to_rgb.{k}" for k in self.to_rgb.state_dict()]
        if "spynet" in parts:
            self.spynet.load_state_dict(parts["spynet"].state_dict())
            loaded += [f"spynet.{k}" for k in self.spynet.state_dict()]
        return loaded


def checkpoint_filter_fn(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our own files use our keys."""
    return dict(state)


def infer_config(state: dict[str, torch.Tensor]) -> dict[str, int]:
    """Constructor kwargs read off a state dict; {} if unsure."""
    convs = sorted(int(m.group(1)) for k in state if (m := re.match(r"body\.(\d+)\.weight$", k))
                   and state[k].ndim == 4)
    if not convs or "to_rgb.weight" not in state or "to_hidden.weight" not in state:
        return {}
    upscale = round((state["to_rgb.weight"].shape[0] / 3) ** 0.5)
    return {"num_feat": int(state["body.0.weight"].shape[0]), "num_conv": len(convs) - 1,
            "hidden_channels": int(state["to_hidden.weight"].shape[0]), "upscale": upscale}


def estimate_memory(config: Mapping[str, Any], frames: int, height: int, width: int, *, scale: int = 4,
                    batch: int = 1, act: int = 4) -> int:
    """Peak bytes of one forward (:data:`~wildvsr.models.spec.MemoryFn`): the recurrent formula at ``num_feat``
    channels, whole frames (an upper bound: RCVSR keeps no per-frame features, only its small hidden state)."""
    return video_memory(int(config["num_feat"]), frames, height, width, scale=scale, batch=batch, act=act)


SPEC = ModelSpec(temporal=RCVSR.temporal, causal=True, streams=True, parts={"spynet": "spynet"},
                 pretrained_init={"body": "srvgg.animevideov3", "spynet": "spynet.reds4"}, memory=estimate_memory)
"""A causal video model (output t depends on frames <= t only) that streams (:meth:`RCVSR.stream`: chunks with no
temporal overlap, its state carried); SPyNet frozen by default; ``init_pretrained``
gives :meth:`RCVSR.init_from` the body of ``srvgg.animevideov3`` and SPyNet of ``spynet.reds4``."""
