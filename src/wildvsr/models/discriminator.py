"""U-Net discriminator with spectral normalisation (Real-ESRGAN, Wang et al. 2021), used by RealBasicVSR's GAN stage.

Written from SPEC 2. Names follow MMEditing's ``UNetDiscriminatorWithSpectralNorm`` (``conv_0`` ... ``conv_9``); the
spectral norm is ``torch.nn.utils.spectral_norm`` (keys ``weight_orig``, ``weight_u``, ``weight_v``), as there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from wildvsr.errors import InputError
from wildvsr.models.spec import ModelSpec

__all__ = ["UNetDiscriminatorSN", "SPEC", "checkpoint_filter_fn"]


class UNetDiscriminatorSN(nn.Module):
    """Per-pixel real/fake logits. ``(B, C, H, W)`` [0, 1] -> ``(B, 1, H, W)`` logits; H and W multiples of 8.

    Args:
        in_channels: Input channels.
        mid_channels: Base width (64 -> 128 -> 256 -> 512 down, back up with skips).
        skip_connection: Add encoder features to the decoder (U-Net skips).
    """

    def __init__(self, in_channels: int = 3, mid_channels: int = 64, skip_connection: bool = True) -> None:
        super().__init__()
        self.config = {"in_channels": in_channels, "mid_channels": mid_channels, "skip_connection": skip_connection}
        self.skip_connection = skip_connection
        c = mid_channels
        self.conv_0 = nn.Conv2d(in_channels, c, 3, 1, 1)
        # downsample
        self.conv_1 = spectral_norm(nn.Conv2d(c, c * 2, 4, 2, 1, bias=False))
        self.conv_2 = spectral_norm(nn.Conv2d(c * 2, c * 4, 4, 2, 1, bias=False))
        self.conv_3 = spectral_norm(nn.Conv2d(c * 4, c * 8, 4, 2, 1, bias=False))
        # upsample
        self.conv_4 = spectral_norm(nn.Conv2d(c * 8, c * 4, 3, 1, 1, bias=False))
        self.conv_5 = spectral_norm(nn.Conv2d(c * 4, c * 2, 3, 1, 1, bias=False))
        self.conv_6 = spectral_norm(nn.Conv2d(c * 2, c, 3, 1, 1, bias=False))
        # extra
        self.conv_7 = spectral_norm(nn.Conv2d(c, c, 3, 1, 1, bias=False))
        self.conv_8 = spectral_norm(nn.Conv2d(c, c, 3, 1, 1, bias=False))
        self.conv_9 = nn.Conv2d(c, 1, 3, 1, 1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        if img.dim() != 4 or img.shape[-1] % 8 or img.shape[-2] % 8:
            raise InputError(f"UNetDiscriminatorSN expects (B, C, H, W) with H, W multiples of 8, "
                             f"got {tuple(img.shape)}")

        def act(x: torch.Tensor) -> torch.Tensor:
            return F.leaky_relu(x, negative_slope=0.2)

        def up(x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

        feat_0 = act(self.conv_0(img))
        feat_1 = act(self.conv_1(feat_0))
        feat_2 = act(self.conv_2(feat_1))
        feat_3 = act(self.conv_3(feat_2))

        feat_4 = act(self.conv_4(up(feat_3)))
        if self.skip_connection:
            feat_4 = feat_4 + feat_2
        feat_5 = act(self.conv_5(up(feat_4)))
        if self.skip_connection:
            feat_5 = feat_5 + feat_1
        feat_6 = act(self.conv_6(up(feat_5)))
        if self.skip_connection:
            feat_6 = feat_6 + feat_0

        out = act(self.conv_7(feat_6))
        out = act(self.conv_8(out))
        return self.conv_9(out)


def checkpoint_filter_fn(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Take ``discriminator.*`` from an MMEditing restorer checkpoint, or a bare discriminator; Real-ESRGAN's
    ``conv{i}`` names become ``conv_{i}``."""
    if any(k.startswith("discriminator.") for k in state):
        state = {k[len("discriminator."):]: v for k, v in state.items() if k.startswith("discriminator.")}
    out = {}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        if head.startswith("conv") and head[4:].isdigit():
            key = f"conv_{head[4:]}.{rest}"
        out[key] = value
    return out


SPEC = ModelSpec(task="discriminator", temporal=False)
"""A GAN discriminator (training only, not an upscaler)."""
