"""file:DIR sink: NDJSON lines, naming, rotation, fsync, crash recovery, locking."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from integrations.errors import ConfigError, SinkError
from integrations.sinks import open_sink
from integrations.sinks.file import FILE_RE, FileSink, file_name, truncate_partial_line
from tests.conftest import REPO
from tests.sinks.conftest import make_batch, make_delivery

DAY1 = 1700000000.0  # 2023-11-14 UTC
DAY2 = DAY1 + 86400


def ndjson_files(d: Path):
    return sorted(p for p in d.iterdir() if FILE_RE.match(p.name))


def read_lines(p: Path):
    data = p.read_bytes()
    assert data == b"" or data.endswith(b"\n"), f"{p.name} ends with a partial line"
    return [json.loads(x) for x in data.splitlines()]


def test_writes_one_body_per_line(tmp_path: Path) -> None:
    batch = make_batch(5)
    with FileSink(tmp_path, clock=lambda: DAY1) as sink:
        res = sink.send(batch)
    assert (res.delivered, res.duplicates, res.dead_letters) == (5, 0, [])
    (f,) = ndjson_files(tmp_path)
    assert f.name == "accuknox-alert-2023-11-14-000001.ndjson"
    assert read_lines(f) == [d.body for d in batch]


def test_streams_go_to_their_own_files(tmp_path: Path) -> None:
    batch = [make_delivery(0, "alert"), make_delivery(1, "log"), make_delivery(2, "alert")]
    with FileSink(tmp_path, clock=lambda: DAY1) as sink:
        assert sink.send(batch).delivered == 3
    names = [p.name for p in ndjson_files(tmp_path)]
    assert names == ["accuknox-alert-2023-11-14-000001.ndjson", "accuknox-log-2023-11-14-000001.ndjson"]
    assert [x["event"]["id"] for x in read_lines(tmp_path / names[0])] == ["id-alert-000000", "id-alert-000002"]


def test_empty_batch_writes_nothing(tmp_path: Path) -> None:
    with FileSink(tmp_path) as sink:
        assert sink.send([]).delivered == 0
    assert ndjson_files(tmp_path) == []


def test_rotation_by_size_keeps_every_file_under_max_bytes(tmp_path: Path) -> None:
    line_len = len(json.dumps(make_delivery(0).body, separators=(",", ":")).encode()) + 1
    max_bytes = line_len * 3 + 5
    batches = [make_batch(4, start=0), make_batch(2, start=4), make_batch(5, start=6)]
    with FileSink(tmp_path, max_bytes=max_bytes, clock=lambda: DAY1) as sink:
        for b in batches:
            sink.send(b)
    files = ndjson_files(tmp_path)
    assert [int(FILE_RE.match(p.name)["seq"]) for p in files] == list(range(1, len(files) + 1))
    assert all(p.stat().st_size <= max_bytes for p in files)
    ids = [x["event"]["id"] for p in files for x in read_lines(p)]
    assert ids == [f"id-alert-{i:06d}" for i in range(11)]  # nothing lost, order kept


def test_a_line_longer_than_max_bytes_gets_its_own_file(tmp_path: Path) -> None:
    big = make_delivery(1, body={"blob": "x" * 500})
    with FileSink(tmp_path, max_bytes=200, clock=lambda: DAY1) as sink:
        sink.send([make_delivery(0), big, make_delivery(2)])
    sizes = [len(read_lines(p)) for p in ndjson_files(tmp_path)]
    assert sizes == [1, 1, 1]


def test_rotation_on_utc_date_change(tmp_path: Path) -> None:
    now = [DAY1]
    with FileSink(tmp_path, clock=lambda: now[0]) as sink:
        sink.send(make_batch(1))
        now[0] = DAY2
        sink.send(make_batch(1, start=1))
    assert [p.name for p in ndjson_files(tmp_path)] == [
        "accuknox-alert-2023-11-14-000001.ndjson", "accuknox-alert-2023-11-15-000001.ndjson"]


def test_restart_appends_to_the_newest_file_of_the_day(tmp_path: Path) -> None:
    with FileSink(tmp_path, clock=lambda: DAY1) as sink:
        sink.send(make_batch(2))
    with FileSink(tmp_path, clock=lambda: DAY1) as sink:
        sink.send(make_batch(2, start=2))
    (f,) = ndjson_files(tmp_path)
    assert len(read_lines(f)) == 4


def test_partial_trailing_line_is_cut_on_open(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / file_name("alert", "2023-11-14", 1)
    good = b'{"a":1}\n{"a":2}\n'
    path.write_bytes(good + b'{"a":3,"trunc')
    with FileSink(tmp_path, clock=lambda: DAY1) as sink:
        assert path.read_bytes() == good  # repaired at start-up
        sink.send([make_delivery(3)])
    lines = read_lines(path)
    assert lines[:2] == [{"a": 1}, {"a": 2}] and lines[2]["event"]["id"] == "id-alert-000003"
    assert "partial last line" in caplog.text


def test_partial_line_in_yesterdays_file_is_cut_too(tmp_path: Path) -> None:
    old = tmp_path / file_name("alert", "2023-11-14", 7)
    old.write_bytes(b'{"a":1}\n{"a":')
    with FileSink(tmp_path, clock=lambda: DAY2) as sink:
        sink.send([make_delivery(0)])
    assert old.read_bytes() == b'{"a":1}\n'


@pytest.mark.parametrize("content, kept", [
    (b"", b""), (b"no newline at all", b""), (b"x\n", b"x\n"), (b"x\ny", b"x\n"),
    (b"a" * 200_000 + b"\n" + b"b" * 150_000, b"a" * 200_000 + b"\n"),  # spans several scan blocks
])
def test_truncate_partial_line(tmp_path: Path, content: bytes, kept: bytes) -> None:
    p = tmp_path / "f"
    p.write_bytes(content)
    fd = os.open(p, os.O_RDWR)
    try:
        assert truncate_partial_line(fd, len(content)) == len(kept)
    finally:
        os.close(fd)
    assert p.read_bytes() == kept


def test_every_cut_point_recovers_to_whole_lines(tmp_path: Path) -> None:
    """A crash can stop a write at any byte: recovery always leaves whole lines only."""
    with FileSink(tmp_path / "src", clock=lambda: DAY1) as sink:
        sink.send(make_batch(3))
    (src,) = ndjson_files(tmp_path / "src")
    data = src.read_bytes()
    for cut in range(0, len(data) + 1, 7):
        d = tmp_path / f"cut{cut}"
        d.mkdir()
        (d / src.name).write_bytes(data[:cut])
        with FileSink(d, clock=lambda: DAY1) as sink:
            sink.send([make_delivery(9)])
        lines = read_lines(d / src.name)
        assert lines[-1]["event"]["id"] == "id-alert-000009"
        assert len(lines) == data[:cut].count(b"\n") + 1


@pytest.mark.slow
def test_sigkill_mid_write_then_resend_gives_only_whole_lines(tmp_path: Path) -> None:
    """A real SIGKILL while a writer loops over big batches; the next sink still writes whole lines.

    On a local file system one ``write`` of a batch is rarely torn by SIGKILL (the
    kernel finishes the syscall), so the torn case itself is covered byte by byte
    in ``test_every_cut_point_recovers_to_whole_lines``.
    """
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from integrations.model import Delivery
        from integrations.sinks.file import FileSink
        sink = FileSink({str(tmp_path)!r}, max_bytes=1 << 40)
        batch = [Delivery("id%d" % i, 1.0, "h", "alert", {{"i": i, "pad": "x" * 2000}}, None) for i in range(2000)]
        print("ready", flush=True)
        while True:
            sink.send(batch)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        deadline = time.time() + 10
        while time.time() < deadline and not any(p.stat().st_size > 8_000_000 for p in ndjson_files(tmp_path)):
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        proc.stdout.close()
    with FileSink(tmp_path) as sink:  # the lock died with the process
        sink.send([make_delivery(1)])
    for p in ndjson_files(tmp_path):
        read_lines(p)  # every line parses, the file ends with a newline


def test_second_writer_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    with FileSink(tmp_path):
        with pytest.raises(ConfigError, match="in use by another writer"):
            FileSink(tmp_path)
    FileSink(tmp_path).close()  # released on close


def test_failed_write_is_rolled_back_and_retryable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FileSink(tmp_path, clock=lambda: DAY1) as sink:
        sink.send(make_batch(1))
        real_write = os.write

        def short_then_enospc(fd, data):
            real_write(fd, bytes(data[:10]))  # a partial line reaches the file ...
            raise OSError(errno.ENOSPC, "No space left on device")  # ... then the disk is full

        monkeypatch.setattr(os, "write", short_then_enospc)
        with pytest.raises(SinkError) as exc:
            sink.send(make_batch(2, start=1))
        assert exc.value.retryable and "No space left" in str(exc.value)
        monkeypatch.setattr(os, "write", real_write)
        sink.send(make_batch(2, start=1))  # the resend
    (f,) = ndjson_files(tmp_path)
    assert [x["event"]["id"] for x in read_lines(f)] == ["id-alert-000000", "id-alert-000001", "id-alert-000002"]


def test_send_fsyncs_before_returning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import integrations.sinks.file as file_mod

    synced = []
    monkeypatch.setattr(file_mod, "_sync", lambda fd: synced.append(fd))
    with FileSink(tmp_path) as sink:
        sink.send(make_batch(2))
    assert synced


def test_unsafe_stream_name_is_refused(tmp_path: Path) -> None:
    with FileSink(tmp_path) as sink, pytest.raises(SinkError, match="not usable in a file name"):
        sink.send([make_delivery(0, stream="../x")])


def test_options_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_bytes"):
        FileSink(tmp_path, max_bytes=0)
    with pytest.raises(ConfigError, match="file:DIR"):
        open_sink("file:")


def test_open_sink_file(tmp_path: Path) -> None:
    with open_sink(f"file:{tmp_path}", max_bytes=1000) as sink:
        assert isinstance(sink, FileSink) and sink.max_bytes == 1000
        assert sink.send(make_batch(1)).delivered == 1


def test_send_after_close_is_an_error(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    sink.close()
    sink.close()  # twice is fine
    with pytest.raises(SinkError, match="after close"):
        sink.send(make_batch(1))


# -- position / rollback (the poller's exactly-once hook) ---------------------------------


def test_position_and_rollback_cut_unconfirmed_lines(tmp_path: Path) -> None:
    with FileSink(tmp_path, clock=lambda: DAY1) as sink:
        assert sink.position() == {}
        sink.send(make_batch(2))
        pos = sink.position()
        name = "accuknox-alert-2023-11-14-000001.ndjson"
        assert pos == {"alert": [name, (tmp_path / name).stat().st_size]}
        assert json.loads(json.dumps(pos)) == pos  # JSON-ready for the checkpoint journal
        sink.send(make_batch(2, start=2))  # written, but its confirmation is lost ...
        sink.send([make_delivery(9, "log")])
        sink.rollback(pos)  # ... so the poller rolls back and resends
        assert [p.name for p in ndjson_files(tmp_path)] == [name]  # the log file came after the position
        sink.send(make_batch(2, start=2))
    assert [x["event"]["id"] for x in read_lines(tmp_path / name)] == [f"id-alert-{i:06d}" for i in range(4)]


def test_rollback_deletes_files_rotated_after_the_position(tmp_path: Path) -> None:
    line_len = len(json.dumps(make_delivery(0).body, separators=(",", ":")).encode()) + 1
    with FileSink(tmp_path, max_bytes=line_len * 2, clock=lambda: DAY1) as sink:
        sink.send(make_batch(1))
        pos = sink.position()
        sink.send(make_batch(5, start=1))  # fills file 1 and rotates to 2 and 3
        assert len(ndjson_files(tmp_path)) == 3
        sink.rollback(pos)
        assert len(ndjson_files(tmp_path)) == 1
        sink.send(make_batch(5, start=1))
    ids = [x["event"]["id"] for p in ndjson_files(tmp_path) for x in read_lines(p)]
    assert ids == [f"id-alert-{i:06d}" for i in range(6)]


def test_rollback_in_a_new_process_and_ignores_foreign_positions(tmp_path: Path) -> None:
    with FileSink(tmp_path, clock=lambda: DAY1) as sink:
        sink.send(make_batch(1))
        pos = sink.position()
        sink.send(make_batch(1, start=1))
    with FileSink(tmp_path, clock=lambda: DAY1) as sink:  # restart after a crash
        sink.rollback("not a position")
        assert len(read_lines(ndjson_files(tmp_path)[0])) == 2
        sink.rollback(pos)
        assert len(read_lines(ndjson_files(tmp_path)[0])) == 1
        sink.send(make_batch(1, start=1))
    assert len(read_lines(ndjson_files(tmp_path)[0])) == 2
