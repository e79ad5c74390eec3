"""Fetch the next API page while the current one is parsed, mapped and sent.

The poller is CPU-bound on mapping and the API is network-bound on its
answers: a worker thread that keeps up to ``depth`` pages ready lets the two
overlap (the GIL is released while a socket waits). Pages still come out in
order, an API error is raised in the consumer exactly where the page would
have been, and memory stays bounded: at most ``depth`` pages are read ahead
of the one being processed - the worker takes a free slot *before* it asks
for the next page, so it never holds a fetched page while waiting for room in
the queue (a decoded 1000-row page is ~13 MB of Python objects).

Nothing here touches the checkpoint: a page is only "read ahead"; delivery
and the journal still happen in the consumer, in order, after the sink
confirmed. A window abandoned early (sink error, Ctrl-C) discards what was
read ahead, which the next run reads again.
"""

from __future__ import annotations

import queue
import threading
from typing import Generic, Iterator, Optional, Tuple, TypeVar

T = TypeVar("T")

_ITEM, _END, _ERROR = 0, 1, 2
#: how often a blocked worker or consumer looks at the other side (seconds)
_POLL = 0.1


class Prefetcher(Generic[T]):
    """Iterate ``source`` in a worker thread, ``depth`` items ahead of the consumer.

    Use as a context manager (or call :meth:`close`) so an early exit stops the
    worker. ``depth`` < 1 is not allowed: use the source directly instead.
    """

    def __init__(self, source: Iterator[T], depth: int = 1, name: str = "accuknox-prefetch") -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._queue: queue.Queue[Tuple[int, object]] = queue.Queue(maxsize=depth + 1)
        # one slot per page read ahead; released when the consumer takes a page
        self._slots = threading.Semaphore(depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(source,), name=name, daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- worker
    def _run(self, source: Iterator[T]) -> None:
        try:
            it = iter(source)
            while self._take_slot():
                try:
                    item = next(it)
                except StopIteration:
                    break
                if not self._offer((_ITEM, item)):
                    return
            else:
                return  # stopped while waiting for a slot
            self._offer((_END, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._offer((_ERROR, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    def _take_slot(self) -> bool:
        while not self._stop.is_set():
            if self._slots.acquire(timeout=_POLL):
                return True
        return False

    def _offer(self, message: Tuple[int, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(message, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    # ---------------------------------------------------------------- consumer
    def __iter__(self) -> Prefetcher[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        while True:
            try:
                kind, value = self._queue.get(timeout=_POLL)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self._done = True
                    raise RuntimeError("page prefetch worker stopped without a result") from None
        if kind == _ITEM:
            self._slots.release()
            return value  # type: ignore[return-value]
        self._done = True
        if kind == _END:
            raise StopIteration
        raise value  # type: ignore[misc]

    def close(self, timeout: Optional[float] = 2.0) -> None:
        """Stop the worker (a request in progress finishes in the background) and drop read-ahead pages."""
        self._done = True
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout)

    def __enter__(self) -> Prefetcher[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
