"""Methods a benchmark runs: ``bicubic`` (torch bicubic x4), the registered upscaling models, and ``mgldvsr`` (the
authors' two files from ``$WILDVSR_CACHE/mgldvsr``).

A method maps a clip ``(T, H, W, 3)`` uint8 RGB to ``(T, 4H, 4W, 3)`` uint8 RGB and records its own timing.
Model names: a registered upscaling model (``basicvsr``, ``rrdbnet``: its default weights), ``name.tag``
(``basicvsr.vimeo90k_bi``, ``rrdbnet.x4plus``), or a weights file path (loaded as the architecture its stored config or
its keys name, see :func:`wildvsr.models.guess_architecture`). A per-frame model runs without a temporal stabilizer
unless the name asks for one after a ``+``: ``rrdbnet.x4plus+fusion`` (a name in
:data:`wildvsr.inference.stabilizer.STABILIZERS`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from wildvsr.errors import UnknownModelError, WeightsMismatchError
from wildvsr.inference import UpscaleConfig, build_upscaler
from wildvsr.inference.stabilizer import STABILIZERS
from wildvsr.models import guess_architecture, parse_weights_spec, upscale_models
from wildvsr.models.factory import read_config, unwrap_checkpoint
from wildvsr.models.weight_files import load_state_dict

__all__ = ["Method", "check_method_names", "create_method", "split_method_name"]

logger = logging.getLogger(__name__)

SCALE = 4


class Method:
    """A named x4 upscaling method with accumulated timing.

    Attributes:
        name: Its name in reports.
        temporal: Uses neighbouring frames (False: frames may be processed alone, so only scored frames are run).
        seconds: Wall time spent in :meth:`__call__`; ``frames``: frames processed.
    """

    def __init__(self, name: str, fn, temporal: bool, description: str) -> None:
        self.name = name
        self._fn = fn
        self.temporal = temporal
        self.description = description
        self.seconds = 0.0
        self.frames = 0

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        out = self._fn(np.ascontiguousarray(frames))
        self.seconds += time.perf_counter() - start
        self.frames += len(frames)
        return out

    def warmup(self, frames: np.ndarray) -> None:
        """Run once without counting time or frames (first-call costs would otherwise bias s/frame)."""
        self._fn(np.ascontiguousarray(frames))

    @property
    def seconds_per_frame(self) -> float | None:
        return self.seconds / self.frames if self.frames else None


def bicubic_x4(frames: np.ndarray) -> np.ndarray:
    """Torch bicubic x4 (``align_corners=False``, a = -0.75), one frame at a time; ``(T,H,W,3)`` uint8 -> uint8."""
    outs = []
    for frame in frames:
        x = torch.from_numpy(frame).permute(2, 0, 1)[None].float()
        y = F.interpolate(x, scale_factor=SCALE, mode="bicubic", align_corners=False)
        outs.append(y.round_().clamp_(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy())
    return np.stack(outs)


def split_method_name(name: str) -> tuple[str, str | None]:
    """``"model[+stabilizer]"`` -> ``(model, stabilizer or None)``."""
    model, plus, stabilizer = name.partition("+")
    return model, (stabilizer if plus else None)


def _weights_file(name: str) -> Path | None:
    """The file a method name points at (an existing weights file), else None."""
    spec = parse_weights_spec(name)
    return spec.path if spec.kind == "path" and spec.path.is_file() else None


def check_method_names(names: list[str]) -> None:
    """Raise :class:`UnknownModelError` (listing the valid names) for a name that is no method, before any work."""
    models = upscale_models()
    for name in names:
        model, stabilizer = split_method_name(name)
        if stabilizer is not None and stabilizer not in STABILIZERS:
            raise UnknownModelError(f"unknown temporal stabilizer {stabilizer!r} in method {name!r}; "
                                    f"known: {', '.join(STABILIZERS)}")
        if (model == "bicubic" and stabilizer is None) or _weights_file(model) is not None \
                or parse_weights_spec(model).model in models or (model == "mgldvsr" and stabilizer is None):
            continue
        raise UnknownModelError(f"unknown method {name!r}; use bicubic, mgldvsr, a model ({', '.join(models)}), "
                                f"name.tag, or a weights file, optionally followed by +STABILIZER")


def file_architecture(path: Path) -> str:
    """The upscaling model a weights file is for: its stored wildvsr config, else a guess from its keys.

    Raises:
        WeightsMismatchError: the file fits no registered upscaling model.
    """
    arch, _ = read_config(path)
    arch = arch or guess_architecture(unwrap_checkpoint(load_state_dict(path)))
    models = upscale_models()
    if arch not in models:
        raise WeightsMismatchError(f"{path} fits none of {', '.join(models)}: "
                                   f"its keys look like {arch or 'no registered model'}")
    return arch


def create_method(name: str, device: str = "cpu") -> Method:
    """Build a method by name (see the module docstring). Model weights load now, not at the first call.

    Raises:
        UnknownModelError, WeightsNotFoundError, WeightsMismatchError, ConfigError (a stabilizer on a video model).
    """
    if name == "bicubic":
        return Method(name, bicubic_x4, False, "torch bicubic x4")

    check_method_names([name])
    if name == "mgldvsr":  # a diffusion model with two files: $WILDVSR_CACHE/mgldvsr (issue 29)
        from wildvsr.inference.mgldvsr_job import MGLDVSRJob, mgldvsr_frames_fn
        from wildvsr.utils.device import resolve_device

        fn = mgldvsr_frames_fn(MGLDVSRJob(device=device), resolve_device(device))
        return Method(name, fn, True, "MGLD-VSR (official weights from $WILDVSR_CACHE/mgldvsr, 50 steps, eta 10)")
    model, stabilizer = split_method_name(name)
    temporal = stabilizer or "off"  # a per-frame model is measured as it is unless a stabilizer is named
    plus, suffix = (f"+{stabilizer}", f" + {stabilizer} stabilizer") if stabilizer else ("", "")
    path = _weights_file(model)
    if path is not None:
        arch = file_architecture(path)
        upscaler = build_upscaler(UpscaleConfig(model=arch, weights=model, device=device, temporal=temporal))
        label, description = path.stem + plus, f"{arch} weights {model}{suffix}"
    else:
        upscaler = build_upscaler(UpscaleConfig(model=model, device=device, temporal=temporal))
        label, description = model + plus, f"model {model}{suffix}"
    # A per-frame model without a stabilizer may run on the scored frames alone; anything else needs the clip.
    return Method(label, upscaler.upscale_frames, upscaler.temporal or stabilizer is not None, description)
