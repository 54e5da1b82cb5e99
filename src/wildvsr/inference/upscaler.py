"""Run a x4 video model over frames: temporal chunks, spatial tiles, precision guard, output resize.

Two kinds of model (their spec's ``temporal``, :func:`wildvsr.models.model_spec`): video models (BasicVSR) take ``(B, T, 3, H, W)`` clips and
get temporal context frames around each chunk; per-frame models (Real-ESRGAN's RRDBNet, SRVGGNetCompact) take
``(B, 3, H, W)`` images, get no temporal overlap (nothing recomputed), run a chunk's frames in batches, and get a
reflection pre-pad around the frame (Real-ESRGAN's ``pre_pad``) that keeps their border artifacts out of the output.
An optional stabilizer (:mod:`wildvsr.inference.stabilizer`) smooths the x4 output over time, carrying its state
across chunks.

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

import numpy as np
import torch
import torch.nn.functional as F

from wildvsr.errors import DeviceError, InputError
from wildvsr.defaults import (AUTO_TILE, AUTO_TILE_MIN_SIDE, DEFAULT_CHUNK_SIZE, DEFAULT_MEMORY_BUDGET_GIB,
                              MAX_CHUNK_SIZE)
from wildvsr.inference.acceleration import (frames_to_channels_last, isolate_inductor_cache, model_to_channels_last,
                                            resolve_channels_last, resolve_precision)
from wildvsr.inference.chunking import ChunkSpec, Item, Window, iter_windows, plan_call
from wildvsr.inference.config import BACKENDS, DEFAULT_OVERLAP, DEFAULT_TILE_OVERLAP, MODEL_SCALE
from wildvsr.inference.device import (autocast, available_memory, check_precision, empty_cache, exact_fp32,
                                      is_out_of_memory, out_of_memory_error, resolve_device)
from wildvsr.inference.openvino_backend import OpenVINOModule, check_openvino
from wildvsr.inference.tiling import TileBlender, iter_tiles
from wildvsr.models.registry import model_spec
from wildvsr.models.spec import ModelSpec
from wildvsr.utils.frames import to_frames, to_tensor

logger = logging.getLogger(__name__)


MEMORY_SAFETY = 0.9
"""Fraction of the free memory a single model call may be estimated to use before we refuse to start it."""

PRE_PAD = 10
"""Input pixels of reflection added around each frame for per-frame models, cropped from the output (Real-ESRGAN's
``pre_pad``; see ``benchmarks/realesrgan_cpu.py`` for its measured effect on the border)."""

FRAME_BATCH_BUDGET = 2 * 2**30
"""Estimated bytes one batched per-frame model call may use (frames per call = this / one frame's estimate, >= 1)."""


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


class Upscaler:
    """A x4 video or per-frame model with chunking, tiling and precision handling.

    Args:
        model: ``(B, T, 3, H, W)`` [0, 1] -> ``(B, T, 3, 4H, 4W)`` module (e.g. ``create_model("basicvsr", ...)``), or
            one whose spec says ``temporal=False``, a per-frame ``(B, 3, H, W)`` -> ``(B, 3, 4H, 4W)`` one
            (``rrdbnet``, ``srvgg``). What else it provides is read from its spec (:func:`wildvsr.models.model_spec`).
        device: ``auto``, ``cpu``, ``cuda[:N]`` or a ``torch.device``.
        precision: ``auto`` (:func:`~wildvsr.inference.acceleration.resolve_precision`), ``fp32``, ``bf16`` (CUDA, or
            CPU) or ``fp16`` (CUDA only); ``self.precision`` is the resolved one.
        chunk_size: frames kept per temporal chunk (per-frame models: frames per chunk, run in batches bounded by
            :data:`FRAME_BATCH_BUDGET`); None plans it per frame size (:meth:`chunk_size_for`).
        overlap: context frames on each side of a chunk (always 0 for per-frame models).
        tile: spatial tile core size in input pixels, None for whole frames, or ``"auto"`` (:meth:`tile_for`).
        tile_overlap: context pixels around each tile (feather-blended).
        scale: output scale 2, 3 or 4 (2 and 3 resize the x4 output, antialiased bicubic).
        check_memory: refuse a model call whose estimated memory exceeds the free memory (a clear error instead of
            swapping or an allocator crash).
        stabilizer: a temporal stabilizer (``__call__(lq, sr) -> sr``, ``reset()``; see
            :mod:`wildvsr.inference.stabilizer`) applied to the kept x4 frames of each chunk in order, before the
            resize to ``scale``; it is reset at the start of each video (:meth:`reset`). None: outputs unchanged.
        channels_last: model and inputs in channels-last (NHWC) memory format; None = auto
            (:func:`~wildvsr.inference.acceleration.resolve_channels_last`). The model is converted in place.
        backend: ``torch`` (eager), ``compile`` (``torch.compile`` of the model, inductor) or ``openvino`` (per-frame
            models on the CPU, :mod:`wildvsr.inference.openvino_backend`).
        batch: most chunks of one shape stacked into one model call of a video model by :meth:`stream` (B > 1);
            0 = auto (4 on CUDA, 1 on CPU). Fewer are stacked where ``batch`` windows would not fit the memory budget
            (:meth:`call_plan`), and tiled frames never stack. Per-frame models batch the frames of a chunk instead.
        memory_budget_gib: estimated memory per model call (all its stacked windows, in the resolved precision) that
            plans ``chunk_size`` when it is None, and bounds per-frame batches.
    """

    def __init__(self, model: torch.nn.Module, device: str | torch.device = "cpu", precision: str = "auto",
                 chunk_size: int | None = None, overlap: int = DEFAULT_OVERLAP, tile: int | None = None,
                 tile_overlap: int = DEFAULT_TILE_OVERLAP, scale: int = MODEL_SCALE, *, check_memory: bool = True,
                 stabilizer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                 channels_last: bool | None = None, backend: str = "torch", batch: int = 0,
                 memory_budget_gib: float = DEFAULT_MEMORY_BUDGET_GIB) -> None:
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        precision = resolve_precision(precision, self.device)
        check_precision(precision, self.device)
        if (chunk_size is not None and chunk_size < 1) or overlap < 0:
            raise InputError(f"chunk_size must be >= 1 and overlap >= 0, got {chunk_size}, {overlap}")
        if backend not in BACKENDS:
            raise InputError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if batch < 0 or not memory_budget_gib > 0:
            raise InputError(f"batch must be >= 0 and memory_budget_gib > 0, got {batch}, {memory_budget_gib}")
        if tile is not None and tile != "auto" and (not isinstance(tile, int) or tile < 1):
            raise InputError(f"tile must be >= 1, 'auto' or None, got {tile!r}")
        if scale not in (2, 3, 4):
            raise InputError(f"scale must be 2, 3 or 4, got {scale}")
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
        self.pre_pad = 0 if self.temporal else PRE_PAD
        self.stabilizer = stabilizer
        self.tile = tile
        self.tile_overlap = tile_overlap
        self.scale = scale
        self.check_memory = check_memory
        self.pad_multiple = self.spec.pad_multiple
        # A video model whose forward takes `keep` reconstructs only the kept frames of a window (BasicVSR family).
        self._takes_keep = self.temporal and self.spec.keep
        self.min_size = self.spec.min_input_size

    # ----------------------------------------------------------------------------------------------------- public
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
        """Upscale a stream of ``(H, W, 3)`` uint8 (or uint16) frames of one size; yields each chunk and its kept
        output frames.

        Holds at most ``batch`` context windows of ``chunk_size_for(H, W) + 2*overlap`` input frames at a time. A
        stream is one video: the stabilizer is reset.
        """
        self.reset()
        frames = iter(frames)
        first = next(frames, None)
        if first is None:
            return
        height, width = np.shape(first)[:2]
        for group in self.iter_batches(itertools.chain([first], frames), height, width):
            outs = self.process_batch([np.stack(w.items) for w in group], [w.spec for w in group])
            yield from zip((w.spec for w in group), outs)

    def chunk_size_for(self, height: int, width: int) -> int:
        """Frames kept per chunk for frames of ``height`` x ``width``: the given ``chunk_size``; else for a per-frame
        model :data:`~wildvsr.defaults.DEFAULT_CHUNK_SIZE` (no overlap to amortize), and for a video model the chunk
        of :meth:`call_plan`."""
        if self.chunk_size is not None:
            return self.chunk_size
        if not self.temporal:
            return DEFAULT_CHUNK_SIZE
        return self.call_plan(height, width)[0]

    def windows_per_call(self, height: int, width: int) -> int:
        """Context windows one model call of a video model takes (1 for a per-frame model): the second half of
        :meth:`call_plan`."""
        return self.call_plan(height, width)[1] if self.temporal else 1

    def call_plan(self, height: int, width: int) -> tuple[int, int]:
        """``(chunk length, windows per call)`` of a video model for frames of ``height`` x ``width``: the model call
        :meth:`process_batch` will really make, in this precision, planned to the memory budget.

        Only untiled windows without a stabilizer are stacked into one call (:meth:`process_batch`); tiled ones go
        one window, one tile at a time, so they are planned for one window of the largest tile. An explicit
        ``chunk_size`` is kept; the windows per call then come down until the call fits (at least one).
        """
        tile = self.tile_for(height, width)
        largest = max(iter_tiles(height, width, tile, self.tile_overlap), key=lambda t: t.height * t.width)
        stackable = self.batch if tile is None and self.stabilizer is None else 1
        fixed = self.spec.estimate_memory(0, largest.height, largest.width, precision=self.precision)
        per_frame = self.spec.estimate_memory(1, largest.height, largest.width, precision=self.precision) - fixed
        if self.chunk_size is not None:
            window = fixed + per_frame * (self.chunk_size + 2 * self.overlap)
            return self.chunk_size, max(1, min(stackable, self.memory_budget // max(1, window)))
        return plan_call(per_frame, fixed, self.overlap, self.memory_budget, MAX_CHUNK_SIZE, stackable,
                         DEFAULT_CHUNK_SIZE)

    def tile_for(self, height: int, width: int) -> int | None:
        """Tile core size for frames of ``height`` x ``width``: the given ``tile`` (None: whole frames); with
        ``"auto"``, :data:`~wildvsr.defaults.AUTO_TILE` for a video model whose frame has a side longer than
        :data:`~wildvsr.defaults.AUTO_TILE_MIN_SIDE` (bounded memory, longer chunks; 52.5 dB from untiled), else
        whole frames."""
        if self.tile != "auto":
            return self.tile
        return AUTO_TILE if self.temporal and max(height, width) > AUTO_TILE_MIN_SIDE else None

    def iter_batches(self, items: Iterable[Item], height: int, width: int) -> Iterator[list[Window[Item]]]:
        """Context windows over ``items`` (frames of ``height`` x ``width``), in order, grouped for one model call:
        up to ``batch`` consecutive windows of one length (the last windows of a video are shorter)."""
        group: list[Window[Item]] = []
        per_call = self.windows_per_call(height, width)
        for window in iter_windows(items, self.chunk_size_for(height, width), self.overlap):
            if group and len(group[0].items) != len(window.items):
                yield group
                group = []
            group.append(window)
            if len(group) == per_call:
                yield group
                group = []
        if group:
            yield group

    def process_batch(self, windows: list[np.ndarray], specs: list[ChunkSpec]) -> list[np.ndarray]:
        """:meth:`process_window` for several windows of a video, in order; untiled windows of one shape go through
        one model call with B = len(windows) (independent chunks: equal to one call per window up to float rounding)."""
        height, width = np.shape(windows[0])[1:3]
        one_call = len(windows) > 1 and len({np.shape(w) for w in windows}) == 1 and self.stabilizer is None and \
            self.tile_for(height, width) is None
        if not one_call:
            return [self.process_window(w, s) for w, s in zip(windows, specs)]
        frames = np.stack([_check_frames(w) for w in windows])  # (B, N, H, W, 3) uint8/uint16
        b, n, h, w, _ = frames.shape
        if self.check_memory:
            self._check_fits(n, h, w, batch=b)
        first = min(s.keep.start for s in specs)  # the union of the kept frames: one call reconstructs them all
        out = self._forward(frames, slice(first, max(s.keep.stop for s in specs)))  # (B, K, 3, 4h, 4w)
        return [self._to_frames(o[s.keep.start - first: s.keep.stop - first], h, w, frames.dtype)
                for o, s in zip(out, specs)]

    def reset(self) -> None:
        """Start a new video: forget the stabilizer's state (a no-op without one)."""
        if self.stabilizer is not None:
            self.stabilizer.reset()

    def process_window(self, frames: np.ndarray, spec: ChunkSpec | None = None) -> np.ndarray:
        """Run the model over one context window and return the kept frames (windows of a video in order when a
        stabilizer is set: it carries its state from one window to the next).

        Args:
            frames: ``(N, H, W, 3)`` uint8 or uint16, the chunk's context window.
            spec: the chunk (its ``keep`` slice selects the output); None keeps all frames.

        Returns:
            ``(K, H*scale, W*scale, 3)`` of the input's dtype.
        """
        frames = _check_frames(frames)
        n, h, w, _ = frames.shape
        keep = spec.keep if spec is not None else slice(0, n)
        p = _pre_pad_size(self.pre_pad, h, w)
        padded = np.pad(frames, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect") if p else frames
        tiles = list(iter_tiles(h + 2 * p, w + 2 * p, self.tile_for(h, w), self.tile_overlap))
        if self.check_memory:  # the largest call this window makes: one clip, or one batch of per-frame images
            largest = max(tiles, key=lambda s: s.height * s.width)
            per_call = n if self.temporal else min(len(range(n)[keep]),
                                                    self.frames_per_call(largest.height, largest.width))
            self._check_fits(per_call, largest.height, largest.width)
        if len(tiles) == 1:
            out = self._forward(padded, keep)  # (K, 3, 4(H + 2p), 4(W + 2p)) on device
        else:
            blender = TileBlender(len(range(n)[keep]), 3, h + 2 * p, w + 2 * p, MODEL_SCALE)
            for t in tiles:
                blender.add(t, self._forward(padded[:, t.y0:t.y1, t.x0:t.x1], keep))
            out = blender.result()
        s = MODEL_SCALE
        out = out[:, :, s * p: s * (p + h), s * p: s * (p + w)]  # (K, 3, 4H, 4W)
        if self.stabilizer is not None:
            lq = to_tensor(frames[keep], self.device)  # (K, 3, H, W)
            out = self.stabilizer(lq, out.to(self.device))
        return self._to_frames(out, h, w, frames.dtype)

    # ---------------------------------------------------------------------------------------------------- helpers
    def _check_fits(self, n: int, h: int, w: int, batch: int = 1) -> None:
        free = available_memory(self.device)
        need = self.spec.estimate_memory(n, h, w, batch=batch, precision=self.precision)
        if free is not None and need > MEMORY_SAFETY * free:
            # Suggest the largest square tile whose estimate fits.
            tile = max(h, w)
            while tile > 32 and self.spec.estimate_memory(n, tile + 2 * self.tile_overlap, tile + 2 * self.tile_overlap,
                                                precision=self.precision) > MEMORY_SAFETY * free:
                tile //= 2
            frames = f"{batch} x {n}" if batch > 1 else f"{n}"
            raise DeviceError(
                f"{frames} frames of {w}x{h} need about {need / 2**30:.1f} GiB on {self.device} but only "
                f"{free / 2**30:.1f} GiB is free; retry with --tile {tile} (or a smaller --chunk-size/--overlap)")

    def _forward(self, frames: np.ndarray, keep: slice = slice(None)) -> torch.Tensor:
        """Model call on ``([B,] N, h, w, 3)`` uint8/uint16 -> ``([B,] K, 3, 4h, 4w)`` float32 [0, 1]-ish (unclamped)
        of the K frames ``keep`` selects, on device (a batch ``B`` of windows only for video models)."""
        if not self.temporal:
            return self._forward_frames(frames[keep])
        batched = frames.ndim == 5
        x = to_tensor(frames if batched else frames[None], self.device)  # (B, N, 3, h, w)
        x, h, w = pad_input(x, self.pad_multiple, self.min_size)
        out = self._guarded_call(x, keep)[..., : h * MODEL_SCALE, : w * MODEL_SCALE]  # (B, K, 3, 4h, 4w)
        return out if batched else out[0]

    def frames_per_call(self, height: int, width: int) -> int:
        """Most frames (per-frame model, at this input size) or context windows (video model, frames of this size:
        :meth:`windows_per_call`) one model call takes; a per-frame batch stays within both
        :data:`FRAME_BATCH_BUDGET` and the memory budget.

        Recorded in the resume manifest: CPU convolution kernels are chosen by shape, so a run resumed with another
        call size could differ from an uninterrupted one in the last bit; a different plan is refused instead."""
        if self.temporal:
            return self.windows_per_call(height, width)
        budget = min(FRAME_BATCH_BUDGET, self.memory_budget)
        return max(1, budget // max(1, self.spec.estimate_memory(1, height, width, precision=self.precision)))

    def _forward_frames(self, frames: np.ndarray) -> torch.Tensor:
        """Per-frame model on ``(N, h, w, 3)`` uint8/uint16 -> ``(N, 3, 4h, 4w)`` float32, in batches of independent
        frames (as many as :data:`FRAME_BATCH_BUDGET` allows by :func:`estimate_memory`, at least one)."""
        n, h, w, _ = frames.shape
        batch = min(n, self.frames_per_call(h, w))
        outs = []
        for i in range(0, n, batch):
            x = to_tensor(frames[i: i + batch], self.device)  # (b, 3, h, w)
            outs.append(self._guarded_call(x))
        return outs[0] if len(outs) == 1 else torch.cat(outs)

    def _guarded_call(self, x: torch.Tensor, keep: slice = slice(None)) -> torch.Tensor:
        """Run the model in the configured precision; recompute in fp32 when the output is not finite."""
        out = self._call(x, self.precision, keep)
        if self.precision != "fp32" and not bool(torch.isfinite(out).all()):
            logger.warning("%s output had NaN/inf values for a chunk of %d frames; recomputed it in fp32",
                           self.precision, x.shape[0] if x.dim() == 4 else x.shape[1])
            del out
            out = self._call(x, "fp32", keep)
        if not bool(torch.isfinite(out).all()):
            raise DeviceError("the model produced NaN/inf values in fp32; the weights may be corrupt")
        return out

    def _call(self, x: torch.Tensor, precision: str, keep: slice = slice(None)) -> torch.Tensor:
        """The model on ``x`` (``(B, C, H, W)`` frames or ``(B, T, C, H, W)`` clips) in ``precision`` and the
        configured memory format and backend; a float32 result (of a clip's ``keep`` frames)."""
        if self.channels_last:
            x = frames_to_channels_last(x)  # oneDNN's AMX / cuDNN's tensor-core kernels want NHWC
        try:
            with torch.no_grad(), autocast(precision, self.device), exact_fp32(precision, self.device):
                if x.dim() == 4:
                    return self._module(x).float()
                if self._takes_keep:
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
