"""Optical flow for the code above the models, in one place: SPyNet as a flow function (:data:`FlowFn`,
:func:`spynet_flow_fn`), backward warping with its in-bounds mask (:func:`warp_with_mask`) and the forward-backward
occlusion check (:func:`consistency_mask`). Used by the warping-error metric (:mod:`wildvsr.metrics.warping`), the
temporal stabilizer (:mod:`wildvsr.inference.stabilizer`) and the training losses; the architectures' own warp
(``flow_warp``, border padding, in ``(B, H, W, 2)`` layout) stays in :mod:`wildvsr.models.layers`.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from wildvsr.models.factory import create_model

__all__ = ["FlowFn", "spynet_flow_fn", "warp_with_mask", "consistency_mask"]

FlowFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``flow_fn(ref, supp) -> flow``: ``(B, 3, H, W)`` RGB [0, 1] twice -> ``(B, 2, H, W)`` pixels (x first), such that
``supp`` warped by the flow matches ``ref`` (SPyNet's convention)."""

_SPYNET_CACHE: dict[str, torch.nn.Module] = {}


def spynet_flow_fn(device: str | torch.device = "cpu", weights: str = "default") -> FlowFn:
    """SPyNet (official BasicVSR weights by default) as a :data:`FlowFn`; the model is built once per device."""
    key = f"{device}:{weights}"
    if key not in _SPYNET_CACHE:
        _SPYNET_CACHE[key] = create_model("spynet", weights=weights).to(device).eval()
    model = _SPYNET_CACHE[key]

    def flow_fn(ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(ref.to(device), supp.to(device)).float()

    return flow_fn


def warp_with_mask(x: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward warp ``x`` ``(B, C, H, W)`` by ``flow`` ``(B, 2, H, W)``; also returns the in-bounds mask (B, 1, H, W)."""
    _, _, h, w = x.shape
    gy, gx = torch.meshgrid(torch.arange(h, dtype=x.dtype), torch.arange(w, dtype=x.dtype), indexing="ij")
    px = gx.to(x.device) + flow[:, 0]
    py = gy.to(x.device) + flow[:, 1]
    inside = ((px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)).unsqueeze(1)
    grid = torch.stack((2.0 * px / max(w - 1, 1) - 1.0, 2.0 * py / max(h - 1, 1) - 1.0), dim=-1)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out, inside


def consistency_mask(backward: torch.Tensor, forward: torch.Tensor) -> torch.Tensor:
    """Pixels of frame i+1 that pass the forward-backward check and map inside frame i -> ``(B, 1, H, W)`` bool.

    Args:
        backward: Flow i+1 -> i ``(B, 2, H, W)`` on frame i+1's grid.
        forward: Flow i -> i+1 ``(B, 2, H, W)`` on frame i's grid.
    """
    fwd_at, inside = warp_with_mask(forward, backward)
    sq = lambda v: (v * v).sum(dim=1, keepdim=True)  # noqa: E731
    visible = sq(backward + fwd_at) < 0.01 * (sq(backward) + sq(fwd_at)) + 0.5
    return visible & inside
