"""Media for tests: synthetic frames; clips written with PyAV directly (independent of ``wildvsr.video``), 8-bit and
tagged 10-bit; and, through ``wildvsr.video``, PNG folders written and every frame of a video read back."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def synthetic_frames(num_frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth moving RGB content, ``(T, H, W, 3)`` uint8: a gradient that shifts one pixel per frame plus a box."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(0, 1, size=3).astype(np.float32)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for t in range(num_frames):
        r = 0.5 + 0.5 * np.sin((xx + 2 * t) / 7.0 + base[0] * 6)
        g = 0.5 + 0.5 * np.cos((yy - t) / 5.0 + base[1] * 6)
        b = 0.5 + 0.5 * np.sin((xx + yy + 3 * t) / 11.0 + base[2] * 6)
        img = np.stack([r, g, b], -1)
        y0, x0 = (3 * t) % max(1, height - 8), (2 * t) % max(1, width - 8)
        img[y0:y0 + 8, x0:x0 + 8] = (1.0, 0.2, 0.1)
        frames[t] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    return frames


def write_clip(path: Path, frames: np.ndarray, *, fps: int = 25, codec: str = "libx264", pix_fmt: str = "yuv420p",
               audio: bool = False, options: dict | None = None) -> Path:
    """Encode ``frames`` ``(T, H, W, 3)`` uint8 RGB to ``path`` with PyAV (optionally with a 440 Hz sine audio track)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = pix_fmt
        stream.options = dict(options or {})
        astream = None
        if audio:
            astream = container.add_stream("aac", rate=48000)
            astream.layout = "mono"
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if astream is not None:
            seconds = len(frames) / fps
            n = int(seconds * 48000)
            t = np.arange(n) / 48000.0
            pcm = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            chunk = 1024
            for i in range(0, n, chunk):
                samples = pcm[None, i:i + chunk]
                frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
                frame.sample_rate = 48000
                frame.pts = i
                frame.time_base = Fraction(1, 48000)
                for packet in astream.encode(frame):
                    container.mux(packet)
            for packet in astream.encode():
                container.mux(packet)
    return path


#: Colour tag sets of a deep clip: FFmpeg enums (colorspace, primaries, transfer) and the swscale matrix behind them.
DEEP_TAGS = {"hlg": (9, 9, 18, "BT2020"), "bt709": (1, 1, 1, "ITU709")}


def deep_ramp(num_frames: int, height: int, width: int, grey: bool = False) -> np.ndarray:
    """``(T, H, W, 3)`` uint16 RGB: a smooth ramp over the whole frame (each pixel its own level, so far more than
    256 levels) plus, unless ``grey``, a coloured box that moves one pixel per frame."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    ramp = (yy * width + xx) / (height * width - 1)  # 0 .. 1 in raster order
    frames = np.empty((num_frames, height, width, 3), np.uint16)
    for t in range(num_frames):
        img = np.stack([ramp, ramp, ramp] if grey else [ramp, ramp[::-1], 0.25 + 0.5 * ramp], -1)
        if not grey:
            img[4:12, 4 + t:12 + t] = (0.9, 0.3, 0.1)
        frames[t] = np.round(img * 65535).astype(np.uint16)
    return frames


def write_deep_clip(path: Path, frames: np.ndarray, *, tags: str = "hlg", codec: str = "libx265",
                    pix_fmt: str = "yuv420p10le", fps: int = 25) -> Path:
    """Encode ``(T, H, W, 3)`` uint16 RGB with PyAV into a tagged 10-bit clip (``tags``: ``hlg`` = BT.2020 matrix and
    primaries with the HLG transfer, a phone's HDR video; ``bt709``), converting with the tagged matrix."""
    from av.video.reformatter import ColorRange, Colorspace

    from wildvsr.video.writer import X265_MIN_SIZE, X265_POOL_MIN_PIXELS

    spc, pri, trc, sws = DEEP_TAGS[tags]
    height, width = frames.shape[1:3]
    if codec == "libx265" and (height < X265_MIN_SIZE[0] or width < X265_MIN_SIZE[1]):
        # PyAV's x265 corrupts the heap on narrow frames; in a test process that surfaced later, in another test's
        # x265 flush ("Invalid argument"), so test clips keep to the sizes the product's writer allows
        raise ValueError(f"{width}x{height} is below libx265's safe size {X265_MIN_SIZE[1]}x{X265_MIN_SIZE[0]}")
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        # as the product's writer: one frame thread (frame-parallel x265 orders its output by timing), and no thread
        # pool for small frames
        pools = ":pools=none" if width * height < X265_POOL_MIN_PIXELS else ""
        stream.options = {"x265-params": f"log-level=error:frame-threads=1{pools}"} if codec == "libx265" else {}
        cc = stream.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = spc, pri, trc, 1
        yuv = [av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb48le").reformat(
            format=pix_fmt, dst_colorspace=getattr(Colorspace, sws), dst_color_range=ColorRange.MPEG) for img in frames]
        for frame in yuv:
            frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range = spc, pri, trc, 1
        mux_frames(container, stream, yuv)
    return path


def mux_frames(container, stream, frames) -> None:
    """Encode ``av.VideoFrame`` s with pts 0, 1, ... into ``stream`` and flush the encoder (PyAV's encode loop)."""
    for t, frame in enumerate(frames):
        frame.pts = t
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def luma_codes(path: Path) -> np.ndarray:
    """The luma samples of every frame of a video, as stored (10-bit codes for a 10-bit file), flattened."""
    planes = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            plane = frame.planes[0]
            dtype = np.uint16 if frame.format.components[0].bits > 8 else np.uint8
            row = plane.line_size // np.dtype(dtype).itemsize
            data = np.frombuffer(bytes(plane), dtype).reshape(-1, row)[:frame.height, :frame.width]
            planes.append(data.ravel())
    return np.concatenate(planes)


def read_frames(path, dtype: str = "uint8") -> np.ndarray:
    """All frames of a video or frame folder through :class:`wildvsr.video.VideoReader`, ``(T, H, W, 3)`` (uint8 by
    default; ``dtype`` as the reader's: ``uint16``, or ``source`` for the source's own depth)."""
    from wildvsr.video import VideoReader

    with VideoReader(path, dtype=dtype) as reader:
        return np.stack([f.image for f in reader])


def read_frames_and_times(path) -> tuple[np.ndarray, list[float]]:
    """All frames of a video ``(T, H, W, 3)`` uint8 and their presentation times in seconds."""
    from wildvsr.video import VideoReader

    with VideoReader(path) as reader:
        frames = list(reader)
    return np.stack([f.image for f in frames]), [f.time for f in frames]


def write_pngs(folder, frames):
    """Write ``(T, H, W, 3)`` uint8 or uint16 frames as a PNG folder with :class:`wildvsr.video.VideoWriter` (8- or
    16-bit PNGs) and return it."""
    from wildvsr.video import VideoWriter

    with VideoWriter(folder) as writer:
        for img in frames:
            writer.write(img)
    return folder
