"""Degrade a whole video file (or frame folder) with a preset: ``degrade_video`` behind ``wildvsr degrade``.

Long videos are processed in temporal chunks of ``chunk_size`` frames so memory stays bounded: the per-frame
parameters are drawn once for the whole video (the random walk runs across chunk boundaries, so the degradation drifts
smoothly through the video) and sliced per chunk; each chunk goes through the video codec as its own clip (a codec
step therefore restarts its GOP every ``chunk_size`` frames). Per-clip choices (codec, kernel type, resize
interpolation, final order) hold for the whole video. The output has the source's timestamps, is written atomically
(nothing at the target on failure), and the parameters go to JSON beside it (``<output stem>.params.json``).

Outputs to a video container use libx264 at CRF 0 with 4:4:4 chroma by default, so the output encoding adds only
RGB <-> YUV rounding on top of the degradation; give a folder (PNG frames) for bit-exact LQ frames.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wildvsr.degrade.config import DegradationConfig, load_preset
from wildvsr.degrade.gallery import GalleryRecorder, save_gallery
from wildvsr.degrade.pipeline import Degrader
from wildvsr.errors import InputError
from wildvsr.utils.device import resolve_device
from wildvsr.utils.files import atomic_write_text, check_output_path
from wildvsr.utils.seed import numpy_generator, torch_generator
from wildvsr.utils.frames import to_frames, to_tensor

logger = logging.getLogger(__name__)


def default_params_path(dst: str | os.PathLike) -> Path:
    """``lq.mp4`` -> ``lq.params.json`` (beside the output)."""
    dst = Path(dst)
    return dst.with_name(dst.stem + ".params.json")


def degrade_video(src: str | os.PathLike, dst: str | os.PathLike, preset: str | os.PathLike | DegradationConfig,
                  seed: int = 0, scale: int = 4, params_out: str | os.PathLike | None = None,
                  gallery: str | os.PathLike | None = None, progress: Callable[[int], None] | None = None, *,
                  chunk_size: int = 50, overwrite: bool = False, device: str | torch.device = "cpu",
                  codec: str = "libx264", crf: int | None = 0, pix_fmt: str | None = "yuv444p",
                  max_frames: int | None = None) -> dict[str, Any]:
    """Write a degraded (x1/``scale``) version of ``src`` to ``dst`` and its per-frame parameters as JSON.

    Args:
        src: video file, frame folder or image.
        dst: output video (container from the extension) or frame folder.
        preset: preset name (``realbasicvsr``, ``realesrgan``, ``vcisr``, ``bicubic``), YAML path or config.
        seed: same seed, same output bytes.
        scale: LQ = HR / scale (overrides the preset's).
        params_out: where the parameters JSON goes (default ``<dst stem>.params.json``).
        gallery: optional PNG of one crop after every step (frame 0).
        progress: called with the number of frames finished after each chunk.
        chunk_size: frames per chunk (memory bound; also the codec's clip length).
        device: where the tensor steps run.
        codec, crf, pix_fmt: output encoding for video containers (ignored for frame folders).
        max_frames: degrade only the first ``max_frames`` frames.

    Returns:
        The parameters record that was written (``{"source", "preset", "seed", ..., "params"}``).
    """
    from wildvsr.video import VideoReader
    from wildvsr.video.writer import VideoWriter

    cfg = preset if isinstance(preset, DegradationConfig) else load_preset(preset)
    if scale != cfg.scale:
        cfg = dataclasses.replace(cfg, scale=int(scale))
    if chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size}")
    dst = Path(dst)
    params_path = Path(params_out) if params_out is not None else default_params_path(dst)
    for extra in (params_path, gallery):
        if extra is not None:
            check_output_path(extra, overwrite=overwrite, inputs=[src, dst])
    device = resolve_device(device)
    degrader = Degrader(cfg)
    rng, generator = numpy_generator(seed), torch_generator(seed, device)
    with VideoReader(src) as reader:
        info = reader.info
        total = reader.count_frames()
        if max_frames is not None:
            total = min(total, int(max_frames))
        if total < 1:
            raise InputError(f"{src}: no frames to degrade")
        if info.height // cfg.scale < 2 or info.width // cfg.scale < 2:
            raise InputError(f"{src}: {info.width}x{info.height} is too small for x1/{cfg.scale}")
        params = degrader.sample_params(1, total, rng)
        recorder = GalleryRecorder() if gallery is not None else None
        writer_kw: dict[str, Any] = {"like": info, "overwrite": overwrite, "copy_streams_from": None}
        if dst.suffix:
            writer_kw.update(codec=codec, crf=crf, pix_fmt=pix_fmt)
        done = 0
        with VideoWriter(dst, **writer_kw) as writer:
            frames = reader.frames(0, total)
            while done < total:
                chunk = [f for _, f in zip(range(min(chunk_size, total - done)), frames)]
                if not chunk:
                    break
                hr = np.stack([f.image for f in chunk])  # (n, H, W, 3) uint8
                gt = to_tensor(hr, device)[None]  # (1, n, 3, H, W)
                lq = degrader.apply(gt, params.frames(done, done + len(chunk)), generator,
                                    trace=recorder if done == 0 else None)
                if recorder is not None and done == 0:
                    recorder("output (8-bit)", lq[0, 0])
                for f, img in zip(chunk, to_frames(lq[0])):
                    writer.write(img, pts=f.pts)
                done += len(chunk)
                logger.debug("degraded frames %d/%d", done, total)
                if progress is not None:
                    progress(len(chunk))
        if done != total:
            raise InputError(f"{src}: expected {total} frames, could read {done}")
    record = {"source": str(src), "output": str(dst), "preset": cfg.name, "seed": int(seed), "scale": cfg.scale,
              "num_frames": total, "chunk_size": chunk_size, "input_size": [info.width, info.height],
              "output_size": [info.width // cfg.scale, info.height // cfg.scale],
              "config": cfg.to_dict(), "params": params.to_dict()}
    atomic_write_text(params_path, json.dumps(record, indent=1), overwrite=True)
    if recorder is not None:
        save_gallery(recorder, gallery, overwrite=True)
    return record
