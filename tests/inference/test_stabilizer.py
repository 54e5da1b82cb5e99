"""The temporal stabilizer: the screened-Poisson solve against a dense reference, flicker removal without ghosts,
chunked == whole, state round trip, and the name registry."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from wildvsr.errors import ConfigError, InputError
from wildvsr.inference.stabilizer import (STABILIZERS, FlowStabilizer, StabilizerSettings, build_stabilizer,
                                          screened_poisson_lowpass)


def _scene(frames: int = 6, size: int = 48, seed: int = 0, shift: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """A textured scene panning ``shift`` px per frame: input ``(T, 3, size, size)`` and its clean bicubic x4."""
    g = torch.Generator().manual_seed(seed)
    big = F.avg_pool2d(torch.rand(1, 3, size, size + shift * frames, generator=g), 3, 1, 1)
    lq = torch.cat([big[..., shift * t:shift * t + size] for t in range(frames)])
    return lq, F.interpolate(lq, scale_factor=4, mode="bicubic", align_corners=False)


def _flicker(clean: torch.Tensor, seed: int = 1, amount: float = 0.03, offset: float = 0.0) -> torch.Tensor:
    """Per-frame independent texture (the detail a per-frame GAN invents anew for each frame), plus a per-frame
    colour offset up to ``offset`` (low-frequency flicker)."""
    g = torch.Generator().manual_seed(seed)
    shift = offset * (2 * torch.rand(clean.shape[0], 3, 1, 1, generator=g) - 1)
    return clean + amount * torch.randn(clean.shape, generator=g) + shift


def _dense_screened_poisson(x: torch.Tensor, lam: float) -> torch.Tensor:
    """Reference: solve (lam I + L) u = lam x with the Neumann 5-point Laplacian L as a dense linear system."""
    h, w = x.shape
    n = h * w
    a = torch.eye(n, dtype=torch.float64) * lam
    for y in range(h):
        for x0 in range(w):
            i = y * w + x0
            for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                yy, xx = y + dy, x0 + dx
                if 0 <= yy < h and 0 <= xx < w:  # a missing neighbour is the pixel itself: zero flux (Neumann)
                    a[i, i] += 1
                    a[i, yy * w + xx] -= 1
    return torch.linalg.solve(a, lam * x.double().reshape(n)).reshape(h, w)


def test_screened_poisson_matches_dense_solve():
    x = torch.rand(1, 2, 7, 9, generator=torch.Generator().manual_seed(3))
    got = screened_poisson_lowpass(x, 0.3)
    for c in range(2):
        want = _dense_screened_poisson(x[0, c], 0.3)
        # float32 FFT of a 14x18 array: rounding near 1e-7 of the values
        assert torch.allclose(got[0, c].double(), want, atol=1e-5), (got[0, c].double() - want).abs().max()
    # A constant passes unchanged (the zero frequency has gain 1)
    assert torch.allclose(screened_poisson_lowpass(torch.full((1, 1, 5, 6), 0.4), 0.01), torch.tensor(0.4))


@pytest.mark.parametrize("name", sorted(STABILIZERS))
def test_flicker_is_reduced_on_a_panning_scene(name):
    lq, clean = _scene()
    sr = _flicker(clean, amount=0.01, offset=0.05)
    out = build_stabilizer(name)(lq, sr)
    assert out.shape == sr.shape
    # Frame-to-frame change of the flicker part (the clean scene is removed with the same pan as the input).
    raw = (sr - clean)[1:].sub((sr - clean)[:-1]).abs().mean()
    stab = (out - clean)[1:].sub((out - clean)[:-1]).abs().mean()
    assert stab < 0.9 * raw, (float(stab), float(raw))
    assert torch.equal(out[0], sr[0])  # the first frame has nothing to agree with


def test_fusion_stabilizer_reduces_flicker_a_lot_and_keeps_the_scene():
    lq, clean = _scene()
    sr = _flicker(clean)
    out = build_stabilizer("fusion")(lq, sr)
    raw = (sr - clean)[1:].sub((sr - clean)[:-1]).abs().mean()
    stab = (out - clean)[1:].sub((out - clean)[:-1]).abs().mean()
    assert stab < 0.7 * raw, (float(stab), float(raw))
    assert (out - clean).abs().mean() < (sr - clean).abs().mean()  # no drift: closer to the clean frames


def test_scene_cut_passes_through_without_ghost():
    lq_a, clean_a = _scene(frames=3, seed=0)
    lq_b, clean_b = _scene(frames=3, seed=5)
    lq, sr = torch.cat([lq_a, lq_b]), _flicker(torch.cat([clean_a, clean_b]))
    for name in STABILIZERS:
        out = build_stabilizer(name)(lq, sr)
        # The first frame after the cut is (almost) the model's own output: nothing of the old scene is blended in.
        assert (out[3] - sr[3]).abs().mean() < 0.002, name


def test_chunked_equals_whole_and_state_round_trips():
    lq, clean = _scene(frames=7)
    sr = _flicker(clean)
    whole = build_stabilizer("fusion")(lq, sr)
    stab = build_stabilizer("fusion")
    first = stab(lq[:3], sr[:3])
    resumed = build_stabilizer("fusion")
    resumed.load_state_dict(stab.state_dict())
    second = resumed(lq[3:], sr[3:])
    chunked = torch.cat([first, second])
    mse = float(((chunked - whole) ** 2).mean())
    assert mse == 0 or -10 * torch.log10(torch.tensor(mse)) > 60  # only float rounding of batched flows may differ
    stab.reset()
    assert stab.state_dict() == {}
    assert torch.equal(stab(lq, sr), whole)


def test_strength_zero_is_identity_and_bad_shapes_are_refused():
    lq, clean = _scene(frames=3)
    stab = FlowStabilizer(StabilizerSettings(strength=0.0))
    assert torch.equal(stab(lq, clean), clean)
    with pytest.raises(InputError, match=r"\(N, 3, 4H, 4W\)"):
        stab(lq, clean[..., :-4])


def test_names():
    assert build_stabilizer("off") is None
    with pytest.raises(ConfigError, match="fusion"):
        build_stabilizer("nope")
