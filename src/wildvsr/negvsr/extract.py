"""Sequential real-world noise extraction (NegVSR, P-Neg Eq. 4-5; official ``collect_noise_sequence_supplement.py``).

A *window sequence* is a ``window x window`` square at the same place in every frame of an ``length``-frame clip.
Windows lie on a non-overlapping grid. A window sequence is kept as a noise sequence when, on the grayscale window
(PIL ``'L'``, 0-255):

- every frame has ``Var < max_var`` (sigma, 50) and ``mean > min_mean`` (mu, 0)  - Eq. 4-5, inner conditions;
- across the frames, ``Var_t(Var) <= max_var_of_var`` (50) and ``Var_t(mean) <= max_var_of_mean`` (50) - the outer
  conditions. Variances are population variances (``numpy.var``, ddof=0), as in the official code.

The official code stores the raw RGB window sequence (the whole low-texture patch, not a zero-mean residual); so does
the bank here. The zero-mean variant is a flag of the bank applied when sampling (see :mod:`wildvsr.negvsr.bank`).

Long videos are processed clip by clip (consecutive, non-overlapping clips of ``length`` frames; a shorter tail is
dropped), so memory holds one clip at a time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from wildvsr.errors import InputError
from wildvsr.video import VideoReader

logger = logging.getLogger(__name__)

#: Rejection reasons, in the order they are checked (a window is counted under the first one it fails).
REJECT_REASONS = ("frame_variance", "frame_mean", "variance_of_variance", "variance_of_mean")


@dataclass(frozen=True)
class ExtractionConfig:
    """Noise-sequence extraction settings (defaults: the official NegVSR values, SPEC 5.1).

    Attributes:
        window: window side in pixels (64 = the LR training size).
        length: frames per window sequence (30, the ``FLIR_train_Group_30`` clips).
        max_var: sigma; every frame's grayscale window variance must be ``< max_var``.
        min_mean: mu; every frame's grayscale window mean must be ``> min_mean``.
        max_var_of_var: the variance over time of the per-frame variances must be ``<= max_var_of_var``.
        max_var_of_mean: the variance over time of the per-frame means must be ``<= max_var_of_mean``.
        grid: ``"paper"`` scans every window that fits (rows ``0, w, 2w, ... <= H - w``), the paper's a^2 windows;
            ``"official"`` reproduces ``range(0, H - w, w)``, which also drops the last window when it exactly touches
            the bottom/right border (e.g. 11 x 15 instead of 12 x 16 windows on 768 x 1024).
        zero_mean: record in the bank that samples are to be made zero-mean (per frame and channel) when drawn.
    """

    window: int = 64
    length: int = 30
    max_var: float = 50.0
    min_mean: float = 0.0
    max_var_of_var: float = 50.0
    max_var_of_mean: float = 50.0
    grid: Literal["paper", "official"] = "paper"
    zero_mean: bool = False

    def __post_init__(self) -> None:
        if self.window < 2:
            raise InputError(f"window must be >= 2 pixels, got {self.window}")
        if self.length < 1:
            raise InputError(f"length must be >= 1 frame, got {self.length}")
        if self.grid not in ("paper", "official"):
            raise InputError(f"grid must be 'paper' or 'official', got {self.grid!r}")

    def thresholds(self) -> dict[str, float]:
        """The four thresholds, as written into the bank index."""
        return {"max_var": self.max_var, "min_mean": self.min_mean, "max_var_of_var": self.max_var_of_var,
                "max_var_of_mean": self.max_var_of_mean}


@dataclass
class ExtractionSummary:
    """Counts of one extraction run.

    Attributes:
        videos: inputs read.
        clips: clips of ``length`` frames scanned.
        frames_dropped: tail frames that did not fill a clip.
        scanned: window sequences examined.
        kept: window sequences kept.
        rejected: rejected window sequences per reason (see :data:`REJECT_REASONS`).
    """

    videos: int = 0
    clips: int = 0
    frames_dropped: int = 0
    scanned: int = 0
    kept: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REJECT_REASONS, 0))

    def to_dict(self) -> dict:
        return {"videos": self.videos, "clips": self.clips, "frames_dropped": self.frames_dropped,
                "scanned": self.scanned, "kept": self.kept, "rejected": dict(self.rejected)}


@dataclass(frozen=True)
class NoiseSequence:
    """One kept window sequence.

    Attributes:
        frames: raw RGB window sequence, ``uint8`` (T, window, window, 3).
        source: the video it came from.
        clip_start: index of the clip's first frame in the video.
        y: top row of the window.
        x: left column of the window.
        stats: grayscale statistics (0-255 units): ``mean_var``, ``max_var``, ``var_of_var``, ``mean_mean``,
            ``min_mean``, ``var_of_mean``.
    """

    frames: np.ndarray
    source: str
    clip_start: int
    y: int
    x: int
    stats: dict[str, float]


def to_gray(frame: np.ndarray) -> np.ndarray:
    """PIL ``'L'`` conversion (ITU-R 601 luma in fixed point), exactly as the official code computes it.

    Args:
        frame: ``uint8`` (H, W, 3) RGB.

    Returns:
        ``uint8`` (H, W).
    """
    return np.asarray(Image.fromarray(np.ascontiguousarray(frame), mode="RGB").convert("L"))


def grid_positions(height: int, width: int, window: int, grid: str = "paper") -> tuple[list[int], list[int]]:
    """Top-left rows and columns of the non-overlapping window grid (see ``ExtractionConfig.grid``)."""
    last = 0 if grid == "official" else 1
    rows = list(range(0, height - window + last, window))
    cols = list(range(0, width - window + last, window))
    return rows, cols


def window_stats(gray_clip: np.ndarray, window: int, rows: list[int], cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame variance and mean of every grid window.

    Args:
        gray_clip: ``uint8`` (T, H, W) grayscale clip.
        window: window side.
        rows, cols: grid positions from :func:`grid_positions`.

    Returns:
        ``(var, mean)``, each float64 (T, len(rows), len(cols)), in 0-255 units (population variance).
    """
    if not rows or not cols:
        t = gray_clip.shape[0]
        return np.zeros((t, len(rows), len(cols))), np.zeros((t, len(rows), len(cols)))
    nr, nc = len(rows), len(cols)
    # The grid starts at 0 with stride = window, so the covered area reshapes into (T, nr, w, nc, w) blocks.
    area = gray_clip[:, : nr * window, : nc * window].astype(np.float64)
    blocks = area.reshape(gray_clip.shape[0], nr, window, nc, window)
    mean = blocks.mean(axis=(2, 4))
    var = blocks.var(axis=(2, 4))
    return var, mean


