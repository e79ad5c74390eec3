"""Key normalisation, type coercion, event time and stream selection."""

from __future__ import annotations

import pytest

from integrations.errors import ParseError
from integrations.events import event_time, is_alert, normalize
from integrations.events.normalize import NO_EVENT_TIME_WARNING, parse_go_map, parse_time
from integrations.model import ParsedEvent

BASE = {"Type": "ContainerLog", "Operation": "File", "UpdatedTime": "2023-08-23T18:05:48.301798Z"}


def norm(**kw):
    return normalize({**BASE, **kw}, "t:1")


# ---------------------------------------------------------------------------
# key styles
# ---------------------------------------------------------------------------
def test_pascalcase_passthrough(check_canonical):
    obj = {
        "Timestamp": 1692813948, "UpdatedTime": "2023-08-23T18:05:48.301798Z", "ClusterName": "default",
        "HostName": "worker-node02", "NamespaceName": "wp", "Owner": {"Ref": "Deployment", "Name": "wp",
        "Namespace": "wp"}, "PodName": "wp-1", "Labels": "app=wp", "ContainerID": "ab" * 32,
        "ContainerName": "wp", "ContainerImage": "nginx", "HostPPID": 10, "HostPID": 11, "PPID": 0, "PID": 5,
        "UID": 0, "ParentProcessName": "/bin/sh", "ProcessName": "/bin/ls", "PolicyName": "p", "Severity": "5",
        "Tags": "NIST,CIS", "ATags": ["NIST", "CIS"], "Message": "m", "Type": "MatchedPolicy", "Source": "/bin/sh",
        "Operation": "Process", "Resource": "/bin/ls", "Data": "syscall=SYS_EXECVE", "Enforcer": "AppArmor",
        "Action": "Block", "Result": "Permission denied", "Cwd": "/", "TTY": "pts0",
        "ExecEvent": {"ExecID": "824416229130095", "ExecutableName": "bash"},
        "EventData": {"Syscall": "SYS_EXECVE"},
    }
    ev = normalize(obj, "t:1")
    assert isinstance(ev, ParsedEvent)
    assert ev.fields == {**obj, "Severity": 5}
    assert ev.warnings == []
    assert ev.original is obj and ev.location == "t:1"
    check_canonical(ev.fields)
    # the canonical dict does not share mutable parts with the input
    assert ev.fields["Owner"] is not obj["Owner"] and ev.fields["ATags"] is not obj["ATags"]


def test_lowercamel_keys():
    ev = normalize(
        {
            "timestamp": 1682064422, "updatedTime": "2023-04-21T08:07:02.425399Z", "hostName": "h",
            "hostPPid": 1, "hostPid": 2, "ppid": 0, "pid": 3, "uid": 0, "username": "root",
            "owner": {"ref": "Deployment", "name": "n", "namespace": "ns"},
            "execEvent": {"ExecID": "0", "ExecutableName": "bash"}, "atags": None,
            "type": "HostLog", "operation": "process", "parentProcessName": "", "oid": 0, "id": 7,
            "MaxAlertsPerSec": 10,
        },
        "t:1",
    )
    f = ev.fields
    assert f["HostPID"] == 2 and f["HostPPID"] == 1 and f["PPID"] == 0 and f["UID"] == 0
    assert f["UserName"] == "root" and f["HostName"] == "h" and f["Timestamp"] == 1682064422
    assert f["Owner"] == {"Ref": "Deployment", "Name": "n", "Namespace": "ns"}
    assert f["ExecEvent"] == {"ExecID": "0", "ExecutableName": "bash"}
    assert f["Operation"] == "Process" and f["Type"] == "HostLog"
    assert "ATags" not in f and "ParentProcessName" not in f
    assert f["oid"] == 0 and f["id"] == 7 and f["MaxAlertsPerSec"] == 10


def test_exact_key_wins_over_case_insensitive():
    f = normalize({"Source": "/bin/ls", "source": "Kubearmor", "Type": "ContainerLog"}, "t").fields
    assert f["Source"] == "/bin/ls" and f["source"] == "Kubearmor"
    # order in the input does not matter
    f = normalize({"source": "Kubearmor", "Source": "/bin/ls", "Type": "ContainerLog"}, "t").fields
    assert f["Source"] == "/bin/ls" and f["source"] == "Kubearmor"
    # an exact key claims the name even when empty
    f = normalize({"Source": "", "source": "Kubearmor", "Type": "ContainerLog"}, "t").fields
    assert "Source" not in f and f["source"] == "Kubearmor"
    # two non-exact spellings: the first claims it, the second is kept as is
    f = normalize({"hostpid": 1, "HOSTPID": 2, "Type": "ContainerLog"}, "t").fields
    assert f["HostPID"] == 1 and f["HOSTPID"] == 2


