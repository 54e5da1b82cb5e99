"""MGLD-VSR end to end: LR clip -> x4 clip by motion-guided latent diffusion and the temporal-aware decoder.

The inference recipe of the official ``scripts/vsr_val_ddpm_text_T_vqganfin_oldcanvas_tile.py`` (README command):

1. Bicubic upsampling of each LR frame by ``s = max(512 / min(h, w), 4)``, to [-1, 1], reflect padding to a multiple
   of 32.
2. Flows on the frames brought back to 1/4 of that size, in both directions, moved to the latent grid (H/8), with
   forward-backward occlusion masks (:mod:`.guidance`; SPyNet here, RAFT there).
3. ``z_lr = 0.18215 * sample(E(x))`` (SD VAE encoder of the LDM checkpoint), ``z_T = q_sample(z_lr, 999)``.
4. 50 respaced DDPM steps; each predicts the noise with the U-Net on latent tiles of 64 (overlap 32, Gaussian
   weights: StableSR's progressive patch aggregation), conditioned on the empty-prompt text embedding and on the
   time-aware encoder's features of ``z_lr`` at the original timestep; motion guidance after each step.
5. The video VAE decodes ``z_0 / 0.18215`` with its temporal layers and CFW on its encoder's features of the LR input
   (``fusion_w = 1``), then AdaIN colour correction to the LR input, [0, 1], crop, and a resize to x4 when s > 4.

A video is cut into clips of ``num_frames`` (5, what the official U-Net's temporal layers were trained on; the last
clip repeats the final frame), optionally overlapping (only each clip's centre is kept; :mod:`.clips`). Every random draw comes from
one generator per frame seeded by (seed, frame index), so a frame's noise does not depend on how the video is cut.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from wildvsr.models.mgldvsr.clips import stream_clips
from wildvsr.models.mgldvsr.guidance import MotionGuide, frame_generators, latent_motion_guide, motion_guided_sample
from wildvsr.models.mgldvsr.scheduler import RespacedDDPM
from wildvsr.models.mgldvsr.unet import EncoderConfig, MGLDUNet, TimeAwareEncoder, UNetConfig
from wildvsr.models.mgldvsr.vae import LatentEncoder, VAEConfig, VideoVAE
from wildvsr.models.spec import ModelSpec
from wildvsr.models.spynet import SPyNet

__all__ = ["SamplingConfig", "MGLDVSRConfig", "MGLDVSR", "TINY_CONFIG", "adain_color_fix", "gaussian_tile_weights"]


@dataclass(frozen=True)
class SamplingConfig:
    """How a clip is sampled; defaults are the official inference settings (README command)."""

    steps: int = 50
    eta: float = 10.0  # motion guidance strength (paper Sec. 4.3)
    guidance_weight: str = "official"  # "official": -log sigma_t^2 (released code); "paper": sigma_t^2 (Eq. 3)
    fusion_w: float = 1.0  # CFW weight w (README: --dec_w 1.0)
    num_frames: int = 5
    tile_size: int = 64  # latent tile side (StableSR canvas sampling)
    tile_overlap: int = 32
    min_side: int = 512  # the LR is upsampled until its short side reaches this (and at least x4)
    color_fix: str = "adain"  # "adain" or "none"
    pixel_tile: int = 960  # frames larger than this (after upsampling) are restored in patches (official vqgantile)
    pixel_tile_stride: int = 744  # official 750 px for the image, 750 // 8 latents for the flows: 93 latents here


@dataclass(frozen=True)
class MGLDVSRConfig:
    """Sizes of every part, and the sampling settings."""

    unet: UNetConfig = field(default_factory=UNetConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    scale_factor: float = 0.18215  # SD latent scale
    context_length: int = 77


TINY_CONFIG = MGLDVSRConfig(
    unet=UNetConfig(model_channels=32, channel_mult=(1, 2), num_res_blocks=1, attention_resolutions=(1,),
                    num_head_channels=32, context_dim=16, cond_channels=32, sft_hidden=16),
    encoder=EncoderConfig(model_channels=32, out_channels=32, channel_mult=(1, 1), num_res_blocks=1,
                          attention_resolutions=(1,), num_heads=2),
    vae=VAEConfig(ch=32, ch_mult=(1, 1, 1, 1), num_res_blocks=1, num_fuse_block=1, fuse_grow_ch=8),
    sampling=SamplingConfig(steps=3, num_frames=3, tile_size=8, tile_overlap=4, min_side=0),
    context_length=4,
)
"""A config small enough for CPU tests (random weights; a few seconds per clip)."""


def adain_color_fix(x: torch.Tensor, ref: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Give ``x`` the per-channel mean and std of ``ref`` (both ``(N, C, H, W)``; the official AdaIN colour fix)."""
    def stats(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = t.flatten(2)
        return flat.mean(-1)[..., None, None], (flat.var(-1) + eps).sqrt()[..., None, None]

    (xm, xs), (rm, rs) = stats(x), stats(ref)
    return (x - xm) / xs * rs + rm


def gaussian_tile_weights(height: int, width: int, var: float = 0.01) -> torch.Tensor:
    """StableSR's tile weights: a separable Gaussian over the tile, ``(height, width)`` (official midpoints)."""
    xs = torch.arange(width, dtype=torch.float64)
    ys = torch.arange(height, dtype=torch.float64)
    wx = torch.exp(-((xs - (width - 1) / 2) ** 2) / (width * width) / (2 * var)) / math.sqrt(2 * math.pi * var)
    wy = torch.exp(-((ys - height / 2) ** 2) / (height * height) / (2 * var)) / math.sqrt(2 * math.pi * var)
    return torch.outer(wy, wx).float()


def _patch_starts(size: int, tile: int, stride: int) -> list[int]:
    """Patch starts every ``stride`` with the last patches moved inside (the official ``ImageSpliterTh``)."""
    if size <= tile:
        return [0]
    return sorted({min(s, size - tile) for s in range(0, size, stride)})


def _tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, size - tile, stride))
    return starts + [size - tile]


