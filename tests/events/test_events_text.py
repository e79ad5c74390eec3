"""The karmor text rendering."""

from __future__ import annotations

import io

import pytest

from integrations.events import event_time, is_alert, iter_parse
from integrations.model import ParsedEvent, Rejected

ALERT = """== Alert / 2023-03-22 06:40:00.241489 ==
ClusterName: default
HostName: master
Type: MatchedPolicy
PolicyName: ksp-restrict
Severity: 10
Source: /usr/bin/bash
Resource: /usr/bin/mysqldump -u db_user -p .mypwd my_db users
Operation: Process
Action: Block
Data: syscall=SYS_EXECVE
Enforcer: AppArmor
Result: Permission denied
ATags: [NIST NIST-800-53-r5 CA-9 File Rules]
HostPID: 1.252488e+06
Owner: map[Name:mysql Namespace:wordpress-mysql Ref:Deployment]
ExecEvent: map[]
PID: 137
Tags: NIST,NIST-800-53-r5,CA-9,File Rules
"""


def run(text: str):
    return list(iter_parse(io.BytesIO(text.encode("utf-8")), "k"))


def test_full_alert_block(check_canonical):
    (ev,) = run(ALERT)
    assert isinstance(ev, ParsedEvent) and ev.location == "k:1"
    f = ev.fields
    check_canonical(f)
    assert f["UpdatedTime"] == "2023-03-22T06:40:00.241489Z"
    assert event_time(f) == pytest.approx(1679467200.241489)
    assert f["Severity"] == 10 and f["PID"] == 137 and f["HostPID"] == 1252488
    assert f["ATags"] == ["NIST", "NIST-800-53-r5", "CA-9", "File Rules"]  # recovered from Tags
    assert f["Owner"] == {"Name": "mysql", "Namespace": "wordpress-mysql", "Ref": "Deployment"}
    assert "ExecEvent" not in f
    assert f["Resource"] == "/usr/bin/mysqldump -u db_user -p .mypwd my_db users"
    assert is_alert(f)
    assert any("float notation" in w for w in ev.warnings)
    assert ev.original.startswith("== Alert / 2023-03-22 06:40:00.241489 ==")


def test_atags_without_tags_split_with_warning():
    (ev,) = run("Type: MatchedPolicy\nATags: [a b c]\n")
    assert ev.fields["ATags"] == ["a", "b", "c"]
    assert any("split on spaces" in w for w in ev.warnings)


def test_spaced_keys_and_indentation():
    text = """== Alert / 2022-02-08 03:12:40.413064 ==
    Cluster Name: default
    Host Name: node
    Policy Name: DefaultPosture
    Container ID: abc
    Type: MatchedPolicy
    Operation: File   \n"""
    (ev,) = run(text)
    f = ev.fields
    assert f["ClusterName"] == "default" and f["HostName"] == "node" and f["PolicyName"] == "DefaultPosture"
    assert f["ContainerID"] == "abc" and f["Operation"] == "File"


def test_corpus_file_format_and_multiple_blocks():
    text = (
        "# comment line\n# another\n\n### SOURCE: https://example/1\n" + ALERT + "=====\n"
        "### SOURCE: https://example/2\nType: HostLog\nOperation: Network\nResource: remoteip=1.2.3.4 port=80\n"
        "=====\n"
    )
    res = run(text)
    assert [r.location for r in res] == ["k:5", "k:26"]
    assert res[1].fields["Type"] == "HostLog" and not is_alert(res[1].fields)


def test_blocks_split_by_header_blank_line_and_repeated_key():
    text = (
        "== Log / 2023-01-27 14:41:49.017709 ==\nType: HostLog\nOperation: Process\n"
        "== Log / 2023-01-27 14:41:49.018951 ==\nType: HostLog\nOperation: File\n"
        "\nType: ContainerLog\nOperation: File\nType: ContainerLog\nOperation: Network\n"
    )
    res = run(text)
    assert [r.location for r in res] == ["k:1", "k:4", "k:8", "k:10"]
    assert [r.fields["Operation"] for r in res] == ["Process", "File", "File", "Network"]


def test_misaligned_block_warns():
    text = """== Alert / 2022-02-08 03:12:40.413064 ==
Cluster Name: default
Severity: ksp-restrict-access-mysql-server-config
Tags: 5
Message: MYSQL,config-files,mysqldump
Type: Alert! mysql configuration files has been accessed.
Source: MatchedPolicy
Operation: /bin/cat /etc/mysql/my.cnf
Resource: File
Data: /etc/mysql/my.cnf
Action: syscall=SYS_OPENAT fd=-100 flags=/etc/mysql/my.cnf
Result: Audit
"""
    (ev,) = run(text)
    assert isinstance(ev, ParsedEvent)
    w = " | ".join(ev.warnings)
    assert "Operation value '/bin/cat /etc/mysql/my.cnf' not in the known set" in w
    assert "Type value" in w and "shifted" in w and "Severity" in w


def test_protobuf_daemon_warning_rejected():
    text = (
        "2026-01-29 09:32:19.524789      WARN    Failed to send a log=[Timestamp:1769689939\n"
        '  UpdatedTime:"2026-01-29T12:32:19.524174Z"  ClusterName:"default"  HostName:"lnx"\n'
        'PID:17353  Type:"HostLog"  Source:"/opt/kubearmor/kubearmor"  Operation:"Network"]\n'
        "grpc: error while marshaling: string field contains invalid UTF-8]\n"
    )
    (r,) = run(text)
    assert isinstance(r, Rejected) and "protobuf" in r.reason and r.location == "k:1"
    assert "Failed to send a log" in r.original


def test_unknown_lines_warn_and_unknown_blocks_rejected():
    (ev,) = run("Type: HostLog\nOperation: File\nsomething odd here\n")
    assert any("not understood" in w and "something odd" in w for w in ev.warnings)
    (r,) = run("== Alert / 2023-01-01 00:00:00.0 ==\nfoo bar\nbaz: qux\n")
    assert isinstance(r, Rejected) and "Key: value" in r.reason


def test_bad_header_time_warns():
    (ev,) = run("== Alert / not-a-time ==\nType: MatchedPolicy\n")
    assert "UpdatedTime" not in ev.fields
    assert any("header time" in w for w in ev.warnings)


def test_message_header_rejected():
    (r,) = run("== Message / 2023-01-01 00:00:00.000001 ==\nLevel: INFO\nMessage: started\n")
    assert isinstance(r, Rejected) and "Message" in r.reason


def test_json_line_inside_text():
    text = ALERT + "\n" + '{"Type": "HostLog", "Operation": "File", "Timestamp": 1}\n' + "Type: HostLog\n"
    res = run(text)
    assert [type(r) for r in res] == [ParsedEvent] * 3
    assert res[1].location == "k:21" and res[1].fields["Timestamp"] == 1


def test_invalid_utf8_in_text():
    data = ALERT.encode().replace(b"master", b"mas\xffter")
    (ev,) = list(iter_parse(io.BytesIO(data), "k"))
    assert ev.fields["HostName"] == "mas\ufffdter"
    assert any("invalid UTF-8" in w for w in ev.warnings)


def test_header_only_block_rejected():
    (r,) = run("== Alert / 2023-03-22 06:40:00.241489 ==\n=====\n")
    assert isinstance(r, Rejected)
