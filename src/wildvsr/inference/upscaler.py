"""Run a x4 video model over frames: temporal chunks, spatial tiles, precision guard, output resize.

Two kinds of model (their spec's ``temporal``, :func:`wildvsr.models.model_spec`): video models (BasicVSR) take ``(B, T, 3, H, W)`` clips and
get temporal context frames around each chunk; per-frame models (Real-ESRGAN's RRDBNet, SRVGGNetCompact) take
``(B, 3, H, W)`` images, get no temporal overlap (nothing recomputed), run a chunk's frames in batches, and get a
reflection pre-pad around the frame (Real-ESRGAN's ``pre_pad``) that keeps their border artifacts out of the output.
An optional stabilizer (:mod:`wildvsr.inference.stabilizer`) smooths the x4 output over time, carrying its state
across chunks.

Each video is planned once (:class:`~wildvsr.inference.plan.UpscalePlan`: chunk length, tile, windows per call,
precision...) and processed by one loop, :meth:`Upscaler.run`, which the ``upscale`` job drives with its resume hook.

Frames are uint8, or uint16 for sources above 8 bits; either way the model, the tiles and the stabilizer see the same
float [0, 1] tensors (:mod:`wildvsr.utils.frames`), and the output has the input's dtype, so a 10-bit source keeps
its precision to the writer.

:class:`Upscaler` holds only settings and the model; every call works on its arguments (nothing per call is kept on
``self`` but the stabilizer's state, which is reset at the start of each video), so one instance can serve several
videos, one after the other.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from wildvsr.errors import DeviceError, InputError
from wildvsr.defaults import DEFAULT_MEMORY_BUDGET_GIB, DEFAULT_OVERLAP, DEFAULT_TILE_OVERLAP
from wildvsr.inference.acceleration import (frames_to_channels_last, isolate_inductor_cache, model_to_channels_last,
                                            resolve_channels_last, resolve_precision)
from wildvsr.inference.chunking import ChunkSpec, Item, Window, iter_windows
from wildvsr.inference.config import MODEL_SCALE, check_processing
from wildvsr.inference.device import (autocast, available_memory, check_precision, empty_cache, exact_fp32,
                                      is_out_of_memory, out_of_memory_error, resolve_device)
from wildvsr.inference.openvino_backend import OpenVINOModule, check_openvino
from wildvsr.inference.plan import UpscalePlan, plan_video
from wildvsr.inference.stabilizer import FlowStabilizer
from wildvsr.inference.tiling import TileBlender, iter_tiles
from wildvsr.models.registry import model_spec
from wildvsr.models.spec import ModelSpec
from wildvsr.utils.frames import to_frames, to_tensor

logger = logging.getLogger(__name__)


MEMORY_SAFETY = 0.9
"""Fraction of the free memory a single model call may be estimated to use before we refuse to start it."""


def pad_input(x: torch.Tensor, multiple: int = 1, min_size: int = 1) -> tuple[torch.Tensor, int, int]:
    """Pad ``(B, T, C, H, W)`` at the bottom/right to a multiple of ``multiple`` and at least ``min_size``.

    Reflect padding where the frame is large enough, replicate otherwise (reflect needs pad < size).

    Returns:
        The padded tensor and the original ``(H, W)``.
    """
    b, t, c, h, w = x.shape
    ph = max(min_size, -(-h // multiple) * multiple) - h
    pw = max(min_size, -(-w // multiple) * multiple) - w
    if ph == 0 and pw == 0:
        return x, h, w
    flat = x.reshape(b * t, c, h, w)  # (B*T, C, H, W): F.pad's reflect mode wants 4-D input
    mode = "reflect" if ph < h and pw < w else "replicate"
    flat = F.pad(flat, (0, pw, 0, ph), mode=mode)
    return flat.reshape(b, t, c, h + ph, w + pw), h, w


def estimate_memory(model: torch.nn.Module, frames: int, height: int, width: int, scale: int = MODEL_SCALE, *,
                    batch: int = 1, precision: str = "fp32") -> int:
    """Rough peak bytes of one forward of ``model`` on ``batch`` clips of ``frames`` x ``height`` x ``width`` (a
    per-frame model: ``frames`` images; ``batch`` multiplies them): the estimate its spec declares
    (:meth:`~wildvsr.models.ModelSpec.estimate_memory`, defined beside each architecture). It is used to refuse
    calls that clearly cannot fit, to plan chunk lengths and to size per-frame batches, before any work is done."""
    return model_spec(model).estimate_memory(frames, height, width, scale=scale, batch=batch, precision=precision)


@dataclass
class Chunk(Generic[Item]):
    """One finished chunk of :meth:`Upscaler.run`: its window (the items and their :class:`ChunkSpec`), the kept
    output frames ``(K, H*scale, W*scale, 3)``, whether they were computed now (False: restored by the resume hook)
    and, for a run with a resume hook, the stabilizer's state after them (else None)."""

    window: Window[Item]
    frames: np.ndarray
    computed: bool
    state: dict[str, torch.Tensor] | None


