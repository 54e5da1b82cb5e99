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
from wildvsr.inference.chunking import Window
from wildvsr.inference.config import UpscaleConfig
from wildvsr.inference.device import resolve_device
from wildvsr.inference.resume import WorkDir, input_fingerprint
from wildvsr.inference.stabilizer import build_stabilizer
from wildvsr.inference.upscaler import Upscaler
from wildvsr.models import create_model
from wildvsr.models.registry import model_spec, refine_threshold_kwarg, refining_models
from wildvsr.models.weights_spec import split_name
from wildvsr.utils.files import check_output_path
from wildvsr.utils.pipeline import ReadAhead, WriteBehind
from wildvsr.video import VideoReader, VideoWriter, is_image_path, is_video_path
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
    tile = "auto" if config.tile is None else (config.tile or None)  # 0: whole frames
    return Upscaler(model, device, config.precision, config.chunk_size, config.overlap, tile,
                    config.tile_overlap, config.scale, stabilizer=_stabilizer(config, model, device),
                    backend=config.backend, batch=config.batch, memory_budget_gib=config.memory_budget_gib)


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
                  progress: Callable[[int], None] | None = None, *, model: nn.Module | None = None) -> Path:
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

    Returns:
        The output path.

    Raises:
        VSRError subclasses for every problem a user can fix (exit code 2 in the CLI).
    """
    config = config or UpscaleConfig()
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise InputError(f"input {src} does not exist")
    check_output_path(dst, overwrite=config.overwrite, inputs=[src])
    _check_encoding(dst, config)
    upscaler = build_upscaler(config, model)

    with VideoReader(src, dtype="source") as reader:  # uint16 frames for a source above 8 bits
        info = reader.info
        if progress is not None and hasattr(progress, "set_total") and info.num_frames:
            progress.set_total(info.num_frames)
        if is_image_path(dst) and not dst.is_dir() and (info.num_frames or 0) > 1:
            raise InputError(f"output {dst} is a single image but the input has {info.num_frames} frames; give a "
                             "folder or a video file as output")
        work = WorkDir(dst, input_fingerprint(src, info.num_frames),
                       _settings(config, model, upscaler, info.height, info.width) | {"frames": reader.dtype})
        work.open(config.resume)
        try:
            copy_from = src if (src.is_file() and is_video_path(src)) else None
            writer_kwargs = {}
            if is_video_path(dst):
                writer_kwargs = {"codec": config.codec, "crf": config.crf, "preset": config.preset,
                                 "pix_fmt": config.pix_fmt}
            with VideoWriter(dst, like=info, copy_streams_from=copy_from, overwrite=config.overwrite,
                             **writer_kwargs) as writer:
                done = _run(reader, writer, upscaler, work, progress, info.height, info.width)
        except BaseException:
            if not work.chunks:
                work.remove()  # nothing worth resuming
            else:
                logger.warning("%d chunk(s) are kept in %s; rerun with --resume to continue", len(work.chunks),
                               work.path)
            raise
    work.remove()
    if done == 0:
        raise InputError(f"input {src} has no frames")
    logger.info("wrote %d frames to %s", done, dst)
    return dst


def _check_encoding(dst: Path, config: UpscaleConfig) -> None:
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


def _run(reader, writer, upscaler: Upscaler, work: WorkDir, progress: Callable[[int], None] | None, height: int,
         width: int) -> int:
    """Read ahead -> model (this thread) -> save the chunk for resuming and encode it (behind); returns frames done.

    ``progress`` is called here, after a chunk was handed to the encoder thread; on an exception (Ctrl-C included)
    the chunks already handed over are still saved to the work dir before it propagates. A stabilizer's state is
    stored with each chunk it finished and restored before the first chunk computed after resumed ones.
    """

    def finish(item: tuple[Window, np.ndarray, dict | None, bool]) -> None:
        window, out, state, computed = item
        if computed:
            work.save_chunk(window.spec, out, state)
        for frame, image in zip(window.kept, out):
            writer.write(image, pts=frame.pts)

    done = 0
    upscaler.reset()  # a new video for the stabilizer
    stabilizer = upscaler.stabilizer
    restored = False  # the previous chunk came from the work directory (the stabilizer has not seen it)
    with ReadAhead(reader, READ_AHEAD_FRAMES) as frames, WriteBehind(finish, WRITE_BEHIND_CHUNKS) as behind:
        for group in upscaler.iter_batches(frames, height, width):
            todo = [w for w in group if not work.has(w.spec.index)]
            if todo and stabilizer is not None and restored:
                stabilizer.load_state_dict(work.load_state(todo[0].spec.index - 1))
            outs = upscaler.process_batch([np.stack([f.image for f in w.items]) for w in todo],  # (N, H, W, 3) uint8/16
                                          [w.spec for w in todo]) if todo else []
            computed = {w.spec.index: out for w, out in zip(todo, outs)}
            state = stabilizer.state_dict() if stabilizer is not None else None  # batch is 1 with a stabilizer
            for window in group:
                out = computed.get(window.spec.index)
                restored = out is None
                behind.put((window, work.load_chunk(window.spec) if restored else out, state, not restored))
                done += window.spec.num_frames
                if progress is not None:
                    progress(window.spec.num_frames)
        behind.finish()
    return done


def _settings(config: UpscaleConfig, model: nn.Module | None, upscaler: Upscaler, height: int, width: int) -> dict:
    """The resume manifest's settings, with what ``auto`` resolved to here (precision, chunk length): a run resumed
    on another machine must plan the same chunks in the same precision, or it is refused."""
    settings = config.pixel_settings()
    settings["precision"] = upscaler.precision
    settings["chunk_size"] = upscaler.chunk_size_for(height, width)
    settings["tile"] = upscaler.tile_for(height, width)
    settings["tile_overlap"] = config.tile_overlap if settings["tile"] else None
    tile = settings["tile"]
    # a video model plans its call for the whole frame; a per-frame model batches frames of the tile size
    call_h, call_w = (height, width) if upscaler.temporal else (min(height, tile or height), min(width, tile or width))
    settings["frames_per_call"] = upscaler.frames_per_call(call_h, call_w)
    if model is not None:
        settings["model"] = f"<{type(model).__name__} given in code>"
        settings["weights"] = None
    return settings

