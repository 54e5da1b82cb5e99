"""How close is chunked (streaming) inference to whole-sequence inference, per overlap?

Runs BasicVSR (official REDS4 weights) over the 31 frames of ``real_lq/videolq_000`` once as a whole sequence and
then chunked with each overlap, and prints the per-frame PSNR of chunked vs whole (mean over all frames, and the
worst frame). Context windows shared by several settings are computed once.

    python benchmarks/chunk_overlap_curve.py --crop 96                # CPU: a centre crop keeps it to minutes
    python benchmarks/chunk_overlap_curve.py --crop 0 --device cuda   # full 640x360 frames on a GPU
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from wildvsr.inference import Upscaler, plan_chunks
from wildvsr.defaults import DEFAULT_CHUNK_SIZE
from wildvsr.models import create_model

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_lq" / "videolq_000"


def load_clip(folder: Path, crop: int, frames: int) -> np.ndarray:
    """``(T, H, W, 3)`` uint8: the first ``frames`` PNGs, centre-cropped to ``crop`` x ``crop`` (0: full frame)."""
    imgs = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))[:frames]]
    clip = np.stack(imgs)
    if crop:
        h, w = clip.shape[1:3]
        y, x = (h - crop) // 2, (w - crop) // 2
        clip = clip[:, y:y + crop, x:x + crop]
    return np.ascontiguousarray(clip)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--crop", type=int, default=96, help="centre crop size in input pixels; 0 = full frames")
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--chunk-size", type=int, nargs="+", default=[DEFAULT_CHUNK_SIZE, 8])
    parser.add_argument("--overlaps", type=int, nargs="+", default=[0, 2, 4, 8, 16])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    clip = load_clip(args.data, args.crop, args.frames)
    up = Upscaler(create_model("basicvsr", weights="reds4"), args.device, chunk_size=len(clip), overlap=0)
    cache: dict[tuple[int, int], np.ndarray] = {}

    def window(start: int, stop: int) -> np.ndarray:
        if (start, stop) not in cache:
            cache[(start, stop)] = up.process_window(clip[start:stop])
        return cache[(start, stop)]

    t0 = time.perf_counter()
    whole = window(0, len(clip))
    print(f"clip: {len(clip)} frames of {clip.shape[2]}x{clip.shape[1]} ({args.data.name}, crop {args.crop or 'none'}),"
          f" device {up.device}")
    print("| chunk_size | overlap | model frames / clip frames | mean PSNR vs whole (dB) | worst frame PSNR (dB) |")
    print("|---|---|---|---|---|")
    for chunk in args.chunk_size:
        for overlap in args.overlaps:
            plan = plan_chunks(len(clip), chunk, overlap)
            out = np.concatenate([window(s.context_start, s.context_stop)[s.keep] for s in plan])
            per_frame = [psnr(a, b) for a, b in zip(out, whole)]
            cost = sum(s.context_stop - s.context_start for s in plan) / len(clip)
            mean = psnr(out, whole)
            print(f"| {chunk} | {overlap} | {cost:.2f} | {mean:.2f} | {min(per_frame):.2f} |", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s, {sum(k[1] - k[0] for k in cache)} frames through the model)")


if __name__ == "__main__":
    main()
