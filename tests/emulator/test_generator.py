"""Event generator: coverage of Types x Operations and grammars, size, determinism, identity."""

from __future__ import annotations

import collections
import re
import time
from typing import Any, Dict, List

import pytest

from integrations.emulator import ALERT_COVERAGE, LOG_COVERAGE, LiveEventSource, generate_events, generate_logs
from integrations.jsoncodec import dumps

START = 1717000000.0
#: what the generator promises; a scenario removed by accident fails here
EXPECTED_ALERT_COVERAGE = {
    ("MatchedPolicy", "Process"), ("MatchedPolicy", "File"), ("MatchedPolicy", "Network"),
    ("MatchedPolicy", "Capabilities"), ("MatchedPolicy", "Syscall"),
    ("MatchedHostPolicy", "Process"), ("MatchedHostPolicy", "File"), ("MatchedHostPolicy", "Network"),
    ("MatchedHostPolicy", "Capabilities"), ("MatchedHostPolicy", "Syscall"), ("MatchedHostPolicy", "Device"),
    ("MatchedNetworkPolicy", "NetworkFirewall"), ("SystemEvent", "AlertThreshold"),
}
SAAS_KEYS = ("cluster_id", "tenant_id", "component_name", "instanceGroup", "instanceID", "workload")
ALERT_ONLY = ("PolicyName", "Severity", "Tags", "ATags", "Message", "Enforcer", "Action", "KubeArmorVersion",
              "MaxAlertsPerSec", "DroppingAlertsInterval")
UPDATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture(scope="module")
def events() -> List[Dict[str, Any]]:
    return list(generate_events(8000, seed=7, start=START, rate=20))


def test_every_type_operation_pair(events: List[Dict[str, Any]]) -> None:
    assert set(ALERT_COVERAGE) == EXPECTED_ALERT_COVERAGE
    seen = {(e["Type"], e["Operation"]) for e in events}
    assert seen == EXPECTED_ALERT_COVERAGE


@pytest.mark.parametrize(("name", "pattern"), [
    ("SYS_CONNECT sockaddr AF_INET", r"^syscall=SYS_CONNECT fd=\d+$"),
    ("tcp_connect", r"^kprobe=tcp_connect domain=AF_INET$"),
    ("tcp_accept IPv6", r"^kprobe=tcp_accept domain=AF_INET6$"),
    ("DNS old comma form", r"^kfunc=UDP_SENDMSG,domain=[^ ]+,daddr=[\d.]+,qtype=(A|AAAA)$"),
    ("DNS UDP_SENDMSG spaces", r"^kfunc=UDP_SENDMSG domain=\S+ daddr=\S+ qtype=(A|AAAA)$"),
    ("DNS UDP_SENDSKB", r"^kfunc=UDP_SENDSKB domain=\S+ daddr=\S+ qtype=(A|AAAA)$"),
    ("SYS_SOCKET", r"^syscall=SYS_SOCKET$"),
    ("SYS_BIND/ACCEPT", r"^syscall=SYS_(BIND|ACCEPT) fd=\d+$"),
    ("BPF-LSM SOCKET_CREATE", r"^lsm=SOCKET_CREATE "),
    ("BPF-LSM SOCKET_CONNECT", r"^lsm=SOCKET_CONNECT protocol="),
    ("BPF-LSM SOCKET_ACCEPT", r"^lsm=SOCKET_ACCEPT protocol="),
    ("BPF-LSM DNS", r"^lsm=SOCKET_SENDMSG domain=\S+\.svc\.cluster\.local$"),
])
def test_network_grammars(events: List[Dict[str, Any]], name: str, pattern: str) -> None:
    rx = re.compile(pattern)
    assert any(e["Operation"] == "Network" and rx.search(e.get("Data", "")) for e in events), name


