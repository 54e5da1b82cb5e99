"""What a model provides, declared once: :class:`ModelSpec` (timm's ``pretrained_cfg`` attached by the builder,
diffusers' ``register_to_config``).

Every architecture module declares its spec beside its class (``basicvsr.SPEC``); the registry holds it and
:func:`wildvsr.models.create_model` attaches it, bound to the instance's constructor kwargs, as ``model.spec``.
Everything outside :mod:`wildvsr.models` reads a model through :func:`wildvsr.models.model_spec` and never probes
the module's attributes. Torch-free.

Memory estimates are declared by each architecture (``estimate_memory`` in its module, with the shared formulas of
:mod:`wildvsr.models.memory`); they are rough fp32 CPU peaks used to plan chunks and refuse calls that cannot fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from wildvsr.models.memory import video_memory

__all__ = ["ModelSpec", "MemoryFn", "TASKS", "default_video_memory"]

MemoryFn = Callable[..., int]
"""``(config, frames, height, width, *, scale, batch, act) -> bytes``: peak bytes of one forward on ``batch`` clips of
``frames`` x ``height`` x ``width`` (a per-frame model: ``frames`` images) with ``act`` bytes per feature activation
(4 in fp32, 2 under bf16/fp16 autocast); ``config`` is the instance's constructor kwargs."""

TASKS = ("upscale", "flow", "discriminator", "diffusion")


def default_video_memory(config: Mapping[str, Any], frames: int, height: int, width: int, *, scale: int = 4,
                         batch: int = 1, act: int = 4) -> int:
    """The estimate of a model that declares none: a BasicVSR-style recurrent video model of ``mid_channels``
    (default 64) channels reconstructing whole frames."""
    return video_memory(int(config.get("mid_channels", 64)), frames, height, width, scale=scale, batch=batch,
                        act=act)


@dataclass(frozen=True)
class ModelSpec:
    """What a model is and provides (frozen; its mappings are its own copies, not to be changed).

    Attributes:
        task: ``upscale`` (a x4 model the runner can drive), ``flow`` (SPyNet), ``discriminator`` or ``diffusion`` (a
            latent diffusion upscaler with its own sampling job, MGLD-VSR: the generic runner does not plan it).
        temporal: True: a video model fed ``(B, T, 3, H, W)`` clips, which the runner chunks with temporal context;
            False: a per-frame model fed ``(N, 3, H, W)`` frames (batched, no context, a reflection pre-pad).
        causal: output t depends on frames <= t only.
        streams: the model has ``stream(lqs, state) -> (outputs, state)``, continuing from the state the previous
            chunk returned (a causal model's recurrence): the runner cuts its chunks with no temporal overlap and
            carries the state from chunk to chunk (and into the resume folder), so no frame is computed twice and
            memory is bounded by the chunk; a segment warms the state up on ``--overlap`` frames before its start.
        keep: ``forward(lqs, keep=slice)`` reconstructs only the kept frames of a window (propagation still runs over
            the context frames); False: the runner slices the whole output.
        pad_multiple: input H and W are padded (bottom/right) to a multiple of this before the call.
        min_input_size: input H and W are padded to at least this.
        parts: role (``spynet``, ``cleaning``, ``basicvsr``) -> dotted submodule path, for the trainer's freezing and
            learning-rate groups.
        pretrained_init: role -> shipped model name that ``model.init_from`` is given in training
            (``model.init_pretrained``).
        options: extra inference option -> the constructor kwarg it sets (``{"refine_threshold":
            "dynamic_refine_thres"}``: ``--refine-threshold``).
        cpu_fp32_channels_last: NHWC is faster for its convolutions in fp32 on CPU (measured; inference/acceleration).
        memory: the architecture's memory estimate (:data:`MemoryFn`).
        name: registry name (set when bound to an instance; None for a module the registry does not know).
        config: the instance's constructor kwargs (set when bound).
    """

    task: Literal["upscale", "flow", "discriminator", "diffusion"] = "upscale"
    temporal: bool = True
    causal: bool = False
    streams: bool = False
    keep: bool = False
    pad_multiple: int = 1
    min_input_size: int = 1
    parts: Mapping[str, str] = field(default_factory=dict)
    pretrained_init: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    cpu_fp32_channels_last: bool = False
    memory: MemoryFn = default_video_memory
    name: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.streams and not (self.temporal and self.causal):
            raise ValueError("a model that streams its state must be a causal video model (temporal and causal)")
        if self.pad_multiple < 1 or self.min_input_size < 1:
            raise ValueError(f"pad_multiple and min_input_size must be >= 1, got {self.pad_multiple}, "
                             f"{self.min_input_size}")
        for name in ("parts", "pretrained_init", "options", "config"):  # own copies (plain dicts: a model that
            object.__setattr__(self, name, dict(getattr(self, name)))   # carries its spec still deep-copies/pickles)

    def bind(self, name: str | None, config: Mapping[str, Any]) -> ModelSpec:
        """This spec for one instance: its registry name and constructor kwargs."""
        return dataclasses.replace(self, name=name, config=dict(config))

    def option_kwarg(self, option: str) -> str | None:
        """The constructor kwarg of inference option ``option`` (None: the model has no such option)."""
        return self.options.get(option)

    def estimate_memory(self, frames: int, height: int, width: int, *, scale: int = 4, batch: int = 1,
                        precision: str = "fp32") -> int:
        """Rough peak bytes of one forward (see :data:`MemoryFn`) in ``precision`` (``bf16``/``fp16``: feature
        activations take 2 bytes; the input, flows and x4 output stay fp32)."""
        act = 2 if precision in ("bf16", "fp16") else 4
        return int(self.memory(self.config, frames, height, width, scale=scale, batch=batch, act=act))
