"""MGLD-VSR's denoising U-Net (SD 2.1-base with SFT conditioning and temporal layers) and its time-aware LR encoder.

Official counterparts: ``InflatedUNetModelDualcondV2`` (``model.diffusion_model.*``) and ``InflatedEncoderUNetModelWT``
(``structcond_stage_model.*``) in ``ldm/modules/diffusionmodules/openaimodel.py`` of IanYeung/MGLD-VSR, configured by
``configs/mgldvsr/mgldvsr_512_realbasicvsr_deg.yaml``. The MGLD additions sit in the middle block only (the official
code comments out the per-stage ones): ResBlock, TemporalConv, SpatialTransformer, TemporalAttention, ResBlock,
TemporalConv. Every residual block of the U-Net takes the encoder's features by SFT (StableSR).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from wildvsr.models.mgldvsr.blocks import (
    AttentionBlock,
    Downsample,
    ResBlock,
    ResBlockSFT,
    SpatialTransformer,
    StepSequential,
    TemporalAttention,
    TemporalConv,
    Upsample,
    group_norm,
    timestep_embedding,
)

__all__ = ["UNetConfig", "EncoderConfig", "MGLDUNet", "TimeAwareEncoder"]


@dataclass(frozen=True)
class UNetConfig:
    """Sizes of the denoising U-Net; defaults are the official ones (SD 2.1-base)."""

    in_channels: int = 4
    out_channels: int = 4
    model_channels: int = 320
    channel_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = (4, 2, 1)  # downsampling factors with a transformer
    num_head_channels: int = 64
    context_dim: int = 1024  # OpenCLIP ViT-H/14 text width
    cond_channels: int = 256  # the time-aware encoder's output channels (official ``semb_channels``)
    sft_hidden: int = 128  # hard-coded in the official SPADE


@dataclass(frozen=True)
class EncoderConfig:
    """Sizes of the time-aware LR encoder; defaults are the official ones."""

    in_channels: int = 4
    model_channels: int = 256
    out_channels: int = 256
    channel_mult: tuple[int, ...] = (1, 1, 2, 2)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = (4, 2, 1)
    num_heads: int = 4


def _time_embed(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(channels, channels * 4), nn.SiLU(), nn.Linear(channels * 4, channels * 4))


class MGLDUNet(nn.Module):
    """Epsilon-predicting U-Net: ``(B*T, 4, h, w)`` latents, timesteps ``(B*T,)``, text context ``(B*T, 77, D)``,
    LR features ``{width: (B*T, cond_channels, h', w')}`` -> predicted noise ``(B*T, 4, h, w)``.

    ``h`` and ``w`` must be multiples of ``2 ** (len(channel_mult) - 1)``.
    """

    def __init__(self, config: UNetConfig | None = None, **kwargs) -> None:
        super().__init__()
        cfg = config or UNetConfig(**kwargs)
        self.config = asdict(cfg)
        mc, emb = cfg.model_channels, cfg.model_channels * 4
        self.model_channels = mc
        self.time_embed = _time_embed(mc)

        def res(ch_in: int, ch_out: int) -> ResBlockSFT:
            return ResBlockSFT(ch_in, emb, cfg.cond_channels, ch_out, cfg.sft_hidden)

        def attn(ch: int) -> SpatialTransformer:
            return SpatialTransformer(ch, ch // cfg.num_head_channels, cfg.num_head_channels, cfg.context_dim)

        self.input_blocks = nn.ModuleList([StepSequential([nn.Conv2d(cfg.in_channels, mc, 3, padding=1)])])
        skip_chans, ch, ds = [mc], mc, 1
        for level, mult in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                layers: list[nn.Module] = [res(ch, mult * mc)]
                ch = mult * mc
                if ds in cfg.attention_resolutions:
                    layers.append(attn(ch))
                self.input_blocks.append(StepSequential(layers))
                skip_chans.append(ch)
            if level != len(cfg.channel_mult) - 1:
                self.input_blocks.append(StepSequential([Downsample(ch)]))
                skip_chans.append(ch)
                ds *= 2
        heads = ch // cfg.num_head_channels
        self.middle_block = StepSequential([
            res(ch, ch), TemporalConv(ch), attn(ch), TemporalAttention(ch, heads, cfg.num_head_channels),
            res(ch, ch), TemporalConv(ch)])
        self.output_blocks = nn.ModuleList()
        for level, mult in reversed(list(enumerate(cfg.channel_mult))):
            for i in range(cfg.num_res_blocks + 1):
                layers = [res(ch + skip_chans.pop(), mc * mult)]
                ch = mc * mult
                if ds in cfg.attention_resolutions:
                    layers.append(attn(ch))
                if level and i == cfg.num_res_blocks:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(StepSequential(layers))
        self.out = nn.Sequential(group_norm(ch), nn.SiLU(), nn.Conv2d(mc, cfg.out_channels, 3, padding=1))

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor,
                cond: dict[int, torch.Tensor], num_frames: int) -> torch.Tensor:
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels).to(x.dtype))
        hs = []
        h = x
        for block in self.input_blocks:
            h = block(h, emb, context, cond, num_frames)
            hs.append(h)
        h = self.middle_block(h, emb, context, cond, num_frames)
        for block in self.output_blocks:
            h = block(torch.cat([h, hs.pop()], dim=1), emb, context, cond, num_frames)
        return self.out(h)

    def temporal_parameters(self) -> list[nn.Parameter]:
        """The parameters MGLD-VSR trains in stage 1 besides the SFT layers (names containing ``temporal``)."""
        return [p for n, p in self.named_parameters() if "temporal" in n]


class TimeAwareEncoder(nn.Module):
    """Half U-Net over the LR latent, conditioned on the diffusion timestep: ``(N, 4, h, w)``, ``(N,)`` ->
    ``{width: (N, out_channels, h_l, w_l)}`` at each U-Net resolution (keys are the widths, as SFT looks them up)."""

    def __init__(self, config: EncoderConfig | None = None, **kwargs) -> None:
        super().__init__()
        cfg = config or EncoderConfig(**kwargs)
        self.config = asdict(cfg)
        mc, emb = cfg.model_channels, cfg.model_channels * 4
        self.model_channels = mc
        self.time_embed = _time_embed(mc)
        self.input_blocks = nn.ModuleList([StepSequential([nn.Conv2d(cfg.in_channels, mc, 3, padding=1)])])
        feature_chans, ch, ds = [], mc, 1
        for level, mult in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                layers: list[nn.Module] = [ResBlock(ch, emb, mult * mc)]
                ch = mult * mc
                if ds in cfg.attention_resolutions:
                    layers.append(AttentionBlock(ch, cfg.num_heads))
                self.input_blocks.append(StepSequential(layers))
            if level != len(cfg.channel_mult) - 1:
                self.input_blocks.append(StepSequential([Downsample(ch)]))
                feature_chans.append(ch)
                ds *= 2
        self.middle_block = StepSequential([ResBlock(ch, emb), AttentionBlock(ch, cfg.num_heads), ResBlock(ch, emb)])
        feature_chans.append(ch)
        self.fea_tran = nn.ModuleList([ResBlock(c, emb, cfg.out_channels) for c in feature_chans])

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor) -> dict[int, torch.Tensor]:
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels).to(x.dtype))
        features = []
        h = x
        for block in self.input_blocks:
            prev = h
            h = block(h, emb)
            if h.shape[-1] != prev.shape[-1]:  # a downsampling stage: keep the features before it
                features.append(prev)
        features.append(self.middle_block(h, emb))
        return {f.shape[-1]: tran(f, emb) for f, tran in zip(features, self.fea_tran)}
