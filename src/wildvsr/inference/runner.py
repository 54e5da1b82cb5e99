"""``upscale_video``: read -> temporal chunks -> model -> stitch -> write, atomically and resumably."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from torch import nn

from wildvsr.errors import ConfigError, InputError
from wildvsr.inference.chunking import iter_windows
from wildvsr.inference.config import UpscaleConfig
from wildvsr.inference.device import resolve_device
from wildvsr.inference.resume import WorkDir, input_fingerprint
from wildvsr.inference.upscaler import Upscaler
from wildvsr.utils.files import check_output_path

logger = logging.getLogger(__name__)

REFINING_MODELS = ("realbasicvsr",)


def load_model(config: UpscaleConfig) -> nn.Module:
    """Build the configured model with its weights (the default model gets its default weights).

    Raises:
        UnknownModelError, WeightsNotFoundError, WeightsMismatchError, ConfigError.
    """
    from wildvsr.models import create_model

    kwargs = {}
    if config.refine_threshold is not None:
        if config.model.partition(".")[0] not in REFINING_MODELS:
            raise ConfigError(f"--refine-threshold applies to {', '.join(REFINING_MODELS)} only, "
                              f"not {config.model}")
        kwargs["dynamic_refine_thres"] = float(config.refine_threshold)
    weights = config.weights if config.weights is not None else "default"
    if "." in config.model and config.weights is None:
        weights = None  # "name.tag" names its weights itself
    model = create_model(config.model, weights=weights, **kwargs)
    return model.eval()


def build_upscaler(config: UpscaleConfig, model: nn.Module | None = None) -> Upscaler:
    """An :class:`Upscaler` for ``config`` (loading the model unless one is given), with the configured temporal
    stabilizer when the model is a per-frame one."""
    device = resolve_device(config.device)
    if model is None:
        model = load_model(config)
    return Upscaler(model, device, config.precision, config.chunk_size, config.overlap, config.tile,
                    config.tile_overlap, config.scale, stabilizer=_stabilizer(config, model, device))


def _stabilizer(config: UpscaleConfig, model: nn.Module, device):
    """The stabilizer ``config.temporal`` asks for: ``auto`` is the default one for per-frame models and none for
    temporal models (they are temporally consistent themselves); a name with a temporal model is an error."""
    from wildvsr.defaults import DEFAULT_TEMPORAL
    from wildvsr.inference.stabilizer import build_stabilizer

    if getattr(model, "temporal", True):
        if config.temporal not in ("auto", "off"):
            raise ConfigError(f"--temporal {config.temporal} applies to per-frame models only; {config.model} is a "
                              "video model (use --temporal auto or off)")
        return None
    return build_stabilizer(DEFAULT_TEMPORAL if config.temporal == "auto" else config.temporal, device)


def upscale_video(src: str | os.PathLike, dst: str | os.PathLike, config: UpscaleConfig | None = None,
                  progress: Callable[[int], None] | None = None, *, model: nn.Module | None = None) -> Path:
    """Upscale a video, a frame folder or an image into a video (container from ``dst``'s extension) or a PNG folder.

    Frames stream through: memory holds at most ``chunk_size + 2*overlap`` input frames and one chunk's output.
    Timestamps, audio and subtitle streams of a video input are kept. The output appears only when the run
    succeeded (atomic rename). Finished chunks are recorded in a work directory beside ``dst`` so that an interrupted
    run continues with ``config.resume``; it is removed on success.

    Args:
        src: input video file, folder of images, or one image.
        dst: output video file or folder.
        config: settings (defaults: :class:`UpscaleConfig`).
        progress: called with the number of frames finished after each chunk.
        model: use this model instead of loading ``config.model`` (it must follow the x4 video-model contract).

    Returns:
        The output path.

    Raises:
        VSRError subclasses for every problem a user can fix (exit code 2 in the CLI).
    """
    from wildvsr.video import VideoReader, VideoWriter, is_image_path, is_video_path

    config = config or UpscaleConfig()
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise InputError(f"input {src} does not exist")
    check_output_path(dst, overwrite=config.overwrite, inputs=[src])
    upscaler = build_upscaler(config, model)

    with VideoReader(src) as reader:
        info = reader.info
        if is_image_path(dst) and not dst.is_dir() and (info.num_frames or 0) > 1:
            raise InputError(f"output {dst} is a single image but the input has {info.num_frames} frames; give a "
                             "folder or a video file as output")
        work = WorkDir(dst, input_fingerprint(src, info.num_frames), _settings(config, model))
        work.open(config.resume)
        try:
            copy_from = src if (src.is_file() and is_video_path(src)) else None
            writer_kwargs = {}
            if is_video_path(dst):
                writer_kwargs = {"codec": config.codec, "crf": config.crf, "preset": config.preset}
            with VideoWriter(dst, like=info, copy_streams_from=copy_from, overwrite=config.overwrite,
                             **writer_kwargs) as writer:
                done = _run(reader, writer, upscaler, work, progress)
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


def _run(reader, writer, upscaler: Upscaler, work: WorkDir, progress: Callable[[int], None] | None) -> int:
    done = 0
    upscaler.reset()  # a new video for the stabilizer
    stabilizer = upscaler.stabilizer  # carries state from chunk to chunk: stored with each finished chunk
    restored = False  # the previous chunk came from the work directory (the stabilizer has not seen it)
    for window in iter_windows(reader, upscaler.chunk_size, upscaler.overlap):
        spec = window.spec
        if work.has(spec.index):
            out = work.load_chunk(spec)
            restored = True
        else:
            if stabilizer is not None and restored:
                stabilizer.load_state_dict(work.load_state(spec.index - 1))
            restored = False
            images = np.stack([frame.image for frame in window.items])  # (N, H, W, 3) uint8
            out = upscaler.process_window(images, spec)
            work.save_chunk(spec, out, stabilizer.state_dict() if stabilizer is not None else None)
        for frame, image in zip(window.kept, out):
            writer.write(image, pts=frame.pts)
        done += spec.num_frames
        if progress is not None:
            progress(spec.num_frames)
    return done


def _settings(config: UpscaleConfig, model: nn.Module | None) -> dict:
    settings = config.pixel_settings()
    if model is not None:
        settings["model"] = f"<{type(model).__name__} given in code>"
        settings["weights"] = None
    return settings

