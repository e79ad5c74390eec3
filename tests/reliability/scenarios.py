"""Randomized fault scenarios for the poller: source faults x sink faults, then invariants.

One :func:`run_scenario` call builds a fresh world on the loopback interface –
an :class:`~integrations.emulator.AlertsEmulator` on a fake clock, a fake
destination (``tests/support``) or a file directory – draws faults from a
seeded RNG, runs :class:`~integrations.poller.runner.Poller` in-process until a
run completes after every event became visible, and checks after every run and
at the end:

* **exactly once or dead-lettered**: every generated event is in the
  destination exactly once (file: ids in the NDJSON files; es: by ``_id``
  across indices; hec with ack: exactly one *confirmed* copy – a copy kept in a
  request whose ackId HEC reported ``true`` to the poller, during ``send`` or
  ``recover``. Other copies are ones HEC kept without ever telling the poller
  (the ackId was lost, the event was accepted ahead of an invalid one and so
  has no ackId – partial acceptance): the poller must resend those, they are
  the duplicates HEC's protocol cannot avoid and are counted separately as
  ``redelivered_after_lost_ack``), or it is in the dead-letter output with a
  reason (and then not confirmed in the sink);
* **checkpoint**: after each run, no event that was already visible when
  ``high_water`` last moved (the run that moved it read every window up to it
  then) and is neither delivered nor dead-lettered has a time at or before
  ``high_water``; an event that became visible later may be behind
  ``high_water`` only by as much as ``overlap`` (the next run re-reads
  ``[high_water - overlap, ...]``). A run that stops before moving
  ``high_water`` read nothing up to it, so an event that became visible
  after the last move is judged by the overlap rule, not as passed.

Faults drawn per scenario (probabilities per request, seeded):

* source: latency, 429 with or without ``Retry-After`` (seconds or HTTP date),
  500/502/503/504, connection resets, truncated bodies (``truncate``, ``cut``),
  duplicated rows (``dup`` and rows stored twice), out-of-order/late rows
  (irregular times, lateness up to ``0.9 * (lag + overlap)``) and rows that
  cannot be parsed (dead letters);
* sink es: per-item 429 (retried) and 400 (mapping error, dead letter),
  whole-request 429/500/502/503;
* sink hec (indexer acknowledgement on): 503 code 9 server busy, invalid events
  with ``invalid-event-number`` (partial acceptance), lost acknowledgements;
* sink file: none.

Every loop is bounded (runs per scenario, ack polls via a fake monotonic
clock, retries); nothing listens beyond 127.0.0.1. The fault counts come from
the fakes' own records (``status_counts`` of the emulator plus its actions,
counters of the fake destinations).
"""

from __future__ import annotations

import collections
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from integrations.emulator import AlertsEmulator, FaultSpec, generate_events
from integrations.mapping import Mapper
from integrations.poller.checkpoint import CheckpointStore
from integrations.poller.client import AlertsClient
from integrations.poller.runner import Poller, PollSettings
from integrations.sinks.elasticsearch import ElasticsearchSink
from integrations.sinks.file import FileSink
from integrations.sinks.hec import HecSink
from tests.support.fake_es import ERRORS, FakeElasticsearch, error_body
from tests.support.fake_hec import TOKEN as HEC_TOKEN
from tests.support.fake_hec import FakeHec, hec
from tests.support.fake_http import Request, Response

TOKEN = "faults-test-token-0123456789"
TENANT = "11"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
SINKS = ("file", "es", "hec")
MAX_RUNS = 60  # poll runs per scenario before it counts as stuck
SCENARIO_TIMEOUT = 120.0  # wall-clock seconds per scenario


class ScenarioFailure(AssertionError):
    """An invariant did not hold; the message names the seed and the sink."""


class FakeClock:
    """The wall clock of the emulator (visibility) and the poller (windows)."""

    def __init__(self, t: float) -> None:
        self.t = float(t)

    def __call__(self) -> float:
        return self.t


class FakeMonotonic:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept = 0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept += 1
        self.t += max(0.0, float(s))


# --------------------------------------------------------------------------- instrumented fakes

