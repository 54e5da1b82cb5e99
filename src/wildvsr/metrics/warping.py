"""Warping error (temporal consistency), as MGLD-VSR reports it (its Table 2, after Lai et al. 2018).

    WE = 1/(N-1) * sum_{i=1}^{N-1} mean_{p in M_i} |I_{i+1}(p) - Warp(I_i, O_b,i)(p)|

``O_b,i`` is the backward flow from frame i+1 to frame i (``Warp(I_i, O_b,i)`` is frame i moved onto frame i+1),
estimated by SPyNet with the official BasicVSR weights. The flow is computed on the evaluated frames, or on the
ground-truth frames when ``reference`` is given (MGLD-VSR's synthetic protocol). ``M_i`` keeps the pixels that are
visible in both frames: the forward-backward consistency check of Sundaram et al. / UnFlow,

    |b + f(p + b)|^2 < 0.01 (|b|^2 + |f(p + b)|^2) + 0.5

(b the backward flow at p, f the forward flow i -> i+1 sampled where b points), and whose warped position lies
inside frame i. The mean absolute difference runs over the masked pixels and the three RGB channels.

Scale: the mean absolute difference is reported on the 0-255 scale (grey levels of 8-bit video): ``scale=255``
times the value on [0, 1] images. MGLD-VSR publishes no evaluation script; this scale is chosen because it puts our
numbers where theirs are: bicubic x4 of a VideoLQ clip (``videolq_000`` frames 0-3, a 160x90 crop) gives 4.75 here,
MGLD-VSR reports 5.48 for bicubic on VideoLQ (on a 1e-3-of-[0, 1] scale ours would read 18.6). Pass ``scale=1000``
for units of 1e-3. Lower is better; 0 for a static clip with an exact flow.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import torch

from wildvsr.errors import InputError
from wildvsr.models.flow import FlowFn, consistency_mask, spynet_flow_fn, warp_with_mask
from wildvsr.utils.device import resolve_device

logger = logging.getLogger(__name__)


def _check_clip(frames: Sequence[np.ndarray] | np.ndarray, name: str) -> np.ndarray:
    """Validate ``(T, H, W, 3)`` uint8 [0, 255] or float [0, 1] frames (kept as given; converted per batch)."""
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise InputError(f"{name} must be (T, H, W, 3) RGB frames, got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise InputError(f"warping error needs at least 2 frames, {name} has {arr.shape[0]}")
    if arr.dtype != np.uint8 and not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"{name} must be uint8 or float in [0, 1], got dtype {arr.dtype}")
    return arr


def _to_tensor(arr: np.ndarray, device: torch.device) -> torch.Tensor:
    """``(B, H, W, 3)`` uint8 or float -> ``(B, 3, H, W)`` float32 [0, 1] on ``device``."""
    data = torch.from_numpy(np.ascontiguousarray(arr)).to(device)
    data = data.float() / 255.0 if arr.dtype == np.uint8 else data.float()
    return data.permute(0, 3, 1, 2)


def warping_error(frames: Sequence[np.ndarray] | np.ndarray, reference: Sequence[np.ndarray] | np.ndarray | None = None,
                  *, flow_fn: FlowFn | None = None, occlusion_mask: bool = True, scale: float = 255.0,
                  batch_size: int = 4, max_pixels: int = 1 << 22, device: str | torch.device = "cpu",
                  per_pair: bool = False) -> float | tuple[float, list[float]]:
    """Warping error of a clip (lower is better; see the module docstring for the definition and scale).

    Args:
        frames: Evaluated frames ``(T, H, W, 3)`` RGB, uint8 [0, 255] or float [0, 1], T >= 2.
        reference: Optional ground-truth frames of the same shape; the flow is then computed on them.
        flow_fn: Flow estimator (:data:`FlowFn`); default SPyNet with the official BasicVSR weights on ``device``.
        occlusion_mask: Apply the forward-backward consistency mask (otherwise only the in-bounds mask).
        scale: Multiplier of the mean absolute difference on [0, 1] (255 -> grey levels, the default; 1000 -> 1e-3).
        batch_size: Frame pairs per flow call, at most.
        max_pixels: Pixels per flow call, at most (at least one pair). SPyNet's temporaries grow with the pixels of a
            call: 5 frames of 2560x1440 peaked at 11.3 GB RSS with 4 pairs per call, 3.3 GB with the default 4.2 Mpx
            (``benchmarks/warping_memory.py``).
        device: Device for the default SPyNet and the warping (frames go there one batch at a time).
        per_pair: Also return the N-1 per-pair values.

    Returns:
        The mean over the N-1 pairs, or ``(mean, per_pair_values)`` when ``per_pair``. A pair with no consistent
        pixel is NaN in the per-pair list and left out of the mean (NaN if no pair has any).
    """
    clip = _check_clip(frames, "frames")
    flow_src = clip if reference is None else _check_clip(reference, "reference")
    if flow_src.shape != clip.shape:
        raise InputError(f"reference shape {flow_src.shape} differs from frames shape {clip.shape}")
    dev = resolve_device(device)
    flow_fn = flow_fn or spynet_flow_fn(dev)
    values: list[float] = []
    num_pairs = clip.shape[0] - 1
    batch_size = max(1, min(batch_size, max_pixels // (clip.shape[1] * clip.shape[2])))
    for start in range(0, num_pairs, batch_size):  # frames become float tensors one batch at a time
        stop = min(start + batch_size, num_pairs)
        prev_f, next_f = _to_tensor(flow_src[start:stop], dev), _to_tensor(flow_src[start + 1:stop + 1], dev)
        backward = flow_fn(next_f, prev_f).float().to(dev)  # on frame i+1's grid, points into frame i
        prev_c = prev_f if reference is None else _to_tensor(clip[start:stop], dev)
        next_c = next_f if reference is None else _to_tensor(clip[start + 1:stop + 1], dev)
        warped, mask = warp_with_mask(prev_c, backward)
        if occlusion_mask:
            forward = flow_fn(prev_f, next_f).float().to(dev)
            mask = consistency_mask(backward, forward)
        diff = (next_c - warped).abs().mean(dim=1, keepdim=True)
        maskf = mask.float()
        counts = maskf.sum(dim=(1, 2, 3))
        sums = (diff * maskf).sum(dim=(1, 2, 3))
        for count, total in zip(counts.tolist(), sums.tolist()):
            values.append(scale * total / count if count else float("nan"))
    if any(np.isnan(values)):
        logger.warning("warping error: %d of %d frame pairs have no consistent pixels and are left out of the mean",
                       int(np.isnan(values).sum()), len(values))
    mean = float(np.nanmean(values)) if not all(np.isnan(values)) else float("nan")
    return (mean, values) if per_pair else mean
