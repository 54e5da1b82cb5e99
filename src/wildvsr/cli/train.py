"""``wildvsr train`` and ``wildvsr export``: thin wrappers over :func:`wildvsr.train.train` and
:func:`wildvsr.train.export_checkpoint`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from wildvsr.cli.app import app


@app.command("train")
def train_command(
    config: Annotated[Path, typer.Argument(help="YAML recipe, e.g. configs/realbasicvsr_stage1.yaml.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o",
                                                   help="Run folder (default: runs/<recipe name>).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the newest checkpoint in the run folder.")]
    = False,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="Override train.max_steps.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config value: key.sub=value "
                                                                    "(repeatable), e.g. --set optim.lr=5e-5.")] = None,
) -> None:
    """Train a RealBasicVSR / NegVSR recipe (one GPU, CPU, or many processes under torchrun)."""
    from wildvsr.train import load_config, train

    overrides = list(set_ or [])
    if max_steps is not None:
        overrides.append(f"train.max_steps={max_steps}")
    cfg = load_config(config, overrides)
    out = output or Path("runs") / cfg.name
    root = logging.getLogger()
    if root.level > logging.INFO:  # progress lines are INFO logs; show them unless --debug asked for more
        root.setLevel(logging.INFO)
    summary = train(cfg, out, resume=resume)
    typer.echo(f"trained to step {summary['step']}: {summary['it_s']:.2f} it/s, data wait "
               f"{100 * summary['data_wait']:.0f}%; checkpoint {summary['checkpoint']}")


@app.command("export")
def export_command(
    checkpoint: Annotated[Path, typer.Argument(help="Training checkpoint step_*.pt, or a run folder (newest).")],
    output: Annotated[Path, typer.Argument(help="Output .safetensors file (for upscale --weights).")],
    ema: Annotated[bool, typer.Option("--ema", help="Export the EMA weights.")] = False,
    half: Annotated[bool, typer.Option("--half", help="Store fp16 tensors.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")] = False,
) -> None:
    """Export a trained generator as safetensors that `wildvsr upscale --weights` loads."""
    from wildvsr.train import export_checkpoint

    path = export_checkpoint(checkpoint, output, ema=ema, half=half, overwrite=overwrite)
    typer.echo(str(path))
