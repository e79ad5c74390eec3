"""Alerts API emulator: auth, Go-style validation, filtering, order, paging, late arrivals, faults."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests

from integrations.emulator import COUNT_PATH, EVENTS_PATH, AlertsEmulator, FaultSpec, Scripted, generate_events
from tests.conftest import SHARED

TOKEN = "emu-token-do-not-leak-123"
SHAPES = [json.loads(line) for line in (SHARED / "corpus" / "synthetic" / "saas-api-shapes.jsonl")
          .read_text().splitlines() if line.strip()]
T0 = 1717000000


def ev(i: int, ts: int, *, cluster: str = "1", ns: str = "default", hash_id: Optional[str] = None,
       **extra: Any) -> Dict[str, Any]:
    row = {"Timestamp": ts, "HashID": hash_id or f"{i:064x}", "cluster_id": cluster, "NamespaceName": ns,
           "Action": "Block" if i % 2 else "Audit", "Severity": str(i % 10 + 1), "PolicyName": f"policy-{i}",
           "Owner": {"Ref": "Deployment", "Name": f"app{i % 3}", "Namespace": ns}, "Operation": "File",
           "Resource": f"/etc/file{i}", "ClusterName": "default"}
    row.update(extra)
    return row


def body(**over: Any) -> Dict[str, Any]:
    b = {"WorkspaceID": 11, "Type": "kubearmor", "FromTime": T0, "ToTime": T0 + 100, "ClusterID": [],
         "Namespace": [], "WorkloadType": [], "WorkloadName": [], "Filters": [], "Search": "", "View": "List",
         "LogType": "active", "PageId": 1, "PageSize": 50}
    b.update(over)
    return {k: v for k, v in b.items() if v is not ...}


class Api:
    """Thin raw HTTP helper (no retries) around a running emulator."""

    def __init__(self, emu: AlertsEmulator) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.trust_env = False

    def post(self, payload: Any, *, path: str = EVENTS_PATH, order: Optional[str] = "asc",
             token: Optional[str] = TOKEN, tenant: Optional[str] = "11", raw: Optional[bytes] = None,
             content_type: str = "application/json") -> requests.Response:
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if tenant is not None:
            headers["X-Tenant-ID"] = tenant
        url = self.emu.url + path + (f"?orderby={order}" if order and path == EVENTS_PATH else "")
        data = raw if raw is not None else json.dumps(payload).encode()
        return self.session.post(url, data=data, headers=headers, timeout=5)

    def rows(self, **over: Any) -> Optional[List[Dict[str, Any]]]:
        order = over.pop("order", "asc")
        resp = self.post(body(**over), order=order)
        assert resp.status_code == 200, resp.text
        return resp.json().get("response")

    def hashes(self, **over: Any) -> List[str]:
        return [r["HashID"] for r in self.rows(**over) or []]


@pytest.fixture()
def emu() -> Iterator[AlertsEmulator]:
    events = [ev(i, T0 + i // 2, cluster=str(1 + i % 2), ns="default" if i % 3 else "kube-system")
              for i in range(40)]
    with AlertsEmulator(events, tenant_id="11", token=TOKEN) as e:
        yield e


@pytest.fixture()
def api(emu: AlertsEmulator) -> Api:
    return Api(emu)


# --------------------------------------------------------------------------- auth and validation

def test_auth_and_tenant(api: Api) -> None:
    assert api.post(body(), token=None).status_code == 401
    assert api.post(body(), token="wrong").status_code == 401
    assert api.post(body(), tenant="12").status_code == 403
    assert api.post(body(), tenant=None).status_code == 403
    resp = api.post(body(WorkspaceID=12))
    assert resp.status_code == 403 and "WorkspaceID" in resp.json()["message"]
    assert api.post(body(WorkspaceID="11")).status_code == 200
    assert api.post(body(WorkspaceID=...)).status_code == 200  # not required (runs unscoped in the real API)


def test_validation_errors_match_the_go_validator(api: Api) -> None:
    resp = api.post(body(PageId=...))
    assert resp.status_code == 400
    assert resp.json() == {"errors": "Key: 'AlertsLog.PageID' Error:Field validation for 'PageID' failed on "
                                     "the 'required' tag"}
    resp = api.post(body(ClusterID=..., PageId=...))
    assert resp.status_code == 400 and resp.json() == SHAPES[3]
    assert api.post(body(ClusterID=None)).status_code == 400  # null is "missing"
    assert api.post(body(PageSize=0)).json()["errors"].startswith("Key: 'AlertsLog.PageSize'")
    assert api.post(body(ClusterID=[])).status_code == 200  # [] is present


@pytest.mark.parametrize(("over", "message"), [
    ({"FromTime": "1717000000"}, "json: cannot unmarshal string into Go struct field AlertsLog.FromTime of type int64"),
    ({"PageId": 1.5}, "json: cannot unmarshal number 1.5 into Go struct field AlertsLog.PageID of type int"),
    ({"ClusterID": "1498"}, "json: cannot unmarshal string into Go struct field AlertsLog.ClusterID of type []string"),
    ({"ClusterID": [1498]}, "json: cannot unmarshal number into Go struct field AlertsLog.ClusterID of type string"),
    ({"Filters": [{"field": "Action", "value": "Block", "op": "regex"}]}, "invalid filter op"),
    ({"Filters": [{"field": "Severity", "value": "5", "op": "ne"}]}, "Severity"),
    ({"LogType": "telemetry"}, "LogType"),
])
def test_type_and_filter_errors(api: Api, over: Dict[str, Any], message: str) -> None:
    resp = api.post(body(**over))
    assert resp.status_code == 400 and message in resp.json()["errors"]


def test_other_request_errors(api: Api) -> None:
    assert api.post(None, raw=b"[1,2]").json()["errors"] == "json: cannot unmarshal array into Go value of type AlertsLog"
    assert api.post(None, raw=b"{oops").status_code == 400
    assert api.post(body(), content_type="text/plain").status_code == 400
    assert api.post(body(), order="sideways").status_code == 400
    assert api.post(body(), path="/monitors/v1/nothing").status_code == 404
    assert api.session.get(api.emu.url + EVENTS_PATH, timeout=5).status_code == 405


def test_keys_match_case_insensitively_like_go(api: Api) -> None:
    b = body()
    b["pageid"] = b.pop("PageId")
    b["PAGESIZE"] = b.pop("PageSize")
    resp = api.post(b)
    assert resp.status_code == 200 and resp.json()["response"]


# --------------------------------------------------------------------------- filtering, order, paging

def test_time_window_is_inclusive(api: Api) -> None:
    rows = api.rows(FromTime=T0 + 3, ToTime=T0 + 5)
    assert sorted({r["Timestamp"] for r in rows}) == [T0 + 3, T0 + 4, T0 + 5]
    assert len(rows) == 6
    assert api.rows(FromTime=T0 + 500, ToTime=T0 + 600) is None


def test_scope_filters(api: Api) -> None:
    assert {r["cluster_id"] for r in api.rows(ClusterID=["2"])} == {"2"}
    assert {r["NamespaceName"] for r in api.rows(Namespace=["kube-system"])} == {"kube-system"}
    assert {r["Owner"]["Name"] for r in api.rows(WorkloadName=["app1"])} == {"app1"}
    assert api.rows(WorkloadType=["DaemonSet"]) is None
    assert api.rows(Type="cilium") is None and api.rows(LogType="suppressed") is None
    assert len(api.rows(LogType="all")) == 40
    match = api.rows(Filters=[{"field": "Action", "value": "Block", "op": "match"}])
    assert match and {r["Action"] for r in match} == {"Block"}
    ne = api.rows(Filters=[{"field": "Action", "value": "Block", "op": "ne"}])
    assert len(match) + len(ne) == 40
    two = api.rows(Filters=[{"field": "Severity", "value": "1", "op": "match"},
                            {"field": "Severity", "value": "2", "op": "match"}])
    assert {r["Severity"] for r in two} == {"1", "2"}  # OR within a field
    both = api.rows(Filters=[{"field": "Severity", "value": "2", "op": "match"},
                             {"field": "cluster_id", "value": "2", "op": "match"}])
    assert all(r["Severity"] == "2" and r["cluster_id"] == "2" for r in both)  # AND across fields
    pattern = api.rows(Filters=[{"field": "Resource", "value": "/etc/file1*", "op": "pattern"}])
    assert {r["Resource"] for r in pattern} == {"/etc/file1"} | {f"/etc/file1{i}" for i in range(10)}
    assert len(api.rows(Search="POLICY-3")) == 11  # policy-3, policy-30..39


def test_order_and_ties() -> None:
    events = [ev(1, T0, hash_id="b" * 64), ev(2, T0, hash_id="a" * 64), ev(3, T0 - 1), ev(4, T0 + 1)]
    with AlertsEmulator(events, tenant_id="11", token=TOKEN) as emu:
        api = Api(emu)
        asc = api.hashes(FromTime=T0 - 10, ToTime=T0 + 10)
        assert asc == [f"{3:064x}", "a" * 64, "b" * 64, f"{4:064x}"]
        assert api.hashes(FromTime=T0 - 10, ToTime=T0 + 10, order="desc") == asc[::-1]
        resp = api.post(body(FromTime=T0 - 10), order=None)  # no orderby: newest first
        assert [r["HashID"] for r in resp.json()["response"]] == asc[::-1]


def test_paging_and_end_styles() -> None:
    events = [ev(i, T0 + i) for i in range(7)]
    for style, expected in (("null", {"response": None}), ("empty", {"response": []}), ("missing", {})):
        with AlertsEmulator(events, tenant_id="11", token=TOKEN, end_style=style) as emu:
            api = Api(emu)
            pages = [api.hashes(PageId=p, PageSize=3) for p in (1, 2, 3)]
            assert pages == [[f"{i:064x}" for i in range(a, b)] for a, b in ((0, 3), (3, 6), (6, 7))]
            assert api.post(body(PageId=4, PageSize=3)).json() == expected


def test_max_page_size_caps_silently() -> None:
    with AlertsEmulator([ev(i, T0 + i) for i in range(30)], tenant_id="11", token=TOKEN, max_page_size=10) as emu:
        assert len(Api(emu).rows(PageSize=25)) == 10


def test_count_and_aggregate(api: Api) -> None:
    resp = api.post(body(PageId=..., PageSize=...), path=COUNT_PATH)
    assert resp.status_code == 200 and resp.json() == {"count": 40}
    resp = api.post(body(PageId=..., PageSize=..., ClusterID=["1"], FromTime=T0, ToTime=T0 + 4), path=COUNT_PATH)
    assert resp.json() == {"count": 5}
    bad = api.post(body(PageId=..., PageSize=..., ClusterID=...), path=COUNT_PATH)
    assert bad.status_code == 400 and "ClusterID" in bad.json()["errors"]
    agg = api.rows(View="Aggregate")
    assert sum(g["Count"] for g in agg) == 40
    assert set(agg[0]) == {"PolicyName", "ClusterName", "Action", "Operation", "Count", "WorkloadType",
                           "WorkloadName", "Event"}


def test_serves_corpus_row_unchanged() -> None:
    row = SHAPES[0]["response"][0]
    with AlertsEmulator([row], tenant_id="11", token=TOKEN) as emu:
        resp = Api(emu).post(SHAPES[4] | {"Filters": []}, order="desc")
        assert resp.json() == SHAPES[0]
        assert Api(emu).post(SHAPES[4] | {"PageId": 2, "Filters": []}).json() == SHAPES[1]


def test_generated_events_and_skips_rows_without_timestamp() -> None:
    events = list(generate_events(500, seed=1, start=T0, rate=10, regular=True))
    with AlertsEmulator(events + [{"Action": "Block"}], tenant_id="11", token=TOKEN) as emu:
        assert emu.event_count == 500
        got = [h for p in range(1, 7) for h in Api(emu).hashes(PageId=p, PageSize=100, ToTime=T0 + 49)]
        assert got == [e["HashID"] for e in events]


# --------------------------------------------------------------------------- late arrivals and live mode

def test_late_visibility_with_injected_clock() -> None:
    now = [float(T0 + 10)]
    events = [ev(i, T0 + i // 10) for i in range(100)]  # 10 per second over 10 s
    with AlertsEmulator(events, tenant_id="11", token=TOKEN, late_seconds=30, clock=lambda: now[0]) as emu:
        api = Api(emu)
        counts = []
        for t in (T0 + 10, T0 + 20, T0 + 41):
            now[0] = float(t)
            counts.append(len(api.rows(FromTime=T0, ToTime=T0 + 20, PageSize=100) or []))
        assert 0 < counts[0] < counts[1] < counts[2] == 100
        emu.add_events([ev(500, T0 + 1)], visible_at=T0 + 100)  # a row that reaches the SaaS very late
        assert f"{500:064x}" not in api.hashes(FromTime=T0, ToTime=T0 + 20, PageSize=200)
        now[0] = T0 + 100
        late_page = api.hashes(FromTime=T0, ToTime=T0 + 20, PageSize=200)
        # inserted in (Timestamp, HashID) order: after the ten rows of T0+1 whose HashIDs sort lower
        assert len(late_page) == 101 and late_page[20] == f"{500:064x}"


def test_live_mode_follows_the_clock() -> None:
    now = [float(T0)]
    emu = AlertsEmulator.live(5, backfill=60, seed=2, clock=lambda: now[0], tenant_id="11", token=TOKEN)
    with emu:
        api = Api(emu)
        first = api.post(body(FromTime=T0 - 60, ToTime=T0 + 600, PageId=..., PageSize=...), path=COUNT_PATH)
        n1 = first.json()["count"]
        assert 200 <= n1 <= 400
        now[0] += 60
        n2 = api.post(body(FromTime=T0 - 60, ToTime=T0 + 600, PageId=..., PageSize=...), path=COUNT_PATH).json()
        assert 500 <= n2["count"] <= 800
        rows = api.rows(FromTime=T0 - 60, ToTime=T0 + 600, PageSize=100)
        assert rows and all(r["tenant_id"] == "11" for r in rows)


# --------------------------------------------------------------------------- faults

def test_fault_spec_parse_and_round_trip() -> None:
    spec = FaultSpec.parse("latency=0.05,429=0.1,retry_after=1,500=0.05,truncate=0.02,dup=0.05,reset=0.02,seed=7")
    assert spec.latency == (0.05, 0.05) and spec.statuses == {429: 0.1, 500: 0.05}
    assert (spec.retry_after, spec.truncate, spec.dup, spec.reset, spec.seed) == ("1", 0.02, 0.05, 0.02, 7)
    assert FaultSpec.parse(str(spec)) == spec
    assert FaultSpec.parse("latency=0.01-0.2").latency == (0.01, 0.2)
    assert FaultSpec.parse("").statuses == {}
    for bad in ("bogus=1", "429=2", "truncate", "retry_after=soon", "200=0.1", "429=0.7,500=0.7", "latency=x"):
        with pytest.raises(ValueError):
            FaultSpec.parse(bad)


def test_fault_429_with_and_without_retry_after() -> None:
    events = [ev(i, T0 + i) for i in range(3)]
    with AlertsEmulator(events, tenant_id="11", token=TOKEN, faults="429=1,retry_after=3") as emu:
        resp = Api(emu).post(body())
        assert resp.status_code == 429 and resp.headers["Retry-After"] == "3"
    with AlertsEmulator(events, tenant_id="11", token=TOKEN, faults="429=1") as emu:
        resp = Api(emu).post(body())
        assert resp.status_code == 429 and "Retry-After" not in resp.headers
    with AlertsEmulator(events, tenant_id="11", token=TOKEN, faults="503=1,retry_after=date:60") as emu:
        assert Api(emu).post(body()).headers["Retry-After"].endswith("GMT")
    with AlertsEmulator(events, tenant_id="11", token=TOKEN, faults="502=1") as emu:
        resp = Api(emu).post(body())
        assert resp.status_code == 502 and resp.headers["Content-Type"].startswith("text/html")


def test_fault_probabilities_are_seeded() -> None:
    def statuses(seed: int) -> List[int]:
        with AlertsEmulator([ev(1, T0)], tenant_id="11", token=TOKEN, faults=f"429=0.3,500=0.2,seed={seed}") as emu:
            api = Api(emu)
            return [api.post(body()).status_code for _ in range(40)]

    a, b = statuses(1), statuses(1)
    assert a == b and {200, 429, 500} == set(a)
    assert statuses(2) != a


def test_fault_truncate_cut_reset() -> None:
    events = [ev(i, T0 + i) for i in range(5)]
    with AlertsEmulator(events, tenant_id="11", token=TOKEN, faults="truncate=1") as emu:
        resp = Api(emu).post(body())
        assert resp.status_code == 200 and int(resp.headers["Content-Length"]) == len(resp.content)
        with pytest.raises(ValueError):
            json.loads(resp.content)
    with AlertsEmulator(events, tenant_id="11", token=TOKEN, faults="cut=1") as emu:
        with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
            Api(emu).post(body())
    with AlertsEmulator(events, tenant_id="11", token=TOKEN, faults="reset=1") as emu:
        with pytest.raises(requests.ConnectionError):
            Api(emu).post(body())
        assert emu.requests[-1].status == 0


def test_fault_dup_repeats_rows_without_losing_any() -> None:
    events = [ev(i, T0 + i) for i in range(10)]
    with AlertsEmulator(events, tenant_id="11", token=TOKEN, faults="dup=1") as emu:
        api = Api(emu)
        p1, p2, p3 = (api.hashes(PageId=p, PageSize=4) for p in (1, 2, 3))
    # each later page starts one row early and ends where it would: the boundary row comes back, nothing is skipped
    assert p2[0] == p1[-1] and len(p2) == 5 and len(p1 + p2 + p3) > 10
    assert set(p1 + p2 + p3) == {f"{i:064x}" for i in range(10)}


def test_latency_uses_injected_sleep() -> None:
    slept: List[float] = []
    with AlertsEmulator([ev(1, T0)], tenant_id="11", token=TOKEN, faults="latency=0.25", sleep=slept.append) as emu:
        Api(emu).post(body())
    assert slept == [0.25]


def test_scripted_responses() -> None:
    with AlertsEmulator([ev(1, T0)], tenant_id="11", token=TOKEN) as emu:
        emu.script(Scripted(429, {"message": "slow"}, {"Retry-After": "2"}), Scripted(500, b"oops"),
                   Scripted(action="truncate"), Scripted(200, SHAPES[3]))
        api = Api(emu)
        first = api.post(body())
        assert first.status_code == 429 and first.headers["Retry-After"] == "2"
        assert api.post(body()).status_code == 500
        assert api.post(body()).content.startswith(b'{"response"')
        assert api.post(body()).json() == SHAPES[3]
        assert api.post(body()).json()["response"][0]["HashID"] == f"{1:064x}"
        assert emu.status_counts[200] == 3


# --------------------------------------------------------------------------- recording and secrecy

def test_requests_are_recorded_with_token_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with AlertsEmulator([ev(1, T0)], tenant_id="11", token=TOKEN) as emu:
        api = Api(emu)
        api.post(body())
        api.post(body(), token="some-other-secret")
        recs = emu.requests
        assert TOKEN not in repr(emu)
    assert [r.status for r in recs] == [200, 401]
    assert recs[0].method == "POST" and recs[0].path == EVENTS_PATH and recs[0].query == {"orderby": "asc"}
    assert recs[0].body == body() and recs[0].auth_ok and not recs[1].auth_ok
    assert recs[0].headers["Authorization"] == "Bearer ***" == recs[1].headers["Authorization"]
    assert recs[0].headers["X-Tenant-ID"] == "11"
    dump = repr([(r.headers, r.body, r.raw_body) for r in recs])
    assert TOKEN not in dump and "some-other-secret" not in dump
    assert TOKEN not in caplog.text and "some-other-secret" not in caplog.text


def test_recording_is_bounded_and_clearable() -> None:
    with AlertsEmulator([ev(1, T0)], tenant_id="11", token=TOKEN, max_recorded=3) as emu:
        api = Api(emu)
        for _ in range(5):
            api.post(body())
        assert len(emu.requests) == 3
        emu.clear_requests()
        assert emu.requests == []


def test_binds_loopback_only_and_lifecycle() -> None:
    with pytest.raises(ValueError, match="loopback"):
        AlertsEmulator([], host="0.0.0.0", tenant_id="11", token=TOKEN)  # noqa: S104
    emu = AlertsEmulator([], tenant_id="11", token=TOKEN)
    with pytest.raises(RuntimeError):
        _ = emu.url
    emu.start()
    assert emu.url.startswith("http://127.0.0.1:")
    emu.start()  # idempotent
    emu.stop()
    emu.stop()
