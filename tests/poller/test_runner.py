"""Poller.run_once against the emulator: windows, checkpoint order, retries, de-duplication,
late events, auth failures, dead letters, counters.

The emulator and the poller share a fake clock, so hours of polling run in
seconds and nothing depends on the wall clock. Sinks: an in-memory recording
sink and the real file sink.
"""

from __future__ import annotations

import collections
import json
import random
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import pytest

from integrations.emulator import AlertsEmulator, Scripted, generate_events
from integrations.errors import CheckpointError, MappingError, SinkError
from integrations.identity import event_id
from integrations.mapping import Mapper
from integrations.model import Delivery
from integrations.poller.checkpoint import CheckpointStore
from integrations.poller.client import EVENTS_PATH, AlertsClient
from integrations.poller.runner import Poller, PollSettings
from integrations.sinks.base import SendResult
from integrations.sinks.file import FileSink
from integrations.sinks.hec import HecSink
from tests.support.fake_hec import TOKEN as HEC_TOKEN
from tests.support.fake_hec import FakeHec

TOKEN = "runner-test-token-0123456789"
TENANT = "11"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z: the fake clock starts near here


class FakeClock:
    """Shared by the emulator (visibility) and the poller (windows)."""

    def __init__(self, t: float) -> None:
        self.t = float(t)

    def __call__(self) -> float:
        return self.t


class Crash(BaseException):
    """Stands for SIGKILL: not caught by the poller's except clauses."""


class RecordingSink:
    """In-memory sink: records every confirmed batch; ``fail(n, batch)`` may return an exception to raise."""

    name = "memory"

    def __init__(self, fail: Optional[Callable[[int, Sequence[Delivery]], Optional[BaseException]]] = None,
                 on_send: Optional[Callable[[Sequence[Delivery]], None]] = None) -> None:
        self.fail = fail
        self.on_send = on_send
        self.calls = 0
        self.batches: List[List[str]] = []
        self.bodies: List[Any] = []

    def send(self, batch: Sequence[Delivery]) -> SendResult:
        n = self.calls
        self.calls += 1
        if self.on_send is not None:
            self.on_send(batch)
        exc = self.fail(n, batch) if self.fail is not None else None
        if exc is not None:
            raise exc
        self.batches.append([d.event_id for d in batch])
        self.bodies.extend(d.body for d in batch)
        return SendResult(delivered=len(batch))

    @property
    def ids(self) -> List[str]:
        return [i for b in self.batches for i in b]

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def mapper_() -> Mapper:
    return Mapper(clock=lambda: ("2026-01-01T00:00:00.000000Z", 1767225600.0))


def make_events(n: int, start: float, span: float, seed: int = 1, regular: bool = True) -> List[Dict[str, Any]]:
    """``n`` alerts with times in ``[start, start + span)`` (evenly spaced unless ``regular=False``)."""
    return list(generate_events(n, seed=seed, start=start, rate=n / span, regular=regular))


def ids_of(events: Sequence[Dict[str, Any]]) -> List[str]:
    return [event_id(e) for e in events]  # HashID for generated rows


def make_poller(emu: AlertsEmulator, sink: Any, state: Path, clock: FakeClock, mapper: Mapper,
                token: str = TOKEN, sleeps: Optional[List[float]] = None, **settings: Any) -> Poller:
    client = AlertsClient(emu.url, TENANT, token, sleep=lambda s: None, max_retries=2)
    record = sleeps if sleeps is not None else []
    dead: List[Dict[str, Any]] = []
    poller = Poller(client, sink, CheckpointStore(state), mapper, PollSettings(**settings),
                    dead_letter=dead.append, clock=clock, sleep=record.append)
    poller.dead = dead  # type: ignore[attr-defined]
    return poller


def list_windows(emu: AlertsEmulator) -> List[tuple]:
    """(FromTime, ToTime) of every first-page request, in order."""
    out = []
    for r in emu.requests:
        if r.path == EVENTS_PATH and isinstance(r.body, dict) and r.body.get("PageId") == 1:
            out.append((r.body["FromTime"], r.body["ToTime"]))
    return out


# --------------------------------------------------------------------------- windows

def test_first_run_starts_at_now_minus_lookback_and_splits_by_max_window(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    events = make_events(90, T0 - 3 * 3600 + 10, 3 * 3600 - 200)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink = RecordingSink()
        poller = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=3 * 3600, lag=60,
                             max_window=3600, overlap=600)
        summary = poller.run_once()
        assert summary.complete, summary.error
        assert list_windows(emu) == [(T0 - 10800, T0 - 7200), (T0 - 7200, T0 - 3600), (T0 - 3600, T0 - 60)]
        assert summary.window_start == T0 - 10800 and summary.window_end == T0 - 60
        assert summary.windows == 3
        assert sorted(sink.ids) == sorted(ids_of(events))
        assert CheckpointStore(tmp_path / "s.json").load().high_water == T0 - 60

        # the next run starts at high_water - overlap and ends at now - lag
        emu.clear_requests()
        clock.t += 300
        summary = poller.run_once()
        assert summary.complete
        assert list_windows(emu) == [(T0 - 60 - 600, T0 + 300 - 60)]


