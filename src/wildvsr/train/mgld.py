"""MGLD-VSR training in ``wildvsr train`` (``mgld.stage: 1`` or ``2``; ``configs/mgldvsr_stage*.yaml``).

The :class:`~wildvsr.train.trainer.Trainer` supplies everything but the step: data and degradations (GT clips of
``data.gt_size``, LQ at a quarter of it), optimisers and schedules, seeds per step, checkpoints and exact resume,
logs, DDP. What the step does:

* **Stage 1** (P-MG Sec. 3.2; StableSR's recipe with MGLD's temporal layers): the LDM's first stage encodes the GT
  clip and the LQ clip (bicubic to the GT size, the sampler's input) into scaled latents; each clip draws one timestep
  ``t ~ U{0, ..., 999}`` for all its frames and noise; the U-Net, conditioned on the time-aware encoder's features of
  the LQ latents at ``t`` and on the fixed prompt embedding, predicts that noise from ``z_t`` (mean squared error,
  fp32). Trainable: the time-aware encoder, the U-Net's SFT layers (StableSR's ``spade``) and its temporal layers;
  the diffusion U-Net, both VAEs and SPyNet stay frozen.
* **Stage 2** (Sec. 3.3, Eq. 4-6; :mod:`wildvsr.train.mgld_decoder`): the guided sampler turns the LQ clip into
  latents (no gradients; ``model.kwargs.steps`` sampling steps, noise seeded per step), the temporal-aware decoder
  decodes them with CFW, and the decoder's temporal layers and CFW learn from L1 (``loss.pixel.weight``) + perceptual
  (``loss.perceptual``, with your VGG19 weights) + frame difference + structure-weighted consistency (GT flows by
  SPyNet, occlusion masks) + hinge GAN (``loss.gan_weight``, from ``mgld.disc_start``).

The model is :class:`~wildvsr.models.mgldvsr.MGLDVSR` (``model.kwargs``: ``size``, sampling overrides), filled from
the authors' two files when ``mgld.unet_weights``/``mgld.vae_weights`` are given; SPyNet always has the official
BasicVSR weights (the guidance and the consistency loss need real flows). The step calls the model's parts directly,
not its ``forward`` (which samples a whole video), so under DDP the trainable gradients are averaged here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from wildvsr.errors import ConfigError
from wildvsr.models import create_model
from wildvsr.models.mgldvsr import MGLDVSR, load_official
from wildvsr.models.mgldvsr.scheduler import RespacedDDPM
from wildvsr.train.checkpoint import latest_checkpoint
from wildvsr.train.config import TrainConfig
from wildvsr.train.losses import GANLoss, build_perceptual_loss
from wildvsr.train.mgld_decoder import (DecoderRecipe, decode_for_training, decoder_losses, guided_latents,
                                        hinge_d_loss)
from wildvsr.train.parts import Objective, seeded, step_seed, unwrap
from wildvsr.train.trainer import CHECKPOINT_DIR, Trainer

logger = logging.getLogger(__name__)

__all__ = ["MGLDTrainer", "build_mgld_model", "set_stage_trainable", "noise_prediction_loss"]

_STAGE1_UNET_PARTS = ("spade", "temporal")  # StableSR trains the U-Net's SFT layers; MGLD adds its temporal layers


def build_mgld_model(cfg: TrainConfig, start_weights: bool = True) -> MGLDVSR:
    """The model a recipe trains: built from ``model.kwargs`` (weights initialised from the recipe's seed), the
    authors' files loaded when given (not without ``start_weights``: a resumed run takes every weight from its own
    checkpoint), SPyNet's official weights, the stage's parts trainable."""
    mg = cfg.mgld
    with seeded(cfg.seed, 0):
        try:
            model = create_model(cfg.model.name, **dict(cfg.model.kwargs))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"config key 'model.kwargs': {exc}") from None
    spynet = create_model("spynet", weights="default").state_dict()
    if mg.unet_weights is not None and start_weights:
        load_official(model, mg.unet_weights, mg.vae_weights, spynet_state=spynet,
                      prompt_embedding=mg.prompt_embedding)
    else:
        model.spynet.load_state_dict(spynet)
        if mg.unet_weights is None:
            logger.warning("mgld: no unet_weights/vae_weights given: training from random weights (tests only)")
    set_stage_trainable(model, mg.stage)
    return model


def set_stage_trainable(model: MGLDVSR, stage: int) -> list[str]:
    """Freeze everything but the stage's parts; returns the trainable parameter names."""
    model.requires_grad_(False)
    if stage == 1:
        model.struct_encoder.requires_grad_(True)
        for name, p in model.unet.named_parameters():
            if any(part in name for part in _STAGE1_UNET_PARTS):
                p.requires_grad_(True)
    elif stage == 2:
        for p in model.vae.decoder.trainable_parameters():
            p.requires_grad_(True)
    else:
        raise ValueError(f"stage must be 1 or 2, got {stage}")
    return [n for n, p in model.named_parameters() if p.requires_grad]


