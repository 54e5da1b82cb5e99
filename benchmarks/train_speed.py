"""Training speed on this machine: it/s and data-wait fraction for the tiny test recipe and the real stage-1 recipe.

    python benchmarks/train_speed.py [--steps 6] [--workers 0] [--gt-size 64] [--frames 6]

Uses clips from ../shared/data/hr_train. The real recipe runs with its full model (64 ch, 20+20 blocks, BasicVSR init)
on a reduced crop/sequence (given by the flags) because this is a CPU; the H100 figures come from a GPU run instead.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from wildvsr.train import load_config
from wildvsr.train.distributed import DistInfo
from wildvsr.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
HR_TRAIN = ROOT.parent / "shared" / "data" / "hr_train"


def run(name: str, config: Path, overrides: list[str], steps: int) -> dict:
    cfg = load_config(config, [f"data.roots=[{HR_TRAIN}]", f"train.max_steps={steps}", "train.val_every=0",
                               f"train.log_every={steps}", f"train.checkpoint_every={10 * steps}", *overrides])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        trainer = Trainer(cfg, Path(tmp) / "run", dist_info=DistInfo(0, 1, 0, torch.device("cpu")))
        setup = time.perf_counter() - t0
        summary = trainer.fit()
    losses = summary["losses"]
    return {"name": name, "steps": steps, "setup_s": setup, "it_s": summary["it_s"], "data_wait": summary["data_wait"],
            "loss_first": float(np.mean(losses[:2])), "loss_last": float(np.mean(losses[-2:]))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--gt-size", type=int, default=64)
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--only", choices=["tiny", "stage1"], default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = []
    common = [f"data.num_workers={args.workers}", "train.device=cpu", "train.amp=fp32"]
    if args.only in (None, "tiny"):
        rows.append(run("tiny (8ch, 1 block, 64px, L=4, B=2)", ROOT / "tests/train/tiny.yaml",
                        common + ["degradation.preset=realbasicvsr"], args.steps))
    if args.only in (None, "stage1"):
        rows.append(run(f"stage1 full model ({args.gt_size}px GT, L={args.frames}, B=2)",
                        ROOT / "configs/realbasicvsr_stage1.yaml",
                        common + [f"data.gt_size={args.gt_size}", f"data.num_frames={args.frames}"], args.steps))
    print("| recipe | steps | setup s | it/s | data wait | loss first2 | loss last2 |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['steps']} | {r['setup_s']:.1f} | {r['it_s']:.3f} | {100 * r['data_wait']:.1f}% | "
              f"{r['loss_first']:.4f} | {r['loss_last']:.4f} |")


if __name__ == "__main__":
    main()