def test_flattened_and_dotted_owner():
    f = normalize({"Type": "ContainerLog", "OwnerRef": "Deployment", "OwnerName": "a", "OwnerNamespace": "b"}).fields
    assert f["Owner"] == {"Ref": "Deployment", "Name": "a", "Namespace": "b"}
    f = normalize({"Type": "ContainerLog", "owner.ref": "StatefulSet", "Owner.Name": "x"}).fields
    assert f["Owner"] == {"Ref": "StatefulSet", "Name": "x"}
    # the nested object wins; flattened keys fill the gaps
    f = normalize({"Type": "ContainerLog", "Owner": {"Ref": "Pod"}, "OwnerRef": "Deployment", "OwnerName": "n"}).fields
    assert f["Owner"] == {"Ref": "Pod", "Name": "n"}
    f = normalize({"Type": "ContainerLog", "ExecEvent.ExecID": 42}).fields
    assert f["ExecEvent"] == {"ExecID": "42"}


def test_spaced_and_odd_case_keys():
    f = normalize({"Cluster Name": "default", "Host Name": "h", "TYPE": "HOSTLOG", "Hostname": "dup"}).fields
    assert f["ClusterName"] == "default" and f["HostName"] == "h" and f["Type"] == "HostLog"
    assert f["Hostname"] == "dup"


@pytest.mark.parametrize("key", ["secret_key", "Secret_Key", "password", "api_key", "authorization"])
def test_credentials_dropped(key):
    f = normalize({"Type": "ContainerLog", key: "s3cr3t"}).fields
    assert key not in f and "s3cr3t" not in repr(f)


def test_unknown_keys_kept_unchanged():
    extra = {"structuredData": {"a": [1, {"b": None}]}, "weird key": None, "n": 1.5}
    f = normalize({"Type": "ContainerLog", **extra}).fields
    for k, v in extra.items():
        assert f[k] == v


def test_saas_additions_are_strings():
    f = normalize({"Type": "MatchedPolicy", "cluster_id": 3896, "workload": 1.0, "HashID": "ab"}).fields
    assert f["cluster_id"] == "3896" and f["workload"] == "1" and f["HashID"] == "ab"


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------
def test_empty_values_absent_but_zero_kept():
    f = norm(Message="", Severity="", ATags=None, Tags="", PPID=0, UID=0, HostPID=0, TTY=None).fields
    for k in ("Message", "Severity", "ATags", "Tags", "TTY"):
        assert k not in f
    assert f["PPID"] == 0 and f["UID"] == 0 and f["HostPID"] == 0


@pytest.mark.parametrize(
    "value, expected",
    [("102947", 102947), (" 7 ", 7), (261.0, 261), ("1.252488e+06", 1252488), (5, 5), ("-1", -1)],
)
def test_int_coercion(value, expected):
    assert norm(HostPID=value).fields["HostPID"] == expected


@pytest.mark.parametrize("value", ["abc", 1.5, True, "1e400", "99999999999999999999999", float("nan")])
def test_int_garbage_dropped_with_warning(value):
    ev = norm(HostPID=value)
    assert "HostPID" not in ev.fields
    assert any(w.startswith("HostPID") for w in ev.warnings), ev.warnings


def test_container_in_scalar_field_rejected():
    with pytest.raises(ParseError, match="HostName"):
        norm(HostName={"a": 1})
    with pytest.raises(ParseError, match="PID"):
        norm(PID=[1, 2])
    with pytest.raises(ParseError, match="Type"):
        normalize({"Type": ["ContainerLog"]}, "t:9")


@pytest.mark.parametrize(
    "value, expected, warns",
    [("5", 5, False), (7, 7, False), (7.0, 7, False), ("10", 10, False), ("Medium", "Medium", True),
     ("", None, False), (None, None, False), (5.5, "5.5", True)],
)
def test_severity(value, expected, warns):
    ev = norm(Severity=value)
    assert ev.fields.get("Severity") == expected
    assert any("Severity" in w for w in ev.warnings) == warns


@pytest.mark.parametrize(
    "value, expected",
    [(["a", "b"], ["a", "b"]), ([], None), (None, None), ("a,b", ["a", "b"]), ("ATag1, ATag2,", ["ATag1", "ATag2"]),
     ([1, "x", None, ""], ["1", "x"]), ('["a", "b"]', ["a", "b"]), ("", None)],
)
def test_atags(value, expected):
    assert norm(ATags=value).fields.get("ATags") == expected


