"""Elasticsearch ILM policies, component and index templates, and the asset manifest.

Consumes: the mapping definition (which fields we emit, vendor field types,
names through :mod:`integrations.render.elastic_names`) and, at render time
only, ECS 8.17.0's ``ecs_flat-8.17.0.yml`` from the reference folder
(:func:`integrations.mapping.reference.default_reference_dir`) for field types,
``ignore_above``, ``index``/``doc_values`` and multi-fields. Produces files
under ``elastic_ingest/`` (``ecs-mapping.md`` §8), each
``{"name": <asset name>, "body": <request body>}`` with sorted keys and a
2-space indent:

* ``ilm/<ds>-default_policy.json`` - hot rollover at 50gb primary shard or 30d,
  delete after :data:`RETENTION_DAYS` (the setup's ``--retention-*`` override it);
* ``component_templates/<ds>@package.json`` - settings (ILM policy, default
  pipeline ``<ds>-<version>``, field limit, codec) and explicit mappings for
  exactly the fields we emit (:func:`emitted_fields`), ECS types as ECS's own
  composable templates declare them, minus ``synthetic_source_keep`` (older 8.x
  clusters reject it);
* ``index_templates/<ds>.json`` - ``<ds>-*``, data stream, priority 200,
  ``composed_of [<ds>@package, <ds>@custom]`` with the ``@custom`` hook optional;
* ``manifest.json`` - version and the ordered asset list the setup follows.

The artifact paths are fixed at import time (the registry needs them); rendering
fails if the definition's stream or dataset names no longer match them.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from integrations.errors import ConfigError, MappingDefinitionError
from integrations.mapping.definition import Definition
from integrations.mapping.reference import ENV_REFERENCE_DIR, default_reference_dir
from integrations.render import artifact
from integrations.render.elastic_names import ElasticNames, names_for

__all__ = [
    "MAPPER_FIELDS", "PIPELINE_FIELDS", "RETENTION_DAYS", "TOTAL_FIELDS_LIMIT", "component_template", "dump",
    "emitted_fields", "field_mappings", "ilm_policy", "index_template", "manifest", "count_mapped_fields",
]

#: Streams and data stream prefix baked into the artifact paths (checked against the definition).
STREAMS: Tuple[str, ...] = ("alert", "log")
PATH_PREFIX = "logs-accuknox"
ROOT = "elastic_ingest"
PIPELINE_DIR = "ingest_pipelines"
ECS_FILE = ("ecs", "ecs_flat-8.17.0.yml")

#: Fields the Python mapper (``mapper.py``) and the pipeline's first steps write outside the rules.
MAPPER_FIELDS: Tuple[str, ...] = (
    "@timestamp", "ecs.version", "event.id", "event.ingested", "event.original", "kubearmor.extra",
)
#: Fields only the ingest pipeline writes: its ``on_failure`` handler (``error.message``) and the
#: control tags (``preserve_original_event`` ...) - ``ecs-mapping.md`` §1 and §8 step 11.
PIPELINE_FIELDS: Tuple[str, ...] = ("error.message", "tags")

#: ILM delete phase, days after rollover, per stream (``ecs-mapping.md`` §8).
RETENTION_DAYS: Dict[str, int] = {"alert": 90, "log": 30}
ROLLOVER = {"max_primary_shard_size": "50gb", "max_age": "30d"}
TOTAL_FIELDS_LIMIT = 2000
MANAGED_BY = "accuknox-siem"
PRIORITY = 200

#: Keys of an ECS field definition that are Elasticsearch mapping parameters.
_ECS_MAPPING_KEYS = ("type", "ignore_above", "index", "doc_values", "scaling_factor")
#: Vendor field type -> mapping (as ECS maps the same types).
_VENDOR_MAPPINGS: Dict[str, Dict[str, Any]] = {
    "keyword": {"type": "keyword", "ignore_above": 1024},
    "wildcard": {"type": "wildcard"},
    "match_only_text": {"type": "match_only_text"},
    "flattened": {"type": "flattened"},
    "long": {"type": "long"},
    "float": {"type": "float"},
    "date": {"type": "date"},
    "boolean": {"type": "boolean"},
    "ip": {"type": "ip"},
}
_DYNAMIC_TEMPLATES = [
    {"strings_as_keyword": {"match_mapping_type": "string", "mapping": {"type": "keyword", "ignore_above": 1024}}},
]


# --------------------------------------------------------------------------- helpers


def dump(obj: Any) -> str:
    """Artifact JSON: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _asset(name: str, body: Dict[str, Any]) -> str:
    return dump({"name": name, "body": body})


