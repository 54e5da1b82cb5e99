"""RCVSR ablation at a fixed small budget (issue 27): what each ingredient of the recipe contributes.

Every variant is ``configs/rcvsr_wild.yaml`` (stage 1: animevideov3 body + SPyNet init, teacher and GT targets,
temporal term, RealBasicVSR degradations) trained for the same ``--steps`` from the same initialisation and seed,
with one ingredient changed:

* ``full``: the recipe as shipped;
* ``gt_only``: no teacher targets (no real clips, teacher and frequency weights 0, L1 to the GT at weight 1);
* ``no_temporal``: the temporal term off;
* ``negvsr``: NegMix on the inputs and L_Aug-N (0.5), noise bank extracted from ``noise_source/flir_009_1``;
* ``vcisr``: the VCISR preset (video-codec block) for the synthetic clips instead of RealBasicVSR's;
* ``full_seed1``: the recipe as shipped with another seed (other samples, degradations and draws): the spread a
  difference between variants must exceed to mean anything at this budget.

Each variant's raw weights (not the EMA: at a budget of tens of steps an EMA of decay 0.99 still holds most of the
shared initialisation, 0.99**80 = 45 %, and would hide the differences) are exported and scored by
``benchmarks/realworld_default.py`` in ``--eval`` (the same crops, clips and flows as the other methods there; its
caches make a rerun cheap). Runs resume: a finished variant is not trained again. The teacher cache of the full
recipe serves every variant whose samples it has seen.

    python benchmarks/rcvsr_ablation.py --runs ~/wildvsr-runs/ablation --eval ~/wildvsr-runs/bench/rw64 --steps 50
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RECIPE = ROOT / "configs" / "rcvsr_wild.yaml"


def variants(bank: Path) -> dict[str, list[str]]:
    return {
        "full": [],
        "gt_only": ["distill.real_fraction=0", "distill.teacher_loss.weight=0", "distill.frequency_weight=0",
                    "loss.pixel.weight=1.0"],
        "no_temporal": ["distill.temporal.weight=0"],
        "negvsr": ["negvsr.enabled=true", f"negvsr.noise_bank={bank}", "loss.aug_negative_weight=0.5"],
        "vcisr": ["degradation.preset=vcisr"],
        "full_seed1": ["seed=1"],
    }


def wildvsr(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "wildvsr", *args], check=True, cwd=ROOT)


def train(name: str, overrides: list[str], runs: Path, steps: int) -> Path:
    """Train (or resume) one variant; returns its exported raw weights."""
    out, weights = runs / name, runs / f"{name}.safetensors"
    if weights.exists():
        return weights
    sets = [a for o in [f"train.max_steps={steps}", f"train.checkpoint_every={max(1, steps // 2)}", *overrides]
            for a in ("--set", o)]
    wildvsr("train", str(RECIPE), "--output", str(out), *(["--resume"] if (out / "checkpoints").exists() else []),
            *sets)
    wildvsr("export", str(out), str(weights), "--half")
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=Path, required=True, help="run folders (outside the repository)")
    parser.add_argument("--eval", type=Path, required=True, help="realworld_default.py --out folder")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated variants (default: all)")
    args = parser.parse_args()
    runs = args.runs.expanduser()
    runs.mkdir(parents=True, exist_ok=True)
    bank = runs / "noise_bank"
    if not bank.exists():
        wildvsr("extract-noise", str(DATA / "noise_source" / "flir_009_1"), "--out", str(bank))
    chosen = {k: v for k, v in variants(bank).items() if not args.only or k in args.only.split(",")}
    labels = {name: f"ablation_{name}_{args.steps}" for name in chosen}
    specs = [f"{labels[name]}=rcvsr@{train(name, overrides, runs, args.steps)}" for name, overrides in chosen.items()]
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "realworld_default.py"), "--out", str(args.eval),
                    "--crop", str(args.crop), "--frames", str(args.frames), "--models", "rrdbnet.x4plus",
                    "--stabilizers", "", "--no-timing", "--video-models", ",".join(specs)], check=True, cwd=ROOT)
    rows = json.loads((args.eval.expanduser() / "results.json").read_text())["rows"]
    print(f"\n| variant ({args.steps} steps) | NIQE | BRISQUE | WE real | Vid4 PSNR-Y | WE Vid4 |")
    print("|---|---|---|---|---|---|")
    for name in ["rrdbnet.x4plus", *labels.values()]:
        r = rows[name]
        print(f"| {name} | {r['niqe']:.2f} | {r['brisque']:.1f} | {r['we_real']:.2f} | {r['psnr_y']:.2f} | "
              f"{r['we_vid4']:.2f} |")


if __name__ == "__main__":
    main()
