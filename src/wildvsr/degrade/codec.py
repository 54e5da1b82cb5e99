"""Video compression with real encoders through PyAV, entirely in memory (no temporary files).

A whole clip goes through one encoder into an in-memory container (``av.open(io.BytesIO(), "w", format=...)``) and
is decoded back, so inter-frame prediction, GOP structure and rate control act as in a real video.

- RealBasicVSR (``RandomVideoCompression``): codec from {libx264, h264, mpeg4}, ``bit_rate`` in [1e4, 1e5] bit/s,
  stream rate 1 fps, yuv420p, mp4. (``h264`` is FFmpeg's alias of the libx264 encoder here; ``encoder`` records it.)
- VCISR: {mpeg2video, libxvid, libx264, libx265}; CRF for x264/x265, ``bit_rate`` for MPEG-2/4, a speed preset,
  an integer FPS (MPEG-2 fixed at 25) and the width scaled by an aspect ratio before encoding and back after decoding.
  FFmpeg builds without libxvid use FFmpeg's own MPEG-4 part 2 encoder (``mpeg4``) instead; ``encoder`` records it.

Frame geometry: the stream size is frame 0's size; later frames of another size are rescaled to it (what PyAV does
for RealBasicVSR), so the output frames all have frame 0's size. yuv420p needs even sizes: odd sizes are padded
(edge replication) to even before encoding and cropped back after decoding. RGB <-> YUV uses swscale's defaults
(BT.601, limited range), like the ``ffmpeg`` command line. Encoders run single-threaded so the output bytes do not
depend on the machine's core count (same seed, same bytes); parallelism comes from encoding several clips at once.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Sequence
from fractions import Fraction

import av
import numpy as np

logger = logging.getLogger(__name__)

# Encoders that an FFmpeg build may lack, and the built-in encoder of the same format used instead.
ENCODER_FALLBACKS = {"libxvid": "mpeg4", "libopenh264": "libx264", "h264": "libx264"}
_PRESET_ENCODERS = ("libx264", "libx265")


@dataclasses.dataclass
class CodecParams:
    """One clip's video-compression settings (plain data; ``dataclasses.asdict`` is JSON-able).

    Attributes:
        codec: the codec name the config asked for (e.g. ``h264``, ``libxvid``).
        encoder: the FFmpeg encoder that actually runs (e.g. ``libx264``, ``mpeg4``).
        fps: stream frame rate (integer).
        bitrate: target bit rate in bit/s, or None when ``crf`` is used.
        crf: constant rate factor (x264/x265), or None.
        preset: encoder speed preset passed to x264/x265 (None for encoders without presets).
        width_ratio: the width is scaled by this before encoding and restored after decoding (1 = keep).
        container: in-memory container format.
        pix_fmt: encoded pixel format.
    """

    codec: str
    encoder: str
    fps: int = 1
    bitrate: int | None = None
    crf: int | None = None
    preset: str | None = None
    width_ratio: float = 1.0
    container: str = "mp4"
    pix_fmt: str = "yuv420p"


def resolve_encoder(name: str) -> str:
    """The FFmpeg encoder that ``name`` runs with in this build (following ``ENCODER_FALLBACKS``)."""
    tried = [name]
    while True:
        try:
            return av.codec.Codec(tried[-1], "w").name
        except Exception:  # noqa: BLE001 - av raises several types for an unknown encoder
            nxt = ENCODER_FALLBACKS.get(tried[-1])
            if nxt is None or nxt in tried:
                raise ValueError(f"no FFmpeg encoder for codec {name!r} in this PyAV build (tried {tried})") from None
            logger.debug("encoder %s unavailable, using %s", tried[-1], nxt)
            tried.append(nxt)


def _even(v: float) -> int:
    return max(2, int(round(v / 2.0)) * 2)


def _encoder_options(p: CodecParams) -> dict[str, str]:
    opts: dict[str, str] = {}
    if p.crf is not None:
        opts["crf"] = str(int(p.crf))
    if p.preset is not None and p.encoder in _PRESET_ENCODERS:
        opts["preset"] = p.preset
    if p.encoder == "libx265":
        opts["x265-params"] = "log-level=error"
    return opts


def encode_clip(frames: Sequence[np.ndarray], params: CodecParams) -> bytes:
    """Encode a clip with ``params`` into in-memory container bytes.

    Args:
        frames: ``T`` frames ``(H_i, W_i, 3)`` uint8 RGB (sizes may differ; frame 0 sets the stream size).
    """
    if len(frames) == 0:
        raise ValueError("a clip needs at least one frame")
    h0, w0 = frames[0].shape[:2]
    hp, wp = h0 + h0 % 2, w0 + w0 % 2  # even canvas for yuv420p
    enc_w = _even(wp * params.width_ratio) if params.width_ratio != 1.0 else wp
    buf = io.BytesIO()
    with av.open(buf, "w", format=params.container) as out:
        stream = out.add_stream(params.encoder, rate=Fraction(int(params.fps), 1))
        stream.width, stream.height, stream.pix_fmt = enc_w, hp, params.pix_fmt
        stream.time_base = Fraction(1, int(params.fps))
        if params.bitrate is not None:
            stream.bit_rate = int(params.bitrate)
        stream.codec_context.thread_count = 1
        stream.options = _encoder_options(params)
        for i, img in enumerate(frames):
            img = np.ascontiguousarray(img)
            if img.shape[:2] != (h0, w0):  # frames of another size: rescale to the stream size (as PyAV would)
                img = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
                    w0, h0, interpolation="BICUBIC").to_ndarray(format="rgb24")
            if (hp, wp) != (h0, w0):
                img = np.pad(img, ((0, hp - h0), (0, wp - w0), (0, 0)), mode="edge")
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame = frame.reformat(enc_w, hp, params.pix_fmt, interpolation="BICUBIC")
            frame.pts = i
            frame.time_base = Fraction(1, int(params.fps))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def decode_clip(data: bytes, size: tuple[int, int], container: str = "mp4") -> np.ndarray:
    """Decode container bytes to ``(T, H, W, 3)`` uint8 RGB, restoring ``size = (H, W)`` (undoes padding/ratio)."""
    h0, w0 = size
    hp, wp = h0 + h0 % 2, w0 + w0 % 2
    decoded = []
    with av.open(io.BytesIO(data), "r", format=container) as inp:
        for frame in inp.decode(video=0):
            if frame.width != wp or frame.height != hp:
                frame = frame.reformat(wp, hp, interpolation="BICUBIC")
            decoded.append(frame.to_ndarray(format="rgb24")[:h0, :w0])
    return np.stack(decoded)


def compress_video(frames: Sequence[np.ndarray], params: CodecParams) -> np.ndarray:
    """Encode a clip with ``params`` in memory and decode it back.

    Args:
        frames: ``T`` frames ``(H_i, W_i, 3)`` uint8 RGB (sizes may differ; frame 0 sets the stream size).

    Returns:
        ``(T, H_0, W_0, 3)`` uint8 RGB.

    Raises:
        RuntimeError: the decoder returned a different number of frames than were encoded.
    """
    data = encode_clip(frames, params)
    out = decode_clip(data, frames[0].shape[:2], params.container)
    if len(out) != len(frames):
        raise RuntimeError(f"{params.encoder} returned {len(out)} frames for {len(frames)} encoded")
    return out