def test_no_window_when_nothing_is_closed_yet(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    with AlertsEmulator([], tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        poller = make_poller(emu, RecordingSink(), tmp_path / "s.json", clock, mapper_, lookback=30, lag=60)
        summary = poller.run_once()
        assert summary.complete and summary.windows == 0 and list_windows(emu) == []


# --------------------------------------------------------------------------- checkpoint order

def test_checkpoint_advances_only_after_the_sink_confirmed(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    state = tmp_path / "s.json"
    events = make_events(60, T0 - 7000, 6000)
    confirmed: Dict[str, float] = {}
    checks = []

    def on_send(batch: Sequence[Delivery]) -> None:
        on_disk = CheckpointStore(state).load()  # what a crash right now would leave
        batch_ids = {d.event_id for d in batch}
        checks.append(len(batch))
        assert not batch_ids & set(on_disk.seen), "ids journaled before the sink confirmed them"
        for i, t in confirmed.items():  # every confirmed event: journaled, or behind high_water
            assert i in on_disk.seen or (on_disk.high_water is not None and t < on_disk.high_water), \
                "a confirmed batch was not journaled"
        oldest = min(d.time for d in batch)
        assert on_disk.high_water is None or on_disk.high_water <= oldest + 600, \
            "high_water passed an event that was not confirmed yet"

    sink = RecordingSink(on_send=on_send)
    real_send = sink.send

    def send(batch):
        result = real_send(batch)
        confirmed.update((d.event_id, d.time) for d in batch)
        return result

    sink.send = send  # type: ignore[method-assign]
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        poller = make_poller(emu, sink, state, clock, mapper_, lookback=7200, max_window=1800, batch_size=7)
        summary = poller.run_once()
    assert summary.complete
    assert len(checks) >= 9  # several batches per window
    final = CheckpointStore(state).load()
    assert final.high_water == T0 - 60
    assert set(final.seen) <= set(confirmed)  # only delivered ids (those near high_water) are kept


def test_crash_between_sink_and_journal_redelivers_that_batch_only(tmp_path, mapper_, monkeypatch) -> None:
    """Memory sink (no rollback): at-least-once – exactly the unjournaled batch comes again."""
    clock = FakeClock(T0)
    state = tmp_path / "s.json"
    events = make_events(40, T0 - 3000, 2500)
    sink = RecordingSink()
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        poller = make_poller(emu, sink, state, clock, mapper_, lookback=3600, batch_size=6)
        calls = {"n": 0}
        real = poller.store.record_batch

        def record_batch(*a, **kw):
            calls["n"] += 1
            if calls["n"] == 3:
                raise Crash()
            return real(*a, **kw)

        monkeypatch.setattr(poller.store, "record_batch", record_batch)
        with pytest.raises(Crash):
            poller.run_once()
        crashed_batch = sink.batches[2]
        monkeypatch.undo()
        poller2 = make_poller(emu, sink, state, clock, mapper_, lookback=3600, batch_size=6)
        summary = poller2.run_once()
    assert summary.complete
    counts = collections.Counter(sink.ids)
    assert set(counts) == set(ids_of(events))
    assert sorted(i for i, c in counts.items() if c > 1) == sorted(crashed_batch)


def test_file_sink_exactly_once_after_a_crash_between_write_and_journal(tmp_path, mapper_, monkeypatch) -> None:
    clock = FakeClock(T0)
    state = tmp_path / "s.json"
    out = tmp_path / "out"
    events = make_events(45, T0 - 3000, 2500)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink = FileSink(out, clock=clock)
        poller = make_poller(emu, sink, state, clock, mapper_, lookback=3600, batch_size=6, max_window=900)
        journaled: List[int] = []
        real = poller.store.record_batch

        def record_batch(window, ids, position):
            if len(journaled) == 3:
                raise Crash()  # the sink fsynced batch 4, the journal never heard of it
            journaled.append(len(ids))
            return real(window, ids, position)

        monkeypatch.setattr(poller.store, "record_batch", record_batch)
        with pytest.raises(Crash):
            poller.run_once()
        sink.close()  # the process died: its lock is gone
        assert len(file_ids(out)) > sum(journaled)  # the unjournaled batch is in the files
        monkeypatch.undo()
        sink2 = FileSink(out, clock=clock)
        summary = make_poller(emu, sink2, state, clock, mapper_, lookback=3600, batch_size=6,
                              max_window=900).run_once()
        sink2.close()
    assert summary.complete, summary.error
    got = file_ids(out)
    assert collections.Counter(got).most_common(1)[0][1] == 1
    assert sorted(got) == sorted(ids_of(events))


def file_ids(out: Path) -> List[str]:
    return [json.loads(line)["event"]["id"] for f in sorted(out.glob("*.ndjson")) for line in f.open("rb")]


def test_interrupted_first_run_keeps_its_start(tmp_path, mapper_) -> None:
    """A first run that stops early and is resumed hours later still covers the original look-back."""
    clock = FakeClock(T0)
    state = tmp_path / "s.json"
    events = make_events(30, T0 - 3500, 600)  # all in the first 10 minutes of the look-back
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        broken = RecordingSink(fail=lambda n, b: SinkError("down", retryable=False))
        s1 = make_poller(emu, broken, state, clock, mapper_, lookback=3600).run_once()
        assert not s1.complete
        clock.t += 2 * 3600  # now - lookback has moved past every event
        sink = RecordingSink()
        s2 = make_poller(emu, sink, state, clock, mapper_, lookback=3600).run_once()
    assert s2.complete and s2.window_start == T0 - 3600
    assert sorted(sink.ids) == sorted(ids_of(events))


# --------------------------------------------------------------------------- HEC with ack: two phases

HEC_ENV = {"SPLUNK_HEC_TOKEN": HEC_TOKEN}


def hec_sink(server: FakeHec, **kw: Any) -> HecSink:
    kw.setdefault("ack_poll_interval", 0.001)
    return HecSink(server.url, ack=True, environ=HEC_ENV, **kw)


def hec_ids(server: FakeHec) -> List[str]:
    with server.lock:
        return [env["event"]["event"]["id"] for env in server.events]


def _crash_on(store: CheckpointStore, method: str, nth: int, before: bool, monkeypatch) -> List[Any]:
    """Make the ``nth`` call of ``store.<method>`` raise Crash, before or after it wrote its line."""
    real = getattr(store, method)
    calls: List[Any] = []

    def wrapped(*a, **kw):
        calls.append(a)
        if len(calls) == nth and before:
            raise Crash()
        out = real(*a, **kw)
        if len(calls) == nth:
            raise Crash()
        return out

    monkeypatch.setattr(store, method, wrapped)
    return calls


def _hec_crash_then_restart(tmp_path, mapper_, monkeypatch, method: str, nth: int, before: bool,
                            server: FakeHec, restart_kw: Optional[Dict[str, Any]] = None,
                            **settings: Any) -> Dict[str, Any]:
    clock = FakeClock(T0)
    state = tmp_path / "s.json"
    events = make_events(40, T0 - 3000, 2500)
    settings.setdefault("batch_size", 6)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        first = hec_sink(server, **settings.pop("sink_kw", {}))
        poller = make_poller(emu, first, state, clock, mapper_, lookback=3600, **settings)
        calls = _crash_on(poller.store, method, nth, before, monkeypatch)
        with pytest.raises(Crash):
            poller.run_once()
        poller.store.close()
        first.close()  # the process died
        monkeypatch.undo()
        at_crash = list(hec_ids(server))
        restarted = hec_sink(server, **(restart_kw or {}))
        assert restarted.channel != first.channel
        summary = make_poller(emu, restarted, state, clock, mapper_, lookback=3600, **settings).run_once()
        restarted.close()
    assert summary.complete, summary.error
    assert restarted.channel == first.channel  # the channel came back from the state
    assert len(server.channels) == 1
    counts = collections.Counter(hec_ids(server))
    assert set(counts) == set(ids_of(events))  # nothing lost
    return {"counts": counts, "at_crash": at_crash, "calls": calls, "state": CheckpointStore(state).load()}


def test_hec_channel_is_kept_in_the_state_before_the_first_request(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    with FakeHec(ack=True) as server, \
            AlertsEmulator(make_events(5, T0 - 3000, 2500), tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink = hec_sink(server)
        saved: List[Any] = []

        def on_send(batch):
            saved.append(CheckpointStore(tmp_path / "s.json").load().sink_position)

        real = sink.send
        sink.send = lambda batch: (on_send(batch), real(batch))[1]  # type: ignore[method-assign]
        assert make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=3600).run_once().complete
    assert saved and saved[0] == {"channel": sink.channel}
    assert CheckpointStore(tmp_path / "s.json").load().sink_position == {"channel": sink.channel}


def test_hec_crash_after_the_ack_id_is_journaled_resends_nothing(tmp_path, mapper_, monkeypatch) -> None:
    """Killed between phase one (ackId journaled) and the acknowledgement: the restart asks HEC."""
    with FakeHec(ack=True) as server:
        r = _hec_crash_then_restart(tmp_path, mapper_, monkeypatch, "record_pending", 3, False, server)
    assert max(r["counts"].values()) == 1  # exactly once
    assert len(r["at_crash"]) == 18  # the third batch was in HEC when the process died


def test_hec_crash_with_a_slow_indexer_waits_for_the_ack(tmp_path, mapper_, monkeypatch) -> None:
    with FakeHec(ack=True) as server:
        server.ack_after_polls = 3
        r = _hec_crash_then_restart(tmp_path, mapper_, monkeypatch, "record_pending", 2, False, server)
    assert max(r["counts"].values()) == 1


def test_hec_crash_before_the_ack_id_is_journaled_resends_that_batch(tmp_path, mapper_, monkeypatch) -> None:
    """The first remaining window: HEC has the request, the journal does not know its ackId."""
    with FakeHec(ack=True) as server:
        r = _hec_crash_then_restart(tmp_path, mapper_, monkeypatch, "record_pending", 3, True, server)
    dup = sorted(i for i, c in r["counts"].items() if c > 1)
    assert dup == sorted(r["at_crash"][12:18])  # that batch only


def test_hec_crash_after_the_ack_before_the_batch_is_journaled(tmp_path, mapper_, monkeypatch) -> None:
    """The second remaining window: HEC answered true (and forgot it); the restart waits, then resends."""
    with FakeHec(ack=True) as server:
        r = _hec_crash_then_restart(tmp_path, mapper_, monkeypatch, "record_batch", 3, True, server,
                                    restart_kw={"ack_timeout": 0.2, "ack_poll_interval": 0.01})
    dup = sorted(i for i, c in r["counts"].items() if c > 1)
    assert dup == sorted(r["at_crash"][12:18])


def test_hec_crash_after_part_of_a_batch_was_acknowledged(tmp_path, mapper_, monkeypatch) -> None:
    """Three requests per batch; two are acknowledged early and journaled, then the process dies."""
    with FakeHec(ack=True) as server:
        real_success = server._success

        def success(channel):  # every second request of the channel takes two more polls
            resp = real_success(channel)
            ack_id = resp.body.get("ackId")
            if ack_id is not None and ack_id % 2:
                with server.lock:
                    for ch in server.channels.values():
                        if ack_id in ch.pending:
                            ch.pending[ack_id] = 2
            return resp

        server._success = success  # type: ignore[method-assign]
        r = _hec_crash_then_restart(tmp_path, mapper_, monkeypatch, "record_confirmed", 1, False, server,
                                    batch_size=6, sink_kw={"max_events": 2})
    assert max(r["counts"].values()) == 1
    # the early acknowledgements: requests 0 and 2 (2 events each) while request 1 still waited
    assert len(r["calls"]) == 1 and len(r["calls"][0][1]) == 4


def test_hec_in_flight_stays_journaled_when_hec_cannot_be_asked(tmp_path, mapper_, monkeypatch) -> None:
    clock = FakeClock(T0)
    state = tmp_path / "s.json"
    events = make_events(20, T0 - 3000, 2500)
    down = FakeHec(ack=True).start()
    down_url = down.url
    down.stop()
    with FakeHec(ack=True) as server, \
            AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        first = hec_sink(server)
        poller = make_poller(emu, first, state, clock, mapper_, lookback=3600, batch_size=6)
        _crash_on(poller.store, "record_pending", 2, False, monkeypatch)
        with pytest.raises(Crash):
            poller.run_once()
        poller.store.close()
        monkeypatch.undo()
        unreachable = HecSink(down_url, ack=True, environ=HEC_ENV, ack_timeout=0.05, sleep=lambda s: None)
        summary = make_poller(emu, unreachable, state, clock, mapper_, lookback=3600, batch_size=6).run_once()
        assert not summary.complete and "the next run asks again" in (summary.error or "")
        assert len(CheckpointStore(state).load().pending) == 1  # still in flight, still to be asked
        summary = make_poller(emu, hec_sink(server), state, clock, mapper_, lookback=3600,
                              batch_size=6).run_once()
    assert summary.complete, summary.error
    assert collections.Counter(hec_ids(server)) == collections.Counter(ids_of(events))


def test_hec_retried_batch_closes_the_failed_attempts_entries(tmp_path, mapper_, monkeypatch) -> None:
    """A lost ack times out, the batch is sent again: only the new attempt's ackIds stay in flight."""
    clock = FakeClock(T0)
    state = tmp_path / "s.json"
    with FakeHec(ack=True) as server, \
            AlertsEmulator(make_events(6, T0 - 3000, 2500), tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        server.lose_acks(1)
        sink = hec_sink(server, ack_timeout=0.05, ack_poll_interval=0.01)
        poller = make_poller(emu, sink, state, clock, mapper_, lookback=3600, batch_size=6)
        seen: List[Any] = []
        real_pending = poller.store.record_pending

        def record_pending(window, ids, token):
            seen.append([e["tok"]["ack"] for e in CheckpointStore(state).load().pending])
            return real_pending(window, ids, token)

        monkeypatch.setattr(poller.store, "record_pending", record_pending)
        summary = poller.run_once()
    assert summary.complete and summary.retries == 1
    assert seen == [[], []]  # before the second attempt's ackId: the first one was closed


def test_hec_retry_resends_only_what_was_not_confirmed_ahead(tmp_path, mapper_) -> None:
    """Three requests per batch, the second one's ack is lost: the retry sends that request's events only."""
    clock = FakeClock(T0)
    events = make_events(6, T0 - 3000, 2500)
    with FakeHec(ack=True) as server, \
            AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        real_success = server._success

        def success(channel):
            resp = real_success(channel)
            if resp.body.get("ackId") == 1:
                with server.lock:
                    for ch in server.channels.values():
                        ch.pending[1] = None  # never true: a lost acknowledgement
            return resp

        server._success = success  # type: ignore[method-assign]
        sink = hec_sink(server, max_events=2, ack_timeout=0.1, ack_poll_interval=0.01)
        summary = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=3600,
                              batch_size=6).run_once()
    assert summary.complete and summary.retries == 1 and summary.delivered == 6
    counts = collections.Counter(hec_ids(server))
    assert set(counts) == set(ids_of(events))
    twice = [i for i, c in counts.items() if c > 1]
    assert len(twice) == 2  # the lost ack's two events (HEC kept them without telling): nothing else


def test_hec_journal_failure_stops_the_run_before_the_ack_is_polled(tmp_path, mapper_, monkeypatch) -> None:
    clock = FakeClock(T0)
    with FakeHec(ack=True) as server, \
            AlertsEmulator(make_events(6, T0 - 3000, 2500), tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        poller = make_poller(emu, hec_sink(server), tmp_path / "s.json", clock, mapper_, lookback=3600)

        def record_pending(*a):
            raise CheckpointError("cannot append to the journal: disk full")

        monkeypatch.setattr(poller.store, "record_pending", record_pending)
        summary = poller.run_once()
    assert not summary.complete and "disk full" in (summary.error or "")
    assert server.ack_polls == 0


# --------------------------------------------------------------------------- sink errors

def test_retryable_sink_error_is_retried_then_run_incomplete(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    state = tmp_path / "s.json"
    events = make_events(20, T0 - 3000, 2000)
    sleeps: List[float] = []
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        ok = RecordingSink()
        clock.t = T0 - 2000
        assert make_poller(emu, ok, state, clock, mapper_, lookback=1200).run_once().complete  # a first, good run
        before = CheckpointStore(state).load()
        assert 0 < len(ok.ids) < 20 and before.high_water == T0 - 2060
        clock.t = T0
        sink = RecordingSink(fail=lambda n, b: SinkError("sink busy (503)", retryable=True))
        poller = make_poller(emu, sink, state, clock, mapper_, lookback=1800, sleeps=sleeps,
                             sink_retries=3, sink_backoff=0.5)
        summary = poller.run_once()
    assert not summary.complete
    assert "sink busy (503)" in (summary.error or "")
    assert sink.calls == 4  # the first attempt + 3 retries
    assert sleeps == [0.5, 1.0, 2.0]  # exponential back-off, no real sleeping
    assert summary.retries >= 3 and summary.delivered == 0
    after = CheckpointStore(state).load()
    assert after.high_water == before.high_water
    assert after.seen == before.seen
    assert "INCOMPLETE" in summary.line()


def test_non_retryable_sink_error_is_not_retried(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    events = make_events(10, T0 - 3000, 2000)
    sleeps: List[float] = []
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink = RecordingSink(fail=lambda n, b: SinkError("token refused", retryable=False))
        summary = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=3600,
                              sleeps=sleeps).run_once()
    assert not summary.complete and sink.calls == 1 and sleeps == []
    assert CheckpointStore(tmp_path / "s.json").load().high_water is None


def test_transient_sink_error_then_success(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    events = make_events(25, T0 - 3000, 2000)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink = RecordingSink(fail=lambda n, b: SinkError("blip", retryable=True) if n == 1 else None)
        summary = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=3600,
                              batch_size=10).run_once()
    assert summary.complete and summary.retries == 1
    assert sorted(sink.ids) == sorted(ids_of(events)) and summary.delivered == 25


# --------------------------------------------------------------------------- de-duplication

@pytest.mark.parametrize("prefetch", [0, 1, 3])
def test_overlapping_windows_do_not_duplicate(tmp_path, mapper_, prefetch) -> None:
    clock = FakeClock(T0)
    events = make_events(300, T0 - 4 * 3600, 4 * 3600 - 120)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink = RecordingSink()
        poller = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=5 * 3600,
                             page_size=20, prefetch_pages=prefetch)
        total_dropped = 0
        for _ in range(4):  # runs 5 minutes apart: each re-reads the 10 minute overlap
            summary = poller.run_once()
            assert summary.complete
            total_dropped += summary.duplicates_dropped
            clock.t += 300
    assert total_dropped > 0
    assert len(sink.ids) == len(set(sink.ids)) == 300


def test_repeated_rows_from_the_dup_fault_are_dropped(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    events = make_events(400, T0 - 3 * 3600, 3 * 3600 - 120)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock, faults="dup=0.6,seed=5") as emu:
        sink = RecordingSink()
        summary = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=4 * 3600,
                              page_size=20).run_once()
    assert summary.complete
    assert summary.duplicates_dropped >= 5
    assert summary.pulled == 400 + summary.duplicates_dropped
    assert collections.Counter(sink.ids) == collections.Counter(ids_of(events))


# --------------------------------------------------------------------------- late events

def _run_schedule(emu: AlertsEmulator, poller: Poller, clock: FakeClock, sink: RecordingSink, until: float,
                  period: int = 300, max_runs: int = 60) -> Dict[str, int]:
    """Run every ``period`` s of fake time until ``until``; return id -> index of the delivering run."""
    delivered_in: Dict[str, int] = {}
    runs = 0
    while clock.t <= until:
        runs += 1
        assert runs <= max_runs, "schedule did not end"
        before = len(sink.ids)
        summary = poller.run_once()
        assert summary.complete, summary.error
        for i in sink.ids[before:]:
            delivered_in.setdefault(i, runs)
        clock.t += period
    return delivered_in


def test_late_events_within_lag_plus_overlap_are_delivered_exactly_once(tmp_path, mapper_) -> None:
    """Default overlap/lag; visibility delays uniform in [0, 600] s; a run every 5 minutes for 2 h+."""
    settings = PollSettings()
    assert (settings.overlap, settings.lag) == (600, 60)  # the defaults this test is about
    start = T0
    span = 2 * 3600
    events = make_events(1500, start, span, seed=21)
    clock = FakeClock(start + 300)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock, late_seconds=600, seed=9) as emu:
        sink = RecordingSink()
        poller = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_)  # default settings
        last_ts = max(e["Timestamp"] for e in events)
        delivered_in = _run_schedule(emu, poller, clock, sink, until=last_ts + 600 + 60 + 2 * 300)
    counts = collections.Counter(sink.ids)
    assert set(counts) == set(ids_of(events))  # nothing missing
    assert max(counts.values()) == 1  # nothing twice
    # the test really exercised lateness: many events were not visible to the first run whose
    # window covered them and came with a later run (through the overlap)
    ts_of = {event_id(e): e["Timestamp"] for e in events}
    first_cover = {i: 1 + max(0, -(-(ts - (start + 300 - 60)) // 300)) for i, ts in ts_of.items()}
    later = sum(1 for i, run in delivered_in.items() if run > first_cover[i])
    assert later > 300, later


def test_event_later_than_lag_plus_overlap_is_missed(tmp_path, mapper_) -> None:
    """Documents the limit: visible more than lag + overlap (+ one run period) after its time → never read."""
    start = T0
    events = make_events(200, start, 3600, seed=4)
    clock = FakeClock(start + 300)
    late_ok, late_lost = [dict(e) for e in make_events(2, start + 1200, 10, seed=99)]
    late_ok["HashID"], late_lost["HashID"] = "a" * 64, "b" * 64
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        emu.add_events([late_ok], visible_at=late_ok["Timestamp"] + 60 + 600)  # exactly lag + overlap
        emu.add_events([late_lost], visible_at=late_lost["Timestamp"] + 60 + 600 + 300 + 1)
        sink = RecordingSink()
        poller = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_)
        _run_schedule(emu, poller, clock, sink, until=start + 3600 + 3600)
        # the API does hold it by now: a fresh poller with a long look-back would find it
        assert any(r.get("HashID") == "b" * 64 for r in _all_rows(emu, clock))
    assert "a" * 64 in sink.ids
    assert "b" * 64 not in sink.ids
    assert len(sink.ids) == len(set(sink.ids)) == 201


def _all_rows(emu: AlertsEmulator, clock: FakeClock) -> List[Dict[str, Any]]:
    client = AlertsClient(emu.url, TENANT, TOKEN)
    try:
        return [r for p in client.iter_pages(int(clock.t) - 86400, int(clock.t)) for r in p.rows]
    finally:
        client.close()


# --------------------------------------------------------------------------- API errors

def test_api_401_stops_the_run_and_keeps_the_checkpoint(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    state = tmp_path / "s.json"
    events = make_events(30, T0 - 3000, 2500)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        make_poller(emu, RecordingSink(), state, clock, mapper_, lookback=3600).run_once()
        before = state.read_bytes()
        clock.t += 600
        sink = RecordingSink()
        summary = make_poller(emu, sink, state, clock, mapper_, token="expired-token",
                              lookback=3600).run_once()
    assert not summary.complete
    assert "HTTP 401" in summary.error and "renew" in summary.error
    assert "expired-token" not in summary.error
    assert sink.calls == 0
    assert state.read_bytes() == before


def test_api_server_errors_exhausting_retries_keep_the_checkpoint(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    state = tmp_path / "s.json"
    with AlertsEmulator(make_events(10, T0 - 3000, 2000), tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        emu.script(*[Scripted(status=500, body={"message": "boom"})] * 3)
        summary = make_poller(emu, RecordingSink(), state, clock, mapper_, lookback=3600).run_once()
    assert not summary.complete and "giving up after 3 attempts" in summary.error
    assert summary.retries == 2
    assert CheckpointStore(state).load().high_water is None


# --------------------------------------------------------------------------- dead letters

def test_dead_letters_go_to_the_callable_and_the_run_continues(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    events = make_events(6, T0 - 600, 300, seed=8)  # inside the next run's overlap
    bad_mapping = events[2]
    page = {"response": [events[0], "this is not an event", events[1], bad_mapping, events[3]]}
    with AlertsEmulator(events[4:], tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        emu.script(Scripted(status=200, body=page))  # the first page (short: the window ends there)
        sink = RecordingSink()
        poller = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=1200, max_window=3600)
        real_view = poller.view

        def view(ev):
            if ev.fields.get("HashID") == bad_mapping["HashID"]:
                raise MappingError("ecs.test", "cannot map this one")
            return real_view(ev)

        poller.view = view
        summary = poller.run_once()
        assert summary.complete
        assert summary.rejected == 2
        assert sorted(sink.ids) == sorted(ids_of([events[0], events[1], events[3]]))
        dead = poller.dead  # type: ignore[attr-defined]
        assert [d["original"] for d in dead] == ["this is not an event", bad_mapping]
        for d in dead:
            assert set(d) >= {"reason", "location", "original"} and d["reason"]
        assert "expected a JSON object" in dead[0]["reason"] and "page1:row2" in dead[0]["location"]
        assert "cannot map this one" in dead[1]["reason"]

        # the same rows read again through the overlap are not dead-lettered a second time
        emu.script(Scripted(status=200, body=page))
        clock.t += 300
        poller.run_once()
        assert len(dead) == 2


@pytest.mark.parametrize("how", ["parse", "map"])
def test_dead_letter_of_a_window_stopped_by_api_errors_is_not_repeated(tmp_path, mapper_, how) -> None:
    """Soak seed 20261419 (file sink), reduced: the first page of a window holds a row that is
    dead-lettered (cannot be parsed, or cannot be mapped), the next page fails until the API
    retries run out, so the window's batch is never sent. The next run reads that window again:
    the row's id must already be journaled (it used to wait for the batch, and the row was
    dead-lettered a second time)."""
    clock = FakeClock(T0)
    state = tmp_path / "s.json"
    events = make_events(6, T0 - 1000, 600, seed=8)
    if how == "parse":  # a container where an integer belongs: parse_object rejects it
        bad = dict(events[0], HashID="bad-row-0", Timestamp=events[0]["Timestamp"] - 1, PID={"not": "an integer"})
        bad.pop("Type", None)
        rows, bad_id = events + [bad], "bad-row-0"
    else:
        rows, bad_id = events, events[0]["HashID"]
    with AlertsEmulator(rows, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink = RecordingSink()
        poller = make_poller(emu, sink, state, clock, mapper_, lookback=1200, page_size=3)
        real_view = poller.view

        def view(ev):
            if ev.fields.get("HashID") == bad_id:
                raise MappingError("ecs.test", "cannot map this one")
            return real_view(ev)

        poller.view = view
        # page 1 answers (with the bad row), page 2 fails 3 times: max_retries=2 -> the run stops
        emu.script(Scripted(200), *[Scripted(status=500, body={"message": "boom"})] * 3)
        first = poller.run_once()
        assert not first.complete and first.rejected == 1
        assert sink.ids == [] and CheckpointStore(state).load().high_water is None
        second = poller.run_once()  # the same window, read again
    assert second.complete, second.error
    assert second.rejected == 0 and second.duplicates_dropped >= 1
    dead = poller.dead  # type: ignore[attr-defined]
    assert [d["original"]["HashID"] for d in dead] == [bad_id]
    good = [e for e in events if e["HashID"] != bad_id]
    assert sorted(sink.ids) == sorted(ids_of(good))


def test_unexpected_mapper_exception_is_a_dead_letter_not_a_stuck_poller(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    events = make_events(5, T0 - 1000, 600, seed=8)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink = RecordingSink()
        poller = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=1200)
        real_view = poller.view
        poller.view = lambda ev: (_ for _ in ()).throw(KeyError("x")) if ev.fields["HashID"] == \
            events[0]["HashID"] else real_view(ev)
        summary = poller.run_once()
    assert summary.complete and summary.rejected == 1 and summary.delivered == 4
    assert "internal error while mapping: KeyError" in poller.dead[0]["reason"]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- dense windows

def test_window_denser_than_max_pages_is_split_not_skipped(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    events = make_events(300, T0 - 3000, 2400, seed=13)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink = RecordingSink()
        poller = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=3600, page_size=10,
                             max_pages=5)
        summary = poller.run_once()
    assert summary.complete, summary.error
    assert collections.Counter(sink.ids) == collections.Counter(ids_of(events))
    assert summary.windows > 6


def test_one_second_denser_than_max_pages_stops_the_run(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    same_second = [dict(e, Timestamp=T0 - 1000) for e in make_events(30, T0 - 1000, 1, seed=2)]
    with AlertsEmulator(same_second, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink = RecordingSink()
        summary = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=1200, page_size=5,
                              max_pages=2).run_once()
    assert not summary.complete and "raise max_pages" in summary.error
    assert CheckpointStore(tmp_path / "s.json").load().high_water is None or \
        CheckpointStore(tmp_path / "s.json").load().high_water < T0 - 1000


# --------------------------------------------------------------------------- counters

def test_summary_counters(tmp_path, mapper_) -> None:
    clock = FakeClock(T0)
    events = make_events(120, T0 - 7000, 6800, seed=17)

    class EsLike(RecordingSink):
        def send(self, batch):
            super().send(batch)
            return SendResult(delivered=len(batch) - 1, duplicates=1)  # one 409 per batch

    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock, faults="dup=0.3,seed=2") as emu:
        sink = EsLike()
        summary = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=7200, max_window=1800,
                              page_size=25, batch_size=40).run_once()
    assert summary.complete
    assert summary.windows == 4
    assert summary.pulled == 120 + summary.duplicates_dropped
    assert summary.delivered + summary.sink_duplicates == 120
    assert summary.sink_duplicates == sink.calls
    assert summary.pages >= 120 // 25
    d = summary.as_dict()
    assert d["delivered"] == summary.delivered and d["complete"] is True and d["error"] is None
    line = summary.line()
    for key in ("pulled=", "delivered=", "duplicates_dropped=", "already_in_sink=", "rejected=", "retries=",
                "pages=", "windows="):
        assert key in line
    assert line.startswith("run complete")


def test_random_schedule_smoke(tmp_path, mapper_) -> None:
    """Irregular run times (1–15 minutes apart), late events ≤ 600 s, default settings: still exactly once.

    The bound does not depend on the time between runs: an event stays inside the
    re-read overlap until a run starts more than lag + overlap after its time.
    """
    rng = random.Random(5)
    events = make_events(400, T0, 3600, seed=31)
    clock = FakeClock(T0 + 60)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock, late_seconds=600, seed=3) as emu:
        sink = RecordingSink()
        poller = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_)
        for _ in range(200):
            assert poller.run_once().complete
            if clock.t > T0 + 3600 + 3000:
                break
            clock.t += rng.randint(60, 900)
    assert collections.Counter(sink.ids) == collections.Counter(ids_of(events))


# --------------------------------------------------------------------------- sinks that ship the raw event

def test_sink_that_ships_only_the_raw_event_is_not_given_a_mapped_body(tmp_path, mapper_, monkeypatch) -> None:
    """Elasticsearch in pipeline mode maps in the ingest pipeline: the poller must not map too."""
    class RawSink(RecordingSink):
        needs_body = False

    calls: List[int] = []
    monkeypatch.setattr(mapper_, "to_ecs", lambda *a, **k: calls.append(1) or {})
    clock = FakeClock(T0)
    events = make_events(50, T0 - 3600, 3000)
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink = RawSink()
        summary = make_poller(emu, sink, tmp_path / "s.json", clock, mapper_, lookback=2 * 3600).run_once()
    assert summary.complete and summary.delivered == 50
    assert calls == []  # no ECS mapping at all
    assert sink.bodies == [None] * 50
    assert collections.Counter(sink.ids) == collections.Counter(ids_of(events))
    # a sink that reads bodies still gets the mapped document
    with AlertsEmulator(events, tenant_id=TENANT, token=TOKEN, clock=clock) as emu:
        sink2 = RecordingSink()
        make_poller(emu, sink2, tmp_path / "s2.json", clock, mapper_, lookback=2 * 3600).run_once()
    assert len(calls) == 50 and sink2.bodies == [{}] * 50
