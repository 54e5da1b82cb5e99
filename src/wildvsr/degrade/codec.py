"""Video compression with real encoders through PyAV, entirely in memory (no temporary files).

A whole clip goes through one encoder into an in-memory container (``av.open(io.BytesIO(), "w", format=...)``) and
is decoded back, so inter-frame prediction, GOP structure and rate control act as in a real video.

- RealBasicVSR (``RandomVideoCompression``): codec from {libx264, h264, mpeg4}, ``bit_rate`` in [1e4, 1e5] bit/s,
  stream rate 1 fps, yuv420p, mp4. (``h264`` is FFmpeg's alias of the libx264 encoder here; ``encoder`` records it.)
- VCISR: {mpeg2video, libxvid, libx264, libx265}; CRF for x264/x265, ``bit_rate`` for MPEG-2/4, a speed preset,
  an integer FPS (MPEG-2 fixed at 25) and the width scaled by an aspect ratio before encoding and back after decoding.
  FFmpeg builds without libxvid use FFmpeg's own MPEG-4 part 2 encoder (``mpeg4``) instead; ``encoder`` records it.

Input frames are rounded and clipped to uint8 before encoding (``wildvsr.utils.frames.to_frames``). MMEditing casts with
``(255 * img).astype(uint8)``, which truncates and wraps out-of-range values around (SPEC 3.2 quirk); we do not
reproduce the wrap-around. Bit-rate targets below what an encoder reaches at its coarsest quantiser (e.g. MPEG-4 at
qscale 31 on large noisy frames) are not met - the same as with FFmpeg in the reference code.

Frame geometry: the stream size is frame 0's size; later frames of another size are rescaled to it (what PyAV does
for RealBasicVSR), so the output frames all have frame 0's size. yuv420p needs even sizes: odd sizes are padded
(edge replication) to even before encoding and cropped back after decoding; frames below an encoder's safe minimum
(libx265: 16 high, 64 wide) are edge-padded the same way. The width ratio scales with swscale bicubic, as FFmpeg's
``scale`` filter does by default. RGB <-> YUV uses swscale's defaults
(BT.601, limited range), like the ``ffmpeg`` command line. Encoders run single-threaded so the output bytes do not
depend on the machine's core count, and libx264 without AVX-512 (``wildvsr.video.x264``) so they do not depend on
the heap's contents (same seed, same bytes); parallelism comes from encoding several clips at once.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Sequence
from fractions import Fraction

import av
import numpy as np

from wildvsr.video.x264 import deterministic_x264_options
from wildvsr.video.writer import X265_MIN_SIZE

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
    return max(2, round(v / 2.0) * 2)


def _encoder_options(p: CodecParams) -> dict[str, str]:
    opts: dict[str, str] = {}
    if p.crf is not None:
        opts["crf"] = str(int(p.crf))
    if p.preset is not None and p.encoder in _PRESET_ENCODERS:
        opts["preset"] = p.preset
    if p.encoder == "libx265":
        opts["x265-params"] = "log-level=error"
    return deterministic_x264_options(p.encoder, opts)


# Smallest coded (height, width) per encoder (libx265: see X265_MIN_SIZE); frames are edge-padded up to these sizes.
_MIN_CODED_SIZE = {"libx265": X265_MIN_SIZE}


def _geometry(size: tuple[int, int], params: CodecParams) -> tuple[int, int, int, int, int]:
    """``(even h, even w, scaled w, coded h, coded w)`` for a frame-0 size ``(H, W)``."""
    h0, w0 = size
    hp, wp = h0 + h0 % 2, w0 + w0 % 2  # even canvas for yuv420p
    enc_w = _even(wp * params.width_ratio) if params.width_ratio != 1.0 else wp
    min_h, min_w = _MIN_CODED_SIZE.get(params.encoder, (2, 2))
    return hp, wp, enc_w, max(hp, min_h), max(enc_w, min_w)


def encode_clip(frames: Sequence[np.ndarray], params: CodecParams) -> bytes:
    """Encode a clip with ``params`` into in-memory container bytes.

    Args:
        frames: ``T`` frames ``(H_i, W_i, 3)`` uint8 RGB (sizes may differ; frame 0 sets the stream size).
    """
    if len(frames) == 0:
        raise ValueError("a clip needs at least one frame")
    h0, w0 = frames[0].shape[:2]
    hp, wp, enc_w, coded_h, coded_w = _geometry((h0, w0), params)
    buf = io.BytesIO()
    with av.open(buf, "w", format=params.container) as out:
        stream = out.add_stream(params.encoder, rate=Fraction(int(params.fps), 1))
        stream.width, stream.height, stream.pix_fmt = coded_w, coded_h, params.pix_fmt
        stream.time_base = Fraction(1, int(params.fps))
        if params.bitrate is not None:
            stream.bit_rate = int(params.bitrate)
        stream.codec_context.thread_count = 1
        stream.options = _encoder_options(params)
        for i, img in enumerate(frames):
            img = np.ascontiguousarray(img)
            if img.shape[:2] != (h0, w0):  # frames of another size: rescale to the stream size (as PyAV would)
                img = _scale(img, w0, h0)
            if (hp, wp) != (h0, w0):
                img = np.pad(img, ((0, hp - h0), (0, wp - w0), (0, 0)), mode="edge")
            if enc_w != wp:  # VCISR's aspect-ratio change (-vf scale=even(r*w):h)
                img = _scale(img, enc_w, hp)
            if (coded_h, coded_w) != (hp, enc_w):
                img = np.pad(img, ((0, coded_h - hp), (0, coded_w - enc_w), (0, 0)), mode="edge")
            frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format=params.pix_fmt)
            frame.pts = i
            frame.time_base = Fraction(1, int(params.fps))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def _scale(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an RGB uint8 image with swscale's bicubic (FFmpeg's ``scale`` filter default)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
    return frame.reformat(width, height, interpolation="BICUBIC").to_ndarray(format="rgb24")


def decode_clip(data: bytes, size: tuple[int, int], params: CodecParams) -> np.ndarray:
    """Decode container bytes to ``(T, H, W, 3)`` uint8 RGB at ``size = (H, W)`` (undoes padding and width ratio)."""
    h0, w0 = size
    hp, wp, enc_w, _, _ = _geometry(size, params)
    decoded = []
    with av.open(io.BytesIO(data), "r", format=params.container) as inp:
        for frame in inp.decode(video=0):
            img = frame.to_ndarray(format="rgb24")[:hp, :enc_w]
            if enc_w != wp:
                img = _scale(img, wp, hp)
            decoded.append(img[:h0, :w0])
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
    out = decode_clip(data, frames[0].shape[:2], params)
    if len(out) != len(frames):
        raise RuntimeError(f"{params.encoder} returned {len(out)} frames for {len(frames)} encoded")
    return out
