"""Two small threads around a compute loop: read ahead of it and write behind it, through bounded queues.

Decoding and encoding with PyAV (and FFV1/PNG writing) release the GIL, so they overlap with the model instead of
running between its calls. An exception in either thread is re-raised, unchanged, in the thread that uses them, so a
``VSRError`` keeps its one-line message. Queues are bounded: memory stays flat whatever the video length.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

Item = TypeVar("Item")

_DONE = object()
_POLL_S = 0.1


class ReadAhead(Generic[Item]):
    """Iterate ``source`` in a background thread, at most ``depth`` items ahead of the consumer.

    Use as a context manager (the thread is stopped and joined on exit) and iterate it like ``source``.
    """

    def __init__(self, source: Iterable[Item], depth: int) -> None:
        self._source = source
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._produce, name="wildvsr-read-ahead", daemon=True)

    def __enter__(self) -> ReadAhead[Item]:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _produce(self) -> None:
        try:
            for item in self._source:
                if not self._offer(item):
                    return
        except BaseException as exc:  # handed to the consumer, re-raised there unchanged
            self._error = exc
        self._offer(_DONE)

    def _offer(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Item]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                if self._error is not None:
                    raise self._error
                return
            yield item

    def close(self) -> None:
        """Stop the reader thread (it finishes the item it is decoding) and wait for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


class WriteBehind(Generic[Item]):
    """Call ``consume(item)`` in a background thread for every :meth:`put` item, in order, ``depth`` items behind.

    :meth:`put` re-raises an earlier failure of ``consume``; :meth:`finish` waits until every queued item is consumed
    (and re-raises a failure). On an exception in the producer, leaving the ``with`` block still consumes what was
    queued (a finished chunk is saved for resuming), unless ``consume`` itself failed.
    """

    def __init__(self, consume: Callable[[Item], None], depth: int) -> None:
        self._consume = consume
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="wildvsr-write-behind", daemon=True)

    def __enter__(self) -> WriteBehind[Item]:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._consume(item)
                except BaseException as exc:  # re-raised in the producer by put()/finish()
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, item: Item) -> None:
        """Queue ``item`` (blocks while ``depth`` items wait); re-raises an earlier failure of ``consume``."""
        self._raise()
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                self._raise()
        self._raise()

    def _close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()

    def finish(self) -> None:
        """Wait until everything queued is consumed; re-raise a failure of ``consume``."""
        self._close()
        self._raise()
