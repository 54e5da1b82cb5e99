"""Tiny models for tests: a registered architecture in a tiny size with fixed weights (:func:`save_tiny_model`), and
``TinyBiRecurrent``, a tiny deterministic bidirectional recurrent x4 model for inference tests (the real part being
tested is the runner).

``TinyBiRecurrent`` has the shape contract of BasicVSR -- ``(B, T, 3, H, W)`` [0, 1] -> ``(B, T, 3, 4H, 4W)`` -- and
its output at frame t depends on all frames before and after t through a backward and a forward recurrence whose
influence decays with distance (like BasicVSR's propagated features), so temporal chunk overlap matters.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from wildvsr.models import ModelSpec


class TinyBiRecurrent(nn.Module):
    """Bidirectional recurrent x4 upscaler with fixed pseudo-random weights (seeded, no global RNG). Not registered:
    it carries its own spec (a video model, memory estimated as a recurrent one of ``mid_channels``)."""

    def __init__(self, mid_channels: int = 4, seed: int = 0, gain: float = 1.0) -> None:
        super().__init__()
        self.config = {"mid_channels": mid_channels, "seed": seed, "gain": gain}
        self.spec = ModelSpec(temporal=True, config=self.config)
        self.mid_channels = mid_channels
        g = torch.Generator().manual_seed(seed)
        c = mid_channels
        self.backward_conv = nn.Conv2d(3 + c, c, 3, padding=1)
        self.forward_conv = nn.Conv2d(3 + c, c, 3, padding=1)
        self.fusion = nn.Conv2d(2 * c, 3 * 16, 3, padding=1)
        with torch.no_grad():
            for m in (self.backward_conv, self.forward_conv, self.fusion):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.2)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.05)
            self.fusion.weight.mul_(gain)

    def forward(self, lqs: torch.Tensor) -> torch.Tensor:
        b, t, _, h, w = lqs.shape
        c = self.mid_channels
        feat = lqs.new_zeros(b, c, h, w)
        backward = []
        for i in range(t - 1, -1, -1):
            feat = torch.tanh(self.backward_conv(torch.cat([lqs[:, i], 0.8 * feat], 1)))
            backward.append(feat)
        backward.reverse()
        feat = lqs.new_zeros(b, c, h, w)
        outs = []
        for i in range(t):
            feat = torch.tanh(self.forward_conv(torch.cat([lqs[:, i], 0.8 * feat], 1)))
            res = F.pixel_shuffle(self.fusion(torch.cat([backward[i], feat], 1)), 4) * 0.1  # (B, 3, 4H, 4W)
            base = F.interpolate(lqs[:, i], scale_factor=4, mode="bilinear", align_corners=False)
            outs.append(base + res)
        return torch.stack(outs, 1)  # (B, T, 3, 4H, 4W)


def save_tiny_model(path: Path, name: str = "basicvsr", **kwargs) -> Path:
    """A real registered architecture in a tiny size (default: BasicVSR, 8 channels, 1 block, SPyNet included) with
    fixed random weights, saved as our safetensors; the global RNG is left as it was."""
    from wildvsr.models import create_model, save_pretrained

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # test-only: the weights only need to be fixed, not good
        save_pretrained(create_model(name, **(kwargs or {"mid_channels": 8, "num_blocks": 1})), path)
    return path


def save_tiny_weights(path: Path) -> Path:
    """Weights of :class:`TinyBiRecurrent` (seeded, fixed), as the ``tiny`` model of :mod:`helpers.tiny_cli` loads
    them."""
    from safetensors.torch import save_file

    save_file(TinyBiRecurrent().state_dict(), str(path))
    return path
