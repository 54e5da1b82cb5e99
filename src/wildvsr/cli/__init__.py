"""Command-line interface: one Typer app; each job's commands live in their own module, imported below."""

from wildvsr.cli.app import app, main

# Explicit list of command modules (each registers its commands on ``app`` at import).
from wildvsr.cli import video as _video  # noqa: E402,F401  info, convert
from wildvsr.cli import models as _models  # noqa: E402,F401  models
from wildvsr.cli import train as _train  # noqa: E402,F401  train, export
from wildvsr.cli import upscale as _upscale  # noqa: E402,F401  upscale
from wildvsr.cli import metrics as _metrics  # noqa: E402,F401  metrics
from wildvsr.cli import degrade as _degrade  # noqa: E402,F401  degrade
from wildvsr.cli import noise as _noise  # noqa: E402,F401  extract-noise, negmix-gallery
from wildvsr.cli import evaluate as _evaluate  # noqa: E402,F401  evaluate, benchmark
from wildvsr.cli import webapp as _webapp  # noqa: E402,F401  app

__all__ = ["app", "main"]