def _names(defn: Definition) -> ElasticNames:
    names = names_for(defn)
    if names.streams != STREAMS or any(names.base(s) != f"{PATH_PREFIX}.{s}" for s in STREAMS):
        raise MappingDefinitionError(
            f"the definition names the data streams {[names.base(s) for s in names.streams]}, but the artifact "
            f"paths in {__name__} are fixed to {[f'{PATH_PREFIX}.{s}' for s in STREAMS]}; update STREAMS/PATH_PREFIX")
    return names


def _meta(names: ElasticNames, **extra: Any) -> Dict[str, Any]:
    return {"managed_by": MANAGED_BY, "version": names.version, **extra}


@functools.lru_cache(maxsize=4)
def _load_flat(path: str) -> Dict[str, Dict[str, Any]]:
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, "rb") as fh:
        return yaml.load(fh, Loader=loader)  # noqa: S506 - SafeLoader / CSafeLoader only


def ecs_flat(reference_dir: Optional[Path] = None) -> Dict[str, Dict[str, Any]]:
    """The raw ECS 8.17.0 flat definitions (render time only)."""
    ref = reference_dir or default_reference_dir()
    if ref is None:
        raise ConfigError(f"the ECS reference folder is needed to render the templates; set {ENV_REFERENCE_DIR}")
    path = ref.joinpath(*ECS_FILE)
    if not path.is_file():
        raise ConfigError(f"{path} not found; set {ENV_REFERENCE_DIR} to the reference folder")
    return _load_flat(str(path))


# --------------------------------------------------------------------------- fields


def emitted_fields(defn: Definition) -> List[str]:
    """Every field a mapped document can carry: rule targets, constants, mapper and pipeline fields,
    and the declared vendor fields."""
    fields = set(defn.ecs_targets()) | set(MAPPER_FIELDS) | set(PIPELINE_FIELDS) | set(defn.vendor_fields)
    return sorted(fields)


def _ecs_mapping(name: str, spec: Mapping[str, Any]) -> Dict[str, Any]:
    out = {k: spec[k] for k in _ECS_MAPPING_KEYS if k in spec}
    multi = spec.get("multi_fields") or []
    if multi:
        out["fields"] = {m["name"]: {k: v for k, v in m.items() if k not in ("name", "flat_name")} for m in multi}
    return out


