"""Contact sheets that let a person see the noise bank and NegMix at work.

- :func:`noise_gallery`: a few kept noise sequences (rows) at a few frames (columns), each sequence contrast-stretched
  over all its frames so the noise and its flicker are visible.
- :func:`negmix_gallery`: the paper's Fig. 3 grid: noise weight M (rows) against rotation probability P (columns)
  on a 64 x 64 LQ crop of an input frame mixed with a bank sequence, enlarged with nearest-neighbour pixels.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from wildvsr.errors import InputError
from wildvsr.negvsr.bank import NoiseBank
from wildvsr.negvsr.negmix import negmix
from wildvsr.utils.files import atomic_path
from wildvsr.utils.frames import to_frames, to_tensor
from wildvsr.video import VideoReader

logger = logging.getLogger(__name__)

_BG = (32, 32, 32)
_FG = (235, 235, 235)


def _save_png(image: Image.Image, out: str | os.PathLike, overwrite: bool) -> Path:
    with atomic_path(out, overwrite=overwrite) as tmp:
        image.save(tmp, format="PNG")
    return Path(out)


def _enlarge(tile: np.ndarray, scale: int) -> np.ndarray:
    return tile.repeat(scale, axis=0).repeat(scale, axis=1)


def _stretch(seq: np.ndarray) -> np.ndarray:
    """Contrast-stretch a uint8 (T, h, w, 3) sequence to 0-255 using its 1st-99th percentiles over all frames."""
    lo, hi = np.percentile(seq, [1, 99])
    hi = max(hi, lo + 1)
    return (np.clip((seq.astype(np.float32) - lo) / (hi - lo), 0, 1) * 255 + 0.5).astype(np.uint8)


def _sheet(tiles: list[list[np.ndarray]], row_labels: list[str], col_labels: list[str], title: str,
           gap: int = 4, left: int = 0) -> Image.Image:
    """Lay out equally sized uint8 (h, w, 3) tiles with labels."""
    font = ImageFont.load_default()
    th, tw = tiles[0][0].shape[:2]
    rows, cols = len(tiles), len(tiles[0])
    left = left or max(8 + 7 * max((len(s) for s in row_labels), default=0), 8)
    top = 40
    width = left + cols * (tw + gap) + gap
    height = top + rows * (th + gap) + gap
    sheet = Image.new("RGB", (width, height), _BG)
    draw = ImageDraw.Draw(sheet)
    draw.text((gap, 4), title, fill=_FG, font=font)
    for c, label in enumerate(col_labels):
        draw.text((left + c * (tw + gap) + 2, 24), label, fill=_FG, font=font)
    for r, row in enumerate(tiles):
        y = top + r * (th + gap)
        draw.text((4, y + th // 2 - 5), row_labels[r], fill=_FG, font=font)
        for c, tile in enumerate(row):
            sheet.paste(Image.fromarray(tile), (left + c * (tw + gap), y))
    return sheet


def noise_gallery(bank: NoiseBank | str | os.PathLike, out: str | os.PathLike, *, sequences: int = 6,
                  frames: int = 5, scale: int = 2, overwrite: bool = False) -> Path:
    """Write a PNG of ``sequences`` bank entries (evenly spread over the bank) at ``frames`` evenly spaced frames.

    Each row is one sequence, contrast-stretched over all its frames (1st-99th percentile to 0-255), labelled with
    its window position and mean grayscale variance; tiles are enlarged ``scale`` x with nearest neighbours.
    """
    bank = bank if isinstance(bank, NoiseBank) else NoiseBank(bank)
    n = len(bank)
    picks = np.unique(np.linspace(0, n - 1, min(sequences, n)).round().astype(int))
    times = np.unique(np.linspace(0, bank.length - 1, min(frames, bank.length)).round().astype(int))
    entries = bank.index["sequences"]
    tiles, labels = [], []
    for i in picks:
        seq = _stretch(bank.get(int(i)).numpy())
        tiles.append([_enlarge(seq[t], scale) for t in times])
        e = entries[i]
        labels.append(f"#{i} y{e['y']} x{e['x']} var {e['stats']['mean_var']:.1f}")
    title = f"{bank.path.name}: {n} noise sequences of {bank.length} x {bank.window}px, contrast-stretched"
    return _save_png(_sheet(tiles, labels, [f"frame {t}" for t in times], title), out, overwrite)


def _lq_crop(source: str | os.PathLike, frames: int, size: int) -> torch.Tensor:
    """Up to the first ``frames`` frames of ``source``: a centred square, area-downscaled to ``size`` (LQ-like).

    Returns float (1, T, 3, size, size) in [0, 1], T <= ``frames``.
    """
    out = []
    with VideoReader(source) as reader:
        for frame in reader.frames(0, frames):
            img = frame.image
            side = min(img.shape[0], img.shape[1], 4 * size)
            y, x = (img.shape[0] - side) // 2, (img.shape[1] - side) // 2
            crop = Image.fromarray(img[y:y + side, x:x + side]).resize((size, size), Image.Resampling.BOX)
            out.append(np.asarray(crop))
    if not out:
        raise InputError(f"{source} has no frames")
    return to_tensor(np.stack(out))[None]


def negmix_gallery(source: str | os.PathLike, bank: NoiseBank | str | os.PathLike, out: str | os.PathLike, *,
                   weights: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
                   probs: tuple[float, ...] = tuple(i / 10 for i in range(11)), size: int = 64, patch_size: int = 4,
                   frame: int = 0, rule: str = "paper", scale: int = 3, seed: int = 0,
                   overwrite: bool = False) -> Path:
    """Write the Fig. 3 grid: NegMix of an input crop with one bank sequence, rows M (``weights``), columns P.

    One noise sequence and one generator seed are used for every cell, so the cells of a column share their rotations
    and only M changes down a column. Cells show frame ``frame`` enlarged ``scale`` x.

    Raises:
        InputError: ``rule`` is not ``paper``/``official``, or ``frame`` < 0 (before any work).
    """
    if rule not in ("paper", "official"):
        raise InputError(f"rule must be 'paper' or 'official', got {rule!r}")
    if frame < 0:
        raise InputError(f"frame must be >= 0, got {frame}")
    bank = bank if isinstance(bank, NoiseBank) else NoiseBank(bank)
    lq = _lq_crop(source, frame + 1, size)
    t = lq.shape[1]
    frame = t - 1  # the requested frame, or the last one of a shorter input
    rng = np.random.default_rng(seed)
    noise = bank.sample(1, t, size, size, rng)
    mode = bank.mix_mode
    tiles = []
    for m in weights:
        row = []
        for p in probs:
            gen = torch.Generator().manual_seed(seed)
            neg = negmix(lq, noise, generator=gen, mix_weight=m, prob=p, patch_size=patch_size, rule=rule, mode=mode)
            img = to_frames(neg[0, frame])
            row.append(_enlarge(img, scale))
        tiles.append(row)
    title = (f"NegMix ({rule} rule, {size}px crop, {patch_size}px patches, frame {frame}): "
             f"rows noise weight M, columns rotation probability P")
    return _save_png(_sheet(tiles, [f"M={m:g}" for m in weights], [f"P={p:g}" for p in probs], title, left=48),
                     out, overwrite)
