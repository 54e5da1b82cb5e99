"""Choose the real-world default: bicubic, BasicVSR, each per-frame model, and each with each stabilizer setting.

Same inputs side by side:

* real: ``real_lq/videolq_000`` and the 7 ``real_lq/dove_demo`` clips, videolq protocol: NIQE and BRISQUE on the
  first, middle and last output frame (mean over all scored images), warping error on every pair;
* synthetic: Vid4 (``hr_eval/vid4``) degraded with the ``realbasicvsr`` preset, seed 0 (index = the clip's position):
  PSNR/SSIM on Y against the clean frames, warping error.

Warping error: one flow per clip shared by every method, SPyNet on the bicubic-x4 input (real clips) or on the clean
frames (Vid4, as the synthetic protocol does), so all methods are measured against the same motion and the expensive
flow runs once per clip; 0-255 scale.

Each per-frame model runs once per clip (fp32; the raw float output is cached under ``--out``), every stabilizer
setting is then applied to that cache. Video models (``--video-models``, e.g. our ``rcvsr.wild``) run on the whole
crop clip through the Upscaler in fp32, as ``wildvsr upscale`` runs them. CPU seconds per frame (process time) are
measured on the crop and scaled to a 320x180 input by the pixel count (every step is convolutional: cost grows with
pixels).

The default follows the rule (issue 27: cost counts): the *cheapest* setting whose NIQE is within 0.5 of the best
plain per-frame model's (the one with the lowest NIQE), whose BRISQUE is at most 1.25x that model's and whose warping
error on the real clips is at most 0.6x that model's.

    nice python benchmarks/realworld_default.py --out scratch/realworld --crop 80 --frames 6 \
        --video-models rcvsr.wild
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from wildvsr.evaluate.datasets import list_sequences, load_frames
from wildvsr.evaluate.methods import bicubic_x4
from wildvsr.evaluate.protocols import get_protocol
from wildvsr.evaluate.runner import degrade_clip
from wildvsr.metrics.brisque import calculate_brisque
from wildvsr.metrics.full_reference import calculate_psnr, calculate_ssim
from wildvsr.metrics.niqe import calculate_niqe
from wildvsr.metrics.warping import spynet_flow_fn, warping_error
from wildvsr.utils.frames import to_frames, to_tensor

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PER_FRAME_MODELS = ("rrdbnet.x4plus", "rrdbnet.x4plus_anime", "srvgg.animevideov3")
REFERENCE_PIXELS = 320 * 180


def load_clips(crop: int, frames: int) -> list[dict]:
    """``[{name, kind, lq (T,h,w,3) uint8, gt or None}]``: real clips centre-cropped, Vid4 cropped then degraded."""
    clips = []
    real = [DATA / "real_lq" / "videolq_000"] + [s.path for s in list_sequences(DATA / "real_lq" / "dove_demo")]
    for path in real:
        lq = load_frames(path, max_frames=frames, crop=crop)
        clips.append({"name": path.stem, "kind": "real", "lq": np.ascontiguousarray(lq), "gt": None})
    for index, seq in enumerate(list_sequences(DATA / "hr_eval" / "vid4")):
        gt = np.ascontiguousarray(load_frames(seq.path, max_frames=frames, crop=4 * crop))
        lq, _ = degrade_clip(gt, "realbasicvsr", 0, index)
        clips.append({"name": f"vid4_{seq.name}", "kind": "vid4", "lq": lq, "gt": gt})
    return clips


def run_per_frame(name: str, lq: np.ndarray) -> tuple[np.ndarray, float]:
    """Raw float x4 output ``(T, 3, 4h, 4w)`` of a per-frame model, fp32 one frame at a time, and CPU s/frame."""
    from wildvsr.models import create_model

    model = create_model(name).eval()
    outs = []
    start = time.process_time()
    with torch.no_grad():
        for frame in to_tensor(lq):
            outs.append(model(frame[None]).float())
    return torch.cat(outs).numpy(), (time.process_time() - start) / len(lq)


def run_video(lq: np.ndarray, name: str = "basicvsr") -> tuple[np.ndarray, float]:
    """A video model (``name`` or ``name@weights-file``) on the clip through the Upscaler in fp32: uint8 frames and
    CPU s/frame."""
    from wildvsr.inference import UpscaleConfig, build_upscaler

    model, _, weights = name.split("=", 1)[-1].partition("@")
    upscaler = build_upscaler(UpscaleConfig(model=model, weights=weights or None, device="cpu", precision="fp32"))
    start = time.process_time()
    out = upscaler.upscale_frames(lq)
    return out, (time.process_time() - start) / len(lq)


def label(name: str) -> str:
    """The table's name of a method given as ``name``, ``name@weights-file`` or ``label=name@weights-file`` (to
    compare checkpoints of one architecture side by side)."""
    tag, eq, spec = name.partition("=")
    return tag if eq else spec.partition("@")[0] if spec else tag.partition("@")[0]


def time_methods(lq: np.ndarray, models: list[str], settings: list[str], video_models: list[str]) -> dict[str, float]:
    """CPU seconds per frame of each method on ``lq`` ``(T, h, w, 3)``, measured back to back in this process (the
    per-clip figures of a long run on a shared machine are not comparable); a stabilizer's figure adds its own
    cost to its model's."""
    from wildvsr.inference.stabilizer import build_stabilizer

    seconds = {}
    start = time.process_time()
    bicubic_x4(lq)
    seconds["bicubic"] = (time.process_time() - start) / len(lq)
    for video in ["basicvsr", *video_models]:
        run_video(lq[:2], video)  # warm-up (first-call allocations)
        seconds[label(video)] = run_video(lq, video)[1]
    for model in models:
        run_per_frame(model, lq[:1])
        raw, seconds[model] = run_per_frame(model, lq)
        for setting in settings:
            stab = build_stabilizer(setting, "cpu")
            stab(to_tensor(lq[:2]), torch.from_numpy(raw[:2]))
            stab.reset()
            start = time.process_time()
            stab(to_tensor(lq), torch.from_numpy(raw))
            seconds[f"{model}+{setting}"] = seconds[model] + (time.process_time() - start) / len(lq)
    return seconds


