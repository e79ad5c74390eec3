"""Read-ahead of API pages: order, errors, early exit, bounded memory, and the runner with it on and off."""

from __future__ import annotations

import threading
import time
from typing import Iterator, List

import pytest

from integrations.poller.prefetch import Prefetcher


def test_items_in_order_and_end() -> None:
    with Prefetcher(iter(range(50)), depth=2) as it:
        assert list(it) == list(range(50))
        with pytest.raises(StopIteration):
            next(it)


def test_error_is_raised_where_the_item_would_have_been() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("page 3 failed")

    got: List[int] = []
    with Prefetcher(source(), depth=1) as it:
        with pytest.raises(ValueError, match="page 3 failed"):
            for x in it:
                got.append(x)
    assert got == [1, 2]


def test_reads_at_most_depth_ahead_and_stops_on_early_exit() -> None:
    produced: List[int] = []
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    def settled(n: int) -> int:
        # wait (bounded) until the worker has asked for n items, then give it time to ask for more
        deadline = time.monotonic() + 5
        while len(produced) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        return len(produced)

    it = Prefetcher(source(), depth=2)
    assert next(it) == 0
    # one handed out and exactly two read ahead: the worker does not ask for a
    # third page and then hold it while it waits for room (a page is ~13 MB decoded)
    assert settled(3) == 3
    assert next(it) == 1
    assert settled(4) == 4
    it.close()
    assert closed.wait(5), "the source generator was not closed"
    assert len(produced) == 4
    with pytest.raises(StopIteration):
        next(it)


def test_next_page_is_fetched_while_the_current_one_is_processed() -> None:
    # deterministic: the consumer holds page 0 until the source has started on page 1;
    # without read-ahead that never happens (the wait times out)
    started = [threading.Event() for _ in range(3)]

    def source() -> Iterator[int]:
        for i in range(3):
            started[i].set()
            yield i

    with Prefetcher(source(), depth=1) as it:
        assert next(it) == 0
        assert started[1].wait(5), "page 1 was not requested while page 0 was being processed"
        assert list(it) == [1, 2]


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Prefetcher(iter([]), depth=0)
