"""``convert``: decode a video/frame folder and re-encode it (the reader+writer round trip, useful on its own)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from wildvsr.video.reader import VideoReader
from wildvsr.video.writer import VideoWriter

logger = logging.getLogger(__name__)


def convert_video(src: str | os.PathLike, dst: str | os.PathLike, *, codec: str = "libx264",
                  crf: float | None = None, preset: str | None = None, pix_fmt: str | None = None,
                  bit_rate: int | None = None, overwrite: bool = False, copy_audio: bool = True,
                  progress: Callable[[int], None] | None = None) -> Path:
    """Re-encode ``src`` (video, frame folder or image) into ``dst`` (video or PNG frame folder), atomically.

    Timestamps are kept; audio and subtitle streams are copied (see :class:`VideoWriter`) unless ``copy_audio`` is
    False. Sources deeper than 8 bits are read as uint16 so a 10-bit output keeps their precision.

    Args:
        progress: called with the number of frames written since the last call.

    Returns:
        The output path.
    """
    src, dst = Path(src), Path(dst)
    with VideoReader(src, dtype="source") as reader:
        info = reader.info
        has_streams = bool(info.audio_streams or info.subtitle_streams)
        copy_from = src if (copy_audio and has_streams and not info.is_image_sequence) else None
        with VideoWriter(dst, like=info, codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt, bit_rate=bit_rate,
                         copy_streams_from=copy_from, overwrite=overwrite) as writer:
            for frame in reader:
                writer.write(frame.image, frame.pts)
                if progress is not None:
                    progress(1)
            count = writer.count
    logger.info("wrote %d frames to %s", count, dst)
    return dst