def field_mappings(defn: Definition, flat: Mapping[str, Mapping[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """Dotted field name -> mapping parameters, for every emitted field."""
    out: Dict[str, Dict[str, Any]] = {}
    problems = []
    for name in emitted_fields(defn):
        vendor = defn.vendor_fields.get(name)
        if vendor is not None:
            mapping = _VENDOR_MAPPINGS.get(vendor)
            if mapping is None:
                problems.append(f"vendor field {name}: type {vendor!r} is not one of {sorted(_VENDOR_MAPPINGS)}")
                continue
            out[name] = dict(mapping)
            continue
        spec = flat.get(name)
        if spec is None:
            problems.append(f"{name} is neither an ECS 8.17.0 field nor a declared vendor field")
            continue
        if spec.get("type") in ("object", "nested"):
            problems.append(f"{name} is an ECS {spec['type']} field; map its leaves instead")
            continue
        out[name] = _ecs_mapping(name, spec)
    if problems:
        raise MappingDefinitionError("cannot map the emitted fields: " + "; ".join(problems))
    return out


def properties(mappings: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    """Dotted names -> nested ``properties`` objects."""
    root: Dict[str, Any] = {}
    for name in sorted(mappings):
        parts = name.split(".")
        node = root
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {"properties": {}})
            if "properties" not in child:
                raise MappingDefinitionError(
                    f"{'.'.join(parts[:i + 1])} is mapped as {child.get('type')} and cannot hold {name}")
            node = child["properties"]
        if parts[-1] in node:
            raise MappingDefinitionError(f"{name} is an object in the mapping and cannot be a {mappings[name]} leaf")
        node[parts[-1]] = dict(mappings[name])
    return root


def count_mapped_fields(props: Mapping[str, Any]) -> int:
    """What counts towards ``index.mapping.total_fields.limit``: fields, objects and multi-fields."""
    n = 0
    for spec in props.values():
        n += 1
        n += len(spec.get("fields") or {})
        if "properties" in spec:
            n += count_mapped_fields(spec["properties"])
    return n


# --------------------------------------------------------------------------- bodies


def ilm_policy(names: ElasticNames, stream: str, delete_days: Optional[int] = None) -> Dict[str, Any]:
    days = RETENTION_DAYS[stream] if delete_days is None else int(delete_days)
    return {"policy": {
        "_meta": _meta(names, description=f"{names.dataset(stream)}: rollover at 50gb/30d, delete after {days}d"),
        "phases": {
            "hot": {"min_age": "0ms", "actions": {"rollover": dict(ROLLOVER)}},
            "delete": {"min_age": f"{days}d", "actions": {"delete": {}}},
        },
    }}


def component_template(defn: Definition, names: ElasticNames, stream: str,
                       flat: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    props = properties(field_mappings(defn, flat))
    count = count_mapped_fields(props)
    if count >= TOTAL_FIELDS_LIMIT:
        raise MappingDefinitionError(f"{count} mapped fields reach index.mapping.total_fields.limit "
                                     f"{TOTAL_FIELDS_LIMIT}; raise the limit in {__name__}")
    return {
        "_meta": _meta(names, ecs_version=defn.ecs_version,
                       description=f"{names.dataset(stream)}: ECS {defn.ecs_version} and vendor mappings, "
                                   "settings (ILM policy, default pipeline)"),
        "template": {
            "settings": {"index": {
                "lifecycle": {"name": names.ilm_policy(stream)},
                "default_pipeline": names.pipeline(stream),
                "mapping": {"total_fields": {"limit": TOTAL_FIELDS_LIMIT}},
                "codec": "best_compression",
            }},
            "mappings": {
                "date_detection": False,
                "dynamic_templates": json.loads(json.dumps(_DYNAMIC_TEMPLATES)),
                "properties": props,
            },
        },
    }


def index_template(names: ElasticNames, stream: str, priority: int = PRIORITY) -> Dict[str, Any]:
    return {
        "index_patterns": [names.index_pattern(stream)],
        "data_stream": {},
        "priority": int(priority),
        "composed_of": [names.package_template(stream), names.custom_template(stream)],
        "ignore_missing_component_templates": [names.custom_template(stream)],
        "_meta": _meta(names, description=f"{names.dataset(stream)} data streams"),
    }


def manifest(defn: Definition) -> Dict[str, Any]:
    names = _names(defn)
    assets: List[Dict[str, Any]] = []
    for s in names.streams:
        assets.append({"kind": "ilm_policy", "name": names.ilm_policy(s), "stream": s,
                       "path": f"ilm/{names.ilm_policy(s)}.json"})
    for s in names.streams:
        assets.append({"kind": "component_template", "name": names.package_template(s), "stream": s,
                       "path": f"component_templates/{names.package_template(s)}.json"})
    # written by integrations.render.ecs_pipeline; the loader reads every file in the folder
    assets.append({"kind": "ingest_pipeline", "name": names.common_pipeline(), "path": f"{PIPELINE_DIR}/"})
    for s in names.streams:
        assets.append({"kind": "ingest_pipeline", "name": names.pipeline(s), "stream": s,
                       "path": f"{PIPELINE_DIR}/"})
    for s in names.streams:
        assets.append({"kind": "index_template", "name": names.index_template(s), "stream": s,
                       "path": f"index_templates/{names.index_template(s)}.json"})
    return {
        "managed_by": MANAGED_BY,
        "version": names.version,
        "ecs_version": defn.ecs_version,
        "data_streams": {s: {"dataset": names.dataset(s), "index_pattern": names.index_pattern(s),
                             "default_namespace": names.default_namespace} for s in names.streams},
        "privilege_pattern": names.data_view_pattern(),
        "assets": assets,
        "kibana": "kibana/accuknox.ndjson",
    }


# --------------------------------------------------------------------------- artifacts


def _render_ilm(stream: str, defn: Definition) -> str:
    names = _names(defn)
    return _asset(names.ilm_policy(stream), ilm_policy(names, stream))


def _render_component(stream: str, defn: Definition) -> str:
    names = _names(defn)
    return _asset(names.package_template(stream), component_template(defn, names, stream, ecs_flat()))


def _render_index_template(stream: str, defn: Definition) -> str:
    names = _names(defn)
    return _asset(names.index_template(stream), index_template(names, stream))


for _s in STREAMS:
    artifact(f"{ROOT}/ilm/{PATH_PREFIX}.{_s}-default_policy.json")(functools.partial(_render_ilm, _s))
    artifact(f"{ROOT}/component_templates/{PATH_PREFIX}.{_s}@package.json")(functools.partial(_render_component, _s))
    artifact(f"{ROOT}/index_templates/{PATH_PREFIX}.{_s}.json")(functools.partial(_render_index_template, _s))


@artifact(f"{ROOT}/manifest.json")
def render_manifest(defn: Definition) -> str:
    return dump(manifest(defn))