def test_atags_number_warns_and_drops():
    ev = norm(ATags=5)
    assert "ATags" not in ev.fields
    assert any("ATags" in w and "5" in w for w in ev.warnings)


def test_owner_shapes():
    assert norm(Owner="map[Name:nginx Namespace:default Ref:Deployment]").fields["Owner"] == {
        "Name": "nginx", "Namespace": "default", "Ref": "Deployment"}
    ev = norm(Owner="not-an-object")
    assert "Owner" not in ev.fields and any("Owner" in w and "not-an-object" in w for w in ev.warnings)
    assert "Owner" not in norm(Owner={}).fields
    assert norm(Owner={"ref": "Pod", "Name": ""}).fields["Owner"] == {"Ref": "Pod"}
    ev = norm(Owner={"Ref": "Pod", "Kind": "x"})
    assert ev.fields["Owner"] == {"Ref": "Pod"} and any("Kind" in w for w in ev.warnings)
    ev = norm(Owner=5)
    assert "Owner" not in ev.fields and ev.warnings


def test_exec_event_and_event_data():
    f = norm(ExecEvent={"ExecID": 824416229130095, "ExecutableName": "bash"}).fields
    assert f["ExecEvent"] == {"ExecID": "824416229130095", "ExecutableName": "bash"}
    assert norm(ExecEvent={"ExecID": "0"}).fields["ExecEvent"] == {"ExecID": "0"}
    assert "ExecEvent" not in norm(ExecEvent={}).fields
    assert "ExecEvent" not in norm(ExecEvent="map[]").fields
    f = norm(EventData={"Fd": 10, "Flags": "", "X": None, "Nested": {"a": 1}}).fields
    assert f["EventData"] == {"Fd": "10", "Flags": "", "Nested": '{"a":1}'}
    f = norm(EventData="map[Port:53 Proto:UDP]").fields
    assert f["EventData"] == {"Port": "53", "Proto": "UDP"}


@pytest.mark.parametrize(
    "raw, expected",
    [(1692813948, 1692813948), (1692813948123, 1692813948), (1692813948123456, 1692813948),
     (1692813948123456789, 1692813948), ("1631542902", 1631542902), (1692813948.9, 1692813948),
     ("2023-09-13T15:35:02Z", 1694619302)],
)
def test_timestamp_scaling(raw, expected):
    assert norm(Timestamp=raw).fields["Timestamp"] == expected


def test_timestamp_garbage():
    ev = normalize({"Type": "ContainerLog", "Timestamp": "yesterday"}, "t:3")
    assert "Timestamp" not in ev.fields
    assert any("Timestamp" in w and "yesterday" in w for w in ev.warnings)
    assert NO_EVENT_TIME_WARNING in ev.warnings


def test_type_and_operation_spelling():
    ev = normalize({"type": "containerlog", "operation": "NETWORKFIREWALL"}, "t")
    assert ev.fields["Type"] == "ContainerLog" and ev.fields["Operation"] == "NetworkFirewall"
    ev = normalize({"Type": "SystemLog", "Operation": "File"}, "t")
    assert ev.fields["Type"] == "SystemLog"
    ev = normalize({"Type": "PolicyMatched", "Operation": "Bogus"}, "t")
    assert ev.fields["Type"] == "PolicyMatched" and ev.fields["Operation"] == "Bogus"
    assert any("Operation value 'Bogus' not in the known set" in w for w in ev.warnings)
    ev = normalize({"Type": "Capabilities"}, "t")
    assert any("Type value 'Capabilities' not in the known set" in w for w in ev.warnings)


def test_no_event_time_warning():
    ev = normalize({"Type": "ContainerLog", "Operation": "File"}, "t")
    assert NO_EVENT_TIME_WARNING in ev.warnings
    ev = normalize({"Type": "ContainerLog", "UpdatedTime": "garbage"}, "t")
    assert NO_EVENT_TIME_WARNING in ev.warnings and any("UpdatedTime" in w for w in ev.warnings)
    ev = normalize({"Type": "ContainerLog", "UpdatedTimeISO": "2024-01-16T11:42:58.662Z"}, "t")
    assert NO_EVENT_TIME_WARNING not in ev.warnings
    ev = normalize({"Type": "ContainerLog", "UpdatedTime": "garbage", "Timestamp": 1692813948}, "t")
    assert NO_EVENT_TIME_WARNING not in ev.warnings
    assert any("UpdatedTime 'garbage' is not a recognised time" in w for w in ev.warnings)


