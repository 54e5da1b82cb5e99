"""Run protocols: :func:`evaluate` scores existing outputs; :func:`benchmark` runs methods on a dataset and scores
them. Both write ``results.json``, ``results.csv``, ``results.md``, PNG plots and ``compare.html`` into ``out_dir``
(created atomically: it appears only when everything succeeded).
"""

from __future__ import annotations

import html
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from wildvsr.degrade import Degrader, load_preset
from wildvsr.errors import InputError
from wildvsr.evaluate import reports
from wildvsr.evaluate.datasets import center_crop, list_sequences, load_frames, split_quarters
from wildvsr.evaluate.methods import Method, check_method_names, create_method
from wildvsr.evaluate.protocols import Protocol, get_protocol
from wildvsr.evaluate.report_html import Panel, render_html
from wildvsr.evaluate.scoring import check_metric_names, make_metrics, score_sequence, summarise
from wildvsr.metrics import metric_info
from wildvsr.utils.device import resolve_device
from wildvsr.utils.files import atomic_path, check_output_path
from wildvsr.utils.frames import to_frames, to_tensor
from wildvsr.video import VideoReader

__all__ = ["BenchmarkConfig", "BenchmarkResult", "benchmark", "degrade_clip", "evaluate"]

logger = logging.getLogger(__name__)

CROP_VIEW = 320  # side of the crops shown in compare.html (output pixels)


def _metric_names(protocol: Protocol, metrics: list[str] | str | None, has_reference: bool) -> list[str]:
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    if not metrics:
        metrics = list(protocol.metrics)
        if protocol.name == "frames" and has_reference:
            metrics = ["psnr_y", "ssim_y"]
    check_metric_names(metrics)
    return [m.lower() for m in metrics]


def _count_frames(path) -> int:
    with VideoReader(path) as reader:
        return reader.count_frames()


def _check_frame_counts(seqs: list, refs: dict, video_metrics: list[str]) -> dict[str, int]:
    """``{sequence name: frames}``, before any scoring. Refuses a reference with another number of frames (scoring
    only the overlap would hide a mismatch) and a clip too short for a video metric (they compare frame pairs).

    Raises:
        InputError: naming both counts, or the metric and the count.
    """
    counts = {}
    for seq in seqs:
        n = counts[seq.name] = _count_frames(seq.path)
        if seq.name in refs and (m := _count_frames(refs[seq.name].path)) != n:
            raise InputError(f"{seq.path} has {n} frames but its reference {refs[seq.name].path} has {m}; give a "
                             f"reference with the same frames (trim the longer one)")
        for metric in video_metrics:
            if metric_info(metric).kind == "video" and n < 2:
                raise InputError(f"metric {metric} compares consecutive frames and needs at least two frames; "
                                 f"{seq.path} has {n}")
    return counts


def _needs_clip(names: list[str]) -> bool:
    return any(metric_info(n).kind == "video" for n in names)


def degrade_clip(gt: np.ndarray, preset: str, seed: int, index: int = 0) -> tuple[np.ndarray, dict]:
    """Degrade a clean clip ``(T, H, W, 3)`` uint8 (H, W multiples of 4) with a preset; the randomness is fixed by
    ``(seed, index)`` (index: the sequence's position in the dataset). Returns ``((T, H/4, W/4, 3) uint8, params)``."""
    degrader = Degrader(load_preset(preset))
    rng = np.random.default_rng([seed, index])
    params = degrader.sample_params(1, len(gt), rng)
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    x = to_tensor(gt)[None]
    with torch.no_grad():
        lq = degrader.apply(x, params, generator)
    out = to_frames(lq[0])
    return out, params.to_dict()


def _crop_pair(images: list[np.ndarray], size: int = CROP_VIEW) -> list[np.ndarray]:
    """The same central crop of same-sized ``(H, W, 3)`` images."""
    return [center_crop(img[None], size)[0] for img in images]


def _nearest_x4(img: np.ndarray) -> np.ndarray:
    return img.repeat(4, axis=0).repeat(4, axis=1)


