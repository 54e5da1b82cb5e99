"""Helpers of the NegVSR tests (``tests/negvsr``): a clip of noise beside texture, PNG folders written with PIL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def flat_and_textured_clip(num_frames: int = 8, seed: int = 0) -> np.ndarray:
    """uint8 (T, 128, 256, 3): left half a flat grey field with small i.i.d. noise, right half strong texture.

    With 64-pixel windows the left 2 x 2 windows are noise (grayscale variance about 9), the right 2 x 2 are texture.
    """
    rng = np.random.default_rng(seed)
    t, h, w = num_frames, 128, 256
    clip = np.empty((t, h, w, 3), dtype=np.uint8)
    flat = 120 + rng.normal(0, 3, size=(t, h, w // 2, 3))
    texture = rng.integers(0, 256, size=(t, h, w // 2, 3))
    clip[:, :, : w // 2] = np.clip(flat.round(), 0, 255).astype(np.uint8)
    clip[:, :, w // 2:] = texture.astype(np.uint8)
    return clip


def write_png_folder(folder: Path, frames: np.ndarray) -> Path:
    """Write uint8 (T, H, W, 3) frames as ``00000000.png ...`` (lossless)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"{i:08d}.png")
    return folder
