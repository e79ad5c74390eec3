"""The ECS and CIM validators are themselves tested: each rule with a good and a bad input."""

from __future__ import annotations

import copy
import json

import pytest

from integrations.mapping.reference import CimReference, EcsField, EcsReference, default_reference_dir

from .cim_validator import (
    CIM_IP_PATTERN,
    PSA_NEGATIVE_VALUES,
    _contains_ip,
    is_spl_num,
    not_evaluated,
    validate_cim_record,
)
from .ecs_validator import is_iso8601, validate_ecs_document

REF = default_reference_dir()
pytestmark = pytest.mark.skipif(REF is None, reason="reference dir not found (set ACCUKNOX_REFERENCE_DIR)")

OUR_DATASETS = (
    "Endpoint.Processes",
    "Endpoint.Filesystem",
    "Network_Traffic.All_Traffic",
    "Intrusion_Detection.IDS_Attacks",
    "Alerts.Alerts",
)


@pytest.fixture(scope="module")
def ecs() -> EcsReference:
    assert REF is not None
    return EcsReference.load(REF / "ecs" / "ecs_flat-8.17.0.yml")


@pytest.fixture(scope="module")
def ecs9() -> EcsReference:
    assert REF is not None
    return EcsReference.load(REF / "ecs" / "ecs_flat.yml")


@pytest.fixture(scope="module")
def cim() -> CimReference:
    assert REF is not None
    return CimReference.load(REF / "splunk-cim")


# =========================================================================== ECS

VENDOR = {
    "kubearmor.resource": "wildcard",
    "kubearmor.host_pid": "long",
    "kubearmor.atags": "keyword",
    "kubearmor.event_data": "flattened",
    "accuknox.tenant_id": "keyword",
}

GOOD_ECS = {
    "@timestamp": "2023-06-11T09:19:43.451704Z",
    "ecs": {"version": "8.17.0"},
    "event": {
        "kind": "alert",
        "category": ["process", "intrusion_detection"],
        "type": ["start", "denied"],
        "outcome": "failure",
        "id": "2P2q/s2E8PX940A4nWYGX7LRHn1id5pHTk47j+kfRPc=",
        "severity": 73,
        "risk_score": 73.0,
        "ingested": "2023-06-11T09:19:44Z",
    },
    "data_stream": {"type": "logs", "dataset": "accuknox.alert", "namespace": "default"},
    "process": {"pid": 792, "name": "apt", "executable": "/usr/bin/apt", "args": ["apt", "update"],
                "parent": {"pid": 786}},
    "host": {"name": "ip-172-31-24-142", "ip": ["172.31.24.142", "fe80::1"]},
    "labels": {"app": "nginx"},
    "tags": ["preserve_original_event"],
    "kubearmor": {"resource": "/usr/bin/apt update", "host_pid": 3341928, "atags": ["NIST", "SI-4"],
                  "event_data": {"anything": {"goes": [1, "x"]}}},
    "accuknox.tenant_id": "167",
}


def _ecs_problems(doc, ecs, ecs9=None, vendor=VENDOR):
    return validate_ecs_document(doc, ecs, vendor, ecs9=ecs9)


def _with(path: str, value):
    """GOOD_ECS with the dotted ``path`` set (nested dicts created) or removed (value ...)."""
    doc = copy.deepcopy(GOOD_ECS)
    *parents, leaf = path.split(".")
    node = doc
    for p in parents:
        node = node.setdefault(p, {})
    if value is ...:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return doc


def test_good_document_conforms_to_ecs_8_and_9(ecs, ecs9):
    assert _ecs_problems(GOOD_ECS, ecs, ecs9) == []


def test_dotted_keys_are_the_same_leaves(ecs, ecs9):
    flat = {"@timestamp": "2024-01-01T00:00:00Z", "event.kind": "event", "process.pid": 1,
            "kubearmor.host_pid": 2}
    assert _ecs_problems(flat, ecs, ecs9) == []


def _one(problems, *needles):
    assert problems, "expected a violation"
    assert any(all(n in p for n in needles) for p in problems), problems