@pytest.mark.parametrize(("name", "check"), [
    ("AF_UNIX sun_path", lambda e: e.get("Resource", "").startswith("sa_family=AF_UNIX sun_path=/")),
    ("sockaddr in another key order", lambda e: e.get("Resource", "").startswith("sin_port=")),
    ("IPv6 sockaddr", lambda e: "sa_family=AF_INET6" in e.get("Resource", "") and "sin_addr=" in e["Resource"]),
    ("TCPv6 mapped address", lambda e: "remoteip=::ffff:" in e.get("Resource", "")
     and e["Resource"].endswith("protocol=TCPv6")),
    ("AF_PACKET raw socket", lambda e: e.get("Resource") == "domain=AF_PACKET type=SOCK_RAW protocol=768"
     and e["Result"] == "Operation not permitted"),
    ("control character resource", lambda e: e.get("Resource") == "\u0000"),
    ("old EventData Kfunc bug", lambda e: "," in e.get("EventData", {}).get("Kfunc", "")),
    ("capability", lambda e: e["Operation"] == "Capabilities" and e["Data"] == f"lsm=CAPABLE {e['Resource']}"),
    ("exec via BPF-LSM", lambda e: e.get("Data") == "lsm=SECURITY_BPRM_CHECK"),
    ("execveat", lambda e: e.get("Data", "").startswith("syscall=SYS_EXECVEAT fd=")),
    ("ptrace", lambda e: e.get("Data", "").startswith("syscall=SYS_PTRACE request=")),
    ("file BPF-LSM", lambda e: e["Operation"] == "File" and e.get("Data", "").startswith("lsm=FILE_")),
    ("preset without Data", lambda e: e.get("Enforcer") == "PRESET-ProtectEnvPreset" and "Data" not in e),
    ("anon map preset", lambda e: e.get("Enforcer") == "PRESET-AnonMapExecutionPreset"),
    ("mount", lambda e: e.get("Data", "").startswith("syscall=SYS_MOUNT source=")),
    ("setuid", lambda e: e.get("Data") == "syscall=SYS_SETUID userid=0"),
    ("USB", lambda e: e["Operation"] == "Device" and e["Enforcer"] == "USBDeviceHandler"
     and e["Data"].startswith("Class=")),
    ("firewall quota", lambda e: "QuotaLevel=" in e.get("Data", "")),
    ("firewall ICMP ports 0", lambda e: e["Operation"] == "NetworkFirewall" and "Protocol=ICMP" in e["Data"]
     and "SourcePort=0 " in e["Data"]),
    ("threshold", lambda e: e["Operation"] == "AlertThreshold" and e["MaxAlertsPerSec"] > 0
     and e["DroppingAlertsInterval"] > 0 and e["Result"] == "Passed" and "PolicyName" not in e),
    ("image with tag and digest", lambda e: re.search(r":[\w.-]+@sha256:[0-9a-f]{64}$", e.get("ContainerImage", ""))),
    ("image with tag only", lambda e: re.search(r":[\w.-]+$", e.get("ContainerImage", "x@sha256:"))),
    ("space-joined labels", lambda e: " " in e.get("Labels", "") and "=" in e["Labels"]),
    ("empty Owner", lambda e: e.get("Owner") == {"Name": "", "Namespace": "", "Ref": ""}),
    ("kept empty strings", lambda e: e.get("Severity") == "" and e.get("ATags", 1) is None),
    ("omitted empty fields", lambda e: e.get("PolicyName") == "DefaultPosture" and "Severity" not in e),
    ("MITRE tags", lambda e: "MITRE_T" in e.get("Tags", "")),
    ("NIST tags", lambda e: "NIST_800-53" in e.get("Tags", "")),
    ("ATags list", lambda e: isinstance(e.get("ATags"), list) and ",".join(e["ATags"]) == e["Tags"]),
    ("UpdatedTimeISO", lambda e: re.fullmatch(r".*\.\d{3}Z", e.get("UpdatedTimeISO", ""))),
    ("host UserName", lambda e: e["Type"] == "MatchedHostPolicy" and e.get("UserName")),
    ("ExecEvent", lambda e: e.get("ExecEvent", {}).get("ExecID", "").isdigit()),
])
def test_variants_present(events: List[Dict[str, Any]], name: str, check) -> None:  # noqa: ANN001
    assert any(check(e) for e in events), name


