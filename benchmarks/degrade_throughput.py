"""Degradation throughput for a training batch, split by where each part runs.

    python benchmarks/degrade_throughput.py [--preset realbasicvsr] [--batch 4] [--frames 30] [--size 256]
                                            [--repeats 3] [--device cpu|cuda] [--workers 0]

Parts (see ``wildvsr.degrade`` for the split): ``sample`` (NumPy, loader workers), ``tensor`` (blur / resize /
noise / final resize / sinc on ``--device``), ``jpeg`` (libjpeg via Pillow, CPU), ``codec`` (PyAV encoders, CPU).
Times are per batch, median over ``--repeats`` batches with fresh parameters; clips/s = batch / time. The CPU parts
are single-threaded per clip, so "CPU workers needed" for a target of N clips/s is N x (jpeg + codec) s/clip.
``--workers n`` passes a ``ThreadPoolExecutor(n)`` as ``cpu_executor`` (JPEG frames and codec clips in parallel).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from wildvsr.degrade import Degrader, load_preset
from wildvsr.degrade.pipeline import Degrader as _Base


class TimedDegrader(_Base):
    """A Degrader that accumulates the wall time of its CPU steps (JPEG, codec)."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.cpu_time = {"jpeg": 0.0, "codec": 0.0}

    def _run(self, op, *args, **kwargs):
        if op in ("jpeg", "codec"):
            t0 = time.perf_counter()
            super()._run(op, *args, **kwargs)
            self.cpu_time[op] += time.perf_counter() - t0
        else:
            super()._run(op, *args, **kwargs)


DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "hr_train" / "blackswan.mp4"


def _gt_batch(args) -> torch.Tensor:
    """``(B, T, 3, S, S)`` GT: random crops of ``--source`` (first T frames), or uniform noise."""
    if args.source == "noise" or not Path(args.source).exists():
        return torch.rand(args.batch, args.frames, 3, args.size, args.size)
    from wildvsr.video import VideoReader

    with VideoReader(args.source) as r:
        frames = np.stack([f.image for f in r.frames(0, args.frames)])  # (T, H, W, 3)
    rng = np.random.default_rng(1)
    crops = []
    for _ in range(args.batch):
        y = int(rng.integers(0, frames.shape[1] - args.size + 1))
        x = int(rng.integers(0, frames.shape[2] - args.size + 1))
        crops.append(frames[:, y:y + args.size, x:x + args.size])
    return torch.from_numpy(np.stack(crops)).permute(0, 1, 4, 2, 3).float() / 255


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="realbasicvsr")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=0, help="threads for the CPU steps (0: serial)")
    ap.add_argument("--source", default=str(DEFAULT_SOURCE),
                    help="clean video to crop GT clips from (codec cost depends on content; pure noise is the worst "
                         "case); 'noise' for uniform noise")
    args = ap.parse_args()

    deg = TimedDegrader(load_preset(args.preset))
    rng = np.random.default_rng(0)
    gen = torch.Generator(device=args.device).manual_seed(0)
    gt = _gt_batch(args).to(args.device)
    rows = {"sample": [], "tensor": [], "jpeg": [], "codec": [], "total": []}
    pool = ThreadPoolExecutor(args.workers) if args.workers > 0 else None
    Degrader(load_preset("bicubic"))(gt[:1, :2], rng)  # warm-up (imports, kernels)
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        params = deg.sample_params(args.batch, args.frames, rng)
        t1 = time.perf_counter()
        deg.cpu_time = {"jpeg": 0.0, "codec": 0.0}
        _sync(args.device)
        t2 = time.perf_counter()
        lq = deg.apply(gt, params, gen, cpu_executor=pool)
        _sync(args.device)
        t3 = time.perf_counter()
        rows["sample"].append(t1 - t0)
        rows["jpeg"].append(deg.cpu_time["jpeg"])
        rows["codec"].append(deg.cpu_time["codec"])
        rows["tensor"].append((t3 - t2) - deg.cpu_time["jpeg"] - deg.cpu_time["codec"])
        rows["total"].append(t3 - t2 + t1 - t0)
    assert lq.shape == (args.batch, args.frames, 3, args.size // 4, args.size // 4)

    print(f"source {args.source if Path(args.source).exists() else 'noise'}")
    print(f"preset {args.preset}, batch {args.batch} x {args.frames} frames, {args.size}x{args.size} -> "
          f"{args.size // 4}x{args.size // 4}, device {args.device}, torch threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} CPUs, CPU-step threads {args.workers}, load avg {os.getloadavg()[0]:.1f}")
    print(f"{'part':<8} {'where':<22} {'s/batch':>8} {'s/clip':>8} {'clips/s':>8}")
    where = {"sample": "CPU (loader worker)", "tensor": f"{args.device} (torch)", "jpeg": "CPU (Pillow/libjpeg)",
             "codec": "CPU (PyAV/FFmpeg)", "total": "all, serial"}
    med = {k: statistics.median(v) for k, v in rows.items()}
    for k, v in med.items():
        print(f"{k:<8} {where[k]:<22} {v:8.3f} {v / args.batch:8.3f} {args.batch / v if v > 0 else float('inf'):8.2f}")
    cpu_per_clip = (med["jpeg"] + med["codec"]) / args.batch
    print(f"CPU-bound parts (jpeg + codec): {cpu_per_clip:.3f} s per clip on one core -> "
          f"workers needed = target clips/s x {cpu_per_clip:.3f}")


if __name__ == "__main__":
    main()
