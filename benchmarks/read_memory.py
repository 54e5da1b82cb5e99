"""Peak memory of streaming a whole video through ``VideoReader``, against the video's length.

Each read runs in a fresh Python process (so peaks do not mix) and reports its peak RSS (``ru_maxrss``). Clips are
synthetic H.264 made here with PyAV. Run: ``python benchmarks/read_memory.py [--lengths 100 2000 8000] [--sizes 64x64
320x240]``. The issue's goal: a 2,000-frame clip peaks within 50 MB of a 100-frame one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

CHILD = """
import resource, sys, time
from wildvsr.video import VideoReader
t = time.perf_counter()
n = 0
with VideoReader(sys.argv[1]) as reader:
    for frame in reader:
        n += int(frame.image.shape[0] > 0)
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - t)
"""


def make_clip(path: Path, num_frames: int, height: int, width: int) -> Path:
    """Moving noise+gradient content (so the encoder cannot make every frame trivial), H.264 ultrafast."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (height + num_frames % 7 + 8, width + 8, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for t in range(num_frames):
            dy, dx = t % 7, (t // 3) % 8
            img = np.ascontiguousarray(base[dy:dy + height, dx:dx + width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def measure(path: Path) -> tuple[int, float, float]:
    """(frames read, peak RSS in MiB, seconds) of reading ``path`` in a fresh process."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    n, kib, seconds = out.stdout.split()
    return int(n), int(kib) / 1024, float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 2000, 8000])
    parser.add_argument("--sizes", nargs="+", default=["64x64", "320x240"])
    args = parser.parse_args()
    print("| size | frames | read | peak RSS (MiB) | vs shortest (MiB) | read time (s) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            width, height = (int(v) for v in size.split("x"))
            base = None
            for length in args.lengths:
                clip = make_clip(Path(tmp) / f"{size}_{length}.mp4", length, height, width)
                n, peak, seconds = measure(clip)
                base = peak if base is None else base
                print(f"| {size} | {length} | {n} | {peak:.1f} | {peak - base:+.1f} | {seconds:.2f} |", flush=True)
                clip.unlink()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
