"""Upscaling speed and peak memory per precision and input size.

For each (precision, size) it runs the Upscaler over a synthetic clip (one warm-up window first) and prints ms per
output frame and peak memory: CUDA peak allocated memory on GPU (torch.cuda.max_memory_allocated), process peak RSS
growth on CPU (ru_maxrss after the run minus before it; a peak that an earlier, larger run already reached shows as
~0, so sizes run smallest first, each in a fresh process with --isolate).

    python benchmarks/upscale_speed.py                                  # CPU, fp32, 64x64 and 128x128, 8 frames
    python benchmarks/upscale_speed.py --device cuda --precision fp32 bf16 fp16 --size 320x180 640x360 1280x720 \
        --frames 40
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from wildvsr.inference import Upscaler
from wildvsr.models import create_model


def synthetic(frames: int, height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    base = (np.sin(xx / 9.0)[..., None] * 60 + np.cos(yy / 7.0)[..., None] * 60 + 128).astype(np.float32)
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        shifted = np.roll(base, t, axis=1) + rng.normal(0, 4, (height, width, 1))
        out[t] = np.clip(np.repeat(shifted, 3, -1) * (0.8, 1.0, 0.9), 0, 255).astype(np.uint8)
    return out


def measure(model_name: str, weights: str | None, device: str, precision: str, size: str, frames: int,
            chunk_size: int, overlap: int, tile: int | None) -> dict:
    w, h = map(int, size.split("x"))
    model = create_model(model_name, weights=weights)
    up = Upscaler(model, device, precision, chunk_size=chunk_size, overlap=overlap, tile=tile)
    clip = synthetic(frames, h, w)
    up.process_window(clip[: min(2, frames)])  # warm-up (cuDNN autotune, allocator)
    if up.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(up.device)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    out = up.upscale_frames(clip)
    if up.device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    if up.device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(up.device) / 2**20
        kind = "GPU peak allocated"
    else:
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
        kind = "RSS growth"
    assert out.shape == (frames, 4 * h, 4 * w, 3)
    return {"device": str(up.device), "precision": precision, "size": size, "frames": frames,
            "ms_per_frame": 1000 * dt / frames, "peak_mib": peak, "memory": kind,
            "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="basicvsr")
    parser.add_argument("--weights", default="reds4")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", nargs="+", default=["fp32"])
    parser.add_argument("--size", nargs="+", default=["64x64", "128x128"], help="input WxH")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--chunk-size", type=int, default=24)
    parser.add_argument("--overlap", type=int, default=8)
    parser.add_argument("--tile", type=int, default=None)
    parser.add_argument("--isolate", action="store_true", help="each measurement in a fresh process (CPU RSS)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: precision,size for --isolate
    args = parser.parse_args()

    common = (args.model, args.weights, args.device)
    rest = (args.frames, args.chunk_size, args.overlap, args.tile)
    if args.one:
        precision, size = args.one.split(",")
        print(json.dumps(measure(*common, precision, size, *rest)))
        return
    print(f"model {args.model} ({args.weights}), {args.frames} frames, chunk {args.chunk_size}, overlap "
          f"{args.overlap}, tile {args.tile}")
    print("| device | precision | input | output | ms / frame | peak memory (MiB) | threads |")
    print("|---|---|---|---|---|---|---|")
    for precision in args.precision:
        for size in args.size:
            if args.isolate:
                cmd = [sys.executable, __file__, *sys.argv[1:], "--one", f"{precision},{size}"]
                r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
            else:
                r = measure(*common, precision, size, *rest)
            w, h = map(int, size.split("x"))
            print(f"| {r['device']} | {precision} | {size} | {4 * w}x{4 * h} | {r['ms_per_frame']:.0f} | "
                  f"{r['peak_mib']:.0f} ({r['memory']}) | {r['threads']} |", flush=True)


if __name__ == "__main__":
    main()