@pytest.mark.parametrize(
    "path,value,needles",
    [
        ("process.nonsense", "x", ("process.nonsense", "not an ECS field")),
        ("kubearmor.undeclared", "x", ("kubearmor.undeclared", "not declared")),
        ("process.pid", "792", ("process.pid", "integer")),
        ("process.pid", True, ("process.pid", "integer")),
        ("process.pid", 2**63, ("process.pid", "long range")),
        ("process.pid", 1.5, ("process.pid", "integer")),
        ("process.name", 7, ("process.name", "string")),
        ("event.risk_score", "high", ("event.risk_score", "number")),
        ("event.risk_score", float("nan"), ("event.risk_score", "number")),
        ("host.ip", ["10.0.0.300"], ("host.ip", "IPv4/IPv6")),
        ("host.ip", ["fe80::1%eth0"], ("host.ip", "IPv4/IPv6")),
        ("@timestamp", "11/06/2023", ("@timestamp", "ISO-8601")),
        ("@timestamp", 1686475183000, ("@timestamp", "ISO-8601")),
        ("event.ingested", "2023-02-30T00:00:00Z", ("event.ingested", "ISO-8601")),
        ("process.pid", [792], ("process.pid", "array")),
        ("event.kind", ["alert"], ("event.kind", "array")),
        ("event.kind", "bogus", ("event.kind", "'bogus'", "allowed value")),
        ("event.outcome", "blocked", ("event.outcome", "allowed value")),
        ("event.category", ["processes"], ("event.category", "allowed value")),
        ("event.type", ["start", "creation"], ("event.type", "'creation'", "event.category")),
        ("event.category", ..., ("event.type", "without event.category")),
        ("labels.app", 5, ("labels.app", "string")),
        ("labels.app", {"x": "y"}, ("labels.app", "got an object")),
        ("event.kind", {"x": "y"}, ("event.kind", "got an object")),
        ("process.name", None, ("process.name", "null")),
        ("host.mac", ["aa:bb:cc:dd:ee:ff"], ("host.mac", "pattern")),
        ("kubearmor.host_pid", "3341928", ("kubearmor.host_pid", "integer")),
        ("kubearmor.event_data", "flat", ("kubearmor.event_data", "object")),
    ],
)
def test_ecs_violation(ecs, path, value, needles):
    _one(_ecs_problems(_with(path, value), ecs), *needles)


@pytest.mark.parametrize(
    "path,value",
    [
        ("host.mac", ["AA-BB-CC-DD-EE-FF"]),
        ("event.category", ["network"]),  # start/denied are both expected for network
        ("event.type", ["info"]),
        ("tags", ["a", "b"]),
        ("kubearmor.atags", "single"),  # vendor fields may be scalar or list
        ("@timestamp", "2023-06-11"),
        ("@timestamp", "2023-06-11T09:19:43.451704123+05:30"),
        ("event.risk_score", 21),  # an int is a valid float
        ("host.ip", ["::ffff:10.0.0.1"]),
    ],
)
def test_ecs_accepted(ecs, ecs9, path, value):
    assert _ecs_problems(_with(path, value), ecs, ecs9) == []


def test_flattened_vendor_field_is_a_leaf(ecs):
    # keys below a flattened field are not looked up as fields
    doc = _with("kubearmor.event_data", {"a.b": {"c": None}, "weird key": [{"x": 1}]})
    assert _ecs_problems(doc, ecs) == []


def test_array_of_objects_under_an_object_array_field(ecs, ecs9):
    doc = _with("dns", {"answers": [{"name": "example.com", "type": "A", "data": "1.2.3.4"}]})
    assert _ecs_problems(doc, ecs, ecs9) == []
    bad = _with("dns", {"answers": [{"name": 5}]})
    _one(_ecs_problems(bad, ecs), "dns.answers.name", "string")


def test_ecs9_type_difference_and_missing_field_are_reported(ecs):
    fake9 = EcsReference({
        name: f for name in ecs.names()
        if (f := ecs.field(name)) is not None and name not in ("process.name", "process.pid")
    })
    fake9._fields["process.pid"] = EcsField("process.pid", "keyword", [])
    problems = _ecs_problems(GOOD_ECS, ecs, fake9)
    _one(problems, "process.pid", "long in ECS 8.17 but keyword in ECS 9")
    _one(problems, "process.name", "not a field in ECS 9")


