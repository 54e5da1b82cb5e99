"""``torchrun --nproc_per_node 2 -m wildvsr train`` with gloo: both ranks end with identical weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from helpers.train import TINY

from wildvsr.train.checkpoint import latest_checkpoint, load_checkpoint


@pytest.mark.slow
def test_torchrun_two_ranks_identical_weights(clip_dir, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "wildvsr", "train", str(TINY), "--output", str(out), "--max-steps", "5",
           "--set", f"data.roots=[{clip_dir}]", "--set", "data.batch_size=1", "--set", "train.log_every=1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    digests = [r["weight_digests"] for r in records if "weight_digests" in r][-1]
    assert len(digests) == 2 and digests[0] == digests[1]  # each rank hashed its own generator weights
    state = load_checkpoint(latest_checkpoint(out / "checkpoints"))
    assert state["step"] == 5 and state["world_size"] == 2 and len(state["rng"]) == 2
    assert state["sampler"]["samples_seen"] == 10
    # the two ranks drew different RNG streams (per-rank seeds) yet hold the same weights
    assert not torch.equal(state["rng"][0]["torch"], state["rng"][1]["torch"])


@pytest.mark.slow
def test_torchrun_mgld_stage1_two_ranks_identical_weights(clip_dir, tmp_path):
    """MGLD-VSR's step calls the model's parts, not DDP's forward: its own gradient average keeps the ranks equal
    (without it each rank would follow its own samples)."""
    pytest.importorskip("diffusers")
    out = tmp_path / "mgld_ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    config = TINY.parents[2] / "configs" / "mgldvsr_stage1.yaml"
    tiny = ["model.kwargs={size: tiny}", "data.gt_size=32", "data.num_frames=3", "data.batch_size=1",
            "data.num_workers=0", "degradation.preset=bicubic", "train.device=cpu", "train.amp=fp32",
            "train.log_every=1", f"data.roots=[{clip_dir}]"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "wildvsr", "train", str(config), "--output", str(out), "--max-steps", "3",
           *[arg for s in tiny for arg in ("--set", s)]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    digests = [r["weight_digests"] for r in records if "weight_digests" in r][-1]
    assert len(digests) == 2 and digests[0] == digests[1]
