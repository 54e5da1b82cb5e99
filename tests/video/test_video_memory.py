"""Reading memory does not grow with the video's length (peak RSS of a fresh process, measured)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np

CHILD = """
import resource, sys
from wildvsr.video import VideoReader
n = 0
with VideoReader(sys.argv[1]) as reader:
    for frame in reader:
        n += 1
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _clip(path: Path, num_frames: int) -> Path:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (80, 80, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for t in range(num_frames):
            img = np.ascontiguousarray(base[t % 9:t % 9 + 64, t % 13:t % 13 + 64])
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _peak_mib(path: Path) -> tuple[int, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True,
                         timeout=120)
    n, kib = out.stdout.split()
    return int(n), int(kib) / 1024  # ru_maxrss is in KiB on Linux


def test_peak_rss_2000_frames_within_50mb_of_100_frames(tmp_path):
    n_short, peak_short = _peak_mib(_clip(tmp_path / "short.mp4", 100))
    n_long, peak_long = _peak_mib(_clip(tmp_path / "long.mp4", 2000))
    assert (n_short, n_long) == (100, 2000)
    assert peak_long - peak_short < 50, f"100 frames: {peak_short:.1f} MiB, 2000 frames: {peak_long:.1f} MiB"
