"""Run a x4 video model over frames: temporal chunks, spatial tiles, precision guard, output resize.

:class:`Upscaler` holds only settings and the model; every call works on its arguments (nothing per call is kept on
``self``), so one instance can serve several videos.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from wildvsr.errors import DeviceError, InputError
from wildvsr.inference.chunking import ChunkSpec, iter_windows
from wildvsr.inference.config import DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP, DEFAULT_TILE_OVERLAP, MODEL_SCALE
from wildvsr.inference.device import (autocast, available_memory, check_precision, empty_cache, is_out_of_memory,
                                      out_of_memory_error, resolve_device)
from wildvsr.inference.tiling import TileBlender, iter_tiles

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


def estimate_memory(model: torch.nn.Module, frames: int, height: int, width: int, scale: int = MODEL_SCALE) -> int:
    """Rough peak bytes of one fp32 forward of a BasicVSR-style model on ``frames`` x ``height`` x ``width``.

    Per input pixel and frame it counts the stored propagation features and the x4 output, plus the transient
    reconstruction activations of one frame at x2/x4 and SPyNet's full-resolution features for all frame pairs. It is
    used only to refuse calls that clearly cannot fit, before any work is done.
    """
    mid = int(getattr(model, "mid_channels", 64))
    per_frame = 4 * (2 * mid + 3 * scale * scale + 3 + 4 + 96)  # features, output, input, flows, SPyNet activations
    transient = 4 * (mid * scale * scale + 4 * mid * (scale // 2) ** 2 * 2)  # one frame's upsampling path
    return int(height * width * (frames * per_frame + transient))


class Upscaler:
    """A x4 recurrent video model with chunking, tiling and precision handling.

    Args:
        model: ``(B, T, 3, H, W)`` [0, 1] -> ``(B, T, 3, 4H, 4W)`` module (e.g. ``create_model("basicvsr", ...)``).
        device: ``auto``, ``cpu``, ``cuda[:N]`` or a ``torch.device``.
        precision: ``fp32``, ``bf16`` (CUDA, or CPU) or ``fp16`` (CUDA only).
        chunk_size: frames kept per temporal chunk.
        overlap: context frames on each side of a chunk.
        tile: spatial tile core size in input pixels, or None for whole frames.
        tile_overlap: context pixels around each tile (feather-blended).
        scale: output scale 2, 3 or 4 (2 and 3 resize the x4 output, antialiased bicubic).
        check_memory: refuse a model call whose estimated memory exceeds the free memory (a clear error instead of
            swapping or an allocator crash).
    """

    def __init__(self, model: torch.nn.Module, device: str | torch.device = "cpu", precision: str = "fp32",
                 chunk_size: int = DEFAULT_CHUNK_SIZE, overlap: int = DEFAULT_OVERLAP, tile: int | None = None,
                 tile_overlap: int = DEFAULT_TILE_OVERLAP, scale: int = MODEL_SCALE, *, check_memory: bool = True,
                 ) -> None:
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        check_precision(precision, self.device)
        if chunk_size < 1 or overlap < 0:
            raise InputError(f"chunk_size must be >= 1 and overlap >= 0, got {chunk_size}, {overlap}")
        if tile is not None and tile < 1:
            raise InputError(f"tile must be >= 1, got {tile}")
        if scale not in (2, 3, 4):
            raise InputError(f"scale must be 2, 3 or 4, got {scale}")
        self.model = model.to(self.device).eval()
        self.precision = precision
        self.chunk_size = chunk_size
        self.overlap = overlap
        self.tile = tile
        self.tile_overlap = tile_overlap
        self.scale = scale
        self.check_memory = check_memory
        self.pad_multiple = int(getattr(model, "pad_multiple", 1))
        self.min_size = int(getattr(model, "min_input_size", 1))

    # ----------------------------------------------------------------------------------------------------- public
    def upscale_frames(self, frames: np.ndarray, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Upscale a clip held in memory, chunk by chunk.

        Args:
            frames: ``(T, H, W, 3)`` uint8 RGB.
            progress: called with the number of frames finished after each chunk.

        Returns:
            ``(T, H*scale, W*scale, 3)`` uint8 RGB.
        """
        frames = _check_frames(frames)
        outs = []
        for spec, out in self.stream(iter(frames)):
            outs.append(out)
            if progress is not None:
                progress(spec.num_frames)
        return np.concatenate(outs, 0)

    def stream(self, frames: Iterable[np.ndarray]) -> Iterator[tuple[ChunkSpec, np.ndarray]]:
        """Upscale a stream of ``(H, W, 3)`` uint8 frames; yields each chunk and its kept output frames.

        Holds at most ``chunk_size + 2*overlap`` input frames at a time.
        """
        for window in iter_windows(frames, self.chunk_size, self.overlap):
            yield window.spec, self.process_window(np.stack(window.items), window.spec)

    def process_window(self, frames: np.ndarray, spec: ChunkSpec | None = None) -> np.ndarray:
        """Run the model over one context window and return the kept frames.

        Args:
            frames: ``(N, H, W, 3)`` uint8, the chunk's context window.
            spec: the chunk (its ``keep`` slice selects the output); None keeps all frames.

        Returns:
            ``(K, H*scale, W*scale, 3)`` uint8.
        """
        frames = _check_frames(frames)
        n, h, w, _ = frames.shape
        keep = spec.keep if spec is not None else slice(0, n)
        tiles = list(iter_tiles(h, w, self.tile, self.tile_overlap))
        if self.check_memory:
            largest = max(tiles, key=lambda s: s.height * s.width)
            self._check_fits(n, largest.height, largest.width)
        x = torch.from_numpy(np.ascontiguousarray(frames))  # (N, H, W, 3) uint8
        if len(tiles) == 1:
            out = self._forward(x, n)[keep]  # (K, 3, 4H, 4W) on device
        else:
            blender = TileBlender(n, 3, h, w, MODEL_SCALE)
            for t in tiles:
                blender.add(t, self._forward(x[:, t.y0:t.y1, t.x0:t.x1], n))
            out = blender.result()[keep]
        return self._to_frames(out, h, w)

    # ---------------------------------------------------------------------------------------------------- helpers
    def _check_fits(self, n: int, h: int, w: int) -> None:
        free = available_memory(self.device)
        need = estimate_memory(self.model, n, h, w)
        if free is not None and need > MEMORY_SAFETY * free:
            # Suggest the largest square tile whose estimate fits.
            tile = max(h, w)
            while tile > 32 and estimate_memory(self.model, n, tile + 2 * self.tile_overlap,
                                                tile + 2 * self.tile_overlap) > MEMORY_SAFETY * free:
                tile //= 2
            raise DeviceError(
                f"{n} frames of {w}x{h} need about {need / 2**30:.1f} GiB on {self.device} but only "
                f"{free / 2**30:.1f} GiB is free; retry with --tile {tile} (or a smaller --chunk-size/--overlap)")

    def _forward(self, frames: torch.Tensor, n: int) -> torch.Tensor:
        """Model call on ``(N, h, w, 3)`` uint8 -> ``(N, 3, 4h, 4w)`` float32 [0, 1]-ish (unclamped), on device."""
        x = frames.to(self.device).permute(0, 3, 1, 2).float().div_(255).unsqueeze(0)  # (1, N, 3, h, w)
        x, h, w = pad_input(x, self.pad_multiple, self.min_size)
        out = self._guarded_call(x)
        return out[0, :, :, : h * MODEL_SCALE, : w * MODEL_SCALE]  # (N, 3, 4h, 4w)

    def _guarded_call(self, x: torch.Tensor) -> torch.Tensor:
        """Run the model in the configured precision; recompute in fp32 when the output is not finite."""
        out = self._call(x, self.precision)
        if self.precision != "fp32" and not bool(torch.isfinite(out).all()):
            logger.warning("%s output had NaN/inf values for a chunk of %d frames; recomputed it in fp32",
                           self.precision, x.shape[1])
            del out
            out = self._call(x, "fp32")
        if not bool(torch.isfinite(out).all()):
            raise DeviceError("the model produced NaN/inf values in fp32; the weights may be corrupt")
        return out

    def _call(self, x: torch.Tensor, precision: str) -> torch.Tensor:
        try:
            with torch.no_grad(), autocast(precision, self.device):
                return self.model(x).float()
        except (RuntimeError, MemoryError) as exc:
            if is_out_of_memory(exc):
                empty_cache(self.device)
                raise out_of_memory_error(self.device, x.shape[1], x.shape[3], x.shape[4], self.tile) from exc
            raise

    def _to_frames(self, out: torch.Tensor, h: int, w: int) -> np.ndarray:
        """``(K, 3, 4h, 4w)`` float -> ``(K, h*scale, w*scale, 3)`` uint8 on CPU (resizing when scale < 4)."""
        if self.scale != MODEL_SCALE:
            out = F.interpolate(out, size=(h * self.scale, w * self.scale), mode="bicubic", align_corners=False,
                                antialias=True)
        out = out.clamp_(0, 1).mul_(255).round_().to(torch.uint8)
        return out.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def _check_frames(frames: np.ndarray) -> np.ndarray:
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        got = f"{getattr(frames, 'dtype', type(frames).__name__)} {getattr(frames, 'shape', '')}"
        raise InputError(f"frames must be a (T, H, W, 3) uint8 array, got {got}")
    if frames.shape[0] == 0:
        raise InputError("frames is empty: nothing to upscale")
    return frames
