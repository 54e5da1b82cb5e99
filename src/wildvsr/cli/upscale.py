"""``wildvsr upscale INPUT [INPUT ...] OUTPUT``: the main job (a thin layer over :func:`wildvsr.inference.upscale_video`,
and over :func:`wildvsr.inference.batch.upscale_many` for many inputs)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

try:  # typer >= 0.20 vendors click as typer._click (see wildvsr.cli.app)
    from typer._click.exceptions import MissingParameter
except ImportError:
    from click.exceptions import MissingParameter

from wildvsr.cli.app import app
from wildvsr.cli.cost_hint import cost_hint_for
from wildvsr.cli.progress import QuietOption, progress
from wildvsr.defaults import DEFAULT_MEMORY_BUDGET_GIB, DEFAULT_OVERLAP, DEFAULT_TEMPORAL, DEFAULT_TILE_OVERLAP
from wildvsr.defaults import DEFAULT_UPSCALE_MODEL


# Arguments and options with long help, declared here to keep the command readable.
InputsArgument = Annotated[list[Path] | None, typer.Argument(
    help="Input video, folder of frames, or one image. Several inputs, a folder of videos or a glob pattern: each "
         "goes into the OUTPUT folder under its own name; finished ones are skipped, interrupted ones resumed, a "
         "bad one is reported in one line and the others go on (exit code: how many failed).")]

OutputArgument = Annotated[Path, typer.Argument(
    help="Output video (container from its extension) or folder of PNGs; for many inputs, the folder that gets "
         "one output per input, named as the input.", show_default=False)]

VaeWeightsOption = Annotated[str | None, typer.Option(
    help="mgldvsr: the authors' video VAE checkpoint (--weights is their U-Net checkpoint, or a folder with "
         "both; --weights alone may also be one .safetensors in wildvsr's layout, e.g. `wildvsr export` of a "
         "`wildvsr train` run).")]

PromptEmbeddingOption = Annotated[str | None, typer.Option(
    help="mgldvsr: empty-prompt OpenCLIP embedding file, only if the U-Net checkpoint lacks the text tower.")
]

TileOption = Annotated[int | None, typer.Option(
    help="Tiles of N input pixels (less memory); 0 = whole frames; default: auto (320-pixel tiles for a video "
         "model's frames wider or taller than 480: bounded memory, longer chunks).")]

OverlapOption = Annotated[int | None, typer.Option(
    help=f"Context frames on each side of a chunk (default {DEFAULT_OVERLAP}); mgldvsr: frames shared by neighbouring "
         "clips (default 0, the official clips).", show_default=False)]

ChunkSizeOption = Annotated[int | None, typer.Option(
    help="Frames kept per temporal chunk (default: planned from --memory-budget and the frame size).")]

FramesOption = Annotated[str | None, typer.Option(
    help="Restore only frames A:B (A to B-1; A: or :B), frame-accurate, with the source's timestamps and that "
         "span's audio: a preview, or one segment of a long job.", show_default=False)]

StartOption = Annotated[str | None, typer.Option(
    help="Restore from this time (seconds, or [H:]M:S) ...", show_default=False)]

DurationOption = Annotated[str | None, typer.Option(
    help="... for this long (seconds or [H:]M:S; default: to the end).", show_default=False)]

ClusterOption = Annotated[str | None, typer.Option(
    help="Run on a Ray cluster (pip install 'wildvsr\\[cluster]'): 'ray' (the cluster in RAY_ADDRESS, else a "
         "local one) or ray://HOST:PORT. Every input is cut into segments run as Ray tasks (one GPU each when the "
         "cluster has GPUs) and joined without re-encoding; the work folder beside each output must be on storage "
         "every worker reaches.", show_default=False)]

SegmentFramesOption = Annotated[int | None, typer.Option(
    help="--cluster: frames per segment (default: long enough that context frames are at most 5% of it).",
    show_default=False)]

CpusPerTaskOption = Annotated[int | None, typer.Option(
    help="--cluster without GPUs: CPUs per segment (default: a whole node's).", show_default=False)]

ExtOption = Annotated[str | None, typer.Option(
    help="Many inputs: container of the video outputs, e.g. mkv (default: each input's own).")]


@app.command("upscale")
def upscale(
    ctx: typer.Context,
    inputs: InputsArgument = None,
    output: OutputArgument = ...,
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
    chunk_size: ChunkSizeOption = None,
    memory_budget: Annotated[float, typer.Option(
        help="GiB one model call may use; sets the chunk length when --chunk-size is not given.")
    ] = DEFAULT_MEMORY_BUDGET_GIB,
    overlap: OverlapOption = None,
    tile: TileOption = None,
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
    frames: FramesOption = None,
    start: StartOption = None,
    duration: DurationOption = None,
    quiet: QuietOption = False,
    cluster: ClusterOption = None,
    segment_frames: SegmentFramesOption = None,
    cpus_per_task: CpusPerTaskOption = None,
    ext: ExtOption = None,
    vae_weights: VaeWeightsOption = None,
    prompt_embedding: PromptEmbeddingOption = None,
    steps: Annotated[int, typer.Option(help="mgldvsr: DDPM sampling steps.")] = 50,
    guidance: Annotated[float, typer.Option(help="mgldvsr: motion guidance strength eta (0 = off).")] = 10.0,
    seed: Annotated[int, typer.Option(help="mgldvsr: seed of the per-frame noise.")] = 0,
) -> None:
    """Upscale a low-quality video x4 (audio, subtitles and timestamps kept; resumable with --resume), or many."""
    batch_mode = _batch_mode(ctx, inputs, output, ext)
    if _mgldvsr_selected(model, vae_weights=vae_weights, prompt_embedding=prompt_embedding, steps=steps,
                         guidance=guidance, seed=seed, scale=scale, backend=backend, tile=tile,
                         chunk_size=chunk_size, batch=batch, refine_threshold=refine_threshold, temporal=temporal,
                         cluster=cluster is not None):
        return _upscale_mgldvsr(inputs, output, dict(
            weights=weights, vae_weights=vae_weights, prompt_embedding=prompt_embedding, steps=steps, guidance=guidance,
            seed=seed, overlap=overlap or 0, device=device, precision=precision, codec=codec, crf=crf, preset=preset,
            pix_fmt=pix_fmt, overwrite=overwrite, resume=resume), many=batch_mode, ext=ext, quiet=quiet,
            segment=_segment(inputs[0], frames, start, duration, many=batch_mode))
    overlap = DEFAULT_OVERLAP if overlap is None else overlap
    from wildvsr.inference import UpscaleConfig, upscale_video
    segment = _segment(inputs[0], frames, start, duration, many=batch_mode or cluster is not None)
    config = UpscaleConfig(model=model, weights=weights, device=device, precision=precision, backend=backend,
                           batch=batch, chunk_size=chunk_size, memory_budget_gib=memory_budget, overlap=overlap,
                           tile=tile, tile_overlap=tile_overlap, scale=scale, temporal=temporal,
                           refine_threshold=refine_threshold, codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt,
                           overwrite=overwrite, resume=resume)
    if cluster is not None:
        return _upscale_on_cluster(inputs, output, config, batch_mode, ext, cluster, segment_frames, cpus_per_task,
                                   quiet=quiet)
    if batch_mode:
        return _upscale_many(inputs, output, config, ext=ext, quiet=quiet)
    with progress("upscaling", output=output, quiet=quiet) as advance:  # upscale_video reports the total
        upscale_video(inputs[0], output, config, progress=cost_hint_for(advance, model, device), segment=segment)


def _segment(source: Path, frames: str | None, start: str | None, duration: str | None, *, many: bool):
    """The segment ``--frames`` or ``--start``/``--duration`` ask for (None: the whole input); ``many``: several
    inputs or a cluster run, which restore whole inputs."""
    from wildvsr.errors import InputError
    from wildvsr.inference.segments import Segment, parse_frames, parse_seconds

    if frames is None and start is None and duration is None:
        return None
    if many:
        raise InputError("--frames/--start/--duration restore part of one input, on this machine (not with many "
                         "inputs or --cluster)")
    if frames is not None:
        if start is not None or duration is not None:
            raise InputError("give --frames A:B or --start/--duration, not both")
        return parse_frames(frames)
    begin = parse_seconds(start, "--start") if start is not None else 0.0
    length = parse_seconds(duration, "--duration") if duration is not None else None
    from wildvsr.video import read_info

    info = read_info(source)  # a missing or broken input is reported here in one line
    if info.fps is None:
        raise InputError(f"{source} has no frame rate (a folder of images); give --frames A:B instead of times")
    return Segment.from_seconds(begin, length, float(info.fps))


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


def _upscale_mgldvsr(inputs: list[Path], output: Path, job_opts: dict, *, many: bool, ext: str | None, segment,
                     quiet: bool) -> None:
    """``--model mgldvsr``: its own clip-by-clip job (resumable, segments), one input or many (the model built once,
    the batch rules of the other models)."""
    from wildvsr.inference.batch import expand_inputs, run_many
    from wildvsr.inference.mgldvsr_job import MGLDVSRJob, build_mgldvsr, check_mgldvsr_weights, upscale_mgldvsr
    from wildvsr.utils.device import resolve_device

    job = MGLDVSRJob(**job_opts)
    check_mgldvsr_weights(job)  # missing files: one line, exit 2, first
    if not many:
        with progress("upscaling", inputs[0], output=output, quiet=quiet) as advance:
            upscale_mgldvsr(inputs[0], output, job, progress=advance, segment=segment)
        return
    built = []

    def run_one(src: Path, dst: Path, resume: bool, advance) -> None:
        upscale_mgldvsr(src, dst, dataclasses.replace(job, resume=resume), progress=advance, model=built[0])

    result = run_many(expand_inputs(inputs), output, run_one, overwrite=job.overwrite, ext=ext,
                      prepare=lambda: built.append(build_mgldvsr(job, resolve_device(job.device))),
                      progress_for=lambda src, dst: progress(f"upscaling {src.name}", output=dst, quiet=quiet))
    typer.echo(result.summary(), err=True)
    raise typer.Exit(result.exit_code)


def _upscale_many(args: list[Path], out_dir: Path, config, *, ext: str | None, quiet: bool) -> None:
    """Each input into ``out_dir`` with its own progress and closing line (labelled with its name), then a summary
    line; exits with the number of failed inputs (capped at 100). The ``skipped``/``FAILED`` lines and the summary
    are the batch's result, printed with ``--quiet`` too."""
    from wildvsr.inference.batch import expand_inputs, upscale_many

    result = upscale_many(expand_inputs(args), out_dir, config, ext=ext,
                          progress_for=lambda src, dst: progress(f"upscaling {src.name}", output=dst, quiet=quiet))
    typer.echo(result.summary(), err=True)
    raise typer.Exit(result.exit_code)


