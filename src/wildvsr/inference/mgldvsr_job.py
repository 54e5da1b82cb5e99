"""``wildvsr upscale --model mgldvsr``: MGLD-VSR over a video or frame folder, clip by clip, streamed and resumable.

MGLD-VSR runs its own clips (:mod:`wildvsr.models.mgldvsr.clips`: ``num_frames`` frames, 5 for the official model,
optionally overlapping by ``--overlap``), not the generic runner's chunks and tiles: its U-Net restores whole frames in
latent tiles of its own. Everything else is the generic runner's: the source's depth, timestamps, audio and subtitles
are kept, the output appears atomically, finished clips are recorded in the same work folder
(:class:`~wildvsr.inference.resume.WorkDir`) for ``--resume``, and ``--frames``/``--start``/``--duration`` restore a
segment. Noise is drawn per (seed, frame index) and clips are planned from frame indices, so a resumed run and a
segment give exactly the frames of the whole, uninterrupted run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from wildvsr.errors import InputError, WeightsNotFoundError
from wildvsr.inference.chunking import ChunkSpec
from wildvsr.inference.resume import WorkDir, input_fingerprint
from wildvsr.inference.runner import check_encoding, open_segment, writer_settings
from wildvsr.inference.segments import Segment
from wildvsr.models import create_model
from wildvsr.models.mgldvsr import OFFICIAL_SOURCE, MGLDVSR, load_official
from wildvsr.models.mgldvsr.clips import Clip, first_clip_for, clip_stride, stream_clips
from wildvsr.models.mgldvsr.guidance import frame_generators
from wildvsr.models.weight_files import cache_dir
from wildvsr.utils.device import resolve_device
from wildvsr.utils.files import check_output_path
from wildvsr.video import VideoReader, VideoWriter
from wildvsr.video.info import Frame

logger = logging.getLogger(__name__)

__all__ = ["MGLDVSRJob", "default_weights_dir", "resolve_mgldvsr_files", "converted_weights", "check_mgldvsr_weights",
           "build_mgldvsr", "upscale_mgldvsr",
           "restore_frames", "mgldvsr_frames_fn"]

_WEIGHT_SUFFIXES = (".ckpt", ".pth", ".pt", ".safetensors")


@dataclass(frozen=True)
class MGLDVSRJob:
    """Settings of an MGLD-VSR upscale (CLI options of the same names)."""

    weights: str | None = None  # the LDM (U-Net) checkpoint, or a folder holding both files
    vae_weights: str | None = None  # the video VAE checkpoint
    prompt_embedding: str | None = None  # only for a U-Net checkpoint without the OpenCLIP text tower
    steps: int = 50
    guidance: float = 10.0
    seed: int = 0
    overlap: int = 0  # frames shared by neighbouring clips (0: the official non-overlapping clips)
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU; fp32, bf16, fp16
    codec: str = "libx264"
    crf: int | None = None
    preset: str | None = None
    pix_fmt: str | None = None  # default: the source's bit depth
    overwrite: bool = False
    resume: bool = False
    size: str = "official"  # "tiny": a test-sized model (files made for it), never the authors' files

    def pixel_settings(self, model: MGLDVSR, device: torch.device) -> dict:
        """What the output pixels depend on (the resume manifest's settings): the model's files and config, the
        sampling settings, and the resolved precision and device type (CUDA draws other noise than the CPU)."""
        files = {}
        for key, path in (("weights", self.weights), ("vae_weights", self.vae_weights),
                          ("prompt_embedding", self.prompt_embedding)):
            files[key] = input_fingerprint(path, None) if path and Path(path).exists() else path
        return files | {"model": "mgldvsr", "config": model.describe(), "steps": self.steps,
                        "guidance": self.guidance, "seed": self.seed, "overlap": self.overlap,
                        "precision": _resolved_precision(device, self.precision), "device": device.type}


def _from_folder(folder: Path) -> tuple[Path | None, Path | None]:
    files = sorted(p for p in folder.iterdir() if p.suffix in _WEIGHT_SUFFIXES)
    vae = [p for p in files if "vae" in p.name.lower() or "vqgan" in p.name.lower()]
    unet = [p for p in files if p not in vae]
    return (unet[0] if len(unet) == 1 else None), (vae[0] if len(vae) == 1 else None)


def default_weights_dir() -> Path:
    """Where the two files are looked for when no path is given: ``$WILDVSR_CACHE/mgldvsr``."""
    return cache_dir() / "mgldvsr"


def resolve_mgldvsr_files(weights: str | None, vae_weights: str | None) -> tuple[Path, Path]:
    """The two official files (given paths, a folder, else :func:`default_weights_dir`), or one
    :class:`WeightsNotFoundError` line naming each missing one and where the authors publish them."""
    unet = Path(weights).expanduser() if weights else None
    vae = Path(vae_weights).expanduser() if vae_weights else None
    if unet is None and default_weights_dir().is_dir():
        unet = default_weights_dir()
    if unet is not None and unet.is_dir():
        found_unet, found_vae = _from_folder(unet)
        unet, vae = found_unet or unet / "<U-Net checkpoint>", vae or found_vae or unet / "<video VAE checkpoint>"
    problems = []
    for label, option, path in (("U-Net (LDM) checkpoint", "--weights", unet),
                                ("video VAE checkpoint", "--vae-weights", vae)):
        if path is None:
            problems.append(f"the {label} ({option}) was not given (nor found in {default_weights_dir()})")
        elif not path.is_file():
            problems.append(f"the {label} ({option}) {path} does not exist")
    if problems:
        raise WeightsNotFoundError(f"MGLD-VSR needs its authors' two files: {'; '.join(problems)}; both are "
                                   f"published by {OFFICIAL_SOURCE}")
    return unet, vae


def converted_weights(weights: str | None, vae_weights: str | None) -> Path | None:
    """``--weights`` alone naming one ``.safetensors`` file: a model in wildvsr's own layout (``wildvsr export`` of an
    MGLD-VSR training run, or ``save_pretrained``), which holds both parts, its config and SPyNet; else None."""
    if weights is None or vae_weights is not None:
        return None
    path = Path(weights).expanduser()
    return path if path.suffix == ".safetensors" and path.is_file() else None


def check_mgldvsr_weights(job: MGLDVSRJob) -> None:
    """Fail, in one line, on missing files before any work (a converted model or the authors' two files)."""
    if converted_weights(job.weights, job.vae_weights) is None:
        resolve_mgldvsr_files(job.weights, job.vae_weights)


def build_mgldvsr(job: MGLDVSRJob, device: torch.device) -> MGLDVSR:
    """The model: from wildvsr's own layout (:func:`converted_weights`), else the official-size model filled from
    the authors' two files, with SPyNet's official BasicVSR weights for the flows."""
    if (path := converted_weights(job.weights, job.vae_weights)) is not None:
        return create_model("mgldvsr", weights=str(path), steps=job.steps, eta=job.guidance).to(device).eval()
    unet, vae = resolve_mgldvsr_files(job.weights, job.vae_weights)
    with torch.device("meta"):
        model = MGLDVSR(size=job.size, steps=job.steps, eta=job.guidance)
    model = model.to_empty(device="cpu")
    spynet = create_model("spynet", weights="default").state_dict()
    load_official(model, unet, vae, spynet_state=spynet, prompt_embedding=job.prompt_embedding)
    return model.to(device).eval()


def _resolved_precision(device: torch.device, precision: str) -> str:
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise InputError(f"precision must be auto, fp32, bf16 or fp16, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise InputError("fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return precision


def _autocast(device: torch.device, precision: str):
    precision = _resolved_precision(device, precision)
    if precision == "fp32":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=torch.float16 if precision == "fp16" else torch.bfloat16)


def _to_tensor(images: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """``(H, W, 3)`` uint8 or uint16 images -> ``(1, T, 3, H, W)`` float [0, 1]."""
    arr = np.stack(images)
    peak = float(np.iinfo(arr.dtype).max)
    tensor = torch.from_numpy(arr.astype(np.float32) / peak)  # (T, H, W, 3)
    return tensor.permute(0, 3, 1, 2).unsqueeze(0).to(device)


def _to_images(out: torch.Tensor, dtype: np.dtype) -> np.ndarray:
    """``(T, 3, H, W)`` float [0, 1] -> ``(T, H, W, 3)`` of ``dtype`` (uint8 or uint16)."""
    peak = float(np.iinfo(dtype).max)
    arr = (out.float().clamp(0, 1) * peak).round().permute(0, 2, 3, 1).cpu().numpy()
    return arr.astype(dtype)


def restore_frames(model: MGLDVSR, clip: Clip, frames: list[Frame], job: MGLDVSRJob, device: torch.device
                   ) -> np.ndarray:
    """The kept frames of one clip, ``(clip.stop - clip.start, 4H, 4W, 3)`` of the frames' dtype; ``frames`` are
    the clip's ``num_frames`` frames (the final one repeated in a short last clip)."""
    lqs = _to_tensor([f.image for f in frames], device)
    gens = frame_generators(job.seed, [f.index for f in frames], device=device)
    keep = slice(clip.start - clip.first, clip.stop - clip.first)
    with _autocast(device, job.precision), torch.no_grad():
        out = model.restore_clip(lqs, gens)[0, keep]
    return _to_images(out, frames[0].image.dtype)


def upscale_mgldvsr(src: str | Path, dst: str | Path, job: MGLDVSRJob,
                    progress: Callable[[int], None] | None = None,
                    model: MGLDVSR | None = None, segment: Segment | None = None) -> Path:
    """Upscale ``src`` x4 into ``dst`` with MGLD-VSR (``model`` given: used as is, e.g. a tiny one in tests).

    ``progress(n)`` is called with the number of frames each clip adds to the output (its ``set_total``, when it has
    one, gets the number of frames to write). ``segment``: only those frames (the whole run's clips, so the same
    pixels), with the audio and subtitles of their time span. With ``job.resume``, the clips a killed run finished
    are read back from its work folder, not computed again.

    Raises:
        VSRError subclasses for every problem a user can fix (exit code 2 in the CLI).
    """
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise InputError(f"input {src} does not exist")
    check_output_path(dst, overwrite=job.overwrite, inputs=[src])
    check_encoding(dst, job)
    if model is None:
        check_mgldvsr_weights(job)  # fail on missing files before reading any video
    device = resolve_device(job.device)
    _resolved_precision(device, job.precision)  # a bad precision fails here, before the model is built
    model = model if model is not None else build_mgldvsr(job, device)
    try:
        clip_stride(model.cfg.sampling.num_frames, job.overlap)
    except ValueError as exc:
        raise InputError(f"--overlap: {exc}") from None
    segment = segment or Segment()
    with VideoReader(src, dtype="source") as reader:  # uint16 frames for a source above 8 bits
        info = reader.info
        segment = open_segment(reader, dst, segment, progress)
        settings = job.pixel_settings(model, device) | {"frames": reader.dtype}
        work = WorkDir.for_run(dst, src, info.num_frames, settings, segment)
        work.open(job.resume)
        with work.kept_on_failure(), \
                VideoWriter(dst, like=info, **writer_settings(src, dst, job, info, segment, True)) as writer:
            done = _run_clips(reader, writer, model, job, device, work, progress, segment)
    if done == 0:
        raise InputError(f"input {src} has no frames")
    logger.info("mgldvsr: %d frames -> %s", done, dst)
    return dst


def _run_clips(reader: VideoReader, writer: VideoWriter, model: MGLDVSR, job: MGLDVSRJob, device: torch.device,
               work: WorkDir, progress: Callable[[int], None] | None, segment: Segment) -> int:
    """Read from the first frame of a clip at or before the one that keeps ``segment.start``, restore (or read back)
    each clip that keeps a frame of the segment, write those frames; returns frames written.

    A clip is the last one only when no frame follows it, so the reading goes one clip and a frame past the segment's
    end: the clips that keep its frames are then exactly those of the whole video."""
    length = model.cfg.sampling.num_frames
    first_clip = first_clip_for(segment.start, length, job.overlap)
    first = first_clip * clip_stride(length, job.overlap)
    count = None if segment.stop is None else segment.stop + length + 1 - first
    end = segment.stop if segment.stop is not None else float("inf")
    done = 0
    for clip, frames in stream_clips(reader.frames(first, count), length, job.overlap, first_clip=first_clip):
        if clip.start >= end:
            break
        if clip.stop <= segment.start:  # read for the plan only: it keeps no frame of the segment
            continue
        spec = ChunkSpec(clip.index, clip.start, clip.stop, clip.first, clip.first + length)
        if work.has(clip.index):
            images = work.load_chunk(spec)
        else:
            images = restore_frames(model, clip, frames, job, device)
            work.save_chunk(spec, images)
        kept = frames[clip.start - clip.first:clip.stop - clip.first]
        written = 0
        for frame, image in zip(kept, images):
            if segment.start <= frame.index < end:
                writer.write(image, pts=frame.pts)
                written += 1
        done += written
        if progress is not None and written:
            progress(written)
    return done


def mgldvsr_frames_fn(job: MGLDVSRJob, device: torch.device) -> Callable[[np.ndarray], np.ndarray]:
    """``(T, H, W, 3)`` uint8 -> ``(T, 4H, 4W, 3)`` uint8 with the official model (for benchmarks); clips of 5
    overlapping by ``job.overlap``."""
    model = build_mgldvsr(job, device)

    def run(frames: np.ndarray) -> np.ndarray:
        lqs = _to_tensor(list(frames), device)
        with _autocast(device, job.precision):
            out = model.restore_sequence(lqs, seed=job.seed, overlap=job.overlap)[0]
        return _to_images(out, np.dtype(np.uint8))

    return run
