"""Every corpus line and text block: parsed, or rejected with a reason - never an exception."""

from __future__ import annotations

import io
from functools import cache
from typing import Dict, List

import pytest

from integrations import jsoncodec
from integrations.events import event_time, is_alert, iter_parse, iter_parse_path, parse_object
from integrations.events.envelopes import _sidekick
from integrations.events.normalize import (
    KNOWN_OPERATIONS,
    KNOWN_TYPES,
    NO_EVENT_TIME_WARNING,
    _fast,
    _general,
    _plan_for,
)
from integrations.model import ALERT_TYPES, LOG_TYPES, NOTICE_TYPES, ParsedEvent, Rejected


@cache
def _file_results(path: str) -> Dict[int, List[object]]:
    by_line: Dict[int, List[object]] = {}
    for r in iter_parse_path(path):
        line = int(r.location.rsplit(":", 1)[1])
        by_line.setdefault(line, []).append(r)
    return by_line


# ---------------------------------------------------------------------------
# every JSON event line
# ---------------------------------------------------------------------------
def test_event_line_parses(event_line, check_canonical, shared_dir):
    name, lineno, raw = event_line
    obj = jsoncodec.loads(raw)
    results = parse_object(obj, f"{name}:{lineno}")
    assert len(results) == 1, results
    ev = results[0]
    assert isinstance(ev, ParsedEvent), getattr(ev, "reason", ev)
    assert ev.location == f"{name}:{lineno}"
    fields = ev.fields
    check_canonical(fields)
    # a time, or the documented warning
    t = event_time(fields)
    if t is None:
        assert NO_EVENT_TIME_WARNING in ev.warnings
    else:
        assert 1e9 < t < 2e9 or fields.get("Timestamp") == 1679  # otel tutorial has a truncated Timestamp
    # a known stream
    stream_alert = is_alert(fields)
    assert stream_alert in (True, False)
    typ = fields.get("Type")
    if typ in ALERT_TYPES | NOTICE_TYPES:
        assert stream_alert
    elif typ in LOG_TYPES:
        assert not stream_alert
    if typ is not None:
        assert typ in KNOWN_TYPES
    if "Operation" in fields:
        assert fields["Operation"] in KNOWN_OPERATIONS
    # warnings name a real problem only
    for w in ev.warnings:
        assert w == NO_EVENT_TIME_WARNING or "Severity" in w, w


def test_event_line_same_through_stream(event_line, corpus):
    """The streaming reader gives the same event, at the same location, as parse_object."""
    name, lineno, raw = event_line
    by_line = _file_results(str(corpus.by_name[name]))
    assert [type(r) for r in by_line[lineno]] == [ParsedEvent]
    expected = parse_object(jsoncodec.loads(raw), f"{name}:{lineno}")[0]
    assert by_line[lineno][0].fields == expected.fields
    assert by_line[lineno][0].location.endswith(f"{name}:{lineno}")


def test_event_line_fast_path_matches_general_path(event_line):
    """The precomputed fast path and the general path agree on every corpus row."""
    name, lineno, raw = event_line
    obj = jsoncodec.loads(raw)
    if "_source" in obj:
        obj = obj["_source"]
    if "Detail" in obj:
        obj = _sidekick(obj)
    plan = _plan_for(tuple(obj))
    general_warnings: List[str] = []
    general = _general(obj, general_warnings, "x")
    if plan is None:
        return
    fast_warnings: List[str] = []
    fast = _fast(obj, plan, fast_warnings, "x")
    if fast is not None:
        assert fast == general
        assert sorted(fast_warnings) == sorted(general_warnings)


def test_every_file_fully_read(corpus):
    for path in corpus.event_files:
        n_lines = len(path.read_bytes().splitlines())
        results = list(iter_parse_path(path))
        assert len(results) == n_lines, path.name
        assert all(isinstance(r, ParsedEvent) for r in results), path.name
        assert [r.location for r in results] == [f"{path}:{i}" for i in range(1, n_lines + 1)]


