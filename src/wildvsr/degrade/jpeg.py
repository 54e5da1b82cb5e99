"""JPEG compression with the real libjpeg (through Pillow), per frame, on CPU.

Frames are saturated to uint8 (clip, round: :mod:`wildvsr.utils.frames`) before encoding, as ``cv2.imencode`` does with RealBasicVSR's float
frames. Pillow and OpenCV both call libjpeg with its standard quality-scaled tables and 4:2:0 chroma subsampling, so
quality ``q`` here means what it means in both reference pipelines. Results go back to the input's device and dtype.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from wildvsr.utils.frames import to_frames, to_tensor


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode one ``(H, W, 3)`` uint8 RGB image as JPEG at ``quality`` (1..100) and decode it."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def add_jpg_compression(x: torch.Tensor, quality) -> torch.Tensor:
    """JPEG every frame of ``x`` ``(N, T, 3, H, W)`` (or ``(N, 3, H, W)``) at ``quality`` (scalar, (N,) or (N, T)).

    Returns:
        Tensor of the same shape on ``x``'s device, values on the 0..255/255 grid.
    """
    frames = to_frames(x)
    lead = frames.shape[:-3]
    q = np.broadcast_to(np.asarray(quality).reshape(np.shape(quality) + (1,) * (len(lead) - np.ndim(quality))), lead)
    flat = frames.reshape(-1, *frames.shape[-3:])
    out = np.stack([jpeg_roundtrip(f, round(float(qi))) for f, qi in zip(flat, q.reshape(-1))])
    return to_tensor(out.reshape(frames.shape), x.device, x.dtype)


def random_add_jpg_compression(x: torch.Tensor, rng: np.random.Generator, quality_range=(30, 95)) -> torch.Tensor:
    """JPEG with one ``quality ~ round(U(quality_range))`` per clip (first dim of ``x``)."""
    q = np.round(rng.uniform(*quality_range, size=x.shape[0]))
    return add_jpg_compression(x, q)
