"""Chunk planning, streaming windows, tiles and feather weights (pure helpers)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wildvsr.inference.chunking import ChunkSpec, iter_windows, plan_chunks
from wildvsr.inference.tiling import TileBlender, iter_tiles, tile_weight


@pytest.mark.parametrize("n,t,o", [(1, 4, 2), (10, 4, 2), (12, 4, 0), (31, 24, 8), (7, 10, 3), (100, 7, 16)])
def test_windows_match_plan_and_cover_each_frame_once(n, t, o):
    plan = plan_chunks(n, t, o)
    windows = list(iter_windows(range(n), t, o))
    assert [w.spec for w in windows] == plan
    kept = [i for w in windows for i in w.kept]
    assert kept == list(range(n))
    for w in windows:
        s = w.spec
        assert w.items == list(range(s.context_start, s.context_stop))
        assert s.context_start == max(0, s.start - o) and s.context_stop == min(n, s.stop + o)
        assert len(w.items) <= t + 2 * o


def test_stream_buffer_is_bounded():
    """The rolling buffer never holds more than T + 2*overlap items, whatever the length."""
    t, o = 5, 3
    pulled = []

    class Item:
        def __init__(self, i):
            self.i = i

    def source():
        for i in range(200):
            pulled.append(i)
            yield Item(i)

    import weakref
    refs = {}
    max_alive = 0
    for w in iter_windows(source(), t, o):
        refs.update((x.i, weakref.ref(x)) for x in w.items)
        del w
        max_alive = max(max_alive, sum(r() is not None for r in refs.values()))
    assert len(pulled) == 200
    assert max_alive == t + 2 * o  # every middle window holds exactly T + 2*overlap, and nothing else is kept


def test_chunk_spec_keep_slice():
    s = ChunkSpec(1, 4, 8, 2, 10)
    assert list(range(2, 10))[s.keep] == [4, 5, 6, 7] and s.num_frames == 4


def test_plan_rejects_bad_sizes():
    with pytest.raises(ValueError):
        plan_chunks(10, 0, 1)
    with pytest.raises(ValueError):
        list(iter_windows(range(3), 2, -1))


@pytest.mark.parametrize("h,w,tile,ov", [(48, 64, 16, 4), (50, 37, 16, 8), (64, 64, 64, 8), (30, 100, 32, 0)])
def test_tiles_cover_frame_exactly(h, w, tile, ov):
    cover = np.zeros((h, w), int)
    for s in iter_tiles(h, w, tile, ov):
        cover[s.core_y0:s.core_y1, s.core_x0:s.core_x1] += 1
        assert 0 <= s.y0 <= s.core_y0 < s.core_y1 <= s.y1 <= h
        assert 0 <= s.x0 <= s.core_x0 < s.core_x1 <= s.x1 <= w
        assert s.core_y0 - s.y0 <= ov and s.y1 - s.core_y1 <= ov
    assert (cover == 1).all()


def test_single_tile_when_tile_covers_frame():
    assert len(list(iter_tiles(40, 50, None))) == 1
    assert len(list(iter_tiles(40, 50, 64, 8))) == 1


def test_feather_weight_is_one_on_core_and_ramps_in_context():
    spec = next(s for s in iter_tiles(64, 64, 32, 8) if s.core_x0 == 32 and s.core_y0 == 0)
    wgt = tile_weight(spec, 4)  # output pixels
    assert wgt.shape == (spec.height * 4, spec.width * 4)
    assert np.all(wgt > 0) and np.all(wgt <= 1)
    row = wgt[0]
    band = 8 * 4
    assert np.all(np.diff(row[:band]) > 0)  # rises across the left context band
    assert np.allclose(row[band:], 1)  # core (at the right frame edge: no band)


def test_blender_reconstructs_a_constant_and_a_gradient():
    h, w, s = 37, 53, 4
    truth = torch.linspace(0, 1, h * s * w * s).reshape(1, 1, h * s, w * s).repeat(2, 3, 1, 1)
    blender = TileBlender(2, 3, h, w, s)
    for spec in iter_tiles(h, w, 16, 5):
        blender.add(spec, truth[:, :, spec.y0 * s:spec.y1 * s, spec.x0 * s:spec.x1 * s])
    assert torch.allclose(blender.result(), truth, atol=1e-6)


# ------------------------------------------------------------------------------------------------ the upscale plan
def test_one_plan_per_video_with_one_meaning_per_setting():
    """``tile`` means the same in UpscaleConfig and Upscaler (None: auto, 0: whole frames, N: tiles of N), its bounds
    are checked by one function with one error type, and the plan a config gives is the plan the Upscaler runs."""
    import dataclasses

    from wildvsr.defaults import AUTO_TILE
    from wildvsr.errors import ConfigError
    from wildvsr.inference import UpscaleConfig, Upscaler, build_upscaler
    from wildvsr.models import create_model

    model = create_model("basicvsr", mid_channels=8, num_blocks=1)
    for tile, expected in ((None, AUTO_TILE), (0, 0), (64, 64)):
        up = build_upscaler(UpscaleConfig(device="cpu", precision="fp32", tile=tile), model)
        plan = up.plan(360, 640)
        assert plan.tile == expected and plan == Upscaler(model, "cpu", "fp32", tile=tile).plan(360, 640)
        with pytest.raises(dataclasses.FrozenInstanceError):
            plan.tile = 1
    for bad in ({"tile": 8}, {"chunk_size": 0}, {"overlap": -1}, {"backend": "tvm"}, {"scale": 5}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            UpscaleConfig(**bad)
        with pytest.raises(ConfigError, match=next(iter(bad))):
            Upscaler(model, "cpu", **bad)
    plan = Upscaler(model, "cpu", "fp32", chunk_size=5, tile=0).plan(20, 30)
    assert (plan.chunk_size, plan.overlap, plan.precision, plan.spec.name) == (5, 8, "fp32", "basicvsr")
    assert plan.manifest_settings() == {"precision": "fp32", "chunk_size": 5, "tile": None, "tile_overlap": None,
                                        "frames_per_call": 1}


def test_run_takes_finished_chunks_from_the_resume_hook():
    """:meth:`Upscaler.run` is the one loop: with a resume hook it loads the chunks the hook has and computes the
    others, giving what an uninterrupted run gives (same calls on the same shapes: bit-equal)."""
    from wildvsr.inference import Upscaler
    from wildvsr.models import create_model
    from helpers.media import synthetic_frames

    torch.manual_seed(0)
    up = Upscaler(create_model("basicvsr", mid_channels=8, num_blocks=1), "cpu", "fp32", chunk_size=3, overlap=2)
    frames = synthetic_frames(8, 12, 16, seed=3)
    plan = up.plan(12, 16)
    full = list(up.run(iter(frames), plan))
    assert [c.computed for c in full] == [True] * 3 and all(c.state is None for c in full)

    class Done:  # chunk 1 finished before
        def has(self, index):
            return index == 1

        def load_chunk(self, spec):
            return full[spec.index].frames

        def load_state(self, index):  # noqa: ARG002
            raise AssertionError("no stabilizer: no state to restore")

    resumed = list(up.run(iter(frames), plan, resume=Done()))
    assert [c.computed for c in resumed] == [True, False, True]
    for a, b in zip(full, resumed):
        assert a.window.spec == b.window.spec
        np.testing.assert_array_equal(a.frames, b.frames)
