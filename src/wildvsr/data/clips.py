"""Finding clean training clips and reading frame ranges from them.

A clip is a video file or a folder of images (read through :class:`wildvsr.video.VideoReader` either way).
Frames are read with ``reader.frames(start, count)`` so a sample never decodes a whole video; an optional per-process
LRU cache keeps whole decoded clips within a memory budget (useful for short clips and many samples per clip).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wildvsr.errors import ConfigError
from wildvsr.video import VideoReader

logger = logging.getLogger(__name__)

VIDEO_EXTS = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".y4m"}
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass(frozen=True)
class ClipInfo:
    """One clean clip: its path, frame count and frame size."""

    path: str
    num_frames: int
    height: int
    width: int


def _is_frame_folder(path: Path) -> bool:
    return path.is_dir() and any(p.suffix.lower() in IMAGE_EXTS for p in path.iterdir() if p.is_file())


def find_clip_paths(roots: tuple[str, ...] | list[str]) -> list[Path]:
    """Expand ``roots`` into clip paths (sorted within each root).

    A root is a video file, a frame folder, or a folder whose videos / frame sub-folders are the clips.
    """
    clips: list[Path] = []
    for root in roots:
        p = Path(root).expanduser()
        if p.is_file():
            clips.append(p)
        elif _is_frame_folder(p):
            clips.append(p)
        elif p.is_dir():
            for child in sorted(p.iterdir()):
                if child.is_file() and child.suffix.lower() in VIDEO_EXTS:
                    clips.append(child)
                elif _is_frame_folder(child):
                    clips.append(child)
        else:
            raise ConfigError(f"config key 'data.roots': {p} does not exist")
    return clips


def probe_clip(path: str | os.PathLike) -> ClipInfo:
    """Frame count and size of a clip (counts frames by decoding when the container does not say)."""
    with VideoReader(path) as reader:
        info = reader.info
        n = info.num_frames
        if n is None:
            n = reader.count_frames()
    return ClipInfo(str(path), int(n), int(info.height), int(info.width))


def build_clip_index(roots: tuple[str, ...] | list[str], min_frames: int, min_size: int) -> list[ClipInfo]:
    """Probe every clip under ``roots``; drop (with a warning) clips too short or too small for the crop.

    Raises:
        ConfigError: no usable clip was found.
    """
    if not roots:
        raise ConfigError("config key 'data.roots': give at least one clip, frame folder or folder of clips")
    clips = []
    for path in find_clip_paths(roots):
        info = probe_clip(path)
        if info.num_frames < min_frames or min(info.height, info.width) < min_size:
            logger.warning("skipping %s: %d frames of %dx%d, need >= %d frames and >= %d px", path, info.num_frames,
                           info.width, info.height, min_frames, min_size)
            continue
        clips.append(info)
    if not clips:
        raise ConfigError(f"config key 'data.roots': no clip with >= {min_frames} frames of >= {min_size}x{min_size} "
                          f"px found under {list(roots)}")
    return clips


class FrameSource:
    """Reads ``count`` frames from ``start`` of a clip as ``(count, H, W, 3)`` uint8 RGB.

    With ``cache_mb > 0`` whole decoded clips are kept in an LRU cache of at most ``cache_mb`` MiB (per process, so per
    DataLoader worker); a clip larger than the budget is always read by seeking. Without a cache every call opens the
    clip and seeks (``VideoReader.frames(start, count)``), decoding from the nearest keyframe only.
    """

    def __init__(self, cache_mb: int = 0) -> None:
        self.budget = int(cache_mb) * 2**20
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._used = 0

    def read(self, clip: ClipInfo, start: int, count: int) -> np.ndarray:
        cached = self._cache.get(clip.path)
        if cached is not None:
            self._cache.move_to_end(clip.path)
            return _window(cached, start, count, clip)
        size = clip.num_frames * clip.height * clip.width * 3
        if 0 < size <= self.budget:
            frames = _decode(clip, 0, clip.num_frames)
            while self._cache and self._used + frames.nbytes > self.budget:
                _, old = self._cache.popitem(last=False)
                self._used -= old.nbytes
            self._cache[clip.path] = frames
            self._used += frames.nbytes
            return _window(frames, start, count, clip)
        frames = _decode(clip, start, count)
        if len(frames) < count and start > 0:  # the container over-reports its length: end at its last frame
            frames = _decode(clip, max(0, start - (count - len(frames))), count)
        return _window(frames, 0, count, clip)


def _decode(clip: ClipInfo, start: int, count: int) -> np.ndarray:
    """Up to ``count`` frames from ``start`` (fewer when the container's frame count is too high, as some AVI/MKV
    muxers write it)."""
    with VideoReader(clip.path) as reader:
        frames = [np.asarray(f.image) for f in reader.frames(start, count)]
    if not frames:
        raise ConfigError(f"config key 'data.roots': {clip.path} gave no frames from {start}")
    return np.stack(frames)


def _window(frames: np.ndarray, start: int, count: int, clip: ClipInfo) -> np.ndarray:
    """``frames[start:start+count]``, moved back to end at the last decoded frame when the container promised more
    frames than it holds (a window is still ``count`` real, consecutive frames); too short a clip is an error."""
    if len(frames) < count:
        raise ConfigError(f"config key 'data.roots': {clip.path} decodes to {len(frames)} frames from its start, "
                          f"fewer than the {count} a sample needs (the container's frame count may be wrong)")
    start = min(start, len(frames) - count)
    return frames[start:start + count]
