"""The SD VAE encoder and MGLD-VSR's temporal-aware sequence decoder (VAE decoder + temporal convs + CFW).

Official counterparts (IanYeung/MGLD-VSR ``ldm/modules/diffusionmodules/model.py``): ``Encoder`` (with
``return_fea``), ``VideoDecoder_Mix`` and ``Fuse_sft_block_ResidualDenseBlock``; the wrapper is
``VideoAutoencoderKLResi`` (``configs/video_vae/video_autoencoder_kl_64x64x4_resi.yaml``). A :class:`TemporalConv`
follows the middle ResnetBlock 1 and every up-block ResnetBlock; CFW (controllable feature warping, from StableSR) adds
``w * f(cat[enc, dec])`` at the two middle resolutions, ``enc`` being the encoder's features of the LR input.
Images are in [-1, 1], ``(B*T, 3, H, W)``; latents ``(B*T, 4, H/8, W/8)`` (unscaled: divide by 0.18215 first).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from wildvsr.models.mgldvsr.blocks import TemporalConv, Upsample, group_norm
from wildvsr.models.rrdbnet import ResidualDenseBlock

__all__ = ["VAEConfig", "VAEEncoder", "TemporalDecoder", "VideoVAE", "CFW"]


@dataclass(frozen=True)
class VAEConfig:
    """Sizes of the SD VAE (official ``ddconfig``); defaults are SD 2.1's."""

    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    z_channels: int = 4
    in_channels: int = 3
    out_ch: int = 3
    num_fuse_block: int = 2  # ResidualDenseBlocks per CFW module
    fuse_grow_ch: int = 32


def _norm(c: int) -> nn.GroupNorm:
    return group_norm(c, eps=1e-6)


