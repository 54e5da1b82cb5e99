"""``wildvsr upscale --model mgldvsr``: MGLD-VSR over a video or frame folder, clip by clip, streamed.

A separate, small job (not yet a plan of the generic runner, which chunks and tiles recurrent and per-frame models):
frames are read in clips of the model's ``num_frames`` (5, the official clips; the last one repeats its final frame),
each clip is restored by :meth:`~wildvsr.models.mgldvsr.MGLDVSR.restore_clip` (latent tiles inside), and written
in order with its timestamps. Noise is drawn per (seed, frame index), so a run is reproducible.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from wildvsr.errors import InputError, WeightsNotFoundError
from wildvsr.models import create_model
from wildvsr.models.mgldvsr import OFFICIAL_SOURCE, MGLDVSR, load_official
from wildvsr.models.mgldvsr.guidance import frame_generators
from wildvsr.utils.device import resolve_device
from wildvsr.video.reader import VideoReader
from wildvsr.video.writer import VideoWriter
from wildvsr.models.weight_files import cache_dir

logger = logging.getLogger(__name__)

__all__ = ["MGLDVSRJob", "default_weights_dir", "resolve_mgldvsr_files", "build_mgldvsr", "upscale_mgldvsr",
           "mgldvsr_frames_fn"]

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
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU; fp32, bf16, fp16
    codec: str = "libx264"
    crf: int | None = None
    overwrite: bool = False
    size: str = "official"  # "tiny": a test-sized model (files made for it), never the authors' files


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


def build_mgldvsr(job: MGLDVSRJob, device: torch.device) -> MGLDVSR:
    """The official-size model filled from the two files, SPyNet (official BasicVSR weights) for the flows."""
    unet, vae = resolve_mgldvsr_files(job.weights, job.vae_weights)
    with torch.device("meta"):
        model = MGLDVSR(size=job.size, steps=job.steps, eta=job.guidance)
    model = model.to_empty(device="cpu")
    spynet = create_model("spynet", weights="default").state_dict()
    load_official(model, unet, vae, spynet_state=spynet, prompt_embedding=job.prompt_embedding)
    return model.to(device).eval()


def _autocast(device: torch.device, precision: str):
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise InputError(f"precision must be auto, fp32, bf16 or fp16, got {precision!r}")
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return torch.autocast(device.type, enabled=False)
    if precision == "fp16" and device.type != "cuda":
        raise InputError("fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
    return torch.autocast(device.type, dtype=torch.float16 if precision == "fp16" else torch.bfloat16)


def _to_tensor(images: list[np.ndarray], device: torch.device) -> torch.Tensor:
    arr = np.stack(images).astype(np.float32) / 255.0  # (T, H, W, 3)
    return torch.from_numpy(arr).permute(0, 3, 1, 2).unsqueeze(0).to(device)  # (1, T, 3, H, W)


def upscale_mgldvsr(src: str | Path, dst: str | Path, job: MGLDVSRJob,
                    progress: Callable[[int], None] | None = None,
                    model: MGLDVSR | None = None) -> None:
    """Upscale ``src`` x4 into ``dst`` with MGLD-VSR (``model`` given: used as is, e.g. a tiny one in tests).

    ``progress(n)`` is called with the number of frames each written clip adds.
    """
    if model is None:
        resolve_mgldvsr_files(job.weights, job.vae_weights)  # fail on missing files before reading any video
    device = resolve_device(job.device)
    model = model if model is not None else build_mgldvsr(job, device)
    clip = model.cfg.sampling.num_frames
    with VideoReader(src) as reader, VideoWriter(dst, like=reader.info, codec=job.codec, crf=job.crf,
                                                 overwrite=job.overwrite) as writer:
        done = 0
        buffer: list = []
        frames = iter(reader)
        while True:
            frame = next(frames, None)
            if frame is not None:
                buffer.append(frame)
            if buffer and (len(buffer) == clip or frame is None):
                first = buffer[0].index
                lqs = _to_tensor([f.image for f in buffer], device)
                idx = [min(i, len(buffer) - 1) for i in range(clip)]  # repeat the final frame of a short clip
                gens = frame_generators(job.seed, [first + i for i in idx], device=device)
                with _autocast(device, job.precision):
                    out = model.restore_clip(lqs[:, idx], gens)[0, :len(buffer)].float()
                for f, img in zip(buffer, out):
                    writer.write((img.permute(1, 2, 0).clamp(0, 1) * 255).round().byte().cpu().numpy(), f.pts)
                done += len(buffer)
                if progress is not None:
                    progress(len(buffer))
                buffer = []
            if frame is None:
                break
    logger.info("mgldvsr: %d frames -> %s", done, dst)


def mgldvsr_frames_fn(job: MGLDVSRJob, device: torch.device) -> Callable[[np.ndarray], np.ndarray]:
    """``(T, H, W, 3)`` uint8 -> ``(T, 4H, 4W, 3)`` uint8 with the official model (for benchmarks); clips of 5."""
    model = build_mgldvsr(job, device)

    def run(frames: np.ndarray) -> np.ndarray:
        lqs = _to_tensor(list(frames), device)
        with _autocast(device, job.precision):
            out = model.restore_sequence(lqs, seed=job.seed)[0].float()
        return (out.permute(0, 2, 3, 1).clamp(0, 1) * 255).round().byte().cpu().numpy()

    return run
