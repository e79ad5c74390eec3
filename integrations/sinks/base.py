"""The sink contract: what every delivery destination promises the poller.

The poller hands a sink a batch of :class:`~integrations.model.Delivery` and
advances its checkpoint only when ``send`` returns. So ``send`` returns only
when **every** item of the batch is *settled*:

* confirmed by the destination – written, flushed and fsynced (file), flushed
  (stdout), indexed or already present (Elasticsearch item 2xx / 409), accepted
  and, with indexer acknowledgement, acknowledged (HEC); or
* permanently rejected by the destination (Elasticsearch 400 mapping error, HEC
  invalid event) – returned in ``SendResult.dead_letters`` with the
  destination's reason; the poller writes those to its dead-letter file.

Otherwise ``send`` raises :class:`~integrations.errors.SinkError`:
``retryable=True`` for transient trouble (the caller keeps its checkpoint and
resends the *whole* batch later, so sends are idempotent where the destination
allows it: Elasticsearch ``create`` with a deterministic ``_id``),
``retryable=False`` when only a human can fix it (credentials, URL, config).

Delivery is therefore at-least-once: a resent batch may duplicate events in
destinations that cannot de-duplicate (stdout, HEC without acknowledgement).
Every body carries the event id, so consumers can de-duplicate downstream.

Optional crash-recovery hooks (duck-typed: the poller uses them when present,
other callers may ignore them):

* ``position() -> JSON`` and ``rollback(position)``: the poller journals the
  position with each confirmed batch and, before resending, rolls the sink back
  to the last journaled one (file sink: exactly once).
* ``bind_journal(fn)`` and ``recover(position, tokens) -> [bool]``, for sinks
  whose confirmation comes after the destination has the data (HEC with indexer
  acknowledgement). During ``send`` the sink calls ``fn("pending", ids, token)``
  as soon as the destination accepted ``ids`` (``token``: JSON the sink needs
  to ask about them later, e.g. HEC channel and ackId) and may call
  ``fn("confirmed", ids)`` for ids confirmed before the rest of the batch;
  ``fn`` returns when the journal line is on disk. At the start of every run
  the poller calls ``recover`` with the journaled position and the tokens
  still in flight (possibly none: the sink then only adopts the position);
  it answers, per token, whether the destination confirmed those ids (``True``)
  or not (``False``: they are sent again). ``recover`` raises SinkError when it
  cannot tell (the tokens stay in flight for the next run).
"""

from __future__ import annotations

import abc
import ctypes
import ctypes.util
import logging
import sys
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

from integrations.model import Delivery

log = logging.getLogger(__name__)

#: The streams a Delivery may name, and what they become at each destination.
STREAMS = ("alert", "log")

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_allocator_tuned = False


def tune_allocator() -> bool:
    """Keep freed heap memory in the process instead of returning it to the OS (glibc only).

    A sink builds a few MB of short-lived ``bytes`` per batch (one JSON
    document per event, then the request body). glibc's default returns the
    freed top of the heap to the kernel after every batch and serves bodies over
    128 KiB with fresh ``mmap``s, so the next batch page-faults its memory in
    again; on virtual machines that fault cost more than the JSON encoding itself
    (measured here: 9.7 µs vs 4.0 µs per 1.6 KB document). Raising the trim and
    mmap thresholds (to 128 MiB and 32 MiB) keeps those pages; the process then
    holds on to its peak working set. Called once per process by the sinks;
    returns whether the settings were applied.
    """
    global _allocator_tuned
    if _allocator_tuned or not sys.platform.startswith("linux"):
        return _allocator_tuned
    _allocator_tuned = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: nothing to tune
        return False
    ok = (
        mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1
        and mallopt(_M_TRIM_THRESHOLD, 128 * 1024 * 1024) == 1
        and mallopt(_M_TOP_PAD, 16 * 1024 * 1024) == 1
    )
    log.debug("sinks: malloc thresholds %s", "raised" if ok else "unchanged")
    return ok


@dataclass
class SendResult:
    """The outcome of one ``Sink.send``.

    ``delivered`` events newly written; ``duplicates`` events the destination
    already had (Elasticsearch 409 on ``create``): both count as done;
    ``dead_letters`` ``(delivery, reason)`` permanently rejected by the
    destination. For a returned result
    ``delivered + duplicates + len(dead_letters) == len(batch)``.
    """

    delivered: int = 0
    duplicates: int = 0
    dead_letters: List[Tuple[Delivery, str]] = field(default_factory=list)

    @property
    def settled(self) -> int:
        """Number of batch items accounted for."""
        return self.delivered + self.duplicates + len(self.dead_letters)

    def add(self, other: SendResult) -> SendResult:
        """Accumulate ``other`` into this result (returns self)."""
        self.delivered += other.delivered
        self.duplicates += other.duplicates
        self.dead_letters.extend(other.dead_letters)
        return self


class Sink(abc.ABC):
    """A delivery destination; see the module docstring for the contract."""

    #: Short name used in logs and messages (``file``, ``stdout``, ``hec``, ``elasticsearch``).
    name: str = "sink"

    #: Whether ``send`` reads ``Delivery.body`` (the mapped document). False for a sink
    #: that ships only ``Delivery.raw`` (Elasticsearch in ``pipeline`` mode): a caller may
    #: then skip the mapping and pass ``body=None``. Mapping is most of the CPU per event.
    needs_body: bool = True

    @abc.abstractmethod
    def send(self, batch: Sequence[Delivery]) -> SendResult:
        """Deliver ``batch``; return when every item is settled, else raise SinkError."""

    def close(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Release files, connections and locks. Safe to call twice."""

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
