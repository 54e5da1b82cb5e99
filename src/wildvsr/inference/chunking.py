"""Temporal chunks for bidirectional recurrent models, planned and streamed with a bounded buffer.

Chunk ``k`` keeps frames ``[k*T, (k+1)*T)`` and runs the model on ``[k*T - overlap, (k+1)*T + overlap)``, both
clipped to the video. Only the kept centre is output, so each kept frame has seen ``overlap`` frames of context in both
directions (or the video's start/end). The plan depends only on the frame index, not on the video length, so a stream
of unknown length is chunked exactly as an in-memory array of the same frames, and memory stays bounded by
``T + 2*overlap`` frames whatever the length.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass(frozen=True)
class ChunkSpec:
    """One temporal chunk.

    Attributes:
        index: chunk number from 0.
        start: first kept frame (absolute index).
        stop: one past the last kept frame.
        context_start: first frame fed to the model.
        context_stop: one past the last frame fed to the model.
    """

    index: int
    start: int
    stop: int
    context_start: int
    context_stop: int

    @property
    def num_frames(self) -> int:
        """Kept frames."""
        return self.stop - self.start

    @property
    def keep(self) -> slice:
        """Slice of the kept frames within the context window."""
        return slice(self.start - self.context_start, self.stop - self.context_start)


def plan_chunk_size(frame_bytes: int, fixed_bytes: int, overlap: int, budget_bytes: int, max_chunk: int) -> int:
    """The longest kept length ``T <= max_chunk`` whose context window fits the memory budget (at least 1).

    A chunk's model call holds ``T + 2*overlap`` frames, estimated at ``frame_bytes`` each plus ``fixed_bytes``. The
    recomputed share of a long video's work is ``2*overlap / (T + 2*overlap)``; a longer T lowers it, so T is as long
    as the budget allows. The result depends only on its arguments (not on free memory at run time), so a resumed run
    plans the same chunks. When not even ``T = 1`` fits, it is 1: the call is over the budget, and the free-memory
    check before the call decides (its error suggests a tile).
    """
    if frame_bytes <= 0 or max_chunk < 1:
        raise ValueError(f"frame_bytes and max_chunk must be positive, got {frame_bytes}, {max_chunk}")
    fits = (budget_bytes - fixed_bytes) // frame_bytes - 2 * overlap
    return int(max(1, min(max_chunk, fits)))


def plan_call(frame_bytes: int, fixed_bytes: int, overlap: int, budget_bytes: int, max_chunk: int, batch: int,
              min_chunk: int) -> tuple[int, int]:
    """Chunk length ``T`` and windows per call ``B <= batch`` of a video model whose call on ``B`` windows is
    estimated at ``B * (fixed_bytes + frame_bytes * (T + 2*overlap))``, kept within ``budget_bytes``.

    Stacking windows only buys throughput, while short chunks cost recomputed overlap, so the chunk comes first: the
    most windows whose chunks still reach ``min_chunk`` frames, else one window with the longest chunk that fits
    (shorter than ``min_chunk`` where the frame is that large: the budget is the promise, and a tile is the better fix
    than a longer, over-budget call).
    """
    for windows in range(max(1, batch), 1, -1):
        chunk = plan_chunk_size(frame_bytes, fixed_bytes, overlap, budget_bytes // windows, max_chunk)
        if chunk >= min_chunk and windows * (fixed_bytes + frame_bytes * (chunk + 2 * overlap)) <= budget_bytes:
            return chunk, windows
    return plan_chunk_size(frame_bytes, fixed_bytes, overlap, budget_bytes, max_chunk), 1


def plan_chunks(num_frames: int, chunk_size: int, overlap: int, *, start: int = 0, stop: int | None = None,
                first: int | None = None) -> list[ChunkSpec]:
    """All chunks of a video of ``num_frames`` frames (the same plan :func:`iter_windows` streams), or of its
    segment ``[start, stop)`` with context from frame ``first`` on (default ``max(0, start - overlap)``)."""
    _check_chunking(chunk_size, overlap)
    stop = num_frames if stop is None else min(stop, num_frames)
    first = max(0, start - overlap) if first is None else first
    specs = []
    for index, kept in enumerate(range(start, stop, chunk_size)):
        kept_stop = min(kept + chunk_size, stop)
        specs.append(ChunkSpec(index, kept, kept_stop, max(first, kept - overlap),
                               min(num_frames, kept_stop + overlap)))
    return specs


def _check_chunking(chunk_size: int, overlap: int) -> None:
    if chunk_size < 1 or overlap < 0:
        raise ValueError(f"chunk_size must be >= 1 and overlap >= 0, got {chunk_size}, {overlap}")


@dataclass
class Window(Generic[Item]):
    """A chunk and the items (frames) of its context window, in order."""

    spec: ChunkSpec
    items: list[Item]

    @property
    def kept(self) -> list[Item]:
        """The items of the kept centre."""
        return self.items[self.spec.keep]


def iter_windows(items: Iterable[Item], chunk_size: int, overlap: int, *, first: int = 0, start: int | None = None,
                 stop: int | None = None) -> Iterator[Window[Item]]:
    """Stream context windows over ``items`` (frames, of unknown count), holding at most ``T + 2*overlap`` of them.

    Yields the same chunks as :func:`plan_chunks` would for the final count. The items of a window are shared with the
    next window's context (not copied).

    A segment (issue 28): ``items[0]`` is frame ``first`` of the video; chunks keep ``[start, stop)`` (default: from
    ``first`` to the end) on the grid ``start + k*T``, with context clipped to ``first`` on the left and to the last
    item on the right (give the items up to ``stop + overlap``: the right context). A segment whose ``start`` is a
    multiple of T, read from ``max(0, start - overlap)``, gets exactly the chunks of the whole video there: the same
    windows, so the same model calls.
    """
    _check_chunking(chunk_size, overlap)
    start = first if start is None else start
    if start < first:
        raise ValueError(f"start ({start}) must be >= first ({first}), the index of the first item")
    source = iter(items)
    buffer: deque[Item] = deque()
    buffer_start = first  # absolute index of buffer[0]
    next_index = first  # absolute index of the next item from source
    exhausted = False
    index = 0
    while True:
        kept = start + index * chunk_size
        context_start = max(first, kept - overlap)
        # Drop what no later window needs (before this window's left context), then fill up to the end of its right
        # context (or the end of the stream): the buffer never holds more than T + 2*overlap items.
        while buffer and buffer_start < context_start:
            buffer.popleft()
            buffer_start += 1
        kept_end = kept + chunk_size if stop is None else min(kept + chunk_size, stop)
        want_stop = kept_end + overlap
        while not exhausted and next_index < want_stop:
            try:
                buffer.append(next(source))
            except StopIteration:
                exhausted = True
                break
            next_index += 1
        if kept >= min(next_index, kept_end):  # nothing left to keep (end of the items, or of the segment)
            return
        kept_stop = min(kept_end, next_index)
        context_stop = min(next_index, kept_stop + overlap)
        spec = ChunkSpec(index, kept, kept_stop, context_start, context_stop)
        yield Window(spec, [buffer[i - buffer_start] for i in range(context_start, context_stop)])
        index += 1
