"""The settings of one ``upscale`` run, validated once.

The default model is named once, in :data:`wildvsr.defaults.DEFAULT_UPSCALE_MODEL` (with its temporal stabilizer
setting, ``DEFAULT_TEMPORAL``), chosen by measurement in ``benchmarks/realworld_default.py``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wildvsr.config import from_dict
from wildvsr.errors import ConfigError
from wildvsr.defaults import (DEFAULT_MEMORY_BUDGET_GIB, DEFAULT_OVERLAP, DEFAULT_TEMPORAL, DEFAULT_TILE_OVERLAP,
                              DEFAULT_UPSCALE_MODEL)
from wildvsr.inference.stabilizer_settings import TEMPORAL_CHOICES
from wildvsr.utils.device import check_device_name

__all__ = ["UpscaleConfig", "check_processing"]

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
BACKENDS = ("torch", "compile", "openvino")
SCALES = (2, 3, 4)
MODEL_SCALE = 4
MIN_TILE = 16
"""Smallest tile core (input pixels) accepted."""


@dataclass(frozen=True)
class UpscaleConfig:
    """Settings of :func:`wildvsr.inference.upscale_video`.

    Attributes:
        model: registry name (``wildvsr models`` lists them).
        weights: a weights tag, a file path, or None for the model's default weights (``reds4`` for ``basicvsr``).
        device: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.
        precision: ``auto`` (bf16 on CUDA devices with bf16 and on CPUs with AMX/AVX512-BF16 units, else fp32),
            ``fp32``, ``bf16`` or ``fp16`` (autocast; fp16 is for CUDA). A chunk whose fp16/bf16 output is not finite
            is recomputed in fp32 with a warning. The resume manifest records the precision ``auto`` resolved to.
        backend: ``torch`` (eager PyTorch), ``compile`` (``torch.compile``, inductor: compiles once per input shape)
            or ``openvino`` (per-frame models on the CPU; optional ``openvino`` package; see README "Speed").
        batch: chunks of one shape stacked into one model call of a video model (B > 1); 0 = auto (4 on CUDA, 1 on
            CPU, where a larger batch only adds memory).
        chunk_size: frames kept from each temporal chunk; None: planned from ``memory_budget_gib`` and the frame size
            for video models, ``DEFAULT_CHUNK_SIZE`` for per-frame models.
        memory_budget_gib: estimated memory one model call may use when ``chunk_size`` is None.
        overlap: context frames added on each side of a chunk (discarded after the model ran).
        tile: spatial tile size in input pixels (core of each tile); 0 processes whole frames; None (auto) tiles a video
            model's frames with a side over ``AUTO_TILE_MIN_SIDE`` in ``AUTO_TILE`` tiles (bounded memory; see
            :mod:`wildvsr.defaults`) and keeps smaller frames whole.
        tile_overlap: input pixels of context added on each side of a tile; outputs are feather-blended there.
        scale: output scale. The models are x4; 2 and 3 resize the x4 output with antialiased bicubic filtering.
        temporal: temporal stabilizer for per-frame models: ``auto`` (``DEFAULT_TEMPORAL`` for per-frame models,
            none for temporal models, which need none), ``off``, or a name in ``STABILIZERS``.
        refine_threshold: RealBasicVSR dynamic-refinement threshold on a 0-255 scale (None: the model's default).
        codec: video codec of the output (ignored for PNG-folder output).
        crf: constant rate factor for the codec, or None for the writer's default.
        pix_fmt: encoder pixel format of a video output, or None for the codec's format at the source's bit depth
            (``yuv420p`` for 8-bit, ``yuv420p10le`` for 10-bit; :mod:`wildvsr.video.depth`). A format the codec
            cannot encode is refused before any frame.
        preset: encoder preset (e.g. ``medium``), or None.
        overwrite: replace an existing output.
        resume: continue an interrupted run from its work directory.

    How progress is shown is the caller's concern, not a setting of the job: pass ``progress`` to
    :func:`~wildvsr.inference.upscale_video` (the CLI's ``--quiet`` passes none).
    """

    model: str = DEFAULT_UPSCALE_MODEL
    weights: str | None = None
    device: str = "auto"
    precision: str = "auto"
    backend: str = "torch"
    batch: int = 0
    chunk_size: int | None = None
    memory_budget_gib: float = DEFAULT_MEMORY_BUDGET_GIB
    overlap: int = DEFAULT_OVERLAP
    tile: int | None = None
    tile_overlap: int = DEFAULT_TILE_OVERLAP
    scale: int = MODEL_SCALE
    temporal: str = "auto"
    refine_threshold: float | None = None
    codec: str = "libx264"
    crf: int | None = None
    pix_fmt: str | None = None
    preset: str | None = None
    overwrite: bool = False
    resume: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise ConfigError("model must be a non-empty name; run `wildvsr models` to list them")
        object.__setattr__(self, "device", check_device_name(self.device))
        check_processing(precision=self.precision, backend=self.backend, batch=self.batch,
                         chunk_size=self.chunk_size, memory_budget_gib=self.memory_budget_gib, overlap=self.overlap,
                         tile=self.tile, tile_overlap=self.tile_overlap, scale=self.scale)
        if self.refine_threshold is not None and not 0 <= float(self.refine_threshold) <= 255:
            raise ConfigError(f"refine_threshold must be in [0, 255] (0-255 pixel scale), got {self.refine_threshold}")
        if self.temporal not in TEMPORAL_CHOICES:
            raise ConfigError(f"temporal must be one of {', '.join(TEMPORAL_CHOICES)}, got {self.temporal!r}")
        if self.crf is not None:
            _check_int("crf", self.crf, 0)
        if not isinstance(self.codec, str) or not self.codec:
            raise ConfigError("codec must be a non-empty encoder name, e.g. libx264")
        if self.pix_fmt is not None and (not isinstance(self.pix_fmt, str) or not self.pix_fmt):
            raise ConfigError("pix_fmt must be a pixel format name, e.g. yuv420p, or None for the source's depth")
        if self.weights is not None:
            object.__setattr__(self, "weights", os.fspath(self.weights))

    def pixel_settings(self) -> dict[str, Any]:
        """The settings that change output pixels (recorded in the resume manifest; the runner replaces ``auto``
        precision and a planned chunk length by what they resolved to). The backend is not among them: its outputs
        equal eager PyTorch's up to float rounding."""
        weights: Any = self.weights if self.weights is not None else "default"
        if Path(weights).is_file():
            st = Path(weights).stat()
            weights = {"path": str(Path(weights).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        return {"model": self.model, "weights": weights, "precision": self.precision, "chunk_size": self.chunk_size,
                "overlap": self.overlap, "tile": self.tile, "tile_overlap": self.tile_overlap if self.tile else None,
                "scale": self.scale, "refine_threshold": self.refine_threshold,
                "temporal": DEFAULT_TEMPORAL if self.temporal == "auto" else self.temporal}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UpscaleConfig:
        """Build from a plain mapping (e.g. YAML), rejecting unknown keys and wrong types by name
        (:func:`wildvsr.config.from_dict`)."""
        return from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping of every setting (round-trips through :meth:`from_dict`)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def check_processing(*, precision: str, backend: str, batch: int, chunk_size: int | None, memory_budget_gib: float,
                     overlap: int, tile: int | None, tile_overlap: int, scale: int) -> None:
    """The bounds of the processing settings, checked in this one place (by :class:`UpscaleConfig` and by
    :class:`~wildvsr.inference.upscaler.Upscaler`). ``tile``: None is auto, 0 whole frames, else >= 16.

    Raises:
        ConfigError: the first setting out of bounds, by name.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    _check_int("batch", batch, 0)
    if chunk_size is not None:
        _check_int("chunk_size", chunk_size, 1)
    if isinstance(memory_budget_gib, bool) or not isinstance(memory_budget_gib, (int, float)) \
            or not memory_budget_gib > 0:
        raise ConfigError(f"memory_budget_gib must be a number > 0, got {memory_budget_gib!r}")
    _check_int("overlap", overlap, 0)
    if tile not in (None, 0):
        _check_int("tile", tile, MIN_TILE)
    _check_int("tile_overlap", tile_overlap, 0)
    if scale not in SCALES or isinstance(scale, bool):
        raise ConfigError(f"scale must be 2, 3 or 4, got {scale!r}")


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
