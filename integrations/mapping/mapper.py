"""The Python mapper: executes the mapping definition on canonical events.

Consumes: a :class:`~integrations.mapping.definition.Definition` and canonical
events (:class:`~integrations.model.ParsedEvent` or their ``fields`` dict).
Produces: the ECS document (nested dict) and the CIM record (flat dict plus the
``eventtype``/``tag`` values of the datasets the event belongs to).

The definition is compiled once into closures (sources, conditions and
transform chains resolved at build time), so per event only the value work
runs. Rule order gives precedence: the first rule that yields a non-empty value
for a target wins; ``ecs_append`` targets collect values without duplicates.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from integrations.errors import MappingError
from integrations.jsoncodec import dumps_str
from integrations.mapping.definition import Condition, Definition, Route, Source, Step, load_definition
from integrations.mapping.timefmt import now_iso, parse_time
from integrations.mapping.vocabulary import TRANSFORMS
from integrations.model import CANONICAL_FIELDS, ParsedEvent

Getter = Callable[[Mapping[str, Any], Dict[str, Any]], Any]
Predicate = Callable[[Mapping[str, Any], Dict[str, Any]], bool]
_CANONICAL = frozenset(CANONICAL_FIELDS)


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


def event_timestamp(fields: Mapping[str, Any]) -> Optional[Tuple[str, float]]:
    """``(iso, epoch)`` of the event: UpdatedTime, else Timestamp, else UpdatedTimeISO."""
    for key in ("UpdatedTime", "Timestamp", "UpdatedTimeISO"):
        v = fields.get(key)
        if v is not None and v != "":
            hit = parse_time(v)
            if hit is not None:
                return hit
    return None


class Mapper:
    """Maps canonical events to ECS and CIM according to one definition.

    ``severity_preset`` overrides the definition's setting (``higher_is_worse``
    or ``accuknox_ui``); ``namespace`` the data stream namespace;
    ``clock`` returns ``(iso, epoch)`` for ingestion time (tests pin it).
    """

    def __init__(
        self,
        definition: Definition | None = None,
        *,
        severity_preset: str | None = None,
        namespace: str | None = None,
        keep_original: Mapping[str, bool] | None = None,
        clock: Callable[[], Tuple[str, float]] = now_iso,
        compiled: bool = True,
    ) -> None:
        self.definition = defn = definition if definition is not None else load_definition()
        settings = dict(defn.settings)
        if severity_preset is not None:
            presets = defn.tables.get("severity_presets", {})
            if severity_preset not in presets:
                raise MappingError("settings", f"unknown severity preset {severity_preset!r}; known: {sorted(presets)}")
            settings["severity_preset"] = severity_preset
        if namespace is not None:
            settings["data_stream_namespace"] = namespace
        if keep_original is not None:
            settings["keep_original"] = {**settings.get("keep_original", {}), **keep_original}
        self.settings = settings
        self.clock = clock
        self._tables = dict(defn.tables)
        self._tables["__severity_preset__"] = settings.get("severity_preset")
        self._tables["__default_severity_level__"] = settings.get("default_severity_level")
        self._facts = [(f.name, f.id, self._compile_step(f)) for f in defn.facts]
        self._rules = [(r, self._compile_step(r)) for r in defn.rules]
        self._ecs_rules = [
            (r.id, [tuple(t.split(".")) for t in r.ecs], [tuple(t.split(".")) for t in r.ecs_append], fn)
            for r, fn in self._rules if r.ecs or r.ecs_append
        ]
        self._cim_rules = [(r.id, r.cim, fn) for r, fn in self._rules if r.cim]
        self._routes = [(route, self._compile_conditions(route.when), self._compile_conditions(route.unless))
                        for route in defn.routes]
        self._constants = [(tuple(k.split(".")), v) for k, v in defn.constants_ecs.items()]
        ident = defn.identity
        self._fp_fields = tuple(ident.get("fingerprint_fields", ()))
        self._prefer = ident.get("prefer", "HashID")
        self._compiled = None
        if compiled:
            from integrations.mapping.compiler import CompiledMapper

            self._compiled = CompiledMapper(self)

    # ------------------------------------------------------------------ compile
    def _getter(self, src: Source) -> Getter:
        path = src.path
        if src.kind == "field":
            if len(path) == 1:
                key = path[0]
                return lambda ev, facts: ev.get(key)
            k0, k1 = path

            def sub(ev: Mapping[str, Any], facts: Dict[str, Any]) -> Any:
                obj = ev.get(k0)
                return obj.get(k1) if isinstance(obj, dict) else None

            return sub
        if src.kind == "fact":
            name = path[0]
            if len(path) == 1:
                return lambda ev, facts: facts.get(name)
            rest = path[1:]

            def fact_sub(ev: Mapping[str, Any], facts: Dict[str, Any]) -> Any:
                obj = facts.get(name)
                for k in rest:
                    if not isinstance(obj, dict):
                        return None
                    obj = obj.get(k)
                return obj

            return fact_sub
        if src.kind == "value":
            const = src.value
            return lambda ev, facts: const
        if src.kind == "setting":
            setting = self.settings.get(src.value)
            return lambda ev, facts: setting
        if src.kind == "format":
            return self._format_getter(src)
        if src.kind == "event_time":
            return lambda ev, facts: facts.get("__time__")
        if src.kind == "cim_id":
            return lambda ev, facts: self.cim_id(ev)
        raise MappingError("compile", f"unknown source kind {src.kind}")

    def _format_getter(self, src: Source) -> Getter:
        # Template parts are resolved once: literals and dotted field paths.
        parts: List[Tuple[bool, Any]] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(src.value):
            if m.start() > pos:
                parts.append((False, src.value[pos:m.start()]))
            parts.append((True, tuple(m.group(1).split("."))))
            pos = m.end()
        if pos < len(src.value):
            parts.append((False, src.value[pos:]))
        requires = src.requires
        unless = [(tuple(k.split(".")), str(v)) for k, v in src.unless_value.items()]

        def fn(ev: Mapping[str, Any], facts: Dict[str, Any]) -> Any:
            for path in requires:
                if _empty(_walk(ev, path)):
                    return None
            for path, value in unless:
                if str(_walk(ev, path)) == value:
                    return None
            out = []
            for is_field, part in parts:
                if is_field:
                    v = _walk(ev, part)
                    out.append("" if v is None else str(v))
                else:
                    out.append(part)
            return "".join(out).strip() or None

        return fn

    def _compile_conditions(self, conds: Sequence[Condition]) -> List[Predicate]:
        out = []
        for c in conds:
            getters = [self._getter(s) for s in c.refs]
            if c.op == "present_any":
                out.append(lambda ev, facts, gs=getters: any(not _empty(g(ev, facts)) for g in gs))
            elif c.op == "eq":
                out.append(_eq_check(getters[0], c.expected))
            else:
                out.append(_in_check(getters[0], c.expected))
        return out

    def _compile_step(self, step: Step) -> Callable[[Mapping[str, Any], Dict[str, Any]], Any]:
        whens = self._compile_conditions(step.when)
        unlesses = self._compile_conditions(step.unless)
        chain = [TRANSFORMS[name].build(params, self._tables) for name, params in step.transforms]
        default = step.default
        sid = step.id
        if step.inputs:
            igetters = [self._getter(s) for s in step.inputs]

            def read(ev: Mapping[str, Any], facts: Dict[str, Any]) -> Any:
                return tuple(g(ev, facts) for g in igetters)
        else:
            sgetters = [self._getter(s) for s in step.sources]
            if len(sgetters) == 1:
                read = sgetters[0]
            else:
                def read(ev: Mapping[str, Any], facts: Dict[str, Any]) -> Any:
                    for g in sgetters:
                        v = g(ev, facts)
                        if not _empty(v):
                            return v
                    return None

        fallback = step.fallback
        fb_getters = [self._getter(self._ref_source(r)) for r in (fallback or {}).get("present_any", [])]

        def run(ev: Mapping[str, Any], facts: Dict[str, Any]) -> Any:
            for w in whens:
                if not w(ev, facts):
                    return None
            for u in unlesses:
                if u(ev, facts):
                    return None
            try:
                v = read(ev, facts)
                if not step.inputs and _empty(v):
                    v = None
                else:
                    for fn in chain:
                        v = fn(v)
                        if v is None:
                            break
            except MappingError:
                raise
            except Exception as exc:  # a transform bug must name its rule, not crash anonymously
                raise MappingError(sid, f"{type(exc).__name__}: {exc}") from exc
            if _empty(v):
                if fallback is not None:
                    return fallback["then"] if any(not _empty(g(ev, facts)) for g in fb_getters) else fallback["else"]
                return default
            return v

        return run

    def _ref_source(self, text: str) -> Source:
        if text.startswith("$"):
            return Source("fact", tuple(text[1:].split(".")))
        return Source("field", tuple(text.split(".")))

    # ------------------------------------------------------------------ execute
    def facts(self, fields: Mapping[str, Any]) -> Dict[str, Any]:
        """All facts for one canonical event (also used by tests and renderers' parity checks)."""
        facts: Dict[str, Any] = {}
        ts = event_timestamp(fields)
        if ts is None:
            ts = self.clock()
            facts["__time_missing__"] = True
        facts["__time__"] = ts[0]
        facts["__epoch__"] = ts[1]
        for name, _sid, fn in self._facts:
            facts[name] = fn(fields, facts)
        return facts

    def to_ecs(self, event: ParsedEvent | Mapping[str, Any], facts: Dict[str, Any] | None = None) -> Dict[str, Any]:
        """The ECS document for one event (nested objects)."""
        fields, original = _unpack(event)
        if facts is None:
            if self._compiled is not None:
                try:
                    return self._compiled.functions(fields)[0](fields, original)
                except Exception:  # noqa: BLE001, S110 - the interpreted path below names the failing rule
                    pass
            facts = self.facts(fields)
        doc: Dict[str, Any] = {}
        for path, value in self._constants:
            _put(doc, path, value)
        _put(doc, ("ecs", "version"), self.definition.ecs_version)
        for _sid, targets, appends, fn in self._ecs_rules:
            v = fn(fields, facts)
            if v is None or v == "" or v == [] or v == {}:
                continue
            for path in targets:
                _put(doc, path, v)
            for path in appends:
                _append(doc, path, v)
        event_obj = doc.setdefault("event", {})
        event_obj["id"] = self.event_id(fields)
        event_obj["ingested"] = self.clock()[0]
        stream = facts.get("stream")
        if original is not None and self.settings.get("keep_original", {}).get(stream, False):
            event_obj["original"] = original if isinstance(original, str) else _original_text(original)
        extra = {k: v for k, v in fields.items() if k not in _CANONICAL}
        if extra:
            doc.setdefault("kubearmor", {})["extra"] = extra
        return doc

    def to_cim(self, event: ParsedEvent | Mapping[str, Any], facts: Dict[str, Any] | None = None) -> Dict[str, Any]:
        """The CIM record: CIM fields, plus ``eventtype`` and ``tag`` lists of the routed datasets."""
        fields, _original = _unpack(event)
        if facts is None:
            if self._compiled is not None:
                try:
                    return self._compiled.functions(fields)[1](fields)
                except Exception:  # noqa: BLE001, S110 - the interpreted path below names the failing rule
                    pass
            facts = self.facts(fields)
        rec: Dict[str, Any] = {}
        for _sid, targets, fn in self._cim_rules:
            pending = [t for t in targets if t not in rec]
            if not pending:
                continue
            v = fn(fields, facts)
            if v is None or v == "" or v == [] or v == {}:
                continue
            for t in pending:
                rec[t] = v
        routes = self.routes(fields, facts)
        rec["eventtype"] = [r.eventtype for r in routes]
        rec["tag"] = [t for r in routes for t in r.tags]
        return rec

    def routes(self, fields: Mapping[str, Any], facts: Dict[str, Any] | None = None) -> List[Route]:
        """The CIM datasets (routes) this event belongs to."""
        if facts is None:
            facts = self.facts(fields)
        out = []
        for route, whens, unlesses in self._routes:
            if all(w(fields, facts) for w in whens) and not any(u(fields, facts) for u in unlesses):
                out.append(route)
        return out

    def event_id(self, fields: Mapping[str, Any]) -> str:
        """``HashID`` when present, else the Elasticsearch-compatible fingerprint (``integrations.identity``)."""
        from integrations.identity import event_id

        return event_id(fields)

    def cim_id(self, fields: Mapping[str, Any]) -> str:
        """Splunk Alerts ``id``: HashID, else md5 over the fingerprint fields joined by ``|``.

        md5 of a ``|`` join is what a search-time ``EVAL`` can compute, so the
        add-on's props.conf and this mapper agree.
        """
        hid = fields.get(self._prefer)
        if hid:
            return str(hid)
        joined = "|".join("" if fields.get(f) is None else str(fields.get(f)) for f in self._fp_fields)
        return hashlib.md5(joined.encode("utf-8"), usedforsecurity=False).hexdigest()  # noqa: S324 - id, not security

    def stream(self, fields: Mapping[str, Any]) -> str:
        """``alert`` or ``log`` for one canonical event."""
        return self.facts(fields).get("stream") or "log"


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def _walk(obj: Any, path: Tuple[str, ...]) -> Any:
    for k in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _eq_check(getter: Getter, expected: Any) -> Callable[[Mapping[str, Any], Dict[str, Any]], bool]:
    if isinstance(expected, str):
        low = expected.lower()
        return lambda ev, facts: (lambda v: isinstance(v, str) and v.lower() == low)(getter(ev, facts))
    return lambda ev, facts: getter(ev, facts) == expected


def _in_check(getter: Getter, expected: Sequence[Any]) -> Callable[[Mapping[str, Any], Dict[str, Any]], bool]:
    lows = frozenset(e.lower() for e in expected if isinstance(e, str))
    others = tuple(e for e in expected if not isinstance(e, str))

    def check(ev: Mapping[str, Any], facts: Dict[str, Any]) -> bool:
        v = getter(ev, facts)
        if isinstance(v, str):
            return v.lower() in lows
        return v in others

    return check


def _original_text(original: Any) -> str:
    """``event.original`` as JSON text; an input JSON cannot encode is a mapping error, not a crash."""
    try:
        return dumps_str(original)
    except (TypeError, ValueError, RecursionError) as exc:
        raise MappingError("event-original", f"the original event cannot be written as JSON: {exc}") from None


def _unpack(event: ParsedEvent | Mapping[str, Any]) -> Tuple[Mapping[str, Any], Any]:
    if event.__class__ is ParsedEvent or isinstance(event, ParsedEvent):
        return event.fields, event.original
    # A raw mapping did not pass the parser's depth check: a value nested deeper than JSON
    # encoders go (orjson stops at 254 levels) would make a document nobody can write.
    from integrations.events.envelopes import MAX_NESTING, _deeper_than

    if isinstance(event, dict) and _deeper_than(event, MAX_NESTING):
        raise MappingError("input", f"a value is nested deeper than {MAX_NESTING} levels")
    return event, None


def _put(doc: Dict[str, Any], path: Tuple[str, ...], value: Any) -> None:
    obj = doc
    for k in path[:-1]:
        nxt = obj.get(k)
        if not isinstance(nxt, dict):
            nxt = obj[k] = {}
        obj = nxt
    if path[-1] not in obj:
        obj[path[-1]] = list(value) if isinstance(value, (list, tuple)) else value


def _append(doc: Dict[str, Any], path: Tuple[str, ...], value: Any) -> None:
    obj = doc
    for k in path[:-1]:
        nxt = obj.get(k)
        if not isinstance(nxt, dict):
            nxt = obj[k] = {}
        obj = nxt
    cur = obj.setdefault(path[-1], [])
    for v in value if isinstance(value, (list, tuple)) else (value,):
        if v not in cur:
            cur.append(v)
