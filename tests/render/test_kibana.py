"""Kibana saved objects: the file parses, references resolve, every field is one we emit, ids are stable."""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, List

import pytest

from integrations.errors import MappingDefinitionError
from integrations.mapping import load_definition
from integrations.render import kibana
from integrations.render.es_templates import MAPPER_FIELDS, ecs_flat
from tests.conftest import REPO

FILE = REPO / "elastic_ingest" / "kibana" / "accuknox.ndjson"
DATA_VIEW = "accuknox-siem-logs-accuknox"
DASHBOARD_IDS = {
    "accuknox-siem-dashboard-alerts", "accuknox-siem-dashboard-blocked", "accuknox-siem-dashboard-file-integrity",
    "accuknox-siem-dashboard-network-egress", "accuknox-siem-dashboard-mitre",
}


@pytest.fixture(scope="module")
def defn():
    return load_definition()


@pytest.fixture(scope="module")
def objects() -> List[Dict[str, Any]]:
    lines = FILE.read_text(encoding="utf-8").splitlines()
    assert all(line.strip() for line in lines)
    return [json.loads(line) for line in lines]


def by_type(objects, t: str) -> List[Dict[str, Any]]:
    return [o for o in objects if o["type"] == t]


def test_file_is_current(defn) -> None:
    assert FILE.read_text(encoding="utf-8") == kibana.render_kibana(defn)
    assert kibana.render_kibana(defn) == kibana.render_kibana(defn)


def test_objects_parse_and_declare_their_format(objects) -> None:
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids))
    for o in objects:
        assert set(o) >= {"id", "type", "attributes", "references", "coreMigrationVersion", "typeMigrationVersion"}
        assert o["coreMigrationVersion"] == "8.8.0"
        assert o["typeMigrationVersion"] == kibana.TYPE_MIGRATION_VERSION[o["type"]]
        assert "migrationVersion" not in o and "updated_at" not in o
        for key in ("visState", "panelsJSON", "optionsJSON", "uiStateJSON"):
            if key in o["attributes"]:
                json.loads(o["attributes"][key])


def test_ids_are_stable(objects) -> None:
    assert by_type(objects, "index-pattern")[0]["id"] == DATA_VIEW
    assert {o["id"] for o in by_type(objects, "dashboard")} == DASHBOARD_IDS
    assert all(o["id"].startswith("accuknox-siem-vis-") for o in by_type(objects, "visualization"))


def test_data_view(objects) -> None:
    (dv,) = by_type(objects, "index-pattern")
    assert dv["attributes"]["title"] == "logs-accuknox.*"
    assert dv["attributes"]["timeFieldName"] == "@timestamp"


def test_references_resolve(objects) -> None:
    ids = {(o["type"], o["id"]) for o in objects}
    for o in objects:
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in ids, (o["id"], ref)
    for vis in by_type(objects, "visualization"):
        src = json.loads(vis["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert src["indexRefName"] in {r["name"] for r in vis["references"]}
        assert [r["id"] for r in vis["references"]] == [DATA_VIEW]
    for dash in by_type(objects, "dashboard"):
        panels = json.loads(dash["attributes"]["panelsJSON"])
        refs = {r["name"]: r for r in dash["references"]}
        assert len(panels) == len(refs) >= 4
        for p in panels:
            assert p["gridData"]["i"] == p["panelIndex"] and p["version"] == kibana.PANEL_VERSION
            assert f"{p['panelIndex']}:{p['panelRefName']}" in refs


def test_every_referenced_field_is_emitted(objects, defn) -> None:
    emitted = set(defn.ecs_targets()) | set(MAPPER_FIELDS)
    fields = kibana.referenced_fields(objects)
    assert fields - emitted == set()
    assert {"@timestamp", "orchestrator.cluster.name", "orchestrator.namespace", "orchestrator.resource.name",
            "rule.name", "kubearmor.action", "kubearmor.severity_level", "kubearmor.operation", "event.type",
            "event.category", "network.direction", "threat.technique.id"} <= fields


def test_required_views(objects) -> None:
    queries = {json.loads(v["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
               for v in by_type(objects, "visualization")}
    assert queries == {'event.kind : "alert"', 'event.type : "denied"', 'event.category : "file"',
                       'network.direction : "egress"', "threat.technique.id : *"}
    splits = set()
    for vis in by_type(objects, "visualization"):
        state = json.loads(vis["attributes"]["visState"])
        assert state["type"] in ("histogram", "table")
        if state["type"] == "histogram":
            (date,) = [a for a in state["aggs"] if a["type"] == "date_histogram"]
            assert date["params"]["field"] == "@timestamp"
            splits.update(a["params"]["field"] for a in state["aggs"] if a["schema"] == "group")
    assert {"orchestrator.cluster.name", "orchestrator.namespace", "orchestrator.resource.name", "rule.name",
            "kubearmor.action", "kubearmor.severity_level", "kubearmor.operation"} <= splits


def test_a_field_the_definition_stopped_writing_fails_rendering(defn) -> None:
    broken = copy.deepcopy(defn)
    broken.rules = [r for r in broken.rules if "orchestrator.namespace" not in r.ecs]
    with pytest.raises(MappingDefinitionError, match="orchestrator.namespace"):
        kibana.saved_objects(broken, ecs_flat())


def test_a_filter_value_must_be_writable_and_allowed(defn, monkeypatch) -> None:
    dash = kibana.DASHBOARDS[1]
    monkeypatch.setattr(kibana, "DASHBOARDS", ((dash[0], dash[1], dash[2], ("event.type", "zz-none"), dash[4]),))
    with pytest.raises(MappingDefinitionError, match="never writes"):
        kibana.saved_objects(defn, ecs_flat())
    monkeypatch.setattr(kibana, "DASHBOARDS", ((dash[0], dash[1], dash[2], ("event.type", "blocked"), dash[4]),))
    with pytest.raises(MappingDefinitionError, match="ECS does not allow"):
        kibana.saved_objects(defn, ecs_flat())
    monkeypatch.setattr(kibana, "DASHBOARDS", ((dash[0], dash[1], dash[2], ("event.kind", "event"), dash[4]),))
    kibana.saved_objects(defn, ecs_flat())  # "event" is an allowed ECS value the definition writes
