"""Bounded memory: peak RSS of a 240-frame run is within 15% of a 40-frame run, and grows by less than half of what
holding the 200 extra output frames would cost.

Each run is a fresh subprocess (so peaks don't mix) running the real streaming path -- VideoReader, chunking,
model, resume segments, VideoWriter with x264 -- with the tiny stand-in model, because BasicVSR itself would take
minutes per run on 2 CPU cores and its own memory depends only on the window size, not on the video length.
Chunks of 12 with 4 frames of overlap: the 40-frame run must already reach full ``T + 2*overlap`` windows (with the
default 24 + 2*8 = 40-frame window, a 40-frame clip never fills one and the comparison would be unfair).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import cli_env
from helpers.media import synthetic_frames, write_clip

SCRIPT = """
import resource, sys
from helpers.models import TinyBiRecurrent
from wildvsr.inference import UpscaleConfig, upscale_video
upscale_video(sys.argv[1], sys.argv[2], UpscaleConfig(device="cpu", chunk_size=12, overlap=4), model=TinyBiRecurrent())
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
"""


# glibc raises its mmap threshold after the first large free, so later chunk-sized buffers come from a fragmenting
# heap and the peak RSS jitters by ~90 MiB from chunk to chunk (measured: 40 frames 450-505 MiB, 240 frames 530-541
# MiB with identical steady state ~440 MiB); a longer run just samples more jitter. A fixed 1 MiB threshold returns
# freed buffers to the OS, so the peak tracks live memory (40 frames 431-435 MiB, 240 frames 460-462 MiB) and a real
# leak would still show.
QUIET_ALLOCATOR = {"OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": str(1 << 20)}


def peak_rss_kib(src: Path, dst: Path) -> int:
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(src), str(dst)],  # helpers: tests/ on PYTHONPATH
                         capture_output=True, text=True, timeout=600, env=cli_env(QUIET_ALLOCATOR, helpers=True))
    assert run.returncode == 0, run.stderr
    return int(run.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units differ off Linux")
def test_peak_memory_does_not_grow_with_length(tmp_path):
    h, w = 96, 128
    frames = synthetic_frames(240, h, w, seed=11)
    long = write_clip(tmp_path / "long.mp4", frames)
    short = write_clip(tmp_path / "short.mp4", frames[:40])
    rss_short = peak_rss_kib(short, tmp_path / "short_x4.mp4")
    rss_long = peak_rss_kib(long, tmp_path / "long_x4.mp4")
    ratio = rss_long / rss_short
    print(f"peak RSS: 40 frames {rss_short / 1024:.0f} MiB, 240 frames {rss_long / 1024:.0f} MiB, ratio {ratio:.3f}")
    assert ratio <= 1.15  # the criterion
    # The ~850 MiB baseline (torch, FFmpeg) could hide a leak inside 15%; this absolute bound cannot: holding the
    # 200 extra uint8 output frames (~113 MiB) would break it.
    extra_output_kib = 200 * (4 * h) * (4 * w) * 3 / 1024
    growth_kib = rss_long - rss_short
    assert growth_kib < 0.5 * extra_output_kib, (
        f"peak RSS grew {growth_kib / 1024:.0f} MiB with 200 more frames (bound {0.5 * extra_output_kib / 1024:.0f} MiB)")
