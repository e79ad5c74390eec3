"""Tests for integrations.mapping.reference: the ECS and CIM reference loaders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from integrations.errors import ConfigError
from integrations.mapping import reference
from integrations.mapping.reference import CimReference, EcsReference, default_reference_dir

REF = default_reference_dir()
pytestmark = pytest.mark.skipif(REF is None, reason="reference dir not found (set ACCUKNOX_REFERENCE_DIR)")


@pytest.fixture(scope="module")
def ecs() -> EcsReference:
    assert REF is not None
    return EcsReference.load(REF / "ecs" / "ecs_flat-8.17.0.yml")


@pytest.fixture(scope="module")
def cim() -> CimReference:
    assert REF is not None
    return CimReference.load(REF / "splunk-cim")


# --------------------------------------------------------------------------- default dir


def test_default_reference_dir_env_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCUKNOX_REFERENCE_DIR", str(tmp_path / "elsewhere"))
    assert default_reference_dir() == tmp_path / "elsewhere"  # returned even if missing: fail loudly later


def test_default_reference_dir_next_to_repo(monkeypatch):
    monkeypatch.delenv("ACCUKNOX_REFERENCE_DIR", raising=False)
    repo = Path(reference.__file__).resolve().parents[2]
    expected = repo.parent / "shared" / "reference"
    assert default_reference_dir() == (expected if expected.is_dir() else None)


# --------------------------------------------------------------------------- ECS


def test_ecs_field_attributes(ecs):
    pid = ecs.field("process.pid")
    assert pid is not None and pid.name == "process.pid" and pid.type == "long" and pid.normalize == []
    assert pid.allowed_values is None and pid.expected_event_types is None and pid.pattern is None
    assert ecs.field("no.such.field") is None
    assert len(ecs) == 1692 and "event.kind" in ecs


def test_ecs_categorization_fields(ecs):
    category = ecs.field("event.category")
    assert category is not None and category.is_array
    assert {"process", "file", "network", "intrusion_detection"} <= category.allowed_values
    assert category.expected_event_types is not None
    assert category.expected_event_types["process"] == {"access", "change", "end", "info", "start"}
    assert category.expected_event_types["intrusion_detection"] == {"allowed", "denied", "info"}
    kind = ecs.field("event.kind")
    assert kind is not None and "alert" in kind.allowed_values and kind.expected_event_types is None
    outcome = ecs.field("event.outcome")
    assert outcome is not None and outcome.allowed_values == {"failure", "success", "unknown"}


def test_ecs_arrays_patterns_and_objects(ecs):
    assert ecs.is_array("tags") and ecs.is_array("event.type") and ecs.is_array("host.ip")
    assert not ecs.is_array("process.pid") and not ecs.is_array("no.such.field")
    mac = ecs.field("host.mac")
    assert mac is not None and mac.pattern == "^[A-F0-9]{2}(-[A-F0-9]{2}){5,}$"
    labels = ecs.object_parent("labels.team")
    assert labels is not None and labels.name == "labels" and labels.object_type == "keyword"
    assert ecs.object_parent("process.pid") is None


def test_ecs_9_loads_and_differs(ecs):
    assert REF is not None
    ecs9 = EcsReference.load(REF / "ecs" / "ecs_flat.yml")
    assert len(ecs9) > len(ecs)
    kind9 = ecs9.field("event.kind")
    assert kind9 is not None and kind9.type == "keyword"


def test_ecs_load_is_cached(ecs):
    assert REF is not None
    assert EcsReference.load(REF / "ecs" / "ecs_flat-8.17.0.yml") is ecs
    assert EcsReference.load(str(REF / "ecs" / ".." / "ecs" / "ecs_flat-8.17.0.yml")) is ecs


def test_ecs_cache_notices_a_changed_file(tmp_path):
    path = tmp_path / "ecs_flat.yml"
    path.write_text("a.b:\n  type: keyword\n  normalize: []\n", encoding="utf-8")
    first = EcsReference.load(path)
    path.write_text("a.b:\n  type: long\n  normalize: [array]\n", encoding="utf-8")
    second = EcsReference.load(path)
    f = second.field("a.b")
    assert second is not first and f is not None and f.type == "long" and f.is_array


def test_ecs_bad_files_raise_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        EcsReference.load(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not an ECS flat file"):
        EcsReference.load(bad)


# --------------------------------------------------------------------------- CIM


@pytest.mark.parametrize(
    "path,required",
    [
        ("Endpoint.Processes", {"action", "dest", "parent_process", "parent_process_id", "parent_process_name",
                                "parent_process_path", "process", "process_id", "process_name", "process_path",
                                "user", "vendor_product"}),
        ("Endpoint.Filesystem", {"action", "dest", "file_name", "file_path", "file_size", "user", "vendor_product"}),
        ("Network_Traffic.All_Traffic", {"action", "app", "dest", "dvc", "src", "transport", "vendor_product"}),
        ("Intrusion_Detection.IDS_Attacks", {"action", "category", "dvc", "ids_type", "severity", "signature",
                                             "vendor_product"}),
        ("Alerts.Alerts", {"app", "description", "dest", "id", "signature", "signature_id", "severity", "src",
                           "type", "user"}),
    ],
)
def test_cim_required_fields_match_the_docs(cim, path, required):
    assert set(cim.dataset(path).required_fields()) == required


def test_cim_field_attributes(cim):
    ds = cim.dataset("Network_Traffic.All_Traffic")
    transport = ds.fields["transport"]
    assert transport.condition == "required" and transport.required and transport.type == "required"
    assert transport.expected_values == ["tcp", "udp", "icmp"]
    assert transport.validity is not None and transport.validity.startswith("case(")
    assert transport.when is None  # "condition": "" in the JSON
    port = ds.fields["src_port"]
    assert port.condition == "conditional" and not port.required
    assert port.when == "transport=tcp OR transport=udp"
    assert port.validity == "if(isnum(src_port),src_port,null())"
    assert ds.fields["direction"].condition == "optional" and ds.fields["direction"].expected_values == [
        "inbound", "outbound"]
    assert ds.fields["channel"].condition == "not_allowed_in_search"
    assert ds.fields["rule"].expected_values is None and ds.fields["rule"].validity is None


def test_cim_clusters_tags_constraints(cim):
    ds = cim.dataset("Network_Traffic.All_Traffic")
    assert ("bytes", "bytes_in", "bytes_out") in ds.fields_clusters and len(ds.fields_clusters) == 5
    assert ds.tags == [frozenset({"network", "communicate"})]
    assert ds.constraints == ("tag=network tag=communicate",)
    assert ds.children == [
        "Network_Traffic.All_Traffic.Traffic_By_Action",
        "Network_Traffic.All_Traffic.Allowed_Traffic",
        "Network_Traffic.All_Traffic.Blocked_Traffic",
    ]
    assert cim.dataset("Endpoint.Processes").tags == [frozenset({"process", "report"})]


def test_cim_children_inherit(cim):
    parent = cim.dataset("Network_Traffic.All_Traffic")
    child = cim.dataset("Network_Traffic.All_Traffic.Blocked_Traffic")
    assert child is cim.dataset("Network_Traffic.Blocked_Traffic")  # short form
    assert child.parent == parent.path and child.own_fields == {}
    assert list(child.fields) == list(parent.fields) and child.fields_clusters == parent.fields_clusters
    assert child.constraints == ("tag=network tag=communicate", "action=blocked")
    assert child.fields["bytes"].dataset == "Network_Traffic.All_Traffic"
    assert cim.has_field("Network_Traffic.Allowed_Traffic", "dest_port")
    assert cim.has_field("Intrusion_Detection.IDS_Attacks.Host_IDS_Attacks", "signature")
    assert not cim.has_field("Alerts.Alerts", "action")


def test_cim_unknown_dataset(cim):
    with pytest.raises(KeyError, match="Endpoint.Processes"):
        cim.dataset("Endpoint.Process")
    assert not cim.has_dataset("Endpoint.Process") and cim.has_dataset("Alerts.Alerts")


def test_cim_common_fields(cim):
    common = cim.common_fields()
    assert {"dest_bunit", "dest_category", "dest_priority", "user_priority", "tag"} <= common
    assert "dest" not in common
    assert cim.common_field_types()["tag"] == "not_allowed_in_props"


@pytest.mark.parametrize(
    "tags,models",
    [
        ({"alert"}, ["Alerts"]),
        ({"ids", "attack"}, ["Intrusion_Detection"]),
        ({"process", "report"}, ["Endpoint_Processes"]),
        ({"endpoint", "filesystem"}, ["Endpoint_Filesystem"]),
        ({"network", "communicate"}, ["Network_Traffic"]),
        ({"network"}, []),
        ({"authentication", "cleartext"}, ["Authentication", "Authentication_Insecure_Authentication"]),
    ],
)
def test_datamodel_for_tags(cim, tags, models):
    assert cim.datamodel_for_tags(tags) == models


def test_cim_loads_from_the_data_models_folder_too(cim):
    assert REF is not None
    other = CimReference.load(REF / "splunk-cim" / "data_models")
    assert other.datasets() == cim.datasets()
    assert other.common_fields() == cim.common_fields()


def test_cim_bad_cluster_is_a_config_error(tmp_path):
    assert REF is not None
    folder = tmp_path / "splunk-cim" / "data_models"
    folder.mkdir(parents=True)
    shutil.copy(REF / "splunk-cim" / "data_models" / "Alerts.json", folder)
    raw = json.loads((folder / "Alerts.json").read_text(encoding="utf-8"))
    raw["objects"][0]["fields_cluster"] = [["app", "nope"]]
    (folder / "Alerts.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match="nope"):
        CimReference.load(folder.parent)
    with pytest.raises(ConfigError, match="no CIM data model"):
        CimReference.load(tmp_path)
