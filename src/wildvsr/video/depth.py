"""Bit depth: how deep a pixel format is, and which format keeps a source's depth with a given encoder.

The rule (issue 31): the default output keeps the source's bit depth. For a source above 8 bits the writer takes
the shallowest format of the codec's 4:2:0 (or 4:4:4) family that holds every source bit: ``yuv420p10le`` for a
10-bit source with libx264/libx265/libsvtav1, ``yuv420p12le`` for a 12-bit one with libx265. When the encoder in
this FFmpeg build has no such format (libvpx-vp9 here is built 8-bit only; mpeg4 is 8-bit), it takes the deepest one
it has and says so in a warning: the loss is never silent. RGB formats (FFV1's lossless ``gbrp16le``) are kept as they
are: they already hold 16 bits.
"""

from __future__ import annotations

import logging
import re

import av

logger = logging.getLogger(__name__)

__all__ = ["encoder_formats", "format_depth", "pick_deep_format"]


def format_depth(pix_fmt: str) -> int:
    """Bits per sample of ``pix_fmt``'s colour components (alpha ignored; palette formats count as 8)."""
    fmt = av.VideoFormat(pix_fmt)
    if fmt.has_palette:
        return 8
    return max((c.bits for c in fmt.components if not c.is_alpha), default=8)


def encoder_formats(codec: str) -> list[str]:
    """The pixel formats ``codec``'s encoder accepts in this FFmpeg build (empty when it does not say)."""
    return [f.name for f in av.codec.Codec(codec, "w").video_formats or []]


def _family(pix_fmt: str) -> str:
    """The layout without the depth: ``yuv420p10le`` -> ``yuv420p`` (an 8-bit name is its own family)."""
    return re.sub(r"\d+(le|be)$", "", pix_fmt)


def pick_deep_format(codec: str, preferred: str, depth: int) -> str:
    """The format for frames from a ``depth``-bit source (``depth > 8``) when none was asked for; it holds fewer
    than ``depth`` bits only when the encoder has nothing deeper, and then a warning names the bits lost.

    Args:
        codec: encoder name.
        preferred: the codec's usual format for deep frames (``CODEC_DEFAULTS``), which names the family.
        depth: the source's bits per sample.
    """
    supported = encoder_formats(codec)
    if not _family(preferred).startswith("yuv") or not supported:
        return preferred  # RGB (lossless FFV1) or an encoder that lists nothing: as configured
    family = _family(preferred)
    candidates = sorted((f for f in supported if _family(f) == family and f.endswith(("le", "p"))),
                        key=format_depth)  # the family's formats, shallowest first (big-endian twins skipped)
    fitting = [f for f in candidates if format_depth(f) >= depth]
    chosen = fitting[0] if fitting else candidates[-1] if candidates else preferred
    if format_depth(chosen) < depth:
        logger.warning("the source has %d bits per sample but %s in this FFmpeg build encodes at most %d: writing %s "
                       "(use --codec libx265 or libx264, or ffv1, to keep the depth; --pix-fmt to choose)", depth,
                       codec, format_depth(chosen), chosen)
    return chosen
