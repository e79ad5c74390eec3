"""AlertsClient: request shape, paging stop rules, retries, errors, secrecy, HTTP hygiene.

Unit tests drive the client through a recording transport adapter (no sockets,
no real sleeping: ``sleep`` is a recorder); a few end-to-end tests use the
emulator on 127.0.0.1.
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import random
import re
import time
from email.utils import formatdate
from typing import Any, Dict, List

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from integrations import __version__
from integrations.errors import ApiError, ApiValidationError, AuthError, ConfigError
from integrations.poller.client import COUNT_PATH, EVENTS_PATH, AlertsClient, Page, parse_retry_after
from tests.conftest import SHARED

TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.super-secret-signature-XYZ"
BASE = "https://cwpp.demo.accuknox.com"
SHAPES = [json.loads(line) for line in (SHARED / "corpus" / "synthetic" / "saas-api-shapes.jsonl")
          .read_text().splitlines() if line.strip()]
ROW = SHAPES[0]["response"][0]


# --------------------------------------------------------------------------- helpers

class RecordingAdapter(requests.adapters.BaseAdapter):
    """Answers from a script and records what requests passed to the transport."""

    def __init__(self, script: List[Any]) -> None:
        super().__init__()
        self.script = collections.deque(script)
        self.calls: List[Dict[str, Any]] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # noqa: ANN001
        self.calls.append({"url": request.url, "method": request.method, "headers": dict(request.headers),
                           "body": request.body, "timeout": timeout, "verify": verify, "proxies": proxies})
        if not self.script:
            raise AssertionError("the client sent more requests than scripted")
        item = self.script.popleft()
        if isinstance(item, Exception):
            raise item
        status, body, headers = item if len(item) == 3 else (*item, {})
        resp = requests.Response()
        resp.status_code = status
        resp._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        resp.headers = CaseInsensitiveDict(headers)
        resp.url = request.url
        resp.request = request
        return resp

    def close(self) -> None:
        pass

    def bodies(self) -> List[Dict[str, Any]]:
        return [json.loads(c["body"]) for c in self.calls]


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(script: List[Any], **kw: Any):
    adapter = RecordingAdapter(script)
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    sleeps = Sleeps()
    kw.setdefault("rng", random.Random(1))
    client = AlertsClient(kw.pop("base_url", BASE), kw.pop("tenant_id", "11"), kw.pop("token", TOKEN),
                          session=session, sleep=sleeps, **kw)
    return client, adapter, sleeps


def rows(n: int, start: int = 0) -> List[Dict[str, Any]]:
    return [dict(ROW, HashID=f"{i:064x}", Timestamp=1717000000 + i) for i in range(start, start + n)]


def page(n: int, start: int = 0):
    return (200, {"response": rows(n, start)})


@pytest.fixture(autouse=True)
def _no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)


# --------------------------------------------------------------------------- request shape

def test_body_equals_corpus_line_5() -> None:
    client, adapter, _ = make([(200, {"response": None})])
    list(client.iter_pages(1716913800, 1717000200, page_size=50,
                           filters=[{"field": "Action", "value": "Block", "op": "match"}]))
    sent = adapter.bodies()[0]
    assert sent == SHAPES[4]
    assert list(sent) == list(SHAPES[4])  # same key order as the AccuKnox clients


def test_headers_url_and_timeouts() -> None:
    client, adapter, _ = make([(200, {"response": []})], timeout=(3, 30))
    list(client.iter_pages(1716913800, 1717000200))
    call = adapter.calls[0]
    assert call["method"] == "POST"
    assert call["url"] == f"{BASE}{EVENTS_PATH}?orderby=asc"
    headers = call["headers"]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["X-Tenant-ID"] == "11"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == f"accuknox-siem/{__version__}"
    assert call["timeout"] == (3.0, 30.0)


def test_optional_body_fields_and_order() -> None:
    client, adapter, _ = make([(200, {"response": None})], tenant_id="acme-tenant", user_agent="ua/1")
    list(client.iter_pages(100, 200, page_size=20, cluster_ids=["1498", 7], namespaces=["default"],
                           workload_types=["Deployment"], workload_names=["nginx"], log_type="all",
                           component="siem", tool="syslog", order="desc"))
    body = adapter.bodies()[0]
    assert body["WorkspaceID"] == "acme-tenant"  # not numeric: sent as a string
    assert body["ClusterID"] == ["1498", "7"]
    assert body["Namespace"] == ["default"] and body["WorkloadType"] == ["Deployment"]
    assert body["WorkloadName"] == ["nginx"] and body["LogType"] == "all"
    assert body["Type"] == "siem" and body["Tool"] == "syslog"
    assert (body["PageId"], body["PageSize"]) == (1, 20)
    assert adapter.calls[0]["url"].endswith("?orderby=desc")
    assert adapter.calls[0]["headers"]["User-Agent"] == "ua/1"


def test_workspace_id_override() -> None:
    client, adapter, _ = make([(200, {"response": None})], workspace_id="42")
    list(client.iter_pages(1, 2))
    assert adapter.bodies()[0]["WorkspaceID"] == 42
    assert adapter.calls[0]["headers"]["X-Tenant-ID"] == "11"


# --------------------------------------------------------------------------- paging

@pytest.mark.parametrize(
    "terminal",
    [
        pytest.param((200, {"response": None}), id="null"),
        pytest.param((200, {}), id="missing"),
        pytest.param((200, {"response": [], "data": None}), id="empty-list"),
        pytest.param((200, {"data": []}), id="data-empty"),
    ],
)
def test_stops_on_end_marker(terminal) -> None:  # noqa: ANN001
    client, adapter, _ = make([page(3), page(3, 3), terminal])
    pages = list(client.iter_pages(1, 2, page_size=3))
    assert [p.page_id for p in pages] == [1, 2]
    assert [b["PageId"] for b in adapter.bodies()] == [1, 2, 3]
    assert all(isinstance(p, Page) and not p.is_last for p in pages)
    assert client.stats.pages == 2 and client.stats.rows == 6


def test_stops_on_short_page_without_another_request() -> None:
    client, adapter, _ = make([page(3), page(2, 3)])
    pages = list(client.iter_pages(1, 2, page_size=3))
    assert [len(p.rows) for p in pages] == [3, 2]
    assert pages[-1].is_last and len(adapter.calls) == 2
    assert pages[0].raw_bytes == len(json.dumps({"response": rows(3)}).encode())


def test_rows_are_untouched_and_data_fallback() -> None:
    odd = [{"Timestamp": "1717000000", "Severity": "", "ATags": None, "weird": {"x": [1]}}, "not-a-dict"]
    client, _, _ = make([(200, {"data": odd, "extra": 1})])
    (only,) = list(client.iter_pages(1, 2, page_size=10))
    assert only.rows == odd


def test_max_pages_stops_early_with_is_last_false() -> None:
    client, adapter, _ = make([page(2), page(2, 2)])
    pages = list(client.iter_pages(1, 2, page_size=2, max_pages=2))
    assert len(pages) == 2 and not pages[-1].is_last and len(adapter.calls) == 2


def test_same_page_twice_is_an_error() -> None:
    client, _, _ = make([page(2), page(2)])
    with pytest.raises(ApiError, match="ignore PageId"):
        list(client.iter_pages(1, 2, page_size=2))


def test_iterator_is_lazy_and_validates_eagerly() -> None:
    client, adapter, _ = make([])
    with pytest.raises(ConfigError, match="page_size"):
        client.iter_pages(1, 2, page_size=0)
    client.iter_pages(1, 2)  # nothing sent until iterated
    assert adapter.calls == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"page_size": 101}, "page_size"),
        ({"page_size": True}, "page_size"),
        ({"max_pages": 0}, "max_pages"),
        ({"log_type": "telemetry"}, "log_type"),
        ({"order": "random"}, "order"),
        ({"filters": [{"field": "Action", "value": "Block", "op": "regex"}]}, "op"),
        ({"filters": [{"field": "Action", "value": "Block"}]}, "filters[0]"),
        ({"filters": [{"field": "Severity", "value": "5", "op": "ne"}]}, "Severity"),
        ({"filters": [{"field": "Severity", "value": "11", "op": "match"}]}, "Severity"),
        ({"cluster_ids": "1498"}, "cluster_ids"),
        ({"component": "cdr"}, "Tool"),
    ],
)
def test_argument_validation(kwargs: Dict[str, Any], message: str) -> None:
    client, _, _ = make([])
    with pytest.raises(ConfigError, match=re.escape(message)):
        client.iter_pages(1, 2, **kwargs)


@pytest.mark.parametrize(("start", "end", "message"), [
    (1717000000000, 1717000001000, "milliseconds"), (200, 100, "after"), (-1, 5, "negative"), ("1", 2, "number"),
])
def test_window_validation(start: Any, end: Any, message: str) -> None:
    client, _, _ = make([])
    with pytest.raises(ConfigError, match=message):
        client.iter_pages(start, end)


# --------------------------------------------------------------------------- retries

def test_429_with_retry_after_seconds() -> None:
    client, adapter, sleeps = make([(429, {"message": "slow down"}, {"Retry-After": "7"}), page(1)])
    assert len(list(client.iter_pages(1, 2, page_size=5))) == 1
    assert sleeps == [7.0]
    assert client.stats.retries == 1 and client.stats.throttled == 1
    assert adapter.bodies()[0] == adapter.bodies()[1]


def test_429_with_retry_after_http_date_is_capped() -> None:
    future = formatdate(time.time() + 3600, usegmt=True)
    client, _, sleeps = make([(429, b"", {"Retry-After": future}), page(1)], max_backoff=12)
    list(client.iter_pages(1, 2, page_size=5))
    assert sleeps == [12.0]


def test_429_without_retry_after_uses_full_jitter_backoff() -> None:
    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:  # always the top of the range
            return b

    script = [(429, {})] * 4 + [page(1)]
    client, _, sleeps = make(script, rng=Top(), backoff_base=0.5, max_backoff=3)
    list(client.iter_pages(1, 2, page_size=5))
    assert sleeps == [0.5, 1.0, 2.0, 3.0]  # base * 2^(n-1), capped by max_backoff


def test_jitter_stays_within_bounds() -> None:
    client, _, sleeps = make([(503, b"busy")] * 5 + [page(1)], rng=random.Random(5), backoff_base=1, max_backoff=60)
    list(client.iter_pages(1, 2, page_size=5))
    assert len(sleeps) == 5
    assert all(0 <= s <= 2 ** i for i, s in enumerate(sleeps))
    assert client.stats.server_errors == 5


def test_500_then_success() -> None:
    client, adapter, sleeps = make([(500, {"message": "boom"}), page(2)])
    pages = list(client.iter_pages(1, 2, page_size=5))
    assert len(pages[0].rows) == 2 and len(adapter.calls) == 2 and len(sleeps) == 1
    assert client.stats.retries == 1 and client.stats.requests == 2


@pytest.mark.parametrize("exc", [requests.ConnectionError("refused"), requests.ReadTimeout("slow"),
                                 requests.exceptions.ChunkedEncodingError("cut")])
def test_transport_errors_are_retried(exc: Exception) -> None:
    client, _, sleeps = make([exc, page(1)])
    assert len(list(client.iter_pages(1, 2, page_size=5))) == 1
    assert len(sleeps) == 1 and client.stats.transport_errors == 1


def test_retries_exhausted() -> None:
    client, adapter, sleeps = make([(502, b"<html>bad gateway</html>")] * 4, max_retries=3)
    with pytest.raises(ApiError) as err:
        list(client.iter_pages(1, 2))
    assert "giving up after 4 attempts" in str(err.value) and "HTTP 502" in str(err.value)
    assert err.value.status == 502
    assert len(adapter.calls) == 4 and len(sleeps) == 3


def test_tls_errors_are_not_retried() -> None:
    client, adapter, sleeps = make([requests.exceptions.SSLError("certificate verify failed")])
    with pytest.raises(ApiError, match="TLS handshake"):
        list(client.iter_pages(1, 2))
    assert len(adapter.calls) == 1 and sleeps == []


def test_truncated_json_on_200_is_retried() -> None:
    cut = json.dumps({"response": rows(3)}).encode()[:200]
    client, _, sleeps = make([(200, cut), page(3)])
    pages = list(client.iter_pages(1, 2, page_size=5))
    assert len(pages[0].rows) == 3 and len(sleeps) == 1 and client.stats.truncated_bodies == 1


def test_truncated_json_every_time_fails_after_retries() -> None:
    cut = b'{"response": [{"Action": "Bl'
    client, adapter, _ = make([(200, cut)] * 3, max_retries=2)
    with pytest.raises(ApiError, match="cut-off JSON"):
        list(client.iter_pages(1, 2))
    assert len(adapter.calls) == 3


def test_non_json_200_fails_immediately_with_excerpt() -> None:
    html = b"<html><head><title>Proxy login</title></head><body>" + b"x" * 500 + b"</body></html>"
    client, adapter, _ = make([(200, html)])
    with pytest.raises(ApiError) as err:
        list(client.iter_pages(1, 2))
    message = str(err.value)
    assert "HTTP 200" in message and "not JSON" in message and "Proxy login" in message
    excerpt = message.split("not JSON: ", 1)[1]
    assert len(excerpt) <= 200
    assert len(adapter.calls) == 1


@pytest.mark.parametrize("body", [{"response": {"a": 1}}, [1, 2], {"response": "text"}])
def test_wrong_shape_is_an_api_error(body: Any) -> None:
    client, _, _ = make([(200, body)])
    with pytest.raises(ApiError) as err:
        list(client.iter_pages(1, 2))
    assert err.value.status == 200 and not isinstance(err.value, (AuthError, ApiValidationError))


# --------------------------------------------------------------------------- errors and secrecy

def test_401_names_the_credential_not_its_value(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client, adapter, sleeps = make([(401, {"message": f"invalid token {TOKEN}"})])
    with pytest.raises(AuthError) as err:
        list(client.iter_pages(1, 2))
    message = str(err.value)
    assert "the access token was rejected (HTTP 401)" in message and "renew" in message
    assert err.value.status == 401
    assert TOKEN not in message and "super-secret-signature" not in message
    assert TOKEN not in caplog.text and "super-secret-signature" not in caplog.text
    assert "Bearer ***" in caplog.text
    assert len(adapter.calls) == 1 and sleeps == []  # never retried


def test_403_names_the_tenant() -> None:
    client, _, _ = make([(403, {"message": "forbidden"})])
    with pytest.raises(AuthError) as err:
        list(client.iter_pages(1, 2))
    assert "tenant id 11 not permitted" in str(err.value) and TOKEN not in str(err.value)


def _jwt(claims: Dict[str, Any]) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{part}.signature-value"


def test_jwt_claims_give_hints(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    token = _jwt({"exp": 1600000000, "tenant-id": 99})
    client, _, _ = make([(401, {}), (403, {})], token=token)
    assert "expired" in caplog.text and "issued for tenant 99" in caplog.text
    with pytest.raises(AuthError, match="expired at 2020-09-13T12:26:40Z"):
        list(client.iter_pages(1, 2))
    with pytest.raises(AuthError, match="issued for tenant 99"):
        list(client.iter_pages(1, 2))
    assert token not in caplog.text


def test_400_carries_the_server_message() -> None:
    client, _, sleeps = make([(400, SHAPES[3])])
    with pytest.raises(ApiValidationError) as err:
        list(client.iter_pages(1, 2))
    assert err.value.server_message == SHAPES[3]["errors"]
    assert "Key: 'AlertsLog.PageID' Error:Field validation for 'PageID' failed" in str(err.value)
    assert err.value.status == 400 and sleeps == []


@pytest.mark.parametrize("status", [200, 409, 422])
def test_errors_body_is_a_validation_error(status: int) -> None:
    client, _, _ = make([(status, {"errors": ["bad filter", "bad window"]})])
    with pytest.raises(ApiValidationError, match="bad filter"):
        list(client.iter_pages(1, 2))


def test_400_without_json_body() -> None:
    client, _, _ = make([(400, b"Bad Request")])
    with pytest.raises(ApiValidationError, match="Bad Request"):
        list(client.iter_pages(1, 2))


@pytest.mark.parametrize(("status", "headers", "needle"), [
    (404, {}, "HTTP 404"), (501, {}, "HTTP 501"), (302, {"Location": "http://elsewhere/login"}, "redirects to"),
])
def test_other_statuses_fail_without_retry(status: int, headers: Dict[str, str], needle: str) -> None:
    client, adapter, sleeps = make([(status, b"nope", headers)])
    with pytest.raises(ApiError, match=needle) as err:
        list(client.iter_pages(1, 2))
    assert err.value.status == status and len(adapter.calls) == 1 and sleeps == []


def test_repr_and_errors_never_show_the_token() -> None:
    client, _, _ = make([])
    assert TOKEN not in repr(client) and "<redacted>" in repr(client)
    assert TOKEN not in str(vars(client))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"token": ""}, "token"), ({"token": "a\nb"}, "line break"), ({"tenant_id": " "}, "tenant_id"),
    ({"base_url": "http://cwpp.demo.accuknox.com"}, "base_url"), ({"timeout": (0, 5)}, "timeout"),
    ({"max_retries": -1}, "max_retries"), ({"rate_limit": 0}, "rate_limit"),
    ({"ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle"), ({"proxies": {"https": "proxy:3128"}}, "proxies"),
])
def test_constructor_validation(kwargs: Dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make([], **kwargs)


# --------------------------------------------------------------------------- count

@pytest.mark.parametrize(("body", "expected"), [
    (SHAPES[2], 1), ({"Count": 42}, 42), ({"total": "17"}, 17), ({"count": 3.0}, 3), ({"count": 0}, 0),
])
def test_count(body: Dict[str, Any], expected: int) -> None:
    client, adapter, _ = make([(200, body)])
    assert client.count(1716913800, 1717000200, cluster_ids=["1498"]) == expected
    call = adapter.calls[0]
    assert call["url"] == f"{BASE}{COUNT_PATH}"
    sent = adapter.bodies()[0]
    assert "PageId" not in sent and "PageSize" not in sent and sent["ClusterID"] == ["1498"]


@pytest.mark.parametrize("body", [{"count": None}, {"count": True}, {"n": 5}, {"count": "many"}])
def test_count_wrong_shape(body: Dict[str, Any]) -> None:
    client, _, _ = make([(200, body)])
    with pytest.raises(ApiError, match="count"):
        client.count(1, 2)


# --------------------------------------------------------------------------- HTTP hygiene

def test_proxies_and_ca_bundle_are_applied_to_every_request(tmp_path) -> None:  # noqa: ANN001
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    proxies = {"https": "http://proxy.internal:3128"}
    client, adapter, _ = make([(500, {}), page(2), (200, {"count": 2})], proxies=proxies, ca_bundle=str(ca))
    list(client.iter_pages(1, 2, page_size=5))
    client.count(1, 2)
    assert len(adapter.calls) == 3
    for call in adapter.calls:
        assert call["verify"] == str(ca)
        assert call["proxies"]["https"] == "http://proxy.internal:3128"
    assert client._session.proxies["https"] == "http://proxy.internal:3128"
    assert client._session.verify == str(ca)
    assert "proxy.internal" not in repr(client)  # proxy URLs may hold credentials


def test_verify_false_is_passed_and_warned(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    client, adapter, _ = make([(200, {"response": None})], verify=False)
    list(client.iter_pages(1, 2))
    assert adapter.calls[0]["verify"] is False and "verification is disabled" in caplog.text


def test_rate_limit_spaces_requests() -> None:
    now = [1000.0]
    client, _, sleeps = make([page(2), page(2, 2), page(1, 4)], rate_limit=4, clock=lambda: now[0])
    list(client.iter_pages(1, 2, page_size=2))  # a frozen clock: every request waits its full slot
    assert sleeps == [0.25, 0.5]
    client, _, sleeps = make([page(2), page(2, 2), page(1, 4)], rate_limit=4, clock=lambda: now[0])

    def advancing_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client._sleep = advancing_sleep
    list(client.iter_pages(1, 2, page_size=2))
    assert sleeps == [0.25, 0.25]


def test_redirects_are_not_followed() -> None:
    client, adapter, _ = make([(307, b"", {"Location": f"{BASE}/other"})])
    with pytest.raises(ApiError, match="redirect"):
        list(client.iter_pages(1, 2))
    assert len(adapter.calls) == 1


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after(formatdate(1000.0 + 30, usegmt=True), now=1000.0) == pytest.approx(30.0)
    assert parse_retry_after(formatdate(1000.0 - 30, usegmt=True), now=1000.0) == 0.0


def test_close_only_closes_own_session() -> None:
    client, _, _ = make([])
    closed: List[bool] = []
    client._session.close = lambda: closed.append(True)  # type: ignore[method-assign]
    client.close()
    assert closed == []
    with AlertsClient(BASE, "11", TOKEN) as own:
        assert own._owns_session


# --------------------------------------------------------------------------- against the emulator

def test_end_to_end_with_emulator_and_faults() -> None:
    from integrations.emulator import AlertsEmulator, generate_events

    events = list(generate_events(250, seed=4, start=1717000000, rate=5, regular=True))
    emu = AlertsEmulator(events, tenant_id="11", token=TOKEN, sleep=lambda s: None,
                         faults="429=0.15,retry_after=1,500=0.1,502=0.05,truncate=0.1,cut=0.05,reset=0.05,seed=3")
    with emu:
        client = AlertsClient(emu.url, "11", TOKEN, max_retries=30, sleep=lambda s: None, timeout=(2, 5))
        got = [row for p in client.iter_pages(1717000000, 1717000049, page_size=40) for row in p.rows]
        assert client.count(1717000000, 1717000049) == 250
    assert [r["HashID"] for r in got] == [e["HashID"] for e in events]
    assert client.stats.retries > 0
    assert all(r.headers.get("Authorization") == "Bearer ***" for r in emu.requests)


def test_end_to_end_corpus_row_and_validation_error() -> None:
    from integrations.emulator import AlertsEmulator

    with AlertsEmulator([ROW], tenant_id="11", token=TOKEN) as emu:
        client = AlertsClient(emu.url, "11", TOKEN, sleep=lambda s: None)
        (only,) = list(client.iter_pages(1716913800, 1717000200, page_size=50))
        assert only.rows == [ROW] and only.is_last
        wrong = AlertsClient(emu.url, "12", TOKEN, sleep=lambda s: None)
        with pytest.raises(AuthError, match="tenant id 12"):
            list(wrong.iter_pages(1, 2))
        bad = AlertsClient(emu.url, "11", "other-token", sleep=lambda s: None)
        with pytest.raises(AuthError, match="HTTP 401"):
            bad.count(1, 2)


def test_https_with_ca_bundle(tmp_path) -> None:  # noqa: ANN001
    trustme = pytest.importorskip("trustme")
    import ssl

    from integrations.emulator import AlertsEmulator

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with AlertsEmulator([ROW], tenant_id="11", token=TOKEN, ssl_context=server_ctx) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        client = AlertsClient(emu.url, "11", TOKEN, ca_bundle=str(bundle), sleep=lambda s: None)
        assert [p.rows for p in client.iter_pages(1716913800, 1717000200)] == [[ROW]]
        untrusted = AlertsClient(emu.url, "11", TOKEN, sleep=lambda s: None)
        with pytest.raises(ApiError, match="TLS"):
            list(untrusted.iter_pages(1, 2))
