"""Degrade a whole video file (or frame folder) with a preset: ``degrade_video`` behind ``wildvsr degrade``.

Long videos are processed in temporal chunks of ``chunk_size`` frames so memory stays bounded: the per-frame
parameters are drawn once for the whole video (the random walk runs across chunk boundaries, so the degradation drifts
smoothly through the video) and sliced per chunk; each chunk goes through the video codec as its own clip (a codec
step therefore restarts its GOP every ``chunk_size`` frames). Per-clip choices (codec, kernel type, resize
interpolation, final order) hold for the whole video. The output has the source's timestamps, is written atomically
(nothing at the target on failure), and the parameters go to JSON beside it (``<output stem>.params.json``).

Outputs to a video container use libx264 at CRF 0 with 4:4:4 chroma by default, so the output encoding adds only
RGB <-> YUV rounding on top of the degradation; give a folder (PNG frames) for bit-exact LQ frames.

Bit depth: a source above 8 bits is read at its depth (uint16), so the steps before any compression see all of its
bits. A preset with ``quantize`` (all shipped ones: the LQ stands for 8-bit delivered video) puts the LQ on 8-bit
levels, which uint8 frames and an 8-bit format hold exactly; without ``quantize`` the LQ keeps the source's dtype and
the default format is 4:4:4 at the source's depth (``yuv444p10le`` for a 10-bit source), as the upscale writer does.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wildvsr.degrade.config import DegradationConfig, load_preset
from wildvsr.degrade.gallery import GalleryRecorder, save_gallery
from wildvsr.degrade.pipeline import Degrader
from wildvsr.errors import InputError
from wildvsr.utils.device import exact_fp32, resolve_device
from wildvsr.utils.files import atomic_write_text, check_output_path
from wildvsr.utils.seed import numpy_generator, torch_generator
from wildvsr.utils.frames import to_frames, to_tensor
from wildvsr.video import VideoReader, is_video_path
from wildvsr.video.depth import pick_deep_format
from wildvsr.video.writer import VideoWriter

logger = logging.getLogger(__name__)


def default_params_path(dst: str | os.PathLike) -> Path:
    """``lq.mp4`` -> ``lq.params.json`` (beside the output)."""
    dst = Path(dst)
    return dst.with_name(dst.stem + ".params.json")


@dataclass(frozen=True)
class DegradeConfig:
    """Settings of one ``wildvsr degrade`` job (schema for :func:`wildvsr.config.from_dict`).

    Attributes:
        preset: preset name (``realbasicvsr``, ``realesrgan``, ``vcisr``, ``bicubic``), YAML path or config.
        seed: same seed, same output bytes on the same kind of device (CPU and CUDA draw different random streams
            from one seed, so their outputs differ; the parameters JSON records the device).
        scale: LQ = HR / scale (overrides the preset's).
        chunk_size: frames per chunk (memory bound; also the codec's clip length).
        overwrite: replace existing outputs.
        device: where the tensor steps run (fp32 on CUDA too: no TF32 convolutions).
        codec, crf, pix_fmt: output encoding for video containers (ignored for frame folders); ``pix_fmt`` None is
            4:4:4 at the LQ frames' depth (``yuv444p``, or ``yuv444p10le`` for a deep source without ``quantize``).
        max_frames: degrade only the first ``max_frames`` frames.
    """

    preset: str | DegradationConfig = "realbasicvsr"
    seed: int = 0
    scale: int = 4
    chunk_size: int = 50
    overwrite: bool = False
    device: str = "cpu"
    codec: str = "libx264"
    crf: int | None = 0
    pix_fmt: str | None = None
    max_frames: int | None = None

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise InputError(f"chunk_size must be >= 1, got {self.chunk_size}")


@dataclass(frozen=True)
class DegradeResult:
    """What a degrade job did (also written as the parameters JSON, :meth:`to_dict`)."""

    source: str
    output: str
    preset: str
    seed: int
    scale: int
    num_frames: int
    chunk_size: int
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    config: dict[str, Any]
    params: dict[str, Any]
    device: str = "cpu"  # where the tensor steps ran: the same seed gives other bytes on CUDA than on CPU

    def to_dict(self) -> dict[str, Any]:
        """The JSON record: ``{"source", "output", "preset", "seed", ..., "params"}`` (sizes as lists)."""
        record = dataclasses.asdict(self)
        record["input_size"], record["output_size"] = list(self.input_size), list(self.output_size)
        return record


def degrade_video(src: str | os.PathLike, dst: str | os.PathLike, config: DegradeConfig = DegradeConfig(), *,
                  params_out: str | os.PathLike | None = None, gallery: str | os.PathLike | None = None,
                  progress: Callable[[int], None] | None = None) -> DegradeResult:
    """Write a degraded (x1/``config.scale``) version of ``src`` to ``dst`` and its per-frame parameters as JSON.

    Args:
        src: video file, frame folder or image.
        dst: output video (container from the extension) or frame folder.
        config: the job's settings.
        params_out: where the parameters JSON goes (default ``<dst stem>.params.json``).
        gallery: optional PNG of one crop after every step (frame 0).
        progress: called with the number of frames finished after each chunk; its ``set_total(n)``, when it has one,
            is called with the number of frames to degrade before the first chunk.

    Returns:
        The record that was written (:meth:`DegradeResult.to_dict`).
    """
    cfg = config.preset if isinstance(config.preset, DegradationConfig) else load_preset(config.preset)
    if config.scale != cfg.scale:
        cfg = dataclasses.replace(cfg, scale=int(config.scale))
    dst = Path(dst)
    params_path = Path(params_out) if params_out is not None else default_params_path(dst)
    for extra in (params_path, gallery):
        if extra is not None:
            check_output_path(extra, overwrite=config.overwrite, inputs=[src, dst])
    device = resolve_device(config.device)
    degrader = Degrader(cfg)
    rng, generator = numpy_generator(config.seed), torch_generator(config.seed, device)
    with VideoReader(src, dtype="source") as reader:  # uint16 frames for a source above 8 bits
        info = reader.info
        total = _frame_count(reader, src, cfg.scale, config.max_frames)
        if progress is not None and hasattr(progress, "set_total"):
            progress.set_total(total)
        params = degrader.sample_params(1, total, rng)
        recorder = GalleryRecorder() if gallery is not None else None
        done = _degrade_frames(reader, dst, total, degrader, params, generator, device, config, recorder, progress)
        if done != total:
            raise InputError(f"{src}: expected {total} frames, could read {done}")
    result = DegradeResult(source=str(src), output=str(dst), preset=cfg.name, seed=int(config.seed), scale=cfg.scale,
                           num_frames=total, chunk_size=config.chunk_size, input_size=(info.width, info.height),
                           output_size=(info.width // cfg.scale, info.height // cfg.scale), config=cfg.to_dict(),
                           params=params.to_dict(), device=str(device))
    atomic_write_text(params_path, json.dumps(result.to_dict(), indent=1), overwrite=True)
    if recorder is not None:
        save_gallery(recorder, gallery, overwrite=True)
    return result


def _lq_pix_fmt(codec: str, lq_dtype: np.dtype, source_depth: int) -> str:
    """4:4:4 (no chroma loss on top of the degradation) at the LQ frames' depth."""
    if lq_dtype == np.uint8:
        return "yuv444p"
    return pick_deep_format(codec, "yuv444p10le", max(10, source_depth))


def _frame_count(reader: VideoReader, src: str | os.PathLike, scale: int, max_frames: int | None) -> int:
    """Frames to degrade (``InputError`` when none, or when the frames are too small for x1/``scale``)."""
    info = reader.info
    total = reader.count_frames()
    if max_frames is not None:
        total = min(total, int(max_frames))
    if total < 1:
        raise InputError(f"{src}: no frames to degrade")
    if info.height // scale < 2 or info.width // scale < 2:
        raise InputError(f"{src}: {info.width}x{info.height} is too small for x1/{scale}")
    return total


def _degrade_frames(reader: VideoReader, dst: Path, total: int, degrader: Degrader, params, generator: torch.Generator,
                    device: torch.device, config: DegradeConfig, recorder: GalleryRecorder | None,
                    progress: Callable[[int], None] | None) -> int:
    """Degrade the first ``total`` frames chunk by chunk into ``dst`` (atomically), keeping their timestamps; returns
    the number of frames written."""
    lq_dtype = np.uint8 if degrader.config.quantize else np.dtype(reader.dtype)  # 8-bit levels fit uint8 exactly
    writer_kw: dict[str, Any] = {"like": reader.info, "overwrite": config.overwrite, "copy_streams_from": None}
    if is_video_path(dst):  # PNG output (folder or one image) has no encoder settings
        writer_kw.update(codec=config.codec, crf=config.crf,
                         pix_fmt=config.pix_fmt or _lq_pix_fmt(config.codec, lq_dtype, reader.info.bit_depth))
    done = 0
    with VideoWriter(dst, **writer_kw) as writer:
        frames = reader.frames(0, total)
        while done < total:
            chunk = [f for _, f in zip(range(min(config.chunk_size, total - done)), frames)]
            if not chunk:
                break
            hr = np.stack([f.image for f in chunk])  # (n, H, W, 3) uint8, or uint16 for a deep source
            gt = to_tensor(hr, device)[None]  # (1, n, 3, H, W)
            with exact_fp32("fp32", device):  # the blur/USM convolutions in full fp32, not cuDNN's TF32 default
                lq = degrader.apply(gt, params.frames(done, done + len(chunk)), generator,
                                    trace=recorder if done == 0 else None)
            if recorder is not None and done == 0:
                recorder("output (8-bit)", lq[0, 0])
            for f, img in zip(chunk, to_frames(lq[0], lq_dtype)):
                writer.write(img, pts=f.pts)
            done += len(chunk)
            logger.debug("degraded frames %d/%d", done, total)
            if progress is not None:
                progress(len(chunk))
    return done