def _check_sizes(model: MGLDVSR, lq: torch.Tensor, gt: torch.Tensor) -> None:
    """The GT must be the sampler's input size (bicubic x4, at least ``min_side``, padded to 32) of the LQ."""
    height, width = model.input_size(*lq.shape[-2:])
    if (height, width) != tuple(gt.shape[-2:]):
        raise ConfigError(f"data.gt_size: the model's sampler input for these LQ frames is {width}x{height} "
                          f"(bicubic x4, at least sampling.min_side) but the GT is {gt.shape[-1]}x{gt.shape[-2]}; "
                          "use data.gt_size 512 for the official model (min_side 512)")


def noise_prediction_loss(model: MGLDVSR, lq: torch.Tensor, gt: torch.Tensor, generator: torch.Generator,
                          alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """Stage 1's loss on LQ ``(B, T, 3, h, w)`` and GT ``(B, T, 3, 4h, 4w)`` clips in [0, 1]: the MSE between the
    noise added to the GT latents at one random timestep per clip and the U-Net's prediction of it."""
    b, t = gt.shape[:2]
    _check_sizes(model, lq, gt)
    x, _, _ = model.prepare(lq)
    n = x.shape[0]

    def randn(shape: tuple[int, ...]) -> torch.Tensor:
        return torch.randn((n, *shape), generator=generator, device=generator.device).to(x.device)

    with torch.no_grad():
        # contiguous: the degradation hands over a channels-last GT, and with channels-last latents the backward
        # below crashed (SIGSEGV inside autograd, torch 2.13 on CPU)
        z_gt = model.encode_latents(gt.flatten(0, 1).float().contiguous() * 2 - 1, randn)
        z_lr = model.encode_latents(x, randn)
    steps = torch.randint(0, len(alphas_cumprod), (b,), generator=generator, device=generator.device)
    steps = steps.to(x.device).repeat_interleave(t)  # one timestep per clip: its frames are denoised together
    noise = randn(z_gt.shape[1:])
    abar = alphas_cumprod.to(x.device)[steps].view(-1, 1, 1, 1)
    z_t = abar.sqrt() * z_gt + (1 - abar).sqrt() * noise
    context = model.prompt_embedding.to(z_t.dtype).expand(n, -1, -1)
    cond = model.struct_encoder(z_lr, steps)
    eps = model.unet(z_t, steps, context, cond, t)
    return F.mse_loss(eps.float(), noise)


class MGLDTrainer(Trainer):
    """The :class:`Trainer` with MGLD-VSR's stage-1 or stage-2 step (``mgld.stage``)."""

    def __init__(self, cfg: TrainConfig, output_dir: Any, **kwargs: Any) -> None:
        if kwargs.get("net_g") is None:
            resuming = kwargs.get("resume", False) and latest_checkpoint(Path(output_dir) / CHECKPOINT_DIR) is not None
            kwargs["net_g"] = build_mgld_model(cfg, start_weights=not resuming)
        super().__init__(cfg, output_dir, **kwargs)
        self.stage = cfg.mgld.stage
        self.alphas_cumprod = RespacedDDPM(1).alphas_cumprod.float()
        lo, mg = cfg.loss, cfg.mgld
        self.recipe = DecoderRecipe(l1_weight=lo.pixel.weight, perceptual_weight=lo.perceptual.weight,
                                    vgg_weights=lo.perceptual.vgg_weights, diff_weight=mg.diff_weight,
                                    swc_weight=mg.swc_weight, gan_weight=lo.gan_weight,
                                    sobel_weight=mg.sobel_weight, disc_start=mg.disc_start)
        self.perceptual = None
        if self.stage == 2:
            self.perceptual = build_perceptual_loss(lo.perceptual.vgg_weights, lo.perceptual.layer_weights,
                                                    lo.perceptual.weight)
            if self.perceptual is not None:
                self.perceptual.to(self.device)

    def build_objective(self, _net_d: nn.Module | None) -> Objective:
        """None of the generic terms: the step computes its own (a generic perceptual term would load VGG twice)."""
        return Objective([], GANLoss(0.0), wants_cleaned=False)

    @property
    def trainable(self) -> list[nn.Parameter]:
        return [p for p in self.raw_net_g.parameters() if p.requires_grad]

    def train_step(self, data: dict[str, torch.Tensor], generator: torch.Generator,
                   _rng: np.random.Generator) -> dict[str, torch.Tensor]:
        model = self.raw_net_g
        model.train()
        self.optim.optim_g.zero_grad(set_to_none=True)
        with self._autocast():
            if self.stage == 1:
                logs = {"loss/eps": noise_prediction_loss(model, data["lq"], data["gt"], generator,
                                                          self.alphas_cumprod)}
                pred = None
            else:
                logs, pred = self._decoder_losses(model, data)
        total = sum(logs.values())
        total.backward()
        self._average_gradients()
        if self.cfg.optim.grad_clip > 0:
            logs["grad_norm"] = torch.nn.utils.clip_grad_norm_(self.trainable, self.cfg.optim.grad_clip)
        self.optim.optim_g.step()
        self.optim.sched_g.step()
        logs["loss/total"] = total
        if pred is not None and self.net_d is not None:
            logs["loss/d"] = self._discriminator_step(pred.detach(), data["gt"])
        if self.ema is not None:
            self.ema.update(model)
        return {k: v.detach() for k, v in logs.items()}

    def _decoder_losses(self, model: MGLDVSR, data: dict[str, torch.Tensor]
                        ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        lq, gt = data["lq"], data["gt"]
        _check_sizes(model, lq, gt)
        with torch.no_grad():
            latents = guided_latents(model, lq, step_seed(self.cfg.seed, self.step, self.dist.rank, 3))
        pred = decode_for_training(model, lq, latents, gt.shape[-2:]).float()
        logs = {f"loss/{k}": v for k, v in decoder_losses(pred, gt, model.flow, self.recipe).items()}
        if self.perceptual is not None:
            logs["loss/per"] = self.perceptual(pred, gt)
        if self.net_d is not None and self.step >= self.recipe.disc_start:
            disc = unwrap(self.net_d)
            disc.requires_grad_(False)
            logs["loss/gan"] = -self.recipe.gan_weight * disc(pred.flatten(0, 1)).float().mean()
        return logs, pred

    def _discriminator_step(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        net_d = self.net_d
        unwrap(net_d).requires_grad_(True)
        self.optim.optim_d.zero_grad(set_to_none=True)
        with self._autocast():
            loss = hinge_d_loss(net_d(gt.flatten(0, 1)).float(), net_d(pred.flatten(0, 1)).float())
        loss.backward()
        self.optim.optim_d.step()
        self.optim.sched_d.step()
        return loss.detach()

    def _average_gradients(self) -> None:
        """DDP's gradient average, done by hand: the step calls the model's parts, not the DDP wrapper's forward."""
        if not self.dist.distributed:
            return
        for p in self.trainable:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad)
            p.grad.div_(self.dist.world_size)