class ResumeHook(Protocol):
    """What :meth:`Upscaler.run` asks of a resumed run (:class:`~wildvsr.inference.resume.WorkDir` provides it)."""

    def has(self, index: int) -> bool: ...  # chunk ``index`` was finished before

    def load_chunk(self, spec: ChunkSpec) -> np.ndarray: ...  # its output frames

    def load_state(self, index: int) -> dict[str, torch.Tensor]: ...  # the stabilizer's state after it


class Upscaler:
    """A x4 video or per-frame model with chunking, tiling and precision handling.

    The settings mean what they mean in :class:`~wildvsr.inference.config.UpscaleConfig` and are checked by the same
    function (:func:`~wildvsr.inference.config.check_processing`, ``ConfigError``); each video is planned once by
    :meth:`plan`.

    Args:
        model: ``(B, T, 3, H, W)`` [0, 1] -> ``(B, T, 3, 4H, 4W)`` module (e.g. ``create_model("basicvsr", ...)``), or
            one whose spec says ``temporal=False``, a per-frame ``(B, 3, H, W)`` -> ``(B, 3, 4H, 4W)`` one
            (``rrdbnet``, ``srvgg``). What else it provides is read from its spec (:func:`wildvsr.models.model_spec`).
        device: ``auto``, ``cpu``, ``cuda[:N]`` or a ``torch.device``.
        precision: ``auto`` (:func:`~wildvsr.inference.acceleration.resolve_precision`), ``fp32``, ``bf16`` (CUDA, or
            CPU) or ``fp16`` (CUDA only); ``self.precision`` is the resolved one.
        chunk_size: frames kept per temporal chunk (per-frame models: frames per chunk, run in batches bounded by
            :data:`~wildvsr.inference.plan.FRAME_BATCH_BUDGET`); None plans it per frame size (:meth:`plan`).
        overlap: context frames on each side of a chunk (always 0 for per-frame models).
        tile: spatial tile core size in input pixels (>= 16); 0 (the default here) for whole frames; None for auto
            (:func:`~wildvsr.inference.plan.plan_video`).
        tile_overlap: context pixels around each tile (feather-blended).
        scale: output scale 2, 3 or 4 (2 and 3 resize the x4 output, antialiased bicubic).
        check_memory: refuse a model call whose estimated memory exceeds the free memory (a clear error instead of
            swapping or an allocator crash).
        stabilizer: a temporal stabilizer (``__call__(lq, sr) -> sr``, ``reset()``, ``state_dict()``,
            ``load_state_dict()``; see :mod:`wildvsr.inference.stabilizer`) applied to the kept x4 frames of each
            chunk in order, before the resize to ``scale``; it is reset at the start of each video. None: outputs
            unchanged.
        channels_last: model and inputs in channels-last (NHWC) memory format; None = auto
            (:func:`~wildvsr.inference.acceleration.resolve_channels_last`). The model is converted in place.
        backend: ``torch`` (eager), ``compile`` (``torch.compile`` of the model, inductor) or ``openvino`` (per-frame
            models on the CPU, :mod:`wildvsr.inference.openvino_backend`).
        batch: most chunks of one shape stacked into one model call of a video model (B > 1); 0 = auto (4 on CUDA,
            1 on CPU). Fewer are stacked where ``batch`` windows would not fit the memory budget, and tiled frames
            never stack. Per-frame models batch the frames of a chunk instead.
        memory_budget_gib: estimated memory per model call (all its stacked windows, in the resolved precision) that
            plans ``chunk_size`` when it is None, and bounds per-frame batches.
    """

    def __init__(self, model: torch.nn.Module, device: str | torch.device = "cpu", precision: str = "auto",
                 chunk_size: int | None = None, overlap: int = DEFAULT_OVERLAP, tile: int | None = 0,
                 tile_overlap: int = DEFAULT_TILE_OVERLAP, scale: int = MODEL_SCALE, *, check_memory: bool = True,
                 stabilizer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                 channels_last: bool | None = None, backend: str = "torch", batch: int = 0,
                 memory_budget_gib: float = DEFAULT_MEMORY_BUDGET_GIB) -> None:
        check_processing(precision=precision, backend=backend, batch=batch, chunk_size=chunk_size,
                         memory_budget_gib=memory_budget_gib, overlap=overlap, tile=tile, tile_overlap=tile_overlap,
                         scale=scale)
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        precision = resolve_precision(precision, self.device)
        check_precision(precision, self.device)
        self.model = model.to(self.device).eval()
        self.spec = model_spec(model)
        self.precision = precision
        self.channels_last = resolve_channels_last(channels_last, precision, self.device, self.spec)
        if self.channels_last:
            model_to_channels_last(self.model)
        self.backend = backend
        self._module = _backend_module(self.model, self.spec, backend, self.device, precision)
        self.chunk_size = chunk_size
        self.memory_budget = int(memory_budget_gib * 2**30)
        self.temporal = self.spec.temporal
        self.batch = (batch or (4 if self.device.type == "cuda" else 1)) if self.temporal else 1
        self.overlap = overlap if self.temporal else 0  # per-frame outputs need no temporal context
        self.stabilizer = stabilizer
        self.tile = tile
        self.tile_overlap = tile_overlap
        self.scale = scale
        self.check_memory = check_memory
        self._model_state: dict[int, dict[str, torch.Tensor]] = {}  # a streaming model's state, per tile
        self._pending: dict[str, torch.Tensor] | None = None  # its next state, until the call's output is accepted

    # ----------------------------------------------------------------------------------------------------- public
    def plan(self, height: int, width: int) -> UpscalePlan:
        """The plan of a video of ``height`` x ``width`` frames with these settings (the same every time)."""
        return plan_video(self.spec, height, width, device=str(self.device), precision=self.precision,
                          backend=self.backend, channels_last=self.channels_last, chunk_size=self.chunk_size,
                          overlap=self.overlap, tile=self.tile, tile_overlap=self.tile_overlap, batch=self.batch,
                          memory_budget=self.memory_budget, scale=self.scale,
                          stabilizer=_stabilizer_name(self.stabilizer),
                          stabilizer_warmup=_stabilizer_warmup(self.stabilizer), check_memory=self.check_memory)

    def upscale_frames(self, frames: np.ndarray, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Upscale a clip held in memory, chunk by chunk.

        Args:
            frames: ``(T, H, W, 3)`` uint8 or uint16 RGB.
            progress: called with the number of frames finished after each chunk.

        Returns:
            ``(T, H*scale, W*scale, 3)`` RGB of the input's dtype.
        """
        frames = _check_frames(frames)
        outs = []
        for spec, out in self.stream(iter(frames)):
            outs.append(out)
            if progress is not None:
                progress(spec.num_frames)
        return np.concatenate(outs, 0)

    def stream(self, frames: Iterable[np.ndarray]) -> Iterator[tuple[ChunkSpec, np.ndarray]]:
        """Upscale a stream of ``(H, W, 3)`` uint8 (or uint16) frames of one size (one video, planned from its first
        frame); yields each chunk and its kept output frames (:meth:`run`)."""
        frames = iter(frames)
        first = next(frames, None)
        if first is None:
            return
        plan = self.plan(*np.shape(first)[:2])
        for chunk in self.run(itertools.chain([first], frames), plan):
            yield chunk.window.spec, chunk.frames

    def run(self, items: Iterable[Item], plan: UpscalePlan, image: Callable[[Item], np.ndarray] | None = None,
            resume: ResumeHook | None = None, *, first: int = 0, start: int | None = None, stop: int | None = None
            ) -> Iterator[Chunk[Item]]:
        """The processing loop of one video (or one segment of it): context windows over ``items`` by ``plan``,
        grouped into model calls, each chunk yielded in order.

        Holds at most ``plan.batch`` context windows of ``plan.chunk_size + 2*plan.overlap`` items at a time. The
        stabilizer is reset first. With ``resume``, chunks it ``has`` are not computed but loaded, and the
        stabilizer's state is restored before the first chunk computed after loaded ones.

        Args:
            items: the video's frames, or objects holding them (``image`` gets the ``(H, W, 3)`` array of one).
            plan: :meth:`plan` of the frame size.
            image: item -> frame (default: the item is the frame).
            resume: the work finished by an interrupted run.
            first: the frame index of ``items[0]``.
            start, stop: the segment to output, ``[start, stop)`` (default: from ``first`` to the end). The items
                before ``start`` (at most ``plan.lead_in``) are a video model's left context, or the frames that
                warm a carried state up (a per-frame model's stabilizer, a streaming model's recurrence: computed,
                not output); give the items up to
                ``stop + plan.overlap`` (a video model's right context). Chunks are cut on the grid ``start + k*T``:
                a segment starting on the whole video's grid gets the whole video's chunks.
        """
        self.reset()
        start = first if start is None else start
        items = iter(items)
        if plan.overlap == 0 and start > first:  # a lead-in that is no chunk's context: only a carried state needs it
            lead_in = list(itertools.islice(items, start - first))
            if self.carries_state and not (resume is not None and resume.has(0)):
                self._warm_up(lead_in, plan, image)
            first = start
        restored = False  # the previous chunk came from the resume hook (the carried state has not seen it)
        for group in self._groups(items, plan, first, start, stop):
            todo = [w for w in group if resume is None or not resume.has(w.spec.index)]
            if todo and self.carries_state and restored:
                self.load_state_dict(resume.load_state(todo[0].spec.index - 1))
            windows = [np.stack([image(f) for f in w.items]) if image else np.stack(w.items) for w in todo]
            outs = self.process_batch(windows, [w.spec for w in todo], plan) if todo else []  # (K, sH, sW, 3) each
            computed = {w.spec.index: out for w, out in zip(todo, outs)}
            # what a resumed run restores (with a carried state, windows go one per call: the state is this window's)
            state = self.state_dict() if self.carries_state and resume is not None else None
            for window in group:
                out = computed.get(window.spec.index)
                restored = out is None
                yield Chunk(window, resume.load_chunk(window.spec) if restored else out, not restored, state)

    def reset(self) -> None:
        """Start a new video: forget the carried state (the stabilizer's, a streaming model's)."""
        if self.stabilizer is not None:
            self.stabilizer.reset()
        self._model_state = {}

    @property
    def carries_state(self) -> bool:
        """Chunks depend on the chunk before: a stabilizer, or a model that streams its state (its spec)."""
        return self.stabilizer is not None or self.spec.streams

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The carried state after the last chunk, on CPU (what the resume folder stores with a finished chunk):
        ``stabilizer.*`` and, per tile, ``model.TILE.*``."""
        state = {}
        if self.stabilizer is not None:
            state |= {f"stabilizer.{k}": v for k, v in self.stabilizer.state_dict().items()}
        for tile, tensors in self._model_state.items():
            state |= {f"model.{tile}.{k}": v.cpu() for k, v in tensors.items()}
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`state_dict` (also a resume folder's state from before streaming models: stabilizer keys
        without a prefix)."""
        if self.stabilizer is not None:
            prefixed = {k.removeprefix("stabilizer."): v for k, v in state.items() if not k.startswith("model.")}
            self.stabilizer.load_state_dict(prefixed)
        self._model_state = {}
        for key, value in state.items():
            if key.startswith("model."):
                _, tile, name = key.split(".", 2)
                self._model_state.setdefault(int(tile), {})[name] = value.to(self.device)

    def process_batch(self, windows: list[np.ndarray], specs: list[ChunkSpec], plan: UpscalePlan | None = None
                      ) -> list[np.ndarray]:
        """:meth:`process_window` for several windows of a video, in order; untiled windows of one shape go through
        one model call with B = len(windows) (independent chunks: equal to one call per window up to float rounding).
        ``plan``: the video's (default: planned from the windows' frame size)."""
        height, width = np.shape(windows[0])[1:3]
        plan = plan or self.plan(height, width)
        one_call = len(windows) > 1 and len({np.shape(w) for w in windows}) == 1 and not self.carries_state and \
            plan.tile == 0
        if not one_call:
            return [self.process_window(w, s, plan) for w, s in zip(windows, specs)]
        frames = np.stack([_check_frames(w) for w in windows])  # (B, N, H, W, 3) uint8/uint16
        b, n, h, w, _ = frames.shape
        if plan.check_memory:
            self._check_fits(n, h, w, batch=b)
        first = min(s.keep.start for s in specs)  # the union of the kept frames: one call reconstructs them all
        out = self._forward(frames, plan, slice(first, max(s.keep.stop for s in specs)))  # (B, K, 3, 4h, 4w)
        return [self._to_frames(o[s.keep.start - first: s.keep.stop - first], h, w, frames.dtype)
                for o, s in zip(out, specs)]

    def process_window(self, frames: np.ndarray, spec: ChunkSpec | None = None, plan: UpscalePlan | None = None
                       ) -> np.ndarray:
        """Run the model over one context window and return the kept frames (windows of a video in order when a
        stabilizer is set: it carries its state from one window to the next).

        Args:
            frames: ``(N, H, W, 3)`` uint8 or uint16, the chunk's context window.
            spec: the chunk (its ``keep`` slice selects the output); None keeps all frames.
            plan: the video's (default: planned from the frame size).

        Returns:
            ``(K, H*scale, W*scale, 3)`` of the input's dtype.
        """
        frames = _check_frames(frames)
        n, h, w, _ = frames.shape
        plan = plan or self.plan(h, w)
        keep = spec.keep if spec is not None else slice(0, n)
        p = _pre_pad_size(plan.pre_pad, h, w)
        padded = np.pad(frames, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect") if p else frames
        tiles = list(iter_tiles(h + 2 * p, w + 2 * p, plan.tile or None, plan.tile_overlap))
        if plan.check_memory:  # the largest call this window makes: one clip, or one batch of per-frame images
            largest = max(tiles, key=lambda s: s.height * s.width)
            per_call = n if self.temporal else min(len(range(n)[keep]), plan.frame_batch(largest.height,
                                                                                           largest.width))
            self._check_fits(per_call, largest.height, largest.width)
        if len(tiles) == 1:
            out = self._forward(padded, plan, keep)  # (K, 3, 4(H + 2p), 4(W + 2p)) on device
        else:
            blender = TileBlender(len(range(n)[keep]), 3, h + 2 * p, w + 2 * p, MODEL_SCALE)
            for i, t in enumerate(tiles):  # a streaming model carries one state per tile (i: the same tile each chunk)
                blender.add(t, self._forward(padded[:, t.y0:t.y1, t.x0:t.x1], plan, keep, tile=i))
            out = blender.result()
        s = MODEL_SCALE
        out = out[:, :, s * p: s * (p + h), s * p: s * (p + w)]  # (K, 3, 4H, 4W)
        if self.stabilizer is not None:
            lq = to_tensor(frames[keep], self.device)  # (K, 3, H, W)
            out = self.stabilizer(lq, out.to(self.device))
        return self._to_frames(out, h, w, frames.dtype)

    # ---------------------------------------------------------------------------------------------------- helpers
    def _warm_up(self, items: list[Item], plan: UpscalePlan, image: Callable[[Item], np.ndarray] | None) -> None:
        """Run the stabilizer over a segment's lead-in frames (their outputs are dropped), a chunk at a time."""
        for i in range(0, len(items), plan.chunk_size):
            part = items[i: i + plan.chunk_size]
            self.process_window(np.stack([image(f) for f in part] if image else part), None, plan)

    def _groups(self, items: Iterable[Item], plan: UpscalePlan, first: int = 0, start: int | None = None,
                stop: int | None = None) -> Iterator[list[Window[Item]]]:
        """Context windows over ``items`` (:func:`~wildvsr.inference.chunking.iter_windows`), in order, grouped for
        one model call: up to ``plan.batch`` consecutive windows of one length (the last windows are shorter)."""
        group: list[Window[Item]] = []
        for window in iter_windows(items, plan.chunk_size, plan.overlap, first=first, start=start, stop=stop):
            if group and len(group[0].items) != len(window.items):
                yield group
                group = []
            group.append(window)
            if len(group) == plan.batch:
                yield group
                group = []
        if group:
            yield group

    def _check_fits(self, n: int, h: int, w: int, batch: int = 1) -> None:
        free = available_memory(self.device)
        need = self.spec.estimate_memory(n, h, w, batch=batch, precision=self.precision)
        if free is not None and need > MEMORY_SAFETY * free:
            # Suggest the largest square tile whose estimate fits.
            tile = max(h, w)
            side = tile + 2 * self.tile_overlap
            while tile > 32 and self.spec.estimate_memory(n, side, side, precision=self.precision) > \
                    MEMORY_SAFETY * free:
                tile //= 2
                side = tile + 2 * self.tile_overlap
            frames = f"{batch} x {n}" if batch > 1 else f"{n}"
            raise DeviceError(
                f"{frames} frames of {w}x{h} need about {need / 2**30:.1f} GiB on {self.device} but only "
                f"{free / 2**30:.1f} GiB is free; retry with --tile {tile} (or a smaller --chunk-size/--overlap)")

    def _forward(self, frames: np.ndarray, plan: UpscalePlan, keep: slice = slice(None), tile: int = 0
                 ) -> torch.Tensor:
        """Model call on ``([B,] N, h, w, 3)`` uint8/uint16 -> ``([B,] K, 3, 4h, 4w)`` float32 [0, 1]-ish (unclamped)
        of the K frames ``keep`` selects, on device (a batch ``B`` of windows only for video models; ``tile``: whose
        carried state a streaming model continues)."""
        if not self.temporal:
            return self._forward_frames(frames[keep], plan)
        batched = frames.ndim == 5
        x = to_tensor(frames if batched else frames[None], self.device)  # (B, N, 3, h, w)
        x, h, w = pad_input(x, self.spec.pad_multiple, self.spec.min_input_size)
        out = self._guarded_call(x, keep, tile)[..., : h * MODEL_SCALE, : w * MODEL_SCALE]  # (B, K, 3, 4h, 4w)
        return out if batched else out[0]

    def _forward_frames(self, frames: np.ndarray, plan: UpscalePlan) -> torch.Tensor:
        """Per-frame model on ``(N, h, w, 3)`` uint8/uint16 -> ``(N, 3, 4h, 4w)`` float32, in batches of independent
        frames (as many as :meth:`UpscalePlan.frame_batch` allows, at least one)."""
        n, h, w, _ = frames.shape
        batch = min(n, plan.frame_batch(h, w))
        outs = []
        for i in range(0, n, batch):
            x = to_tensor(frames[i: i + batch], self.device)  # (b, 3, h, w)
            outs.append(self._guarded_call(x))
        return outs[0] if len(outs) == 1 else torch.cat(outs)

    def _guarded_call(self, x: torch.Tensor, keep: slice = slice(None), tile: int | None = None) -> torch.Tensor:
        """Run the model in the configured precision; recompute in fp32 when the output is not finite. A streaming
        model continues ``tile``'s carried state, which moves on only once the output is finite (a recomputation
        starts from the same state)."""
        self._pending = None
        out = self._call(x, self.precision, keep, tile)
        if self.precision != "fp32" and not bool(torch.isfinite(out).all()):
            logger.warning("%s output had NaN/inf values for a chunk of %d frames; recomputed it in fp32",
                           self.precision, x.shape[0] if x.dim() == 4 else x.shape[1])
            del out
            out = self._call(x, "fp32", keep, tile)
        if not bool(torch.isfinite(out).all()) and self._module is not self.model:
            # a graph backend's kernels, not the weights: inductor's CPU kernels returned NaN here once under a capped
            # ATEN_CPU_CAPABILITY (a long test process; not reproducible alone). Eager PyTorch is the reference.
            logger.warning("the %s backend produced NaN/inf values; running the model in eager PyTorch from here on",
                           self.backend)
            self._module = self.model
            out = self._call(x, "fp32", keep, tile)
        if not bool(torch.isfinite(out).all()):
            raise DeviceError("the model produced NaN/inf values in fp32; the weights may be corrupt")
        if self._pending is not None:
            self._model_state[tile] = self._pending
        return out

    def _call(self, x: torch.Tensor, precision: str, keep: slice = slice(None), tile: int | None = None
              ) -> torch.Tensor:
        """The model on ``x`` (``(B, C, H, W)`` frames or ``(B, T, C, H, W)`` clips) in ``precision`` and the
        configured memory format and backend; a float32 result (of a clip's ``keep`` frames). A streaming model
        (``tile`` given) runs eagerly from ``tile``'s carried state; its next state waits in ``self._pending``."""
        if self.channels_last:
            x = frames_to_channels_last(x)  # oneDNN's AMX / cuDNN's tensor-core kernels want NHWC
        try:
            with torch.no_grad(), autocast(precision, self.device), exact_fp32(precision, self.device):
                if x.dim() == 4:
                    return self._module(x).float()
                if self.spec.streams and tile is not None:
                    out, self._pending = self.model.stream(x, self._model_state.get(tile))
                    return out[:, keep].float()
                if self.spec.keep:
                    return self._module(x, keep=keep).float()
                return self._module(x)[:, keep].float()
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
        # Only after an out-of-memory failure, and outside the except block on purpose: there the exception's
        # traceback still holds the failed call's frames and their device tensors, so empty_cache could not free them.
        empty_cache(self.device)
        frames = x.shape[0] if x.dim() == 4 else x.shape[1]  # per-frame batch or clip length
        raise out_of_memory_error(self.device, frames, x.shape[-2], x.shape[-1], self.tile)

    def _to_frames(self, out: torch.Tensor, h: int, w: int, dtype: np.dtype) -> np.ndarray:
        """``(K, 3, 4h, 4w)`` float -> ``(K, h*scale, w*scale, 3)`` ``dtype`` (the input's) on CPU (resizing when
        scale < 4)."""
        if self.scale != MODEL_SCALE:
            out = F.interpolate(out, size=(h * self.scale, w * self.scale), mode="bicubic", align_corners=False,
                                antialias=True)
        return np.ascontiguousarray(to_frames(out, dtype))


def _backend_module(model: torch.nn.Module, spec: ModelSpec, backend: str, device: torch.device, precision: str
                    ) -> Callable[[torch.Tensor], torch.Tensor]:
    """What a model call runs: the module (``torch``), its ``torch.compile`` (inductor compiles per input shape; after
    a second shape, a dynamic-shape graph), or an OpenVINO runner (per-frame models on the CPU)."""
    if backend == "compile":
        isolate_inductor_cache()
        return torch.compile(model)
    if backend == "openvino":
        check_openvino(spec, device, precision)
        return OpenVINOModule(model, precision)
    return model


def _stabilizer_name(stabilizer: object | None) -> str | None:
    """What the plan records of a stabilizer: the name of a :class:`FlowStabilizer`'s setting, else its type."""
    if stabilizer is None:
        return None
    return stabilizer.name if isinstance(stabilizer, FlowStabilizer) else type(stabilizer).__name__


def _stabilizer_warmup(stabilizer: object | None) -> int:
    """Warm-up frames of a :class:`FlowStabilizer` before a segment (its settings'); none for other stabilizers."""
    return stabilizer.settings.warmup_frames if isinstance(stabilizer, FlowStabilizer) else 0


def _pre_pad_size(pad: int, h: int, w: int) -> int:
    """The reflection pre-pad usable on a ``h`` x ``w`` frame (reflection needs pad < size)."""
    return max(0, min(pad, h - 1, w - 1))


def _check_frames(frames: np.ndarray) -> np.ndarray:
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3 or \
            frames.dtype not in (np.uint8, np.uint16):
        got = f"{getattr(frames, 'dtype', type(frames).__name__)} {getattr(frames, 'shape', '')}"
        raise InputError(f"frames must be a (T, H, W, 3) uint8 or uint16 array, got {got}")
    if frames.shape[0] == 0:
        raise InputError("frames is empty: nothing to upscale")
    return frames