def test_ecs9_allowed_values_are_checked_too(ecs):
    fake9 = EcsReference({name: f for name in ecs.names() if (f := ecs.field(name)) is not None})
    kind = ecs.field("event.kind")
    assert kind is not None and kind.allowed_values is not None
    fake9._fields["event.kind"] = EcsField("event.kind", "keyword", [], kind.allowed_values - {"alert"})
    _one(_ecs_problems(GOOD_ECS, ecs, fake9), "event.kind", "allowed value in ECS 9")


def test_iso8601_helper():
    assert is_iso8601("2024-02-29T23:59:59.123Z")
    assert not is_iso8601("2023-02-29")
    assert not is_iso8601("2024-01-01T25:00:00Z")
    assert not is_iso8601("2024-01-01 00:00:00")
    assert not is_iso8601("2024-01-01T00:00:00+99:00")


# =========================================================================== CIM

PROCESS = {
    "action": "blocked",
    "dest": "ip-172-31-24-142",
    "parent_process": "/bin/dash",
    "parent_process_id": 786,
    "parent_process_name": "dash",
    "parent_process_path": "/bin/dash",
    "process": "/usr/bin/apt update",
    "process_id": "792",
    "process_name": "apt",
    "process_path": "/usr/bin/apt",
    "user": "root",
    "vendor_product": "AccuKnox KubeArmor",
}

FILESYSTEM = {
    "action": "deleted",
    "dest": "node-1",
    "file_name": "passwd",
    "file_path": "/etc/passwd",
    "file_size": 1024,
    "user": "root",
    "vendor_product": "AccuKnox KubeArmor",
}

TRAFFIC = {
    "action": "allowed",
    "app": "dns",
    "dest": "10.0.0.2",
    "dest_ip": "10.0.0.2",
    "dest_port": 53,
    "dvc": "node-1",
    "src": "10.0.0.1",
    "src_ip": "10.0.0.1",
    "src_port": "41234",
    "transport": "udp",
    "protocol": "ip",
    "protocol_version": "ipv4",
    "vendor_product": "AccuKnox KubeArmor",
}

IDS = {
    "action": "blocked",
    "category": "process",
    "dvc": "node-1",
    "ids_type": "host",
    "severity": "high",
    "signature": "block-pkg-mgmt-tools-exec",
    "vendor_product": "AccuKnox KubeArmor",
    "file_hash": "abc",
    "file_name": "apt",
    "file_path": "/usr/bin/apt",
}

ALERT = {
    "app": "kubearmor",
    "description": "Alert! Execution of package management process inside container is denied",
    "dest": "node-1",
    "id": "2P2q/s2E8PX940A4nWYGX7LRHn1id5pHTk47j+kfRPc=",
    "signature": "block-pkg-mgmt-tools-exec",
    "signature_id": "block-pkg-mgmt-tools-exec",
    "severity": "high",
    "src": "nginx-8f458dc5b-fl42t",
    "type": "alert",
    "user": "root",
}

GOOD_RECORDS = {
    "Endpoint.Processes": PROCESS,
    "Endpoint.Filesystem": FILESYSTEM,
    "Network_Traffic.All_Traffic": TRAFFIC,
    "Intrusion_Detection.IDS_Attacks": IDS,
    "Alerts.Alerts": ALERT,
}


def _rec(base, **changes):
    out = dict(base)
    for k, v in changes.items():
        if v is ...:
            out.pop(k, None)
        else:
            out[k] = v
    return out


@pytest.mark.parametrize("dataset", OUR_DATASETS)
def test_every_expression_of_our_datasets_is_translated(cim, dataset):
    paths = [p for p in cim.datasets() if p == dataset or p.startswith(dataset + ".")]
    assert len(paths) >= 1
    assert [item for p in paths for item in not_evaluated(p, cim)] == []


def test_unknown_expressions_are_listed_and_reported_not_skipped(cim):
    assert any("isstr(app)" in item for item in not_evaluated("Web.Web", cim))
    problems = validate_cim_record({"app": "x"}, "Web.Web", cim)
    _one(problems, "Web.Web: app: not evaluated: validity", "isstr(app)")


