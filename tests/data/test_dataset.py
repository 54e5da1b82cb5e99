"""Sequence sampling: determinism, crops/flips of the whole sequence, temporal mirror, sharding, seeking, cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from wildvsr.data import (FrameSource, SequenceSpec, ShardedSampleSampler, VideoSequenceDataset, augment,
                          build_clip_index, mirror_in_time)
from wildvsr.errors import ConfigError

from helpers.media import synthetic_frames, write_clip


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    frames = {}
    for i in range(3):
        frames[i] = synthetic_frames(10, 40, 48, seed=i)
        write_clip(root / f"c{i}.mkv", frames[i], codec="ffv1", pix_fmt="bgr0")  # lossless
    return root, frames


def test_mirror_and_augment():
    x = np.arange(2 * 2 * 3 * 1).reshape(2, 2, 3, 1)
    assert np.array_equal(mirror_in_time(x), np.concatenate([x, x[::-1]]))
    y = augment(x, hflip=True, vflip=False, transpose=True)
    assert y.shape == (2, 3, 2, 1) and np.array_equal(y, x[:, :, ::-1].transpose(0, 2, 1, 3))


def test_samples_are_reproducible_and_correct(clips):
    root, frames = clips
    spec = SequenceSpec(num_frames=6, stochastic=True, gt_size=32)
    index = build_clip_index([str(root)], spec.frames_to_load, spec.gt_size)
    assert [c.num_frames for c in index] == [10, 10, 10]
    ds = VideoSequenceDataset(index, spec, seed=7)
    a, b = ds[5], ds[5]
    assert torch.equal(a["gt"], b["gt"]) and a["gt"].shape == (6, 3, 32, 32)
    assert not torch.equal(ds[5]["gt"], ds[6]["gt"])
    assert not torch.equal(VideoSequenceDataset(index, spec, seed=8)[5]["gt"], a["gt"])
    for k in range(6):
        s = ds[k]
        gt = s["gt"]
        assert torch.equal(gt[:3], gt[3:].flip(0))  # L/2 frames then mirrored
        clip = int(Path(index[s["clip"]].path).stem[1:])
        top, left = s["crop"]
        raw = frames[clip][s["start"]:s["start"] + 3, top:top + 32, left:left + 32]
        expected = augment(raw, *s["flips"])  # the same flips for every frame
        got = (gt[:3].permute(0, 2, 3, 1) * 255).round().byte().numpy()
        assert np.array_equal(got, expected)
    # each pass over the clips visits every clip once (per-epoch permutation)
    assert sorted(ds.clip_for(k) for k in range(3)) == [0, 1, 2]


def test_fixed_sample_set_repeats(clips):
    root, _ = clips
    spec = SequenceSpec(num_frames=4, gt_size=32, num_samples=2)
    ds = VideoSequenceDataset.from_roots([str(root)], spec, seed=0)
    assert torch.equal(ds[0]["gt"], ds[2]["gt"]) and torch.equal(ds[1]["gt"], ds[5]["gt"])


def test_sampler_shards_and_resumes():
    r0 = ShardedSampleSampler(batch_size=2, rank=0, world_size=2, max_steps=3)
    r1 = ShardedSampleSampler(batch_size=2, rank=1, world_size=2, max_steps=3)
    a, b = list(r0), list(r1)
    assert a == [0, 1, 4, 5, 8, 9] and b == [2, 3, 6, 7, 10, 11] and not set(a) & set(b)
    assert list(ShardedSampleSampler(2, 0, 2, start_step=1, max_steps=3)) == a[2:]
    assert len(r0) == 6


def test_frame_source_seeks_and_caches(clips):
    root, frames = clips
    info = build_clip_index([str(root / "c1.mkv")], 1, 1)[0]
    src = FrameSource(cache_mb=0)
    assert np.array_equal(src.read(info, 6, 3), frames[1][6:9])
    cached = FrameSource(cache_mb=1)
    assert np.array_equal(cached.read(info, 2, 4), frames[1][2:6])
    assert info.path in cached._cache and np.array_equal(cached.read(info, 7, 2), frames[1][7:9])


def test_clip_index_errors(clips, tmp_path):
    root, _ = clips
    with pytest.raises(ConfigError, match="data.roots"):
        build_clip_index([str(tmp_path / "missing")], 4, 32)
    with pytest.raises(ConfigError, match="data.roots"):
        build_clip_index([str(root)], 40, 32)  # every clip too short
    with pytest.raises(ConfigError, match="data.roots"):
        build_clip_index([], 4, 32)