def classify_windows(var: np.ndarray, mean: np.ndarray, config: ExtractionConfig) -> np.ndarray:
    """Decide each window sequence; the first failing criterion (in :data:`REJECT_REASONS` order) is its reason.

    Args:
        var, mean: per-frame statistics (T, nr, nc) from :func:`window_stats`.
        config: thresholds.

    Returns:
        int array (nr, nc): -1 for kept, else the index of the reason in :data:`REJECT_REASONS`.
    """
    frame_var_ok = (var < config.max_var).all(axis=0)
    frame_mean_ok = (mean > config.min_mean).all(axis=0)
    vv_ok = var.var(axis=0) <= config.max_var_of_var
    vm_ok = mean.var(axis=0) <= config.max_var_of_mean
    verdict = np.full(var.shape[1:], -1, dtype=np.int64)
    for reason, ok in reversed(list(enumerate((frame_var_ok, frame_mean_ok, vv_ok, vm_ok)))):
        verdict[~ok] = reason  # reversed: the earliest failing reason is written last and wins
    return verdict


def scan_clip(clip: np.ndarray, config: ExtractionConfig, *, source: str = "", clip_start: int = 0,
              summary: ExtractionSummary | None = None) -> list[NoiseSequence]:
    """Scan one clip and return its kept window sequences.

    Args:
        clip: ``uint8`` (T, H, W, 3) RGB frames; T is the sequence length.
        config: extraction settings (``config.length`` is not enforced here; the clip's T is used).
        source: recorded in each sequence.
        clip_start: recorded in each sequence.
        summary: counts are added to it when given.

    Returns:
        The kept sequences, in row-major grid order.
    """
    if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8:
        raise InputError(f"clip must be uint8 (T, H, W, 3), got {clip.dtype} {tuple(clip.shape)}")
    w = config.window
    rows, cols = grid_positions(clip.shape[1], clip.shape[2], w, config.grid)
    gray = np.stack([to_gray(f) for f in clip])
    var, mean = window_stats(gray, w, rows, cols)
    verdict = classify_windows(var, mean, config)
    kept: list[NoiseSequence] = []
    for r, y in enumerate(rows):
        for c, x in enumerate(cols):
            if verdict[r, c] >= 0:
                continue
            v, m = var[:, r, c], mean[:, r, c]
            stats = {"mean_var": float(v.mean()), "max_var": float(v.max()), "var_of_var": float(v.var()),
                     "mean_mean": float(m.mean()), "min_mean": float(m.min()), "var_of_mean": float(m.var())}
            kept.append(NoiseSequence(np.ascontiguousarray(clip[:, y:y + w, x:x + w]), source, clip_start, y, x, stats))
    if summary is not None:
        summary.clips += 1
        summary.scanned += verdict.size
        summary.kept += len(kept)
        for i, reason in enumerate(REJECT_REASONS):
            summary.rejected[reason] += int((verdict == i).sum())
    return kept


def iter_clips(source: str | os.PathLike, length: int,
               summary: ExtractionSummary | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Consecutive non-overlapping clips of ``length`` frames from a video, frame folder or image.

    Yields:
        ``(clip_start, frames)`` with frames ``uint8`` (length, H, W, 3). A tail shorter than ``length`` is dropped
        (counted in ``summary.frames_dropped``).
    """
    buf: list[np.ndarray] = []
    start = 0
    with VideoReader(source) as reader:
        for frame in reader:
            buf.append(frame.image)
            if len(buf) == length:
                yield start, np.stack(buf)
                start += length
                buf = []
    if buf:
        logger.info("%s: %d tail frames do not fill a %d-frame clip; dropped", source, len(buf), length)
        if summary is not None:
            summary.frames_dropped += len(buf)


def extract_noise_sequences(sources: Iterable[str | os.PathLike], config: ExtractionConfig | None = None, *,
                            summary: ExtractionSummary | None = None,
                            progress: Callable[[int], None] | None = None) -> Iterator[NoiseSequence]:
    """Stream the kept noise sequences of several videos (clip by clip).

    Args:
        sources: video files, frame folders or images (anything :class:`wildvsr.video.VideoReader` opens).
        config: extraction settings (None = the official defaults).
        summary: filled with counts as the scan goes.
        progress: called with the number of frames consumed after each clip.

    Yields:
        :class:`NoiseSequence` items.
    """
    config = config or ExtractionConfig()
    for src in sources:
        if summary is not None:
            summary.videos += 1
        for start, clip in iter_clips(src, config.length, summary):
            if clip.shape[1] < config.window or clip.shape[2] < config.window:
                raise InputError(f"{src}: frames {clip.shape[2]}x{clip.shape[1]} are smaller than the "
                                 f"{config.window}-pixel window; use a smaller --window")
            yield from scan_clip(clip, config, source=str(Path(src)), clip_start=start, summary=summary)
            if progress is not None:
                progress(len(clip))
