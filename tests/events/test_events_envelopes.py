"""Envelopes around events: API pages, Elasticsearch, sidekick, OTLP, and things that are not events."""

from __future__ import annotations

import pytest

from integrations.events import parse_object
from integrations.model import ParsedEvent, Rejected

EV = {"Type": "MatchedPolicy", "Operation": "File", "HostName": "n1", "Timestamp": 1717000200}


def kinds(results):
    return [type(r).__name__ for r in results]


def test_plain_event_and_list():
    r = parse_object(EV, "x:1")
    assert kinds(r) == ["ParsedEvent"] and r[0].location == "x:1" and r[0].original is EV
    r = parse_object([EV, EV, "s", [EV]], "x:2")
    assert kinds(r) == ["ParsedEvent", "ParsedEvent", "Rejected", "Rejected"]
    assert "string" in r[2].reason and "nested array" in r[3].reason


@pytest.mark.parametrize("obj", ["text", 5, 1.5, True, None])
def test_scalars_rejected(obj):
    r = parse_object(obj, "x:1")
    assert kinds(r) == ["Rejected"] and "expected a JSON object" in r[0].reason and r[0].original == obj


def test_api_pages():
    assert kinds(parse_object({"response": [EV, EV]}, "p:1")) == ["ParsedEvent"] * 2
    assert parse_object({"response": None}, "p:1") == []
    assert parse_object({"response": []}, "p:1") == []
    assert kinds(parse_object({"data": [EV], "total": 1}, "p:1")) == ["ParsedEvent"]
    r = parse_object({"response": [EV, 5, {"foo": 1}]}, "p:1")
    assert kinds(r) == ["ParsedEvent", "Rejected", "Rejected"]
    # an element that is itself an envelope is unwrapped too
    assert kinds(parse_object({"response": [{"_source": EV, "_id": "a"}]}, "p:1")) == ["ParsedEvent"]


def test_lowercamel_data_field_is_not_a_page():
    r = parse_object({"type": "ContainerLog", "data": "syscall=SYS_OPEN", "operation": "File"}, "x:1")
    assert kinds(r) == ["ParsedEvent"] and r[0].fields["Data"] == "syscall=SYS_OPEN"


def test_elasticsearch():
    hit = {"_index": "kubearmor-alerts", "_id": "u1", "_source": EV}
    r = parse_object(hit, "es:1")
    assert kinds(r) == ["ParsedEvent"] and r[0].original is EV
    resp = {"took": 3, "hits": {"total": {"value": 2}, "hits": [hit, hit]}}
    assert kinds(parse_object(resp, "es:1")) == ["ParsedEvent"] * 2


def test_sidekick_wrapper():
    wrapper = {"Timestamp": 1631542902, "UpdatedTime": "2023-09-13T15:35:02Z", "ClusterName": "c",
               "HostName": "h", "EventType": "MatchedHostPolicy",
               "Detail": {"Hostname": "h", "Operation": "Process", "PolicyName": "p", "PID": "5"}}
    r = parse_object(wrapper, "s:1")
    assert kinds(r) == ["ParsedEvent"]
    f = r[0].fields
    assert f["Type"] == "MatchedHostPolicy" and f["HostName"] == "h" and f["PID"] == 5
    assert f["ClusterName"] == "c" and f["Timestamp"] == 1631542902
    assert "Hostname" not in f  # the wrapper's HostName did not duplicate Detail's Hostname
    assert r[0].original["Type"] == "MatchedHostPolicy"
    # Detail's own Type wins over EventType
    wrapper["Detail"]["Type"] = "HostLog"
    assert parse_object(wrapper, "s:1")[0].fields["Type"] == "HostLog"


def _otlp_record():
    return {
        "timeUnixNano": "1679000000000000000",
        "severityText": "INFO",
        "body": {"kvlistValue": {"values": [
            {"key": "HostPID", "value": {"doubleValue": 261}},
            {"key": "PPID", "value": {"doubleValue": 1}},
            {"key": "Type", "value": {"stringValue": "HostLog"}},
            {"key": "Operation", "value": {"stringValue": "File"}},
            {"key": "UID", "value": {"intValue": "0"}},
            {"key": "EventData", "value": {"kvlistValue": {"values": [
                {"key": "Fd", "value": {"stringValue": "3"}}]}}},
            {"key": "Flag", "value": {"boolValue": True}},
            {"key": "Arr", "value": {"arrayValue": {"values": [{"stringValue": "a"}]}}},
        ]}},
    }


def test_otlp_record():
    r = parse_object(_otlp_record(), "o:1")
    assert kinds(r) == ["ParsedEvent"]
    f = r[0].fields
    assert f["HostPID"] == 261 and type(f["HostPID"]) is int and f["PPID"] == 1 and f["UID"] == 0
    assert f["Timestamp"] == 1679000000
    assert f["EventData"] == {"Fd": "3"} and f["Flag"] is True and f["Arr"] == ["a"]


def test_otlp_export():
    export = {"resourceLogs": [{"resource": {}, "scopeLogs": [{"scope": {}, "logRecords": [_otlp_record(),
                                                                                          _otlp_record()]}]}]}
    assert kinds(parse_object(export, "o:1")) == ["ParsedEvent"] * 2


def test_not_events():
    r = parse_object({"count": 1}, "a:3")
    assert kinds(r) == ["Rejected"] and "count response" in r[0].reason
    r = parse_object({"Count": 10, "total": 10}, "a:3")
    assert kinds(r) == ["Rejected"] and "count response" in r[0].reason
    r = parse_object({"errors": "Key: 'AlertsLog.PageID' Error:required"}, "a:4")
    assert kinds(r) == ["Rejected"] and "error" in r[0].reason and "PageID" in r[0].reason
    r = parse_object({"error": {"code": 401}, "message": "unauthorized"}, "a:4")
    assert kinds(r) == ["Rejected"] and "error" in r[0].reason
    r = parse_object({"WorkspaceID": 11, "Type": "kubearmor", "FromTime": 1, "ToTime": 2, "PageId": 1}, "a:5")
    assert kinds(r) == ["Rejected"] and "request body" in r[0].reason
    r = parse_object({"Timestamp": 1, "Type": "Message", "Level": "INFO", "Message": "started"}, "a:6")
    assert kinds(r) == ["Rejected"] and "Message" in r[0].reason


def test_event_with_error_field_is_still_an_event():
    r = parse_object({"Type": "ContainerLog", "error": "x"}, "a:1")
    assert kinds(r) == ["ParsedEvent"] and r[0].fields["error"] == "x"
    r = parse_object({"hostPid": 1, "errors": ["x"]}, "a:1")
    assert kinds(r) == ["ParsedEvent"]


def test_envelope_depth_bounded():
    obj = EV
    for _ in range(20):
        obj = {"response": [obj]}
    r = parse_object(obj, "d:1")
    assert kinds(r) == ["Rejected"] and "nested deeper" in r[0].reason


def test_rejected_reason_from_normalize():
    r = parse_object({"HostName": {"nested": 1}, "Type": "HostLog"}, "n:1")
    assert kinds(r) == ["Rejected"] and "HostName" in r[0].reason and r[0].location == "n:1"
    assert isinstance(r[0], Rejected) and r[0].to_dead_letter()["location"] == "n:1"


def test_results_are_parse_results():
    for obj in (EV, {"response": [EV]}, {"count": 1}, [], {}):
        for r in parse_object(obj, "z:1"):
            assert isinstance(r, (ParsedEvent, Rejected))