def test_ip_pattern_key_is_the_exact_text_of_the_data_model(cim):
    when = cim.dataset("Network_Traffic.All_Traffic").fields["dest_ip"].when
    assert when is not None and CIM_IP_PATTERN in when


@pytest.mark.parametrize("dataset", OUR_DATASETS)
def test_good_records_pass(cim, dataset):
    assert validate_cim_record(dict(GOOD_RECORDS[dataset]), dataset, cim) == []


def test_child_datasets_inherit_parent_fields(cim):
    for child in ("Network_Traffic.All_Traffic.Blocked_Traffic", "Network_Traffic.Allowed_Traffic"):
        assert validate_cim_record(dict(TRAFFIC), child, cim) == []
        _one(validate_cim_record(_rec(TRAFFIC, dvc=...), child, cim), "dvc", "missing or empty (required)")


@pytest.mark.parametrize("field", sorted(set(PROCESS) - {"user"}))  # user: see the model-expression test
def test_missing_required_field(cim, field):
    _one(validate_cim_record(_rec(PROCESS, **{field: ...}), "Endpoint.Processes", cim),
         f"Endpoint.Processes: {field}: missing or empty (required)")
    _one(validate_cim_record(_rec(PROCESS, **{field: ""}), "Endpoint.Processes", cim), field, "missing or empty")


def test_allow_missing_for_fields_the_source_cannot_provide(cim):
    record = _rec(FILESYSTEM, file_size=...)
    _one(validate_cim_record(record, "Endpoint.Filesystem", cim), "file_size", "missing")
    assert validate_cim_record(record, "Endpoint.Filesystem", cim, allow_missing=["file_size"]) == []
    # a present value is still checked
    assert validate_cim_record(_rec(FILESYSTEM, action="write"), "Endpoint.Filesystem", cim,
                               allow_missing=["file_size"]) != []


def test_processes_user_model_expression(cim):
    for empty in (..., "", None):
        record = _rec(PROCESS, user=empty)
        assert validate_cim_record(record, "Endpoint.Processes", cim) == []
        _one(validate_cim_record(record, "Endpoint.Processes", cim, strict_psa=True), "user", "missing or empty")
    # a literal "unknown" from the source is a negative value either way
    _one(validate_cim_record(_rec(PROCESS, user="unknown"), "Endpoint.Processes", cim), "user", "negative value")


@pytest.mark.parametrize("bad", [v for v in PSA_NEGATIVE_VALUES if v])
def test_negative_values_on_required_fields(cim, bad):
    _one(validate_cim_record(_rec(ALERT, dest=bad), "Alerts.Alerts", cim), "dest", "negative value")


def test_negative_values_are_not_checked_on_optional_fields(cim):
    assert validate_cim_record(_rec(ALERT, user_name="-"), "Alerts.Alerts", cim) == []


@pytest.mark.parametrize(
    "field,value",
    [("process_name", "/usr/bin/apt"), ("process_name", "C:\\apt.exe"), ("parent_process_name", "bin/dash")],
)
def test_process_name_has_no_path_separator(cim, field, value):
    _one(validate_cim_record(_rec(PROCESS, **{field: value}), "Endpoint.Processes", cim), field, "validity")


@pytest.mark.parametrize("value", ["792", 792, "7.5", " 12 "])
def test_isnum_accepts_numbers_and_numeric_text(cim, value):
    assert validate_cim_record(_rec(PROCESS, process_id=value), "Endpoint.Processes", cim) == []


@pytest.mark.parametrize("value", ["abc", "0x1f", True, "1 2"])
def test_isnum_rejects_non_numbers(cim, value):
    _one(validate_cim_record(_rec(PROCESS, process_id=value), "Endpoint.Processes", cim), "process_id", "validity")


def test_expected_values_exact_by_default(cim):
    _one(validate_cim_record(_rec(FILESYSTEM, action="write"), "Endpoint.Filesystem", cim),
         "action", "'write' not in the expected values")
    _one(validate_cim_record(_rec(FILESYSTEM, action="Deleted"), "Endpoint.Filesystem", cim),
         "action", "differs in case")
    assert validate_cim_record(_rec(FILESYSTEM, action="Deleted"), "Endpoint.Filesystem", cim,
                               case_sensitive=False) == []


