"""Kibana saved objects: a data view and the AccuKnox dashboards, as an import file.

Consumes: the mapping definition (field names are looked up in
``Definition.ecs_targets()``; filter values must be values the definition can
write and, when the ECS reference is available, allowed ECS values). Produces
``elastic_ingest/kibana/accuknox.ndjson`` for ``POST /api/saved_objects/_import``
(``ecs-mapping.md`` §8): one object per line, sorted keys, stable ids.

Format choice (saved objects only migrate forward, so the file is written in the
oldest format we can state precisely):

* aggregation-based ("legacy") visualizations referenced by dashboards - their
  ``visState`` has been stable through 7.x, 8.x and 9.x and Kibana migrates them
  on import; Lens state changed shape several times in 8.x (``indexpattern`` ->
  ``formBased``) and by-value panels are harder still;
* every object carries ``coreMigrationVersion: 8.8.0`` and a per-type
  ``typeMigrationVersion`` of ``8.0.0`` (the 8.0 object format: dashboard panels
  with ``panelRefName`` and ``<panelIndex>:panel_<panelIndex>`` references,
  visualizations pointing at the data view through ``indexRefName``). The two
  fields exist since Kibana 8.8, so the file imports into **Kibana 8.8 and later,
  8.x and 9.x**; Kibana's own sample data use the same declaration.

A field that the definition no longer writes, or a filter value it cannot
produce, fails rendering with the dashboard's name.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from integrations.errors import MappingDefinitionError
from integrations.mapping.definition import Definition
from integrations.mapping.vocabulary import Table
from integrations.render import artifact
from integrations.render.elastic_names import names_for
from integrations.render.es_templates import MANAGED_BY, MAPPER_FIELDS

__all__ = ["CORE_MIGRATION_VERSION", "DASHBOARDS", "TYPE_MIGRATION_VERSION", "saved_objects"]

CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSION = {"index-pattern": "8.0.0", "visualization": "8.0.0", "dashboard": "8.0.0"}
PANEL_VERSION = "8.0.0"
TIME_FIELD = "@timestamp"
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"

# --------------------------------------------------------------------------- the dashboards (data)
# A panel: (slug, title, kind, fields). kind "time" = count over time split by fields[0];
# "table" = top values of fields (nested terms). A dashboard: (slug, title, description, scope, panels);
# scope = (field, value) applied as each panel's query (value None: the field exists), or None.

Panel = Tuple[str, str, str, Tuple[str, ...]]
Dashboard = Tuple[str, str, str, Optional[Tuple[str, Optional[str]]], Tuple[Panel, ...]]

DASHBOARDS: Tuple[Dashboard, ...] = (
    ("alerts", "AccuKnox: alerts overview",
     "KubeArmor policy alerts over time by cluster, namespace, pod, policy, action, severity and operation.",
     ("event.kind", "alert"), (
         ("alerts-by-severity", "Alerts over time by severity", "time", ("kubearmor.severity_level",)),
         ("alerts-by-action", "Alerts over time by action", "time", ("kubearmor.action",)),
         ("alerts-by-cluster", "Alerts over time by cluster", "time", ("orchestrator.cluster.name",)),
         ("alerts-by-namespace", "Alerts over time by namespace", "time", ("orchestrator.namespace",)),
         ("alerts-by-pod", "Alerts over time by pod", "time", ("orchestrator.resource.name",)),
         ("alerts-by-policy", "Alerts over time by policy", "time", ("rule.name",)),
         ("alerts-by-operation", "Alerts over time by operation", "time", ("kubearmor.operation",)),
         ("alerts-top-policies", "Top policies by namespace and action", "table",
          ("rule.name", "orchestrator.namespace", "kubearmor.action")),
     )),
    ("blocked", "AccuKnox: blocked activity",
     "Operations KubeArmor denied: where, by which process and which policy.",
     ("event.type", "denied"), (
         ("blocked-by-namespace", "Blocked operations over time by namespace", "time", ("orchestrator.namespace",)),
         ("blocked-by-operation", "Blocked operations over time by operation", "time", ("kubearmor.operation",)),
         ("blocked-processes", "Top blocked processes", "table",
          ("process.executable", "orchestrator.namespace", "orchestrator.resource.name")),
         ("blocked-policies", "Blocking policies", "table", ("rule.name", "kubearmor.action")),
     )),
    ("file-integrity", "AccuKnox: file integrity",
     "File access and modification events: paths, processes, outcome.",
     ("event.category", "file"), (
         ("file-by-action", "File events over time by action", "time", ("event.action",)),
         ("file-by-outcome", "File events over time by outcome", "time", ("event.outcome",)),
         ("file-top-paths", "Top file paths", "table", ("file.path", "process.executable", "event.outcome")),
         ("file-by-namespace", "File events by namespace and pod", "table",
          ("orchestrator.namespace", "orchestrator.resource.name")),
     )),
    ("network-egress", "AccuKnox: network egress",
     "Outbound connections from workloads: destinations, ports, DNS names.",
     ("network.direction", "egress"), (
         ("egress-by-namespace", "Egress over time by namespace", "time", ("orchestrator.namespace",)),
         ("egress-destinations", "Top destinations", "table",
          ("destination.ip", "destination.port", "network.transport")),
         ("egress-dns", "Top DNS names", "table", ("dns.question.name",)),
         ("egress-processes", "Processes opening egress connections", "table",
          ("process.executable", "orchestrator.resource.name")),
     )),
    ("mitre", "AccuKnox: MITRE ATT&CK techniques",
     "Alerts tagged with MITRE ATT&CK tactics and techniques.",
     ("threat.technique.id", None), (
         ("mitre-by-tactic", "Alerts over time by tactic", "time", ("threat.tactic.name",)),
         ("mitre-by-technique", "Alerts over time by technique", "time", ("threat.technique.id",)),
         ("mitre-techniques", "Techniques", "table", ("threat.technique.id", "threat.technique.name")),
         ("mitre-by-namespace", "Techniques by namespace", "table",
          ("threat.technique.id", "orchestrator.namespace")),
     )),
)


# --------------------------------------------------------------------------- checks


class _Checker:
    """Field names and filter values against the definition (and ECS when available)."""

    def __init__(self, defn: Definition, ecs_flat: Optional[Dict[str, Dict[str, Any]]]) -> None:
        self.fields = set(defn.ecs_targets()) | set(MAPPER_FIELDS)
        self.values = _definition_values(defn)
        self.ecs = ecs_flat

    def field(self, name: str, where: str) -> str:
        if name not in self.fields:
            raise MappingDefinitionError(
                f"kibana: {where} uses field {name!r}, which the mapping definition no longer writes")
        return name

    def value(self, field: str, value: str, where: str) -> str:
        if value not in self.values:
            raise MappingDefinitionError(
                f"kibana: {where} filters on {field}: {value!r}, a value the mapping definition never writes")
        spec = (self.ecs or {}).get(field) or {}
        allowed = [a["name"] for a in spec.get("allowed_values") or ()] or list(spec.get("expected_values") or ())
        if allowed and value not in allowed:
            raise MappingDefinitionError(
                f"kibana: {where} filters on {field}: {value!r}, which ECS does not allow ({allowed})")
        return value


def _definition_values(defn: Definition) -> Set[str]:
    """Every string the definition can write: constants, table rows and defaults, rule constants."""
    out: Set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, str):
            out.add(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)

    walk(list(defn.constants_ecs.values()))
    for table in defn.tables.values():
        if isinstance(table, Table):
            walk(list(table.rows.values()))
            walk(table.default)
        else:
            walk(table)
    for step in list(defn.facts) + list(defn.rules):
        for src in step.sources:
            if src.kind == "value":
                walk(src.value)
        walk(step.default)
    return out


def _kql(field: str, value: Optional[str]) -> str:
    return f"{field} : *" if value is None else f'{field} : "{value}"'


# --------------------------------------------------------------------------- objects


def _search_source(query: str) -> str:
    return json.dumps({"query": {"query": query, "language": "kuery"}, "filter": [], "indexRefName": INDEX_REF},
                      sort_keys=True, separators=(",", ":"))


def _terms(agg_id: str, field: str, schema: str, size: int) -> Dict[str, Any]:
    return {"id": agg_id, "enabled": True, "type": "terms", "schema": schema, "params": {
        "field": field, "orderBy": "1", "order": "desc", "size": size, "otherBucket": True,
        "otherBucketLabel": "Other", "missingBucket": False, "missingBucketLabel": "Missing"}}


_COUNT = {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}}


def _time_vis(title: str, split: str) -> Dict[str, Any]:
    return {"title": title, "type": "histogram", "aggs": [
        _COUNT,
        {"id": "2", "enabled": True, "type": "date_histogram", "schema": "segment", "params": {
            "field": TIME_FIELD, "interval": "auto", "useNormalizedEsInterval": True, "scaleMetricValues": False,
            "drop_partials": False, "min_doc_count": 1, "extended_bounds": {}}},
        _terms("3", split, "group", 10),
    ], "params": {
        "type": "histogram", "addTooltip": True, "addLegend": True, "legendPosition": "right", "times": [],
        "addTimeMarker": False, "detailedTooltip": True, "isVislibVis": True, "fittingFunction": "zero",
        "grid": {"categoryLines": False},
        "labels": {"show": False},
        "palette": {"type": "palette", "name": "default"},
        "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True,
                          "style": {}, "scale": {"type": "linear"},
                          "labels": {"show": True, "filter": True, "truncate": 100}, "title": {}}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True,
                       "style": {}, "scale": {"type": "linear", "mode": "normal"},
                       "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                       "title": {"text": "Count"}}],
        "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked", "data": {"label": "Count", "id": "1"},
                          "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": True, "lineWidth": 2,
                          "showCircles": True}],
    }}


def _table_vis(title: str, fields: Sequence[str]) -> Dict[str, Any]:
    aggs = [_COUNT] + [_terms(str(i + 2), f, "bucket", 20 if i == 0 else 5) for i, f in enumerate(fields)]
    return {"title": title, "type": "table", "aggs": aggs, "params": {
        "perPage": 10, "showPartialRows": False, "showMetricsAtAllLevels": False, "showTotal": False,
        "totalFunc": "sum", "percentageCol": "", "autoFitRowToContent": False, "row": True}}


def _meta(obj_type: str) -> Dict[str, Any]:
    return {"coreMigrationVersion": CORE_MIGRATION_VERSION, "typeMigrationVersion": TYPE_MIGRATION_VERSION[obj_type],
            "managed": False}


def data_view_id(defn: Definition) -> str:
    return f"{MANAGED_BY}-{names_for(defn).data_view_pattern().rstrip('.*')}"


def saved_objects(defn: Definition, ecs_flat: Optional[Dict[str, Dict[str, Any]]] = None) -> List[Dict[str, Any]]:
    """The data view, visualizations and dashboards, in import order."""
    check = _Checker(defn, ecs_flat)
    names = names_for(defn)
    dv_id = data_view_id(defn)
    check.field(TIME_FIELD, "the data view")
    objects: List[Dict[str, Any]] = [{
        "id": dv_id, "type": "index-pattern", "references": [], **_meta("index-pattern"),
        "attributes": {"title": names.data_view_pattern(), "timeFieldName": TIME_FIELD, "fields": "[]",
                       "fieldFormatMap": "{}", "fieldAttrs": "{}", "runtimeFieldMap": "{}", "sourceFilters": "[]"},
    }]
    dashboards: List[Dict[str, Any]] = []
    for slug, title, description, scope, panels in DASHBOARDS:
        where = f"dashboard {title!r}"
        query = ""
        if scope is not None:
            field, value = check.field(scope[0], where), scope[1]
            query = _kql(field, None if value is None else check.value(field, value, where))
        panel_json: List[Dict[str, Any]] = []
        refs: List[Dict[str, str]] = []
        for i, (pslug, ptitle, kind, fields) in enumerate(panels):
            pwhere = f"{where}, panel {ptitle!r}"
            checked = [check.field(f, pwhere) for f in fields]
            vis = _time_vis(ptitle, checked[0]) if kind == "time" else _table_vis(ptitle, checked)
            vis_id = f"{MANAGED_BY}-vis-{pslug}"
            objects.append({
                "id": vis_id, "type": "visualization", **_meta("visualization"),
                "references": [{"id": dv_id, "name": INDEX_REF, "type": "index-pattern"}],
                "attributes": {"title": f"{ptitle} [AccuKnox]", "description": "", "uiStateJSON": "{}",
                               "version": 1, "visState": json.dumps(vis, sort_keys=True, separators=(",", ":")),
                               "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(query)}},
            })
            pid = f"p{i + 1}"
            wide = kind == "table" and len(panels) % 2 == 1 and i == len(panels) - 1
            panel_json.append({"version": PANEL_VERSION, "type": "visualization", "panelIndex": pid,
                               "gridData": {"x": 0 if wide else (i % 2) * 24, "y": (i // 2) * 15,
                                            "w": 48 if wide else 24, "h": 15, "i": pid},
                               "embeddableConfig": {"enhancements": {}}, "panelRefName": f"panel_{pid}"})
            refs.append({"id": vis_id, "name": f"{pid}:panel_{pid}", "type": "visualization"})
        dashboards.append({
            "id": f"{MANAGED_BY}-dashboard-{slug}", "type": "dashboard", "references": refs, **_meta("dashboard"),
            "attributes": {
                "title": title, "description": description, "version": 1, "timeRestore": True,
                "timeFrom": "now-24h", "timeTo": "now", "refreshInterval": {"pause": True, "value": 0},
                "optionsJSON": json.dumps({"useMargins": True, "syncColors": False, "hidePanelTitles": False},
                                          sort_keys=True, separators=(",", ":")),
                "panelsJSON": json.dumps(panel_json, sort_keys=True, separators=(",", ":")),
                "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
                    {"query": {"query": "", "language": "kuery"}, "filter": []},
                    sort_keys=True, separators=(",", ":"))},
            },
        })
    return objects + dashboards


def ndjson(objects: Iterable[Dict[str, Any]]) -> str:
    return "".join(json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" for o in objects)


_FIELD_IN_KQL = re.compile(r"([A-Za-z_@][\w.@]*)\s*:")


def referenced_fields(objects: Iterable[Dict[str, Any]]) -> Set[str]:
    """Every field a saved object names (aggregation fields, KQL queries, time field) - for tests and checks."""
    out: Set[str] = set()
    for o in objects:
        attrs = o.get("attributes", {})
        if attrs.get("timeFieldName"):
            out.add(attrs["timeFieldName"])
        if "visState" in attrs:
            for agg in json.loads(attrs["visState"]).get("aggs", []):
                if agg.get("params", {}).get("field"):
                    out.add(agg["params"]["field"])
        src = attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if src:
            out.update(_FIELD_IN_KQL.findall(json.loads(src).get("query", {}).get("query", "")))
    return out


@artifact("elastic_ingest/kibana/accuknox.ndjson")
def render_kibana(defn: Definition) -> str:
    from integrations.render.es_templates import ecs_flat

    return ndjson(saved_objects(defn, ecs_flat()))