def test_value_sets(events: List[Dict[str, Any]]) -> None:
    actions = collections.Counter(e.get("Action") for e in events)
    assert {"Audit", "Block", "Audit (Block)"} <= set(actions)
    results = {e["Result"] for e in events}
    assert {"Passed", "Permission denied", "Operation not permitted", "No such file or directory",
            "Bad file descriptor"} <= results
    assert any(r.startswith("Unknown (-") for r in results)
    enforcers = {e.get("Enforcer") for e in events}
    assert {"AppArmor", "BPFLSM", "eBPF Monitor", "NetworkPolicyEnforcer", "USBDeviceHandler"} <= enforcers
    severities = {e["Severity"] for e in events if "Severity" in e}
    assert severities <= {""} | {str(n) for n in range(1, 11)}
    refs = {e["Owner"]["Ref"] for e in events if "Owner" in e}
    assert {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod"} <= refs
    for e in events:
        if e.get("Action") == "Block":
            assert e["Result"] != "Passed"
        if e.get("Action") in ("Audit (Block)",):
            assert e["Result"] == "Passed"


def test_row_shape(events: List[Dict[str, Any]]) -> None:
    for e in events:
        assert list(e) == sorted(e), "SaaS rows have sorted keys"
        for key in SAAS_KEYS:
            assert isinstance(e[key], str)
        assert e["cluster_id"] in ("3896", "4291", "16402") and e["tenant_id"] == "11"
        assert e["component_name"] == "kubearmor"
        assert isinstance(e["Timestamp"], int) and isinstance(e["PPID"], int) and isinstance(e["UID"], int)
        assert UPDATED.match(e["UpdatedTime"])
        assert time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(e["Timestamp"])) == e["UpdatedTime"][:19]
        assert re.fullmatch(r"[0-9a-f]{64}", e["HashID"])
        if e["Type"] == "MatchedPolicy" or e["Type"] == "SystemEvent":
            assert e["NamespaceName"] and e["PodName"] and re.fullmatch(r"[0-9a-f]{64}", e["ContainerID"])
        else:
            assert "NamespaceName" not in e and "PodName" not in e and "ContainerID" not in e
        if "HostPID" in e:
            assert e["HostPID"] > e["HostPPID"] > 0 and e["PID"] > 0


def test_times_are_ordered_and_follow_rate(events: List[Dict[str, Any]]) -> None:
    stamps = [e["UpdatedTime"] for e in events]
    assert stamps == sorted(stamps)
    assert events[0]["Timestamp"] >= START
    span = events[-1]["Timestamp"] - START
    assert 8000 / 20 * 0.9 <= span <= 8000 / 20 * 1.1  # Poisson arrivals at 20/s


