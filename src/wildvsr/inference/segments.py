"""A segment of a video, ``[start, stop)`` in frames: the unit of work of a preview, of a batch and of a cluster.

A segment is restored exactly as the same frames of a whole run are: it reads the frames before ``start`` that its
plan's lead-in asks for (:attr:`~wildvsr.inference.plan.UpscalePlan.lead_in`: a video model's temporal context, the
frames that warm a per-frame model's stabilizer up) and a video model's right context after ``stop``, and its chunks
are cut on the grid ``start + k*T``. So a segment whose ``start`` (and ``stop``, unless it is the video's end) is a
multiple of the chunk length T gets exactly the whole run's chunks; elsewhere the seam is within the overlap fidelity
that README states (measured by ``tests/inference/test_segments.py``).

Frame indices count decoded frames in presentation order from 0. Times (``--start``/``--duration``) are seconds from
the video's first frame, turned into frames at the source's average rate (exact for constant-frame-rate video).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from wildvsr.errors import InputError

__all__ = ["Segment", "parse_frames", "parse_seconds"]


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, stop)`` of a video; ``stop`` None: to its end."""

    start: int = 0
    stop: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.start, bool) or not isinstance(self.start, int) or self.start < 0:
            raise InputError(f"a segment starts at a frame index >= 0, got {self.start!r}")
        if self.stop is not None and (isinstance(self.stop, bool) or not isinstance(self.stop, int)
                                      or self.stop <= self.start):
            raise InputError(f"a segment's end must be after its start ({self.start}), got {self.stop!r}")

    @classmethod
    def from_seconds(cls, start: float, duration: float | None, fps: float) -> Segment:
        """The frames shown from ``start`` seconds for ``duration`` seconds (None: to the end) at ``fps``: the first
        frame at or after each time."""
        if start < 0 or (duration is not None and duration <= 0):
            raise InputError(f"--start must be >= 0 and --duration > 0 seconds, got {start} and {duration}")
        first = _frame_at(start, fps)
        if duration is None:
            return cls(first)
        return cls(first, max(first + 1, _frame_at(start + duration, fps)))

    def within(self, num_frames: int | None) -> Segment:
        """This segment clipped to a video of ``num_frames`` frames (unknown: unchanged; an open end stays open).

        Raises:
            InputError: the segment starts at or after the video's end.
        """
        if num_frames is None:
            return self
        if self.start >= num_frames:
            raise InputError(f"the segment starts at frame {self.start} but the input has {num_frames} frames "
                             f"(0 to {num_frames - 1})")
        return Segment(self.start, None if self.stop is None else min(self.stop, num_frames))

    @property
    def whole(self) -> bool:
        """The whole video (no segment asked for)."""
        return self.start == 0 and self.stop is None

    def label(self) -> str:
        """``A:B`` as ``--frames`` takes it."""
        return f"{self.start}:{'' if self.stop is None else self.stop}"


def _frame_at(seconds: float, fps: float) -> int:
    # the first frame shown at or after ``seconds``; a hair of slack so that 2.0 s at 25 fps is frame 50, not 51
    return max(0, math.ceil(seconds * fps - 1e-6))


_FRAMES = re.compile(r"^\s*(\d*)\s*:\s*(\d*)\s*$")


def parse_frames(text: str) -> Segment:
    """``A:B`` (frames A to B-1), ``A:`` (from A) or ``:B`` (the first B frames).

    Raises:
        InputError: anything else, in one line.
    """
    match = _FRAMES.match(text or "")
    if not match or not (match.group(1) or match.group(2)):
        raise InputError(f"--frames takes A:B (frames A to B-1), A: or :B, got {text!r}")
    start = int(match.group(1) or 0)
    stop = int(match.group(2)) if match.group(2) else None
    return Segment(start, stop)


def parse_seconds(text: str, option: str) -> float:
    """Seconds from ``90``, ``90.5``, ``1:30`` or ``0:01:30.5``.

    Raises:
        InputError: not a time, in one line naming ``option``.
    """
    parts = (text or "").strip().split(":")
    try:
        if len(parts) > 3 or not all(p.strip() for p in parts):
            raise ValueError(text)
        values = [float(p) for p in parts]
    except ValueError:
        raise InputError(f"{option} takes seconds (90.5) or [H:]M:S (1:30.5), got {text!r}") from None
    seconds = 0.0
    for value in values:
        seconds = seconds * 60 + value
    if not math.isfinite(seconds) or seconds < 0 or any(v < 0 for v in values):
        raise InputError(f"{option} must be a time >= 0, got {text!r}")
    return seconds
