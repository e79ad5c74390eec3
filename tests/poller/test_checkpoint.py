"""CheckpointStore: atomic state file, append-only journal, torn tails, unreadable state, no secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from integrations.errors import CheckpointError
from integrations.poller import checkpoint as cp
from integrations.poller.checkpoint import CheckpointStore, State

MARKER = "MARKER-SECRET-7f3a9c"


class Crash(BaseException):
    """Stands for SIGKILL / power loss: nothing after it runs, no except clause catches it."""


def _state(hw: int, seen: dict, pos=None) -> State:
    st = State()
    st.high_water = hw
    st.seen = dict(seen)
    st.sink_position = pos
    return st


# --------------------------------------------------------------------------- atomic save

def test_save_and_load_round_trip(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "sub" / "state.json")
    store.save(_state(1000, {"a": 990, "b": 995}, {"alert": ["f.ndjson", 12]}))
    got = CheckpointStore(tmp_path / "sub" / "state.json").load()
    assert got.high_water == 1000
    assert got.seen == {"a": 990, "b": 995}
    assert got.sink_position == {"alert": ["f.ndjson", 12]}


def test_first_run_start_is_kept(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "state.json")
    st = State()
    st.start = 123456
    store.save(st)
    got = store.load()
    assert got.start == 123456 and got.high_water is None


def test_crash_between_temp_write_and_rename_keeps_old_state(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "state.json"
    store = CheckpointStore(path)
    store.save(_state(1000, {"old": 990}))
    before = path.read_bytes()

    def crash(src, dst):  # the temporary file is written and fsynced, the rename never happens
        assert Path(src).read_bytes() != before
        raise Crash()

    monkeypatch.setattr(cp.os, "replace", crash)
    with pytest.raises(Crash):
        store.save(_state(2000, {"new": 1990}))
    monkeypatch.undo()
    assert path.read_bytes() == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1  # what a real crash leaves behind ...
    got = CheckpointStore(path).load()  # ... is never read
    assert got.high_water == 1000 and got.seen == {"old": 990}
    CheckpointStore(path).save(_state(3000, {}))  # and the next good save removes it
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert CheckpointStore(path).load().high_water == 3000


def test_failed_rename_is_a_checkpoint_error_and_keeps_old_state(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "state.json"
    store = CheckpointStore(path)
    store.save(_state(1000, {"old": 990}))

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cp.os, "replace", fail)
    with pytest.raises(CheckpointError, match="cannot write the state file .*No space left"):
        store.save(_state(2000, {}))
    monkeypatch.undo()
    assert CheckpointStore(path).load().high_water == 1000
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_other_checkpoints_temporaries_are_not_removed(tmp_path: Path) -> None:
    other = tmp_path / "state.json.b.json.abcd1234.tmp"  # in-flight save of the checkpoint "state.json.b.json"
    other.write_bytes(b"{}")
    CheckpointStore(tmp_path / "state.json").save(_state(1, {}))
    assert other.exists()


# --------------------------------------------------------------------------- journal

def test_journal_replay(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = CheckpointStore(path)
    store.save(_state(1000, {"old": 990}, {"alert": ["f", 10]}))
    store.record_batch((400, 1100), {"x": 1010, "y": 1020}, {"alert": ["f", 50]})
    store.record_batch((400, 1100), {"z": 1030}, {"alert": ["f", 80]})
    store.close()
    got = CheckpointStore(path).load()
    assert got.high_water == 1000  # a window is not complete until the state is saved
    assert got.seen == {"old": 990, "x": 1010, "y": 1020, "z": 1030}
    assert got.sink_position == {"alert": ["f", 80]}
    assert got.window == (400, 1100)


def test_in_flight_entries_until_their_batch_is_journaled(tmp_path: Path) -> None:
    """record_pending opens entries; record_confirmed settles ids; record_batch closes every entry."""
    path = tmp_path / "state.json"
    store = CheckpointStore(path)
    tok1, tok2 = {"channel": "c", "ack": 1}, {"channel": "c", "ack": 2}
    store.record_batch((0, 100), {"a": 10}, {"channel": "c"})
    store.record_pending((0, 100), {"b": 20, "c": 30}, tok1)
    store.record_pending((0, 100), {"d": 40}, tok2)
    got = CheckpointStore(path).load()
    assert got.seen == {"a": 10}  # in flight is not delivered
    assert got.pending == [{"w": (0, 100), "ids": {"b": 20, "c": 30}, "tok": tok1},
                           {"w": (0, 100), "ids": {"d": 40}, "tok": tok2}]
    store.record_confirmed((0, 100), {"b": 20, "c": 30}, {"channel": "c"})  # part of the batch acknowledged
    got = CheckpointStore(path).load()
    assert got.seen == {"a": 10, "b": 20, "c": 30}
    assert got.pending == [{"w": (0, 100), "ids": {"d": 40}, "tok": tok2}]
    store.record_batch((0, 100), {}, {"channel": "c"})  # closes the batch's entries (resent as a whole)
    got = CheckpointStore(path).load()
    assert got.pending == [] and "d" not in got.seen
    store.record_pending((0, 100), {"e": 50}, tok1)
    store.record_batch((0, 100), {"e": 50}, {"channel": "c"})
    store.close()
    got = CheckpointStore(path).load()
    assert got.pending == [] and got.seen["e"] == 50 and got.sink_position == {"channel": "c"}


def test_rejected_rows_are_seen_without_moving_the_sink_or_closing_in_flight_entries(tmp_path: Path) -> None:
    """record_rejected (a dead-lettered source row): its id is seen, the sink position and any
    in-flight entry stay as they were."""
    path = tmp_path / "state.json"
    store = CheckpointStore(path)
    tok = {"channel": "c", "ack": 1}
    store.record_batch((0, 100), {"a": 10}, {"offset": 7})
    store.record_pending((0, 100), {"b": 20}, tok)
    store.record_rejected((100, 200), {"rejected:x": 200})
    store.close()
    got = CheckpointStore(path).load()
    assert got.seen == {"a": 10, "rejected:x": 200}
    assert got.sink_position == {"offset": 7}
    assert got.pending == [{"w": (0, 100), "ids": {"b": 20}, "tok": tok}]


def test_in_flight_entries_are_not_in_the_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = CheckpointStore(path)
    store.record_pending((0, 100), {"b": 20}, {"channel": "c", "ack": 1})
    st = store.load()
    assert st.pending
    assert "pending" not in st.to_json()


def test_save_clears_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = CheckpointStore(path)
    store.record_batch((0, 10), {"x": 5}, None)
    assert store.journal_path.exists()
    st = store.load()
    st.high_water = 10
    store.save(st)
    assert not store.journal_path.exists()
    assert CheckpointStore(path).load().seen == {"x": 5}


def test_journal_without_state_file(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "state.json")
    store.record_batch((0, 10), {"x": 5}, {"alert": ["f", 3]})
    store.close()
    got = CheckpointStore(tmp_path / "state.json").load()
    assert got.high_water is None and got.seen == {"x": 5} and got.sink_position == {"alert": ["f", 3]}


def test_torn_journal_tail_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = CheckpointStore(path)
    store.record_batch((0, 10), {"a": 1}, {"alert": ["f", 10]})
    store.close()
    with open(store.journal_path, "ab") as fh:  # a crash in the middle of the second append
        fh.write(b'{"w":[0,10],"ids":{"b":2},"pos":{"al')
    got = CheckpointStore(path).load()
    assert got.seen == {"a": 1}
    assert got.sink_position == {"alert": ["f", 10]}


def test_appending_after_a_torn_tail_keeps_later_batches(tmp_path: Path) -> None:
    """The batch after a crash must not hide behind the torn line of the crashed append."""
    path = tmp_path / "state.json"
    store = CheckpointStore(path)
    store.record_batch((0, 10), {"a": 1}, {"alert": ["f", 10]})
    store.close()
    with open(store.journal_path, "ab") as fh:
        fh.write(b'{"w":[0,10],"ids":{"b":2')
    restarted = CheckpointStore(path)
    restarted.load()
    restarted.record_batch((0, 10), {"c": 3}, {"alert": ["f", 30]})
    restarted.close()
    got = CheckpointStore(path).load()
    assert got.seen == {"a": 1, "c": 3}
    assert got.sink_position == {"alert": ["f", 30]}
    assert b'"b":2' not in restarted.journal_path.read_bytes()  # the torn tail was cut


def test_legacy_torn_line_in_the_middle_is_skipped(tmp_path: Path) -> None:
    """Journals written before torn tails were cut: a torn line followed by good lines."""
    path = tmp_path / "state.json"
    journal = Path(str(path) + ".journal")
    journal.write_bytes(b'{"w":[0,10],"ids":{"a":1},"pos":null}\n{"w":[0,10],"ids":{"b"\n'
                        b'{"w":[0,10],"ids":{"c":3},"pos":{"alert":["f",7]}}\n')
    got = CheckpointStore(path).load()
    assert got.seen == {"a": 1, "c": 3}
    assert got.sink_position == {"alert": ["f", 7]}


# --------------------------------------------------------------------------- unreadable state

@pytest.mark.parametrize("content, why", [
    (b"{not json", "unreadable"),
    (b'{"version": 99, "high_water": 1}', "unsupported state version 99"),
    (b'["a list"]', "expected a JSON object"),
    (b'{"version": 1, "high_water": "soon", "seen": {}}', "unreadable"),
    (b'{"version": 1, "high_water": 5, "seen": ["x"]}', "unreadable"),
])
def test_unreadable_state_is_an_actionable_checkpoint_error(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        CheckpointStore(path).load()
    msg = str(info.value)
    assert str(path) in msg
    assert why in msg
    assert "move it away" in msg  # what to do about it


def test_state_path_that_is_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.mkdir()
    with pytest.raises(CheckpointError) as info:
        CheckpointStore(path).load()
    assert str(path) in str(info.value) and "--state" in str(info.value)


def test_unwritable_journal_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    Path(str(path) + ".journal").mkdir()  # cannot be opened for appending
    with pytest.raises(CheckpointError, match="cannot append to the journal"):
        CheckpointStore(path).record_batch((0, 1), {"a": 1}, None)


# --------------------------------------------------------------------------- secrets

def test_state_and_journal_hold_ids_times_and_positions_only(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = CheckpointStore(path)
    store.save(_state(1000, {"id1": 990}, {"alert": ["accuknox-alert-2026-01-01-000001.ndjson", 5]}))
    store.record_batch((400, 1100), {"id2": 1001}, {"alert": ["accuknox-alert-2026-01-01-000001.ndjson", 9]})
    store.close()
    data = json.loads(path.read_bytes())
    assert set(data) == {"version", "high_water", "seen", "sink_position", "start"}
    for line in store.journal_path.read_bytes().splitlines():
        assert set(json.loads(line)) == {"w", "ids", "pos"}


def test_poller_run_writes_no_token_into_state_or_journal(tmp_path: Path) -> None:
    """A real run (emulator, client with a marker token, file sink): the marker is nowhere on disk."""
    import time

    from integrations.emulator import AlertsEmulator, generate_events
    from integrations.mapping import Mapper
    from integrations.poller.client import AlertsClient
    from integrations.poller.runner import Poller, PollSettings
    from integrations.sinks.file import FileSink

    now = int(time.time())
    events = list(generate_events(50, seed=3, start=now - 3000, rate=50 / 2000, regular=True))
    with AlertsEmulator(events, tenant_id="11", token=MARKER) as emu:
        client = AlertsClient(emu.url, "11", MARKER)
        sink = FileSink(tmp_path / "out")
        store = CheckpointStore(tmp_path / "state" / "state.json")
        poller = Poller(client, sink, store, Mapper(), PollSettings(lookback=3600, batch_size=7))
        summary = poller.run_once()
        sink.close()
        client.close()
    assert summary.complete and summary.delivered == 50
    # keep a journal on disk too: one more batch recorded but not yet saved
    store.record_batch((0, 1), {"extra": 1}, None)
    store.close()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".journal") for p in files)
    for p in files:
        assert MARKER.encode() not in p.read_bytes(), p


def test_fsync_dir_tolerates_missing_dir(tmp_path: Path) -> None:
    cp._fsync_dir(tmp_path / "does-not-exist")  # must not raise
    assert os.path.isdir(tmp_path)
