"""Cost of the compact model against the default (issue 27): multiply-adds per input pixel, model-only and end-to-end
CPU time per 320x180 frame, and memory over clip length.

* multiply-adds: ``torch.utils.flop_counter`` on one 180x320 frame (a clip of 2 frames for video models, per frame),
  halved (it counts a multiply-add as 2 FLOPs); SPyNet's convolutions included.
* model-only: CPU seconds (process time) of one forward over ``--frames`` real frames (``real_lq/videolq_000``
  resized to 320x180), after a warm-up, in ``--precision``.
* end to end: ``wildvsr upscale`` in a subprocess on an H.264 file of those frames (H.264 out), its CPU time (user +
  system, from ``os.wait4``) per frame. (Not its peak RSS: a forked child's ``ru_maxrss`` includes the parent's pages
  at fork time; ``benchmarks/stabilizer_memory.py`` measures memory in a fresh process.)

All methods run in one process, one after the other (compare rows of one run; this VM's speed drifts between runs).

    python benchmarks/compact_cost.py --models rrdbnet.x4plus rcvsr.wild --frames 4 --precision fp32
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from wildvsr.inference import UpscaleConfig, build_upscaler
from wildvsr.models import create_model
from wildvsr.video import VideoReader, VideoWriter

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SIZE = (180, 320)


def real_frames(count: int) -> np.ndarray:
    """``count`` real frames at 320x180 (antialiased resize of VideoLQ clip 000, looped if needed)."""
    from PIL import Image

    with VideoReader(DATA / "real_lq" / "videolq_000") as reader:
        frames = [np.asarray(f.image) for f in reader]
    out = [np.asarray(Image.fromarray(frames[i % len(frames)]).resize(SIZE[::-1], Image.Resampling.BICUBIC))
           for i in range(count)]
    return np.stack(out)


def _split(spec: str) -> tuple[str, str | None]:
    """``name`` or ``name@weights-file``."""
    name, _, weights = spec.partition("@")
    return name, weights or None


def macs_per_pixel(spec: str) -> float:
    name, weights = _split(spec)
    model = create_model(name, weights=weights).eval()
    temporal = model.temporal
    x = torch.rand(1, 2, 3, *SIZE) if temporal else torch.rand(1, 3, *SIZE)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() / 2 / (2 if temporal else 1) / (SIZE[0] * SIZE[1])


def model_only(spec: str, frames: np.ndarray, precision: str) -> float:
    """CPU seconds per frame of the Upscaler's model calls on ``frames`` (whole clip; warm-up first)."""
    name, weights = _split(spec)
    upscaler = build_upscaler(UpscaleConfig(model=name, weights=weights, device="cpu", precision=precision, tile=0))
    upscaler.upscale_frames(frames[:2])
    start = time.process_time()
    upscaler.upscale_frames(frames)
    return (time.process_time() - start) / len(frames)


def end_to_end(spec: str, src: Path, dst: Path, num_frames: int, precision: str) -> dict:
    """``wildvsr upscale`` in a subprocess: CPU s/frame (user + system), wall s/frame, peak RSS MiB."""
    name, weights = _split(spec)
    cmd = [sys.executable, "-m", "wildvsr", "upscale", str(src), str(dst), "--model", name, "--device", "cpu",
           "--precision", precision, "--quiet", *(["--weights", weights] if weights else [])]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    if status != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err}")
    return {"cpu_s_per_frame": (usage.ru_utime + usage.ru_stime) / num_frames, "wall_s_per_frame": wall / num_frames}


def write_clip(path: Path, frames: np.ndarray) -> Path:
    with VideoWriter(path, codec="libx264", crf=18) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["rrdbnet.x4plus", "rcvsr.wild"])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--precision", nargs="+", default=["fp32"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    frames = real_frames(args.frames)
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = write_clip(Path(tmp) / "in.mp4", frames)
        for name in args.models:
            rows[name] = {"macs_per_pixel_M": macs_per_pixel(name) / 1e6}
            for precision in args.precision:
                rows[name][f"model_s_{precision}"] = model_only(name, frames, precision)
                e2e = end_to_end(name, src, Path(tmp) / f"out{len(rows)}_{precision}.mp4", len(frames), precision)
                rows[name].update({f"{k}_{precision}": v for k, v in e2e.items()})
                print(name, precision, json.dumps(rows[name]), flush=True)
    base = rows[args.models[0]]
    print("\n| model | M multiply-adds / input px | " + " | ".join(
        f"model-only CPU s/frame {p} | end-to-end CPU s/frame {p}" for p in args.precision) + " |")
    print("|---|---|" + "---|---|" * len(args.precision))
    for name, r in rows.items():
        cells = [f"{r['macs_per_pixel_M']:.2f} ({r['macs_per_pixel_M'] / base['macs_per_pixel_M']:.3f}x)"]
        for p in args.precision:
            cells += [f"{r[f'model_s_{p}']:.2f} ({r[f'model_s_{p}'] / base[f'model_s_{p}']:.3f}x)",
                      f"{r[f'cpu_s_per_frame_{p}']:.2f} ({r[f'cpu_s_per_frame_{p}'] / base[f'cpu_s_per_frame_{p}']:.3f}x)"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
