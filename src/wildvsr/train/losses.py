"""Training losses: pixel (L1 / Charbonnier), cleaning, VGG19 perceptual, vanilla GAN and temporal consistency.

Video tensors are ``(B, T, C, H, W)`` in [0, 1]; every loss here is a mean over all elements unless stated otherwise.
"""

from __future__ import annotations

import logging
import os

import torch
import torch.nn.functional as F
from torch import nn

from wildvsr.models.flow import consistency_mask, warp_with_mask
from wildvsr.train.vgg import IMAGENET_MEAN, IMAGENET_STD, load_vgg19_features

logger = logging.getLogger(__name__)


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error (the official RealBasicVSR configs' ``L1Loss``)."""
    return (pred - target).abs().mean()


def charbonnier_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Mean of ``sqrt((pred - target)^2 + eps)`` (mmedit ``CharbonnierLoss``; the paper's rho)."""
    return torch.sqrt((pred - target) ** 2 + eps).mean()


class PixelLoss(nn.Module):
    """``weight * criterion(pred, target)`` with criterion ``l1`` or ``charbonnier``."""

    def __init__(self, kind: str = "l1", weight: float = 1.0, eps: float = 1e-12) -> None:
        super().__init__()
        if kind not in ("l1", "charbonnier"):
            raise ValueError(f"pixel loss kind must be 'l1' or 'charbonnier', got {kind!r}")
        self.kind, self.weight, self.eps = kind, float(weight), float(eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred, target = pred.float(), target.float()
        if self.kind == "l1":
            return self.weight * l1_loss(pred, target)
        return self.weight * charbonnier_loss(pred, target, self.eps)


class FrequencyLoss(nn.Module):
    """``weight * mean |abs(F(pred)) - abs(F(target))|`` with ``F`` the orthonormal 2-D real FFT of each frame.

    Phase-blind on purpose: it asks for the target's amount of detail at each spatial frequency without asking for
    each detail in its exact place, which a small student cannot match and a pixel loss therefore blurs away. Computed
    in fp32 (the FFT has no bf16 kernels on CPU). ``pred``/``target``: ``(..., H, W)`` of one shape.
    """

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        amp_pred = torch.fft.rfft2(pred.float(), norm="ortho").abs()
        amp_target = torch.fft.rfft2(target.float(), norm="ortho").abs()
        return self.weight * (amp_pred - amp_target).abs().mean()


def area_downsample(video: torch.Tensor, scale: int = 4) -> torch.Tensor:
    """``(B, T, C, H, W)`` -> ``(B, T, C, H/scale, W/scale)`` by area averaging (``F.interpolate(mode='area')``)."""
    b, t, c, h, w = video.shape
    out = F.interpolate(video.reshape(b * t, c, h, w), scale_factor=1.0 / scale, mode="area")
    return out.reshape(b, t, c, h // scale, w // scale)


class CleaningLoss(nn.Module):
    """RealBasicVSR cleaning loss: the cleaned LQ against the GT area-downsampled to LQ size.

    ``forward(cleaned_lq (B,T,3,h,w), gt (B,T,3,sh,sw))``; ``gt`` is the GT the pixel loss uses (USM-sharpened in the
    official recipe), as MME0 ``real_basicvsr.py`` computes ``gt_clean`` from ``gt_pixel``.
    """

    def __init__(self, kind: str = "l1", weight: float = 1.0, eps: float = 1e-12, scale: int = 4) -> None:
        super().__init__()
        self.pixel = PixelLoss(kind, weight, eps)
        self.scale = scale

    def forward(self, cleaned_lq: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return self.pixel(cleaned_lq, area_downsample(gt.float(), self.scale))


class GANLoss(nn.Module):
    """Vanilla GAN loss (BCE with logits), real label 1, fake label 0 (Real-ESRGAN / RealBasicVSR).

    ``forward(logits, target_is_real, is_disc)``: the generator term is multiplied by ``weight``; the discriminator
    term is not (mmedit applies ``loss_weight`` to the generator only).
    """

    def __init__(self, weight: float = 5e-2) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, logits: torch.Tensor, target_is_real: bool, is_disc: bool = False) -> torch.Tensor:
        logits = logits.float()
        target = torch.full_like(logits, 1.0 if target_is_real else 0.0)
        loss = F.binary_cross_entropy_with_logits(logits, target)
        return loss if is_disc else self.weight * loss


class PerceptualLoss(nn.Module):
    """VGG19 perceptual loss: ``weight * sum_k w_k * L1(phi_k(x), phi_k(gt))``.

    ``phi_k`` is torchvision VGG19 ``features`` up to and including module ``k`` (a conv, so before its ReLU), on
    inputs normalised with the ImageNet mean/std (mmedit ``use_input_norm=True``); the GT branch is not differentiated.
    Inputs are ``(B, T, 3, H, W)`` or ``(N, 3, H, W)`` in [0, 1].

    Args:
        vgg_weights: path of a torchvision-layout VGG19 state dict (``vgg19-dcbb9e9d.pth``).
        layer_weights: ``features`` index (as a string) -> weight.
        weight: overall weight.
    """

    def __init__(self, vgg_weights: str | os.PathLike, layer_weights: dict[str, float], weight: float = 1.0) -> None:
        super().__init__()
        self.layer_weights = {int(k): float(v) for k, v in layer_weights.items()}
        self.weight = float(weight)
        self.vgg = load_vgg19_features(vgg_weights, last_layer=max(self.layer_weights))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> PerceptualLoss:  # the VGG stays in eval mode
        super().train(mode)
        self.vgg.eval()
        return self

    def _features(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        x = (x - self.mean) / self.std
        feats = {}
        for i, layer in enumerate(self.vgg):
            x = layer(x)
            if i in self.layer_weights:
                feats[i] = x
        return feats

    def forward(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        if pred.dim() == 5:
            pred, gt = pred.flatten(0, 1), gt.flatten(0, 1)
        fp = self._features(pred.float())
        with torch.no_grad():
            fg = self._features(gt.float().detach())
        loss = sum(w * (fp[k] - fg[k]).abs().mean() for k, w in self.layer_weights.items())
        return self.weight * loss


_WARNED: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Log ``message`` as a warning the first time ``key`` is seen in this process."""
    if key not in _WARNED:
        _WARNED.add(key)
        logger.warning(message)


def build_perceptual_loss(vgg_weights: str | None, layer_weights: dict[str, float],
                          weight: float) -> PerceptualLoss | None:
    """The perceptual loss, or None (with a one-time warning) when ``weight > 0`` but no VGG19 file is given."""
    if weight <= 0:
        return None
    if vgg_weights is None:
        warn_once("no-vgg", "perceptual loss DISABLED: loss.perceptual.weight > 0 but loss.perceptual.vgg_weights is not "
                            "set (no VGG19 ImageNet weights are shipped or downloaded; give the path of torchvision's "
                            "vgg19-dcbb9e9d.pth to enable it). Training continues without the perceptual term.")
        return None
    return PerceptualLoss(vgg_weights, layer_weights, weight)


def temporal_flows(frames: torch.Tensor, flow_fn, scale: int = 1,
                   occlusion: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward flows between consecutive frames and the pixels they are valid at, on a grid ``scale`` x larger.

    Args:
        frames: ``(B, T, 3, h, w)`` in [0, 1] (the LQ input, or the GT with ``scale = 1``).
        flow_fn: ``flow_fn(ref, supp) -> (N, 2, h, w)`` (:data:`wildvsr.models.flow.FlowFn`, e.g. SPyNet).
        scale: output size / ``frames`` size; flows are upsampled bilinearly and multiplied by it, the mask nearest.
        occlusion: forward-backward consistency mask (else only the in-bounds mask).

    Returns:
        ``backward (B, T-1, 2, sh, sw)`` (frame t+1 -> t, in output pixels) and ``mask (B, T-1, 1, sh, sw)`` bool.
    """
    b, t, c, h, w = frames.shape
    prev, nxt = frames[:, :-1].reshape(-1, c, h, w).float(), frames[:, 1:].reshape(-1, c, h, w).float()
    with torch.no_grad():
        backward = flow_fn(nxt, prev).float()
        if occlusion:
            mask = consistency_mask(backward, flow_fn(prev, nxt).float())
        else:
            mask = warp_with_mask(prev[:, :1], backward)[1]
        if scale != 1:
            backward = F.interpolate(backward, scale_factor=scale, mode="bilinear", align_corners=False) * scale
            mask = F.interpolate(mask.float(), scale_factor=scale, mode="nearest") > 0.5
    return backward.reshape(b, t - 1, 2, h * scale, w * scale), mask.reshape(b, t - 1, 1, h * scale, w * scale)


class TemporalLoss(nn.Module):
    """Temporal consistency of a video output: ``weight * mean_{valid p} |O_{t+1}(p) - warp(O_t, b_t)(p)|``.

    ``forward(out (B,T,3,H,W), backward (B,T-1,2,H,W), mask (B,T-1,1,H,W) bool)``; ``backward`` and ``mask`` come
    from :func:`temporal_flows` (no gradient); the gradient reaches both frames of every pair. The mean runs over
    the valid pixels (mask and inside the previous frame) and the channels; 0 when no pixel is valid.
    """

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, out: torch.Tensor, backward: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, c, h, w = out.shape
        out = out.float()
        warped, inside = warp_with_mask(out[:, :-1].reshape(-1, c, h, w), backward.reshape(-1, 2, h, w))
        valid = (mask.reshape(-1, 1, h, w) & inside).float()
        diff = (out[:, 1:].reshape(-1, c, h, w) - warped).abs() * valid
        return self.weight * diff.sum() / (valid.sum() * c).clamp_min(1.0)
