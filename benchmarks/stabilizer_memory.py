"""Peak memory of an upscale does not grow with the video's length: a stabilized per-frame model, or a video model.

Each run is a fresh subprocess (peaks don't mix) through the real streaming path: VideoReader, the real weights
(default ``srvgg.animevideov3``, the cheapest per-frame model; the stabilizer's state is one input and one output
frame whatever the model), the ``fusion`` stabilizer with the real SPyNet, resume chunks, VideoWriter with x264.
glibc's mmap threshold is fixed as in ``tests/inference/test_inference_memory.py`` so that the peak tracks live
memory. A video model (``--model rcvsr.wild --temporal off``) carries its state from chunk to chunk instead.

    python benchmarks/stabilizer_memory.py [--size 64x48] [--frames 40 240] [--temporal fusion]
    python benchmarks/stabilizer_memory.py --model rcvsr.wild --temporal off --size 96x72
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: tests/helpers

from helpers.media import synthetic_frames, write_clip  # noqa: E402

SCRIPT = """
import resource, sys
from wildvsr.inference import UpscaleConfig, upscale_video
upscale_video(sys.argv[1], sys.argv[2], UpscaleConfig(model=sys.argv[4], temporal=sys.argv[3], device="cpu",
                                                      precision="fp32"))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
"""
QUIET_ALLOCATOR = {"OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": str(1 << 20)}


def peak_rss_mib(src: Path, dst: Path, temporal: str, model: str) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one upscale in a fresh process."""
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(src), str(dst), temporal, model], capture_output=True, text=True,
                         env={**os.environ, **QUIET_ALLOCATOR}, check=False)
    if run.returncode != 0:
        raise SystemExit(run.stderr)
    return int(run.stdout.strip().splitlines()[-1]) / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="64x48", help="input WxH")
    parser.add_argument("--frames", type=int, nargs="+", default=[40, 240])
    parser.add_argument("--temporal", nargs="+", default=["off", "fusion"])
    parser.add_argument("--model", default="srvgg.animevideov3")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    frames = synthetic_frames(max(args.frames), h, w, seed=11)
    print(f"| model | temporal | frames | input | peak RSS (MiB) | ratio to {args.frames[0]} frames | wall s |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        clips = {n: write_clip(Path(tmp) / f"in_{n}.mp4", frames[:n]) for n in args.frames}
        for temporal in args.temporal:
            first = None
            for n in args.frames:
                rss, wall = peak_rss_mib(clips[n], Path(tmp) / f"out_{temporal}_{n}.mp4", temporal, args.model)
                first = first or rss
                print(f"| {args.model} | {temporal} | {n} | {w}x{h} | {rss:.0f} | {rss / first:.3f} | {wall:.1f} |", flush=True)


if __name__ == "__main__":
    main()
