"""``wildvsr models``: the registered models, their parameter counts and which weights are available offline."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from wildvsr.cli.app import app


@app.command("models")
def models_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """List models, parameter counts, weights tags, licences, sources and whether each is available offline."""
    from wildvsr.models import list_models, model_info

    infos = [model_info(name) for name in list_models()]
    if as_json:
        typer.echo(json.dumps(infos, indent=2))
        return
    from wildvsr.models.weight_files import cache_dir

    for info in infos:
        typer.echo(f"{info['name']}  {info['num_params']:,} params  {info['description']}")
        if not info["weights"]:
            typer.echo("  (no registered weights: random init)")
        for w in info["weights"]:
            tag = w["tag"] + (" (default)" if w["default"] else "")
            if w["available"]:
                typer.echo(f"  {tag:<22} offline: yes  {w['path']}")
            else:
                need = "need " + " or ".join([w["file"], *w["alt_files"]])
                if w["url"]:
                    need += f" in {cache_dir()}; get it from {w['url']}"
                elif w["notes"]:
                    need += f" ({w['notes']})"
                typer.echo(f"  {tag:<22} offline: no   {need}")
            about = [f"{w['num_params']:,} params"] if w["num_params"] else []
            about += [f"licence: {w['license']}"] if w["license"] else []
            about += [f"source: {w['source']}"] if w["source"] else []
            if about:
                typer.echo(f"  {'':<22} {'; '.join(about)}")
