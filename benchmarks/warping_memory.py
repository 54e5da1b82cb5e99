"""Peak memory and time of the warping error (SPyNet flow) on large frames, against the per-call pixel budget.

Each measurement runs in a fresh Python process and reports its peak RSS (``ru_maxrss``). The clip is a random
texture panning one pixel per frame. Run: ``python benchmarks/warping_memory.py [--size 2560x1440] [--frames 5]
[--budgets 0 4194304]`` (budget 0 = no limit, i.e. ``batch_size`` pairs per flow call).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

CHILD = """
import resource, sys, time
import numpy as np
from wildvsr.metrics.warping import warping_error
w, h, n, budget = (int(v) for v in sys.argv[1:5])
rng = np.random.default_rng(0)
base = rng.integers(0, 256, (1, h // 16, w // 16, 3), dtype=np.uint8).repeat(16, axis=1).repeat(16, axis=2)
frames = np.concatenate([np.roll(base, i, axis=2) for i in range(n)])
t = time.perf_counter()
value = warping_error(frames, max_pixels=budget or 1 << 62)
print(value, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - t)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="2560x1440", help="WxH, multiples of 16")
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--budgets", type=int, nargs="+", default=[0, 1 << 22])
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    print(f"warping error, {args.frames} frames of {w}x{h}, CPU")
    print("| max_pixels | warping error | peak RSS (MiB) | seconds |")
    print("|---|---|---|---|")
    for budget in args.budgets:
        out = subprocess.run([sys.executable, "-c", CHILD, str(w), str(h), str(args.frames), str(budget)],
                             capture_output=True, text=True, check=True).stdout.split()
        value, rss_kib, seconds = float(out[0]), int(out[1]), float(out[2])
        print(f"| {budget or 'unlimited'} | {value:.4f} | {rss_kib / 1024:.0f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
