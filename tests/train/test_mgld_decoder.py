"""MGLD-VSR stage 2 (decoder fine-tuning, Eq. 4-6) at tiny scale: the losses, 20 steps that lower them, exact resume."""

from __future__ import annotations

import io

import pytest
import torch

pytest.importorskip("diffusers")

from wildvsr.models.discriminator import UNetDiscriminatorSN  # noqa: E402
from wildvsr.models.mgldvsr import MGLDVSR  # noqa: E402
from wildvsr.train.mgld_decoder import (  # noqa: E402
    DecoderFinetuner,
    DecoderRecipe,
    frame_difference_loss,
    guided_latents,
    sobel_magnitude,
    structure_weighted_consistency_loss,
)


def _zero_flow(ref: torch.Tensor, _supp: torch.Tensor) -> torch.Tensor:
    return torch.zeros(ref.shape[0], 2, *ref.shape[-2:])


def test_frame_difference_and_swc_losses():
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(1, 3, 3, 16, 16, generator=g)
    assert frame_difference_loss(gt + 0.3, gt).item() == pytest.approx(0.0, abs=1e-6)  # a constant offset is free
    assert frame_difference_loss(gt, gt.flip(1)) > 0
    static = gt[:, :1].expand(1, 3, 3, 16, 16)
    assert structure_weighted_consistency_loss(static, static, _zero_flow).item() == pytest.approx(0.0, abs=1e-7)
    flicker = static + 0.1 * torch.randn(static.shape, generator=g)
    assert structure_weighted_consistency_loss(flicker, static, _zero_flow) > 0
    edges = sobel_magnitude(torch.zeros(1, 1, 8, 8).index_fill_(3, torch.arange(4, 8), 1.0))
    assert edges[0, 0, 4, 3] > 0.1 and edges[0, 0, 4, 0] < 0.01  # weight 1 + 3 S is larger on structure
    # weights come from the GT: the same error costs more on its edges than in its flat areas
    step = torch.zeros(1, 3, 3, 16, 16)
    step[..., 8:] = 1.0
    on_edge, off_edge = step.clone(), step.clone()
    on_edge[:, 1, :, 4:12, 7:9] += 0.2
    off_edge[:, 1, :, 4:12, 1:3] += 0.2
    assert structure_weighted_consistency_loss(on_edge, step, _zero_flow) > \
        1.5 * structure_weighted_consistency_loss(off_edge, step, _zero_flow)


def _setup(seed: int = 0) -> DecoderFinetuner:
    torch.manual_seed(seed)
    model = MGLDVSR(size="tiny")
    disc = UNetDiscriminatorSN(mid_channels=8)
    recipe = DecoderRecipe(lr=2e-3, disc_start=5)
    return DecoderFinetuner(model, disc, _zero_flow, recipe)


def _batches(n: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    gt = torch.rand(1, 3, 3, 32, 32, generator=g)
    lq = torch.nn.functional.avg_pool2d(gt.flatten(0, 1), 4).reshape(1, 3, 3, 8, 8)
    latents = 0.18215 * torch.randn(1, 3, 4, 4, 4, generator=g)
    return [(lq, latents, gt)] * n


def test_twenty_steps_lower_the_losses_and_train_only_temporal_and_cfw():
    tuner = _setup()
    frozen = {n: p.clone() for n, p in tuner.model.named_parameters() if not any(p is q for q in tuner.params)}
    logs = [tuner.step(*b) for b in _batches(20)]
    rec = [x["l1"] + x["diff"] + x["swc"] for x in logs]  # the reconstruction and temporal terms
    assert rec[-1] < 0.95 * rec[0] and logs[-1]["l1"] < 0.95 * logs[0]["l1"], rec  # measured: L1 0.283 -> 0.251
    assert "gan" in logs[-1] and "gan" not in logs[0]
    assert all(torch.equal(p, frozen[n]) for n, p in tuner.model.named_parameters() if n in frozen)


def test_resume_is_exact():
    batches = _batches(20)
    straight = _setup()
    for b in batches:
        straight.step(*b)
    first = _setup()
    for b in batches[:10]:
        first.step(*b)
    buf = io.BytesIO()
    torch.save(first.state_dict(), buf)
    buf.seek(0)
    resumed = _setup()
    resumed.load_state_dict(torch.load(buf, weights_only=True))
    for b in batches[10:]:
        resumed.step(*b)
    assert resumed.step_count == 20
    for p, q in zip(straight.params, resumed.params):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="does not fit"):
        resumed.load_state_dict({**resumed.state_dict(), "params": {"nope": torch.zeros(1)}})


def test_latents_from_the_guided_sampler_feed_a_step():
    tuner = _setup()
    lq, _, gt = _batches(1)[0]
    latents = guided_latents(tuner.model, lq, seed=0)
    assert latents.shape == (1, 3, 4, 4, 4)
    assert torch.equal(latents, guided_latents(tuner.model, lq, seed=0))
    assert set(tuner.step(lq, latents, gt)) >= {"l1", "diff", "swc", "total", "d"}
