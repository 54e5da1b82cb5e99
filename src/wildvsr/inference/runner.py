"""``upscale_video``: read -> temporal chunks -> model -> stitch -> write, atomically and resumably."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from torch import nn

from wildvsr.defaults import DEFAULT_TEMPORAL
from wildvsr.errors import ConfigError, InputError
from wildvsr.inference.config import UpscaleConfig
from wildvsr.inference.device import resolve_device
from wildvsr.inference.resume import WorkDir
from wildvsr.inference.stabilizer import build_stabilizer
from wildvsr.inference.plan import UpscalePlan
from wildvsr.inference.segments import Segment
from wildvsr.inference.upscaler import Chunk, Upscaler
from wildvsr.models import create_model
from wildvsr.models.registry import model_spec, refine_threshold_kwarg, refining_models
from wildvsr.models.weights_spec import split_name
from wildvsr.utils.files import check_output_path
from wildvsr.utils.pipeline import ReadAhead, WriteBehind
from wildvsr.video import VideoReader, VideoWriter, is_image_path, is_video_path
from wildvsr.video.info import Frame
from wildvsr.video.writer import check_video_output

logger = logging.getLogger(__name__)

def load_model(config: UpscaleConfig) -> nn.Module:
    """Build the configured model with its weights (the default model gets its default weights).

    Raises:
        UnknownModelError, WeightsNotFoundError, WeightsMismatchError, ConfigError.
    """
    kwargs = {}
    if config.refine_threshold is not None:
        kwarg = refine_threshold_kwarg(config.model)
        if kwarg is None:
            raise ConfigError(f"--refine-threshold applies to {', '.join(refining_models())} only, "
                              f"not {config.model}")
        kwargs[kwarg] = float(config.refine_threshold)
    weights = config.weights if config.weights is not None else "default"
    if split_name(config.model)[1] is not None and config.weights is None:
        weights = None  # "name.tag" names its weights itself
    model = create_model(config.model, weights=weights, **kwargs)
    return model.eval()


def build_upscaler(config: UpscaleConfig, model: nn.Module | None = None) -> Upscaler:
    """An :class:`Upscaler` for ``config`` (loading the model unless one is given), with the configured temporal
    stabilizer when the model is a per-frame one."""
    device = resolve_device(config.device)
    if model is None:
        model = load_model(config)
    return Upscaler(model, device, precision=config.precision, chunk_size=config.chunk_size, overlap=config.overlap,
                    tile=config.tile, tile_overlap=config.tile_overlap, scale=config.scale,
                    stabilizer=_stabilizer(config, model, device), backend=config.backend, batch=config.batch,
                    memory_budget_gib=config.memory_budget_gib)


def _stabilizer(config: UpscaleConfig, model: nn.Module, device):
    """The stabilizer ``config.temporal`` asks for: ``auto`` is the default one for per-frame models and none for
    temporal models (they are temporally consistent themselves); a name with a temporal model is an error."""
    if model_spec(model).temporal:
        if config.temporal not in ("auto", "off"):
            raise ConfigError(f"--temporal {config.temporal} applies to per-frame models only; {config.model} is a "
                              "video model (use --temporal auto or off)")
        return None
    return build_stabilizer(DEFAULT_TEMPORAL if config.temporal == "auto" else config.temporal, device)


def upscale_video(src: str | os.PathLike, dst: str | os.PathLike, config: UpscaleConfig | None = None,
                  progress: Callable[[int], None] | None = None, *, model: nn.Module | None = None,
                  upscaler: Upscaler | None = None, segment: Segment | None = None, copy_streams: bool = True
                  ) -> Path:
    """Upscale a video, a frame folder or an image into a video (container from ``dst``'s extension) or a PNG folder.

    Frames stream through: memory holds at most ``batch`` context windows of ``chunk_size + 2*overlap`` input frames
    (the chunk length planned from the frame size unless given) and a few chunks' outputs. Decoding runs ahead of the
    model and encoding behind it, each in its own thread with a bounded queue.
    Timestamps, audio and subtitle streams of a video input are kept. The output appears only when the run
    succeeded (atomic rename). Finished chunks are recorded in a work directory beside ``dst`` so that an interrupted
    run continues with ``config.resume``; it is removed on success.

    Args:
        src: input video file, folder of images, or one image.
        dst: output video file or folder.
        config: settings (defaults: :class:`UpscaleConfig`).
        progress: called with the number of frames finished after each chunk; its ``set_total(n)``, when it has one,
            gets the frame count the input declares (so a caller need not open the input to size a progress bar).
        model: use this model instead of loading ``config.model`` (it must follow the x4 video-model contract).
        segment: restore only these frames (:class:`~wildvsr.inference.segments.Segment`), with the context a whole
            run gives them (a video model's neighbours, a stabilizer warmed up on the frames before) and their source
            timestamps; the audio and subtitles of that time span are kept.
        copy_streams: keep the source's audio and subtitles (False: video only, e.g. a cluster segment, whose
            join adds them once).
        upscaler: a :func:`build_upscaler` of this ``config`` to reuse across videos (the model loads once, e.g.
            :func:`wildvsr.inference.batch.upscale_many`); the resume manifest records ``config.model`` and its
            weights, so it must be built from ``config``'s model, weights and processing settings.

    Returns:
        The output path.

    Raises:
        VSRError subclasses for every problem a user can fix (exit code 2 in the CLI).
    """
    config = config or UpscaleConfig()
    if model is not None and upscaler is not None:
        raise ValueError("give a model or an upscaler, not both")
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise InputError(f"input {src} does not exist")
    check_output_path(dst, overwrite=config.overwrite, inputs=[src])
    check_encoding(dst, config)
    upscaler = upscaler if upscaler is not None else build_upscaler(config, model)

    segment = segment or Segment()
    with VideoReader(src, dtype="source") as reader:  # uint16 frames for a source above 8 bits
        info = reader.info
        segment = open_segment(reader, dst, segment, progress)
        plan = upscaler.plan(info.height, info.width)  # settled once for the video; recorded for resuming
        settings = _settings(config, model, plan) | {"frames": reader.dtype}
        work = WorkDir.for_run(dst, src, info.num_frames, settings, segment)
        work.open(config.resume)
        with work.kept_on_failure(), \
                VideoWriter(dst, like=info, **writer_settings(src, dst, config, info, segment, copy_streams)) as writer:
            done = _run(reader, writer, upscaler, plan, work, progress, segment)
    if done == 0:
        raise InputError(f"input {src} has no frames")
    logger.info("wrote %d frames to %s", done, dst)
    return dst


def open_segment(reader: VideoReader, dst: Path, segment: Segment, progress: Callable[[int], None] | None
                 ) -> Segment:
    """``segment`` clipped to the input (a segment asked for counts the packets: the container's count may be an
    estimate; no decoding), the progress total set to its frames, and a single-image output refused for more than
    one frame."""
    info = reader.info
    if not segment.whole:
        segment = segment.within(reader.count_frames())
    wanted = (segment.stop or info.num_frames or 0) - segment.start
    if progress is not None and hasattr(progress, "set_total") and wanted > 0:
        progress.set_total(wanted)
    if is_image_path(dst) and not dst.is_dir() and wanted > 1:
        raise InputError(f"output {dst} is a single image but the input has {wanted} frames; give a folder or a "
                         "video file as output")
    return segment


def check_encoding(dst: Path, config: UpscaleConfig) -> None:
    """Refuse encoder settings the output cannot take before the model loads or any frame is read."""
    if is_video_path(dst):
        check_video_output(dst, config.codec, config.crf, config.preset, config.pix_fmt)
    elif config.pix_fmt is not None:
        raise InputError(f"--pix-fmt {config.pix_fmt} applies to video output; {dst} gets PNG frames, which keep "
                         "the source's depth (8 or 16 bits)")


READ_AHEAD_FRAMES = 8
"""Decoded frames the reader thread may hold beyond what the chunking buffer already keeps."""

WRITE_BEHIND_CHUNKS = 2
"""Finished chunks waiting for the encoder thread (each is one chunk's upscaled uint8 or uint16 frames)."""


def _run(reader, writer, upscaler: Upscaler, plan: UpscalePlan, work: WorkDir,
         progress: Callable[[int], None] | None, segment: Segment) -> int:
    """Read ahead -> :meth:`Upscaler.run` (this thread; ``work`` is its resume hook) -> save the chunk for resuming
    and encode it (behind); returns frames done.

    ``progress`` is called here, after a chunk was handed to the encoder thread; on an exception (Ctrl-C included)
    the chunks already handed over are still saved to the work dir before it propagates. A stabilizer's state is
    stored with each chunk it finished. Only ``segment``'s frames are read (with the plan's lead-in before it and a
    video model's right context after it) and written.
    """

    def finish(chunk: Chunk) -> None:
        if chunk.computed:
            work.save_chunk(chunk.window.spec, chunk.frames, chunk.state)
        for frame, image in zip(chunk.window.kept, chunk.frames):
            writer.write(image, pts=frame.pts)

    first = max(0, segment.start - plan.lead_in)
    count = None if segment.stop is None else segment.stop + plan.overlap - first
    done = 0
    with ReadAhead(reader.frames(first, count), READ_AHEAD_FRAMES) as frames, \
            WriteBehind(finish, WRITE_BEHIND_CHUNKS) as behind:
        for chunk in upscaler.run(frames, plan, image=_image, resume=work, first=first, start=segment.start,
                                  stop=segment.stop):  # image: (H, W, 3) uint8/16
            behind.put(chunk)
            done += chunk.window.spec.num_frames
            if progress is not None:
                progress(chunk.window.spec.num_frames)
        behind.finish()
    return done


def writer_settings(src: Path, dst: Path, config: UpscaleConfig, info, segment: Segment, copy_streams: bool
                     ) -> dict:
    """The output's encoder settings and the source streams it copies (a segment: those of its time span)."""
    copy_from = src if (copy_streams and src.is_file() and is_video_path(src)) else None
    settings = {"copy_streams_from": copy_from, "overwrite": config.overwrite}
    if is_video_path(dst):
        settings |= {"codec": config.codec, "crf": config.crf, "preset": config.preset, "pix_fmt": config.pix_fmt}
        if copy_from is not None and not segment.whole:
            settings["copy_range"] = _time_span(info, segment)
    return settings


def _time_span(info, segment: Segment) -> tuple[float, float | None]:
    """Seconds of the source a segment shows, ``[t0, t1)``, at its average frame rate from its first frame (the span
    whose audio and subtitles a segment's output keeps)."""
    origin = float(info.start_pts * info.time_base) if info.start_pts is not None and info.time_base else 0.0
    fps = float(info.fps or 25)
    return (origin + segment.start / fps, None if segment.stop is None else origin + segment.stop / fps)


def _image(frame: Frame) -> np.ndarray:
    return frame.image


def _settings(config: UpscaleConfig, model: nn.Module | None, plan: UpscalePlan) -> dict:
    """The resume manifest's settings, with what ``auto`` resolved to here (the plan's precision, chunk length, tile
    and call size): a run resumed on another machine must plan the same chunks in the same precision, or it is
    refused."""
    settings = config.pixel_settings() | plan.manifest_settings()
    if model is not None:
        settings["model"] = f"<{type(model).__name__} given in code>"
        settings["weights"] = None
    return settings
