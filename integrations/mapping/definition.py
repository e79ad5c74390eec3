"""Load and validate the mapping definition (``definition.yaml``).

Consumes: the YAML file (data only). Produces: a :class:`Definition`, the
validated middle form read by the Python mapper and by every renderer.

Validation here is structural and needs nothing but the file: unknown keys,
unknown transforms or parameters, unknown tables, references to facts that are
not defined earlier, duplicate ids. :func:`check_references` adds the checks
against ECS (field exists, type fits) and the Splunk CIM data models (field
exists in a routed dataset); it runs at render time and in the tests, where the
reference files are available. Every error names the rule id and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from integrations.errors import MappingDefinitionError
from integrations.mapping.vocabulary import TRANSFORMS, Table
from integrations.model import CANONICAL_FIELDS

DEFAULT_PATH = Path(__file__).with_name("definition.yaml")

_TOP_KEYS = {
    "version", "ecs_version", "settings", "constants", "tables", "facts", "rules",
    "cim_datasets", "identity", "vendor_fields",
}
_SETTINGS_KEYS = {
    "severity_preset", "default_severity_level", "notice_severity_level",
    "data_stream_namespace", "keep_original", "cim_vendor_product",
}
_FACT_KEYS = {"id", "name", "doc", "from", "inputs", "when", "unless", "transform", "default", "fallback"}
_RULE_KEYS = {"id", "doc", "from", "inputs", "when", "unless", "transform", "default", "ecs", "ecs_append", "cim"}
_ROUTE_KEYS = {"id", "dataset", "eventtype", "tags", "when", "unless"}
_TABLE_KEYS = {"rows", "default", "case_insensitive", "ordered"}
_SOURCE_FORMS = {"constant", "setting", "format", "event_time", "cim_id"}
_FORMAT_KEYS = {"format", "requires", "unless_value"}
#: Sub-objects of the canonical event that references may walk into.
_OBJECT_FIELDS = {"Owner": {"Ref", "Name", "Namespace"}, "ExecEvent": {"ExecID", "ExecutableName"}}
#: Canonical field kinds for the ECS type check (everything else is text).
INT_FIELDS = frozenset({
    "Timestamp", "HostPPID", "HostPID", "PPID", "PID", "UID", "MaxAlertsPerSec", "DroppingAlertsInterval",
})
_FIELD_KINDS = {**{f: "long" for f in INT_FIELDS}, "ATags": "keyword[]", "EventData": "object",
                "Owner": "object", "ExecEvent": "object", "Severity": "any"}


class Source:
    """Where a value comes from: a field, a fact, a constant, a setting, a template, or a special."""

    __slots__ = ("kind", "path", "value", "requires", "unless_value")

    def __init__(self, kind: str, path: Tuple[str, ...] = (), value: Any = None,
                 requires: Tuple[Tuple[str, ...], ...] = (), unless_value: Optional[Dict[str, Any]] = None) -> None:
        self.kind = kind          # field | fact | value | setting | format | event_time | cim_id
        self.path = path          # ("Owner", "Ref") or ("net", "source_ip")
        self.value = value        # constant, setting name or template
        self.requires = requires
        self.unless_value = unless_value or {}

    def __repr__(self) -> str:
        return f"Source({self.kind}, {'.'.join(self.path) or self.value!r})"


class Condition:
    """One ``when``/``unless`` clause: ``ref == value``, ``ref in [..]`` or ``present_any``."""

    __slots__ = ("op", "refs", "expected")

    def __init__(self, op: str, refs: Tuple[Source, ...], expected: Any = None) -> None:
        self.op = op              # eq | in | present_any
        self.refs = refs
        self.expected = expected


class Step:
    """A fact or a rule after validation."""

    __slots__ = ("id", "name", "doc", "sources", "inputs", "when", "unless", "transforms", "default",
                 "fallback", "ecs", "ecs_append", "cim", "kind")

    def __init__(self, id: str) -> None:
        self.id = id
        self.name: Optional[str] = None
        self.doc = ""
        self.sources: List[Source] = []
        self.inputs: List[Source] = []
        self.when: List[Condition] = []
        self.unless: List[Condition] = []
        self.transforms: List[Tuple[str, Dict[str, Any]]] = []
        self.default: Any = None
        self.fallback: Optional[Dict[str, Any]] = None
        self.ecs: List[str] = []
        self.ecs_append: List[str] = []
        self.cim: List[str] = []
        self.kind = "any"

    def __repr__(self) -> str:
        return f"Step({self.id})"


class Route:
    """A CIM dataset routing rule (one eventtype per data model)."""

    __slots__ = ("id", "dataset", "eventtype", "tags", "when", "unless")

    def __init__(self, id: str, dataset: str, eventtype: str, tags: List[str],
                 when: List[Condition], unless: List[Condition]) -> None:
        self.id = id
        self.dataset = dataset
        self.eventtype = eventtype
        self.tags = tags
        self.when = when
        self.unless = unless


class Definition:
    """The validated mapping definition."""

    def __init__(self) -> None:
        self.path: Optional[Path] = None
        self.version = 1
        self.ecs_version = ""
        self.settings: Dict[str, Any] = {}
        self.constants_ecs: Dict[str, Any] = {}
        self.tables: Dict[str, Any] = {}
        self.facts: List[Step] = []
        self.rules: List[Step] = []
        self.routes: List[Route] = []
        self.identity: Dict[str, Any] = {}
        self.vendor_fields: Dict[str, str] = {}

    def ecs_targets(self) -> Dict[str, List[str]]:
        """ECS field -> ids of the rules that write it (constants under ``constants``)."""
        out: Dict[str, List[str]] = {k: ["constants"] for k in self.constants_ecs}
        for r in self.rules:
            for t in r.ecs + r.ecs_append:
                out.setdefault(t, []).append(r.id)
        return out

    def cim_targets(self) -> Dict[str, List[str]]:
        """CIM field -> ids of the rules that write it."""
        out: Dict[str, List[str]] = {}
        for r in self.rules:
            for t in r.cim:
                out.setdefault(t, []).append(r.id)
        return out


def _err(where: str, msg: str) -> MappingDefinitionError:
    return MappingDefinitionError(f"{where}: {msg}")


def _as_list(v: Any) -> List[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, list) else [v]


class _Loader:
    def __init__(self, raw: Mapping[str, Any], where: str) -> None:
        self.raw = raw
        self.where = where
        self.defn = Definition()
        self.fact_names: Dict[str, Step] = {}
        self.ids: Dict[str, str] = {}

    def load(self) -> Definition:
        raw, d = self.raw, self.defn
        if not isinstance(raw, dict):
            raise _err(self.where, "the definition must be a mapping at top level")
        unknown = set(raw) - _TOP_KEYS
        if unknown:
            raise _err(self.where, f"unknown top-level key(s) {sorted(unknown)}; known: {sorted(_TOP_KEYS)}")
        d.version = raw.get("version", 1)
        if d.version != 1:
            raise _err(self.where, f"unsupported definition version {d.version!r} (this code reads version 1)")
        d.ecs_version = str(raw.get("ecs_version", ""))
        settings = raw.get("settings") or {}
        bad = set(settings) - _SETTINGS_KEYS
        if bad:
            raise _err(f"{self.where}: settings", f"unknown key(s) {sorted(bad)}")
        d.settings = dict(settings)
        consts = raw.get("constants") or {}
        bad = set(consts) - {"ecs"}
        if bad:
            raise _err(f"{self.where}: constants", f"unknown key(s) {sorted(bad)}")
        d.constants_ecs = dict(consts.get("ecs") or {})
        self._tables(raw.get("tables") or {})
        presets = d.tables.get("severity_presets")
        if presets is not None and d.settings.get("severity_preset") not in presets:
            raise _err(f"{self.where}: settings.severity_preset",
                       f"{d.settings.get('severity_preset')!r} is not one of {sorted(presets)}")
        for i, spec in enumerate(raw.get("facts") or []):
            d.facts.append(self._step(spec, f"facts[{i}]", _FACT_KEYS, is_fact=True))
        for i, spec in enumerate(raw.get("rules") or []):
            d.rules.append(self._step(spec, f"rules[{i}]", _RULE_KEYS, is_fact=False))
        for i, spec in enumerate(raw.get("cim_datasets") or []):
            d.routes.append(self._route(spec, f"cim_datasets[{i}]"))
        ident = raw.get("identity") or {}
        bad = set(ident) - {"prefer", "fingerprint_method", "fingerprint_fields"}
        if bad:
            raise _err(f"{self.where}: identity", f"unknown key(s) {sorted(bad)}")
        for f in ident.get("fingerprint_fields", []):
            if f not in CANONICAL_FIELDS:
                raise _err(f"{self.where}: identity.fingerprint_fields", f"{f!r} is not a canonical field")
        d.identity = dict(ident)
        vf = raw.get("vendor_fields") or {}
        for name in vf:
            if not (name.startswith("kubearmor.") or name.startswith("accuknox.")):
                raise _err(f"{self.where}: vendor_fields.{name}", "vendor fields live under kubearmor.* or accuknox.*")
        d.vendor_fields = {str(k): str(v) for k, v in vf.items()}
        return d

    # -- tables
    def _tables(self, tables: Mapping[str, Any]) -> None:
        for name, spec in tables.items():
            where = f"{self.where}: tables.{name}"
            if not isinstance(spec, dict):
                raise _err(where, "a table is a mapping")
            if name == "severity_presets":
                for preset, rows in spec.items():
                    if not isinstance(rows, dict) or set(map(int, rows)) != set(range(1, 11)):
                        raise _err(f"{where}.{preset}", "a severity preset must map every value 1..10")
                self.defn.tables[name] = {k: dict(v) for k, v in spec.items()}
                continue
            bad = set(spec) - _TABLE_KEYS
            if bad:
                raise _err(where, f"unknown key(s) {sorted(bad)}; known: {sorted(_TABLE_KEYS)}")
            if not isinstance(spec.get("rows"), dict):
                raise _err(where, "`rows` must be a mapping")
            self.defn.tables[name] = Table(name, spec)

    # -- references
    def _ref(self, text: str, where: str) -> Source:
        if not isinstance(text, str) or not text:
            raise _err(where, f"a reference must be a non-empty string, got {text!r}")
        if text.startswith("$"):
            path = tuple(text[1:].split("."))
            if path[0] not in self.fact_names:
                raise _err(where, f"unknown fact {text!r} (facts must be defined before use; known: "
                                  f"{sorted(self.fact_names)})")
            return Source("fact", path)
        path = tuple(text.split("."))
        if path[0] not in CANONICAL_FIELDS:
            raise _err(where, f"{text!r} is not a canonical event field")
        if len(path) > 1 and (path[0] not in _OBJECT_FIELDS or len(path) > 2 or path[1] not in _OBJECT_FIELDS[path[0]]):
            raise _err(where, f"{text!r} is not a sub-field of a canonical object")
        return Source("field", path)

    def _source(self, spec: Any, where: str) -> Source:
        if isinstance(spec, str):
            return self._ref(spec, where)
        if isinstance(spec, dict):
            forms = set(spec) & _SOURCE_FORMS
            if len(forms) != 1:
                raise _err(where, f"a source object needs exactly one of {sorted(_SOURCE_FORMS)}, got {sorted(spec)}")
            form = forms.pop()
            if form == "format":
                bad = set(spec) - _FORMAT_KEYS
                if bad:
                    raise _err(where, f"unknown key(s) {sorted(bad)} in a format source")
                requires = tuple(self._ref(r, where).path for r in _as_list(spec.get("requires")))
                unless = dict(spec.get("unless_value") or {})
                for k in unless:
                    self._ref(k, where)
                return Source("format", value=str(spec["format"]), requires=requires, unless_value=unless)
            if len(spec) != 1:
                raise _err(where, f"unknown key(s) {sorted(set(spec) - {form})} in a {form} source")
            if form == "setting" and spec["setting"] not in self.defn.settings:
                raise _err(where, f"unknown setting {spec['setting']!r}")
            return Source("value" if form == "constant" else form, value=spec[form])
        if isinstance(spec, (bool, int, float)):
            raise _err(where, f"use {{constant: {spec!r}}} for a constant")
        raise _err(where, f"cannot read a source from {spec!r}")

    def _conditions(self, spec: Any, where: str) -> List[Condition]:
        if spec is None:
            return []
        if not isinstance(spec, dict):
            raise _err(where, "a condition is a mapping of reference -> expected value(s)")
        out: List[Condition] = []
        for key, expected in spec.items():
            if key == "present_any":
                refs = tuple(self._ref(r, where) for r in _as_list(expected))
                out.append(Condition("present_any", refs))
            elif isinstance(expected, list):
                out.append(Condition("in", (self._ref(key, where),), tuple(expected)))
            else:
                out.append(Condition("eq", (self._ref(key, where),), expected))
        return out

    def _transforms(self, spec: Any, where: str) -> List[Tuple[str, Dict[str, Any]]]:
        out: List[Tuple[str, Dict[str, Any]]] = []
        for item in _as_list(spec):
            if isinstance(item, str):
                name, params = item, {}
            elif isinstance(item, dict) and len(item) == 1:
                name, params = next(iter(item.items()))
                if not isinstance(params, dict):
                    tspec = TRANSFORMS.get(name)
                    primary = sorted(tspec.required)[0] if tspec and tspec.required else None
                    if primary is None:
                        raise _err(where, f"transform {name!r} takes no scalar parameter")
                    params = {primary: params}
            else:
                raise _err(where, f"a transform is a name or {{name: {{params}}}}, got {item!r}")
            tspec = TRANSFORMS.get(name)
            if tspec is None:
                raise _err(where, f"unknown transform {name!r}; the vocabulary is {sorted(TRANSFORMS)}")
            bad = set(params) - tspec.params
            if bad:
                raise _err(where, f"transform {name!r}: unknown parameter(s) {sorted(bad)}; "
                                  f"accepted: {sorted(tspec.params)}")
            missing = tspec.required - set(params)
            if missing:
                raise _err(where, f"transform {name!r}: missing parameter(s) {sorted(missing)}")
            for key in ("table", "forms", "families", "transports", "directions", "patterns", "presets"):
                if key in params and params[key] not in self.defn.tables:
                    raise _err(where, f"transform {name!r}: unknown table {params[key]!r}")
            out.append((name, dict(params)))
        return out

    def _step(self, spec: Any, where: str, keys: set, is_fact: bool) -> Step:
        if not isinstance(spec, dict) or "id" not in spec:
            raise _err(f"{self.where}: {where}", "each entry is a mapping with an `id`")
        sid = str(spec["id"])
        where = f"{self.where}: {'fact' if is_fact else 'rule'} {sid}"
        if sid in self.ids:
            raise _err(where, f"duplicate id (first at {self.ids[sid]})")
        self.ids[sid] = where
        bad = set(spec) - keys
        if bad:
            raise _err(where, f"unknown key(s) {sorted(bad)}; known: {sorted(keys)}")
        step = Step(sid)
        step.doc = str(spec.get("doc", ""))
        if ("from" in spec) == ("inputs" in spec):
            raise _err(where, "give exactly one of `from` (coalesce) or `inputs` (tuple)")
        step.sources = [self._source(s, where) for s in _as_list(spec.get("from"))]
        step.inputs = [self._source(s, where) for s in _as_list(spec.get("inputs"))]
        step.when = self._conditions(spec.get("when"), where)
        step.unless = self._conditions(spec.get("unless"), where)
        step.transforms = self._transforms(spec.get("transform"), where)
        if step.inputs:
            first = TRANSFORMS[step.transforms[0][0]] if step.transforms else None
            if first is None or not first.multi_input:
                raise _err(where, "`inputs` needs a first transform that takes several inputs "
                                  f"({sorted(n for n, t in TRANSFORMS.items() if t.multi_input)})")
        elif step.transforms and TRANSFORMS[step.transforms[0][0]].multi_input:
            raise _err(where, f"transform {step.transforms[0][0]!r} needs `inputs`, not `from`")
        step.default = spec.get("default")
        step.kind = self._kind(step)
        if is_fact:
            name = spec.get("name")
            if not isinstance(name, str) or not name.isidentifier():
                raise _err(where, "a fact needs a `name` that is an identifier")
            if name in self.fact_names:
                raise _err(where, f"fact name {name!r} already defined by {self.fact_names[name].id}")
            fb = spec.get("fallback")
            if fb is not None:
                if not isinstance(fb, dict) or set(fb) != {"present_any", "then", "else"}:
                    raise _err(where, "`fallback` is {present_any: [...], then: X, else: Y}")
                for r in _as_list(fb["present_any"]):
                    self._ref(r, where)
                step.fallback = dict(fb)
            step.name = name
            self.fact_names[name] = step
        else:
            step.ecs = [str(t) for t in _as_list(spec.get("ecs"))]
            step.ecs_append = [str(t) for t in _as_list(spec.get("ecs_append"))]
            step.cim = [str(t) for t in _as_list(spec.get("cim"))]
            if not (step.ecs or step.ecs_append or step.cim):
                raise _err(where, "a rule needs at least one target (`ecs`, `ecs_append` or `cim`)")
        return step

    def _kind(self, step: Step) -> str:
        if step.transforms:
            name, params = step.transforms[-1]
            kind = TRANSFORMS[name].kind
            if kind == "table":
                return _table_kind(self.defn.tables.get(params.get("table", "")))
            if kind == "any" and len(step.transforms) > 1:
                kind = TRANSFORMS[step.transforms[-2][0]].kind
            if kind != "any":
                return kind
        kinds = set()
        for src in step.sources:
            if src.kind == "field":
                kinds.add(_FIELD_KINDS.get(src.path[0], "keyword") if len(src.path) == 1 else "keyword")
            elif src.kind == "fact":
                fact = self.fact_names[src.path[0]]
                kinds.add(fact.kind if len(src.path) == 1 else "any")
            elif src.kind == "value":
                kinds.add(_value_kind(src.value))
            elif src.kind in ("event_time",):
                kinds.add("date")
            else:
                kinds.add("keyword")
        return kinds.pop() if len(kinds) == 1 else "any"

    def _route(self, spec: Any, where: str) -> Route:
        if not isinstance(spec, dict):
            raise _err(f"{self.where}: {where}", "a route is a mapping")
        bad = set(spec) - _ROUTE_KEYS
        if bad:
            raise _err(f"{self.where}: {where}", f"unknown key(s) {sorted(bad)}")
        rid = str(spec.get("id", where))
        w = f"{self.where}: route {rid}"
        if rid in self.ids:
            raise _err(w, "duplicate id")
        self.ids[rid] = w
        return Route(rid, str(spec["dataset"]), str(spec["eventtype"]), [str(t) for t in spec["tags"]],
                     self._conditions(spec.get("when"), w), self._conditions(spec.get("unless"), w))


def _value_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "long"
    if isinstance(v, float):
        return "float"
    if isinstance(v, list):
        return "keyword[]"
    if isinstance(v, dict):
        return "object"
    return "keyword"


def _table_kind(table: Any) -> str:
    if not isinstance(table, Table):
        return "any"
    kinds = {_value_kind(v) for v in table.rows.values() if v is not None}
    if table.default is not None:
        kinds.add(_value_kind(table.default))
    if kinds == {"long", "float"}:
        return "float"
    return kinds.pop() if len(kinds) == 1 else "any"


def load_definition(path: str | Path | None = None) -> Definition:
    """Read and validate a definition file (the bundled one by default)."""
    p = Path(path) if path is not None else DEFAULT_PATH
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingDefinitionError(f"{p}: cannot read the mapping definition: {exc.strerror or exc}") from None
    return parse_definition(text, str(p), p)


def parse_definition(text: str, where: str = "<definition>", path: Optional[Path] = None) -> Definition:
    """Validate a definition given as YAML text."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingDefinitionError(f"{where}: not valid YAML: {exc}") from None
    defn = _Loader(raw, where).load()
    defn.path = path
    return defn


