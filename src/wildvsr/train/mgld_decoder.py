"""MGLD-VSR stage 2: fine-tuning the temporal-aware sequence decoder (P-MG Sec. 3.3, Eq. 4-6).

The spatial VAE stays frozen; only the decoder's temporal convolutions and CFW modules train (Adam, betas (0.5, 0.9),
lr 5e-5 as in ``configs/video_vae/video_autoencoder_kl_64x64x4_resi.yaml``), on triples of an LR clip, the latents the
stage-1 model's guided sampler produced for it (:meth:`~wildvsr.models.mgldvsr.MGLDVSR.sample_latents`, what the
official ``vsr_val_ddpm_text_T_vqganfin_w_latent.py`` writes to disk) and the HR clip:

    L = L1 + 0.5 LPIPS/perceptual (only with user-given VGG weights) + 0.5 L_diff + 0.5 L_swc + 0.025 L_GAN

- ``L_diff`` (Eq. 4): L1 between consecutive-frame differences of the output and of the GT.
- ``L_swc`` (Eq. 5): occlusion-masked L1 between each output frame and its neighbour warped onto it, weighted by
  ``W = 1 + 3 * Sobel(GT)`` of the target frame; flows and weights from the GT, as the paper says (the released code
  takes them from its reconstruction argument). Both directions, one mean per pair, summed over pairs.
- GAN: hinge loss; the generator term starts at step ``disc_start`` (501). Its weight is the fixed 0.025: the
  released code's VQGAN adaptive weight needs gradients at the frozen ``conv_out`` and falls back to that constant.
  The discriminator is our U-Net discriminator with spectral norm (the official one is taming's PatchGAN).

Randomness: none inside a step (no dropout, no sampling), so a run resumed from :meth:`DecoderFinetuner.state_dict`
continues exactly. Images are ``(B, T, 3, H, W)`` in [0, 1].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from wildvsr.models.flow import warp_with_mask
from wildvsr.models.mgldvsr import MGLDVSR
from wildvsr.models.mgldvsr.guidance import frame_generators
from wildvsr.train.losses import build_perceptual_loss, temporal_flows

__all__ = ["DecoderRecipe", "DecoderFinetuner", "frame_difference_loss", "sobel_magnitude",
           "structure_weighted_consistency_loss", "hinge_d_loss", "guided_latents", "decode_for_training",
           "decoder_losses", "decoder_trainable_names"]

FlowFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class DecoderRecipe:
    """Weights and optimiser of stage 2 (defaults: P-MG Eq. 6 and the official video-VAE config)."""

    l1_weight: float = 1.0
    perceptual_weight: float = 0.5  # LPIPS in the official code; here VGG19 when vgg_weights is given, else off
    vgg_weights: str | None = None
    diff_weight: float = 0.5  # alpha
    swc_weight: float = 0.5  # beta
    gan_weight: float = 0.025  # gamma
    sobel_weight: float = 3.0  # w in W = 1 + w S
    disc_start: int = 501
    lr: float = 5e-5
    betas: tuple[float, float] = (0.5, 0.9)


def frame_difference_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Eq. 4: ``mean |(pred_{i+1} - pred_i) - (gt_{i+1} - gt_i)|``."""
    return ((pred[:, 1:] - pred[:, :-1]) - (gt[:, 1:] - gt[:, :-1])).abs().mean()


def sobel_magnitude(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-channel Sobel gradient magnitude of ``(N, C, H, W)`` (normalised 3x3 kernels, replicate border)."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=x.dtype, device=x.device) / 8
    kernels = torch.stack([kx, kx.t()]).unsqueeze(1).repeat(x.shape[1], 1, 1, 1)  # (2C, 1, 3, 3)
    grads = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernels, groups=x.shape[1])
    gx, gy = grads[:, 0::2], grads[:, 1::2]
    return torch.sqrt(gx * gx + gy * gy + eps)


