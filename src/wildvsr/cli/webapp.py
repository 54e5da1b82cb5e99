"""``wildvsr app``: the web page (a thin layer over :func:`wildvsr.app.serve`; needs the ``.[app]`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wildvsr.cli.app import app
from wildvsr.errors import ConfigError


@app.command("app")
def app_command(
    host: Annotated[str, typer.Option(help="Address to bind (127.0.0.1: this machine only; there is no public "
                                           "share link).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 7860,
    max_upload_mb: Annotated[int, typer.Option(help="Largest accepted upload, MiB.")] = 500,
    max_frames: Annotated[int, typer.Option(help="Longest accepted input, frames.")] = 3000,
    max_seconds: Annotated[float, typer.Option(help="Longest accepted video, seconds.")] = 600.0,
    device: Annotated[str, typer.Option(help="Device of the upscale job: auto, cpu, cuda or cuda:N.")] = "auto",
    weights: Annotated[list[Path] | None, typer.Option(
        help="Also offer this weights file in the model list (repeatable; a server-side path).")] = None,
) -> None:
    """Start the web app: upscale, degrade and evaluate in the browser (Ctrl+C stops it)."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise ConfigError('the web app needs the app extra: pip install -e ".[app]"') from None
    from wildvsr.app import AppSettings, serve

    serve(AppSettings(host=host, port=port, max_upload_mb=max_upload_mb, max_frames=max_frames,
                      max_seconds=max_seconds, device=device, weights=tuple(weights or ())))