def test_event_lines_as_one_json_array(corpus):
    """The same events, re-packed as a JSON array, parse identically."""
    for path in corpus.event_files:
        objs = [jsoncodec.loads(line) for line in path.read_bytes().splitlines()]
        arr = jsoncodec.dumps(objs)
        got = [r.fields for r in iter_parse(io.BytesIO(arr), "arr")]
        want = [r.fields for r in iter_parse_path(path)]
        assert got == want, path.name


# ---------------------------------------------------------------------------
# odd-cases.jsonl, line by line (corpus README table)
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def odd(corpus):
    path = corpus.real / "odd-cases.jsonl"
    results = list(iter_parse_path(path))
    assert len(results) == 7
    assert all(isinstance(r, ParsedEvent) for r in results), results
    return results


def test_odd_1_legacy_systemlog_drops_secret(odd):
    ev = odd[0]
    f = ev.fields
    assert f["Type"] == "SystemLog"
    assert not is_alert(f)
    assert f["cluster_name"] == "accuknox-dev"
    assert f["tenant_id"] == "TVE9PQ=="
    assert f["component_name"] == "kubearmor"
    assert "secret_key" not in f
    assert "ZmVlZGVyLXNlcnZjaWU=" not in jsoncodec.dumps_str(f)
    assert f["Resource"] == "SYS_CLOSE" and f["Data"] == "fd=6"
    assert f["HostPID"] == 1373474 and f["PPID"] == 1373459
    assert event_time(f) == pytest.approx(1616500888.661031)


def test_odd_2_same_event_without_secret(odd):
    # line 2 is line 1 without secret_key (and without tenant_id)
    assert odd[1].fields == {k: v for k, v in odd[0].fields.items() if k != "tenant_id"}
    assert odd[1].fields["Type"] == "SystemLog" and not is_alert(odd[1].fields)


def test_odd_3_sidekick_label_set(odd):
    ev = odd[2]
    f = ev.fields
    assert is_alert(f)  # no Type, but PolicyName / Severity / Enforcer
    assert "Type" not in f
    assert f["Source"] == "/bin/ls"  # exact-case Source wins over source
    assert f["source"] == "Kubearmor"  # the loser is kept as an extra field
    assert f["HostName"] == "gke-kubearmor-prerelease-default-pool-6ad71e07-cd8r"
    assert "Hostname" not in f
    assert f["Owner"] == {"Ref": "Deployment", "Name": "wordpress", "Namespace": "wordpress-mysql"}
    assert not {"OwnerRef", "OwnerName", "OwnerNamespace"} & set(f)
    assert (f["HostPID"], f["HostPPID"], f["PID"], f["PPID"], f["UID"]) == (102947, 102114, 217, 203, 1001)
    assert f["Timestamp"] == 1631542902
    assert f["ATags"] == ["ATag1", "ATag2"]
    assert f["Tags"] == "Tag1,Tag2"
    assert f["Severity"] == "Medium"
    assert any("Severity" in w and "Medium" in w for w in ev.warnings)


def test_odd_4_sidekick_wrapper(odd):
    ev = odd[3]
    f = ev.fields
    assert f["Type"] == "MatchedPolicy"  # from EventType
    assert "EventType" not in f and "Detail" not in f
    assert is_alert(f)
    assert f["HostName"].startswith("gke-kubearmor-prerelease")
    assert f["Owner"]["Ref"] == "Deployment"
    assert f["Timestamp"] == 1631542902
    assert f["Source"] == "/bin/ls"
    # same event as the label set of line 3, apart from the label-set-only keys
    three = dict(odd[2].fields)
    three.pop("source")
    four = dict(f)
    four.pop("Type")
    assert four == three


