"""``wildvsr upscale INPUT OUTPUT``: the main job (a thin layer over :func:`wildvsr.inference.upscale_video`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wildvsr.cli.app import app
from wildvsr.cli.progress import progress
from wildvsr.defaults import DEFAULT_MEMORY_BUDGET_GIB, DEFAULT_OVERLAP, DEFAULT_TEMPORAL, DEFAULT_TILE_OVERLAP
from wildvsr.defaults import DEFAULT_UPSCALE_MODEL


@app.command("upscale")
def upscale(
    input: Annotated[Path, typer.Argument(help="Input video, folder of frames, or one image.", show_default=False)],
    output: Annotated[Path, typer.Argument(help="Output video (container from its extension) or folder of PNGs.",
                                           show_default=False)],
    model: Annotated[str, typer.Option(help="Model name (see `wildvsr models`).")] = DEFAULT_UPSCALE_MODEL,
    weights: Annotated[str | None, typer.Option(help="Weights tag or file (default: the model's default).")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    precision: Annotated[str, typer.Option(help="auto (bf16 on CUDA and on CPUs with AMX/AVX512-BF16, else fp32), "
                                                "fp32, bf16 or fp16 (CUDA); chunks with NaN/inf are recomputed in "
                                                "fp32.")] = "auto",
    backend: Annotated[str, typer.Option(help="torch (eager), compile (torch.compile, per frame size) or openvino "
                                              "(per-frame models on CPU; pip install 'wildvsr\\[openvino]').")
                       ] = "torch",
    batch: Annotated[int, typer.Option(help="Chunks per model call of a video model; 0 = auto (4 on CUDA, 1 on "
                                            "CPU).")] = 0,
    chunk_size: Annotated[int | None, typer.Option(
        help="Frames kept per temporal chunk (default: planned from --memory-budget and the frame size).")] = None,
    memory_budget: Annotated[float, typer.Option(
        help="GiB one model call may use; sets the chunk length when --chunk-size is not given.")
    ] = DEFAULT_MEMORY_BUDGET_GIB,
    overlap: Annotated[int, typer.Option(help="Context frames on each side of a chunk.")] = DEFAULT_OVERLAP,
    tile: Annotated[int | None, typer.Option(
        help="Tiles of N input pixels (less memory); 0 = whole frames; default: auto (320-pixel tiles for a video "
             "model's frames wider or taller than 480: bounded memory, longer chunks).")] = None,
    tile_overlap: Annotated[int, typer.Option(help="Context pixels around each tile.")] = DEFAULT_TILE_OVERLAP,
    scale: Annotated[int, typer.Option(help="Output scale 4, or 2/3 (resized x4 output).")] = 4,
    temporal: Annotated[str, typer.Option(
        help=f"Temporal stabilizer of per-frame models: auto ({DEFAULT_TEMPORAL} for per-frame models, none for video "
             "models), off, or a setting name (a wrong name lists them).")] = "auto",
    refine_threshold: Annotated[float | None, typer.Option(
        help="RealBasicVSR dynamic refinement threshold, 0-255 scale (paper: 5 GAN, 1.5 non-GAN).")] = None,
    codec: Annotated[str, typer.Option(help="Video codec of the output.")] = "libx264",
    crf: Annotated[int | None, typer.Option(help="Constant rate factor (quality) of the output codec.")] = None,
    preset: Annotated[str | None, typer.Option(help="Encoder preset, e.g. medium.")] = None,
    pix_fmt: Annotated[str | None, typer.Option(
        help="Encoder pixel format, e.g. yuv420p for 8-bit (default: the source's bit depth, yuv420p10le for a "
             "10-bit source).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run.")] = False,
    frames: Annotated[str | None, typer.Option(
        help="Restore only frames A:B (A to B-1; A: or :B), frame-accurate, with the source's timestamps and that "
             "span's audio: a preview, or one segment of a long job.", show_default=False)] = None,
    start: Annotated[str | None, typer.Option(
        help="Restore from this time (seconds, or [H:]M:S) ...", show_default=False)] = None,
    duration: Annotated[str | None, typer.Option(
        help="... for this long (seconds or [H:]M:S; default: to the end).", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    vae_weights: Annotated[str | None, typer.Option(
        help="mgldvsr: the authors' video VAE checkpoint (--weights is their U-Net checkpoint, or a folder with "
             "both).")] = None,
    prompt_embedding: Annotated[str | None, typer.Option(
        help="mgldvsr: empty-prompt OpenCLIP embedding file, only if the U-Net checkpoint lacks the text tower.")
    ] = None,
    steps: Annotated[int, typer.Option(help="mgldvsr: DDPM sampling steps.")] = 50,
    guidance: Annotated[float, typer.Option(help="mgldvsr: motion guidance strength eta (0 = off).")] = 10.0,
    seed: Annotated[int, typer.Option(help="mgldvsr: seed of the per-frame noise.")] = 0,
) -> None:
    """Upscale a low-quality video x4 (audio, subtitles and timestamps kept; resumable with --resume)."""
    if _mgldvsr_selected(model, vae_weights=vae_weights, prompt_embedding=prompt_embedding, steps=steps,
                         guidance=guidance, seed=seed, scale=scale, resume=resume, backend=backend, tile=tile,
                         chunk_size=chunk_size, batch=batch, refine_threshold=refine_threshold, temporal=temporal,
                         preset=preset, pix_fmt=pix_fmt, segment=(frames, start, duration) != (None, None, None)):
        from wildvsr.inference.mgldvsr_job import MGLDVSRJob, resolve_mgldvsr_files, upscale_mgldvsr

        resolve_mgldvsr_files(weights, vae_weights)  # missing files: one line, exit 2, before opening the input
        job = MGLDVSRJob(weights=weights, vae_weights=vae_weights, prompt_embedding=prompt_embedding, steps=steps,
                         guidance=guidance, seed=seed, device=device, precision=precision, codec=codec, crf=crf,
                         overwrite=overwrite)
        with progress("upscaling", input, quiet=quiet) as advance:
            upscale_mgldvsr(input, output, job, progress=advance)
        return
    from wildvsr.inference import UpscaleConfig, upscale_video

    segment = _segment(input, frames, start, duration)

    config = UpscaleConfig(model=model, weights=weights, device=device, precision=precision, backend=backend,
                           batch=batch, chunk_size=chunk_size, memory_budget_gib=memory_budget, overlap=overlap,
                           tile=tile, tile_overlap=tile_overlap, scale=scale,
                           temporal=temporal, refine_threshold=refine_threshold, codec=codec, crf=crf, preset=preset,
                           pix_fmt=pix_fmt,
                           overwrite=overwrite, resume=resume, quiet=quiet)
    with progress("upscaling", quiet=quiet) as advance:  # upscale_video reports the total
        upscale_video(input, output, config, progress=advance, segment=segment)


def _segment(source: Path, frames: str | None, start: str | None, duration: str | None):
    """The segment ``--frames`` or ``--start``/``--duration`` ask for (None: the whole input)."""
    from wildvsr.errors import InputError
    from wildvsr.inference.segments import Segment, parse_frames, parse_seconds

    if frames is not None:
        if start is not None or duration is not None:
            raise InputError("give --frames A:B or --start/--duration, not both")
        return parse_frames(frames)
    if start is None and duration is None:
        return None
    begin = parse_seconds(start, "--start") if start is not None else 0.0
    length = parse_seconds(duration, "--duration") if duration is not None else None
    from wildvsr.video import read_info

    info = read_info(source)  # a missing or broken input is reported here in one line
    if info.fps is None:
        raise InputError(f"{source} has no frame rate (a folder of images); give --frames A:B instead of times")
    return Segment.from_seconds(begin, length, float(info.fps))


def _mgldvsr_selected(model: str, **opts) -> bool:
    """True for ``--model mgldvsr`` (a diffusion model with its own clip-by-clip job, issue 29); refuses, in one line,
    its options given to another model and the generic options its job does not take yet."""
    from wildvsr.errors import InputError

    is_mgldvsr = model.partition(".")[0] == "mgldvsr"
    only_mgldvsr = [o for o, used in (("--vae-weights", opts["vae_weights"] is not None),
                                      ("--steps", opts["steps"] != 50),
                                      ("--prompt-embedding", opts["prompt_embedding"] is not None),
                                      ("--guidance", opts["guidance"] != 10.0), ("--seed", opts["seed"] != 0)) if used]
    if only_mgldvsr and not is_mgldvsr:
        raise InputError(f"{', '.join(only_mgldvsr)}: options of --model mgldvsr only")
    not_yet = [o for o, used in (("--scale", opts["scale"] != 4), ("--resume", opts["resume"]),
                                 ("--backend", opts["backend"] != "torch"), ("--tile", opts["tile"] is not None),
                                 ("--chunk-size", opts["chunk_size"] is not None), ("--batch", opts["batch"] != 0),
                                 ("--refine-threshold", opts["refine_threshold"] is not None),
                                 ("--temporal", opts["temporal"] != "auto"), ("--preset", opts["preset"] is not None),
                                 ("--pix-fmt", opts["pix_fmt"] is not None),
                                 ("--frames/--start/--duration", opts["segment"])) if used]
    if is_mgldvsr and not_yet:
        raise InputError(f"--model mgldvsr does not take {', '.join(not_yet)} yet (it runs clips of 5 frames, whole "
                         "frames up to 960 px after upsampling, x4)")
    return is_mgldvsr
