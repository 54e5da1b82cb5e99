"""Cutting a video into segments for independent workers (issue 28).

A segment ``[start, stop)`` is restored with the context a whole run gives its frames (:mod:`wildvsr.inference.
segments`): it reads ``lead_in`` frames before ``start`` and, for a video model, ``overlap`` frames after ``stop``.
Its ends lie on the chunk grid (multiples of the chunk length T), where a segment runs exactly the whole run's model
calls, so the joined output equals a one-machine run's up to the stated tolerance, and a video model's segment seams
are chunk seams: its context frames are the ones a one-machine run computes for its chunks anyway. Only a carried
state's warm-up (a per-frame model's stabilizer, a streaming model's recurrence) is extra work, and there the seam
matches a one-machine run to the warm-up's fidelity (README), so an automatic segment is long enough that the
warm-up stays a small share (:func:`auto_segment_frames`). Among the grid points near each ideal cut, the one whose first decoded frame
(``start - lead_in``) is closest after a key frame is taken: a worker seeks to that key frame and decodes forward, so
that wastes least.
"""

from __future__ import annotations

import bisect
import math

from wildvsr.inference.segments import Segment

__all__ = ["RECOMPUTE_SHARE", "auto_segment_frames", "plan_segments"]

RECOMPUTE_SHARE = 0.05
"""Largest share of a segment's frames computed only for it, beyond what a one-machine run computes (a stabilizer's
warm-up), when its length is chosen automatically."""

MIN_PART_FRAMES = 4
"""Fewest frames of a segment that is not the last: x264 encodes 1-2 frames without B-frames, so such a part's decode
timestamps lack the delay of its neighbours' and the join (:func:`wildvsr.video.join_segments`) refuses the seam."""

MIN_SEGMENT_FRAMES = 96
"""Shortest automatic segment: a task also pays a fixed start-up (model load, seek, encoder; measured by
``benchmarks/cluster_scaling.py``)."""


def auto_segment_frames(chunk_size: int, extra_frames: int) -> int:
    """The automatic segment length: a multiple of ``chunk_size`` whose ``extra_frames`` (computed for this segment
    only: a stabilizer's warm-up; 0 for a video model, whose context frames are chunk context anyway) are at most
    :data:`RECOMPUTE_SHARE` of it, and at least :data:`MIN_SEGMENT_FRAMES`."""
    frames = max(MIN_SEGMENT_FRAMES, math.ceil(extra_frames / RECOMPUTE_SHARE))
    return max(1, math.ceil(frames / chunk_size)) * chunk_size


def plan_segments(num_frames: int, segment_frames: int, chunk_size: int, lead_in: int = 0,
                  keyframes: list[int] | None = None) -> list[Segment]:
    """Cut ``num_frames`` frames into segments of about ``segment_frames`` (rounded to whole chunks), every cut on
    the chunk grid; with ``keyframes`` (sorted frame indices), each cut moves by up to a quarter segment to the grid
    point whose first decoded frame is nearest after a key frame.

    Raises:
        ValueError: non-positive sizes.
    """
    if num_frames < 1 or segment_frames < 1 or chunk_size < 1 or lead_in < 0:
        raise ValueError(f"sizes must be positive: {num_frames}, {segment_frames}, {chunk_size}, {lead_in}")
    chunks = max(1, round(segment_frames / chunk_size), math.ceil(MIN_PART_FRAMES / chunk_size))  # whole chunks
    total = math.ceil(num_frames / chunk_size)
    slack = chunks // 4
    cuts = [0]
    while total - cuts[-1] > chunks + slack:  # the last segment may run a quarter long rather than be a stub
        ideal = cuts[-1] + chunks
        options = range(max(cuts[-1] + 1, ideal - slack), min(total - 1, ideal + slack) + 1)
        cuts.append(min(options, key=lambda c: (_decode_waste(c * chunk_size, lead_in, keyframes), abs(c - ideal))))
    bounds = [c * chunk_size for c in cuts] + [num_frames]
    return [Segment(a, b) for a, b in zip(bounds, bounds[1:])]


def _decode_waste(start: int, lead_in: int, keyframes: list[int] | None) -> int:
    """Frames decoded and thrown away by a segment starting at ``start``: from the key frame at or before its first
    decoded frame up to it (0 without key frame information)."""
    if not keyframes:
        return 0
    first = max(0, start - lead_in)
    i = bisect.bisect_right(keyframes, first) - 1
    return first - keyframes[i] if i >= 0 else first
