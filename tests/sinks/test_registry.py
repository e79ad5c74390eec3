"""open_sink and the SINKS registry; the SendResult/Sink contract."""

from __future__ import annotations

import pytest

from integrations.errors import ConfigError
from integrations.sinks import SINKS, SendResult, Sink, open_sink
from integrations.sinks.base import tune_allocator
from tests.sinks.conftest import make_delivery


def test_registry_names() -> None:
    assert list(SINKS) == ["file", "stdout", "hec", "es"]


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as exc:
        open_sink("kafka:broker:9092")
    for usage in ("file:DIR", "stdout", "hec:URL", "es:URL"):
        assert usage in str(exc.value)


def test_unknown_option_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="unknown option.*max_bites.*known: max_bytes"):
        open_sink(f"file:{tmp_path}", max_bites=10)


def test_missing_argument() -> None:
    with pytest.raises(ConfigError, match="hec:URL"):
        open_sink("hec:")


def test_send_result_accounting() -> None:
    d = make_delivery(0)
    r = SendResult(delivered=2, duplicates=1, dead_letters=[(d, "bad")])
    assert r.settled == 4
    assert r.add(SendResult(delivered=1)).delivered == 3


def test_sink_is_a_context_manager() -> None:
    closed = []

    class Probe(Sink):
        name = "probe"

        def send(self, batch):
            return SendResult(delivered=len(batch))

        def close(self):
            closed.append(True)

    with Probe() as p:
        assert p.send([make_delivery(0)]).delivered == 1
    assert closed == [True]


def test_tune_allocator_is_idempotent() -> None:
    assert tune_allocator() == tune_allocator()
