"""Shared delivery mechanics: HTTP status → disposition, and backoff.

Consumed by the HTTP sinks (``hec``, ``elasticsearch``); they add only their
destination's own knowledge on top (HEC's numeric ``code`` table lives in
``hec.py``, Elasticsearch's 409-means-duplicate rule in ``elasticsearch.py``).
Written once so that 500 and 502 can never drift apart between sinks.

A *disposition* says what a sink does with a status, for a whole request or
(Elasticsearch bulk) for one item:

==========  ==============================================================
OK          delivered
CONFLICT    409: the destination already has it (ES ``create`` duplicate)
RETRY       transient: back off and send again; if retries run out, raise
            ``SinkError(retryable=True)`` so the poller keeps its checkpoint
INVALID     this content is rejected for good: dead-letter it (per event)
TOO_LARGE   413: the request is too big; split it if it holds several events
AUTH        401/403: credentials refused; ``SinkError(retryable=False)``
FATAL       configuration or protocol problem (404, 405, ...): not retryable
==========  ==============================================================
"""

from __future__ import annotations

import email.utils
import random
import time
from enum import Enum
from typing import Callable, Dict, Iterator, Optional


class Disposition(str, Enum):
    """What a sink does with a status; see the module docstring."""

    OK = "ok"
    CONFLICT = "conflict"
    RETRY = "retry"
    INVALID = "invalid"
    TOO_LARGE = "too_large"
    AUTH = "auth"
    FATAL = "fatal"


#: Explicit entries; anything else falls back to its class (see ``classify``).
STATUS_TABLE: Dict[int, Disposition] = {
    400: Disposition.INVALID,  # malformed / unmappable content
    401: Disposition.AUTH,
    403: Disposition.AUTH,
    404: Disposition.FATAL,  # wrong URL, HEC disabled, index missing without auto-create
    405: Disposition.FATAL,
    408: Disposition.RETRY,  # request timeout
    409: Disposition.CONFLICT,
    413: Disposition.TOO_LARGE,
    422: Disposition.INVALID,
    425: Disposition.RETRY,
    429: Disposition.RETRY,  # rate limited / ES es_rejected_execution_exception
    500: Disposition.RETRY,  # HEC code 8 "Internal server error" says: retry
    501: Disposition.FATAL,
    502: Disposition.RETRY,
    503: Disposition.RETRY,  # HEC code 9 "Server is busy", ES unavailable shards
    504: Disposition.RETRY,
    505: Disposition.FATAL,
}

#: Statuses the Elasticsearch bulk helper retries per item (with its own backoff).
RETRY_STATUSES = tuple(sorted(s for s, d in STATUS_TABLE.items() if d is Disposition.RETRY))


def classify(status: Optional[int]) -> Disposition:
    """The disposition of an HTTP status (``None``/non-int: no response → RETRY)."""
    if not isinstance(status, int):
        return Disposition.RETRY
    d = STATUS_TABLE.get(status)
    if d is not None:
        return d
    if 200 <= status < 300:
        return Disposition.OK
    if 500 <= status < 600:
        return Disposition.RETRY
    return Disposition.FATAL


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class Backoff:
    """Capped exponential backoff with jitter.

    ``delay(n)`` for the n-th retry (1-based) is ``initial * factor**(n-1)``,
    capped at ``maximum``, then reduced by up to ``jitter`` (a fraction) so that
    several shippers do not retry in lockstep. A server's ``Retry-After`` wins
    when it is longer (still capped at ``maximum``). ``sleep`` and ``rng`` are
    injectable so tests run without waiting.
    """

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if initial < 0 or maximum < 0 or factor < 1 or not 0 <= jitter < 1:
            raise ValueError("backoff: need initial>=0, maximum>=0, factor>=1, 0<=jitter<1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._sleep = sleep
        self._rng = rng

    def delay(self, attempt: int, retry_after: Optional[float] = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        base *= 1.0 - self.jitter * self._rng()
        if retry_after is not None:
            base = max(base, min(self.maximum, retry_after))
        return base

    def sleep(self, attempt: int, retry_after: Optional[float] = None) -> float:
        """Sleep ``delay(attempt, retry_after)`` and return it."""
        d = self.delay(attempt, retry_after)
        if d > 0:
            self._sleep(d)
        return d

    def delays(self) -> Iterator[float]:
        """Endless delays for attempts 1, 2, 3, ... (for polling loops)."""
        n = 0
        while True:
            n += 1
            yield self.delay(n)
