"""Progress of a long CLI job, always on stderr (stdout keeps what a command reports as its result).

* On a terminal: a rich bar (count, speed, elapsed, ETA). It stays on screen when the job ends, so it is the record
  of the run there; no closing line repeats it.
* Otherwise (``> log 2>&1``, a service, a pipe): one plain line every :data:`LOG_INTERVAL` seconds with the count,
  speed and ETA, so a log shows the job is alive, and one closing line when the job succeeds, e.g.
  ``upscaling: 240 frames in 0:01:52 (2.14 fps) -> out.mp4``, so even a job shorter than the interval leaves a
  word that it ran, what it wrote and how fast. A job that fails prints its error instead.
* ``quiet``: none of it (errors are the caller's business and still print).

The count is in ``unit``: ``frames`` for the video jobs (speed in fps), or e.g. ``sequences`` (speed in
sequences/s) for jobs that count items.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer

#: The ``--quiet`` option of every long job, declared once so it means the same everywhere.
QuietOption = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress on stderr: no bar, no periodic lines, no closing line (errors still print).")]

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
def progress(label: str, source: Path | None = None, *, output: Path | None = None, unit: str = "frames",
             quiet: bool = False, limit: int | None = None) -> Iterator[Callable[[int], None] | None]:
    """Yield ``advance(n)`` for a job reading ``source`` and writing ``output`` (None with ``quiet``).

    Without ``source`` the total is unknown until the job reports it through ``advance.set_total(n)`` (jobs that
    count their work anyway, e.g. :func:`wildvsr.degrade.degrade_video`, do), so the CLI need not open the input.
    ``output`` is only named in the closing line.
    """
    if quiet:
        yield None
        return
    total = source_frames(source, limit) if source is not None else None
    if sys.stderr.isatty():
        with _bar(label, total, unit) as advance:
            yield advance
        return
    log = LogProgress(label, total, float(os.environ.get("WILDVSR_PROGRESS_SECONDS", LOG_INTERVAL)), unit=unit)
    yield log  # an exception from the job propagates here: no closing line for a job that failed
    print(log.closing_line(output), file=sys.stderr, flush=True)


class LogProgress:
    """``advance(n)`` that prints ``LABEL: 12/40 frames (30%), 1.52 fps, ETA 0:00:18`` at most once per ``interval``
    seconds (the first line after one interval, so a short job prints none), and the job's :meth:`closing_line`."""

    def __init__(self, label: str, total: int | None, interval: float, clock: Callable[[], float] = time.monotonic,
                 unit: str = "frames") -> None:
        self.label, self.total, self.interval, self.clock, self.unit = label, total, interval, clock, unit
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
        rate = self.done / elapsed
        if self.total:
            left = max(self.total - self.done, 0)
            eta = _clock(left / rate) if rate > 0 else "?"
            return (f"{self.label}: {self.done}/{self.total} {self.unit} ({100 * self.done / self.total:.0f}%), "
                    f"{_speed(rate, self.unit)}, ETA {eta}")
        return f"{self.label}: {self.done} {self.unit}, {_speed(rate, self.unit)}, {_clock(elapsed)} elapsed"

    def closing_line(self, output: Path | None = None) -> str:
        """``LABEL: 240 frames in 0:01:52 (2.14 fps) -> OUTPUT``: the count done, wall time and throughput."""
        elapsed = max(self.clock() - self.start, 1e-9)
        written = f" -> {output}" if output is not None else ""
        unit = self.unit[:-1] if self.done == 1 and self.unit.endswith("s") else self.unit  # "1 sequence"
        return f"{self.label}: {self.done} {unit} in {_clock(elapsed)} ({_speed(self.done / elapsed, self.unit)}){written}"


def _speed(rate: float, unit: str) -> str:
    return f"{rate:.2f} {_per_second(unit)}"


def _per_second(unit: str) -> str:
    return "fps" if unit == "frames" else f"{unit}/s"


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


@contextlib.contextmanager
def _bar(label: str, total: int | None, unit: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (count, speed, elapsed, ETA)."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    from rich.text import Text

    class SpeedColumn(ProgressColumn):
        def render(self, task) -> Text:  # noqa: ANN001 (rich's Task)
            speed = task.finished_speed or task.speed
            return Text(_speed(speed, unit) if speed else f"- {_per_second(unit)}")

    # markup=False: a label is a file name (batch inputs) and may hold square brackets, which rich would eat
    bar = Progress(TextColumn(label, markup=False), BarColumn(), MofNCompleteColumn(), TextColumn(unit, markup=False),
                   SpeedColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                   console=Console(stderr=True))
    with bar:
        yield _BarAdvance(bar, bar.add_task(unit, total=total))


class _BarAdvance:
    """``advance(n)`` of a rich bar, with ``set_total(n)`` for a job that reports its total."""

    def __init__(self, bar, task) -> None:  # noqa: ANN001 (rich's Progress and TaskID)
        self.bar, self.task = bar, task

    def __call__(self, n: int) -> None:
        self.bar.advance(self.task, n)

    def set_total(self, total: int) -> None:
        self.bar.update(self.task, total=total)
