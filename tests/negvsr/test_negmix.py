"""NegMix: identity, angle frequencies per rule, pixel multisets per patch, time sharing, targets, seeding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from wildvsr.errors import InputError
from wildvsr.negvsr import PROB_LEVELS, negmix, rotate_patches


def _clip(b=2, t=3, h=64, w=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, t, 3, h, w, generator=g)


def _patches(x: torch.Tensor, ps: int) -> torch.Tensor:
    """(B, T, C, H, W) -> (B, T, gh, gw, C, ps, ps)."""
    b, t, c, h, w = x.shape
    return x.reshape(b, t, c, h // ps, ps, w // ps, ps).permute(0, 1, 3, 5, 2, 4, 6)


def test_p0_m0_is_identity():
    lq, noise = _clip(seed=0), _clip(seed=1)
    out, params = negmix(lq, noise, generator=torch.Generator().manual_seed(0), mix_weight=0.0, prob=0.0,
                         return_params=True)
    assert torch.equal(out, lq)
    assert not params.selected.any() and (params.k == 0).all()


def test_p0_is_the_plain_mix():
    lq, noise = _clip(seed=0), _clip(seed=1)
    out = negmix(lq, noise, generator=torch.Generator().manual_seed(0), mix_weight=0.5, prob=0.0)
    torch.testing.assert_close(out, 0.5 * lq + 0.5 * noise)


def test_m1_p0_is_the_noise():
    lq, noise = _clip(seed=0), _clip(seed=1)
    out = negmix(lq, noise, generator=torch.Generator().manual_seed(0), mix_weight=1.0, prob=0.0)
    torch.testing.assert_close(out, noise)


def test_rotation_matches_torch_rot90_per_patch():
    x = _clip(b=2, t=2, h=16, w=24)
    k = torch.randint(0, 4, (2, 2, 4, 6), generator=torch.Generator().manual_seed(3))
    out = rotate_patches(x, k, 4)
    px, po = _patches(x, 4), _patches(out, 4)
    for idx in np.ndindex(*k.shape):
        assert torch.equal(po[idx], torch.rot90(px[idx], int(k[idx]), dims=(1, 2)))


@pytest.mark.parametrize("rule, expected", [("paper", [0.25, 0.25, 0.25, 0.25]), ("official", [0.4, 0.2, 0.2, 0.2])])
def test_p1_angle_frequencies_follow_the_rule(rule, expected):
    lq = torch.zeros(16, 4, 3, 64, 64)
    _, params = negmix(lq, lq, generator=torch.Generator().manual_seed(1), prob=1.0, rule=rule, return_params=True)
    assert params.selected.all()  # P = 1: every patch receives a rotation draw
    counts = torch.bincount(params.k.flatten(), minlength=4).numpy()
    n = counts.sum()
    assert n == 16 * 4 * 16 * 16
    stat = chisquare(counts, np.array(expected) * n)
    assert stat.pvalue > 1e-3, (counts / n, expected)
    np.testing.assert_allclose(counts / n, expected, atol=0.01)


def test_selection_rate_follows_p():
    lq = torch.zeros(8, 4, 3, 64, 64)
    _, params = negmix(lq, lq, generator=torch.Generator().manual_seed(2), prob=0.3, return_params=True)
    assert abs(params.selected.float().mean().item() - 0.3) < 0.01


def test_rotation_preserves_each_patch_multiset():
    lq, noise = _clip(seed=4), _clip(seed=5)
    out = negmix(lq, noise, generator=torch.Generator().manual_seed(0), mix_weight=0.5, prob=1.0)
    mixed = 0.5 * lq + 0.5 * noise
    before = _patches(mixed, 4).flatten(-2).sort(dim=-1).values
    after = _patches(out, 4).flatten(-2).sort(dim=-1).values
    assert torch.equal(before, after)
    assert not torch.equal(out, mixed)  # and something did move


def test_per_frame_false_shares_angles_over_time():
    lq, noise = _clip(t=5), _clip(t=5, seed=1)
    out, params = negmix(lq, noise, generator=torch.Generator().manual_seed(0), prob=1.0, per_frame=False,
                         return_params=True)
    assert params.k.shape == (2, 1, 16, 16)
    expected = rotate_patches(0.5 * lq + 0.5 * noise, params.k.expand(2, 5, 16, 16), 4)
    torch.testing.assert_close(out, expected)
    _, per_frame = negmix(lq, noise, generator=torch.Generator().manual_seed(0), prob=1.0, return_params=True)
    assert per_frame.k.shape == (2, 5, 16, 16) and not (per_frame.k == per_frame.k[:, :1]).all()


def test_target_noise_rotates_only_the_noise():
    lq, noise = _clip(seed=0), _clip(seed=1)
    out, params = negmix(lq, noise, generator=torch.Generator().manual_seed(0), prob=1.0, target="noise",
                         return_params=True)
    torch.testing.assert_close(out, 0.5 * lq + 0.5 * rotate_patches(noise, params.k, 4))


def test_additive_mode_for_zero_mean_noise():
    lq, noise = _clip(seed=0), _clip(seed=1) - 0.5
    out = negmix(lq, noise, generator=torch.Generator().manual_seed(0), mix_weight=0.5, prob=0.0, mode="additive")
    torch.testing.assert_close(out, lq + 0.5 * noise)


def test_p_is_drawn_from_the_eleven_levels_per_sample():
    lq = torch.zeros(400, 1, 3, 8, 8)
    _, params = negmix(lq, lq, generator=torch.Generator().manual_seed(0), return_params=True)
    levels = torch.tensor(PROB_LEVELS)
    assert torch.isclose(params.prob[:, None], levels[None]).any(dim=1).all()
    assert len(torch.unique((params.prob * 10).round())) == 11


def test_seeded_and_differentiable():
    lq, noise = _clip(seed=0).requires_grad_(), _clip(seed=1)
    a = negmix(lq, noise, generator=torch.Generator().manual_seed(7))
    b = negmix(lq, noise, generator=torch.Generator().manual_seed(7))
    c = negmix(lq, noise, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    a.sum().backward()
    torch.testing.assert_close(lq.grad, torch.full_like(lq, 0.5))  # a permutation of 0.5 * lq: gradient 0.5


def test_bad_inputs():
    lq = _clip()
    g = torch.Generator()
    with pytest.raises(InputError):
        negmix(lq, lq[:, :2], generator=g)
    with pytest.raises(InputError):
        negmix(_clip(h=30, w=30), _clip(h=30, w=30), generator=g)
    with pytest.raises(InputError):
        negmix(lq, lq, generator=g, rule="nope")
    with pytest.raises(InputError):
        negmix(lq, lq, generator=g, prob=1.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_on_gpu_matches_cpu_given_the_same_draws():
    lq, noise = _clip(), _clip(seed=1)
    out_cpu = negmix(lq, noise, generator=torch.Generator().manual_seed(0))
    out_gpu = negmix(lq.cuda(), noise.cuda(), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out_gpu.cpu(), out_cpu)