def test_regular_spacing() -> None:
    evs = list(generate_events(100, seed=1, start=START, rate=10, regular=True))
    assert [e["Timestamp"] for e in evs] == [int(START) + i // 10 for i in range(100)]


def test_mean_size_is_about_1_2_kb(events: List[Dict[str, Any]]) -> None:
    sizes = [len(dumps(e)) for e in events]
    mean = sum(sizes) / len(sizes)
    assert 1150 <= mean <= 1350, mean
    assert min(sizes) > 500 and max(sizes) < 4000


def test_deterministic_per_seed() -> None:
    a = list(generate_events(500, seed=3, start=START, rate=5))
    b = list(generate_events(500, seed=3, start=START, rate=5))
    c = list(generate_events(500, seed=4, start=START, rate=5))
    assert dumps(a) == dumps(b)
    assert dumps(a) != dumps(c)
    assert a[:100] == list(generate_events(100, seed=3, start=START, rate=5))


def test_hash_ids_unique_even_across_streams() -> None:
    a = list(generate_events(20000, seed=3, start=START, rate=50))
    b = list(generate_events(2000, seed=3, start=START + 1000, rate=50))
    ids = [e["HashID"] for e in a + b]
    assert len(set(ids)) == len(ids)


def test_hash_id_fraction() -> None:
    evs = list(generate_events(2000, seed=1, start=START, rate=5, hash_id_fraction=0.3))
    share = sum("HashID" in e for e in evs) / len(evs)
    assert 0.2 < share < 0.4


def test_yielded_rows_are_independent() -> None:
    gen = generate_events(3000, seed=2, start=START, rate=50)
    first = [next(gen) for _ in range(1500)]
    snapshot = dumps(first)
    for e in first:
        for value in e.values():
            if isinstance(value, dict):
                value.clear()
            elif isinstance(value, list):
                value.append("mutated")
        e["Resource"] = "mutated"
    rest = list(gen)
    assert all(e.get("Resource") != "mutated" for e in rest)
    assert all("mutated" not in (e.get("ATags") or []) for e in rest)
    again = list(generate_events(1500, seed=2, start=START, rate=50))
    assert dumps(again) == snapshot


def test_filters_and_clusters() -> None:
    evs = list(generate_events(300, seed=1, start=START, rate=5, types=["MatchedHostPolicy"],
                               operations=["Device", "Syscall"], clusters=["9"], tenant_id="77"))
    assert {e["Type"] for e in evs} == {"MatchedHostPolicy"}
    assert {e["Operation"] for e in evs} == {"Device", "Syscall"}
    assert {(e["cluster_id"], e["tenant_id"]) for e in evs} == {("9", "77")}
    with pytest.raises(ValueError):
        list(generate_events(1, start=START, rate=1, types=["ContainerLog"]))
    with pytest.raises(ValueError):
        list(generate_events(1, start=START, rate=0))
    assert list(generate_events(0, start=START, rate=1)) == []


def test_generate_logs() -> None:
    logs = list(generate_logs(4000, seed=5, start=START, rate=100))
    assert {(e["Type"], e["Operation"]) for e in logs} == set(LOG_COVERAGE)
    share = sum(e["Type"] == "HostLog" for e in logs) / len(logs)
    assert 0.1 < share < 0.3
    for e in logs:
        assert not any(k in e for k in ALERT_ONLY)
        assert "PPID" in e and "UID" in e and "cluster_id" not in e
        assert all(v != "" and v is not None for v in e.values()), "omitempty: no empty values"
        assert UPDATED.match(e["UpdatedTime"])
        assert list(e)[:2] == ["Timestamp", "UpdatedTime"]
        if e["Type"] == "HostLog":
            assert "NamespaceName" not in e
    assert any("remotehost=svc/" in e.get("Resource", "") for e in logs)
    assert dumps(logs[:50]) == dumps(list(generate_logs(50, seed=5, start=START, rate=100)))


def test_live_source_follows_the_clock() -> None:
    now = [START + 1000]
    source = LiveEventSource(10, seed=1, backfill=60, clock=lambda: now[0], max_batch=10_000)
    first = source(now[0])
    assert 450 <= len(first) <= 750
    assert all(START + 940 <= e["Timestamp"] <= START + 1000 for e in first)
    assert source(now[0]) == []
    now[0] += 30
    more = source(now[0])
    assert 200 <= len(more) <= 400
    assert min(e["UpdatedTime"] for e in more) >= max(e["UpdatedTime"] for e in first)
    assert source.emitted == len(first) + len(more)


def test_live_source_batches_are_bounded() -> None:
    source = LiveEventSource(1000, seed=1, backfill=10, clock=lambda: START, max_batch=500)
    sizes = [len(source(START)) for _ in range(25)]
    assert sizes[0] == 500 and sum(sizes) < 10_000 + 500 and sizes[-1] == 0


@pytest.mark.slow
def test_generation_speed() -> None:
    t0 = time.perf_counter()
    n = sum(1 for _ in generate_events(100_000, seed=11, start=START, rate=1000))
    elapsed = time.perf_counter() - t0
    assert n == 100_000
    assert elapsed < 30, f"{elapsed:.1f}s for 100k events"
