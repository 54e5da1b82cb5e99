"""MGLD-VSR in ``wildvsr train`` at tiny size: the shipped stage-1/stage-2 recipes load, each stage trains only its
parts and lowers its loss, a resumed run ends bit-identical to a straight one (same operations, same shapes, CPU)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from helpers.train import write_clips

from wildvsr.errors import ConfigError
from wildvsr.train.config import load_config
from wildvsr.train.mgld_decoder import decode_for_training, decoder_losses, decoder_trainable_names, guided_latents

pytest.importorskip("diffusers")

from wildvsr.models.mgldvsr import MGLDVSR  # noqa: E402
from wildvsr.models.mgldvsr.scheduler import RespacedDDPM  # noqa: E402
from wildvsr.train.mgld import MGLDTrainer, noise_prediction_loss, set_stage_trainable  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY = ["model.kwargs={size: tiny}", "data.gt_size=32", "data.num_frames=3", "data.batch_size=1",
        "data.num_workers=0", "degradation.preset=bicubic", "train.device=cpu", "train.amp=fp32",
        "train.checkpoint_every=1000", "train.log_every=5", "optim.lr=1.0e-3", "optim.lr_d=1.0e-3"]


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return write_clips(tmp_path_factory.mktemp("clips"), n=2, frames=6, height=40, width=48)


def _config(stage: int, clip_dir: Path, *overrides: str):
    return load_config(CONFIGS / f"mgldvsr_stage{stage}.yaml", [f"data.roots=[{clip_dir}]", *TINY, *overrides])


def test_shipped_recipes_are_the_papers():
    one, two = load_config(CONFIGS / "mgldvsr_stage1.yaml"), load_config(CONFIGS / "mgldvsr_stage2.yaml")
    assert (one.mgld.stage, one.model.name, one.data.gt_size, one.data.num_frames) == (1, "mgldvsr", 512, 5)
    assert (two.mgld.stage, two.mgld.diff_weight, two.mgld.swc_weight, two.mgld.sobel_weight) == (2, 0.5, 0.5, 3.0)
    assert (two.loss.gan_weight, two.mgld.disc_start, two.optim.lr, tuple(two.optim.betas)) == (0.025, 501, 5e-5,
                                                                                              (0.5, 0.9))
    with pytest.raises(ConfigError, match="model.name"):
        load_config(CONFIGS / "mgldvsr_stage1.yaml", ["model.name=rcvsr"])
    with pytest.raises(ConfigError, match="mgld.vae_weights"):
        load_config(CONFIGS / "mgldvsr_stage1.yaml", ["mgld.unet_weights=u.ckpt"])


def test_stage1_loss_is_learnable_by_the_stage1_parts_alone():
    """The epsilon loss at one fixed draw (timestep, noise) falls by more than half in 20 Adam steps on only the
    time-aware encoder, SFT and temporal layers: the frozen U-Net takes their conditioning (on the trainer's fresh
    draws each step the loss is far too noisy to show it in a few steps)."""
    torch.manual_seed(0)
    model = MGLDVSR(size="tiny")
    set_stage_trainable(model, 1)
    alphas_cumprod = RespacedDDPM(1).alphas_cumprod.float()
    lq = torch.rand(1, 3, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    gt = F.interpolate(lq.flatten(0, 1), scale_factor=4, mode="bilinear").reshape(1, 3, 3, 32, 32)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    losses = []
    for _ in range(20):
        loss = noise_prediction_loss(model, lq, gt, torch.Generator().manual_seed(1), alphas_cumprod)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_stage1_trains_only_the_conditioning_and_temporal_layers(clip_dir, tmp_path):
    trainer = MGLDTrainer(_config(1, clip_dir, "train.max_steps=10"), tmp_path / "run")
    model = trainer.raw_net_g
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("struct_encoder.") or "spade" in n or "temporal" in n for n in trainable)
    assert any(n.startswith("struct_encoder.") for n in trainable) and any("temporal" in n for n in trainable)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    summary = trainer.fit()
    assert summary["step"] == 10 and all(math.isfinite(v) for v in summary["losses"])
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and changed <= trainable  # the frozen U-Net, VAEs and SPyNet did not move


def test_stage2_trains_only_the_decoders_temporal_layers_and_cfw_and_lowers_its_losses(clip_dir, tmp_path):
    cfg = _config(2, clip_dir, "train.max_steps=10", "mgld.disc_start=8")
    trainer = MGLDTrainer(cfg, tmp_path / "run")
    model = trainer.raw_net_g
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"vae.decoder.{n}" for n in decoder_trainable_names(model)}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    batch = trainer.prepare_batch(next(iter(trainer.make_loader(0, 1))), torch.Generator().manual_seed(7))
    with torch.no_grad():
        latents = guided_latents(model, batch["lq"], seed=7)

    def held_out() -> float:  # the reconstruction terms on one fixed training sample and its fixed latents
        with torch.no_grad():
            pred = decode_for_training(model, batch["lq"], latents, batch["gt"].shape[-2:])
            return sum(decoder_losses(pred, batch["gt"], model.flow, trainer.recipe).values()).item()

    loss_before = held_out()
    trainer.fit()
    loss_after = held_out()
    assert loss_after < 0.9 * loss_before, (loss_before, loss_after)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == trainable and trainer.net_d is not None


@pytest.mark.parametrize("stage", [1, 2])
def test_resume_is_exact(clip_dir, tmp_path, stage):
    straight = MGLDTrainer(_config(stage, clip_dir, "train.max_steps=4", "mgld.disc_start=2"), tmp_path / "a")
    straight.fit()
    first = MGLDTrainer(_config(stage, clip_dir, "train.max_steps=2", "mgld.disc_start=2"), tmp_path / "b")
    first.fit()
    resumed = MGLDTrainer(_config(stage, clip_dir, "train.max_steps=4", "mgld.disc_start=2"), tmp_path / "b",
                          resume=True)
    assert resumed.step == 2
    resumed.fit()
    assert resumed.weight_digests() == straight.weight_digests()


def test_resume_does_not_read_the_official_files_again(clip_dir, tmp_path):
    """Started from the authors' files (synthetic, tiny), a resumed run takes every weight from its own checkpoint:
    it does not read the multi-GB files again and still resumes after they were moved; 2 + resume 2 == 4 steps."""
    from helpers.mgld import write_official_checkpoints

    files = tmp_path / "official"
    files.mkdir()
    unet, vae, _, _ = write_official_checkpoints(files)
    start = (f"mgld.unet_weights={unet}", f"mgld.vae_weights={vae}")
    straight = MGLDTrainer(_config(1, clip_dir, *start, "train.max_steps=4"), tmp_path / "a")
    straight.fit()
    MGLDTrainer(_config(1, clip_dir, *start, "train.max_steps=2"), tmp_path / "b").fit()
    files.rename(tmp_path / "moved")
    resumed = MGLDTrainer(_config(1, clip_dir, *start, "train.max_steps=4"), tmp_path / "b", resume=True)
    resumed.fit()
    assert resumed.weight_digests() == straight.weight_digests()


def test_gt_size_that_is_not_the_samplers_input_is_a_config_error(clip_dir, tmp_path):
    trainer = MGLDTrainer(_config(1, clip_dir, "train.max_steps=1", "model.kwargs={size: tiny, min_side: 64}"),
                          tmp_path / "run")
    with pytest.raises(ConfigError, match="data.gt_size"):
        trainer.fit()