def test_expected_values_on_optional_fields(cim):
    _one(validate_cim_record(_rec(TRAFFIC, direction="egress"), "Network_Traffic.All_Traffic", cim),
         "direction", "expected values")
    assert validate_cim_record(_rec(TRAFFIC, direction="outbound"), "Network_Traffic.All_Traffic", cim) == []


def test_filesystem_conditionals(cim):
    # file_hash is required for created/modified/read, not for deleted
    _one(validate_cim_record(_rec(FILESYSTEM, action="read"), "Endpoint.Filesystem", cim),
         "file_hash", "required when action=created or action=modified or action=read")
    assert validate_cim_record(_rec(FILESYSTEM, action="read", file_hash="ab12"), "Endpoint.Filesystem", cim) == []
    problems = validate_cim_record(_rec(FILESYSTEM, action="created", file_hash="ab12"), "Endpoint.Filesystem", cim)
    _one(problems, "file_create_time", "required when action=created")
    problems = validate_cim_record(_rec(FILESYSTEM, action="acl_modified"), "Endpoint.Filesystem", cim)
    _one(problems, "file_acl", "required when action=acl_modified")


def test_dest_ip_must_equal_dest(cim):
    _one(validate_cim_record(_rec(TRAFFIC, dest_ip="10.0.0.9"), "Network_Traffic.All_Traffic", cim),
         "dest_ip", "validity")
    _one(validate_cim_record(_rec(TRAFFIC, src_ip="10.0.0.9"), "Network_Traffic.All_Traffic", cim),
         "src_ip", "validity")


def test_ip_dest_requires_dest_ip_but_a_name_does_not(cim):
    _one(validate_cim_record(_rec(TRAFFIC, dest_ip=...), "Network_Traffic.All_Traffic", cim),
         "dest_ip", "conditional")
    named = _rec(TRAFFIC, dest="kube-dns.kube-system.svc", dest_ip=...)
    assert validate_cim_record(named, "Network_Traffic.All_Traffic", cim) == []


def test_ports_required_for_tcp_and_udp(cim):
    _one(validate_cim_record(_rec(TRAFFIC, src_port=...), "Network_Traffic.All_Traffic", cim),
         "src_port", "transport=tcp OR transport=udp")
    _one(validate_cim_record(_rec(TRAFFIC, dest_port="dns"), "Network_Traffic.All_Traffic", cim),
         "dest_port", "validity")


def test_protocol_transport_consistency(cim):
    problems = validate_cim_record(_rec(TRAFFIC, protocol="icmp"), "Network_Traffic.All_Traffic", cim)
    _one(problems, "protocol", "validity")
    _one(problems, "transport", "validity")
    # literal translation: the transport expression yields null without a protocol
    _one(validate_cim_record(_rec(TRAFFIC, protocol=...), "Network_Traffic.All_Traffic", cim),
         "transport", "validity")
    # eval == is case-sensitive, even though the expected-values check alone would only flag case
    _one(validate_cim_record(_rec(TRAFFIC, transport="UDP"), "Network_Traffic.All_Traffic", cim,
                             case_sensitive=False), "transport", "validity")
    _one(validate_cim_record(_rec(TRAFFIC, transport="sctp"), "Network_Traffic.All_Traffic", cim),
         "transport", "expected values")


def test_protocol_version_required_for_ip(cim):
    _one(validate_cim_record(_rec(TRAFFIC, protocol_version=...), "Network_Traffic.All_Traffic", cim),
         "protocol_version", "protocol=ip")


def test_bytes_cluster_and_sum(cim):
    ok = _rec(TRAFFIC, bytes=10, bytes_in=4, bytes_out="6")
    assert validate_cim_record(ok, "Network_Traffic.All_Traffic", cim) == []
    _one(validate_cim_record(_rec(TRAFFIC, bytes=10), "Network_Traffic.All_Traffic", cim), "fields_cluster",
         "bytes_in")
    _one(validate_cim_record(_rec(ok, bytes=11), "Network_Traffic.All_Traffic", cim), "bytes:", "validity")
    _one(validate_cim_record(_rec(ok, bytes_in=0, bytes=6), "Network_Traffic.All_Traffic", cim),
         "bytes_in", "validity")


