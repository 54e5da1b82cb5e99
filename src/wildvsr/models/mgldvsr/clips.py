"""How MGLD-VSR cuts a video into its fixed-length clips, planned from frame indices alone and streamed.

Clip ``k`` is frames ``[k*s, k*s + length)`` with stride ``s = length - overlap`` (the last clip repeats the video's
final frame to fill its length). Of the frames two neighbouring clips share, each keeps the half nearer its own
centre: clip ``k > 0`` keeps from ``k*s + ceil(overlap/2)``, and a clip that is not the last keeps up to
``k*s + length - floor(overlap/2)``; the first keeps from frame 0 and the last to the video's end. The kept ranges
tile the video. A clip is the last when no frame follows it, so the stream looks one frame ahead and memory holds
``length + 1`` frames whatever the video's length.

Because the plan depends on frame indices only (and MGLD-VSR's noise on ``(seed, frame index)``), a run that starts
at a clip boundary -- a resumed run, or a segment that reads from a clip at or before the one keeping its first frame
(:func:`first_clip_for`) -- computes the very clips the whole run computes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Clip", "clip_stride", "stream_clips", "plan_clips", "first_clip_for"]

Item = TypeVar("Item")


@dataclass(frozen=True)
class Clip:
    """One clip: frames ``first .. first + length - 1`` (clamped to the video's last frame) are fed to the model,
    frames ``[start, stop)`` are kept (absolute indices)."""

    index: int
    first: int
    start: int
    stop: int


def clip_stride(length: int, overlap: int) -> int:
    """Frames between clip starts; ``overlap`` must be in ``[0, length - 1]``."""
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < length:
        raise ValueError(f"the clip overlap must be an integer in [0, {length - 1}] (clips of {length} frames), "
                         f"got {overlap!r}")
    return length - overlap


def first_clip_for(frame: int, length: int, overlap: int) -> int:
    """A clip at or before the one that keeps ``frame``, whatever the video's length: where to start reading for a
    segment that starts at ``frame`` (the clips before the keeping one are skipped, not computed).

    Clip ``k > 0`` usually keeps ``[k*s + ceil(overlap/2), (k+1)*s + ceil(overlap/2))``, but the last clip keeps to
    the video's end, up to ``floor(overlap/2)`` frames further, so the usual clip of a frame near the end may not exist:
    going back ``1 + overlap // s`` clips covers that."""
    stride = clip_stride(length, overlap)
    lead = overlap - overlap // 2  # frames of a clip's start it leaves to the clip before
    usual = max(0, (frame - lead) // stride)
    return max(0, usual - 1 - overlap // stride)


def stream_clips(items: Iterable[Item], length: int, overlap: int, *, first_clip: int = 0
                 ) -> Iterator[tuple[Clip, list[Item]]]:
    """Clips over ``items`` (the frames from index ``first_clip * stride``): yields ``(clip, the clip's length
    frames)``, the final frame repeated to fill a short last clip."""
    stride = clip_stride(length, overlap)
    lead = overlap - overlap // 2
    frames = iter(items)
    buffer = list(itertools.islice(frames, length + 1))  # the clip and one frame that says whether another follows
    k = first_clip
    while buffer:
        first = k * stride
        last = len(buffer) <= length
        real = min(len(buffer), length)
        start = first if k == 0 else first + lead
        stop = first + real if last else first + length - overlap // 2
        yield Clip(k, first, start, stop), [buffer[min(i, real - 1)] for i in range(length)]
        if last:
            return
        del buffer[:stride]
        buffer.extend(itertools.islice(frames, length + 1 - len(buffer)))
        k += 1


def plan_clips(num_frames: int, length: int, overlap: int) -> list[Clip]:
    """The clips of a video of ``num_frames`` frames (what :func:`stream_clips` yields for it)."""
    return [clip for clip, _ in stream_clips(range(num_frames), length, overlap)]
