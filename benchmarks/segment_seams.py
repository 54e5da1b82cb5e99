"""Seam fidelity of segments (issue 28): a clip restored in segments vs in one run, for real models on a real clip.

For each model the clip is restored whole and cut into segments at ``--cuts`` (frame indices; by default off the
chunk grid, the hard case: a segment on the grid runs exactly the whole run's model calls). Reported per model:

* PSNR (dB, RGB, 8-bit) of the segmented frames against the whole run's: the first frame after each seam and the
  worst frame overall, and the largest difference in grey levels;
* warping error (grey levels, SPyNet flow, occlusion-masked; ``wildvsr.metrics.warping``) of the frame pairs across
  each seam vs the pairs inside the segments: a seam that jumps shows here even where PSNR is high.

    python benchmarks/segment_seams.py --clip ../shared/data/real_lq/dove_demo/003.mp4 --crop 128x96 \
        --models basicvsr rcvsr.wild rrdbnet.x4plus:fusion
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--crop", default=None, help="WxH from the top-left (less CPU for large models)")
    parser.add_argument("--frames", type=int, default=48, help="first N frames of the clip")
    parser.add_argument("--models", nargs="+", default=["basicvsr", "rcvsr.wild", "rrdbnet.x4plus:fusion"],
                        help="registry names; NAME:SETTING adds a temporal stabilizer setting")
    parser.add_argument("--cuts", default="17,34", help="segment starts, comma-separated")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()

    from wildvsr.inference import UpscaleConfig, upscale_video
    from wildvsr.inference.segments import Segment
    from wildvsr.metrics.warping import warping_error
    from wildvsr.video import VideoReader, VideoWriter

    work = Path(tempfile.mkdtemp(prefix="wildvsr-seams-"))
    src = work / "clip"
    with VideoReader(args.clip) as reader, VideoWriter(src) as writer:  # a PNG folder: exact frames, any crop
        for frame in reader.frames(0, args.frames):
            image = frame.image
            if args.crop:
                w, h = (int(v) for v in args.crop.split("x"))
                image = image[:h, :w]
            writer.write(image)
    n = len(list(src.iterdir()))
    cuts = [int(c) for c in args.cuts.split(",")]
    bounds = [0, *cuts, n]
    rows = []
    for entry in args.models:
        name, _, temporal = entry.partition(":")
        cfg = UpscaleConfig(model=name, device="cpu", temporal=temporal or "auto", codec="ffv1")
        whole = _read(upscale_video(src, work / f"{entry}_whole.mkv", cfg))
        parts = [_read(upscale_video(src, work / f"{entry}_{a}.mkv", cfg, segment=Segment(a, b)))
                 for a, b in zip(bounds, bounds[1:])]
        joined = np.concatenate(parts)
        _, pairs = warping_error(joined, per_pair=True)  # pairs[t - 1]: frames t-1 -> t
        _, whole_pairs = warping_error(whole, per_pair=True)
        inside = [e for t, e in enumerate(pairs, 1) if t not in cuts]
        row = {"model": entry, "frames": n, "size": f"{whole.shape[2] // 4}x{whole.shape[1] // 4}", "cuts": cuts,
               "seam_psnr": [_psnr(joined[c], whole[c]) for c in cuts],
               "worst_psnr": min(_psnr(a, b) for a, b in zip(joined, whole)),
               "max_levels": int(np.abs(joined.astype(int) - whole.astype(int)).max()),
               "seam_warping": [pairs[c - 1] for c in cuts], "whole_run_warping_at_seams": [whole_pairs[c - 1]
                                                                                           for c in cuts],
               "inside_warping_mean": float(np.mean(inside)), "inside_warping_max": float(np.max(inside))}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| model | seam PSNR vs whole (dB) | worst frame (dB) | max diff (levels) | warping at seams "
          "(whole run there) | inside: mean / max |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {', '.join(_db(v) for v in r['seam_psnr'])} | {_db(r['worst_psnr'])} | "
              f"{r['max_levels']} | {', '.join(f'{v:.2f}' for v in r['seam_warping'])} "
              f"({', '.join(f'{v:.2f}' for v in r['whole_run_warping_at_seams'])}) | "
              f"{r['inside_warping_mean']:.2f} / {r['inside_warping_max']:.2f} |")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


def _read(path: Path) -> np.ndarray:
    from wildvsr.video import VideoReader

    with VideoReader(path) as r:
        return np.stack([f.image for f in r])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _db(value: float) -> str:
    return "identical" if value == float("inf") else f"{value:.1f}"


if __name__ == "__main__":
    main()
