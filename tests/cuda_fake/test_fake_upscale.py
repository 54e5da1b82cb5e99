"""Upscale on a fake GPU: every registered model in every precision with batch auto, and model calls planned within
the memory budget (issue 26, findings 1 and 2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wildvsr.errors import DeviceError
from wildvsr.inference.device import available_memory
from wildvsr.inference.upscaler import Upscaler, estimate_memory
from wildvsr.models import ModelSpec, create_model
from wildvsr.models.registry import get_model_entry, upscale_models

GIB = 2**30


def tiny(name: str) -> torch.nn.Module:
    return create_model(name, **dict(get_model_entry(name).tiny_kwargs))


def record_calls(up: Upscaler) -> list[tuple[int, ...]]:
    """The input shape of every model call the Upscaler makes."""
    shapes: list[tuple[int, ...]] = []
    module = up._module

    def call(x, *args, **kwargs):
        shapes.append(tuple(x.shape))
        return module(x, *args, **kwargs)

    up._module = call
    return shapes


@pytest.mark.parametrize("precision", ["auto", "fp16", "fp32"])
@pytest.mark.parametrize("name", upscale_models())
def test_every_upscale_model_runs_on_the_gpu(fake_cuda, name, precision):
    """Device placement through the whole path (chunks, batches of windows, pre-pad, output to numpy): a CPU tensor
    meeting a device tensor, or ``.numpy()`` of a device tensor, fails here."""
    frames = np.random.default_rng(0).integers(0, 255, (10, 20, 24, 3), np.uint8)
    with fake_cuda.running():
        up = Upscaler(fake_cuda.fake_module(tiny(name)), "cuda", precision, chunk_size=2, overlap=1)
        out = up.upscale_frames(frames)
    assert out.shape == (10, 80, 96, 3) and out.dtype == np.uint8
    assert up.device == torch.device("cuda", 0) and up.precision == ("bf16" if precision == "auto" else precision)
    assert up.batch == (4 if up.temporal else 1)


def test_a_tiled_gpu_run_stays_on_the_gpu(fake_cuda):
    frames = np.zeros((4, 40, 40, 3), np.uint8)
    with fake_cuda.running():
        up = Upscaler(fake_cuda.fake_module(tiny("basicvsr")), "cuda", "auto", chunk_size=2, overlap=1, tile=16)
        assert up.upscale_frames(frames).shape == (4, 160, 160, 3)


def test_first_gpu_call_of_a_video_model_is_planned_within_the_budget(fake_cuda):
    """Finding 1: with batch auto (4 on CUDA) each window was planned from budget / 4 but never below 24 frames, and
    the 4 windows went into one call: 2.7x the budget for BasicVSR at 480x270. Every call, as made, fits now."""
    model = tiny("basicvsr")
    budget_gib = 0.02
    frames = np.zeros((60, 40, 48, 3), np.uint8)
    with fake_cuda.running():
        up = Upscaler(fake_cuda.fake_module(model), "cuda", "fp32", memory_budget_gib=budget_gib)
        calls = record_calls(up)
        up.upscale_frames(frames)
    assert calls, "no model call"
    for b, n, _c, h, w in calls:  # (B windows, N frames, C, H, W); the fp32 estimate of B clips is B x one clip's
        assert b * estimate_memory(model, n, h, w) <= budget_gib * GIB, (b, n, h, w)


def test_tiled_frames_are_planned_as_one_window_per_call(fake_cuda):
    """Finding 1: tiles never batch, so a tiled video gets the CPU's chunk length on the GPU too (it got 24 frames
    planned for a quarter of the budget)."""
    model = create_model("basicvsr")
    with fake_cuda.running():
        gpu = Upscaler(fake_cuda.fake_module(create_model("basicvsr")), "cuda", "fp32", tile=320)
    cpu = Upscaler(model, "cpu", "fp32", tile=320)
    assert gpu.batch == 4 and gpu.plan(720, 1280).chunk_size == cpu.plan(720, 1280).chunk_size > 24


def test_free_memory_counts_pytorchs_cached_blocks(fake_cuda):
    """Finding 2: cudaMemGetInfo counts the allocator's cached blocks as used; PyTorch reuses them."""
    fake_cuda.free_gib, fake_cuda.reserved_gib, fake_cuda.allocated_gib = 9.5, 6.0, 1.0
    assert available_memory(torch.device("cuda", 0)) == int(14.5 * GIB)


def test_second_chunk_is_not_refused_for_the_first_chunks_cache(fake_cuda):
    """Finding 2 as a run: x4plus-sized RRDBNet at 720p on a 16 GiB card in bf16; after the first chunk PyTorch keeps
    its peak cached (reserved, not allocated), which the driver reports as used."""
    model = create_model("rrdbnet")
    fake_cuda.total_gib = fake_cuda.free_gib = 16
    with fake_cuda.running():
        up = Upscaler(fake_cuda.fake_module(model), "cuda", "auto", chunk_size=2)
        real_call = up._guarded_call

        def call_then_cache(x, keep=slice(None)):
            out = real_call(x, keep)
            peak = estimate_memory(model, x.shape[0], x.shape[-2], x.shape[-1], precision=up.precision) / GIB
            fake_cuda.reserved_gib = max(fake_cuda.reserved_gib, peak)
            fake_cuda.free_gib = fake_cuda.total_gib - 0.5 - fake_cuda.reserved_gib
            return out

        up._guarded_call = call_then_cache
        done: list[int] = []
        up.upscale_frames(np.zeros((4, 720, 1280, 3), np.uint8), progress=done.append)
    assert done == [2, 2] and fake_cuda.reserved_gib > 5  # a 720p chunk's cache: more than the card has left


def test_estimate_follows_the_precision():
    """Finding 2: the estimate is fp32-calibrated; under bf16/fp16 autocast the feature activations take half (the
    fp32 input and x4 output do not), and a batch of clips costs that many clips."""
    for model in (create_model("basicvsr"), create_model("rrdbnet")):
        fp32 = estimate_memory(model, 20, 180, 320, precision="fp32")
        assert fp32 / 2 < estimate_memory(model, 20, 180, 320, precision="bf16") < 0.75 * fp32
        assert estimate_memory(model, 20, 180, 320, batch=3) == 3 * fp32


def test_out_of_memory_empties_the_cache_after_the_except_block(fake_cuda):
    """Finding 7: inside the ``except`` block the traceback still holds the failed call's tensors."""

    class Exhausted(torch.nn.Module):
        spec = ModelSpec(temporal=False)

        def forward(self, _x):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    with fake_cuda.running():
        up = Upscaler(Exhausted(), "cuda", "fp32")
        with pytest.raises(DeviceError, match="ran out of memory"):
            up.upscale_frames(np.zeros((2, 16, 16, 3), np.uint8))
    assert fake_cuda.exc_at_empty_cache == [None]
