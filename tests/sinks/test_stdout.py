"""stdout sink: NDJSON on the binary stdout, flushed per batch."""

from __future__ import annotations

import io
import json

import pytest

from integrations.errors import SinkError
from integrations.sinks import open_sink
from integrations.sinks.stdout import StdoutSink
from tests.sinks.conftest import make_batch


class _Recorder(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_writes_ndjson_and_flushes() -> None:
    out = _Recorder()
    batch = make_batch(3)
    res = StdoutSink(stream=out).send(batch)
    assert res.delivered == 3 and res.duplicates == 0 and res.dead_letters == []
    assert [json.loads(x) for x in out.getvalue().splitlines()] == [d.body for d in batch]
    assert out.getvalue().endswith(b"\n") and out.flushes == 1


def test_default_is_the_process_stdout(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    with open_sink("stdout") as sink:
        sink.send(make_batch(2))
    lines = capfdbinary.readouterr().out.splitlines()
    assert [json.loads(x)["event"]["id"] for x in lines] == ["id-alert-000000", "id-alert-000001"]


def test_empty_batch_writes_nothing() -> None:
    out = io.BytesIO()
    assert StdoutSink(stream=out).send([]).delivered == 0
    assert out.getvalue() == b""


def test_closed_pipe_is_not_retryable() -> None:
    class Broken(io.BytesIO):
        def write(self, data):  # type: ignore[override]
            raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(SinkError) as exc:
        StdoutSink(stream=Broken()).send(make_batch(1))
    assert exc.value.retryable is False


def test_stdout_takes_no_argument() -> None:
    from integrations.errors import ConfigError

    with pytest.raises(ConfigError, match="takes nothing"):
        open_sink("stdout:/tmp/x")
