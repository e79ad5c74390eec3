"""Cluster state of the fake Elasticsearch: ILM policies, templates, pipelines, data streams.

Pure logic (no HTTP): ``fake_es.py`` routes requests here. What it emulates,
with Elasticsearch's error types and messages where tests look at them:

* ILM policies (``min_age`` defaults to ``0ms`` when read back, ``version``
  counts updates), component templates (``template`` required; settings read
  back in Elasticsearch's nested, string-valued form; mapping types and
  parameters checked), index templates (``index_patterns`` required; missing
  component templates refused unless listed in
  ``ignore_missing_component_templates``; two overlapping templates with the
  same priority refused; ``data_stream`` read back with its default flags);
* ingest pipelines, validated and run by the offline simulator (``ingest_sim``);
* data streams: created explicitly or by the first ``create`` into a name
  that an index template with ``data_stream`` matches (highest priority wins);
  settings and mappings resolved from the composed templates at creation and
  at each rollover; documents checked against the mappings (types, objects vs
  values, ``constant_keyword`` values, ``@timestamp`` present, total field
  limit) and unmapped fields recorded in :attr:`DataStream.dynamic_fields`.
"""

from __future__ import annotations

import copy
import datetime as _dt
import fnmatch
import ipaddress
import itertools
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from tests.support.ingest_sim import PipelineStore, UnsupportedBySimulator

KNOWN_TYPES = {
    "keyword", "constant_keyword", "wildcard", "text", "match_only_text", "long", "integer", "short", "byte",
    "double", "float", "half_float", "scaled_float", "unsigned_long", "date", "date_nanos", "boolean", "ip",
    "flattened", "object", "nested", "geo_point", "binary", "alias",
}
#: Mapping parameters accepted per type family (a subset of Elasticsearch's; unknown ones are refused).
_COMMON_PARAMS = {"type", "meta", "store", "copy_to", "doc_values", "index", "fields", "null_value",
                  "ignore_malformed", "script", "on_script_error", "synthetic_source_keep"}
_PARAMS = {
    "keyword": _COMMON_PARAMS | {"ignore_above", "normalizer", "norms", "eager_global_ordinals", "similarity",
                                 "index_options", "split_queries_on_whitespace", "time_series_dimension"},
    "constant_keyword": {"type", "value", "meta"},
    "wildcard": {"type", "ignore_above", "null_value", "meta", "fields", "synthetic_source_keep"},
    "text": _COMMON_PARAMS | {"analyzer", "search_analyzer", "norms", "index_options", "fielddata"},
    "match_only_text": {"type", "fields", "meta", "synthetic_source_keep"},
    "flattened": {"type", "depth_limit", "doc_values", "eager_global_ordinals", "ignore_above", "index",
                  "index_options", "null_value", "similarity", "split_queries_on_whitespace", "meta",
                  "time_series_dimensions", "synthetic_source_keep"},
    "date": _COMMON_PARAMS | {"format", "locale"},
    "scaled_float": _COMMON_PARAMS | {"scaling_factor", "coerce"},
    "object": {"type", "properties", "dynamic", "enabled", "subobjects", "synthetic_source_keep"},
}
_NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
_STRINGS = {"keyword", "constant_keyword", "wildcard", "text", "match_only_text"}


class EsError(Exception):
    """An Elasticsearch error: HTTP status, ``type`` and ``reason``."""

    def __init__(self, status: int, type_: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.type = type_
        self.reason = reason

    def body(self) -> Dict[str, Any]:
        err = {"type": self.type, "reason": self.reason}
        return {"error": {"root_cause": [err], **err}, "status": self.status}

    def item_error(self, index: str) -> Dict[str, Any]:
        return {"type": self.type, "reason": self.reason, "index": index}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def names_matching(expr: Optional[str], names: Iterable[str]) -> Tuple[List[str], List[str]]:
    """``a,b*`` against ``names``: ``(matched names, exact names not found)``."""
    names = list(names)
    if not expr or expr in ("*", "_all"):
        return sorted(names), []
    found: List[str] = []
    missing: List[str] = []
    for part in expr.split(","):
        if "*" in part:
            found += [n for n in names if fnmatch.fnmatchcase(n, part) and n not in found]
        elif part in names:
            if part not in found:
                found.append(part)
        else:
            missing.append(part)
    return found, missing


# --------------------------------------------------------------------------- settings


def flat_settings(settings: Any, prefix: str = "") -> Dict[str, Any]:
    """Nested or dotted settings -> ``{"index.x.y": value}`` (``index.`` added like Elasticsearch)."""
    out: Dict[str, Any] = {}
    for k, v in (settings or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flat_settings(v, key + "."))
        else:
            out[key if key.startswith("index.") else f"index.{key}"] = v
    return out


def _setting_str(v: Any) -> Any:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, list):
        return [_setting_str(x) for x in v]
    return str(v)