class MGLDVSR(nn.Module):
    """MGLD-VSR x4 (a latent diffusion video model; not planned by the runner's chunking yet, see ``restore``).

    Args:
        config: Sizes and sampling settings (default: the official model; ``size="tiny"`` for tests).
        size: ``"official"`` or ``"tiny"`` when ``config`` is not given.
        **sampling: Overrides of :class:`SamplingConfig` fields (``steps``, ``eta``, ``fusion_w``...).
    """

    temporal = True  # a video model, but its spec's task is "diffusion": the generic upscale runner does not plan it
    parts = {"spynet": "spynet"}

    def __init__(self, config: MGLDVSRConfig | None = None, *, size: str = "official", **sampling) -> None:
        super().__init__()
        if config is None:
            if size not in ("official", "tiny"):
                raise ValueError(f"size must be 'official' or 'tiny', got {size!r} (a model built from a hand-made "
                                 "MGLDVSRConfig cannot be rebuilt from its saved kwargs)")
            config = MGLDVSRConfig() if size == "official" else TINY_CONFIG
        elif size != "official":
            raise ValueError("give either config or size, not both")
        base = config
        if sampling:
            config = replace(config, sampling=replace(config.sampling, **sampling))
        self.cfg = config
        # constructor kwargs (what save_pretrained stores); a hand-made config is not representable by them
        preset = "official" if base == MGLDVSRConfig() else "tiny" if base == TINY_CONFIG else "custom"
        self.config = {"size": preset, **sampling}
        self.unet = MGLDUNet(config.unet)
        self.struct_encoder = TimeAwareEncoder(config.encoder)
        self.latent_encoder = LatentEncoder(config.vae)  # the LDM's first stage (its SD VAE encoder)
        self.vae = VideoVAE(config.vae)  # the video VAE (its own encoder copy feeds CFW)
        self.spynet = SPyNet()  # flows for the guidance (weights: the official BasicVSR SPyNet, set by the loader)
        # the fixed empty-prompt text embedding (computed at load from the checkpoint's text tower); saved with the
        # model, so a converted model needs neither the text tower nor the official files again
        self.register_buffer("prompt_embedding", torch.zeros(1, config.context_length, config.unet.context_dim))

    def flow(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        """SPyNet flow ``ref <- supp`` (``(N, 3, H, W)`` [0, 1] each) in fp32, no gradients."""
        with torch.no_grad():
            return self.spynet(ref.float(), supp.float())

    def _eps(self, z: torch.Tensor, t: int, z_lr: torch.Tensor, num_frames: int) -> torch.Tensor:
        """Noise prediction of ``(B*T, C, h, w)`` latents on Gaussian-weighted latent tiles."""
        s = self.cfg.sampling
        n, _, h, w = z.shape
        tile_h, tile_w = min(s.tile_size, h), min(s.tile_size, w)
        ts = torch.full((n,), t, device=z.device, dtype=torch.long)
        context = self.prompt_embedding.to(z.dtype).expand(n, -1, -1)
        weights = gaussian_tile_weights(tile_h, tile_w).to(z.device)
        eps = torch.zeros(z.shape, dtype=torch.float32, device=z.device)
        total = torch.zeros(h, w, dtype=torch.float32, device=z.device)
        for y in _tile_starts(h, tile_h, s.tile_overlap):
            for x in _tile_starts(w, tile_w, s.tile_overlap):
                win = (slice(None), slice(None), slice(y, y + tile_h), slice(x, x + tile_w))
                cond = self.struct_encoder(z_lr[win], ts)
                eps[win] += self.unet(z[win], ts, context, cond, num_frames) * weights
                total[y:y + tile_h, x:x + tile_w] += weights
        return eps / total

    def _upsampling(self, h: int, w: int) -> tuple[float, tuple[int, int]]:
        """The official input scale ``max(min_side / min(h, w), 4)`` and the upsampled size."""
        s = max(self.cfg.sampling.min_side / min(h, w), 4.0)
        return s, (int(h * s), int(w * s))

    def input_size(self, h: int, w: int) -> tuple[int, int]:
        """``(H', W')`` of :meth:`prepare`'s output for ``h x w`` LR frames: upsampled, padded to a multiple of 32."""
        _, size = self._upsampling(h, w)
        return size[0] + (-size[0]) % 32, size[1] + (-size[1]) % 32

    def prepare(self, lqs: torch.Tensor) -> tuple[torch.Tensor, float, tuple[int, int]]:
        """``(B, T, 3, h, w)`` [0, 1] -> upsampled, [-1, 1], reflect-padded ``(B*T, 3, H', W')``; scale; size."""
        s, size = self._upsampling(*lqs.shape[-2:])
        x = F.interpolate(lqs.flatten(0, 1).float(), size=size, mode="bicubic", align_corners=False)
        x = x.clamp(0, 1) * 2 - 1
        pad_h, pad_w = (-size[0]) % 32, (-size[1]) % 32
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
        return x, s, size

    def encode_latents(self, x: torch.Tensor, randn: Callable[[tuple[int, ...]], torch.Tensor]) -> torch.Tensor:
        """The LDM's first stage: ``(N, 3, H, W)`` in [-1, 1] -> a sample of its posterior times ``scale_factor``,
        ``(N, 4, H/8, W/8)`` fp32; ``randn(shape)`` draws the ``(N, *shape)`` noise (per-frame generators)."""
        mean, logvar = self.latent_encoder(x).float().chunk(2, dim=1)
        return self.cfg.scale_factor * (mean + (0.5 * logvar.clamp(-30, 20)).exp() * randn(mean.shape[1:]))

    def _guide(self, x: torch.Tensor, b: int, t: int) -> MotionGuide | None:
        """Flows and masks on the latent grid of the prepared clip ``x`` ``(B*T, 3, H', W')`` (None for one frame);
        flows come from the frames at 1/4 of ``x``'s size, as in the official script."""
        if t < 2:
            return None
        hp, wp = x.shape[-2:]
        small = F.interpolate((x.float() + 1) / 2, size=(hp // 4, wp // 4), mode="bicubic", align_corners=False)
        return latent_motion_guide(small.clamp(0, 1).reshape(b, t, *small.shape[1:]), (hp // 8, wp // 8), self.flow)

    def _sample(self, x: torch.Tensor, guide: MotionGuide | None, generators: list[torch.Generator], b: int,
                t: int, callback: Callable[[int, int], None] | None) -> torch.Tensor:
        """``z_0`` ``(B, T, 4, H'/8, W'/8)`` of the prepared clip ``x`` (see :meth:`sample_latents`)."""
        s = self.cfg.sampling

        def randn(shape: tuple[int, ...]) -> torch.Tensor:
            return torch.stack([torch.randn(shape, generator=g, device=g.device) for g in generators]).to(x.device)

        with torch.no_grad():  # the latent chain stays fp32 under autocast (50 steps of bf16 rounding otherwise)
            z_lr = self.encode_latents(x, randn)
            sched = RespacedDDPM(s.steps)
            z_start = sched.add_noise(z_lr, randn(z_lr.shape[1:]), 999).reshape(b, t, *z_lr.shape[1:])

        def denoiser(z: torch.Tensor, step_t: int) -> torch.Tensor:
            return self._eps(z.flatten(0, 1), step_t, z_lr, t).float().reshape(z.shape)

        return motion_guided_sample(denoiser, sched, z_start, guide, eta=s.eta, weight=s.guidance_weight,
                                    generator=generators, callback=callback)

    def _check_generators(self, lqs: torch.Tensor, generators: list[torch.Generator]) -> tuple[int, int]:
        b, t = lqs.shape[:2]
        if len(generators) != b * t:
            raise ValueError(f"need one generator per frame ({b * t}), got {len(generators)}")
        return b, t

    def sample_latents(self, lqs: torch.Tensor, generators: list[torch.Generator],
                       callback: Callable[[int, int], None] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Motion-guided sampling of one clip, whole frames: ``(B, T, 3, h, w)`` [0, 1] -> (``z_0``
        ``(B, T, 4, H'/8, W'/8)`` (scaled by ``scale_factor``), the prepared input ``x`` ``(B*T, 3, H', W')`` in
        [-1, 1]).

        Args:
            lqs: LR frames.
            generators: ``B*T`` generators, frame-major (see :func:`~.guidance.frame_generators`).
            callback: ``(step, steps)`` after each sampling step.
        """
        b, t = self._check_generators(lqs, generators)
        x, _, _ = self.prepare(lqs)
        return self._sample(x, self._guide(x, b, t), generators, b, t, callback), x

    def decode_latents(self, z0: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Temporal-aware decoding of ``z_0`` ``(B, T, 4, h, w)`` with CFW on the features of ``x`` (the prepared LR,
        ``(B*T, 3, 8h, 8w)`` in [-1, 1]) -> ``(B*T, 3, 8h, 8w)`` in [-1, 1] (colour-corrected when configured)."""
        s = self.cfg.sampling
        _, features = self.vae.encode(x)
        img = self.vae.decode(z0.flatten(0, 1) / self.cfg.scale_factor, features, z0.shape[1], s.fusion_w).float()
        return adain_color_fix(img, x.float()) if s.color_fix == "adain" else img

    def _restore_patches(self, x: torch.Tensor, guide: MotionGuide | None, generators: list[torch.Generator],
                         b: int, t: int, callback: Callable[[int, int], None] | None) -> torch.Tensor:
        """Sampling and decoding patch by patch (the official ``vqgantile``: 960 px, stride 750, averaged), bounding
        the VAE's memory on large frames; flows and masks are computed on the whole frame and cropped."""
        s = self.cfg.sampling
        tile, stride = s.pixel_tile // 8, max(s.pixel_tile_stride // 8, 1)  # on the latent grid
        hl, wl = x.shape[-2] // 8, x.shape[-1] // 8
        out = torch.zeros(x.shape, dtype=torch.float32, device=x.device)
        count = torch.zeros(x.shape[-2:], dtype=torch.float32, device=x.device)
        for y0 in _patch_starts(hl, tile, stride):
            for x0 in _patch_starts(wl, tile, stride):
                th, tw = min(tile, hl), min(tile, wl)
                px = (slice(None), slice(None), slice(8 * y0, 8 * (y0 + th)), slice(8 * x0, 8 * (x0 + tw)))
                sub = None if guide is None else MotionGuide(
                    *(f[..., y0:y0 + th, x0:x0 + tw] for f in (guide.flow_next, guide.flow_prev, guide.valid_next,
                                                               guide.valid_prev)))
                z0 = self._sample(x[px], sub, generators, b, t, callback)
                with torch.no_grad():
                    out[px] += self.decode_latents(z0, x[px])
                count[px[2:]] += 1
        return out / count

    def restore_clip(self, lqs: torch.Tensor, generators: list[torch.Generator],
                     callback: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """One clip: ``(B, T, 3, h, w)`` RGB [0, 1] -> ``(B, T, 3, 4h, 4w)`` [0, 1]; frames larger than
        ``pixel_tile`` (after upsampling) are restored in overlapping patches."""
        b, t, _, h, w = lqs.shape
        self._check_generators(lqs, generators)
        x, scale, size = self.prepare(lqs)
        guide = self._guide(x, b, t)
        img = self._restore_patches(x, guide, generators, b, t, callback)
        with torch.no_grad():
            out = ((img + 1) / 2).clamp(0, 1)[..., :size[0], :size[1]]
            if scale > 4:
                out = F.interpolate(out, size=(4 * h, 4 * w), mode="bicubic", align_corners=False).clamp(0, 1)
        return out.reshape(b, t, 3, 4 * h, 4 * w)

    def restore_sequence(self, lqs: torch.Tensor, *, seed: int = 0, overlap: int = 0, first_index: int = 0,
                         callback: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """A whole sequence ``(B, N, 3, h, w)`` -> ``(B, N, 3, 4h, 4w)``, in clips of ``num_frames``.

        Args:
            lqs: LR frames, RGB [0, 1].
            seed: Seed of the per-frame generators.
            overlap: Frames shared by neighbouring clips (0: the official non-overlapping clips); of the shared frames
                each clip keeps the half nearer its centre.
            first_index: Global index of ``lqs[:, 0]`` (for the per-frame noise when a video is fed in pieces).
            callback: ``(clip, clips)`` after each clip.
        """
        b, n = lqs.shape[:2]
        try:
            clips = list(stream_clips(range(n), self.cfg.sampling.num_frames, overlap))
        except ValueError as exc:
            raise ValueError(f"restore_sequence: {exc}") from None
        outputs: list[torch.Tensor] = []
        for clip, idx in clips:  # idx: the clip's frame indices, the final frame repeated in a short last clip
            gens = [g for _ in range(b) for g in frame_generators(seed, [first_index + i for i in idx],
                                                                   device=lqs.device)]
            out = self.restore_clip(lqs[:, idx], gens)
            outputs.append(out[:, clip.start - clip.first:clip.stop - clip.first])
            if callback is not None:
                callback(clip.index, len(clips))
        return torch.cat(outputs, dim=1)

    def forward(self, lqs: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """``(B, N, 3, h, w)`` [0, 1] -> ``(B, N, 3, 4h, 4w)`` (:meth:`restore_sequence` without overlap)."""
        return self.restore_sequence(lqs, seed=seed)

    def describe(self) -> dict:
        """Plain-data config (sizes and sampling)."""
        return asdict(self.cfg)


SPEC = ModelSpec(task="diffusion", temporal=True, parts={"spynet": "spynet"})
