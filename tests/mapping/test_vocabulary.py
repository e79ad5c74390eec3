"""Vocabulary transforms: each one on the value forms the event schema documents."""

from __future__ import annotations

import pytest

from integrations.mapping.definition import load_definition
from integrations.mapping.vocabulary import (
    TRANSFORMS,
    basename,
    dirname,
    extension,
    parse_kv,
    split_image,
    split_labels,
    valid_ip,
)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("docker.io/library/nginx:latest@sha256:f5ab", ("docker.io/library/nginx", "latest", "sha256:f5ab")),
        ("nginx", ("nginx", None, None)),
        ("registry:5000/app", ("registry:5000/app", None, None)),
        ("registry:5000/team/app:1.2", ("registry:5000/team/app", "1.2", None)),
        ("quay.io/x/y@sha256:00", ("quay.io/x/y", None, "sha256:00")),
    ],
)
def test_split_image(image: str, expected: tuple) -> None:
    assert split_image(image) == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ("app=nginx,tier=web", ("app:nginx", "tier:web")),
        ("app=nginx tier=web", ("app:nginx", "tier:web")),
        ("app=nginx,tier=we...", ("app:nginx", "tier:we")),
        ("app=nginx,ti...", ("app:nginx",)),
        ("k=", ("k:",)),
    ],
)
def test_split_labels(labels: str, expected: tuple) -> None:
    assert split_labels(labels) == expected


def test_paths() -> None:
    assert basename("/usr/bin/apt") == "apt"
    assert basename("/bin/sh -c ls /tmp") == "sh"
    assert basename("/") is None
    assert dirname("/etc/passwd") == "/etc" and dirname("/x") == "/" and dirname("x") is None
    assert extension("/a/b.tar.gz") == "gz" and extension("/a/.bashrc") is None and extension("/a/b") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("syscall=SYS_OPENAT fd=-100 flags=O_RDWR|O_CREAT", {"syscall": "SYS_OPENAT", "fd": "-100", "flags": "O_RDWR|O_CREAT"}),
        ("kfunc=UDP_SENDMSG,domain=google.com,daddr=10.43.0.10,qtype=A",
         {"kfunc": "UDP_SENDMSG", "domain": "google.com", "daddr": "10.43.0.10", "qtype": "A"}),
        ("syscall=SYS_UNLINKAT flags=", {"syscall": "SYS_UNLINKAT", "flags": ""}),
        ("lsm=CAPABLE CAP_NET_RAW", {"lsm": "CAPABLE"}),
        ("a=b=c", {"a": "b=c"}),
        ("", None),
    ],
)
def test_parse_kv(text: str, expected: object) -> None:
    assert parse_kv(text) == expected


def test_valid_ip() -> None:
    assert valid_ip("10.0.0.1") == "10.0.0.1"
    assert valid_ip("fe80::1") == "fe80::1"
    assert valid_ip("0:0:0:0:0:0:0:1") == "0:0:0:0:0:0:0:1"
    assert valid_ip("999.1.1.1") is None and valid_ip("") is None


def _fn(name: str, params: dict | None = None):  # type: ignore[no-untyped-def]
    d = load_definition()
    tables = dict(d.tables)
    tables["__severity_preset__"] = "higher_is_worse"
    tables["__default_severity_level__"] = "medium"
    return TRANSFORMS[name].build(params or {}, tables)


def test_network_forms() -> None:
    net = _fn("network", {"forms": "network_forms", "families": "address_family",
                          "transports": "socket_transport", "directions": "firewall_direction"})
    # sockaddr keys in any order
    out = net(("connect", parse_kv("sin_port=53 sin_addr=10.0.0.10 sa_family=AF_INET"), {}, None))
    assert out == {"family": "AF_INET", "type": "ipv4", "destination_ip": "10.0.0.10", "destination_port": 53,
                   "direction": "egress"}
    out = net(("tcp_accept", parse_kv("remoteip=fe80::2 port=8080 protocol=TCPv6"), parse_kv("kprobe=tcp_accept domain=AF_INET6"), None))
    assert out["source_ip"] == "fe80::2" and out["destination_port"] == 8080 and out["transport"] == "tcp"
    assert out["type"] == "ipv6" and out["direction"] == "ingress" and out["has_peer"] is True
    out = net(("socket", parse_kv("domain=AF_INET type=SOCK_STREAM|SOCK_NONBLOCK protocol=0"), {}, None))
    assert out["transport"] == "tcp" and out["type"] == "ipv4" and "has_peer" not in out
    out = net(("connect", parse_kv("sa_family=AF_UNIX sun_path=/var/run/x.sock"), {}, None))
    assert out["unix_path"] == "/var/run/x.sock" and "destination_ip" not in out and "type" not in out
    out = net(("networkfirewall", {}, parse_kv("SourceIP=1.2.3.4 SourcePort=5 DestinationIP=5.6.7.8 DestinationPort=22 Protocol=TCP"), "INGRESS"))
    assert out["source_ip"] == "1.2.3.4" and out["destination_port"] == 22 and out["direction"] == "ingress"
    assert net(("connect", parse_kv("sa_family=AF_INET sin_addr=not-an-ip sin_port=99999"), {}, None)).get("destination_ip") is None
    assert net(("listen", {}, {}, None)) is None


def test_mitre_tags() -> None:
    mitre = _fn("mitre", {"patterns": "mitre_patterns"})
    out = mitre(["NIST", "MITRE", "MITRE_T1036_masquerading", "MITRE_TA0010_exfiltration", "mitre-t1602", "MITRE_T1059.004_unix_shell"])
    assert out["framework"] == "MITRE ATT&CK"
    assert out["technique_id"] == ["T1036", "T1602", "T1059"]
    assert out["technique_name"] == ["masquerading", "T1602", "unix shell"]
    assert out["subtechnique_id"] == ["T1059.004"]
    assert out["tactic_id"] == ["TA0010"] and out["tactic_name"] == ["exfiltration"]
    assert mitre(["NIST", "FGT1046", "MITRE"]) is None


@pytest.mark.parametrize(("raw", "level"), [(1, "low"), (4, "medium"), (7, "high"), (10, "critical"), ("x", "medium"), (None, "medium")])
def test_severity_levels(raw: object, level: str) -> None:
    assert _fn("severity_level", {"presets": "severity_presets"})(raw) == level


def test_split_list_drops_ui_truncation() -> None:
    fn = _fn("split_list", {"separator": ","})
    assert fn("NIST,CIS,PCI...") == ["NIST", "CIS", "PCI"]
    assert fn(["a", "a", " b "]) == ["a", "b"]
    assert fn(5) is None
