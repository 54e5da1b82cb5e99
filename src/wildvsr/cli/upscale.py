"""``wildvsr upscale INPUT [INPUT ...] OUTPUT``: the main job (a thin layer over :func:`wildvsr.inference.upscale_video`,
and over :func:`wildvsr.inference.batch.upscale_many` for many inputs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

try:  # typer >= 0.20 vendors click as typer._click (see wildvsr.cli.app)
    from typer._click.exceptions import MissingParameter
except ImportError:
    from click.exceptions import MissingParameter

from wildvsr.cli.app import app
from wildvsr.cli.progress import progress
from wildvsr.defaults import DEFAULT_MEMORY_BUDGET_GIB, DEFAULT_OVERLAP, DEFAULT_TEMPORAL, DEFAULT_TILE_OVERLAP
from wildvsr.defaults import DEFAULT_UPSCALE_MODEL


@app.command("upscale")
def upscale(
    ctx: typer.Context,
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="Input video, folder of frames, or one image. Several inputs, a folder of videos or a glob pattern: each "
             "goes into the OUTPUT folder under its own name; finished ones are skipped, interrupted ones resumed, a "
             "bad one is reported in one line and the others go on (exit code: how many failed).")] = None,
    output: Annotated[Path, typer.Argument(
        help="Output video (container from its extension) or folder of PNGs; for many inputs, the folder that gets "
             "one output per input, named as the input.", show_default=False)] = ...,
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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    ext: Annotated[str | None, typer.Option(
        help="Many inputs: container of the video outputs, e.g. mkv (default: each input's own).")] = None,
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
    """Upscale a low-quality video x4 (audio, subtitles and timestamps kept; resumable with --resume), or many."""
    batch_mode = _batch_mode(ctx, inputs, output, ext)
    if _mgldvsr_selected(model, vae_weights=vae_weights, prompt_embedding=prompt_embedding, steps=steps,
                         guidance=guidance, seed=seed, scale=scale, resume=resume, backend=backend, tile=tile,
                         chunk_size=chunk_size, batch=batch, refine_threshold=refine_threshold, temporal=temporal,
                         preset=preset, pix_fmt=pix_fmt, many=batch_mode):
        _upscale_mgldvsr(inputs[0], output, quiet=quiet, weights=weights, vae_weights=vae_weights,
                         prompt_embedding=prompt_embedding, steps=steps, guidance=guidance, seed=seed, device=device,
                         precision=precision, codec=codec, crf=crf, overwrite=overwrite)
        return
    from wildvsr.inference import UpscaleConfig, upscale_video

    config = UpscaleConfig(model=model, weights=weights, device=device, precision=precision, backend=backend,
                           batch=batch, chunk_size=chunk_size, memory_budget_gib=memory_budget, overlap=overlap,
                           tile=tile, tile_overlap=tile_overlap, scale=scale,
                           temporal=temporal, refine_threshold=refine_threshold, codec=codec, crf=crf, preset=preset,
                           pix_fmt=pix_fmt,
                           overwrite=overwrite, resume=resume, quiet=quiet)
    if batch_mode:
        return _upscale_many(inputs, output, config, ext=ext, quiet=quiet)
    with progress("upscaling", quiet=quiet) as advance:  # upscale_video reports the total
        upscale_video(inputs[0], output, config, progress=advance)


def _batch_mode(ctx: typer.Context, inputs: list[Path] | None, output: Path, ext: str | None) -> bool:
    """True for many inputs (:func:`wildvsr.inference.batch.is_batch`); refuses one path alone (it filled OUTPUT: the
    output is missing) and ``--ext`` with a single output."""
    if not inputs:
        raise MissingParameter(ctx=ctx, param=next(p for p in ctx.command.params if p.name == "output"))
    from wildvsr.errors import InputError
    from wildvsr.inference.batch import is_batch

    many = is_batch(inputs)
    if ext is not None and not many:
        raise InputError(f"--ext applies to many inputs (an output folder); the extension of {output} picks the "
                         "container of a single output")
    return many


def _upscale_mgldvsr(src: Path, dst: Path, *, quiet: bool, weights: str | None, vae_weights: str | None,
                     **job_opts) -> None:
    """``--model mgldvsr``: its own clip-by-clip job (issue 29)."""
    from wildvsr.inference.mgldvsr_job import MGLDVSRJob, resolve_mgldvsr_files, upscale_mgldvsr

    resolve_mgldvsr_files(weights, vae_weights)  # missing files: one line, exit 2, before opening the input
    job = MGLDVSRJob(weights=weights, vae_weights=vae_weights, **job_opts)
    with progress("upscaling", src, quiet=quiet) as advance:
        upscale_mgldvsr(src, dst, job, progress=advance)


def _upscale_many(args: list[Path], out_dir: Path, config, *, ext: str | None, quiet: bool) -> None:
    """Each input into ``out_dir`` with its own progress (labelled with its name), then a summary line; exits with the
    number of failed inputs (capped at 100)."""
    from wildvsr.inference.batch import expand_inputs, upscale_many

    result = upscale_many(expand_inputs(args), out_dir, config, ext=ext,
                          progress_for=lambda src: progress(src.name, quiet=quiet))
    typer.echo(result.summary(), err=True)
    raise typer.Exit(result.exit_code)


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
                                 ("--pix-fmt", opts["pix_fmt"] is not None)) if used]
    if is_mgldvsr and not_yet:
        raise InputError(f"--model mgldvsr does not take {', '.join(not_yet)} yet (it runs clips of 5 frames, whole "
                         "frames up to 960 px after upsampling, x4)")
    if is_mgldvsr and opts["many"]:
        raise InputError("--model mgldvsr takes one input at a time yet")
    return is_mgldvsr