# ECS type -> inferred kinds that may be written to it.
_COMPATIBLE = {
    "keyword": {"keyword"}, "constant_keyword": {"keyword"}, "wildcard": {"keyword"},
    "match_only_text": {"keyword"}, "text": {"keyword"}, "long": {"long"}, "integer": {"long"},
    "float": {"float", "long"}, "scaled_float": {"float", "long"}, "double": {"float", "long"},
    "date": {"date"}, "boolean": {"boolean"}, "ip": {"keyword"}, "flattened": {"object"},
    "object": {"object"},
}


def check_references(defn: Definition, ecs: Any, cim: Any) -> List[str]:
    """Problems of ``defn`` against ECS (``EcsReference``) and CIM (``CimReference``); empty when fine.

    ECS: each target exists (or is a declared vendor field), and the rule's
    inferred value kind fits the field's type (arrays only where ECS allows).
    CIM: each target exists in at least one dataset the definition routes to.
    """
    problems: List[str] = []
    for rule in defn.rules:
        for target in rule.ecs + rule.ecs_append:
            where = f"rule {rule.id}: ECS target {target!r}"
            vendor = defn.vendor_fields.get(target)
            if vendor is not None:
                etype, is_array = vendor, True
            else:
                field = ecs.field(target)
                if field is None:
                    problems.append(f"{where} is not an ECS {defn.ecs_version} field and not a declared vendor field")
                    continue
                etype, is_array = field.type, "array" in (field.normalize or [])
            kind = rule.kind
            if kind == "any":
                continue
            base = kind[:-2] if kind.endswith("[]") else kind
            if kind.endswith("[]") and not is_array:
                problems.append(f"{where}: the rule yields a list but ECS {target} is not an array field")
            if base not in _COMPATIBLE.get(etype, {base}):
                problems.append(f"{where}: the rule yields {base} but the ECS type is {etype}")
    for target in defn.constants_ecs:
        if ecs.field(target) is None:
            problems.append(f"constants: ECS target {target!r} is not an ECS field")
    datasets = [r.dataset for r in defn.routes]
    for route in defn.routes:
        try:
            cim.dataset(route.dataset)
        except Exception as exc:  # noqa: BLE001 - any lookup failure is a definition problem
            problems.append(f"route {route.id}: unknown CIM dataset {route.dataset!r} ({exc})")
    for rule in defn.rules:
        for target in rule.cim:
            if not any(_cim_has(cim, ds, target) for ds in datasets):
                problems.append(f"rule {rule.id}: CIM target {target!r} is in none of the routed datasets {datasets}")
    common = set(cim.common_fields()) if hasattr(cim, "common_fields") else set()
    for target, ids in defn.cim_targets().items():
        if target in common:
            problems.append(f"rules {ids}: {target!r} is an Enterprise Security common field and must not be set")
    return problems


def _cim_has(cim: Any, dataset: str, field: str) -> bool:
    try:
        return bool(cim.has_field(dataset, field))
    except Exception:  # noqa: BLE001
        return False


def fact_names(defn: Definition) -> Sequence[str]:
    """Names of all facts in definition order."""
    return [f.name for f in defn.facts if f.name]
