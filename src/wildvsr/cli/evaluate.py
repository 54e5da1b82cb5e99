"""``wildvsr evaluate`` (score existing results) and ``wildvsr benchmark`` (run methods, then score them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from wildvsr.cli.app import app
from wildvsr.cli.progress import QuietOption, progress

_PROTOCOL_HELP = "frames (every frame), videolq (first/middle/last), flir (quarters, 25 frames), synthetic (degrade)."
_METHODS_HELP = ("Comma-separated: bicubic, a model (basicvsr, rrdbnet, ...), name.tag, or a weights file; a per-frame "
                 "model may add +STABILIZER (rrdbnet.x4plus+fusion).")


def _summary(results: dict, out: Path) -> None:
    for method, res in results["methods"].items():
        means = ", ".join(f"{k} {v:.4f}" for k, v in res["mean"].items())
        spf = res.get("seconds_per_frame")
        typer.echo(f"{method}: {means}" + (f", {spf:.4f} s/frame" if spf is not None else ""))
    typer.echo(f"report: {out}/results.md, {out}/compare.html")


@app.command("evaluate")
def evaluate_command(
    outputs: Annotated[Path, typer.Argument(help="Results to score: a video, a frame folder, or a folder of them.")],
    reference: Annotated[Optional[Path], typer.Option("--reference", help="Ground truth (same layout).")] = None,
    protocol: Annotated[str, typer.Option("--protocol", help=_PROTOCOL_HELP)] = "frames",
    metrics: Annotated[Optional[str], typer.Option("--metrics", help="Comma-separated, e.g. niqe,brisque.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("evaluation"),
    device: Annotated[str, typer.Option("--device", help="Device for the warping-error flow: auto, cpu, cuda or cuda:N.")] = "auto",
    name: Annotated[Optional[str], typer.Option("--name", help="Method label (default: OUTPUTS' name).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing report folder.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Score existing results under a protocol; write results.json/.csv/.md, plots and compare.html."""
    from wildvsr.evaluate import evaluate

    with progress("evaluating", output=out, unit="sequences", quiet=quiet) as advance:  # evaluate reports the total
        results = evaluate(outputs, reference, protocol, metrics, out, overwrite=overwrite, device=device, name=name,
                           progress=advance)
    _summary(results, out)


@app.command("benchmark")
def benchmark_command(
    dataset: Annotated[Path, typer.Option("--dataset", help="A sequence or a folder of sequences.")],
    methods: Annotated[str, typer.Option("--methods", help=_METHODS_HELP)],
    protocol: Annotated[str, typer.Option("--protocol", help=_PROTOCOL_HELP)] = "frames",
    preset: Annotated[str, typer.Option("--preset", help="Degradation preset (synthetic protocol).")] = "realbasicvsr",
    seed: Annotated[int, typer.Option("--seed", help="Degradation seed (synthetic protocol).")] = 0,
    out: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("benchmark"),
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    max_frames: Annotated[Optional[int], typer.Option("--max-frames", min=1, help="First N frames only.")] = None,
    crop: Annotated[Optional[int], typer.Option("--crop", min=8, help="Central NxN input crop (speed).")] = None,
    metrics: Annotated[Optional[str], typer.Option("--metrics", help="Comma-separated metric names.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing report folder.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Run methods on a dataset under a protocol and score them (timings in s/frame on DEVICE; progress counts runs:
    one method on one sequence)."""
    from wildvsr.evaluate import BenchmarkConfig, benchmark

    config = BenchmarkConfig(methods=methods, protocol=protocol, preset=preset, seed=seed, device=device,
                             max_frames=max_frames, crop=crop, metrics=metrics, overwrite=overwrite)
    with progress("benchmarking", output=out, unit="runs", quiet=quiet) as advance:  # benchmark reports the total
        results = benchmark(dataset, config, out, progress=advance)
    _summary(results.to_dict(), out)
