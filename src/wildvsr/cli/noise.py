"""``wildvsr extract-noise`` (NegVSR noise bank) and ``wildvsr negmix-gallery`` (the Fig. 3 grid)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wildvsr.cli.app import app
from wildvsr.cli.progress import QuietOption, progress


@app.command("extract-noise")
def extract_noise_command(
    videos: Annotated[list[Path], typer.Argument(help="Noisy videos, frame folders or images to scan.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Noise-bank folder to create.")],
    window: Annotated[int, typer.Option(help="Window side in pixels (LR training size).")] = 64,
    length: Annotated[int, typer.Option(help="Frames per noise sequence (clips of this many frames).")] = 30,
    zero_mean: Annotated[bool, typer.Option("--zero-mean", help="Bank samples are made zero-mean per frame "
                                            "(use NegMix mode='additive'); pixels are stored raw either way.")] = False,
    grid: Annotated[str, typer.Option(help="'paper': every window that fits; 'official': also drop the last "
                                      "window touching the border, as the released code does.")] = "paper",
    max_var: Annotated[float, typer.Option(help="sigma: per-frame grayscale variance must be below this.")] = 50.0,
    min_mean: Annotated[float, typer.Option(help="mu: per-frame grayscale mean must be above this.")] = 0.0,
    max_var_of_var: Annotated[float, typer.Option(help="Max variance over time of the per-frame variance.")] = 50.0,
    max_var_of_mean: Annotated[float, typer.Option(help="Max variance over time of the per-frame mean.")] = 50.0,
    shard_size: Annotated[int, typer.Option(help="Sequences per safetensors shard.")] = 256,
    gallery: Annotated[Path | None, typer.Option(help="Also write a PNG of a few kept sequences here.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing bank / gallery.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Extract NegVSR noise sequences (low-texture, temporally steady windows) from noisy videos into a bank."""
    from wildvsr.negvsr import REJECT_REASONS, ExtractionConfig, build_noise_bank
    from wildvsr.negvsr.gallery import noise_gallery
    from wildvsr.utils.files import check_output_path

    config = ExtractionConfig(window=window, length=length, max_var=max_var, min_mean=min_mean,
                              max_var_of_var=max_var_of_var, max_var_of_mean=max_var_of_mean, grid=grid,
                              zero_mean=zero_mean)
    if gallery is not None:
        check_output_path(gallery, overwrite=overwrite, inputs=videos)
    with progress("extracting noise", output=out, quiet=quiet) as advance:  # total unknown: frames of many inputs
        summary = build_noise_bank(videos, out, config, overwrite=overwrite, shard_size=shard_size, progress=advance)
    typer.echo(f"inputs: {summary.videos}, clips of {length} frames: {summary.clips}"
               + (f" ({summary.frames_dropped} tail frames dropped)" if summary.frames_dropped else ""))
    typer.echo(f"windows scanned: {summary.scanned} ({window}x{window}, grid {grid}), kept: {summary.kept}")
    typer.echo("rejected: " + ", ".join(f"{r} {summary.rejected[r]}" for r in REJECT_REASONS))
    typer.echo(f"bank: {out}")
    if gallery is not None:
        noise_gallery(out, gallery, overwrite=overwrite)
        typer.echo(f"gallery: {gallery}")


@app.command("negmix-gallery")
def negmix_gallery_command(
    source: Annotated[Path, typer.Argument(help="Video, frame folder or image to take a centred crop from.")],
    bank: Annotated[Path, typer.Option(help="Noise bank folder (from wildvsr extract-noise).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG to write.")],
    rule: Annotated[str, typer.Option(help="Rotation angle rule: 'paper' or 'official'.")] = "paper",
    size: Annotated[int, typer.Option(help="LQ crop side in pixels.")] = 64,
    patch_size: Annotated[int, typer.Option(help="Rotation patch side in pixels.")] = 4,
    frame: Annotated[int, typer.Option(help="Frame of the clip to show.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed for the noise draw and the rotations.")] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing PNG.")] = False,
) -> None:
    """Write the NegVSR Fig. 3 grid: noise weight M (rows) against rotation probability P (columns)."""
    from wildvsr.negvsr.gallery import negmix_gallery

    negmix_gallery(source, bank, out, size=size, patch_size=patch_size, frame=frame, rule=rule, seed=seed,
                   overwrite=overwrite)
    typer.echo(f"gallery: {out}")
