"""Fixtures for the sink tests: deliveries, fake servers (plain and TLS), a no-wait sleep."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from integrations.model import Delivery
from tests.conftest import ServerTls
from tests.support.fake_es import FakeElasticsearch
from tests.support.fake_hec import FakeHec


def raw_event(i: int, stream: str = "alert") -> Dict[str, Any]:
    """A small KubeArmor-like raw event."""
    return {
        "Timestamp": 1692813948 + i,
        "UpdatedTime": f"2023-08-23T18:05:48.{i % 1000000:06d}Z",
        "HostName": f"node-{i % 3}",
        "NamespaceName": "default",
        "PodName": f"nginx-{i}",
        "Type": "MatchedPolicy" if stream == "alert" else "ContainerLog",
        "Operation": "Process",
        "Resource": f"/bin/sh -c echo {i}",
        "Action": "Block",
        "Result": "Permission denied",
    }


def make_delivery(i: int, stream: str = "alert", event_id: Optional[str] = None, body: Any = None) -> Delivery:
    raw = raw_event(i, stream)
    eid = event_id or f"id-{stream}-{i:06d}"
    if body is None:
        body = {"@timestamp": raw["UpdatedTime"], "event": {"id": eid, "kind": "alert"},
                "host": {"name": raw["HostName"]}, "message": raw["Resource"]}
    return Delivery(eid, 1692813948.301798 + i, raw["HostName"], stream, body, raw)


def make_batch(n: int, stream: str = "alert", start: int = 0) -> List[Delivery]:
    return [make_delivery(i, stream) for i in range(start, start + n)]


@pytest.fixture
def deliveries():
    return make_batch


class SleepRecorder:
    """Stands in for time.sleep: records the delays, waits for none."""

    def __init__(self) -> None:
        self.calls: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def no_sleep() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def fake_es() -> Iterator[FakeElasticsearch]:
    with FakeElasticsearch() as server:
        yield server


@pytest.fixture
def fake_hec() -> Iterator[FakeHec]:
    with FakeHec() as server:
        yield server


@pytest.fixture
def fake_hec_ack() -> Iterator[FakeHec]:
    with FakeHec(ack=True) as server:
        yield server




@pytest.fixture
def tls_es(server_tls: ServerTls) -> Iterator[Tuple[FakeElasticsearch, str]]:
    """A fake Elasticsearch over HTTPS and the CA bundle that verifies it."""
    with FakeElasticsearch(ssl_context=server_tls.context) as server:
        yield server, server_tls.ca_bundle


@pytest.fixture
def tls_hec(server_tls: ServerTls) -> Iterator[Tuple[FakeHec, str]]:
    """A fake HEC over HTTPS and the CA bundle that verifies it."""
    with FakeHec(ssl_context=server_tls.context) as server:
        yield server, server_tls.ca_bundle
