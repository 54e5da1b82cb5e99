"""The upscale plan: everything settled for one video before its first frame, in one frozen object.

:class:`UpscalePlan` holds what the model provides (its :class:`~wildvsr.models.ModelSpec`), where and how it runs
(device, precision, backend, memory format) and how the video is cut (chunk length, temporal overlap, tile, windows
per call, the per-frame pre-pad, the stabilizer). :func:`plan_video` makes it from the settings and the frame size;
:class:`~wildvsr.inference.upscaler.Upscaler` plans each video once and processes it by the plan; the resume manifest
records :meth:`UpscalePlan.manifest_settings`, so a resumed run must plan the same calls. This is also what a
cluster segment will carry to a worker.

Settings have one meaning everywhere (:class:`~wildvsr.inference.config.UpscaleConfig`, :class:`Upscaler`, here):
``tile`` None is *auto* (before planning), 0 is whole frames, N is N-pixel tiles; ``chunk_size`` None is planned
from the memory budget; ``batch`` 0 is auto.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wildvsr.defaults import AUTO_TILE, AUTO_TILE_MIN_SIDE, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE
from wildvsr.inference.chunking import plan_call
from wildvsr.inference.tiling import iter_tiles
from wildvsr.models.spec import ModelSpec

__all__ = ["UpscalePlan", "plan_video", "PRE_PAD", "FRAME_BATCH_BUDGET"]

PRE_PAD = 10
"""Input pixels of reflection added around each frame for per-frame models, cropped from the output (Real-ESRGAN's
``pre_pad``; see ``benchmarks/realesrgan_cpu.py`` for its measured effect on the border)."""

FRAME_BATCH_BUDGET = 2 * 2**30
"""Estimated bytes one batched per-frame model call may use (frames per call = this / one frame's estimate, >= 1)."""


@dataclass(frozen=True)
class UpscalePlan:
    """How one video of ``height`` x ``width`` frames is upscaled.

    Attributes:
        spec: what the model provides (temporal or per-frame, padding, ``keep``, memory estimate).
        device: where the model runs (``"cpu"``, ``"cuda:0"``).
        precision: the resolved precision (``fp32``, ``bf16`` or ``fp16``; never ``auto``).
        backend: ``torch``, ``compile`` or ``openvino``.
        channels_last: model and inputs in NHWC.
        height, width: the frame size the plan is for.
        chunk_size: frames kept per temporal chunk (resolved).
        overlap: context frames on each side of a chunk (0 for a per-frame model, and for a video model that streams
            its state: :attr:`~wildvsr.models.ModelSpec.streams`).
        tile: tile core in input pixels; 0: whole frames (resolved: never auto).
        tile_overlap: context pixels around each tile.
        batch: context windows stacked into one model call of a video model (1 for a per-frame model, whose frames
            are batched by :meth:`frame_batch` instead).
        frames_per_call: what the resume manifest records of the call size: windows per call of a video model, or
            frames per call of a per-frame model at the tile size (CPU kernels are chosen by shape, so a resumed run
            with another call size could differ in the last bit; a different plan is refused instead).
        pre_pad: reflection pre-pad around each frame (per-frame models).
        scale: output scale 2, 3 or 4 (2 and 3 resize the x4 output).
        stabilizer: the temporal stabilizer's name, or None.
        lead_in: frames before a segment's first output frame that it reads (issue 28): the temporal context of a
            video model (``overlap``; for one that streams, the frames that warm its state up), the warm-up of a
            per-frame model's stabilizer, else 0.
        memory_budget: estimated bytes one model call may use.
        check_memory: refuse a call whose estimate exceeds the free memory.
    """

    spec: ModelSpec
    device: str
    precision: str
    backend: str
    channels_last: bool
    height: int
    width: int
    chunk_size: int
    overlap: int
    tile: int
    tile_overlap: int
    batch: int
    frames_per_call: int
    pre_pad: int
    scale: int
    stabilizer: str | None
    lead_in: int
    memory_budget: int
    check_memory: bool

    @property
    def temporal(self) -> bool:
        """A video model (clips with temporal context) rather than a per-frame one."""
        return self.spec.temporal

    def frame_batch(self, height: int, width: int) -> int:
        """Frames of ``height`` x ``width`` one per-frame model call takes: within both
        :data:`FRAME_BATCH_BUDGET` and the memory budget (at least 1)."""
        return _frame_batch(self.spec, self.precision, self.memory_budget, height, width)

    def manifest_settings(self) -> dict[str, Any]:
        """What the resume manifest records of the plan (``tile`` and ``tile_overlap`` are null for whole frames, as
        manifests have always written them)."""
        return {"precision": self.precision, "chunk_size": self.chunk_size, "tile": self.tile or None,
                "tile_overlap": self.tile_overlap if self.tile else None, "frames_per_call": self.frames_per_call}


def plan_video(spec: ModelSpec, height: int, width: int, *, device: str, precision: str, backend: str,
               channels_last: bool, chunk_size: int | None, overlap: int, tile: int | None, tile_overlap: int,
               batch: int, memory_budget: int, scale: int, stabilizer: str | None, stabilizer_warmup: int = 0,
               check_memory: bool = True) -> UpscalePlan:
    """Settle the plan of one video (settings already checked; ``precision`` resolved; ``batch``: the most windows a
    video model's call may stack, resolved, >= 1).

    Tile auto (None): :data:`~wildvsr.defaults.AUTO_TILE` for a video model whose frame has a side longer than
    :data:`~wildvsr.defaults.AUTO_TILE_MIN_SIDE`, else whole frames. Chunk length and windows per call of a video
    model: :func:`~wildvsr.inference.chunking.plan_call` within the memory budget (only untiled windows without a
    stabilizer are stacked; tiled ones go one window, one tile at a time, so they are planned for one window of the
    largest tile); an explicit ``chunk_size`` is kept and the windows per call come down until the call fits. A
    per-frame model gets :data:`~wildvsr.defaults.DEFAULT_CHUNK_SIZE`, no overlap and its frames batched.
    A model that streams its state gets no overlap and chunks of at most ``DEFAULT_CHUNK_SIZE`` (nothing to save by
    longer ones). ``stabilizer_warmup``: the stabilizer's warm-up frames (a segment's lead-in with a per-frame
    model).
    """
    temporal = spec.temporal
    if tile is None:
        tile = AUTO_TILE if temporal and max(height, width) > AUTO_TILE_MIN_SIDE else 0
    lead_in = overlap if temporal else (stabilizer_warmup if stabilizer is not None else 0)
    # per-frame outputs need no temporal context; a streaming model carries its state from the chunk before instead
    overlap = overlap if temporal and not spec.streams else 0
    fields = dict(spec=spec, device=device, precision=precision, backend=backend, channels_last=channels_last,
                  height=height, width=width, overlap=overlap, tile=tile, tile_overlap=tile_overlap,
                  pre_pad=0 if temporal else PRE_PAD, scale=scale, stabilizer=stabilizer,
                  lead_in=lead_in,
                  memory_budget=memory_budget, check_memory=check_memory)
    if not temporal:
        call_h, call_w = min(height, tile or height), min(width, tile or width)  # frames of one tile per call
        return UpscalePlan(chunk_size=chunk_size or DEFAULT_CHUNK_SIZE, batch=1,
                           frames_per_call=_frame_batch(spec, precision, memory_budget, call_h, call_w), **fields)
    stackable = batch if tile == 0 and stabilizer is None and not spec.streams else 1  # carried state: in order
    largest = max(iter_tiles(height, width, tile or None, tile_overlap), key=lambda t: t.height * t.width)
    fixed = spec.estimate_memory(0, largest.height, largest.width, precision=precision)
    per_frame = spec.estimate_memory(1, largest.height, largest.width, precision=precision) - fixed
    if chunk_size is not None:
        window = fixed + per_frame * (chunk_size + 2 * overlap)
        windows = max(1, min(stackable, memory_budget // max(1, window)))
    else:
        # a long chunk only saves recomputed context; a streaming model has none, so its chunks stay short and its
        # memory small and flat (measured in README's RCVSR section)
        longest = DEFAULT_CHUNK_SIZE if spec.streams else MAX_CHUNK_SIZE
        chunk_size, windows = plan_call(per_frame, fixed, overlap, memory_budget, longest, stackable,
                                        DEFAULT_CHUNK_SIZE)
    return UpscalePlan(chunk_size=chunk_size, batch=windows, frames_per_call=windows, **fields)


def _frame_batch(spec: ModelSpec, precision: str, memory_budget: int, height: int, width: int) -> int:
    budget = min(FRAME_BATCH_BUDGET, memory_budget)
    return max(1, budget // max(1, spec.estimate_memory(1, height, width, precision=precision)))
