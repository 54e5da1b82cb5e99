"""``wildvsr metrics``: every metric with its direction, colour space, crop, range and offline availability."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer

from wildvsr.cli.app import app


@app.command("metrics")
def metrics_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """List the metrics: name, lower/higher better, colour space, range and whether each is available offline."""
    from wildvsr.metrics import describe_metrics

    infos = describe_metrics()
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(i) | {"needs_reference": i.needs_reference} for i in infos],
                              indent=2))
        return
    for info in infos:
        direction = "lower is better" if info.lower_better else "higher is better"
        typer.echo(f"{info.name:<14} {info.kind:<15} {direction:<17} {info.value_range:<40} "
                   f"{'available' if info.available else 'unavailable: ' + info.availability}")
        typer.echo(f"{'':<14} {info.description}; input: {info.color_space}, crop {info.crop_border}")
