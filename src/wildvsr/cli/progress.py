"""Progress of a long job on stderr: a rich bar on a terminal, otherwise (``> log 2>&1``, a service, a pipe) one plain
line every :data:`LOG_INTERVAL` seconds with frames done, speed and ETA, so a log shows the job is alive."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

#: Seconds between two progress lines when stderr is not a terminal (env ``WILDVSR_PROGRESS_SECONDS`` overrides).
LOG_INTERVAL = 10.0


def source_frames(source: Path, limit: int | None = None) -> int | None:
    """The frame count the input declares (capped by ``limit``), or None when unknown or unreadable (a bad input is
    reported by the job itself)."""
    from wildvsr.video import VideoReader

    total = None
    with contextlib.suppress(Exception), VideoReader(source) as reader:
        total = reader.info.num_frames
    if total is not None and limit is not None:
        total = min(total, limit)
    return total


@contextlib.contextmanager
def progress(label: str, source: Path | None = None, *, quiet: bool = False, limit: int | None = None
             ) -> Iterator[Callable[[int], None] | None]:
    """Yield ``advance(n_frames)`` for a job reading ``source`` (None with ``quiet``).

    Without ``source`` the total is unknown until the job reports it through ``advance.set_total(n)`` (jobs that
    count their frames anyway, e.g. :func:`wildvsr.degrade.degrade_video`, do), so the CLI need not open the input.
    """
    if quiet:
        yield None
        return
    total = source_frames(source, limit) if source is not None else None
    if sys.stderr.isatty():
        with _bar(label, total) as advance:
            yield advance
        return
    interval = float(os.environ.get("WILDVSR_PROGRESS_SECONDS", LOG_INTERVAL))
    yield LogProgress(label, total, interval)


class LogProgress:
    """``advance(n)`` that prints ``LABEL: 12/40 frames (30%), 1.52 fps, ETA 0:00:18`` at most once per ``interval``
    seconds (the first line after one interval, so a short job prints nothing)."""

    def __init__(self, label: str, total: int | None, interval: float, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.label, self.total, self.interval, self.clock = label, total, interval, clock
        self.start = self.last = clock()
        self.done = 0

    def set_total(self, total: int) -> None:
        self.total = total

    def __call__(self, n: int) -> None:
        self.done += n
        now = self.clock()
        if now - self.last < self.interval:
            return
        self.last = now
        print(self.line(now), file=sys.stderr, flush=True)

    def line(self, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        fps = self.done / elapsed
        if self.total:
            left = max(self.total - self.done, 0)
            eta = _clock(left / fps) if fps > 0 else "?"
            return (f"{self.label}: {self.done}/{self.total} frames ({100 * self.done / self.total:.0f}%), "
                    f"{fps:.2f} fps, ETA {eta}")
        return f"{self.label}: {self.done} frames, {fps:.2f} fps, {_clock(elapsed)} elapsed"


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


@contextlib.contextmanager
def _bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (frames, fps, elapsed, ETA)."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    from rich.text import Text

    class FpsColumn(ProgressColumn):
        def render(self, task) -> Text:  # noqa: ANN001 (rich's Task)
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.2f} fps" if speed else "- fps")

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), FpsColumn(), TimeElapsedColumn(),
                   TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True))
    with bar:
        yield _BarAdvance(bar, bar.add_task("frames", total=total))


class _BarAdvance:
    """``advance(n)`` of a rich bar, with ``set_total(n)`` for a job that reports its total."""

    def __init__(self, bar, task) -> None:  # noqa: ANN001 (rich's Progress and TaskID)
        self.bar, self.task = bar, task

    def __call__(self, n: int) -> None:
        self.bar.advance(self.task, n)

    def set_total(self, total: int) -> None:
        self.bar.update(self.task, total=total)
