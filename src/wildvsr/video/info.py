"""Plain data: what a reader knows about its source (:class:`VideoInfo`) and one decoded :class:`Frame`."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from wildvsr.errors import VideoIOError

#: Extensions read as video containers (anything FFmpeg reads works; these decide file-vs-image and output format).
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".y4m", ".gif", ".ts", ".mts",
                              ".m2ts", ".flv", ".wmv", ".mpg", ".mpeg", ".ogv", ".3gp", ".mxf", ".nut"})
#: Extensions read as still images (single image, or the frames of a folder).
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
#: Largest frame accepted, checked from the header before any pixel buffer is allocated: 2**28 pixels
#: (16384 x 16384) and 65535 pixels on a side. A header declaring more is refused as corrupt or hostile.
MAX_PIXELS = 2**28
MAX_SIDE = 65535


def is_video_path(path: str | os.PathLike) -> bool:
    """True when ``path`` has a video-container extension (case-insensitive); says nothing about the content."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def is_image_path(path: str | os.PathLike) -> bool:
    """True when ``path`` has a still-image extension."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def natural_key(name: str) -> list:
    """Sort key so that ``frame2.png`` comes before ``frame10.png``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def check_frame_size(width: int, height: int, source: str | os.PathLike) -> None:
    """Refuse a declared frame size above :data:`MAX_PIXELS` / :data:`MAX_SIDE` (before allocating anything)."""
    if width <= 0 or height <= 0:
        raise VideoIOError(f"{source} declares an invalid frame size {width}x{height}; the file is damaged")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise VideoIOError(f"{source} declares a {width}x{height} frame, above the {MAX_PIXELS}-pixel limit "
                           f"(16384x16384); refusing to allocate it (the header is likely corrupt)")


@dataclass(frozen=True)
class AudioStreamInfo:
    """One audio stream of the source (``index`` is its index among all the container's streams)."""

    index: int
    codec: str
    channels: int
    sample_rate: int
    layout: str | None = None
    language: str | None = None
    duration: float | None = None  # seconds, when the container says
    bit_rate: int | None = None


@dataclass(frozen=True)
class SubtitleStreamInfo:
    """One subtitle stream of the source."""

    index: int
    codec: str
    language: str | None = None


@dataclass(frozen=True)
class VideoInfo:
    """What is known about a video source before (and independently of) decoding it.

    ``width``/``height`` are the size of the frames the reader yields: after rotation when it is applied.
    ``num_frames`` is exact when ``num_frames_exact`` (the container's count, or the number of images), else an
    estimate from duration x fps (None when neither is known). Colour tags are FFmpeg names or None when untagged;
    ``decode_matrix``/``decode_range`` are what the reader actually uses for YUV -> RGB (None for RGB/gray sources).
    ``rotation`` is the display-matrix rotation in degrees counter-clockwise; ``rotation_applied`` says whether
    yielded frames are already turned upright. Image sequences have ``fps``/``time_base`` None (frame pts = index).
    """

    path: str
    width: int
    height: int
    fps: Fraction | None
    time_base: Fraction | None
    num_frames: int | None
    pix_fmt: str
    bit_depth: int
    color_matrix: str | None = None
    color_range: str | None = None
    color_primaries: str | None = None
    color_transfer: str | None = None
    rotation: int = 0
    audio_streams: tuple[AudioStreamInfo, ...] = ()
    subtitle_streams: tuple[SubtitleStreamInfo, ...] = ()
    is_image_sequence: bool = False
    num_frames_exact: bool = True
    duration: float | None = None
    codec: str | None = None
    container: str | None = None
    rotation_applied: bool = False
    decode_matrix: str | None = None
    decode_range: str | None = None
    has_alpha: bool = False
    start_pts: int | None = None
    stream_index: int | None = None
    bit_rate: int | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        """JSON-ready dict (Fractions become ``"num/den"`` strings and ``fps_float`` is added)."""
        out = asdict(self)
        for key in ("fps", "time_base"):
            value = getattr(self, key)
            out[key] = None if value is None else f"{value.numerator}/{value.denominator}"
        out["fps_float"] = None if self.fps is None else float(self.fps)
        return out


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        image: ``(H, W, 3)`` RGB, uint8 in [0, 255] (or uint16 in [0, 65535] when the reader was asked for uint16).
        pts: presentation timestamp in ``VideoInfo.time_base`` units (the index for image sequences; None if unknown).
        time: presentation time in seconds (None for image sequences and unknown pts).
        index: 0-based position of the frame in the source.
    """

    image: np.ndarray
    pts: int | None
    time: float | None
    index: int
