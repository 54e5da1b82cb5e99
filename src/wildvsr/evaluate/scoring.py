"""Score clips with metrics: per-frame values for image metrics, per-pair values for video metrics (warping error).

Every value is a plain float so that results serialise to JSON unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from wildvsr.errors import InputError
from wildvsr.metrics import create_metric, metric_info, warping_error

__all__ = ["check_metric_names", "make_metrics", "score_sequence", "summarise"]


def check_metric_names(names: list[str]) -> None:
    """Raise :class:`~wildvsr.errors.UnknownModelError` for an unknown metric (via the registry)."""
    for name in names:
        metric_info(name)


def make_metrics(names: list[str], device: str = "cpu") -> dict:
    """``{name: Metric}``; the warping error gets ``device`` (where SPyNet runs)."""
    metrics = {}
    for name in names:
        kwargs = {"device": device} if name == "warping_error" else {}
        metrics[name] = create_metric(name, **kwargs)
    return metrics


def score_sequence(metrics: dict, frames: np.ndarray, indices: list[int], reference: np.ndarray | None = None,
                   clip: np.ndarray | None = None, clip_reference: np.ndarray | None = None) -> dict:
    """Score one sequence.

    Args:
        metrics: from :func:`make_metrics`.
        frames: the scored frames ``(N, H, W, 3)`` uint8, N == len(indices).
        indices: their frame indices in the sequence.
        reference: ground-truth frames matching ``frames`` (full-reference metrics), or None.
        clip: the whole output clip ``(T, H, W, 3)`` for video metrics (None: video metrics are skipped).
        clip_reference: the whole ground-truth clip (the flow of the warping error is then computed on it).

    Returns:
        ``{"frames": indices, "values": {metric: [per frame]}, "pairs": {video metric: [per pair i -> i+1]},
        "mean": {metric: value}}``.
    """
    if len(frames) != len(indices):
        raise InputError(f"{len(frames)} frames for {len(indices)} indices")
    values: dict[str, list[float]] = {}
    pairs: dict[str, list[float]] = {}
    mean: dict[str, float] = {}
    for name, metric in metrics.items():
        kind = metric.info.kind
        if kind == "video":
            if clip is None or len(clip) < 2:
                continue
            if name == "warping_error":  # the registry's Metric returns the mean only; keep the per-pair values
                value, per_pair = warping_error(clip, clip_reference, per_pair=True, **metric.kwargs)
                pairs[name] = [float(v) for v in per_pair]
            else:
                value = metric(clip, clip_reference)
                pairs[name] = []
            mean[name] = float(value)
            continue
        if kind == "full-reference":
            if reference is None:
                raise InputError(f"metric {name!r} needs a reference; pass --reference or use the synthetic protocol")
            vals = [metric(f, r) for f, r in zip(frames, reference)]
        else:
            vals = [metric(f) for f in frames]
        values[name] = [float(v) for v in vals]
        mean[name] = _mean(values[name])
    return {"frames": [int(i) for i in indices], "values": values, "pairs": pairs, "mean": mean}


def summarise(sequences: dict[str, dict]) -> dict[str, float]:
    """Method-level means: image metrics over every scored image of every sequence (the papers' average over e.g. the
    150 VideoLQ images), video metrics over the sequences."""
    pooled: dict[str, list[float]] = {}
    for seq in sequences.values():
        for name, vals in seq["values"].items():
            pooled.setdefault(name, []).extend(vals)
        for name in seq["pairs"]:
            pooled.setdefault(name, []).append(seq["mean"][name])
    return {name: _mean(vals) for name, vals in pooled.items()}


def _mean(vals: list[float]) -> float:
    finite = [v for v in vals if not math.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")
