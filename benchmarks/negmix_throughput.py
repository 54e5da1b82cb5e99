"""NegMix throughput on a training batch (default B=4, T=30, 3 x 64 x 64): ms per batch, per device and rule.

Also times ``NoiseBank.sample`` (the CPU side of the noise draw) when ``--bank`` is given.

    python benchmarks/negmix_throughput.py [--batch 4] [--frames 30] [--size 64] [--repeats 50] [--bank BANK]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from wildvsr.negvsr import NoiseBank, negmix


def _time(fn, repeats: int, sync) -> list[float]:
    for _ in range(3):  # warm-up
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--bank", default=None)
    args = ap.parse_args()
    shape = (args.batch, args.frames, 3, args.size, args.size)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"NegMix on (B, T, C, H, W) = {shape}, float32, 4px patches, P drawn per sample; "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, load average {os.getloadavg()[0]:.1f}")
    print(f"{'device':<8}{'rule':<10}{'per_frame':<11}{'median ms':>10}{'p90 ms':>9}{'Mpix/s':>9}")
    for dev in devices:
        sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
        lq = torch.rand(shape, device=dev)
        noise = torch.rand(shape, device=dev)
        gen = torch.Generator(device=dev).manual_seed(0)
        for rule in ("paper", "official"):
            for per_frame in (True, False):
                t = _time(lambda lq=lq, noise=noise, gen=gen, rule=rule, pf=per_frame:
                          negmix(lq, noise, generator=gen, rule=rule, per_frame=pf), args.repeats, sync)
                med = statistics.median(t)
                p90 = sorted(t)[int(0.9 * (len(t) - 1))]
                mpix = args.batch * args.frames * args.size * args.size / (med / 1000) / 1e6
                print(f"{dev:<8}{rule:<10}{per_frame!s:<11}{med:>10.2f}{p90:>9.2f}{mpix:>9.1f}")
    if args.bank:
        bank = NoiseBank(args.bank)
        rng = np.random.default_rng(0)
        t = _time(lambda: bank.sample(args.batch, args.frames, args.size, args.size, rng), args.repeats, lambda: None)
        print(f"NoiseBank.sample({args.batch}, {args.frames}, {args.size}, {args.size}) from {len(bank)} sequences: "
              f"median {statistics.median(t):.2f} ms")


if __name__ == "__main__":
    main()
