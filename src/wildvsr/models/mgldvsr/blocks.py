"""Building blocks of MGLD-VSR's denoising U-Net and time-aware LR encoder (the StableSR/LDM "openaimodel" blocks).

Attribute names follow the official ``ldm`` modules (``in_layers``, ``emb_layers``, ``out_layers``, ``spade``,
``transformer_blocks``, ``temporal_conv``, ``temporal_alpha``...), so an official checkpoint maps onto these modules
by prefix renames only (:mod:`wildvsr.models.mgldvsr.checkpoint`). Written from the paper and the official configs;
no code copied. Feature maps are ``(B*T, C, H, W)``: frames are folded into the batch, and the temporal layers unfold
them with ``num_frames`` given at call time (the official code fixes it to 5 in the config).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["timestep_embedding", "group_norm", "ResBlock", "ResBlockSFT", "SFT", "AttentionBlock",
           "SpatialTransformer", "TemporalConv", "TemporalAttention", "Downsample", "Upsample", "StepSequential"]


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding ``(N,) -> (N, dim)``, cosines first then sines (the LDM convention)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device) / half)
    args = timesteps.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class _GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in fp32 and cast back (the LDM ``GroupNorm32``; keeps fp16/bf16 runs stable)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).to(x.dtype)


def group_norm(channels: int, eps: float = 1e-5) -> nn.GroupNorm:
    """32-group norm (channels must be a multiple of 32, as in every official size)."""
    return _GroupNorm32(32, channels, eps=eps)


class SFT(nn.Module):
    """Spatial feature transform of StableSR (official name ``SPADE``): ``norm(x) * (1 + gamma(c)) + beta(c)``.

    ``c`` is the time-aware encoder's feature map at ``x``'s width. Keys: ``param_free_norm`` (a 32-group norm, affine
    despite its name), ``mlp_shared.0``, ``mlp_gamma``, ``mlp_beta``.
    """

    def __init__(self, channels: int, cond_channels: int, hidden: int = 128) -> None:
        super().__init__()
        self.param_free_norm = group_norm(channels)
        self.mlp_shared = nn.Sequential(nn.Conv2d(cond_channels, hidden, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, cond: dict[int, torch.Tensor]) -> torch.Tensor:
        c = cond[x.shape[-1]]
        actv = self.mlp_shared(c)
        return self.param_free_norm(x) * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class ResBlock(nn.Module):
    """Timestep-conditioned residual block: ``skip(x) + out_layers(in_layers(x) + emb_layers(emb))``."""

    def __init__(self, channels: int, emb_channels: int, out_channels: int | None = None) -> None:
        super().__init__()
        out_channels = out_channels or channels
        self.in_layers = nn.Sequential(group_norm(channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, out_channels))
        self.out_layers = nn.Sequential(group_norm(out_channels), nn.SiLU(), nn.Dropout(0.0),
                                        nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip_connection = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)

    def _residual(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x)
        h = h + self.emb_layers(emb).to(h.dtype)[:, :, None, None]
        return self.out_layers(h)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return self.skip_connection(x) + self._residual(x, emb)


class ResBlockSFT(ResBlock):
    """U-Net residual block with the LR condition injected by :class:`SFT` on the residual branch (``ResBlockDual``)."""

    def __init__(self, channels: int, emb_channels: int, cond_channels: int, out_channels: int | None = None,
                 sft_hidden: int = 128) -> None:
        super().__init__(channels, emb_channels, out_channels)
        self.spade = SFT(out_channels or channels, cond_channels, sft_hidden)

    def forward(self, x: torch.Tensor, emb: torch.Tensor, cond: dict[int, torch.Tensor]) -> torch.Tensor:
        return self.skip_connection(x) + self.spade(self._residual(x, emb), cond)


class AttentionBlock(nn.Module):
    """Spatial self-attention with a 1x1 ``qkv`` Conv1d, heads split before q/k/v (the "legacy" order).

    Used by the time-aware encoder. Keys: ``norm``, ``qkv``, ``proj_out``.
    """

    def __init__(self, channels: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.norm = group_norm(channels)
        self.qkv = nn.Conv1d(channels, channels * 3, 1)
        self.proj_out = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        flat = x.reshape(b, c, h * w)
        qkv = self.qkv(self.norm(flat))  # (B, 3C, L), laid out per head as [q, k, v]
        ch = c // self.num_heads
        q, k, v = qkv.reshape(b * self.num_heads, 3 * ch, h * w).split(ch, dim=1)  # (B*heads, ch, L) each
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        out = out.transpose(1, 2).reshape(b, c, h * w)
        return (flat + self.proj_out(out)).reshape(b, c, h, w)


class _Attention(nn.Module):
    """Multi-head (cross-)attention with bias-free ``to_q/k/v`` and ``to_out.0`` (the LDM ``CrossAttention``)."""

    def __init__(self, dim: int, heads: int, dim_head: int, context_dim: int | None = None) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim or dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim or dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        context = x if context is None else context
        b, n, _ = x.shape
        q, k, v = (t.reshape(b, t.shape[1], self.heads, -1).transpose(1, 2)  # (B, heads, N, dim_head)
                   for t in (self.to_q(x), self.to_k(context), self.to_v(context)))
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, -1)
        return self.to_out(out)


class _GEGLU(nn.Module):
    def __init__(self, dim: int, inner: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class _TransformerBlock(nn.Module):
    """Self-attention, cross-attention on the text context, GEGLU feed-forward; pre-LayerNorm residuals."""

    def __init__(self, dim: int, heads: int, dim_head: int, context_dim: int) -> None:
        super().__init__()
        self.attn1 = _Attention(dim, heads, dim_head)
        self.ff = nn.Module()
        self.ff.net = nn.Sequential(_GEGLU(dim, dim * 4), nn.Dropout(0.0), nn.Linear(dim * 4, dim))
        self.attn2 = _Attention(dim, heads, dim_head, context_dim)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff.net(self.norm3(x)) + x


class SpatialTransformer(nn.Module):
    """SD 2.x transformer with linear ``proj_in``/``proj_out`` (``use_linear_in_transformer``), depth 1."""

    def __init__(self, channels: int, heads: int, dim_head: int, context_dim: int, depth: int = 1) -> None:
        super().__init__()
        inner = heads * dim_head
        self.norm = group_norm(channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, inner)
        self.transformer_blocks = nn.ModuleList(
            [_TransformerBlock(inner, heads, dim_head, context_dim) for _ in range(depth)])
        self.proj_out = nn.Linear(inner, channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = self.proj_in(self.norm(x).flatten(2).transpose(1, 2))  # (B, H*W, inner)
        for block in self.transformer_blocks:
            y = block(y, context)
        return x + self.proj_out(y).transpose(1, 2).reshape(b, c, h, w)


class TemporalConv(nn.Module):
    """1-D temporal convolution blended with its input: ``alpha * conv_t(x) + (1 - alpha) * x``.

    A Conv3d with kernel (3, 1, 1) over ``(B, C, T, H, W)`` (official ``SpatialTemporalConv``); ``alpha`` is a learned
    scalar. ``alpha = 0`` makes the layer the identity (how a fresh layer is initialised here; the official code
    leaves it uninitialised).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.temporal_conv = nn.Conv3d(channels, channels, (3, 1, 1), padding=(1, 0, 0))
        self.temporal_alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        bt, c, h, w = x.shape
        clip = x.reshape(bt // num_frames, num_frames, c, h, w).transpose(1, 2)  # (B, C, T, H, W)
        res = self.temporal_conv(clip).transpose(1, 2).reshape(bt, c, h, w)
        return self.temporal_alpha * res + (1 - self.temporal_alpha) * x


class TemporalAttention(nn.Module):
    """Self-attention along time at each pixel, blended with its input by a learned scalar (U-Net middle block)."""

    def __init__(self, channels: int, heads: int, dim_head: int) -> None:
        super().__init__()
        self.temporal_attn = _Attention(channels, heads, dim_head)
        self.norm = nn.LayerNorm(channels)
        self.temporal_alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        bt, c, h, w = x.shape
        b = bt // num_frames
        seq = x.reshape(b, num_frames, c, h * w).permute(0, 3, 1, 2).reshape(b * h * w, num_frames, c)  # (BHW, T, C)
        res = self.temporal_attn(self.norm(seq))
        res = res.reshape(b, h * w, num_frames, c).permute(0, 2, 3, 1).reshape(bt, c, h, w)
        return self.temporal_alpha * res + (1 - self.temporal_alpha) * x


class Downsample(nn.Module):
    """Stride-2 3x3 conv (key ``op``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    """Nearest x2 then a 3x3 conv (key ``conv``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class StepSequential(nn.ModuleList):
    """A U-Net stage: runs its layers in order, giving each the inputs its kind takes (``TimestepEmbedSequential``)."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor, context: torch.Tensor | None = None,
                cond: dict[int, torch.Tensor] | None = None, num_frames: int = 1) -> torch.Tensor:
        for layer in self:
            if isinstance(layer, ResBlockSFT):
                x = layer(x, emb, cond)
            elif isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context)
            elif isinstance(layer, (TemporalConv, TemporalAttention)):
                x = layer(x, num_frames)
            else:
                x = layer(x)
        return x