def test_odd_5_trimmed_snippet_no_time(odd):
    ev = odd[4]
    f = ev.fields
    assert set(f) == {"Type", "Operation", "Resource", "Data", "EventData", "Result"}
    assert event_time(f) is None
    assert NO_EVENT_TIME_WARNING in ev.warnings
    assert "HostName" not in f
    assert f["EventData"]["Sin_port"] == "53"


def test_odd_6_daemon_lowercamel_alert(odd):
    f = odd[5].fields
    assert f["Type"] == "MatchedPolicy" and is_alert(f)
    assert f["Owner"] == {"Ref": "Deployment", "Name": "ubuntu-4-deployment", "Namespace": "multiubuntu"}
    assert "ATags" not in f  # atags: []
    assert "ParentProcessName" not in f  # parentProcessName: ""
    assert f["HostPID"] == 60143 and f["HostPPID"] == 60140 and f["PPID"] == 60140 and f["UID"] == 0
    assert f["Action"] == "Block" and f["Enforcer"] == "eBPF Monitor"
    assert not any(k[0].islower() for k in f), sorted(f)


def test_odd_7_prerelease_extras(odd):
    ev = odd[6]
    f = ev.fields
    assert f["Type"] == "HostLog" and not is_alert(f)
    assert f["oid"] == 0
    assert f["structuredData"] == {"syscall": "SYS_SOCKET"}
    assert f["structuredResource"]["domain"] == "AF_UNIX"
    assert f["ExecEvent"] == {"ExecID": "0", "ExecutableName": "systemd-resolve"}
    assert "ATags" not in f
    assert f["PPID"] == 0 and f["UID"] == 992


# ---------------------------------------------------------------------------
# specific files
# ---------------------------------------------------------------------------
def test_lowercase_fixture_values(corpus):
    results = list(iter_parse_path(corpus.real / "logs-lowercase-variant.jsonl"))
    f = results[0].fields
    assert f["Type"] == "ContainerLog" and f["Operation"] == "Process"  # canonical spelling
    assert f["Result"] == "passed" and f["Data"] == "syscall=sys_execve"  # other values untouched
    assert f["id"] == 14080
    assert event_time(f) == pytest.approx(1624925146.844879)


def test_es_hits_unwrapped(corpus):
    for raw, r in zip((corpus.real / "es-hits.jsonl").read_bytes().splitlines(),
                      iter_parse_path(corpus.real / "es-hits.jsonl")):
        assert isinstance(r, ParsedEvent)
        assert "_source" not in r.fields and "_index" not in r.fields
        assert r.fields["Type"] == "ContainerLog"
        assert r.original == jsoncodec.loads(raw)["_source"]  # original = the unwrapped event


def test_saas_enriched_rows(corpus):
    results = list(iter_parse_path(corpus.real / "saas-enriched.jsonl"))
    for r in results:
        f = r.fields
        assert "Message" not in f or f["Message"]
        assert "Severity" not in f or isinstance(f["Severity"], int)
        assert isinstance(f["cluster_id"], str)
    assert sum("HashID" in r.fields for r in results) == 7
    assert sum("tenant_id" in r.fields for r in results) == 11


def test_synthetic_edge_cases(corpus):
    results = list(iter_parse_path(corpus.by_name["synthetic-edge-cases.jsonl"]))
    f = {i + 1: r.fields for i, r in enumerate(results)}
    assert f[1]["Operation"] == "Capabilities"
    assert f[2]["Type"] == "SystemEvent" and is_alert(f[2])
    assert f[2]["MaxAlertsPerSec"] == 10 or isinstance(f[2]["MaxAlertsPerSec"], int)
    assert "\x00" in f[9]["Resource"]
    assert len(f[11]["Resource"]) > 9000
    assert isinstance(f[12]["Severity"], int)
    assert "ATags" not in f[13] and f[13]["Tags"]
    assert f[14]["UserName"] == "alice"
    assert f[16]["Timestamp"] == 1687868507  # milliseconds scaled to seconds
    assert event_time(f[16]) == pytest.approx(1687868507.932526)  # zone-less UpdatedTime = UTC