def nested_settings(flat: Dict[str, Any]) -> Dict[str, Any]:
    """``{"index.a.b": 1}`` -> ``{"index": {"a": {"b": "1"}}}`` (how GET returns settings)."""
    out: Dict[str, Any] = {}
    for key, v in sorted(flat.items()):
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = _setting_str(v)
    return out


# --------------------------------------------------------------------------- mappings


def validate_mappings(mappings: Any, where: str) -> None:
    """Refuse unknown field types and parameters (``mapper_parsing_exception``)."""
    if not isinstance(mappings, dict):
        raise EsError(400, "mapper_parsing_exception", f"[{where}] mappings must be an object")
    _validate_props(mappings.get("properties") or {}, "")
    for dt in mappings.get("dynamic_templates") or []:
        if not isinstance(dt, dict) or len(dt) != 1:
            raise EsError(400, "mapper_parsing_exception", "a dynamic template is a single named object")


def _validate_props(props: Dict[str, Any], prefix: str) -> None:
    for name, spec in props.items():
        field = f"{prefix}{name}"
        if not isinstance(spec, dict):
            raise EsError(400, "mapper_parsing_exception", f"Expected map for property [{field}]")
        ftype = spec.get("type", "object" if "properties" in spec or not spec.get("type") else None)
        if ftype not in KNOWN_TYPES:
            raise EsError(400, "mapper_parsing_exception", f"No handler for type [{ftype}] declared on field [{name}]")
        allowed = _PARAMS.get(ftype, _COMMON_PARAMS | ({"coerce"} if ftype in _NUMERIC else set()))
        for param in spec:
            if param not in allowed:
                raise EsError(400, "mapper_parsing_exception",
                              f"unknown parameter [{param}] on mapper [{field}] of type [{ftype}]")
        for sub, sub_spec in (spec.get("fields") or {}).items():
            _validate_props({sub: sub_spec}, f"{field}.")
        if "properties" in spec:
            _validate_props(spec["properties"], f"{field}.")