def _summary_html(results: dict) -> str:
    metrics = list(results["metrics"])
    rows = "".join("<tr><td>" + html.escape(m) + "</td>" + "".join(
        f"<td>{r['mean'].get(k, float('nan')):.4f}</td>" for k in metrics) + "</tr>"
        for m, r in results["methods"].items())
    head = "".join(f"<th>{html.escape(k)}</th>" for k in metrics)
    return f"<table border=\"1\" cellpadding=\"4\"><tr><th>method</th>{head}</tr>{rows}</table>"


def _write_all(results: dict, panels: list[Panel], out_dir: Path, overwrite: bool) -> Path:
    with atomic_path(out_dir, overwrite=overwrite, directory=True) as tmp:
        reports.write_json(results, tmp / "results.json")
        reports.write_csv(results, tmp / "results.csv")
        reports.write_markdown(results, tmp / "results.md")
        reports.write_plots(results, tmp)
        title = f"wildvsr {results['protocol']['name']}: " + ", ".join(results["methods"])
        (tmp / "compare.html").write_text(render_html(title, panels, _summary_html(results)), encoding="utf-8")
    return out_dir


def _metric_infos(names: list[str]) -> dict:
    out = {}
    for n in names:
        info = metric_info(n)
        out[n] = {"kind": info.kind, "lower_better": info.lower_better, "color_space": info.color_space,
                  "crop_border": info.crop_border, "description": info.description}
    return out


def evaluate(outputs: str | os.PathLike, reference: str | os.PathLike | None = None, protocol: str = "frames",
             metrics: list[str] | str | None = None, out_dir: str | os.PathLike = "evaluation",
             overwrite: bool = False, device: str = "cpu", progress: Callable[[int], None] | None = None,
             name: str | None = None) -> dict:
    """Score existing results (a sequence or a folder of sequences) under a protocol.

    ``reference`` (same layout; sequences matched by name, or the only one with the only one) enables full-reference
    metrics. Outputs are taken as they are: the ``flir`` protocol here keeps only its frame selection (split the
    inputs before running the method; :func:`benchmark` does that). ``name`` labels the results (default: the
    outputs' file or folder name). ``progress`` is called with 1 after each sequence; its ``set_total(n)``, when it
    has one, with the number of sequences first. Returns the results dict (also written).

    Raises:
        UnknownModelError (protocol/metric), InputError, OutputExistsError.
    """
    # an unusable device fails before any work, with the one message every job gives; "auto" is settled here
    device = str(resolve_device(device))
    proto = get_protocol(protocol)
    names = _metric_names(proto, metrics, reference is not None)
    if reference is None:
        for n in names:
            if metric_info(n).needs_reference:
                raise InputError(f"metric {n!r} compares with ground truth; pass --reference GT")
    out_dir = check_output_path(out_dir, overwrite=overwrite, inputs=[outputs] + ([reference] if reference else []))
    seqs = list_sequences(outputs)
    if progress is not None and hasattr(progress, "set_total"):
        progress.set_total(len(seqs))
    refs = {}
    if reference is not None:
        ref_seqs = list_sequences(reference)
        if len(seqs) == 1 and len(ref_seqs) == 1:
            refs = {seqs[0].name: ref_seqs[0]}
        else:
            by_name = {s.name: s for s in ref_seqs}
            missing = [s.name for s in seqs if s.name not in by_name]
            if missing:
                raise InputError(f"reference {reference} has no sequence named {missing[0]}")
            refs = {s.name: by_name[s.name] for s in seqs}
    need_clip = _needs_clip(names)
    counts = _check_frame_counts(seqs, refs, names if need_clip else [])
    metric_objs = make_metrics(names, device)
    method = name or Path(outputs).stem or "outputs"
    sequences, panels = {}, []
    for k, seq in enumerate(seqs):
        n = counts[seq.name]
        indices = proto.select(n)
        clip = load_frames(seq.path, max_frames=indices[-1] + 1) if need_clip else None
        frames = clip[indices] if clip is not None else load_frames(seq.path, indices=indices)
        ref_clip = ref = None
        if seq.name in refs:
            ref_clip = load_frames(refs[seq.name].path, max_frames=indices[-1] + 1) if need_clip else None
            ref = ref_clip[indices] if ref_clip is not None else load_frames(refs[seq.name].path, indices=indices)
            if ref.shape != frames.shape:
                raise InputError(f"{seq.name}: output frames {frames.shape[1:3]} and reference "
                                 f"{ref.shape[1:3]} differ in size")
        sequences[seq.name] = score_sequence(metric_objs, frames, indices, ref, clip, ref_clip)
        if k == 0:
            mid = len(indices) // 2
            if ref is not None:
                left, right = _crop_pair([ref[mid], frames[mid]])
                panels.append(Panel(f"{seq.name} frame {indices[mid]}", right, method, left, "reference"))
            else:
                panels.append(Panel(f"{seq.name} frame {indices[mid]}", _crop_pair([frames[mid]])[0], method))
        if progress is not None:
            progress(1)
    results = {"protocol": proto.to_dict(), "metrics": _metric_infos(names),
               "settings": {"outputs": str(outputs), "reference": str(reference) if reference else None,
                            "device": device},
               "methods": {method: {"seconds_per_frame": None, "mean": summarise(sequences), "sequences": sequences}}}
    _write_all(results, panels, out_dir, overwrite)
    return results