# ---------------------------------------------------------------------------
# AccuKnox API shapes
# ---------------------------------------------------------------------------
def test_api_shape_line(api_line, check_canonical):
    name, lineno, raw = api_line
    results = parse_object(jsoncodec.loads(raw), f"{name}:{lineno}")
    assert all(isinstance(r, (ParsedEvent, Rejected)) for r in results)
    for r in results:
        if isinstance(r, ParsedEvent):
            check_canonical(r.fields)
        else:
            assert r.reason and r.location == f"{name}:{lineno}"


def test_api_shapes_handling(corpus):
    lines = corpus.api_shapes.read_bytes().splitlines()
    page, end, count, error, request = (parse_object(jsoncodec.loads(x), f"api:{i}") for i, x in enumerate(lines, 1))
    assert len(page) == 1 and isinstance(page[0], ParsedEvent)
    f = page[0].fields
    assert f["cluster_id"] == "12345" and f["UpdatedTimeISO"] == "2024-05-29T16:30:00.000Z"
    assert "Severity" not in f and "TTY" not in f and "Message" not in f and "ATags" not in f
    assert f["PPID"] == 0
    assert end == []  # {"response": null}: end of pages, nothing to emit
    assert len(count) == 1 and isinstance(count[0], Rejected) and "count" in count[0].reason
    assert len(error) == 1 and isinstance(error[0], Rejected)
    assert "error" in error[0].reason and "AlertsLog.ClusterID" in error[0].reason
    assert len(request) == 1 and isinstance(request[0], Rejected) and "request body" in request[0].reason


def test_api_shapes_file_stream(corpus):
    results = list(iter_parse_path(corpus.api_shapes))
    assert [type(r).__name__ for r in results] == ["ParsedEvent", "Rejected", "Rejected", "Rejected"]
    assert [r.location.rsplit(":", 1)[1] for r in results] == ["1", "3", "4", "5"]


# ---------------------------------------------------------------------------
# karmor text blocks
# ---------------------------------------------------------------------------
@cache
def _text_results(path: str) -> Dict[int, List[object]]:
    by_line: Dict[int, List[object]] = {}
    for r in iter_parse_path(path):
        by_line.setdefault(int(r.location.rsplit(":", 1)[1]), []).append(r)
    return by_line


def test_text_block(text_block, check_canonical, corpus):
    _source_line, first_line, text = text_block
    results = _text_results(str(corpus.text_samples)).get(first_line)
    assert results is not None and len(results) == 1, (first_line, results)
    r = results[0]
    assert r.location == f"{corpus.text_samples}:{first_line}"
    if isinstance(r, Rejected):
        assert "protobuf" in r.reason
        assert "Failed to send a log" in r.original
        return
    assert isinstance(r, ParsedEvent)
    check_canonical(r.fields)
    assert isinstance(r.original, str) and r.original
    if text.lstrip().startswith("== "):
        assert "UpdatedTime" in r.fields and event_time(r.fields) is not None


def test_text_file_block_count(corpus):
    results = [r for rs in _text_results(str(corpus.text_samples)).values() for r in rs]
    assert len(results) == 52
    rejected = [r for r in results if isinstance(r, Rejected)]
    assert len(rejected) == 1 and "protobuf" in rejected[0].reason


def test_text_misaligned_sample_warns(corpus):
    misaligned = [
        r for rs in _text_results(str(corpus.text_samples)).values() for r in rs
        if isinstance(r, ParsedEvent) and r.fields.get("Source") == "MatchedPolicy"
    ]
    assert len(misaligned) == 1
    w = " | ".join(misaligned[0].warnings)
    assert "Operation value" in w and "not in the known set" in w
    assert "shifted" in w
    assert "Severity" in w
