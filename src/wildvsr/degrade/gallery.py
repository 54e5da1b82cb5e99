"""A PNG grid showing the same crop after every degradation step (input, blur, resize, noise, JPEG, codec, ...).

Every step changes the frame size, so the crop is a fixed *relative* window (same fraction of height and width)
taken from each intermediate frame and shown at one tile size with nearest-neighbour scaling, so pixels, blocking
and ringing stay visible. Each tile is labelled with its step and the parameters used on that frame.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from wildvsr.utils.files import atomic_write_bytes


class GalleryRecorder:
    """Collects ``(label, frame)`` pairs; pass ``recorder`` as ``Degrader.apply(..., trace=recorder)``.

    Args:
        window: relative crop ``(top, left, height, width)`` as fractions of the frame (default: a centred square
            of a third of the shorter side).
    """

    def __init__(self, window: tuple[float, float, float, float] | None = None) -> None:
        self.window = window
        self.steps: list[tuple[str, np.ndarray]] = []

    def __call__(self, label: str, frame: torch.Tensor) -> None:
        img = (frame.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
        if self.window is None:  # fix the window from the first (input) frame
            h, w = img.shape[:2]
            side = min(h, w) / 3
            self.window = ((h - side) / 2 / h, (w - side) / 2 / w, side / h, side / w)
        self.steps.append((label, img))

    def crops(self) -> list[tuple[str, np.ndarray]]:
        top, left, fh, fw = self.window
        out = []
        for label, img in self.steps:
            h, w = img.shape[:2]
            y0, x0 = round(top * h), round(left * w)
            y1, x1 = max(y0 + 1, round((top + fh) * h)), max(x0 + 1, round((left + fw) * w))
            out.append((f"{label}  [{w}x{h}]", img[y0:y1, x0:x1]))
        return out


def render_gallery(crops: list[tuple[str, np.ndarray]], tile: int = 256, columns: int = 4) -> Image.Image:
    """Grid image: each crop scaled (nearest) to ``tile`` x ``tile``, its label underneath."""
    font = ImageFont.load_default()
    label_h = 28
    rows = math.ceil(len(crops) / columns)
    canvas = Image.new("RGB", (columns * (tile + 8) + 8, rows * (tile + label_h + 8) + 8), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for k, (label, crop) in enumerate(crops):
        r, c = divmod(k, columns)
        x, y = 8 + c * (tile + 8), 8 + r * (tile + label_h + 8)
        canvas.paste(Image.fromarray(crop).resize((tile, tile), Image.NEAREST), (x, y))
        words, lines, line = label.split(" "), [], ""
        for word in words:  # wrap to the tile width
            if line and draw.textlength(line + " " + word, font=font) > tile:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
        draw.multiline_text((x, y + tile + 2), "\n".join(f"{k}. {lines[0]}" if i == 0 else s
                                                          for i, s in enumerate(lines[:2])), fill=(0, 0, 0), font=font)
    return canvas


def save_gallery(recorder: GalleryRecorder, path: str | Path, *, overwrite: bool = True) -> Path:
    """Render the recorded steps and write the PNG atomically."""
    buf = io.BytesIO()
    render_gallery(recorder.crops()).save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue(), overwrite=overwrite)
