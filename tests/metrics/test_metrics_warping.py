"""Warping error: zero for a static clip, larger for flicker than for a smooth change, invariant to a recovered pan."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.media import synthetic_frames
from wildvsr.errors import InputError
from wildvsr.metrics import create_metric, warping_error
from wildvsr.models.flow import consistency_mask

H, W, MARGIN = 64, 96, 12


def _texture(seed: int = 0) -> np.ndarray:
    """A textured RGB scene larger than the clips, uint8 (H + 2 MARGIN, W + 2 MARGIN + 16, 3)."""
    rng = np.random.default_rng(seed)
    base = synthetic_frames(1, H + 2 * MARGIN, W + 2 * MARGIN + 16, seed=seed)[0].astype(np.float32)
    noise = rng.normal(0, 1, base.shape[:2]).astype(np.float32)
    blurred = (noise + np.roll(noise, 1, 0) + np.roll(noise, 1, 1) + np.roll(noise, (1, 1), (0, 1))) * 20
    return np.clip(base * 0.6 + blurred[..., None] + 50, 0, 255).astype(np.uint8)


def _clips() -> dict[str, np.ndarray]:
    scene = _texture()
    view = scene[MARGIN:MARGIN + H, MARGIN:MARGIN + W]
    frames = 5
    gain = lambda g: np.clip(view.astype(np.float32) * g, 0, 255).astype(np.uint8)  # noqa: E731
    return {
        "static": np.stack([view] * frames),
        # the camera pans: content moves 2 px left per frame
        "pan": np.stack([scene[MARGIN:MARGIN + H, MARGIN + 2 * t:MARGIN + 2 * t + W] for t in range(frames)]),
        "flicker": np.stack([gain(1.0 + 0.2 * (t % 2)) for t in range(frames)]),
        "smooth": np.stack([gain(1.0 + 0.02 * t) for t in range(frames)]),
    }


def zero_flow(ref: torch.Tensor, _supp: torch.Tensor) -> torch.Tensor:
    return torch.zeros(ref.shape[0], 2, *ref.shape[-2:])


def global_shift_flow(ref: torch.Tensor, supp: torch.Tensor, radius: int = 4) -> torch.Tensor:
    """Exact flow for a global integer translation: the shift minimising the interior difference, per batch item."""
    out = torch.zeros(ref.shape[0], 2, *ref.shape[-2:])
    r = radius
    for b in range(ref.shape[0]):
        best, best_err = (0, 0), float("inf")
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                moved = supp[b, :, r + dy:ref.shape[-2] - r + dy, r + dx:ref.shape[-1] - r + dx]
                err = (ref[b, :, r:-r, r:-r] - moved).abs().mean().item()
                if err < best_err:
                    best, best_err = (dx, dy), err
        out[b, 0], out[b, 1] = best
    return out


@pytest.fixture(scope="module")
def clips():
    return _clips()


def test_static_clip_is_zero_with_exact_flow(clips):
    # float32 bilinear sampling at integer positions: ~1e-7 of full range, i.e. ~1e-5 grey levels
    assert warping_error(clips["static"], flow_fn=zero_flow) == pytest.approx(0.0, abs=1e-4)
    assert warping_error(clips["static"], flow_fn=global_shift_flow) == pytest.approx(0.0, abs=1e-4)


def test_pan_is_invariant_with_a_flow_that_recovers_it(clips):
    panned = warping_error(clips["pan"], flow_fn=global_shift_flow)
    assert panned == pytest.approx(0.0, abs=1e-4)  # the in-bounds mask drops the 2 px that enter the view
    assert warping_error(clips["pan"], flow_fn=zero_flow) > 5.0  # without the flow, the pan is "inconsistent"


def test_flicker_scores_worse_than_smooth_change(clips):
    flicker = warping_error(clips["flicker"], flow_fn=global_shift_flow)
    smooth = warping_error(clips["smooth"], flow_fn=global_shift_flow)
    assert flicker > 5 * smooth > 0


@pytest.mark.slow
def test_with_spynet_official_weights(clips):
    """The same three properties with the default flow (SPyNet, official BasicVSR weights), as reported."""
    metric = create_metric("warping_error")
    static, pan = metric(clips["static"]), metric(clips["pan"])
    flicker, smooth = metric(clips["flicker"]), metric(clips["smooth"])
    unaligned_pan = warping_error(clips["pan"], flow_fn=zero_flow)
    # SPyNet predicts a few hundredths of a pixel of flow between identical frames, so on this noisy texture a static
    # clip scores ~0.5 grey levels, not 0; the pan scores about the same; both are far below the unaligned pan (~45).
    assert static < 0.05 * unaligned_pan
    assert pan < 1.5 * static + 0.2 and pan < 0.05 * unaligned_pan
    assert flicker > 3 * smooth > 3 * static


def test_flow_on_reference_frames_and_per_pair(clips):
    # Flow from the (static) ground truth, frames flickering: the flicker is measured, not explained away by the flow.
    mean, pairs = warping_error(clips["flicker"], reference=clips["static"], flow_fn=zero_flow, per_pair=True)
    assert len(pairs) == 4 and mean == pytest.approx(np.mean(pairs)) and mean > 10


def test_pixel_budget_splits_flow_calls_without_changing_the_result(clips):
    """``max_pixels`` bounds each SPyNet call (one pair at a time here); per-pair values are unchanged."""
    calls = []

    def counting_flow(ref, supp):
        calls.append(ref.shape[0])
        return global_shift_flow(ref, supp)

    _, whole = warping_error(clips["pan"], flow_fn=counting_flow, per_pair=True)
    assert max(calls) > 1
    calls.clear()
    h, w = clips["pan"].shape[1:3]
    _, split = warping_error(clips["pan"], flow_fn=counting_flow, per_pair=True, max_pixels=h * w)
    assert set(calls) == {1}
    assert split == pytest.approx(whole, abs=1e-5)


def test_scale_and_float_input(clips):
    a = warping_error(clips["smooth"], flow_fn=zero_flow, scale=255.0)
    b = warping_error(clips["smooth"].astype(np.float32) / 255.0, flow_fn=zero_flow, scale=1000.0)
    assert a * 1000.0 / 255.0 == pytest.approx(b, rel=1e-4)


def test_consistency_mask_flags_inconsistent_flow():
    backward = torch.zeros(1, 2, 8, 8)
    forward = torch.zeros(1, 2, 8, 8)
    forward[..., 2:4, 2:4] = 5.0  # forward flow that does not undo the backward flow there
    mask = consistency_mask(backward, forward)
    assert not mask[0, 0, 2:4, 2:4].any() and mask.sum() == 64 - 4


def test_bad_inputs(clips):
    with pytest.raises(InputError):
        warping_error(clips["static"][:1], flow_fn=zero_flow)
    with pytest.raises(InputError):
        warping_error(clips["static"][..., 0], flow_fn=zero_flow)
    with pytest.raises(InputError):
        warping_error(clips["static"], reference=clips["static"][:, :32], flow_fn=zero_flow)
