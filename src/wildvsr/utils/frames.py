"""Frames <-> tensors, written once: integer ``(..., H, W, C)`` numpy frames (uint8, or uint16 for >8-bit sources)
and float ``(..., C, H, W)`` torch tensors in [0, 1] (``(T, C, H, W)`` clips, ``(B, T, C, H, W)`` batches: leading
dimensions pass through unchanged).

One rounding rule, for every site: clamp to [0, 1], scale by the format's maximum (255 or 65535), round half to even
(``torch.round``). Integer -> float divides by the same maximum in the target dtype, so ``to_frames(to_tensor(a))``
gives back ``a`` exactly for every uint8 and every uint16 value (``tests/utils/test_frames.py``).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["to_tensor", "to_frames", "frame_max"]

_MAX = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


def frame_max(dtype: np.dtype | type) -> int:
    """The white level of an integer frame dtype (255 for uint8, 65535 for uint16)."""
    try:
        return _MAX[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"frames must be uint8 or uint16, got {np.dtype(dtype)}") from None


def to_tensor(frames: np.ndarray, device: torch.device | str | None = None,
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(..., H, W, C)`` uint8/uint16 -> ``(..., C, H, W)`` float in [0, 1] on ``device`` (a new tensor)."""
    top = frame_max(frames.dtype)
    a = np.ascontiguousarray(frames)
    t = torch.from_numpy(a if a.dtype == np.uint8 else a.astype(np.int32))  # torch has few uint16 kernels
    return t.to(device).movedim(-1, -3).to(dtype).div_(top)


def to_frames(x: torch.Tensor, dtype: type = np.uint8) -> np.ndarray:
    """``(..., C, H, W)`` float (any device, values outside [0, 1] clipped) -> ``(..., H, W, C)`` ``dtype`` on CPU,
    rounded half to even."""
    top = frame_max(dtype)
    q = (x.detach().clamp(0, 1) * top).round()
    q = q.to(torch.uint8) if top == 255 else q.to(torch.int32)
    return q.movedim(-3, -1).cpu().numpy().astype(dtype, copy=False)
