"""wildvsr.utils.frames: exact round trips, shapes, the one rounding rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wildvsr.utils.frames import frame_max, to_frames, to_tensor


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_every_value_round_trips_exactly(dtype):
    values = np.arange(frame_max(dtype) + 1, dtype=np.int64).astype(dtype)
    frames = np.stack([values, values[::-1], values], axis=-1).reshape(1, 1, -1, 3)  # (T=1, H=1, W, 3)
    x = to_tensor(frames)
    assert x.dtype == torch.float32 and x.shape == (1, 3, 1, values.size)
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    back = to_frames(x, dtype)
    assert back.dtype == dtype and np.array_equal(back, frames)


def test_shapes_pass_leading_dimensions_through():
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, size=(2, 4, 5, 6, 3), dtype=np.uint8)  # (B, T, H, W, C)
    x = to_tensor(clip)
    assert x.shape == (2, 4, 3, 5, 6)
    assert torch.equal(x[1, 2, 0], torch.from_numpy(clip[1, 2, :, :, 0]).float() / 255)
    assert to_frames(x).shape == clip.shape


def test_rounding_rule_clamps_then_rounds_half_to_even():
    # 0.5/255 and 2.5/255 are exact halves: half to even gives 0 and 2; out-of-range values clip
    x = torch.tensor([-0.2, 0.5 / 255, 1.5 / 255, 2.5 / 255, 254.6 / 255, 1.7], dtype=torch.float64)
    out = to_frames(x.reshape(1, 1, 6))  # (C=1, H=1, W=6) -> (1, 6, 1)
    assert out.ravel().tolist() == [0, 0, 2, 2, 255, 255]


def test_other_dtypes_are_refused():
    with pytest.raises(TypeError, match="uint8 or uint16"):
        to_tensor(np.zeros((2, 2, 3), np.float32))
