"""wildvsr: real-world video super-resolution (x4) — upscale, degrade, train, evaluate.

Conventions, stated once for the whole package:

* Model tensors are float ``(B, T, C, H, W)``, RGB, range [0, 1].
* Frames at I/O boundaries are ``uint8`` (or ``uint16`` for >8-bit sources) ``(H, W, 3)`` numpy arrays, RGB.
* Models upscale x4; other output scales are a resize done by the runner.
* Every random function takes an explicit ``torch.Generator`` or ``numpy.random.Generator``.
* Errors a user can fix are :class:`wildvsr.errors.VSRError` subclasses; the CLI prints them as one line, exit code 2.

The main API is importable from here and loaded on first use (PEP 562), so ``import wildvsr`` and ``wildvsr --help``
stay torch-free::

    import wildvsr
    wildvsr.upscale_video("in.mp4", "out.mp4", wildvsr.UpscaleConfig(model="rrdbnet.x4plus"))

Product defaults (the default model, chunk and tile sizes) have one home, :mod:`wildvsr.defaults`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "upscale_video": "wildvsr.inference", "UpscaleConfig": "wildvsr.inference",
    "create_model": "wildvsr.models", "list_models": "wildvsr.models",
    "degrade_video": "wildvsr.degrade", "DegradeConfig": "wildvsr.degrade",
    "evaluate": "wildvsr.evaluate", "benchmark": "wildvsr.evaluate", "BenchmarkConfig": "wildvsr.evaluate",
}
"""Public name -> the module that defines it (imported on first access)."""

__all__ = ["__version__", "upscale_video", "UpscaleConfig", "create_model", "list_models", "degrade_video",
           "DegradeConfig", "evaluate", "benchmark", "BenchmarkConfig"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wildvsr' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from wildvsr.degrade import DegradeConfig, degrade_video
    from wildvsr.evaluate import BenchmarkConfig, benchmark, evaluate
    from wildvsr.inference import UpscaleConfig, upscale_video
    from wildvsr.models import create_model, list_models
