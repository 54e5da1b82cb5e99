"""A tiny deterministic bidirectional recurrent x4 model for inference tests (the real part being tested is the runner).

``TinyBiRecurrent`` has the shape contract of BasicVSR -- ``(B, T, 3, H, W)`` [0, 1] -> ``(B, T, 3, 4H, 4W)`` -- and
its output at frame t depends on all frames before and after t through a backward and a forward recurrence whose
influence decays with distance (like BasicVSR's propagated features), so temporal chunk overlap matters.
"""

from __future__ import annotations

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


def psnr(a, b) -> float:
    """PSNR in dB between two uint8 arrays (inf when equal)."""
    import numpy as np

    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def read_frames(path):
    """All frames of a video or frame folder, ``(T, H, W, 3)`` uint8."""
    import numpy as np

    from wildvsr.video import VideoReader

    with VideoReader(path) as r:
        return np.stack([f.image for f in r])


def write_pngs(folder, frames):
    """Write ``(T, H, W, 3)`` uint8 or uint16 frames as a PNG folder (8- or 16-bit PNGs) and return it."""
    from wildvsr.video import VideoWriter

    with VideoWriter(folder) as writer:
        for img in frames:
            writer.write(img)
    return folder


def interrupt_after(chunks: int):
    """A ``progress`` callback that raises KeyboardInterrupt (Ctrl-C) once ``chunks`` chunks were reported."""
    seen = []

    def progress(n: int) -> None:
        seen.append(n)
        if len(seen) == chunks:
            raise KeyboardInterrupt

    return progress


def kill_9_after_first_chunk(src, dst, opts: list, env: dict, timeout: float = 240, watch=None) -> int:
    """Run ``wildvsr upscale src dst *opts`` in a subprocess, SIGKILL it once its work folder records a finished
    chunk, and return the number of chunks recorded then (0 if the run never got that far before the timeout).

    ``src`` may be a list (several inputs, ``dst`` their output folder); ``watch`` is then the output whose work
    folder is watched (default: ``dst``)."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from wildvsr.inference.resume import work_dir_for

    manifest = work_dir_for(watch or dst) / "manifest.json"
    srcs = list(src) if isinstance(src, (list, tuple)) else [src]
    proc = subprocess.Popen([sys.executable, "-m", "wildvsr", "upscale", *srcs, dst, *map(str, opts)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if manifest.exists():
            done = len(json.loads(manifest.read_text())["chunks"])
            if done >= 1:
                break
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return done
