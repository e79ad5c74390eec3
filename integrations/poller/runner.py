"""One poll run: closed time windows -> pages -> events -> sink -> checkpoint.

Consumes an :class:`~integrations.poller.client.AlertsClient`, a sink
(:mod:`integrations.sinks`), a :class:`~integrations.poller.checkpoint.CheckpointStore`
and a :class:`~integrations.mapping.Mapper`. Produces a :class:`RunSummary`.

Guarantees (see README "Guarantees"):

* windows are ``[high_water - overlap, now - lag]`` split into ``max_window``
  pieces, each paged through as a fixed, closed window; a first run starts at
  ``now - lookback`` (kept in the state, so a first run that is interrupted
  resumes there). An event that becomes visible up to ``lag + overlap``
  seconds after its time is still read by a later run; one that becomes
  visible later than ``lag + overlap`` plus the time between runs is missed
  (raise ``overlap`` for slower sources);
* a window that fills ``max_pages`` pages is read again in halves (what was
  already delivered is skipped as seen) instead of being passed over; when a
  single second is that dense the run stops incomplete;
* an event is skipped when its id (HashID, else the fingerprint) was already
  delivered (``seen``), so overlapping windows and repeated rows do not
  duplicate;
* ``seen`` ids and the sink position are journaled only after the sink
  confirmed the batch, and ``high_water`` moves only when a whole window is
  confirmed: the checkpoint never passes an undelivered event;
* a batch whose confirmation was lost is resent; sinks that can (file) first
  roll back to the last journaled position, Elasticsearch absorbs the repeat
  through ``_id``;
* sinks that confirm asynchronously (HEC with indexer acknowledgement) journal
  what is in flight through the poller (``bind_journal``): the ids of each
  request the destination accepted, with a token to ask about it later
  (``record_pending``), and ids confirmed ahead of the rest of their batch
  (``record_confirmed``). The next run first asks the sink (``recover``) which
  of those arrived, journals them as delivered and resends only the others, so
  a crash while a batch waits for its confirmation repeats nothing; a retry
  after a SinkError likewise leaves out the ids confirmed ahead;
* rows that cannot be parsed or mapped go to the dead-letter callable and the
  run continues; their ids are remembered like delivered ones, so a re-read of
  the overlap does not dead-letter them again. They are journaled at once,
  right after the dead-letter record (``record_rejected``), not with the next
  sink batch: a window that stops before its next batch (API errors running
  out) is read again by the next run, and its dead-lettered rows must be
  ``seen`` by then. A crash between the dead-letter record and that journal
  line repeats the record (at least once), it never loses it.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from integrations.errors import ApiError, CheckpointError, MappingError, SinkError
from integrations.events import is_alert, parse_object
from integrations.identity import event_id as compute_event_id
from integrations.jsoncodec import dumps
from integrations.mapping.mapper import Mapper, event_timestamp
from integrations.model import Delivery, ParsedEvent, Rejected
from integrations.poller.checkpoint import CheckpointStore, State
from integrations.poller.prefetch import Prefetcher
from integrations.sinks.base import SendResult
from integrations.views import get_view

log = logging.getLogger("integrations.poller.runner")

DeadLetterFn = Callable[[Dict[str, Any]], None]
ProgressFn = Callable[["RunSummary"], None]


class PollSettings:
    """Window and batching settings of the poller (durations in seconds)."""

    def __init__(
        self,
        *,
        lookback: int = 24 * 3600,
        overlap: int = 600,
        lag: int = 60,
        max_window: int = 3600,
        page_size: int = 100,
        max_pages: Optional[int] = None,
        batch_size: int = 1000,
        view: str = "ecs",
        cluster_ids: Sequence[str] = (),
        namespaces: Sequence[str] = (),
        filters: Sequence[Dict[str, Any]] = (),
        log_type: str = "active",
        component: str = "kubearmor",
        sink_retries: int = 5,
        sink_backoff: float = 2.0,
        prefetch_pages: int = 1,
    ) -> None:
        for name, value in (("lookback", lookback), ("overlap", overlap), ("lag", lag), ("max_window", max_window)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: expected a whole number of seconds >= 0, got {value!r}")
        if max_window < 1:
            raise ValueError("max_window: must be at least 1 second")
        if batch_size < 1:
            raise ValueError("batch_size: must be at least 1")
        if not isinstance(prefetch_pages, int) or prefetch_pages < 0:
            raise ValueError(f"prefetch_pages: expected a whole number >= 0, got {prefetch_pages!r}")
        self.lookback = lookback
        self.overlap = overlap
        self.lag = lag
        self.max_window = max_window
        self.page_size = page_size
        self.max_pages = max_pages
        self.batch_size = batch_size
        self.view = view
        self.cluster_ids = tuple(cluster_ids)
        self.namespaces = tuple(namespaces)
        self.filters = tuple(filters)
        self.log_type = log_type
        self.component = component
        self.sink_retries = sink_retries
        self.sink_backoff = sink_backoff
        #: API pages fetched ahead by a worker thread while the current one is processed (0: none)
        self.prefetch_pages = prefetch_pages


class RunSummary:
    """Counters of one run (printed at the end, logged as structured fields)."""

    __slots__ = ("pulled", "delivered", "duplicates_dropped", "sink_duplicates", "rejected", "retries",
                 "pages", "windows", "window_start", "window_end", "started", "finished", "complete", "error")

    def __init__(self) -> None:
        self.pulled = 0               # rows received from the API
        self.delivered = 0            # newly written by the sink
        self.duplicates_dropped = 0   # skipped: id already delivered (overlap, repeated rows)
        self.sink_duplicates = 0      # the sink already had them (Elasticsearch 409)
        self.rejected = 0             # to the dead-letter output (unparseable, unmappable, refused by sink)
        self.retries = 0              # API and sink retries
        self.pages = 0
        self.windows = 0
        self.window_start: Optional[int] = None
        self.window_end: Optional[int] = None
        self.started = time.time()
        self.finished: Optional[float] = None
        self.complete = False
        self.error: Optional[str] = None

    def as_dict(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    def line(self) -> str:
        """One human-readable summary line."""
        took = (self.finished or time.time()) - self.started
        window = ""
        if self.window_start is not None and self.window_end is not None:
            window = f" window={_iso(self.window_start)}..{_iso(self.window_end)}"
        status = "complete" if self.complete else f"INCOMPLETE ({self.error})"
        return (f"run {status}: pulled={self.pulled} delivered={self.delivered} "
                f"duplicates_dropped={self.duplicates_dropped} already_in_sink={self.sink_duplicates} "
                f"rejected={self.rejected} retries={self.retries} pages={self.pages} windows={self.windows}"
                f"{window} took={took:.1f}s")


def _rejected_id(original: Any) -> str:
    """A stable id for a row that could not be parsed (it has no event id)."""
    try:
        data = dumps(original, sort_keys=True)
    except (TypeError, ValueError):
        data = repr(original).encode("utf-8", "replace")
    return "rejected:" + hashlib.sha256(data).hexdigest()


class _TooDense(Exception):
    """A one-second window still fills ``max_pages`` pages: the run cannot make progress."""


def _no_body(_ev: ParsedEvent) -> None:
    """The view of a sink that does not read ``Delivery.body``."""
    return None


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class Poller:
    """Runs poll windows against the AccuKnox API and delivers to one sink."""

    def __init__(
        self,
        client: Any,
        sink: Any,
        store: CheckpointStore,
        mapper: Mapper,
        settings: PollSettings | None = None,
        *,
        dead_letter: DeadLetterFn | None = None,
        progress: ProgressFn | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.sink = sink
        self.store = store
        self.mapper = mapper
        self.settings = settings or PollSettings()
        # A sink that ships only the raw event (Elasticsearch in pipeline mode, where the ingest
        # pipeline maps) gets no body: mapping is most of the poller's CPU per event.
        self.view = get_view(self.settings.view, mapper) if getattr(sink, "needs_body", True) else _no_body
        self.dead_letter = dead_letter or (lambda record: None)
        self.progress = progress
        self.clock = clock
        self.sleep = sleep
        #: (window, ids with times) of the batch being sent; for the sink's journal callback
        self._in_flight: Optional[Tuple[Tuple[int, int], Dict[str, int]]] = None
        self._journaled_pending = False
        #: ids of the batch the sink journaled as confirmed during the current attempt
        self._confirmed_ahead: Set[str] = set()

    # ------------------------------------------------------------------ public
    def run_once(self) -> RunSummary:
        """Poll every closed window up to ``now - lag``; raises nothing but returns a summary.

        ``summary.complete`` is False (with ``summary.error``) when the run had
        to stop early; the checkpoint then still covers exactly what was confirmed.
        Only an unreadable state file raises (:class:`CheckpointError`): that
        needs a human, another run would fail the same way.
        """
        s = self.settings
        summary = RunSummary()
        state = self.store.load()
        now = int(self.clock())
        dirty = False
        if state.sink_position is None:
            # Record where the sink starts, so a crash before the first journaled
            # batch can be rolled back too.
            state.sink_position = self._position()
            dirty = state.sink_position is not None
        if state.high_water is None and state.start is None:
            # Keep the first run's start: a first run interrupted and restarted
            # later must not slide its look-back forward past undelivered events.
            state.start = now - s.lookback
            dirty = True
        end = now - s.lag
        start = state.high_water - s.overlap if state.high_water is not None else int(state.start or 0)
        summary.window_start = start
        api_retries0 = getattr(getattr(self.client, "stats", None), "retries", 0)
        gc_was_enabled = gc.isenabled()
        bind = getattr(self.sink, "bind_journal", None)
        try:
            if callable(bind):
                bind(self._journal_in_flight)
            # before any save: a save clears the journal, and with it what was in flight
            self._recover(state)
            if dirty:
                self.store.save(state)
            self._rollback(state.sink_position)
            # The per-event objects are short-lived and acyclic: the cyclic GC
            # only costs time here (it runs once per window instead).
            gc.disable()
            span = s.max_window
            while start < end:
                w_end = min(start + span, end)
                if not self._window(state, (start, w_end), summary):
                    # max_pages full pages and maybe more: what was read is journaled
                    # (and skipped as seen); read the window again in halves.
                    if w_end - start <= 1:
                        raise _TooDense(
                            f"window {_iso(start)}..{_iso(w_end)} holds more than max_pages x page_size "
                            f"({s.max_pages} x {s.page_size}) alerts even at one second; raise max_pages"
                        )
                    span = max(1, (w_end - start) // 2)
                    log.warning("window %s..%s is too dense for max_pages=%s; splitting it into %d s windows",
                                _iso(start), _iso(w_end), s.max_pages, span)
                    continue
                # never move back: with max_window < overlap a resumed run's first window ends below it
                state.high_water = w_end if state.high_water is None else max(state.high_water, w_end)
                self._prune(state)
                self.store.save(state)
                summary.windows += 1
                summary.window_end = w_end
                start = w_end
                span = min(s.max_window, span * 2)  # after a split, grow back step by step
                # Only the young generations: with the collector off, everything this
                # window allocated is there; a full collection would also walk the whole
                # (old) heap of the hosting process once per window.
                gc.collect(1)
            summary.complete = True
        except (ApiError, SinkError, CheckpointError, _TooDense) as exc:
            summary.error = str(exc)
            log.error("run stopped: %s", exc)
            log.debug("run stopped by %s", type(exc).__name__, exc_info=True)
        except MappingError as exc:  # a bug in a rule: stop rather than lose events silently
            summary.error = str(exc)
            log.error("run stopped by a mapping error: %s", exc)
            log.debug("run stopped by %s", type(exc).__name__, exc_info=True)
        finally:
            if gc_was_enabled:
                gc.enable()
            if callable(bind):
                bind(None)  # sends outside this poller's runs are not journaled
            self.store.close()
            summary.retries += getattr(getattr(self.client, "stats", None), "retries", 0) - api_retries0
            summary.finished = time.time()
        return summary

    # ------------------------------------------------------------------ internals
    def _window(self, state: State, window: Tuple[int, int], summary: RunSummary) -> bool:
        """Deliver one window; False when ``max_pages`` cut it short (more rows may follow)."""
        s = self.settings
        pending: List[Delivery] = []
        pending_ids: Dict[str, int] = {}
        pages: Iterable[Any] = self.client.iter_pages(
            window[0], window[1], page_size=s.page_size, cluster_ids=s.cluster_ids, namespaces=s.namespaces,
            filters=s.filters, log_type=s.log_type, component=s.component, max_pages=s.max_pages,
        )
        view = self.view
        n_pages = 0
        last_is_last = True
        with contextlib.ExitStack() as stack:
            if s.prefetch_pages > 0:
                pages = stack.enter_context(Prefetcher(pages, s.prefetch_pages))
            for page in pages:
                n_pages += 1
                last_is_last = page.is_last
                self._page(state, window, page, view, pending, pending_ids, summary)
        self._flush(state, window, pending, pending_ids, summary)
        return not (s.max_pages is not None and n_pages >= s.max_pages and not last_is_last)

    def _page(self, state: State, window: Tuple[int, int], page: Any, view: Any,
              pending: List[Delivery], pending_ids: Dict[str, int], summary: RunSummary) -> None:
        """Parse, map and batch the rows of one API page (flushing full batches to the sink)."""
        s = self.settings
        seen = state.seen
        summary.pages += 1
        summary.pulled += len(page.rows)
        # The same text as formatting the whole location per row, with the constant part built once.
        prefix = f"api:{window[0]}-{window[1]}:page{page.page_id}:row"
        for n, row in enumerate(page.rows, 1):
            for item in parse_object(row, f"{prefix}{n}"):
                if isinstance(item, Rejected):
                    # Remember it like a delivered event, so a re-read of the
                    # overlap does not dead-letter the same row again.
                    rid = _rejected_id(item.original)
                    if rid in seen or rid in pending_ids:
                        summary.duplicates_dropped += 1
                        continue
                    self._dead_letter_row(state, window, rid, window[1], item.to_dead_letter(), summary)
                    continue
                self._accept(item, view, state, window, pending, pending_ids, summary)
                if len(pending) >= s.batch_size:
                    self._flush(state, window, pending, pending_ids, summary)
        if self.progress is not None:
            self.progress(summary)

    def _accept(self, ev: ParsedEvent, view: Any, state: State, window: Tuple[int, int],
                pending: List[Delivery], pending_ids: Dict[str, int], summary: RunSummary) -> None:
        fields = ev.fields
        eid = compute_event_id(fields)
        if eid in state.seen or eid in pending_ids:
            summary.duplicates_dropped += 1
            return
        ts = event_timestamp(fields)
        epoch = ts[1] if ts is not None else self.clock()
        try:
            body = view(ev)
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop every later run
            reason = str(exc) if isinstance(exc, MappingError) else \
                f"internal error while mapping: {type(exc).__name__}: {exc}"
            self._dead_letter_row(state, window, eid, int(ts[1]) if ts is not None else int(self.clock()),
                                  {"reason": reason, "location": ev.location, "original": ev.original}, summary)
            return
        stream = "alert" if is_alert(fields) else "log"
        pending.append(Delivery(eid, epoch, fields.get("HostName"), stream, body, ev.original))
        pending_ids[eid] = int(epoch)

    def _flush(self, state: State, window: Tuple[int, int], pending: List[Delivery],
               pending_ids: Dict[str, int], summary: RunSummary) -> None:
        if not pending:
            if pending_ids:  # defensive: ids without an event to send; remember them
                self.store.record_batch(window, pending_ids, state.sink_position)
                state.seen.update(pending_ids)
                pending_ids.clear()
            return
        s = self.settings
        attempt = 0
        self._in_flight = (window, pending_ids)
        self._confirmed_ahead = set()
        try:
            while True:
                self._journaled_pending = False
                try:
                    result = self.sink.send(pending) if pending else SendResult()
                    break
                except SinkError as exc:
                    self._rollback(state.sink_position)
                    if not exc.retryable or attempt >= s.sink_retries:
                        raise  # what this attempt left in flight is settled by the next run
                    if self._journaled_pending:
                        # the batch is sent again: close this attempt's in-flight entries
                        self.store.record_batch(window, {}, state.sink_position)
                    if self._confirmed_ahead:
                        # journaled as delivered (record_confirmed): send only the rest again
                        left = [d for d in pending if d.event_id not in self._confirmed_ahead]
                        summary.delivered += len(pending) - len(left)
                        pending[:] = left
                        self._confirmed_ahead = set()
                    attempt += 1
                    summary.retries += 1
                    wait = min(60.0, s.sink_backoff * (2 ** (attempt - 1)))
                    log.warning("sink %s: %s; retry %d/%d in %.1fs", getattr(self.sink, "name", "?"), exc,
                                attempt, s.sink_retries, wait)
                    self.sleep(wait)
        finally:
            self._in_flight = None
        summary.delivered += result.delivered
        summary.sink_duplicates += result.duplicates
        for delivery, reason in result.dead_letters:
            self._reject({"reason": reason, "location": f"sink:{getattr(self.sink, 'name', '?')}",
                          "original": delivery.raw}, summary)
        position = self._position()
        self.store.record_batch(window, pending_ids, position)
        state.seen.update(pending_ids)
        state.sink_position = position
        pending.clear()
        pending_ids.clear()

    def _reject(self, record: Dict[str, Any], summary: RunSummary) -> None:
        summary.rejected += 1
        self.dead_letter(record)

    def _dead_letter_row(self, state: State, window: Tuple[int, int], rid: str, t: int,
                         record: Dict[str, Any], summary: RunSummary) -> None:
        """Dead-letter a source row, then journal its id as seen at once.

        Not deferred to the next sink batch: when the window stops before that
        batch (the API's retries run out), the next run reads the window again
        and would dead-letter the row a second time. The record comes first, so
        a crash between the two repeats the record but never loses it.
        """
        self._reject(record, summary)
        self.store.record_rejected(window, {rid: t})
        state.seen[rid] = t

    def _prune(self, state: State) -> None:
        # Keep only ids that a re-read of the next overlap (plus the lag as a
        # margin for UpdatedTime vs. the API's time filter) could return again.
        if state.high_water is None:
            return
        horizon = state.high_water - self.settings.overlap - max(self.settings.lag, 60)
        state.seen = {k: v for k, v in state.seen.items() if v >= horizon}

    def _position(self) -> Any:
        fn = getattr(self.sink, "position", None)
        return fn() if callable(fn) else None

    def _journal_in_flight(self, kind: str, ids: Sequence[str], token: Any = None) -> None:
        """The sink's journal callback (``bind_journal``), called from inside ``send``.

        ``kind`` ``"pending"``: the destination accepted ``ids`` but has not
        confirmed them; ``token`` (JSON) is what the sink's ``recover`` needs to
        ask about them. ``"confirmed"``: ``ids`` are confirmed ahead of the rest
        of the batch. Returns once the line is fsynced; raises CheckpointError
        (which stops the run: the sink must not go on when it cannot be recorded).
        """
        ctx = self._in_flight
        if ctx is None:
            raise RuntimeError("sink journal callback used outside Poller._flush")
        window, batch_ids = ctx
        times = {i: batch_ids[i] for i in ids if i in batch_ids}
        if kind == "pending":
            self.store.record_pending(window, times, token)
            self._journaled_pending = True
        elif kind == "confirmed":
            self.store.record_confirmed(window, times, self._position())
            self._confirmed_ahead.update(times)
        else:
            raise ValueError(f"sink journal callback: unknown kind {kind!r}")

    def _recover(self, state: State) -> None:
        """Settle what a previous process left in flight: ask the sink, journal what arrived.

        Ids the sink confirms become ``seen`` (journaled as one batch, which also
        closes the in-flight entries); the others are simply not ``seen``, so the
        re-read of their window sends them again. Sinks without ``recover`` get
        nothing to settle (their in-flight entries are dropped: resent).
        """
        fn = getattr(self.sink, "recover", None)
        entries = state.pending
        if not callable(fn):
            return
        verdicts = list(fn(state.sink_position, [e["tok"] for e in entries]))
        if not entries:
            return
        if len(verdicts) != len(entries):
            raise SinkError(f"sink {getattr(self.sink, 'name', '?')}: recover() answered {len(verdicts)} "
                            f"verdicts for {len(entries)} entries", retryable=False)
        done: Dict[str, int] = {}
        for entry, ok in zip(entries, verdicts):
            if ok is True:
                done.update(entry["ids"])
        resend = {k for e in entries for k in e["ids"]} - set(done)
        window = next((e["w"] for e in reversed(entries) if e["w"] is not None), None) or state.window or (0, 0)
        position = self._position()
        self.store.record_batch(window, done, position)
        state.seen.update(done)
        state.sink_position = position
        state.pending = []
        log.info("sink %s: %d event(s) in flight at the last stop: %d confirmed, %d to send again",
                 getattr(self.sink, "name", "?"), len(done) + len(resend), len(done), len(resend))

    def _rollback(self, position: Any) -> None:
        fn = getattr(self.sink, "rollback", None)
        if callable(fn) and position is not None:
            fn(position)
