"""Cutting a video into segments for workers (no Ray needed): cover every frame once, cut on the chunk grid, prefer
cuts just after key frames, never leave a part too short to join."""

from __future__ import annotations

import numpy as np
import pytest

from wildvsr.cluster.plan import MIN_PART_FRAMES, MIN_SEGMENT_FRAMES, RECOMPUTE_SHARE, auto_segment_frames, \
    plan_segments
from wildvsr.video.keyframes import keyframe_indices
from helpers.media import synthetic_frames, write_clip


@pytest.mark.parametrize("seed", range(20))
def test_segments_cover_the_video_once_on_the_chunk_grid(seed):
    rng = np.random.default_rng(seed)
    n, t = int(rng.integers(1, 3000)), int(rng.integers(1, 200))
    length, lead_in = int(rng.integers(1, 1000)), int(rng.integers(0, 20))
    keyframes = sorted(set(rng.integers(0, n, size=int(rng.integers(0, 30))).tolist())) or None
    segments = plan_segments(n, length, t, lead_in, keyframes)
    assert segments[0].start == 0 and segments[-1].stop == n
    assert all(a.stop == b.start for a, b in zip(segments, segments[1:]))
    assert all(s.start % t == 0 for s in segments)
    assert all(s.stop - s.start >= MIN_PART_FRAMES for s in segments[:-1])


def test_cuts_move_to_just_after_key_frames():
    """Key frames every 250 frames, chunks of 24, lead-in 8: the cut near 240 moves to 264, whose first decoded
    frame (256) is 6 frames after a key frame instead of 232 - 0 = 232 frames after one."""
    segments = plan_segments(1000, 240, 24, 8, keyframes=list(range(0, 1000, 250)))
    assert [s.start for s in segments] == [0, 264, 528, 768]
    assert [s.start for s in plan_segments(1000, 240, 24, 8)] == [0, 240, 480, 720]


def test_automatic_length_keeps_extra_work_small():
    assert auto_segment_frames(24, 0) == MIN_SEGMENT_FRAMES  # a video model: seams are chunk seams
    length = auto_segment_frames(24, 13)  # fusion's warm-up
    assert length % 24 == 0 and 13 / length <= RECOMPUTE_SHARE


def test_keyframe_indices_from_packets(tmp_path):
    clip = write_clip(tmp_path / "gop.mp4", synthetic_frames(30, 24, 32), options={"g": "10", "bf": "2"})
    keyframes, count = keyframe_indices(clip)
    assert count == 30 and keyframes[0] == 0 and all(k % 10 == 0 for k in keyframes)