def _swc_direction(pred: torch.Tensor, gt: torch.Tensor, flow_fn: FlowFn, w: float) -> torch.Tensor:
    """Frames i warped onto i+1 (flows and masks on the GT), weighted by ``1 + w Sobel(GT_{i+1})``."""
    b, t, c, h, w_ = pred.shape
    backward, mask = temporal_flows(gt, flow_fn)  # (B, T-1, 2, H, W): frame i+1 -> i; (B, T-1, 1, H, W) bool
    warped, inside = warp_with_mask(pred[:, :-1].reshape(-1, c, h, w_).float(), backward.reshape(-1, 2, h, w_))
    weight = 1 + w * sobel_magnitude(gt[:, 1:].reshape(-1, c, h, w_).float()).detach()
    valid = (mask.reshape(-1, 1, h, w_) & inside).float()
    err = (valid * weight * (warped - pred[:, 1:].reshape(-1, c, h, w_).float())).abs()
    return err.reshape(b, t - 1, -1).mean(dim=(0, 2)).sum()  # one mean per pair, summed over pairs


def structure_weighted_consistency_loss(pred: torch.Tensor, gt: torch.Tensor, flow_fn: FlowFn,
                                        w: float = 3.0) -> torch.Tensor:
    """Eq. 5 over both directions (the second on the time-reversed clip)."""
    return _swc_direction(pred, gt, flow_fn, w) + _swc_direction(pred.flip(1), gt.flip(1), flow_fn, w)


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``0.5 (mean relu(1 - real) + mean relu(1 + fake))`` (taming's hinge loss)."""
    return 0.5 * (F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean())


def decoder_trainable_names(model: MGLDVSR) -> list[str]:
    """Names (in ``model.vae.decoder``) of the tensors stage 2 trains: its temporal layers and CFW."""
    return [n for n, _ in model.vae.decoder.named_parameters() if "temporal" in n or n.startswith("fusion")]


def guided_latents(model: MGLDVSR, lq: torch.Tensor, seed: int, first_index: int = 0) -> torch.Tensor:
    """Stage-2 training latents of an LR clip ``(B, T, 3, h, w)``: the stage-1 model's motion-guided samples
    ``(B, T, 4, H/8, W/8)`` (scaled), drawn with the per-frame generators of ``(seed, first_index + i)``."""
    b, t = lq.shape[:2]
    gens = [g for _ in range(b) for g in frame_generators(seed, range(first_index, first_index + t), lq.device)]
    z0, _ = model.sample_latents(lq, gens)
    return z0


def decode_for_training(model: MGLDVSR, lq: torch.Tensor, latents: torch.Tensor, size: tuple[int, int]
                        ) -> torch.Tensor:
    """The temporal-aware decoder on ``latents`` ``(B, T, 4, H/8, W/8)`` (scaled) with CFW on the frozen encoder's
    features of the LR clip ``lq`` ``(B, T, 3, h, w)`` upsampled to ``size`` ``(H, W)``: ``(B, T, 3, H, W)`` in [0, 1]
    (not clamped, no colour fix: the losses see the decoder's own output)."""
    x = F.interpolate(lq.flatten(0, 1).float(), size=size, mode="bicubic", align_corners=False)
    x = x.clamp(0, 1) * 2 - 1
    with torch.no_grad():
        _, features = model.vae.encode(x)  # frozen encoder: CFW's input
    img = model.vae.decode(latents.flatten(0, 1) / model.cfg.scale_factor, features, latents.shape[1],
                           model.cfg.sampling.fusion_w)
    return ((img + 1) / 2).reshape(*latents.shape[:2], *img.shape[1:])


def decoder_losses(pred: torch.Tensor, gt: torch.Tensor, flow_fn: FlowFn, recipe: DecoderRecipe
                   ) -> dict[str, torch.Tensor]:
    """Stage 2's reconstruction terms of ``pred`` vs ``gt`` ``(B, T, 3, H, W)``, weighted: ``l1``, ``diff`` (Eq. 4),
    ``swc`` (Eq. 5)."""
    r = recipe
    return {"l1": r.l1_weight * (pred - gt).abs().mean(),
            "diff": r.diff_weight * frame_difference_loss(pred, gt),
            "swc": r.swc_weight * structure_weighted_consistency_loss(pred, gt, flow_fn, r.sobel_weight)}


class DecoderFinetuner:
    """Stage-2 optimisation of ``model.vae.decoder``'s temporal layers and CFW against a discriminator.

    Args:
        model: The MGLD-VSR model (its VAE; the rest is unused here).
        discriminator: Per-pixel or patch logits of ``(N, 3, H, W)`` images in [0, 1].
        flow_fn: ``flow_fn(ref, supp)`` on GT frames (SPyNet: ``model.flow``).
        recipe: Loss weights and optimiser settings.
    """

    def __init__(self, model: MGLDVSR, discriminator: nn.Module, flow_fn: FlowFn,
                 recipe: DecoderRecipe | None = None) -> None:
        self.model, self.disc, self.flow_fn = model, discriminator, flow_fn
        self.recipe = recipe or DecoderRecipe()
        model.requires_grad_(False)
        self.params = model.vae.decoder.trainable_parameters()
        for p in self.params:
            p.requires_grad_(True)
        self.perceptual = build_perceptual_loss(self.recipe.vgg_weights, {"34": 1.0}, self.recipe.perceptual_weight)
        self.opt_g = torch.optim.Adam(self.params, lr=self.recipe.lr, betas=self.recipe.betas)
        self.opt_d = torch.optim.Adam(discriminator.parameters(), lr=self.recipe.lr, betas=self.recipe.betas)
        self.step_count = 0

    def step(self, lq: torch.Tensor, latents: torch.Tensor, gt: torch.Tensor) -> dict[str, float]:
        """One generator and one discriminator update on ``lq`` ``(B, T, 3, h, w)``, ``latents`` ``(B, T, 4, H/8,
        W/8)`` (scaled, from the guided sampler) and ``gt`` ``(B, T, 3, H, W)``; returns the loss values."""
        r = self.recipe
        pred = decode_for_training(self.model, lq, latents, gt.shape[-2:])
        losses = decoder_losses(pred, gt, self.flow_fn, r)
        if self.perceptual is not None:
            losses["perceptual"] = self.perceptual(pred, gt)
        gan_on = self.step_count >= r.disc_start and r.gan_weight > 0
        if gan_on:
            self.disc.requires_grad_(False)
            losses["gan"] = -r.gan_weight * self.disc(pred.flatten(0, 1)).mean()
        total = sum(losses.values())
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        self.opt_g.step()
        self.disc.requires_grad_(True)
        d_loss = hinge_d_loss(self.disc(gt.flatten(0, 1)), self.disc(pred.detach().flatten(0, 1)))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        self.step_count += 1
        return {**{k: v.item() for k, v in losses.items()}, "total": total.item(), "d": d_loss.item()}

    def state_dict(self) -> dict[str, Any]:
        """Trainable decoder weights, discriminator, both optimisers, step and recipe (``weights_only``-loadable)."""
        names = decoder_trainable_names(self.model)
        decoder = self.model.vae.decoder.state_dict()
        return {"params": {n: decoder[n].clone() for n in names}, "disc": self.disc.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "step": self.step_count,
                "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self.recipe).items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict` (strict on the trainable decoder tensors)."""
        expected = set(decoder_trainable_names(self.model))
        if set(state["params"]) != expected:
            odd = sorted(set(state["params"]) ^ expected)[:1]
            raise ValueError(f"stage-2 checkpoint does not fit this decoder (e.g. tensor {odd})")
        self.model.vae.decoder.load_state_dict(state["params"], strict=False)
        self.disc.load_state_dict(state["disc"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step_count = int(state["step"])