class ResnetBlock(nn.Module):
    """``x (or skip(x)) + conv2(silu(norm2(conv1(silu(norm1(x))))))`` (no time embedding); the 1x1 skip conv, present
    when the width changes, is stored under :attr:`skip_key` (the official checkpoints name it per module)."""

    skip_key = "nin_shortcut"

    def __init__(self, in_channels: int, out_channels: int | None = None) -> None:
        super().__init__()
        out_channels = out_channels or in_channels
        self.norm1 = _norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = _norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        if in_channels != out_channels:
            self.add_module(self.skip_key, nn.Conv2d(in_channels, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.silu(self.norm2(self.conv1(F.silu(self.norm1(x))))))
        skip = self._modules.get(self.skip_key)
        return (skip(x) if skip is not None else x) + h


class AttnBlock(nn.Module):
    """Single-head spatial self-attention with 1x1 conv ``q``, ``k``, ``v``, ``proj_out``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = _norm(channels)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(channels, channels, 1) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = self.norm(x)
        q, k, v = (m(y).flatten(2).transpose(1, 2) for m in (self.q, self.k, self.v))  # (B, HW, C)
        out = F.scaled_dot_product_attention(q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)).squeeze(1)
        return x + self.proj_out(out.transpose(1, 2).reshape(b, c, h, w))


class _Down(nn.Module):
    """Stride-2 conv after a (0, 1, 0, 1) zero pad (key ``conv``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


def _mid(channels: int) -> nn.Module:
    mid = nn.Module()
    mid.block_1, mid.attn_1, mid.block_2 = ResnetBlock(channels), AttnBlock(channels), ResnetBlock(channels)
    return mid


class VAEEncoder(nn.Module):
    """``(N, 3, H, W)`` [-1, 1] -> moments ``(N, 2*z, H/8, W/8)`` and the features after levels 1 and 2 (for CFW)."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(cfg.in_channels, cfg.ch, 3, padding=1)
        in_mult = (1,) + tuple(cfg.ch_mult)
        self.down = nn.ModuleList()
        for level, mult in enumerate(cfg.ch_mult):
            stage = nn.Module()
            stage.block = nn.ModuleList([ResnetBlock(cfg.ch * (in_mult[level] if i == 0 else mult), cfg.ch * mult)
                                         for i in range(cfg.num_res_blocks)])
            if level != len(cfg.ch_mult) - 1:
                stage.downsample = _Down(cfg.ch * mult)
            self.down.append(stage)
        top = cfg.ch * cfg.ch_mult[-1]
        self.mid = _mid(top)
        self.norm_out = _norm(top)
        self.conv_out = nn.Conv2d(top, 2 * cfg.z_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = self.conv_in(x)
        features = []
        for level, stage in enumerate(self.down):
            for block in stage.block:
                h = block(h)
            if level in (1, 2):
                features.append(h)
            if hasattr(stage, "downsample"):
                h = stage.downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(F.silu(self.norm_out(h))), features


class _FuseResBlock(ResnetBlock):
    """Residual block of CFW: norm-silu-conv twice, a 1x1 ``conv_out`` on the skip when the width changes."""

    skip_key = "conv_out"


class CFW(nn.Module):
    """Controllable feature warping: ``dec + w * f(cat[enc, dec])`` (official ``Fuse_sft_block_ResidualDenseBlock``)."""

    def __init__(self, channels: int, num_block: int = 2, grow_ch: int = 32) -> None:
        super().__init__()
        self.encode_enc_1 = _FuseResBlock(2 * channels, channels)
        self.encode_enc_2 = nn.Sequential(*[ResidualDenseBlock(channels, grow_ch) for _ in range(num_block)])
        self.encode_enc_3 = _FuseResBlock(channels, channels)

    def forward(self, enc: torch.Tensor, dec: torch.Tensor, w: float) -> torch.Tensor:
        if w == 0:
            return dec
        return dec + w * self.encode_enc_3(self.encode_enc_2(self.encode_enc_1(torch.cat([enc, dec], dim=1))))


class TemporalDecoder(nn.Module):
    """Temporal-aware sequence decoder: ``(B*T, z, h, w)`` + encoder features -> ``(B*T, 3, 8h, 8w)`` in [-1, 1]."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        levels = len(cfg.ch_mult)
        ch = cfg.ch * cfg.ch_mult[-1]
        self.conv_in = nn.Conv2d(cfg.z_channels, ch, 3, padding=1)
        self.mid = _mid(ch)
        self.temporal_mixing = TemporalConv(ch)
        self.up = nn.ModuleList([nn.Module() for _ in range(levels)])
        for level in reversed(range(levels)):
            out = cfg.ch * cfg.ch_mult[level]
            stage = self.up[level]
            stage.block = nn.ModuleList([ResnetBlock(ch if i == 0 else out, out)
                                         for i in range(cfg.num_res_blocks + 1)])
            stage.temporal_mixing = nn.ModuleList([TemporalConv(out) for _ in range(cfg.num_res_blocks + 1)])
            if level != 0:
                stage.upsample = Upsample(out)
            if 0 < level < levels - 1:
                setattr(self, f"fusion_layer_{level}", CFW(out, cfg.num_fuse_block, cfg.fuse_grow_ch))
            ch = out
        self.norm_out = _norm(ch)
        self.conv_out = nn.Conv2d(ch, cfg.out_ch, 3, padding=1)

    def forward(self, z: torch.Tensor, enc_features: list[torch.Tensor], num_frames: int,
                fusion_w: float = 1.0) -> torch.Tensor:
        h = self.mid.block_1(self.conv_in(z))
        h = self.mid.block_2(self.mid.attn_1(self.temporal_mixing(h, num_frames)))
        for level in reversed(range(len(self.up))):
            stage = self.up[level]
            for block, temporal in zip(stage.block, stage.temporal_mixing):
                h = temporal(block(h), num_frames)
            fuse = getattr(self, f"fusion_layer_{level}", None)
            if fuse is not None:
                h = fuse(enc_features[level - 1], h, fusion_w)
            if level != 0:
                h = stage.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Stage 2's trainable part: the temporal convs and the CFW modules (the spatial decoder stays frozen)."""
        return [p for n, p in self.named_parameters() if "temporal" in n or n.startswith("fusion_layer")]


class VideoVAE(nn.Module):
    """MGLD-VSR's video VAE: SD encoder (+ ``quant_conv``) and the temporal-aware decoder (+ ``post_quant_conv``)."""

    def __init__(self, config: VAEConfig | None = None, **kwargs) -> None:
        super().__init__()
        cfg = config or VAEConfig(**kwargs)
        self.config = asdict(cfg)
        self.encoder = VAEEncoder(cfg)
        self.decoder = TemporalDecoder(cfg)
        self.quant_conv = nn.Conv2d(2 * cfg.z_channels, 2 * cfg.z_channels, 1)
        self.post_quant_conv = nn.Conv2d(cfg.z_channels, cfg.z_channels, 1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Images -> (posterior moments ``(N, 2z, h, w)``: mean then log-variance, encoder features for CFW)."""
        h, features = self.encoder(x)
        return self.quant_conv(h), features

    def decode(self, z: torch.Tensor, enc_features: list[torch.Tensor], num_frames: int,
               fusion_w: float = 1.0) -> torch.Tensor:
        """Unscaled latents ``(B*T, z, h, w)`` -> images ``(B*T, 3, 8h, 8w)``; ``fusion_w`` is CFW's ``w``."""
        return self.decoder(self.post_quant_conv(z), enc_features, num_frames, fusion_w)


class LatentEncoder(nn.Module):
    """The SD VAE encoder + ``quant_conv`` alone (the LDM's ``first_stage_model`` as MGLD-VSR uses it at inference)."""

    def __init__(self, config: VAEConfig | None = None, **kwargs) -> None:
        super().__init__()
        cfg = config or VAEConfig(**kwargs)
        self.encoder = VAEEncoder(cfg)
        self.quant_conv = nn.Conv2d(2 * cfg.z_channels, 2 * cfg.z_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> posterior moments (mean, log-variance) ``(N, 2z, h, w)``."""
        return self.quant_conv(self.encoder(x)[0])
