"""Datasets for evaluation: a folder of sequences (video files or frame folders), or one sequence.

Frames are RGB ``(H, W, 3)`` uint8; a loaded sequence is ``(T, H, W, 3)`` uint8.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wildvsr.errors import InputError
from wildvsr.video import VideoReader, is_image_path, is_video_path

__all__ = ["Sequence", "center_crop", "list_sequences", "load_frames", "split_quarters"]


@dataclass(frozen=True)
class Sequence:
    """One sequence of a dataset: its name (file stem or folder name) and path."""

    name: str
    path: Path


def _is_frame_folder(path: Path) -> bool:
    return path.is_dir() and any(p.is_file() and is_image_path(p) for p in path.iterdir())


def list_sequences(path: str | os.PathLike) -> list[Sequence]:
    """The sequences of a dataset, sorted by name.

    ``path`` is a video file, a folder of frames (one sequence), or a folder whose entries are video files and/or
    frame folders (one sequence each; other entries are ignored).

    Raises:
        InputError: the path does not exist or holds no sequence.
    """
    root = Path(path)
    if not root.exists():
        raise InputError(f"dataset {root} does not exist; give a video, a frame folder or a folder of sequences")
    if root.is_file():
        if not (is_video_path(root) or is_image_path(root)):
            raise InputError(f"{root} is not a video or an image file")
        return [Sequence(root.stem, root)]
    if _is_frame_folder(root):
        return [Sequence(root.name, root)]
    seqs = [Sequence(p.stem if p.is_file() else p.name, p) for p in sorted(root.iterdir())
            if not p.name.startswith(".") and ((p.is_file() and is_video_path(p)) or _is_frame_folder(p))]
    if not seqs:
        raise InputError(f"{root} holds no video files or frame folders")
    return seqs


def center_crop(frames: np.ndarray, size: int | None, multiple: int = 1) -> np.ndarray:
    """Central ``size`` x ``size`` crop of ``(T, H, W, C)`` frames (clamped to the frame), then both sides trimmed to a
    multiple of ``multiple``."""
    t, h, w = frames.shape[:3]
    ch, cw = (h, w) if size is None else (min(size, h), min(size, w))
    ch, cw = ch - ch % multiple, cw - cw % multiple
    if ch <= 0 or cw <= 0:
        raise InputError(f"frames of {w}x{h} are too small for a crop that is a multiple of {multiple}")
    top, left = (h - ch) // 2, (w - cw) // 2
    return frames[:, top:top + ch, left:left + cw]


def load_frames(path: str | os.PathLike, indices: list[int] | None = None, max_frames: int | None = None,
                crop: int | None = None) -> np.ndarray:
    """Read a sequence into memory.

    Args:
        path: a video file, a frame folder or one image.
        indices: read only these frame indices (sorted, unique); None: all (up to ``max_frames``).
        max_frames: read at most the first ``max_frames`` frames.
        crop: central ``crop`` x ``crop`` crop of each frame (None: whole frames).

    Returns:
        ``(T, H, W, 3)`` uint8 RGB.

    Raises:
        InputError: an index is past the end of the sequence.
    """
    frames: list[np.ndarray] = []
    wanted = None if indices is None else sorted(set(int(i) for i in indices))
    with VideoReader(path) as reader:
        if wanted is None:
            for frame in reader.frames(0, max_frames):
                frames.append(frame.image)
        else:
            last = wanted[-1]
            keep = set(wanted)
            for frame in reader.frames(0, last + 1):
                if frame.index in keep:
                    frames.append(frame.image)
            if len(frames) != len(wanted):
                raise InputError(f"{path} has fewer frames than needed (frame {last} was asked for)")
    if not frames:
        raise InputError(f"{path} has no frames")
    return center_crop(np.stack(frames), crop)


def split_quarters(frames: np.ndarray) -> list[np.ndarray]:
    """Split ``(T, H, W, C)`` frames into four equal quarters (FLIR protocol, NegVSR): top-left, top-right,
    bottom-left, bottom-right, each ``(T, H // 2, W // 2, C)`` (an odd last row/column is dropped)."""
    h2, w2 = frames.shape[1] // 2, frames.shape[2] // 2
    return [frames[:, r * h2:(r + 1) * h2, c * w2:(c + 1) * w2] for r in (0, 1) for c in (0, 1)]