def _upscale_on_cluster(inputs: list[Path], output: Path, config, many: bool, ext: str | None, cluster: str,
                        segment_frames: int | None, cpus_per_task: int | None, *, quiet: bool) -> None:
    """``--cluster``: one input, or many into an output folder, segment by segment on Ray, with one progress bar for
    all frames; a line per finished segment where stderr is not a terminal (a log), none with ``quiet`` (``FAILED``
    lines always). Many inputs end with a summary line and exit with the number that failed; a single input that
    failed is a one-line error (exit 2)."""
    import sys

    from wildvsr.cluster.ray_engine import upscale_on_cluster
    from wildvsr.errors import InputError

    if segment_frames is not None and segment_frames < 1 or cpus_per_task is not None and cpus_per_task < 1:
        raise InputError("--segment-frames and --cpus-per-task must be >= 1")
    if many:
        from wildvsr.inference.batch import batch_outputs, expand_inputs

        pairs = batch_outputs(expand_inputs(inputs), output, ext)
        output.mkdir(exist_ok=True)
    else:
        pairs = [(inputs[0], output)]
    lines = not quiet and not sys.stderr.isatty()

    def log(line: str) -> None:
        if lines or line.startswith("FAILED"):
            typer.echo(line, err=True)

    with progress("upscaling (cluster)", output=output, quiet=quiet) as advance:
        result = upscale_on_cluster(pairs, config, cluster=cluster, segment_frames=segment_frames,
                                    cpus_per_task=cpus_per_task, progress=advance, skip_existing=many, log=log)
        if not many and result.failed:  # raised inside: a failed job gets its error line, not a closing line
            raise InputError(next(iter(result.failed.values())))
    if many:
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
    not_yet = [o for o, used in (("--scale", opts["scale"] != 4),
                                 ("--backend", opts["backend"] != "torch"), ("--tile", opts["tile"] is not None),
                                 ("--chunk-size", opts["chunk_size"] is not None), ("--batch", opts["batch"] != 0),
                                 ("--refine-threshold", opts["refine_threshold"] is not None),
                                 ("--temporal", opts["temporal"] != "auto"), ("--cluster", opts["cluster"]))
               if used]
    if is_mgldvsr and not_yet:
        raise InputError(f"--model mgldvsr does not take {', '.join(not_yet)} (it runs clips of 5 frames, whole "
                         "frames in latent tiles of its own, x4)")
    return is_mgldvsr
