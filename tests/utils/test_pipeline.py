"""Read-ahead / write-behind threads: order, bounded queues, errors re-raised unchanged, queued work finished."""

from __future__ import annotations

import threading

import pytest

from wildvsr.errors import InputError
from wildvsr.utils.pipeline import ReadAhead, WriteBehind


def test_read_ahead_yields_in_order_and_stays_bounded():
    produced = []

    def source():
        for i in range(50):
            produced.append(i)
            yield i

    with ReadAhead(source(), depth=3) as items:
        it = iter(items)
        assert next(it) == 0
        threading.Event().wait(0.2)  # give the thread time to run ahead as far as it may
        assert len(produced) <= 1 + 3 + 1  # consumed + queued + the one waiting to be queued
        assert list(it) == list(range(1, 50))


def test_read_ahead_reraises_the_source_error_unchanged():
    error = InputError("frame 3 cannot be decoded")

    def source():
        yield from range(3)
        raise error

    with ReadAhead(source(), depth=2) as items, pytest.raises(InputError) as caught:
        list(items)
    assert caught.value is error


def test_read_ahead_stops_its_thread_when_left_early():
    with ReadAhead(iter(range(10**9)), depth=2) as items:
        next(iter(items))
    assert not items._thread.is_alive()


def test_write_behind_consumes_in_order_and_reraises_its_error():
    seen = []
    with WriteBehind(seen.append, depth=2) as behind:
        for i in range(20):
            behind.put(i)
        behind.finish()
    assert seen == list(range(20))

    def fail(item):
        raise InputError(f"disk full at {item}")

    with WriteBehind(fail, depth=2) as behind, pytest.raises(InputError, match="disk full at 0"):
        for i in range(20):
            behind.put(i)
        behind.finish()


def test_write_behind_finishes_queued_items_when_the_producer_fails():
    seen = []
    gate = threading.Event()

    def slow(item):
        gate.wait(5)
        seen.append(item)

    with pytest.raises(KeyboardInterrupt):
        with WriteBehind(slow, depth=2) as behind:
            behind.put(1)
            behind.put(2)
            gate.set()
            raise KeyboardInterrupt
    assert seen == [1, 2]  # what was handed over (finished chunks) is still saved
