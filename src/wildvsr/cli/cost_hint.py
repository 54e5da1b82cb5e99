"""One line, once, when the default model on a CPU is about to take long: what the fast model would cost instead.

The default (``rrdbnet.x4plus``) is chosen for its look, and on a CPU it costs minutes per second of video. A user
who runs it on a long clip learns that from the ETA; this line also says what to do about it, once the job has run
long enough for its own speed to be measured (no figure is guessed: the time left is projected from the frames this
job has finished).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from wildvsr.defaults import DEFAULT_UPSCALE_MODEL, FAST_CPU_MODEL, FAST_CPU_SPEEDUP

#: Seconds of the job before its speed is trusted (model loading and the first chunk are behind it by then).
MEASURE_AFTER_S = 60.0

#: Projected time left above which the hint is printed.
LONG_JOB_S = 20 * 60.0


class CostHint:
    """Wrap a job's ``advance(n)``; print :meth:`message` once on stderr when, after ``after`` seconds, the time left
    at the speed so far exceeds ``threshold`` seconds. Forwards ``set_total``; the total must be known (a job that
    never reports it gets no hint)."""

    def __init__(self, advance: Callable[[int], None], model: str, *, after: float = MEASURE_AFTER_S,
                 threshold: float = LONG_JOB_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.advance, self.model, self.after, self.threshold, self.clock = advance, model, after, threshold, clock
        self.start = clock()
        self.done = 0
        self.total: int | None = None
        self.printed = False

    def set_total(self, total: int) -> None:
        self.total = total
        if hasattr(self.advance, "set_total"):
            self.advance.set_total(total)

    def __call__(self, n: int) -> None:
        self.advance(n)
        self.done += n
        if self.printed or not self.total or self.done <= 0:
            return
        elapsed = self.clock() - self.start
        if elapsed < self.after:
            return
        left = elapsed / self.done * max(self.total - self.done, 0)
        if left > self.threshold:
            self.printed = True
            # inside a rich bar, stderr prints are shown above the bar (rich redirects them)
            print(self.message(left), file=sys.stderr, flush=True)

    def message(self, left_s: float) -> str:
        return (f"hint: at this speed {self.model} needs about {_duration(left_s)} more for this video on this CPU; "
                f"--model {FAST_CPU_MODEL} runs about {FAST_CPU_SPEEDUP}x faster (steadier and softer; README, "
                "'Model status')")


def cost_hint_for(advance: Callable[[int], None] | None, model: str, device: str) -> Callable[[int], None] | None:
    """``advance`` wrapped in a :class:`CostHint` when the default model runs on a CPU; else ``advance`` itself (also
    None, for ``--quiet``)."""
    if advance is None or model != DEFAULT_UPSCALE_MODEL or not _runs_on_cpu(device):
        return advance
    return CostHint(advance, model)


def _runs_on_cpu(device: str) -> bool:
    from wildvsr.errors import VSRError
    from wildvsr.utils.device import resolve_device

    try:
        return resolve_device(device).type == "cpu"
    except VSRError:  # a bad device name: the job itself reports it, in its one line
        return False


def _duration(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
