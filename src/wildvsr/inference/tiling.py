"""Spatial tiles with context and feathered blending, as pure functions.

A frame is cut into a grid of *cores* of ``tile`` x ``tile`` input pixels (the last row/column may be smaller). Each tile
runs the model on its core grown by ``tile_overlap`` pixels of context on every side (clipped to the frame). Its output
is weighted 1 over the core and falls linearly to nearly 0 across the context band, so two neighbours cross-fade over
``2 * tile_overlap`` pixels centred on their shared core edge, and every tile's own border pixels (the ones hurt by
zero padding and flows leaving the tile) get almost no weight. Weights are normalised by their sum, so any layout
blends correctly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class TileSpec:
    """One tile, in input pixels (output pixels are these times the model scale).

    Attributes:
        y0, y1, x0, x1: the region fed to the model (core plus context), end-exclusive.
        core_y0, core_y1, core_x0, core_x1: the core this tile is responsible for.
    """

    y0: int
    y1: int
    x0: int
    x1: int
    core_y0: int
    core_y1: int
    core_x0: int
    core_x1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0


def _starts(size: int, tile: int) -> list[int]:
    return list(range(0, size, tile))


def iter_tiles(height: int, width: int, tile: int | None, tile_overlap: int = 0) -> Iterator[TileSpec]:
    """Tiles covering a ``height`` x ``width`` frame in row-major order; one whole-frame tile when ``tile`` is None or
    covers the frame.

    Args:
        tile: core size in input pixels (>= 1).
        tile_overlap: context pixels added on each side of a core (clipped to the frame).
    """
    if tile is None or (tile >= height and tile >= width):
        yield TileSpec(0, height, 0, width, 0, height, 0, width)
        return
    if tile < 1 or tile_overlap < 0:
        raise ValueError(f"tile must be >= 1 and tile_overlap >= 0, got {tile}, {tile_overlap}")
    for cy0 in _starts(height, tile):
        cy1 = min(cy0 + tile, height)
        for cx0 in _starts(width, tile):
            cx1 = min(cx0 + tile, width)
            yield TileSpec(max(0, cy0 - tile_overlap), min(height, cy1 + tile_overlap),
                           max(0, cx0 - tile_overlap), min(width, cx1 + tile_overlap), cy0, cy1, cx0, cx1)


def _ramp(length: int, lo: int, hi: int, core_lo: int, core_hi: int, scale: int) -> np.ndarray:
    """1-D weight over the output span ``[lo*scale, hi*scale)``: 1 on the core, linear fall-off in the context bands."""
    pos = np.arange(lo * scale, hi * scale, dtype=np.float64) + 0.5  # output pixel centres
    weight = np.ones(length * scale, np.float64)
    left = (core_lo - lo) * scale
    if left > 0:  # context band before the core: rises from ~0 at the tile edge to 1 at the core
        weight = np.minimum(weight, (pos - lo * scale) / left)
    right = (hi - core_hi) * scale
    if right > 0:
        weight = np.minimum(weight, (hi * scale - pos) / right)
    return weight


def tile_weight(spec: TileSpec, scale: int) -> np.ndarray:
    """Feather weight of a tile's output, ``(H_out, W_out)`` float32 in (0, 1]."""
    wy = _ramp(spec.height, spec.y0, spec.y1, spec.core_y0, spec.core_y1, scale)
    wx = _ramp(spec.width, spec.x0, spec.x1, spec.core_x0, spec.core_x1, scale)
    return np.outer(wy, wx).astype(np.float32)


class TileBlender:
    """Accumulates weighted tile outputs of a ``(T, C, H*scale, W*scale)`` chunk and returns the blended result.

    The accumulator lives on CPU in float32 (the device only ever holds one tile's output).
    """

    def __init__(self, num_frames: int, channels: int, height: int, width: int, scale: int) -> None:
        self.scale = scale
        self.acc = torch.zeros(num_frames, channels, height * scale, width * scale, dtype=torch.float32)
        self.weight = torch.zeros(height * scale, width * scale, dtype=torch.float32)

    def add(self, spec: TileSpec, out: torch.Tensor) -> None:
        """Add one tile's output ``(T, C, spec.height*scale, spec.width*scale)``."""
        s = self.scale
        w = torch.from_numpy(tile_weight(spec, s))
        ys, xs = slice(spec.y0 * s, spec.y1 * s), slice(spec.x0 * s, spec.x1 * s)
        self.acc[:, :, ys, xs] += out.float().cpu() * w
        self.weight[ys, xs] += w

    def result(self) -> torch.Tensor:
        """The blended chunk ``(T, C, H*scale, W*scale)`` float32."""
        return self.acc / self.weight.clamp_min(1e-12)