def test_icmp_type_validity_is_translated_literally(cim):
    # The CIM expression for icmp_type tests *duration*; a record without duration fails it.
    icmp = _rec(TRAFFIC, transport="icmp", protocol="icmp", icmp_type=8, icmp_code=0,
                src_port=..., dest_port=...)
    _one(validate_cim_record(icmp, "Network_Traffic.All_Traffic", cim), "icmp_type", "validity")
    assert validate_cim_record(_rec(icmp, duration=3), "Network_Traffic.All_Traffic", cim) == []


def test_ids_conditionals_follow_ids_type(cim):
    network = _rec(IDS, ids_type="network", file_hash=..., file_name=..., file_path=...)
    problems = validate_cim_record(network, "Intrusion_Detection.IDS_Attacks", cim)
    for field in ("dest", "src", "transport", "src_port", "dest_port"):
        _one(problems, f"{field}: missing or empty", 'ids_type="network"')
    _one(validate_cim_record(_rec(IDS, file_path=...), "Intrusion_Detection.IDS_Attacks", cim),
         "file_path", 'ids_type="host"')
    _one(validate_cim_record(_rec(IDS, ids_type="application"), "Intrusion_Detection.IDS_Attacks", cim),
         "ids_type", "expected values")


def test_severity_and_type_expected_values(cim):
    _one(validate_cim_record(_rec(ALERT, severity="severe"), "Alerts.Alerts", cim), "severity", "expected")
    _one(validate_cim_record(_rec(ALERT, type="notice"), "Alerts.Alerts", cim), "type", "expected")


def test_common_fields_must_not_be_extracted(cim):
    _one(validate_cim_record(_rec(ALERT, dest_bunit="ops"), "Alerts.Alerts", cim), "dest_bunit", "CommonFields")
    _one(validate_cim_record(_rec(ALERT, tag=["alert"]), "Alerts.Alerts", cim), "tag", "CommonFields")


def test_not_allowed_dataset_field(cim):
    _one(validate_cim_record(_rec(TRAFFIC, channel="6"), "Network_Traffic.All_Traffic", cim),
         "channel", "not_allowed_in_search")


def test_multivalue_is_rejected_for_single_valued_fields(cim):
    _one(validate_cim_record(_rec(ALERT, dest=["a", "b"]), "Alerts.Alerts", cim), "dest", "multivalue")


def test_optional_fields_may_be_multivalue_each_value_checked(cim):
    assert validate_cim_record(_rec(ALERT, mitre_technique_id=["T1036", "T1565"]), "Alerts.Alerts", cim) == []
    ok = _rec(TRAFFIC, direction=["inbound", "outbound"], duration=["1", 2])
    assert validate_cim_record(ok, "Network_Traffic.All_Traffic", cim) == []
    _one(validate_cim_record(_rec(ok, duration=["1", "x"]), "Network_Traffic.All_Traffic", cim), "duration",
         "validity")
    _one(validate_cim_record(_rec(ok, direction=["inbound", "up"]), "Network_Traffic.All_Traffic", cim),
         "direction", "'up' not in the expected values")


def test_unknown_dataset_is_a_key_error(cim):
    with pytest.raises(KeyError, match="unknown CIM dataset"):
        validate_cim_record({}, "Endpoint.Nope", cim)


def test_helpers():
    assert is_spl_num("1e3") and is_spl_num(-4) and not is_spl_num(False) and not is_spl_num(float("inf"))
    assert _contains_ip("10.1.2.3") and _contains_ip("host 10.1.2.3") and _contains_ip("fe80::1")
    assert not _contains_ip("kube-dns") and not _contains_ip("999.1.1.1") and not _contains_ip("a:b")


def test_records_are_not_modified(cim):
    record = _rec(PROCESS, user=...)
    before = json.dumps(record, sort_keys=True)
    validate_cim_record(record, "Endpoint.Processes", cim)
    assert json.dumps(record, sort_keys=True) == before