def merge_mappings(base: Dict[str, Any], extra: Dict[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in (extra or {}).items():
        if k == "properties":
            props = out.setdefault("properties", {})
            for name, spec in v.items():
                if name in props and "properties" in props[name] and "properties" in spec:
                    props[name] = merge_mappings(props[name], spec)
                else:
                    props[name] = copy.deepcopy(spec)
        elif k == "dynamic_templates":
            out[k] = list(out.get(k, [])) + copy.deepcopy(v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def count_fields(props: Dict[str, Any]) -> int:
    n = 0
    for spec in props.values():
        n += 1 + len(spec.get("fields") or {})
        if "properties" in spec:
            n += count_fields(spec["properties"])
    return n


def _is_date(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    if not isinstance(v, str) or not v:
        return False
    if v.isdigit():
        return True
    try:
        _dt.datetime.fromisoformat(v.replace("Z", "+00:00") if v.endswith("Z") else v)
        return True
    except ValueError:
        pass
    # Python < 3.11 parses at most 6 fraction digits; Elasticsearch takes nanoseconds
    head, dot, frac = v.partition(".")
    if dot and frac.rstrip("Z").isdigit():
        try:
            _dt.datetime.fromisoformat(head)
            return True
        except ValueError:
            return False
    return False


def _value_error(ftype: str, field: str, v: Any) -> Optional[str]:
    if isinstance(v, dict):
        if ftype == "flattened":
            return None
        return f"failed to parse field [{field}] of type [{ftype}]: found an object"
    if ftype in _NUMERIC:
        if isinstance(v, bool):
            return f"failed to parse field [{field}] of type [{ftype}]: boolean"
        if isinstance(v, (int, float)):
            return None
        try:
            float(str(v))
            return None
        except ValueError:
            return f"failed to parse field [{field}] of type [{ftype}]: For input string: \"{v}\""
    if ftype == "boolean":
        if isinstance(v, bool) or v in ("true", "false", ""):
            return None
        return f"failed to parse field [{field}] of type [boolean]: [{v}] is not a boolean"
    if ftype == "ip":
        try:
            ipaddress.ip_address(str(v))
            return None
        except ValueError:
            return f"failed to parse field [{field}] of type [ip]: '{v}' is not an IP string literal."
    if ftype in ("date", "date_nanos"):
        return None if _is_date(v) else f"failed to parse field [{field}] of type [date]: [{v}]"
    return None


# --------------------------------------------------------------------------- data streams


class DataStream:
    """A data stream: the resolved template at its current generation and what was indexed."""

    def __init__(self, name: str, template: str, settings: Dict[str, Any], mappings: Dict[str, Any]) -> None:
        self.name = name
        self.template = template
        self.generation = 1
        self.settings = settings
        self.mappings = mappings
        #: dotted names of fields a document carried that the mappings did not declare
        self.dynamic_fields: Set[str] = set()
        self.constants: Dict[str, Any] = {}
        self.created = _dt.date.today().strftime("%Y.%m.%d")

    def write_index(self) -> str:
        return f".ds-{self.name}-{self.created}-{self.generation:06d}"

    def to_json(self) -> Dict[str, Any]:
        return {
            "name": self.name, "timestamp_field": {"name": "@timestamp"},
            "indices": [{"index_name": f".ds-{self.name}-{self.created}-{g:06d}", "index_uuid": f"uuid-{g}"}
                        for g in range(1, self.generation + 1)],
            "generation": self.generation, "status": "GREEN", "template": self.template,
            "ilm_policy": self.settings.get("index.lifecycle.name"), "hidden": False, "system": False,
            "allow_custom_routing": False, "replicated": False,
        }

    def check_document(self, source: Dict[str, Any]) -> None:
        """Raise :class:`EsError` (400) for a document this data stream's mappings refuse."""
        if "@timestamp" not in source:
            raise EsError(400, "document_parsing_exception", "data stream timestamp field [@timestamp] is missing")
        new_dynamic: Set[str] = set()
        self._check(self.mappings.get("properties") or {}, source, "", new_dynamic)
        limit = int(self.settings.get("index.mapping.total_fields.limit", 1000))
        added = new_dynamic - self.dynamic_fields
        total = count_fields(self.mappings.get("properties") or {}) + len(self.dynamic_fields) + len(added)
        if total > limit:
            raise EsError(400, "document_parsing_exception", f"Limit of total fields [{limit}] has been exceeded")
        self.dynamic_fields |= added

    def _check(self, props: Dict[str, Any], obj: Dict[str, Any], prefix: str, dynamic: Set[str]) -> None:
        for key, value in obj.items():
            field = f"{prefix}{key}"
            spec = props.get(key)
            if spec is None and "." in key:  # dotted keys address nested mappings
                head, rest = key.split(".", 1)
                if head in props and "properties" in props[head]:
                    self._check(props[head]["properties"], {rest: value}, f"{prefix}{head}.", dynamic)
                    continue
            if spec is None:
                self._dynamic(field, value, dynamic)
                continue
            ftype = spec.get("type", "object")
            values = value if isinstance(value, list) else [value]
            for v in values:
                if v is None:
                    continue
                if ftype in ("object", "nested"):
                    if not isinstance(v, dict):
                        raise EsError(400, "document_parsing_exception",
                                      f"object mapping for [{field}] tried to parse field [{key}] as object, "
                                      "but found a concrete value")
                    self._check(spec.get("properties") or {}, v, f"{field}.", dynamic)
                    continue
                err = _value_error(ftype, field, v)
                if err:
                    raise EsError(400, "document_parsing_exception", err)
                if ftype == "constant_keyword":
                    fixed = spec.get("value", self.constants.get(field))
                    if fixed is not None and fixed != v:
                        raise EsError(400, "document_parsing_exception",
                                      f"[constant_keyword] field [{field}] only accepts values that are equal to "
                                      f"the value defined in the mappings [{fixed}], but got [{v}]")
                    self.constants[field] = v

    def _dynamic(self, field: str, value: Any, dynamic: Set[str]) -> None:
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, dict):
                for k, sub in v.items():
                    self._dynamic(f"{field}.{k}", sub, dynamic)
            elif v is not None:
                dynamic.add(field)


class ClusterState:
    """Everything the setup writes, plus the data streams."""

    def __init__(self) -> None:
        self.ilm: Dict[str, Dict[str, Any]] = {}
        self.component_templates: Dict[str, Dict[str, Any]] = {}
        self.index_templates: Dict[str, Dict[str, Any]] = {}
        self.pipelines = PipelineStore()
        self.pipeline_bodies: Dict[str, Dict[str, Any]] = {}
        #: pipelines stored but not runnable offline: name -> the simulator's reason
        self.unsupported: Dict[str, str] = {}
        self.data_streams: Dict[str, DataStream] = {}
        self._ilm_version = itertools.count(1)

    # -- ILM
    def put_ilm(self, name: str, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("policy"), dict):
            raise EsError(400, "x_content_parse_exception", "[put_lifecycle_request] policy is required")
        extra = set(body) - {"policy"}
        if extra:
            raise EsError(400, "x_content_parse_exception", f"[put_lifecycle_request] unknown field [{sorted(extra)[0]}]")
        policy = copy.deepcopy(body["policy"])
        for phase in (policy.get("phases") or {}).values():
            phase.setdefault("min_age", "0ms")
        old = self.ilm.get(name)
        self.ilm[name] = {"version": (old["version"] + 1) if old else 1, "modified_date": _now(), "policy": policy}

    # -- component templates
    def put_component_template(self, name: str, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("template"), dict):
            raise EsError(400, "x_content_parse_exception", "[component_template] template is required")
        extra = set(body) - {"template", "version", "_meta", "deprecated"}
        if extra:
            raise EsError(400, "x_content_parse_exception", f"[component_template] unknown field [{sorted(extra)[0]}]")
        template = body["template"]
        validate_mappings(template.get("mappings") or {}, name)
        stored = copy.deepcopy(body)
        if "settings" in template:
            stored["template"]["settings"] = nested_settings(flat_settings(template["settings"]))
        self.component_templates[name] = stored

    def delete_component_template(self, name: str) -> None:
        users = [t for t, b in self.index_templates.items() if name in (b.get("composed_of") or [])]
        if users:
            raise EsError(400, "illegal_argument_exception",
                          f"component templates [{name}] cannot be removed as they are still in use by index "
                          f"templates [{', '.join(users)}]")
        self.component_templates.pop(name)

    # -- index templates
    def put_index_template(self, name: str, body: Any) -> None:
        if not isinstance(body, dict) or not body.get("index_patterns"):
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: index patterns are missing;")
        allowed = {"index_patterns", "composed_of", "template", "priority", "version", "_meta", "data_stream",
                   "allow_auto_create", "ignore_missing_component_templates", "deprecated"}
        extra = set(body) - allowed
        if extra:
            raise EsError(400, "x_content_parse_exception", f"[index_template] unknown field [{sorted(extra)[0]}]")
        ignore = set(body.get("ignore_missing_component_templates") or [])
        missing = [c for c in body.get("composed_of") or [] if c not in self.component_templates and c not in ignore]
        if missing:
            raise EsError(400, "invalid_index_template_exception",
                          f"index_template [{name}] invalid, cause [index template [{name}] specifies component "
                          f"templates {missing} that do not exist]")
        patterns = body["index_patterns"] if isinstance(body["index_patterns"], list) else [body["index_patterns"]]
        priority = int(body.get("priority") or 0)
        for other, ob in self.index_templates.items():
            if other == name or int(ob.get("priority") or 0) != priority:
                continue
            theirs = ob["index_patterns"]
            if any(_overlap(a, b) for a in patterns for b in theirs):
                raise EsError(400, "illegal_argument_exception",
                              f"index template [{name}] has index patterns {patterns} matching patterns from existing "
                              f"templates [{other}] with patterns ({other} => {theirs}) that have the same priority "
                              f"[{priority}], multiple index templates may not match during index creation, please "
                              "use a different priority")
        if "template" in body:
            validate_mappings((body["template"] or {}).get("mappings") or {}, name)
        stored = copy.deepcopy(body)
        stored["index_patterns"] = patterns
        if "data_stream" in stored:
            ds = stored["data_stream"] or {}
            stored["data_stream"] = {"hidden": bool(ds.get("hidden", False)),
                                     "allow_custom_routing": bool(ds.get("allow_custom_routing", False))}
        self.index_templates[name] = stored

    def matching_template(self, index: str, data_stream_only: bool = True) -> Optional[str]:
        best: Optional[Tuple[int, str]] = None
        for name, body in self.index_templates.items():
            if data_stream_only and "data_stream" not in body:
                continue
            if any(fnmatch.fnmatchcase(index, p) for p in body["index_patterns"]):
                prio = int(body.get("priority") or 0)
                if best is None or prio > best[0]:
                    best = (prio, name)
        return best[1] if best else None

    def resolve(self, template: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """Settings (flat) and mappings a new backing index of ``template`` gets."""
        body = self.index_templates[template]
        settings: Dict[str, Any] = {}
        mappings: Dict[str, Any] = {}
        parts = [self.component_templates[c]["template"] for c in body.get("composed_of") or []
                 if c in self.component_templates]
        parts.append(body.get("template") or {})
        for part in parts:
            settings.update(flat_settings(part.get("settings") or {}))
            mappings = merge_mappings(mappings, part.get("mappings") or {})
        return settings, mappings

    # -- pipelines
    def put_pipeline(self, name: str, body: Any) -> None:
        """Validate with the simulator (configuration errors raise, as ``PUT`` answers 400).

        A construct Elasticsearch accepts but the simulator does not implement is
        stored anyway (the ``PUT`` succeeds, as on a cluster) and listed in
        :attr:`unsupported`; documents sent through that pipeline then fail with
        ``unsupported_by_simulator`` instead of being processed wrongly.
        """
        try:
            self.pipelines.put(name, copy.deepcopy(body))
            self.unsupported.pop(name, None)
        except UnsupportedBySimulator as e:
            self.pipelines.delete(name)
            self.unsupported[name] = str(e.reason)
        self.pipeline_bodies[name] = copy.deepcopy(body)

    def unsupported_reachable(self, name: str) -> Optional[str]:
        """The first pipeline the simulator cannot run among ``name`` and the pipelines it calls."""
        seen: Set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in self.unsupported:
                return current
            todo.extend(_called_pipelines(self.pipeline_bodies.get(current)))
        return None

    def delete_pipeline(self, name: str) -> None:
        self.pipelines.delete(name)
        self.unsupported.pop(name, None)
        del self.pipeline_bodies[name]

    # -- data streams
    def create_data_stream(self, name: str) -> DataStream:
        if name in self.data_streams:
            raise EsError(400, "resource_already_exists_exception", f"data_stream [{name}] already exists")
        template = self.matching_template(name)
        if template is None:
            raise EsError(400, "illegal_argument_exception", f"no matching index template found for data stream [{name}]")
        settings, mappings = self.resolve(template)
        ds = DataStream(name, template, settings, mappings)
        self.data_streams[name] = ds
        return ds

    def rollover(self, name: str) -> Tuple[str, str]:
        ds = self.data_streams[name]
        old = ds.write_index()
        template = self.matching_template(name) or ds.template
        ds.template = template
        ds.settings, ds.mappings = self.resolve(template)
        ds.constants = {}
        ds.generation += 1
        return old, ds.write_index()


def _overlap(a: str, b: str) -> bool:
    if fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a):
        return True
    pa, pb = a.split("*", 1)[0], b.split("*", 1)[0]
    return pa.startswith(pb) or pb.startswith(pa)


def _called_pipelines(body: Any) -> List[str]:
    """Names in ``pipeline`` processors anywhere in a pipeline body (templated names are skipped)."""
    out: List[str] = []
    if isinstance(body, dict):
        for k, v in body.items():
            if k == "pipeline" and isinstance(v, dict) and isinstance(v.get("name"), str) and "{{" not in v["name"]:
                out.append(v["name"])
            out.extend(_called_pipelines(v))
    elif isinstance(body, list):
        for v in body:
            out.extend(_called_pipelines(v))
    return out
