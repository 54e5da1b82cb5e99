"""``wildvsr degrade INPUT OUTPUT --preset realbasicvsr``: a realistic low-quality x1/4 version of a clean video."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wildvsr.cli.app import app
from wildvsr.cli.progress import QuietOption, progress


@app.command("degrade")
def degrade(
    input: Annotated[Path, typer.Argument(help="Clean input video, folder of frames, or one image.",
                                          show_default=False)],
    output: Annotated[Path, typer.Argument(help="Degraded output video (container from its extension) or folder "
                                                "of PNGs (bit-exact).", show_default=False)],
    preset: Annotated[str, typer.Option(help="bicubic, realesrgan, realbasicvsr, vcisr, or a YAML file (copy a "
                                             "preset from wildvsr/degrade/presets and edit it).")] = "realbasicvsr",
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same output bytes.")] = 0,
    scale: Annotated[int, typer.Option(help="Downscaling factor (output = input / scale).")] = 4,
    params_out: Annotated[Path | None, typer.Option(help="Where to write the per-frame parameters JSON "
                                                         "(default: <output stem>.params.json).")] = None,
    gallery: Annotated[Path | None, typer.Option(help="Also write a PNG grid of one crop after every step.")] = None,
    chunk_size: Annotated[int, typer.Option(help="Frames per chunk (memory bound; each chunk is one clip for the "
                                                 "codec steps).")] = 50,
    device: Annotated[str, typer.Option(help="Device for the tensor steps: auto, cpu, cuda or cuda:N.")] = "auto",
    max_frames: Annotated[int | None, typer.Option(help="Degrade only the first N frames.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Degrade a clean video with blur, resizing, noise, JPEG and real video codecs (parameters saved as JSON)."""
    from wildvsr.degrade.video import DegradeConfig, degrade_video

    config = DegradeConfig(preset=preset, seed=seed, scale=scale, chunk_size=chunk_size, overwrite=overwrite,
                           device=device, max_frames=max_frames)
    with progress("degrading", output=output, quiet=quiet) as advance:  # degrade_video reports the total
        degrade_video(input, output, config, params_out=params_out, gallery=gallery, progress=advance)
