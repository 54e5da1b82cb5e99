"""The compact-model recipe (issue 27) on tiny models: RCVSR student, frequency term, after-teacher augmentation;
loss falls, exact resume, the shipped recipe file loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from wildvsr.train.config import load_config
from wildvsr.train.distill import DistillTrainer, augment_after_teacher, dihedral_time
from wildvsr.train.distributed import DistInfo
from wildvsr.train.losses import FrequencyLoss

CPU = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
TINY_DISTILL = Path(__file__).with_name("distill_tiny.yaml")
REPO = Path(__file__).resolve().parents[2]
RCVSR_TINY = ("model.name=rcvsr", "model.kwargs={num_feat: 8, num_conv: 2, hidden_channels: 4}",
              "loss.cleaning.weight=0.0", "distill.frequency_weight=0.5", "distill.augment=true",
              "distill.temporal.weight=0.5", "data.hflip=false", "data.vflip=false", "data.transpose=false")


def _config(clip_dir: Path, *overrides: str):
    return load_config(TINY_DISTILL, [f"data.roots=[{clip_dir}]", *RCVSR_TINY, *overrides])


def _losses(run: Path, key: str) -> list[float]:
    return [r[key] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if key in r]


def test_frequency_loss_is_phase_blind_and_sees_blur():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 3, 32, 32, generator=g)
    loss = FrequencyLoss(1.0)
    assert loss(x, x) == 0
    shifted = torch.roll(x, shifts=(5, 7), dims=(-2, -1))  # same detail, other place: the amplitudes are equal
    assert loss(shifted, x) < 1e-5
    blurred = F.avg_pool2d(x.flatten(0, 1), 3, 1, 1, count_include_pad=False).view_as(x)
    assert loss(blurred, x) > 0.05


def test_augmentation_keeps_inputs_and_targets_aligned():
    """One draw per sample, applied to LQ, teacher and GT alike: a target that is a function of its input (here the
    nearest x4 upsampling) is still that function of the augmented input, and all 16 variants occur."""
    g = torch.Generator().manual_seed(1)
    lq = torch.rand(64, 3, 3, 8, 8, generator=g)
    up = F.interpolate(lq.flatten(0, 1), scale_factor=4, mode="nearest").view(64, 3, 3, 32, 32)
    data = {"lq": lq, "teacher": up, "gt": up.clone(), "gt_usm": up.clone(), "gt_flow": up[:10], "num_gt": 10}
    out = augment_after_teacher(data, torch.Generator().manual_seed(2))
    again = F.interpolate(out["lq"].flatten(0, 1), scale_factor=4, mode="nearest").view(64, 3, 3, 32, 32)
    assert torch.equal(out["teacher"], again) and torch.equal(out["gt"], again)
    assert torch.equal(out["gt_flow"], again[:10])
    variants = {tuple(dihedral_time(lq[i], ops).equal(out["lq"][i]) for ops in _all_ops()).index(True)
                for i in range(64)}
    assert len(variants) > 10  # 64 draws of 16 equally likely variants
    with pytest.raises(ValueError, match="square"):
        wide = {k: (v[..., :6] if torch.is_tensor(v) else v) for k, v in data.items()}
        augment_after_teacher(wide, torch.Generator().manual_seed(0))


def _all_ops():
    return [tuple(bool(i >> b & 1) for b in range(4)) for i in range(16)]


def test_rcvsr_distill_loss_falls_and_resumes_exactly(clip_dir, tmp_path):
    """20 steps: the teacher term falls; 10 + resume 10 == 20 (within 1e-6, as the other recipes' resume tests: the
    same float operations in the same order)."""
    common = ("train.deterministic=true", "train.checkpoint_every=10", "data.num_samples=2",
              "distill.fixed_degradation=true")
    full = DistillTrainer(_config(clip_dir, *common, "train.max_steps=20"), tmp_path / "full", dist_info=CPU)
    full.fit()
    distill = _losses(tmp_path / "full", "loss/distill")
    assert distill[-1] < 0.8 * distill[0], distill
    assert all(v > 0 for v in _losses(tmp_path / "full", "loss/freq"))
    DistillTrainer(_config(clip_dir, *common, "train.max_steps=10"), tmp_path / "split", dist_info=CPU).fit()
    second = DistillTrainer(_config(clip_dir, *common, "train.max_steps=20"), tmp_path / "split", resume=True,
                            dist_info=CPU)
    second.fit()
    a, b = full.raw_net_g.state_dict(), second.raw_net_g.state_dict()
    assert max((a[k].float() - b[k].float()).abs().max().item() for k in a) <= 1e-6


def test_shipped_recipe_loads_and_builds_its_student():
    from wildvsr.train.setup import build_generator

    cfg = load_config(REPO / "configs" / "rcvsr_wild.yaml")
    assert cfg.model.name == "rcvsr" and cfg.distill.augment and cfg.distill.teacher.weights == "x4plus"
    model, _ = build_generator(cfg.model)
    assert not any(p.requires_grad for p in model.spynet.parameters())
    assert torch.count_nonzero(model.body[0].weight[:, 3:]) == 0  # starts as animevideov3


def test_gan_frames_picks_evenly_spaced_frames():
    from wildvsr.train.parts import gan_frames

    video = torch.arange(2 * 10).float().view(2, 10, 1, 1, 1).expand(2, 10, 3, 4, 4)
    picked = gan_frames(video, 2)
    assert picked.shape == (4, 3, 4, 4)
    assert picked[:, 0, 0, 0].tolist() == [2, 7, 12, 17]  # the centres of the two halves of each clip
    assert torch.equal(gan_frames(video, 0), video.flatten(0, 1))


def test_rcvsr_texture_stage_trains_its_discriminator_and_resumes_exactly(clip_dir, tmp_path):
    """The GAN stage on a tiny RCVSR (discriminator on 2 of 4 frames): both sides get losses, the discriminator's
    weights move, and 4 + resume 4 == 8 steps (within 1e-6)."""
    gan = ("loss.gan_weight=0.05", "loss.gan_frames=2", "discriminator.kwargs={mid_channels: 8}",
           "train.deterministic=true", "train.checkpoint_every=4", "data.num_samples=2")
    full = DistillTrainer(_config(clip_dir, *gan, "train.max_steps=8"), tmp_path / "full", dist_info=CPU)
    d_before = {k: v.clone() for k, v in full.net_d.state_dict().items()}
    full.fit()
    assert all(len(_losses(tmp_path / "full", k)) == 2 for k in ("loss/gan", "loss/d_real", "loss/d_fake"))
    assert any(not torch.equal(v, d_before[k]) for k, v in full.net_d.state_dict().items())
    DistillTrainer(_config(clip_dir, *gan, "train.max_steps=4"), tmp_path / "split", dist_info=CPU).fit()
    second = DistillTrainer(_config(clip_dir, *gan, "train.max_steps=8"), tmp_path / "split", resume=True,
                            dist_info=CPU)
    second.fit()
    for a, b in ((full.raw_net_g, second.raw_net_g), (full.net_d, second.net_d)):
        sa, sb = a.state_dict(), b.state_dict()
        assert max((sa[k].float() - sb[k].float()).abs().max().item() for k in sa) <= 1e-6


def test_texture_stage_recipe_starts_from_stage_one():
    cfg = load_config(REPO / "configs" / "rcvsr_wild_gan.yaml")
    stage1 = load_config(REPO / "configs" / "rcvsr_wild.yaml")
    assert cfg.loss.gan_weight > 0 and cfg.loss.gan_frames == 2 and cfg.discriminator.kwargs == {"mid_channels": 16}
    assert cfg.model.weights.startswith("~/wildvsr-runs/rcvsr_wild/") and not cfg.model.init_pretrained
    # the same samples and teacher cache as stage 1: the teacher does not run again
    assert (cfg.seed, cfg.data, cfg.distill) == (stage1.seed, stage1.data, stage1.distill)


def test_a_later_stage_resumes_after_its_start_checkpoint_is_gone(clip_dir, tmp_path):
    """A stage that starts from ``model.weights`` (an earlier stage's checkpoint) resumes from its own checkpoint:
    the start file is not read again, so pruning or moving it does not stop the run; 2 + resume 2 == 4 (1e-6)."""
    common = ("train.deterministic=true", "train.checkpoint_every=2", "data.num_samples=2")
    DistillTrainer(_config(clip_dir, *common, "train.max_steps=2"), tmp_path / "stage1", dist_info=CPU).fit()
    start = tmp_path / "start.pt"
    (tmp_path / "stage1" / "checkpoints" / "step_00000002.pt").rename(start)
    stage2 = (*common, f"model.weights={start}")
    full = DistillTrainer(_config(clip_dir, *stage2, "train.max_steps=4"), tmp_path / "full", dist_info=CPU)
    full.fit()
    DistillTrainer(_config(clip_dir, *stage2, "train.max_steps=2"), tmp_path / "split", dist_info=CPU).fit()
    start.unlink()
    second = DistillTrainer(_config(clip_dir, *stage2, "train.max_steps=4"), tmp_path / "split", resume=True,
                            dist_info=CPU)
    second.fit()
    a, b = full.raw_net_g.state_dict(), second.raw_net_g.state_dict()
    assert max((a[k].float() - b[k].float()).abs().max().item() for k in a) <= 1e-6
