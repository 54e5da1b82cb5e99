"""The distillation recipe (issue 16) on tiny models: loss falls, exact resume, frozen teacher, teacher cache,
temporal term, data mix, export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers.train import write_clips

from wildvsr.errors import ConfigError
from wildvsr.train.config import TeacherConfig, load_config
from wildvsr.train.distill import DistillTrainer, Teacher
from wildvsr.train.distributed import DistInfo
from wildvsr.train.export import export_checkpoint
from wildvsr.train.losses import TemporalLoss, temporal_flows
from wildvsr.train.teacher_cache import TeacherCache, frame_key, input_digest

CPU = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
TINY_DISTILL = Path(__file__).with_name("distill_tiny.yaml")
TINY_TEACHER = TeacherConfig(name="rrdbnet", weights=None, kwargs={"num_feat": 8, "num_block": 1, "num_grow_ch": 4},
                             amp="fp32")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory) -> Path:
    """One 8-frame 28x24 'real LQ' clip (no GT): LQ crops of 16 have room to move."""
    return write_clips(tmp_path_factory.mktemp("real"), n=1, frames=8, height=24, width=28)


def distill_config(clip_dir: Path, *overrides: str):
    return load_config(TINY_DISTILL, [f"data.roots=[{clip_dir}]", *overrides])


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_distill_loss_falls_teacher_frozen_and_export(clip_dir, tmp_path):
    cfg = distill_config(clip_dir, "data.num_samples=2")
    trainer = DistillTrainer(cfg, tmp_path / "run", dist_info=CPU)
    before = {k: v.clone() for k, v in trainer.teacher.model.state_dict().items()}
    summary = trainer.fit()
    distill = [r["loss/distill"] for r in _records(tmp_path / "run") if "loss/distill" in r]
    print(f"tiny distill: loss/distill per 5 steps {[round(v, 4) for v in distill]}; {summary['it_s']:.2f} it/s")
    assert summary["step"] == 30 and len(distill) == 6
    assert distill[-1] < 0.7 * distill[0]
    # the teacher never received gradients and did not change
    teacher = trainer.teacher.model
    assert not teacher.training
    assert all(not p.requires_grad and p.grad is None for p in teacher.parameters())
    assert all(torch.equal(v, before[k]) for k, v in teacher.state_dict().items())
    # the checkpoint holds the student only; export turns it into upscale-loadable weights
    from wildvsr.models import from_pretrained

    out = export_checkpoint(tmp_path / "run", tmp_path / "student.safetensors", ema=True)
    student = from_pretrained(out)
    for k, v in trainer.ema.state_dict().items():
        assert torch.equal(student.state_dict()[k], v)


def test_gt_only_recipe_never_runs_the_teacher(clip_dir, tmp_path):
    """The ablation without teacher targets (no real clips, teacher and frequency weights 0): no term reads the
    teacher, so it must not cost a forward; the L1 to the GT still trains the student."""
    cfg = distill_config(clip_dir, "data.num_samples=2", "distill.teacher_loss.weight=0", "loss.pixel.weight=1.0",
                         "loss.cleaning.weight=0")
    trainer = DistillTrainer(cfg, tmp_path / "run", dist_info=CPU)
    calls = []
    forward = trainer.teacher.model.forward
    trainer.teacher.model.forward = lambda *a, **k: calls.append(1) or forward(*a, **k)
    trainer.fit()
    pix = [r["loss/pix"] for r in _records(tmp_path / "run") if "loss/pix" in r]
    assert calls == [] and "loss/distill" not in _records(tmp_path / "run")[0]
    assert pix[-1] < 0.8 * pix[0]


def test_distill_resume_equals_uninterrupted_and_cache_changes_nothing(clip_dir, real_dir, tmp_path):
    """10 steps == 5 + resume 5 (within 1e-6, the base trainer's tolerance: both runs do the same float operations in
    the same order), with half the samples real LQ, the temporal term on, and the split run reading its teacher
    targets from the on-disk cache (a fixed set of 2 samples with fixed degradations: steps 3-10 hit the cache)."""
    common = ("train.deterministic=true", "train.checkpoint_every=5", "data.num_samples=2",
              f"distill.real_roots=[{real_dir}]", "distill.real_fraction=0.5", "distill.fixed_degradation=true",
              "distill.temporal.weight=0.5", "loss.pixel.weight=1.0")
    full = DistillTrainer(distill_config(clip_dir, *common, "train.max_steps=10"), tmp_path / "full", dist_info=CPU)
    full.fit()
    cached = (*common, f"distill.teacher.cache_dir={tmp_path / 'cache'}")
    DistillTrainer(distill_config(clip_dir, *cached, "train.max_steps=5"), tmp_path / "split", dist_info=CPU).fit()
    second = DistillTrainer(distill_config(clip_dir, *cached, "train.max_steps=10"), tmp_path / "split",
                            resume=True, dist_info=CPU)
    assert second.step == 5 and len(second.teacher.cache) > 0  # the first half's outputs were read back from disk
    second.fit()
    assert second.teacher.cache.hits > 0 and second.teacher.cache.misses == 0
    a, b = full.raw_net_g.state_dict(), second.raw_net_g.state_dict()
    assert max((a[k].float() - b[k].float()).abs().max().item() for k in a) <= 1e-6
    records = _records(tmp_path / "full")
    assert {"loss/distill", "loss/pix", "loss/clean", "loss/temporal"} <= set(records[0])
    assert all(r["loss/temporal"] > 0 for r in records if "loss/temporal" in r)


def test_data_mix_real_samples_have_teacher_targets(clip_dir, real_dir, tmp_path):
    cfg = distill_config(clip_dir, f"distill.real_roots=[{real_dir}]", "distill.real_fraction=0.5",
                         "data.batch_size=4")
    trainer = DistillTrainer(cfg, tmp_path / "run", dist_info=CPU)
    kinds = [trainer.dataset.is_real(k) for k in range(200)]
    assert 0.35 < np.mean(kinds) < 0.65  # the mix is the config value (binomial, 200 draws)
    batch = next(iter(trainer.make_loader(0, 1)))
    assert batch["synthetic"] is not None and batch["real"] is not None  # ids 0-3 hold both kinds with seed 0
    g = torch.Generator().manual_seed(0)
    data = trainer.prepare_batch(batch, g)
    n = data["num_gt"]
    assert n == len(batch["synthetic"]["sample_id"]) and data["lq"].shape == (4, 4, 3, 16, 16)
    assert torch.equal(data["gt"][n:], data["teacher"][n:])  # no GT: the teacher output is the target
    assert torch.equal(data["gt"][:n], batch["synthetic"]["gt"])  # GT where there is one
    assert torch.equal(data["lq"][n:], batch["real"]["lq"])  # real LQ goes in as it is
    assert torch.equal(data["teacher"], trainer.teacher(data["lq"]))


def test_cached_teacher_outputs_equal_fresh(tmp_path):
    torch.manual_seed(0)
    lq = torch.rand(2, 4, 3, 12, 12)
    lq[:, 3] = lq[:, 0]  # a mirrored frame: same key and input, computed once
    keys = [[frame_key("real", f"clip{b}", t % 3, (0, 0, 12), (False, False, False)) for t in range(4)]
            for b in range(2)]
    fresh = Teacher(TINY_TEACHER, torch.device("cpu"))(lq)
    cached = Teacher(TINY_TEACHER, torch.device("cpu"), cache_dir=tmp_path / "cache")
    first = cached(lq, keys)
    assert torch.equal(first, fresh) and cached.cache.misses == 6 and cached.cache.hits == 0
    assert not (tmp_path / "cache" / "index.json").exists()  # nothing written before a flush
    cached.flush()
    again = Teacher(TINY_TEACHER, torch.device("cpu"), cache_dir=tmp_path / "cache")  # a resumed run: from disk
    assert len(again.cache) == 6
    assert torch.equal(again(lq, keys), fresh) and again.cache.hits == 8 and again.cache.misses == 0
    # same key, other input (a synthetic crop degraded differently): recomputed, never the stale output
    changed = lq.clone()
    changed[0, 1] += 0.01
    out = again(changed, keys)
    single = Teacher(TINY_TEACHER, torch.device("cpu"))(changed[:1, 1:2])  # computed alone, as the miss was
    assert again.cache.misses == 1 and torch.equal(out[0, 1], single[0, 0]) and not torch.equal(out[0, 1], fresh[0, 1])
    # a cache made by another teacher is refused
    with pytest.raises(ConfigError, match="another teacher"):
        Teacher(TeacherConfig(name="srvgg", weights=None, kwargs={"num_feat": 8, "num_conv": 2}, amp="fp32"),
                torch.device("cpu"), cache_dir=tmp_path / "cache")


def test_cache_index_is_written_after_its_shard(tmp_path):
    cache = TeacherCache(tmp_path, "t", shard_mb=1)
    x = torch.rand(3, 8, 8)
    cache.put("a", input_digest(x), x * 2)
    shard = cache.flush()
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["entries"]["a"][0] == shard.name and shard.is_file()
    (tmp_path / "shard_000001.safetensors").write_bytes(b"partial")  # an interrupted write: not in the index
    reopened = TeacherCache(tmp_path, "t")
    assert torch.equal(reopened.get("a", input_digest(x)), x * 2) and reopened.get("a", "other") is None
    reopened.put("b", "d", x)
    assert reopened.flush().name == "shard_000002.safetensors"  # never overwrites a shard


def test_temporal_term_zero_for_static_positive_for_flicker():
    """Static clip: the term is ~0 (SPyNet's flow between two identical frames is not exactly 0 - sub-pixel
    residuals up to ~0.3 px on 16x16 LQ - so a smooth static output warps to within 2e-3 of itself, not bitwise);
    a clip whose brightness flickers frame to frame: two orders of magnitude more."""
    from wildvsr.metrics import spynet_flow_fn

    torch.manual_seed(0)
    frame = F.interpolate(torch.rand(1, 3, 8, 8), size=(16, 16), mode="bilinear", align_corners=False)
    lq = frame[:, None].repeat(1, 4, 1, 1, 1)
    backward, mask = temporal_flows(lq, spynet_flow_fn("cpu"), scale=4)
    assert backward.shape == (1, 3, 2, 64, 64) and mask.shape == (1, 3, 1, 64, 64) and mask.float().mean() > 0.5
    out = F.interpolate(frame, scale_factor=4, mode="bilinear", align_corners=False)[:, None].repeat(1, 4, 1, 1, 1)
    loss = TemporalLoss(1.0)
    static = loss(out, backward, mask).item()
    flicker = loss(out * torch.tensor([1.0, 0.7, 1.2, 0.8]).view(1, 4, 1, 1, 1), backward, mask).item()
    exact = loss(out, torch.zeros_like(backward), torch.ones_like(mask)).item()
    print(f"temporal term: static {static:.2e}, flicker {flicker:.2e}")
    assert exact <= 1e-6 and static < 2e-3 and flicker > 100 * static


def test_distill_config_errors(clip_dir):
    with pytest.raises(ConfigError, match="distill.real_roots"):
        distill_config(clip_dir, "distill.real_fraction=0.5")
    with pytest.raises(ConfigError, match="distill.real_fraction"):
        distill_config(clip_dir, "distill.real_fraction=1.5")


def test_real_recipe_file_loads():
    cfg = load_config(REPO / "configs" / "distill_realesrgan.yaml")
    assert cfg.distill.enabled and cfg.distill.teacher.name == "rrdbnet" and cfg.distill.teacher.weights == "x4plus"
    assert cfg.model.name == "realbasicvsr" and cfg.model.init_from_basicvsr == "reds4"
    assert cfg.degradation.preset == "realbasicvsr" and 0 < cfg.distill.real_fraction < 1


@pytest.mark.slow
def test_distill_under_torchrun_two_ranks(clip_dir, real_dir, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "wildvsr", "train", str(TINY_DISTILL), "--output", str(out), "--max-steps", "3",
           "--set", f"data.roots=[{clip_dir}]", "--set", "data.batch_size=1", "--set", "train.log_every=1",
           "--set", f"distill.real_roots=[{real_dir}]", "--set", "distill.real_fraction=0.5",
           "--set", "distill.temporal.weight=0.5", "--set", f"distill.teacher.cache_dir={tmp_path / 'cache'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = _records(out)
    digests = [r["weight_digests"] for r in records if "weight_digests" in r][-1]
    assert len(digests) == 2 and digests[0] == digests[1]
    assert all("loss/distill" in r for r in records if "it_s" in r)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["rank0", "rank1"]