class SharedFlow:
    """A flow function that remembers its results (in memory and in ``path``): every method of a clip is scored with
    the same flows, computed once."""

    def __init__(self, path: Path) -> None:
        self.spynet = spynet_flow_fn("cpu")
        self.path = path
        self.cache: dict = torch.load(path) if path.exists() else {}

    def __call__(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        key = f"{tuple(ref.shape)}:{float(ref.double().sum()):.3f}:{float(supp.double().sum()):.3f}"
        if key not in self.cache:
            self.cache[key] = self.spynet(ref, supp)
        return self.cache[key]

    def save(self) -> None:
        torch.save(self.cache, self.path)


def score(clip: dict, out: np.ndarray, flow: SharedFlow, flow_ref: np.ndarray) -> dict:
    """Metrics of one method's output ``(T, H, W, 3)`` uint8 on one clip."""
    res = {"warping_error": warping_error(out, flow_ref, flow_fn=flow)}
    if clip["kind"] == "real":
        idx = get_protocol("videolq").select(len(out))
        res["niqe"] = [calculate_niqe(out[i]) for i in idx]
        res["brisque"] = [calculate_brisque(out[i]) for i in idx]
    else:
        res["psnr_y"] = float(np.mean([calculate_psnr(o, g, test_y_channel=True) for o, g in zip(out, clip["gt"])]))
        res["ssim_y"] = float(np.mean([calculate_ssim(o, g, test_y_channel=True) for o, g in zip(out, clip["gt"])]))
    return res


def summarise(per_clip: dict[str, dict]) -> dict:
    real = [v for k, v in per_clip.items() if not k.startswith("vid4_")]
    vid4 = [v for k, v in per_clip.items() if k.startswith("vid4_")]
    return {"clips_real": len(real), "clips_vid4": len(vid4),
            "niqe": float(np.mean([x for v in real for x in v["niqe"]])),
            "brisque": float(np.mean([x for v in real for x in v["brisque"]])),
            "we_real": float(np.mean([v["warping_error"] for v in real])),
            "psnr_y": float(np.mean([v["psnr_y"] for v in vid4])),
            "ssim_y": float(np.mean([v["ssim_y"] for v in vid4])),
            "we_vid4": float(np.mean([v["warping_error"] for v in vid4]))}


def choose(rows: dict[str, dict], seconds: dict[str, float], per_frame: list[str]) -> tuple[str | None, list[str]]:
    """The rule: the cheapest setting with NIQE <= ref + 0.5, BRISQUE <= 1.25x ref and real-clip warping error <=
    0.6x ref, where ref is the plain per-frame model with the lowest NIQE."""
    refs = [m for m in per_frame if m in rows]
    if not refs:
        return None, []
    ref = rows[min(refs, key=lambda m: rows[m]["niqe"])]
    eligible = [name for name, r in rows.items()
                if r["niqe"] <= ref["niqe"] + 0.5 and r["brisque"] <= 1.25 * ref["brisque"]
                and r["we_real"] <= 0.6 * ref["we_real"]]
    return (min(eligible, key=lambda n: seconds.get(n, float("inf"))) if eligible else None), eligible


def markdown(rows: dict[str, dict], seconds: dict[str, float], plain: dict[str, str]) -> str:
    lines = ["| method | clips real/Vid4 | NIQE | BRISQUE | WE real | WE / per-frame | Vid4 PSNR-Y | Vid4 SSIM-Y | "
             "WE Vid4 | CPU s/frame 320x180 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        base = plain.get(name)
        ratio = f"{r['we_real'] / rows[base]['we_real']:.2f}" if base else ""
        lines.append(f"| {name} | {r['clips_real']}/{r['clips_vid4']} | {r['niqe']:.3f} | {r['brisque']:.2f} | "
                     f"{r['we_real']:.3f} | {ratio} | "
                     f"{r['psnr_y']:.2f} | {r['ssim_y']:.4f} | {r['we_vid4']:.3f} | {seconds.get(name, float('nan')):.1f} |")
    return "\n".join(lines) + "\n"


def write_figure(out_dir: Path, clip: str, methods: list[str], path: Path, frame: int | None = None,
                 size: int = 160) -> None:
    """Side by side: the input (nearest x4) and each method's output, the same central crop of one frame (default
    the last: the stabilizer has run longest there), labelled; a small PNG."""
    from PIL import Image, ImageDraw

    data = np.load(out_dir / f"outputs__{clip}.npz")
    lq = data["lq"]
    frame = len(lq) - 1 if frame is None else frame
    panels = [("input", lq[frame].repeat(4, 0).repeat(4, 1))]
    panels += [(m, data[m.replace("+", "__")][frame]) for m in methods]
    h, w = panels[0][1].shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    canvas = Image.new("RGB", (size * len(panels), size + 14), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (name, img) in enumerate(panels):
        canvas.paste(Image.fromarray(np.ascontiguousarray(img[y:y + size, x:x + size])), (i * size, 14))
        draw.text((i * size + 2, 1), name, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, optimize=True)


def main() -> None:
    from wildvsr.inference.stabilizer import STABILIZERS, build_stabilizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("scratch/realworld"))
    parser.add_argument("--crop", type=int, default=80, help="centre crop of the input, pixels (Vid4: of the LR)")
    parser.add_argument("--frames", type=int, default=6, help="first N frames of each clip")
    parser.add_argument("--models", default=",".join(PER_FRAME_MODELS))
    parser.add_argument("--video-models", default="", help="comma-separated video models besides BasicVSR "
                        "(name, name.tag, name@weights-file or label=name@weights-file)")
    parser.add_argument("--stabilizers", default=",".join(STABILIZERS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clips", default="", help="comma-separated clip names to score now (default: all)")
    parser.add_argument("--cached-only", action="store_true", help="skip models whose output is not cached yet")
    parser.add_argument("--no-timing", action="store_true", help="skip the back-to-back CPU timing of new methods "
                        "(checkpoints of an architecture already timed cost the same)")
    parser.add_argument("--figure", type=Path, default=None, help="also write the comparison picture here")
    parser.add_argument("--figure-clip", default="videolq_000")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cache = args.out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    clips = load_clips(args.crop, args.frames)
    scale = REFERENCE_PIXELS / (args.crop * args.crop)
    models = [m for m in args.models.split(",") if m]
    settings = [s for s in args.stabilizers.split(",") if s]
    video_models = [m for m in args.video_models.split(",") if m]

    per_method: dict[str, dict[str, dict]] = {}
    cpu: dict[str, list[float]] = {}
    plain: dict[str, str] = {}
    for clip in clips:
        name, lq = clip["name"], clip["lq"]
        if args.clips and name not in args.clips.split(","):
            continue
        scores_path = args.out / f"scores__{name}.json"  # finished scores: a rerun only adds what is new
        scores = json.loads(scores_path.read_text()) if scores_path.exists() else {}
        flow, flow_ref = SharedFlow(args.out / f"flows__{name}.pt"), (bicubic_x4(lq) if clip["gt"] is None
                                                                       else clip["gt"])
        outputs: dict[str, np.ndarray] = {}
        seconds: dict[str, float] = {}
        start = time.process_time()
        outputs["bicubic"] = bicubic_x4(lq)
        seconds["bicubic"] = (time.process_time() - start) / len(lq)
        for spec in ["basicvsr", *video_models, *models]:
            method = label(spec)
            path = cache / f"{method}__{name}.npz"
            if path.exists():
                data = np.load(path)
                raw, spf = data["out"], float(data["seconds"])
            elif args.cached_only:
                continue
            else:
                raw, spf = run_per_frame(method, lq) if method in models else run_video(lq, spec)
                np.savez(path, out=raw, seconds=spf)
                print(f"{name}: {method} {spf * scale:.1f} CPU s/frame at 320x180", flush=True)
            seconds[method] = spf
            if method not in models:  # video models give uint8 frames
                outputs[method] = raw
                continue
            sr = torch.from_numpy(raw)
            outputs[method] = to_frames(sr)
            for setting in settings:
                stab = build_stabilizer(setting, "cpu")
                start = time.process_time()
                stabilized = stab(to_tensor(lq), sr)
                key = f"{method}+{setting}"
                seconds[key] = spf + (time.process_time() - start) / len(lq)
                outputs[key] = to_frames(stabilized)
                plain[key] = method
        for method, out in outputs.items():
            if method not in scores:
                scores[method] = {**score(clip, out, flow, flow_ref), "cpu_s_per_frame": seconds[method]}
        flow.save()
        scores_path.write_text(json.dumps(scores, indent=1))
        for method, res in scores.items():
            per_method.setdefault(method, {})[name] = res
            cpu.setdefault(method, []).append(res["cpu_s_per_frame"])
        np.savez_compressed(args.out / f"outputs__{name}.npz", lq=lq, **{k.replace("+", "__"): v
                                                                         for k, v in outputs.items()})
        print(f"{name}: {len(scores)} methods scored", flush=True)

    rows = {m: summarise(v) for m, v in per_method.items()}
    timing_path = args.out / "timing.json"  # timed once per method list: a rerun with a new method times all again
    timing = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    if not set(rows) <= set(timing) and not args.no_timing:
        timing = time_methods(clips[0]["lq"], models, settings, video_models)
        timing_path.write_text(json.dumps(timing))
    seconds = {m: v * scale for m, v in timing.items()}
    default, eligible = choose(rows, seconds, models)
    table = markdown(rows, seconds, plain)
    result = {"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows, "cpu_s_per_frame_320x180": seconds,
              "per_clip": per_method, "eligible": eligible, "default": default}
    (args.out / "results.json").write_text(json.dumps(result, indent=1))
    (args.out / "table.md").write_text(table + f"\nEligible: {', '.join(eligible) or 'none'}\nDefault: {default}\n")
    print(table)
    print("eligible:", eligible, "default:", default)
    if args.figure is not None and default is not None:
        model = default.partition("+")[0]
        write_figure(args.out, args.figure_clip, ["bicubic", "basicvsr", model, default], args.figure)


if __name__ == "__main__":
    main()
