"""Reference clips and decodes for the video tests (``tests/video``), with PyAV alone (independent of wildvsr.video):
our own RGB->YUV conversion, variable frame rate, raw decodes and audio spans."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from helpers.media import mux_frames

# Kr, Kb of the YCbCr matrices.
KR_KB = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}
PATCH_COLOURS = np.array([(235, 20, 20), (20, 220, 30), (25, 30, 230), (240, 240, 20), (20, 230, 230),
                          (230, 20, 230), (128, 128, 128), (250, 250, 250), (10, 10, 10), (200, 120, 60),
                          (60, 140, 200), (90, 200, 120)], np.float64)


def patch_image(rows: int, cols: int, patch: int) -> np.ndarray:
    """``(rows*patch, cols*patch, 3)`` uint8 image of flat patches cycling through :data:`PATCH_COLOURS`."""
    img = np.zeros((rows * patch, cols * patch, 3), np.uint8)
    for i in range(rows):
        for j in range(cols):
            img[i * patch:(i + 1) * patch, j * patch:(j + 1) * patch] = PATCH_COLOURS[(i * cols + j) % 12]
    return img


def rgb_to_yuv420(img: np.ndarray, matrix: str, full_range: bool) -> np.ndarray:
    """RGB uint8 ``(H, W, 3)`` -> I420 array ``(H*3/2, W)`` uint8, computed in numpy (2x2 chroma averaging)."""
    kr, kb = KR_KB[matrix]
    rgb = img.astype(np.float64) / 255.0
    y = kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    cb = (rgb[..., 2] - y) / (2 * (1 - kb))
    cr = (rgb[..., 0] - y) / (2 * (1 - kr))
    if full_range:
        y8, cb8, cr8 = 255 * y, 128 + 255 * cb, 128 + 255 * cr
    else:
        y8, cb8, cr8 = 16 + 219 * y, 128 + 224 * cb, 128 + 224 * cr
    h, w = y.shape

    def sub(c: np.ndarray) -> np.ndarray:
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    planes = [np.clip(np.round(p), 0, 255).astype(np.uint8) for p in (y8, sub(cb8), sub(cr8))]
    return np.concatenate([planes[0], planes[1].reshape(h // 4, w), planes[2].reshape(h // 4, w)], axis=0)


def write_yuv_clip(path: Path, img: np.ndarray, *, matrix: str, full_range: bool, tag: bool = True,
                   num_frames: int = 2) -> Path:
    """Encode ``img`` losslessly (x264 qp 0) after our own RGB->YUV conversion, optionally tagging matrix/range."""
    i420 = rgb_to_yuv420(img, matrix, full_range)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
        stream.options = {"qp": "0", "preset": "ultrafast"}
        if tag:
            cc = stream.codec_context
            cc.colorspace = 1 if matrix == "bt709" else 6
            cc.color_range = 2 if full_range else 1
            cc.color_primaries = cc.color_trc = 1 if matrix == "bt709" else 6
        mux_frames(container, stream, (av.VideoFrame.from_ndarray(i420, format="yuv420p") for _ in range(num_frames)))
    return path


def write_vfr_clip(path: Path, frames: np.ndarray, pts_ms: list[int]) -> Path:
    """x264 clip with time base 1/1000 and the given (irregular) pts."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.time_base = Fraction(1, 1000)
        stream.options = {"preset": "ultrafast"}
        for img, pts in zip(frames, pts_ms):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def raw_decode(path: Path) -> tuple[int, int, int, list]:
    """(frames, width, height, pts list) of the first video stream, decoded with PyAV alone."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        tb = stream.time_base
        return len(frames), frames[0].width, frames[0].height, [float(f.pts * tb) for f in frames]


def audio_span(path: Path) -> tuple[str, float, int, int]:
    """(codec, seconds covered by the audio packets, samples per frame, sample rate) of the first audio stream."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        packets = [p for p in container.demux(stream) if p.size]
        start = min(p.pts for p in packets)
        end = max(p.pts + p.duration for p in packets)
        frame_size = stream.codec_context.frame_size or 1024
        return stream.codec_context.name, float((end - start) * stream.time_base), frame_size, stream.sample_rate