def _names(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """Names from a comma-separated string or a list of them (``"a,b"`` and ``("a", "b")`` alike)."""
    items = [value] if isinstance(value, str) else list(value or ())
    return tuple(n.strip() for item in items for n in item.split(",") if n.strip())


@dataclass(frozen=True)
class BenchmarkConfig:
    """Settings of one benchmark (schema for :func:`wildvsr.config.from_dict`).

    Attributes:
        methods: names (``bicubic``, a model, ``name.tag``, a weights file), a list or comma-separated.
        protocol: ``frames``, ``videolq``, ``flir`` or ``synthetic``.
        preset, seed: degradation of the ``synthetic`` protocol.
        device: where the models and the warping-error flow run.
        max_frames: use only the first frames of each sequence (on top of the protocol's own limit).
        crop: central ``crop`` x ``crop`` crop of each input frame (for speed), before the FLIR split / degradation.
        metrics: override the protocol's metrics (a list or comma-separated; None: the protocol's).
        overwrite: replace an existing report folder.
    """

    methods: tuple[str, ...]
    protocol: str = "frames"
    preset: str = "realbasicvsr"
    seed: int = 0
    device: str = "cpu"
    max_frames: int | None = None
    crop: int | None = None
    metrics: tuple[str, ...] | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", _names(self.methods))
        if self.metrics is not None:
            object.__setattr__(self, "metrics", _names(self.metrics))
        if not self.methods:
            raise InputError("no methods given; e.g. --methods bicubic,basicvsr")


@dataclass(frozen=True)
class BenchmarkResult:
    """Scores and timings of a benchmark; :meth:`to_dict` is what ``results.json`` holds."""

    protocol: dict[str, Any]
    metrics: dict[str, Any]
    settings: dict[str, Any]
    methods: dict[str, Any]
    degradation_params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{"protocol", "metrics", "settings", "methods"}``, plus ``"degradation_params"`` when any."""
        out = {"protocol": self.protocol, "metrics": self.metrics, "settings": self.settings, "methods": self.methods}
        if self.degradation_params:
            out["degradation_params"] = self.degradation_params
        return out


@dataclass
class _Scores:
    """What the benchmark loop fills: per method, per sequence scores; compare.html panels; degradations."""

    per_method: dict[str, dict]
    panels: list[Panel] = field(default_factory=list)
    degradations: dict[str, Any] = field(default_factory=dict)


def benchmark(dataset: str | os.PathLike, config: BenchmarkConfig, out_dir: str | os.PathLike = "benchmark",
              progress: Callable[[int], None] | None = None) -> BenchmarkResult:
    """Run methods on a dataset under a protocol and score them.

    Args:
        dataset: a sequence or a folder of sequences (input LQ videos; clean GT for ``synthetic``).
        config: methods, protocol and settings.
        out_dir: report folder (must not exist unless ``config.overwrite``).
        progress: called with 1 after each (sequence, method) run; its ``set_total(n)``, when it has one, with the
            number of runs once the dataset is listed (a FLIR sequence is four quarter sequences).

    Returns:
        The results (also written to ``out_dir``).
    """
    # an unusable device fails before any work, with the one message every job gives; "auto" is settled here
    device = str(resolve_device(config.device))
    proto = get_protocol(config.protocol)
    check_method_names(list(config.methods))
    names = _metric_names(proto, list(config.metrics or ()), proto.degrade)
    if proto.degrade:
        load_preset(config.preset)  # unknown preset: fail before any work
    out_dir = check_output_path(out_dir, overwrite=config.overwrite, inputs=[dataset])
    seqs = list_sequences(dataset)
    runners = [create_method(m, device) for m in config.methods]
    first = load_frames(seqs[0].path, max_frames=2, crop=64)
    for runner in runners:  # one untimed call: lazy initialisation and allocator warm-up stay out of s/frame
        runner.warmup(first)
    metric_objs = make_metrics(names, device)
    limits = [v for v in (config.max_frames, proto.max_frames) if v is not None]
    scores = _Scores({r.name: {} for r in runners})
    if progress is not None and hasattr(progress, "set_total"):
        progress.set_total(len(seqs) * (4 if proto.split_quarters else 1) * len(runners))
    for k, seq in enumerate(seqs):
        frames = load_frames(seq.path, max_frames=min(limits) if limits else None, crop=config.crop)
        clips = [(f"{seq.name}_q{q}", c) for q, c in enumerate(split_quarters(frames))] if proto.split_quarters \
            else [(seq.name, frames)]
        for j, (name, clip) in enumerate(clips):
            gt = None
            if proto.degrade:
                gt = center_crop(clip, None, multiple=4)
                clip, scores.degradations[name] = degrade_clip(gt, config.preset, config.seed, k)
            for runner in runners:
                _run_and_score(runner, name, clip, gt, proto.select(len(clip)), metric_objs, _needs_clip(names),
                               scores, with_panels=k == 0 and j == 0, last=runner is runners[-1])
                if progress is not None:
                    progress(1)
    result = BenchmarkResult(
        protocol=proto.to_dict(), metrics=_metric_infos(names),
        settings={"dataset": str(dataset), "methods": list(config.methods), "device": device,
                  "max_frames": config.max_frames, "crop": config.crop,
                  **({"preset": config.preset, "seed": config.seed} if proto.degrade else {})},
        methods={r.name: {"description": r.description, "seconds_per_frame": r.seconds_per_frame,
                          "frames_run": r.frames, "mean": summarise(scores.per_method[r.name]),
                          "sequences": scores.per_method[r.name]} for r in runners},
        degradation_params=scores.degradations)
    _write_all(result.to_dict(), scores.panels, out_dir, config.overwrite)
    return result


def _run_and_score(runner: Method, name: str, clip: np.ndarray, gt: np.ndarray | None, indices: list[int],
                   metric_objs: list, need_clip: bool, scores: _Scores, with_panels: bool, last: bool) -> None:
    """Run one method on one clip ``(T, H, W, 3)`` uint8, score the protocol's frames ``indices`` (against ``gt``
    when the protocol degraded it) and, for the first clip, add its compare.html panels."""
    if runner.temporal or need_clip:
        out = runner(clip)
        scored = out[indices]
    else:
        out, scored = None, runner(clip[indices])
    scores.per_method[runner.name][name] = score_sequence(
        metric_objs, scored, indices, None if gt is None else gt[indices], out if need_clip else None,
        gt if need_clip else None)
    if not with_panels:
        return
    mid = len(indices) // 2
    left, right = _crop_pair([_nearest_x4(clip[indices[mid]]), scored[mid]])
    scores.panels.append(Panel(f"{name} frame {indices[mid]}: input vs {runner.name}", right, runner.name, left,
                               "input (nearest x4)"))
    if gt is not None and last:
        left, right = _crop_pair([gt[indices[mid]], scored[mid]])
        scores.panels.append(Panel(f"{name} frame {indices[mid]}: clean vs {runner.name}", right, runner.name,
                                   left, "clean GT"))
