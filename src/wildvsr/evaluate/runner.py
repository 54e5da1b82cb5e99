"""Run protocols: :func:`evaluate` scores existing outputs; :func:`benchmark` runs methods on a dataset and scores
them. Both write ``results.json``, ``results.csv``, ``results.md``, PNG plots and ``compare.html`` into ``out_dir``
(created atomically: it appears only when everything succeeded).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

from wildvsr.errors import InputError
from wildvsr.evaluate import reports
from wildvsr.evaluate.datasets import center_crop, list_sequences, load_frames, split_quarters
from wildvsr.evaluate.protocols import Protocol, get_protocol
from wildvsr.evaluate.report_html import Panel, render_html
from wildvsr.evaluate.scoring import check_metric_names, make_metrics, score_sequence, summarise
from wildvsr.metrics import metric_info
from wildvsr.utils.device import resolve_device
from wildvsr.utils.files import atomic_path, check_output_path
from wildvsr.utils.frames import to_frames, to_tensor

__all__ = ["benchmark", "degrade_clip", "evaluate"]

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
    from wildvsr.video import VideoReader

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
    import torch

    from wildvsr.degrade import Degrader, load_preset

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
    import html

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
    outputs' file or folder name). Returns the results dict (also written).

    Raises:
        UnknownModelError (protocol/metric), InputError, OutputExistsError.
    """
    resolve_device(device)  # an unusable device fails before any work, with the one message every job gives
    proto = get_protocol(protocol)
    names = _metric_names(proto, metrics, reference is not None)
    if reference is None:
        for n in names:
            if metric_info(n).needs_reference:
                raise InputError(f"metric {n!r} compares with ground truth; pass --reference GT")
    out_dir = check_output_path(out_dir, overwrite=overwrite, inputs=[outputs] + ([reference] if reference else []))
    seqs = list_sequences(outputs)
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


def benchmark(dataset: str | os.PathLike, methods: list[str] | str, protocol: str = "frames",
              out_dir: str | os.PathLike = "benchmark", preset: str = "realbasicvsr", seed: int = 0,
              device: str = "cpu", max_frames: int | None = None, crop: int | None = None,
              metrics: list[str] | str | None = None, overwrite: bool = False,
              progress: Callable[[int], None] | None = None) -> dict:
    """Run methods on a dataset under a protocol and score them.

    Args:
        dataset: a sequence or a folder of sequences (input LQ videos; clean GT for ``synthetic``).
        methods: names (``bicubic``, a model, ``name.tag``, a weights file), a list or comma-separated.
        protocol: ``frames``, ``videolq``, ``flir`` or ``synthetic``.
        out_dir: report folder (must not exist unless ``overwrite``).
        preset, seed: degradation of the ``synthetic`` protocol.
        device: where the models and the warping-error flow run.
        max_frames: use only the first frames of each sequence (on top of the protocol's own limit).
        crop: central ``crop`` x ``crop`` crop of each input frame (for speed), before the FLIR split / degradation.
        metrics: override the protocol's metrics.
        progress: called with 1 after each (sequence, method).

    Returns:
        The results dict (also written to ``out_dir``).
    """
    from wildvsr.evaluate.methods import check_method_names, create_method

    resolve_device(device)  # an unusable device fails before any work, with the one message every job gives
    proto = get_protocol(protocol)
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    if not methods:
        raise InputError("no methods given; e.g. --methods bicubic,basicvsr")
    check_method_names(list(methods))
    names = _metric_names(proto, metrics, proto.degrade)
    if proto.degrade:
        from wildvsr.degrade import load_preset

        load_preset(preset)  # unknown preset: fail before any work
    out_dir = check_output_path(out_dir, overwrite=overwrite, inputs=[dataset])
    seqs = list_sequences(dataset)
    limits = [v for v in (max_frames, proto.max_frames) if v is not None]
    limit = min(limits) if limits else None
    runners = [create_method(m, device) for m in methods]
    first = load_frames(seqs[0].path, max_frames=2, crop=64)
    for runner in runners:  # one untimed call: lazy initialisation and allocator warm-up stay out of s/frame
        runner.warmup(first)
    metric_objs = make_metrics(names, device)
    need_clip = _needs_clip(names)
    per_method: dict[str, dict] = {r.name: {} for r in runners}
    panels: list[Panel] = []
    degradations = {}
    for k, seq in enumerate(seqs):
        frames = load_frames(seq.path, max_frames=limit, crop=crop)
        clips = [(f"{seq.name}_q{q}", c) for q, c in enumerate(split_quarters(frames))] if proto.split_quarters \
            else [(seq.name, frames)]
        for j, (name, clip) in enumerate(clips):
            gt = None
            if proto.degrade:
                gt = center_crop(clip, None, multiple=4)
                clip, degradations[name] = degrade_clip(gt, preset, seed, k)
            indices = proto.select(len(clip))
            for runner in runners:
                if runner.temporal or need_clip:
                    out = runner(clip)
                    scored = out[indices]
                else:
                    out, scored = None, runner(clip[indices])
                per_method[runner.name][name] = score_sequence(
                    metric_objs, scored, indices, None if gt is None else gt[indices], out if need_clip else None,
                    gt if need_clip else None)
                if k == 0 and j == 0:
                    mid = len(indices) // 2
                    left, right = _crop_pair([_nearest_x4(clip[indices[mid]]), scored[mid]])
                    panels.append(Panel(f"{name} frame {indices[mid]}: input vs {runner.name}", right, runner.name,
                                        left, "input (nearest x4)"))
                    if gt is not None and runner is runners[-1]:
                        left, right = _crop_pair([gt[indices[mid]], scored[mid]])
                        panels.append(Panel(f"{name} frame {indices[mid]}: clean vs {runner.name}", right,
                                            runner.name, left, "clean GT"))
                if progress is not None:
                    progress(1)
    results = {
        "protocol": proto.to_dict(), "metrics": _metric_infos(names),
        "settings": {"dataset": str(dataset), "methods": list(methods), "device": device, "max_frames": max_frames,
                     "crop": crop, **({"preset": preset, "seed": seed} if proto.degrade else {})},
        "methods": {r.name: {"description": r.description, "seconds_per_frame": r.seconds_per_frame,
                             "frames_run": r.frames, "mean": summarise(per_method[r.name]),
                             "sequences": per_method[r.name]} for r in runners},
    }
    if degradations:
        results["degradation_params"] = degradations
    _write_all(results, panels, out_dir, overwrite)
    return results