@pytest.mark.parametrize("obj", [{}, {"foo": 1}, {"cluster_id": "1", "workload": "1"}, {"Type": "", "HostName": None}])
def test_not_an_event(obj):
    with pytest.raises(ParseError) as e:
        normalize(obj, "f:3")
    assert e.value.location == "f:3" and e.value.reason


@pytest.mark.parametrize("obj", [None, "x", 5, [1], b"{}"])
def test_not_a_dict(obj):
    with pytest.raises(ParseError, match="expected a JSON object"):
        normalize(obj, "f:1")


# ---------------------------------------------------------------------------
# time
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("2023-08-23T18:05:48.301798Z", 1692813948.301798),
        ("2024-03-08T08:07:33.906Z", 1709885253.906),
        ("2023-06-27T12:21:47.932526", 1687868507.932526),
        ("2021-06-29t00:05:46.844879z", 1624925146.844879),
        ("2023-03-22 06:40:00.241489", 1679467200.241489),
        ("2023-09-13T15:35:02Z", 1694619302.0),
        ("2023-09-13T17:35:02+02:00", 1694619302.0),
        ("2023-09-13T15:35:02.123456789Z", 1694619302.123456789),
        ("2023-09-13T15:35Z", 1694619300.0),
    ],
)
def test_parse_time_formats(text, expected):
    assert parse_time(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("text", ["", "yesterday", "2023-13-01T00:00:00Z", "2023-02-30T00:00:00Z",
                                  "2023-01-01T25:00:00Z", "2023-01-01T00:00:99Z", "２０２３-01-01T00:00:00Z", None, 5])
def test_parse_time_invalid(text):
    assert parse_time(text) is None


def test_event_time_order():
    assert event_time({"UpdatedTime": "2023-08-23T18:05:48.301798Z", "Timestamp": 1}) == pytest.approx(
        1692813948.301798)
    assert event_time({"UpdatedTime": "bad", "Timestamp": 1692813948}) == 1692813948.0
    assert event_time({"Timestamp": 1692813948123}) == pytest.approx(1692813948.123)
    assert event_time({"Timestamp": 1692813948123456}) == pytest.approx(1692813948.123456)
    assert event_time({"Timestamp": "1692813948"}) == 1692813948.0
    assert event_time({"UpdatedTimeISO": "2024-01-16T11:42:58.662Z"}) == pytest.approx(1705405378.662)
    assert event_time({}) is None
    assert event_time({"Timestamp": "yesterday"}) is None
    assert event_time({"UpdatedTime": 5}) is None


def test_event_time_is_cached_and_stable():
    f = {"UpdatedTime": "2030-01-01T00:00:00.5Z"}
    assert event_time(f) == event_time(f) == pytest.approx(1893456000.5)


# ---------------------------------------------------------------------------
# stream
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields, alert",
    [
        ({"Type": "MatchedPolicy"}, True), ({"Type": "MatchedHostPolicy"}, True),
        ({"Type": "MatchedNetworkPolicy"}, True), ({"Type": "MatchedNativePolicy"}, True),
        ({"Type": "PolicyMatched"}, True), ({"Type": "SystemEvent"}, True),
        ({"Type": "ContainerLog"}, False), ({"Type": "HostLog"}, False), ({"Type": "SystemLog"}, False),
        ({"Type": "containerlog"}, False), ({"Type": "matchedpolicy"}, True),
        ({"PolicyName": "x"}, True), ({"Action": "Block"}, True), ({"Enforcer": "AppArmor"}, True),
        ({"Severity": 5}, True), ({"Operation": "Device"}, False), ({}, False),
        ({"Type": "Unknown", "PolicyName": "p"}, True), ({"Type": "Unknown"}, False),
        ({"Type": ["MatchedPolicy"]}, False), ({"Type": {"x": 1}, "Action": "Block"}, True),
    ],
)
def test_is_alert(fields, alert):
    assert is_alert(fields) is alert


# ---------------------------------------------------------------------------
# Go maps
# ---------------------------------------------------------------------------
def test_parse_go_map():
    assert parse_go_map("map[]") == {}
    assert parse_go_map("map[Name:my app Ref:Deployment]") == {"Name": "my app", "Ref": "Deployment"}
    assert parse_go_map("map[SourceIP:10.0.0.1 SourcePort=0]") == {"SourceIP": "10.0.0.1", "SourcePort": "0"}
    assert parse_go_map("map[a:b:c]") == {"a": "b:c"}
    assert parse_go_map("not a map") is None
    assert parse_go_map("map[ just words]") is None