class CountingEmulator(AlertsEmulator):
    """AlertsEmulator that also counts the 200 answers it altered (truncate, cut, dup)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action_counts: collections.Counter = collections.Counter()

    def _send(self, h: Any, status: int, payload: Any, *, action: Optional[str] = None,
              **kwargs: Any) -> int:
        if action is not None:
            with self._lock:
                self.action_counts[action] += 1
        return super()._send(h, status, payload, action=action, **kwargs)


class FaultyES(FakeElasticsearch):
    """Fake Elasticsearch with random whole-request failures and counted item statuses."""

    def __init__(self, rng: random.Random, p_bulk: float, bulk_statuses: Sequence[int]) -> None:
        super().__init__(record=False, spec_dir=False)
        self.rng = rng
        self.p_bulk = p_bulk
        self.bulk_statuses = tuple(bulk_statuses)
        self.statuses: collections.Counter = collections.Counter()
        self.bulk_faults: collections.Counter = collections.Counter()
        self.created: collections.Counter = collections.Counter()

    def _bulk(self, req: Request) -> Response:
        with self.lock:
            if self.p_bulk and self.rng.random() < self.p_bulk:
                status = self.rng.choice(self.bulk_statuses)
                self.bulk_faults[status] += 1
                err = ERRORS.get(status, {"type": "exception", "reason": "bad gateway"})
                return Response(status, error_body(status, err["type"], err["reason"]))
        return super()._bulk(req)

    def _apply(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:  # type: ignore[override]
        item = super()._apply(*args, **kwargs)
        with self.lock:
            self.statuses[item["status"]] += 1
            if item["status"] in (200, 201):
                self.created[item["_id"]] += 1
        return item


class FaultyHec(FakeHec):
    """Fake HEC (ack on) with random 503 busy answers and lost acks, recording what it kept and confirmed."""

    def __init__(self, rng: random.Random, p_busy: float, p_lose: float, bad_ids: Sequence[str]) -> None:
        super().__init__(ack=True, record=False)
        self.rng = rng
        self.p_busy = p_busy
        self.p_lose = p_lose
        self.bad_ids = frozenset(bad_ids)
        self.faults: collections.Counter = collections.Counter()
        #: (channel, ackId) -> ids HEC kept in that request
        self.by_ack: Dict[Tuple[str, int], List[str]] = {}
        #: ids kept by a request answered without an ackId (partial acceptance)
        self.unacked: collections.Counter = collections.Counter()
        self.confirmed: collections.Counter = collections.Counter()
        if self.bad_ids:
            self.reject_event = self._reject

    def _reject(self, obj: Any) -> Optional[Tuple[int, str]]:
        try:
            eid = obj["event"]["event"]["id"]
        except (KeyError, TypeError):
            return None
        return (12, "Event field is required") if eid in self.bad_ids else None

    def _event_inner(self, req: Request) -> Response:
        with self.lock:
            if self.p_busy and self.rng.random() < self.p_busy:
                self.faults["hec_503_busy"] += 1
                return hec(503, 9, "Server is busy")
            if self.p_lose and self.rng.random() < self.p_lose:
                self.lose_acks(1)
                lose = True
            else:
                lose = False
            before = len(self.events)
            resp = super()._event_inner(req)
            kept = [e["event"]["event"]["id"] for e in self.events[before:]]
            body = resp.body if isinstance(resp.body, dict) else {}
            if "ackId" in body:
                name = req.headers.get("x-splunk-request-channel") or req.param("channel") or ""
                self.by_ack[(name, body["ackId"])] = kept
                if lose:
                    self.faults["hec_lost_ack"] += 1
            else:
                if lose and self._lose:  # not used: the ack was not handed out
                    self._lose -= 1
                if "invalid-event-number" in body:
                    self.faults["hec_invalid_event"] += 1
                    if kept:
                        self.faults["hec_partial_acceptance"] += 1
                self.unacked.update(kept)
            return resp

    def _ack(self, req: Request) -> Response:
        resp = super()._ack(req)
        body = resp.body if isinstance(resp.body, dict) else {}
        name = req.headers.get("x-splunk-request-channel") or req.param("channel") or ""
        with self.lock:
            for key, done in (body.get("acks") or {}).items():
                if done is True:
                    self.confirmed.update(self.by_ack.get((name, int(key)), []))
        return resp


# --------------------------------------------------------------------------- scenario drawing

class Plan:
    """What one scenario injects (all drawn from its seed)."""

    def __init__(self, seed: int, sink: str, quick: bool = False) -> None:
        rng = random.Random(f"plan|{seed}|{sink}")
        self.seed = seed
        self.sink = sink
        self.n_events = rng.randint(15, 40 if quick else 80)
        self.lag = rng.choice([30, 60, 120])
        self.overlap = rng.choice([120, 300, 600])
        self.late = rng.choice([0.0, 0.0, rng.uniform(1, 0.9 * (self.lag + self.overlap))])
        self.span = rng.randint(1800, 4 * 3600)
        self.regular = rng.random() < 0.3
        self.max_window = rng.choice([300, 900, 1800, 3600])
        self.page_size = rng.choice([3, 5, 10, 25])
        self.batch_size = rng.choice([2, 5, 7, 16, 100])
        self.max_pages = rng.choice([None, None, 3, 6])
        self.stored_twice = rng.randint(0, 3)
        self.bad_rows = rng.randint(0, 2)
        self.step = rng.choice([60, 300, 900, 1800])
        statuses: Dict[int, float] = {}
        for code in (429, 500, 502, 503, 504):
            if rng.random() < 0.5:
                statuses[code] = rng.uniform(0.01, 0.06)
        self.source = FaultSpec(
            latency=(0.0, rng.choice([0.0, 0.0, 0.002, 0.005])),
            statuses=statuses,
            retry_after=rng.choice([None, None, "1", "0.5", "date:1"]),
            truncate=rng.choice([0.0, rng.uniform(0.01, 0.05)]),
            cut=rng.choice([0.0, rng.uniform(0.01, 0.05)]),
            dup=rng.choice([0.0, rng.uniform(0.02, 0.2)]),
            reset=rng.choice([0.0, rng.uniform(0.01, 0.05)]),
            seed=rng.randrange(1 << 30),
        )
        self.es_p_bulk = rng.choice([0.0, rng.uniform(0.02, 0.15)])
        self.es_bulk_statuses = rng.sample([429, 500, 502, 503], rng.randint(1, 4))
        self.es_item_429 = rng.uniform(0.0, 0.15)
        self.es_item_400 = rng.choice([0.0, rng.uniform(0.01, 0.08)])
        self.hec_p_busy = rng.choice([0.0, rng.uniform(0.02, 0.15)])
        self.hec_p_lose = rng.choice([0.0, rng.uniform(0.02, 0.15)])
        self.hec_invalid = rng.choice([0.0, rng.uniform(0.01, 0.08)])
        self.rng = rng

    def describe(self) -> str:
        sink = {"file": "", "es": f" es(bulk={self.es_p_bulk:.2f}{self.es_bulk_statuses},"
                                  f"429={self.es_item_429:.2f},400={self.es_item_400:.2f})",
                "hec": f" hec(busy={self.hec_p_busy:.2f},lose={self.hec_p_lose:.2f},"
                       f"invalid={self.hec_invalid:.2f})"}[self.sink]
        return (f"seed={self.seed} sink={self.sink} events={self.n_events} lag={self.lag} overlap={self.overlap} "
                f"late={self.late:.0f} max_window={self.max_window} page={self.page_size} batch={self.batch_size} "
                f"max_pages={self.max_pages} source=({self.source}){sink}")


# --------------------------------------------------------------------------- running one scenario

_MAPPER: Optional[Mapper] = None


def _mapper() -> Mapper:
    global _MAPPER
    if _MAPPER is None:
        _MAPPER = Mapper()
    return _MAPPER


def _bad_row(rng: random.Random, t: int, n: int) -> Dict[str, Any]:
    """A row the parser refuses (a container where an integer belongs): a dead letter."""
    return {"Timestamp": t, "UpdatedTime": f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t))}.000000Z",
            "HashID": f"bad-row-{n}-{rng.randrange(1 << 30):x}", "ClusterName": "c", "HostName": "h",
            "PID": {"not": "an integer"}, "Operation": "Process"}


def _file_ids(out: Path) -> List[str]:
    ids = []
    for f in sorted(out.glob("*.ndjson")):
        data = f.read_bytes()
        if data and not data.endswith(b"\n"):
            raise ScenarioFailure(f"partial line left in {f}")
        ids.extend(json.loads(line)["event"]["id"] for line in data.splitlines())
    return ids


def _dead_id(record: Dict[str, Any]) -> Optional[str]:
    orig = record.get("original")
    return orig.get("HashID") if isinstance(orig, dict) else None


def run_scenario(seed: int, sink_kind: str, work: Optional[Path] = None, quick: bool = False) -> Dict[str, Any]:
    """Run one scenario; return its figures. Raises :class:`ScenarioFailure` when an invariant breaks."""
    plan = Plan(seed, sink_kind, quick)
    rng = plan.rng
    own_dir = work is None
    work = Path(tempfile.mkdtemp(prefix="faults-")) if work is None else work
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    clock = FakeClock(T0)  # moved to the first run's time in _run
    try:
        return _run(plan, rng, work, clock, started)
    except ScenarioFailure as exc:
        raise ScenarioFailure(f"[{plan.describe()}] {exc}") from None
    finally:
        if own_dir:
            shutil.rmtree(work, ignore_errors=True)


def _run(plan: Plan, rng: random.Random, work: Path, clock: FakeClock, started: float) -> Dict[str, Any]:
    # ---- the events: times in [T0 - span - 600, T0 - 600], visible at time + lateness
    first = T0 - plan.span - 600
    events = list(generate_events(plan.n_events, seed=plan.seed, start=first, rate=plan.n_events / plan.span,
                                  regular=plan.regular))
    times = {e["HashID"]: int(e["Timestamp"]) for e in events}
    bad_rows = [_bad_row(rng, rng.randint(first, T0 - 600), n) for n in range(plan.bad_rows)]
    for r in bad_rows:
        times[r["HashID"]] = int(r["Timestamp"])
    visible: Dict[str, float] = {}
    emu = CountingEmulator([], tenant_id=TENANT, token=TOKEN, clock=clock, faults=plan.source, seed=plan.seed,
                           sleep=time.sleep)
    rows = events + bad_rows + [dict(rng.choice(events)) for _ in range(plan.stored_twice)]
    rng.shuffle(rows)  # arrival order differs from time order
    for row in rows:
        eid = row["HashID"]
        if eid not in visible:
            visible[eid] = times[eid] + (rng.uniform(0.0, plan.late) if plan.late else 0.0)
        emu.add_events([row], visible_at=visible[eid])
    generated = [e["HashID"] for e in events]
    # the first run comes part-way through the events: later ones (and late ones) arrive between runs
    clock.t = first + int(plan.span * rng.uniform(0.2, 1.0))
    must_dead = {r["HashID"] for r in bad_rows}

    # ---- the destination
    server: Any = None
    mono = FakeMonotonic()
    if plan.sink == "file":
        out = work / "out"
        inner: Any = FileSink(out, clock=clock)
        sink: Any = inner
    elif plan.sink == "es":
        server = FaultyES(random.Random(f"es|{plan.seed}"), plan.es_p_bulk, plan.es_bulk_statuses).start()
        bad400: set = set()
        for eid in generated:
            r = rng.random()
            if r < plan.es_item_400:
                bad400.add(eid)  # permanent: every attempt is refused, as a mapping error is
            elif r < plan.es_item_400 + plan.es_item_429:
                server.fail_item(eid, *([429] * rng.randint(1, 3)))
        must_dead.update(bad400)
        server.item_hook = lambda op, index, _id, src: (400, ERRORS[400]) if _id in bad400 else None
        inner = ElasticsearchSink(server.url, max_retries=2, initial_backoff=0.0005, max_backoff=0.002,
                                  request_timeout=10)
        sink = inner
    else:
        bad = [eid for eid in generated if rng.random() < plan.hec_invalid]
        must_dead.update(bad)
        server = FaultyHec(random.Random(f"hec|{plan.seed}"), plan.hec_p_busy, plan.hec_p_lose, bad).start()
        inner = HecSink(server.url, ack=True, ack_timeout=3.0, ack_poll_interval=0.2, ack_poll_max_interval=1.0,
                        max_retries=3, backoff_initial=0.01, backoff_max=0.1, timeout=10, connect_timeout=5,
                        environ={"SPLUNK_HEC_TOKEN": HEC_TOKEN}, sleep=mono.sleep, monotonic=mono)
        sink = inner

    dead: List[Dict[str, Any]] = []
    api_sleeps: List[float] = []
    state_path = work / "state" / "state.json"
    settings = PollSettings(lookback=int(clock.t) - first + 600, overlap=plan.overlap, lag=plan.lag,
                            max_window=plan.max_window, page_size=plan.page_size, max_pages=plan.max_pages,
                            batch_size=plan.batch_size, sink_retries=3, sink_backoff=1.0)
    # visible to the last run: every event at time + lateness, then lag + overlap for the windows
    final_time = max(visible.values()) + plan.lag + plan.overlap + 1
    step = max(plan.step, (final_time - clock.t) / 20 + 1)  # at most ~20 complete runs to the end
    runs = complete_runs = 0
    emu.start()
    try:
        client = AlertsClient(emu.url, TENANT, TOKEN, sleep=api_sleeps.append, max_retries=3,
                              rng=random.Random(plan.seed), timeout=(5, 10))
        poller = Poller(client, sink, CheckpointStore(state_path), _mapper(), settings,
                        dead_letter=dead.append, clock=clock, sleep=lambda s: None)
        summaries = []
        regressions: List[str] = []
        last_hw: Optional[int] = None
        hw_moved_at: Optional[float] = None  # clock of the run that last moved high_water
        finished = False
        while not finished:
            runs += 1
            if runs > MAX_RUNS or time.monotonic() - started > SCENARIO_TIMEOUT:
                raise ScenarioFailure(f"no completing run after {runs - 1} runs "
                                      f"({time.monotonic() - started:.0f}s); last: {summaries[-1:]}")
            at_end = clock.t >= final_time
            summary = poller.run_once()
            summaries.append(summary.line())
            if summary.complete:
                complete_runs += 1
                finished = at_end
            hw = _check_checkpoint(plan, state_path, clock.t, times, visible,
                                   _delivered(plan, sink, server, work), {d for d in map(_dead_id, dead) if d},
                                   last_hw, hw_moved_at)
            if hw is not None and last_hw is not None and hw < last_hw:
                regressions.append(f"run {runs} ({'complete' if summary.complete else 'incomplete'}) moved "
                                   f"high_water back from {last_hw} to {hw}")
            if hw is not None and hw != last_hw:
                hw_moved_at = clock.t
            last_hw = hw if hw is not None else last_hw
            if summary.complete and not at_end:
                clock.t = min(final_time, clock.t + step)
            elif not summary.complete:
                clock.t += rng.choice([0, 0, 30])  # a retry soon after, sometimes later
        sink.close()
        try:
            figures = _final_check(plan, sink, server, work, generated, must_dead, dead, visible)
        except ScenarioFailure as exc:
            if regressions:  # name the cause found along the way
                raise ScenarioFailure(f"{exc}; checkpoint moved back: {'; '.join(regressions[:3])}") from None
            raise
        figures["high_water_regressions"] = len(regressions)
        figures.update(runs=runs, complete_runs=complete_runs, faults=_fault_counts(plan, emu, server),
                       api_retry_sleeps=len(api_sleeps), seconds=round(time.monotonic() - started, 2))
        return figures
    finally:
        emu.stop()
        if server is not None:
            server.stop()
        if plan.sink == "file":
            try:
                inner.close()
            except Exception:  # noqa: BLE001, S110 - closing twice is fine
                pass


def _delivered(plan: Plan, sink: Any, server: Any, work: Path) -> collections.Counter:
    """id -> copies the poller got confirmed (hec: copies whose ackId HEC reported true)."""
    if plan.sink == "file":
        return collections.Counter(_file_ids(work / "out"))
    if plan.sink == "es":
        with server.lock:
            return collections.Counter(i for docs in server.indices.values() for i in docs)
    with server.lock:
        return collections.Counter(server.confirmed)


def _check_checkpoint(plan: Plan, state_path: Path, now: float, times: Dict[str, int], visible: Dict[str, float],
                      delivered: collections.Counter, dead: set, last_hw: Optional[int] = None,
                      hw_moved_at: Optional[float] = None) -> Optional[int]:
    """The state's ``high_water`` after a run at ``now``; raises when it passed an event it must not.

    ``last_hw``/``hw_moved_at``: ``high_water`` before this run and the clock of
    the run that set it. When this run left ``high_water`` where it was, the
    windows up to it were read at ``hw_moved_at``: an event that became visible
    after that was not there to be read (it must only still be inside the overlap).
    """
    state = CheckpointStore(state_path).load()
    hw = state.high_water
    if hw is None:
        return None
    read_at = hw_moved_at if hw == last_hw and hw_moved_at is not None else now
    for eid, t in times.items():
        if t > hw or eid in delivered or eid in dead:
            continue
        if visible[eid] <= read_at:
            raise ScenarioFailure(f"checkpoint passed an undelivered event: high_water={hw} > time {t} of {eid} "
                                  f"(visible since {visible[eid]:.0f}, high_water set at {read_at:.0f}, "
                                  f"now {now:.0f})")
        if t < hw - plan.overlap:
            raise ScenarioFailure(f"late event {eid} (time {t}) is behind high_water - overlap ({hw} - "
                                  f"{plan.overlap}) and can no longer be read")
    return hw


def _final_check(plan: Plan, sink: Any, server: Any, work: Path, generated: List[str], must_dead: set,
                 dead: List[Dict[str, Any]], visible: Dict[str, float]) -> Dict[str, Any]:
    for rec in dead:
        if not rec.get("reason"):
            raise ScenarioFailure(f"dead letter without a reason: {rec}")
    dead_ids = collections.Counter(d for d in map(_dead_id, dead) if d)
    twice_dead = [i for i, c in dead_ids.items() if c > 1]
    if twice_dead:
        raise ScenarioFailure(f"dead-lettered more than once: {twice_dead[:5]}")
    missing_dead = must_dead - set(dead_ids)
    if missing_dead:
        raise ScenarioFailure(f"{len(missing_dead)} refused row(s) not in the dead-letter output: "
                              f"{sorted(missing_dead)[:5]}")
    confirmed = _delivered(plan, sink, server, work)
    redelivered = 0
    if plan.sink == "hec":
        with server.lock:
            copies = collections.Counter(e["event"]["event"]["id"] for e in server.events)
        # copies HEC kept without ever telling the poller (lost ackId, partial acceptance, ackId never true)
        redelivered = sum(copies[k] - confirmed[k] for k in copies)
        if any(copies[k] < confirmed[k] for k in confirmed):
            raise ScenarioFailure("hec: more confirmed copies than copies (bookkeeping)")
    lost = [i for i in generated if confirmed[i] == 0 and i not in dead_ids]
    dup = {i: c for i, c in confirmed.items() if c > 1}
    unexpected = set(confirmed) - set(generated)
    both = [i for i in dead_ids if confirmed[i] > 0]
    if lost:
        raise ScenarioFailure(f"{len(lost)} event(s) lost (neither delivered nor dead-lettered): {lost[:5]}")
    if dup:
        raise ScenarioFailure(f"{sum(c - 1 for c in dup.values())} duplicate(s): {list(dup.items())[:5]}")
    if unexpected:
        raise ScenarioFailure(f"ids that were never generated: {sorted(unexpected)[:5]}")
    if both:
        raise ScenarioFailure(f"dead-lettered and also delivered: {both[:5]}")
    unexplained_dead = set(dead_ids) - must_dead
    if unexplained_dead:
        raise ScenarioFailure(f"dead-lettered without an injected cause: {sorted(unexplained_dead)[:5]}")
    return {"sink": plan.sink, "seed": plan.seed, "generated": len(generated),
            "moved": sum(1 for i in generated if confirmed[i] == 1), "dead_lettered": len(dead_ids),
            "lost": len(lost), "duplicated": sum(c - 1 for c in dup.values()),
            "redelivered_after_lost_ack": redelivered,
            "already_in_sink_409": server.statuses[409] if plan.sink == "es" else 0}


def _fault_counts(plan: Plan, emu: CountingEmulator, server: Any) -> Dict[str, int]:
    out: Dict[str, int] = collections.Counter()
    with emu._lock:
        status = dict(emu.status_counts)
        actions = dict(emu.action_counts)
        n_requests = len(emu.requests)
    for code, n in status.items():
        if code == 0:
            out["source_reset"] += n
        elif code == 429:
            out["source_429_retry_after" if plan.source.retry_after else "source_429_no_retry_after"] += n
        elif code >= 500:
            out[f"source_{code}"] += n
    for action, n in actions.items():
        out[f"source_{action}"] += n
    if plan.source.latency[1] > 0:
        out["source_latency"] += n_requests
    if plan.sink == "es":
        for code, n in server.bulk_faults.items():
            out[f"es_bulk_{code}"] += n
        out["es_item_429"] += server.statuses[429]
        out["es_item_400"] += server.statuses[400]
    elif plan.sink == "hec":
        out.update(server.faults)
    return {k: v for k, v in out.items() if v}

