"""Cost of one step of the distillation recipe (configs/distill_realesrgan.yaml): FLOPs counted, GPU-hours projected.

    python benchmarks/distill_cost.py [--lq 64] [--frames 30] [--batch 2] [--steps 50000] [--count-frames 4]

Counts FLOPs with ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matmuls; elementwise ops and
grid_sample are not counted) for the real models with random weights (FLOPs do not depend on the values):
the teacher forward (per frame), the student forward + backward (on ``--count-frames`` frames, scaled linearly to
``--frames``; SPyNet frozen) and the SPyNet flows of the temporal term (both directions, ``frames - 1`` pairs).
The GPU-hours are FLOPs / an ASSUMED sustained throughput (a table over several values): no GPU was measured.
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.flop_counter import FlopCounterMode

from wildvsr.models import create_model


def count(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lq", type=int, default=64, help="LQ crop side (GT = 4x)")
    ap.add_argument("--frames", type=int, default=30, help="sequence length L of the recipe")
    ap.add_argument("--batch", type=int, default=2, help="sequences per step (all GPUs together)")
    ap.add_argument("--steps", type=int, default=50_000)
    ap.add_argument("--count-frames", type=int, default=4, help="L the student is counted at (scaled to --frames)")
    args = ap.parse_args()
    torch.set_grad_enabled(True)
    s, pixels = args.lq, args.lq * args.lq

    teacher = create_model("rrdbnet").eval().requires_grad_(False)  # x4plus sizes (23 blocks, 64 ch)
    x = torch.rand(1, 3, s, s)
    with torch.no_grad():
        teacher_frame = count(lambda: teacher(x))

    student = create_model("realbasicvsr")  # 64 ch, 20 + 20 blocks
    student.basicvsr.spynet.requires_grad_(False)
    clip = torch.rand(1, args.count_frames, 3, s, s)

    def step() -> None:
        out, cleaned = student(clip, return_lqs=True)
        (out.mean() + cleaned.mean()).backward()

    student_fwd = count(lambda: student(clip))
    student_step = count(step)
    spynet = create_model("spynet").eval()
    a, b = torch.rand(1, 3, s, s), torch.rand(1, 3, s, s)
    with torch.no_grad():
        flow_pair = count(lambda: spynet(a, b))

    n, L = args.batch, args.frames
    per_step = {
        "teacher fwd": teacher_frame * n * L,
        "student fwd+bwd": student_step / args.count_frames * n * L,
        "temporal flows": flow_pair * 2 * n * (L - 1),
    }
    total = sum(per_step.values())
    print(f"per LQ pixel (forward): teacher {teacher_frame / pixels / 1e6:.1f} MFLOP, student "
          f"{student_fwd / args.count_frames / pixels / 1e6:.1f} MFLOP (incl. its SPyNet), SPyNet pair "
          f"{flow_pair / pixels / 1e6:.1f} MFLOP  (FLOP = 2 x multiply-accumulate)")
    print(f"\none step: batch {n} x L {L} at {s}x{s} LQ")
    print(f"{'part':<18}{'TFLOP':>10}{'share':>8}")
    for k, v in per_step.items():
        print(f"{k:<18}{v / 1e12:>10.3f}{100 * v / total:>7.1f}%")
    print(f"{'total':<18}{total / 1e12:>10.3f}")
    print(f"\n{args.steps} steps = {total * args.steps / 1e15:.1f} PFLOP; GPU-hours at an ASSUMED sustained rate:")
    print(f"{'sustained TFLOP/s':>18}{'GPU-hours':>12}")
    for rate in (25, 50, 100, 200):
        print(f"{rate:>18}{total * args.steps / (rate * 1e12) / 3600:>12.1f}")


if __name__ == "__main__":
    main()
