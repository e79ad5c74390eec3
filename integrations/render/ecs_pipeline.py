"""Elasticsearch ingest pipelines generated from the mapping definition.

Consumes: the validated :class:`~integrations.mapping.definition.Definition`.
Produces: three artifacts under ``elastic_ingest/ingest_pipelines/``, each
``{"name": <pipeline id>, "body": <PUT _ingest/pipeline body>}``:

* ``logs-accuknox.common-<version>`` - everything: input decoding, the canonical
  event (the parser's key and value rules), the facts and the ECS rules of the
  definition in file order, ``event.id``, ``event.original``, cleanup;
* ``logs-accuknox.alert-<version>`` / ``logs-accuknox.log-<version>`` - call the
  common pipeline with the ``pipeline`` processor, then the optional user hook
  ``logs-accuknox.<dataset>@custom`` (``ignore_missing_pipeline``).

The translation is generated: field names, table rows and constants come from the
definition, the canonical field list (``integrations.model``) and the parser's
normalisation rules (``integrations.events.normalize``); the renderer itself only
knows its scratch namespace (``_tmp``) and, per vocabulary entry, how to express
that transform with declarative processors (no ``script`` processor; ``if``
conditions only from the subset of ``tests/support/ingest_sim/conditions.py``).
The result must produce exactly the document :class:`~integrations.mapping.mapper.Mapper`
produces for the same raw event (tests: ``tests/render/test_ecs_pipeline.py``).

Settings are fixed when the pipeline is rendered: **the severity preset is the
definition's ``settings.severity_preset``** (the mapper's ``severity_preset=``
override has no pipeline equivalent; re-render to change it), and so are
``data_stream_namespace`` and ``keep_original``.

Input forms:

* ``message`` is a string holding the raw KubeArmor JSON (what shippers send):
  it is decoded with the ``json`` processor into ``_tmp.raw``; key spellings are
  resolved like the parser does (exact canonical name first, then a
  case-insensitive match, flattened owner/exec keys; ``secret_key`` and similar
  are dropped; everything else ends in ``kubearmor.extra``);
* the event already is the document (relay -> Elasticsearch): recognised by a
  fingerprint field at the root; only the exact canonical (PascalCase) keys are
  read, other root keys are left as they are, and ``event.original`` is not set
  (there is no string to keep).

Processors used: ``set`` (``copy_from``, ``override``, ``ignore_empty_value``), ``append``
(``allow_duplicates``; not ``copy_from``/``ignore_empty_values``, which need 9.2),
``rename``, ``remove``, ``convert``, ``gsub``, ``split``, ``join``, ``lowercase``,
``uppercase``, ``kv``, ``json``, ``date``, ``foreach`` (lists and objects),
``fingerprint``, ``fail`` and ``pipeline`` (``ignore_missing_pipeline``): Elasticsearch
8.4 or later. Lookup tables are conditional ``set`` processors, one per row;
``keyed_lookup`` renames the row named by a mustache-built key out of a copy of the
table; ``mitre`` runs ``foreach`` passes over one map per tag so ids and names stay
aligned and the first occurrence of an id wins.

Known, documented differences from the Python parser/mapper (none occurs in the
corpus; the parity test proves the rest): floating-point JSON numbers in integer,
time or string fields (Java prints doubles differently), Go-map strings in
``Owner``/``ExecEvent``/``EventData`` (karmor text), key collisions between two
non-canonical spellings of one field (Elasticsearch iterates decoded objects in
hash order), dotted keys (``owner.ref``), Unicode digits, epoch strings with
sub-millisecond precision, and events without any fingerprint field (the
Python-only whole-event id).
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import integrations
from integrations.mapping.definition import Condition, Definition, Source, Step
from integrations.mapping.vocabulary import TRANSFORMS, Table
from integrations.model import CANONICAL_FIELDS, KUBEARMOR_FIELDS
from integrations.render import artifact

#: the parser's normalisation module (its key, kind and value rules); the package re-exports a function
#: under the same name, hence the explicit import
_parser = importlib.import_module("integrations.events.normalize")

__all__ = [
    "INFRA_TAGS",
    "SCRATCH",
    "pipeline_ids",
    "render_pipelines",
]

#: The scratch namespace: every intermediate value lives below it and it is removed at the end.
SCRATCH = "_tmp"

#: Tag prefixes of processors that implement no single rule or fact, and what they implement.
INFRA_TAGS = {
    "input": "decoding of the raw event (`message` string or root object)",
    "canonical": "the canonical event: integrations.events.normalize key and value rules",
    "constants": "the definition's constants.ecs and ecs_version",
    "identity": "the definition's identity section (event.id)",
    "settings": "the definition's settings (keep_original -> event.original)",
    "envelope": "fields every document gets from Mapper.to_ecs (event.ingested, kubearmor.extra)",
    "cleanup": "removal of the scratch namespace",
    "on_failure": "pipeline-level failure handling (event.kind: pipeline_error)",
    "dispatch": "the alert/log pipelines calling the common pipeline and the @custom hook",
}

# --- fields the Python mapper writes outside the rules (integrations/mapping/mapper.py, Mapper.to_ecs)
_ECS_VERSION = "ecs.version"
_EVENT_ID = "event.id"
_EVENT_INGESTED = "event.ingested"
_EVENT_ORIGINAL = "event.original"
_EXTRA = "kubearmor.extra"
#: ``{event_time: true}`` sources: the fields mapper.event_timestamp reads, in order
_EVENT_TIME_FIELDS = ("UpdatedTime", "Timestamp", "UpdatedTimeISO")
# --- pipeline conventions (ecs-mapping.md, "Pipeline outline" step 11)
_ERROR_MESSAGE = "error.message"
_EVENT_KIND = "event.kind"
_PIPELINE_ERROR = "pipeline_error"
_TAGS = "tags"
_PRESERVE_ORIGINAL = "preserve_original_event"
_ON_FAILURE_TEXT = (
    "Processor {{{_ingest.on_failure_processor_type}}} with tag {{{_ingest.on_failure_processor_tag}}} "
    "in pipeline {{{_ingest.on_failure_pipeline}}} failed with message: {{{_ingest.on_failure_message}}}"
)
_DATE_OUTPUT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"  # timefmt: %Y-%m-%dT%H:%M:%S.%fZ

# scratch layout
_MSG = f"{SCRATCH}.message"
_RAW = f"{SCRATCH}.raw"
_KEYS = f"{SCRATCH}.keys"
_CS = f"{SCRATCH}.cs"      # claimed string-kind fields, before coercion
_CX = f"{SCRATCH}.cx"      # claimed fields of the other kinds, before coercion
_FLAT = f"{SCRATCH}.flat"  # flattened Owner/ExecEvent keys
_EV = f"{SCRATCH}.ev"      # the canonical event
_F = f"{SCRATCH}.f"        # facts
_S = f"{SCRATCH}.s"        # per-step values
_W = f"{SCRATCH}.w"        # work fields of a translation
_TIME = f"{SCRATCH}.time"  # the event time (mapper facts["__time__"])
_FP = f"{SCRATCH}.fp"      # string copies of the fingerprint fields

# ----------------------------------------------------------------------------- regex helpers


def _ws_class_body() -> str:
    """Python's whitespace (``str.isspace``: ``str.split()``/``strip()``/``re`` ``\\s``) as a Java class body."""
    cps = [c for c in range(0x110000) if chr(c).isspace()]
    parts: List[str] = []
    start = prev = cps[0]
    for c in cps[1:] + [-1]:
        if c == prev + 1:
            prev = c
            continue
        parts.append(f"\\u{start:04x}" if start == prev else f"\\u{start:04x}-\\u{prev:04x}")
        start = prev = c
    return "".join(parts)


_WSB = _ws_class_body()
WS = f"[{_WSB}]"
NWS = f"[^{_WSB}]"
_ANY = r"[\s\S]"


def _jlit(text: str) -> str:
    """A literal string as a Java regex."""
    return "".join("\\" + ch if ch in ".^$|?*+()[]{}\\-&/#" else ch for ch in text)


def _py_regex_to_java(pattern: str) -> str:
    """A Python ``re`` pattern (as the vocabulary compiles it) in ``java.util.regex`` syntax.

    ``.`` -> ``[^\\n]`` and ``$`` -> ``(?=\\n?\\z)`` keep Python's line-terminator
    rules; ``\\Z`` -> ``\\z``; named groups are renamed. Unicode ``\\d``/``\\w``/``\\s``
    stay ASCII in Java (documented difference).
    """
    out: List[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            d = pattern[i + 1]
            out.append("\\z" if d == "Z" and not in_class else c + d)
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
                out.append(c)
            elif c in "[&":
                out.append("\\" + c)
            else:
                out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if pattern.startswith("(?P<", i):
            out.append("(?<")
            i += 4
            continue
        if pattern.startswith("(?P=", i):
            end = pattern.index(")", i)
            out.append(f"\\k<{pattern[i + 4:end]}>")
            i = end + 1
            continue
        if pattern.startswith("(?", i) and i + 2 < n and pattern[i + 2] not in ":=!<":
            raise ValueError(f"regex {pattern!r}: inline flags are not translated")
        out.append("[^\\n]" if c == "." else "(?=\\n?\\z)" if c == "$" else c)
        i += 1
    return "".join(out)


def _groups(pattern: str) -> int:
    return re.compile(pattern).groups


# ----------------------------------------------------------------------------- painless helpers

_PAINLESS_KEYWORDS = frozenset(
    "if else while do for in continue break return new try catch throw this instanceof boolean byte short char "
    "int long float double def true false null".split()
)


def _ref(path: str) -> str:
    """Null-safe Painless access to a document path: ``a.b.c`` -> ``ctx.a?.b?.c``."""
    parts = path.split(".")
    for p in parts:
        if not p.isidentifier() or p in _PAINLESS_KEYWORDS:
            raise ValueError(f"cannot address {path!r} in a condition ({p!r} is not a Painless identifier)")
    return "ctx." + parts[0] + "".join("?." + p for p in parts[1:])


def _lit(value: Any) -> str:
    """A Painless literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not -(2**31) <= value < 2**31:
            return f"{float(value)!r}"
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise ValueError(f"no Painless literal for {value!r}")


def _and(*parts: Optional[str]) -> Optional[str]:
    ps = [p for p in parts if p]
    if not ps:
        return None
    if len(ps) == 1:
        return ps[0]
    return " && ".join(f"({p})" if " || " in p else p for p in ps)


def _or(*parts: str) -> str:
    ps = [p for p in parts if p]
    return ps[0] if len(ps) == 1 else " || ".join(ps)


def _present(path: str) -> str:
    return f"{_ref(path)} != null"


def _absent(path: str) -> str:
    return f"{_ref(path)} == null"


def _is(path: str, typ: str) -> str:
    return f"{_ref(path)} instanceof {typ}"


def _mustache(path: str) -> str:
    return "{{{" + path + "}}}"


# ----------------------------------------------------------------------------- builder


class _Builder:
    """Collects processors; tags are resolved at the end (``id`` alone when the id has one processor)."""

    def __init__(self) -> None:
        self.procs: List[Dict[str, Any]] = []
        self._bodies: List[Tuple[Dict[str, Any], str, str]] = []

    def make(self, ptype: str, tag: Tuple[str, str], cond: Optional[str] = None, desc: Optional[str] = None,
             on_failure: Optional[List[Dict[str, Any]]] = None, ignore_failure: bool = False,
             **cfg: Any) -> Dict[str, Any]:
        body: Dict[str, Any] = {k: v for k, v in cfg.items() if v is not None}
        if cond:
            body["if"] = cond
        if desc:
            body["description"] = desc
        if ignore_failure:
            body["ignore_failure"] = True
        if on_failure:
            body["on_failure"] = on_failure
        self._bodies.append((body, tag[0], tag[1]))
        return {ptype: body}

    def add(self, ptype: str, tag: Tuple[str, str], **kw: Any) -> Dict[str, Any]:
        proc = self.make(ptype, tag, **kw)
        self.procs.append(proc)
        return proc

    def finish(self) -> List[Dict[str, Any]]:
        counts: Dict[str, int] = {}
        for _body, base, _what in self._bodies:
            counts[base] = counts.get(base, 0) + 1
        seen: Dict[str, int] = {}
        for body, base, what in self._bodies:
            tag = base if counts[base] == 1 else f"{base}:{what}"
            n = seen.get(tag, 0) + 1
            seen[tag] = n
            body["tag"] = tag if n == 1 else f"{tag}-{n}"
        return self.procs


# ----------------------------------------------------------------------------- the translator


class _Translator:
    """Turns one Definition into the processors of the common pipeline."""

    def __init__(self, defn: Definition) -> None:
        self.defn = defn
        self.b = _Builder()
        self.settings = dict(defn.settings)
        self.tables = defn.tables
        self.facts = {f.name: f for f in defn.facts}
        self.needed = self._needed_facts()
        self.kind = dict(_parser._KIND)
        self.ecs_rules = [r for r in defn.rules if r.ecs or r.ecs_append]
        self.date_cache: Dict[str, str] = {}
        for name in CANONICAL_FIELDS:
            if not name.isidentifier() or name.lower() in _PAINLESS_KEYWORDS:
                raise ValueError(f"canonical field {name!r} cannot be addressed in conditions")

    # ------------------------------------------------------------------ bookkeeping
    def _needed_facts(self) -> List[str]:
        """Facts the ECS rules need (transitively), in definition order; CIM-only facts are skipped."""
        need: set = set()

        def visit_sources(srcs: Sequence[Source]) -> None:
            for s in srcs:
                if s.kind == "fact" and s.path[0] not in need:
                    need.add(s.path[0])
                    visit_step(self.facts[s.path[0]])

        def visit_conds(conds: Sequence[Condition]) -> None:
            for c in conds:
                visit_sources(c.refs)

        def visit_step(step: Step) -> None:
            visit_sources(step.sources)
            visit_sources(step.inputs)
            visit_conds(step.when)
            visit_conds(step.unless)
            if step.fallback:
                for r in step.fallback.get("present_any") or []:
                    if str(r).startswith("$"):
                        visit_sources([Source("fact", tuple(str(r)[1:].split(".")))])

        for rule in self.defn.rules:
            if rule.ecs or rule.ecs_append:
                visit_step(rule)
        for stream_fact in ("stream",):  # keep_original is keyed by the stream fact
            if stream_fact in self.facts and stream_fact not in need:
                need.add(stream_fact)
                visit_step(self.facts[stream_fact])
        return [f.name for f in self.defn.facts if f.name in need]

    def src_path(self, src: Source) -> str:
        if src.kind == "field":
            return ".".join((_EV,) + src.path)
        if src.kind == "fact":
            if src.path[0] not in self.needed:
                raise ValueError(f"fact ${src.path[0]} is used but was not computed")
            return ".".join((_F,) + src.path)
        raise ValueError(f"source {src!r} has no document path")

    def ref_path(self, text: str) -> str:
        if text.startswith("$"):
            return self.src_path(Source("fact", tuple(text[1:].split("."))))
        return self.src_path(Source("field", tuple(text.split("."))))

    # ------------------------------------------------------------------ conditions
    def cond_expr(self, cond: Condition) -> str:
        if cond.op == "present_any":
            return _or(*(self._nonempty(self.src_path(r)) for r in cond.refs))
        path = self.src_path(cond.refs[0])
        expected = [cond.expected] if cond.op == "eq" else list(cond.expected)
        strs = [e for e in expected if isinstance(e, str)]
        others = [e for e in expected if not isinstance(e, str)]
        parts = []
        if strs:
            ref = _ref(path)
            eqs = _or(*(f"{ref}.equalsIgnoreCase({_lit(s)})" for s in strs))
            parts.append(f"{ref} instanceof String && " + (f"({eqs})" if len(strs) > 1 else eqs))
        for e in others:
            parts.append(f"{_ref(path)} == {_lit(e)}")
        if len(parts) == 1:
            return parts[0]
        return " || ".join(f"({p})" for p in parts)

    def _nonempty(self, path: str) -> str:
        return f"({_ref(path)} != null && {_ref(path)} != '')"

    def step_cond(self, step: Step) -> Optional[str]:
        parts = [self.cond_expr(c) for c in step.when]
        parts += [f"!({self.cond_expr(c)})" for c in step.unless]
        return _and(*parts)

    # ------------------------------------------------------------------ small emitters
    def set_copy(self, tag: Tuple[str, str], dst: str, src: str, cond: Optional[str] = None,
                 override: bool = True, desc: Optional[str] = None) -> None:
        kw: Dict[str, Any] = {"field": dst, "copy_from": src, "ignore_empty_value": True}
        if not override:
            kw["override"] = False
        self.b.add("set", tag, cond=cond, desc=desc, **kw)

    def set_value(self, tag: Tuple[str, str], dst: str, value: Any, cond: Optional[str] = None,
                  override: bool = True, desc: Optional[str] = None) -> None:
        kw: Dict[str, Any] = {"field": dst, "value": value}
        if not override:
            kw["override"] = False
        if isinstance(value, str) and "{{" in value:
            kw["ignore_empty_value"] = True
        self.b.add("set", tag, cond=cond, desc=desc, **kw)

    def gsub(self, tag: Tuple[str, str], field: str, pattern: str, repl: str, cond: Optional[str] = None,
             target: Optional[str] = None, desc: Optional[str] = None) -> None:
        self.b.add("gsub", tag, cond=cond or _is(field, "String"), desc=desc, field=field, pattern=pattern,
                   replacement=repl, target_field=target)

    def strip(self, tag: Tuple[str, str], field: str, cond: Optional[str] = None) -> None:
        """Python ``str.strip()``."""
        self.gsub(tag, field, f"^{WS}+|{WS}+\\z", "", cond)

    def remove(self, tag: Tuple[str, str], field: str, cond: Optional[str] = None,
               desc: Optional[str] = None) -> None:
        self.b.add("remove", tag, cond=cond, desc=desc, field=field, ignore_missing=True)

    def to_canonical(self, tg: str, name: str, field: str) -> None:
        """Move a coerced working value to the canonical field ``name`` (when it has one)."""
        self.b.add("rename", (tg, f"{name}:canonical"), field=field, target_field=f"{_EV}.{name}",
                   ignore_missing=True, cond=_present(field))

    def remove_if_empty_string(self, tag: Tuple[str, str], field: str) -> None:
        self.remove(tag, field, f"{_ref(field)} == ''")

    def regex_test(self, tag: Tuple[str, str], src: str, pattern: str, cond: Optional[str] = None) -> str:
        """Copy ``src`` to a work field and blank it when ``pattern`` (anchored by the caller) matches."""
        w = f"{_W}.test"
        self.remove((tag[0], tag[1] + "-reset"), w)
        self.b.add("set", (tag[0], tag[1] + "-copy"), cond=_and(cond, _is(src, "String")), field=w,
                   copy_from=src)
        self.b.add("gsub", tag, cond=_is(w, "String"), field=w, pattern=pattern, replacement="")
        return f"{_ref(w)} == ''"

    def seed_dedupe(self, tag: Tuple[str, str], src_list: str, dst: str, cond: Optional[str] = None) -> None:
        """``dst`` = the distinct non-empty strings of ``src_list``, first occurrence first.

        Elasticsearch 8.x has no ``ignore_empty_values`` on ``append``; seeding the
        target with ``""`` and appending without duplicates collapses every empty
        element into the seed, which is then removed.
        """
        t = tag[0]
        self.b.add("set", (t, tag[1] + "-seed"), cond=_and(cond, _is(src_list, "List")), field=dst, value=[""])
        inner = self.b.make("append", (t, tag[1] + "-item"), field=dst, value=_mustache("_ingest._value"),
                            allow_duplicates=False)
        self.b.add("foreach", (t, tag[1]), cond=_and(cond, _is(src_list, "List")), field=src_list,
                   processor=inner, desc="distinct non-empty items (the seed collects the empty ones)")
        self.remove((t, tag[1] + "-unseed"), f"{dst}.0", cond=_is(dst, "List"))
        self.remove((t, tag[1] + "-empty"), dst, cond=f"{_ref(dst)} instanceof List && {_ref(dst)}.isEmpty()")

    # ------------------------------------------------------------------ the whole common pipeline
    def build(self) -> List[Dict[str, Any]]:
        self.input_stage()
        self.canonical_stage()
        self.reset_stage()
        self.constants_stage()
        self.event_time_stage()
        for fact in self.defn.facts:
            if fact.name in self.needed:
                self.step(fact, is_fact=True)
        for rule in self.ecs_rules:
            self.step(rule, is_fact=False)
        self.envelope_stage()
        return self.b.finish()

    # ------------------------------------------------------------------ input
    def input_stage(self) -> None:
        fp_fields = list(self.defn.identity.get("fingerprint_fields") or [])
        root_event = _or(*(_present(f) for f in fp_fields))
        self.b.add("rename", ("input", "message"), field="message", target_field=_MSG,
                   cond=f"ctx.message instanceof String && !({root_event})",
                   desc="the raw KubeArmor JSON as sent by a shipper")
        self.b.add("json", ("input", "json"), cond=_present(_MSG), field=_MSG, target_field=_RAW,
                   allow_duplicate_keys=True,
                   desc="decode the raw event (a repeated key: the last value, as Python's json; a malformed "
                        "message fails the pipeline: pipeline_error)")
        self.b.add("fail", ("input", "not-an-object"), cond=f"{_present(_MSG)} && !({_is(_RAW, 'Map')})",
                   message="message is not a JSON object")
        for name in CANONICAL_FIELDS:
            self.b.add("rename", ("input", f"root:{name}"), cond=_absent(_MSG), field=name,
                       target_field=self._claim(name), ignore_missing=True)

    def _claim(self, name: str) -> str:
        return f"{_CS if self.kind[name] == _parser._STR else _CX}.{name}"

    # ------------------------------------------------------------------ canonical event
    def canonical_stage(self) -> None:
        b = self.b
        for name in CANONICAL_FIELDS:
            b.add("rename", ("canonical", f"{name}:exact"), field=f"{_RAW}.{name}", target_field=self._claim(name),
                  ignore_missing=True)
        has_rest = f"{_is(_RAW, 'Map')} && !{_ref(_RAW)}.isEmpty()"
        b.add("set", ("canonical", "keys"), cond=has_rest, field=_KEYS, copy_from=_RAW,
              desc="remaining keys: lower-case spelling -> original spelling")
        b.add("foreach", ("canonical", "keys:original"), cond=_is(_KEYS, "Map"), field=_KEYS,
              processor=b.make("set", ("canonical", "keys:original-value"), field="_ingest._value",
                               value=_mustache("_ingest._key")))
        b.add("foreach", ("canonical", "keys:lowercase"), cond=_is(_KEYS, "Map"), field=_KEYS,
              processor=b.make("lowercase", ("canonical", "keys:lowercase-key"), field="_ingest._key"))
        for secret in sorted(_parser._SECRET_KEYS):
            self.remove(("canonical", f"secret:{secret}"), f"{_RAW}.{_mustache(_KEYS + '.' + secret)}",
                        cond=_present(f"{_KEYS}.{secret}"), desc="never forward credentials")
        b.add("foreach", ("canonical", "keys:spaces"), cond=_is(_KEYS, "Map"), field=_KEYS,
              processor=b.make("gsub", ("canonical", "keys:spaces-key"), field="_ingest._key", pattern=" ",
                               replacement=""))
        for name in CANONICAL_FIELDS:
            low = name.lower()
            b.add("rename", ("canonical", f"{name}:alias"), cond=_present(f"{_KEYS}.{low}"),
                  field=f"{_RAW}.{_mustache(_KEYS + '.' + low)}", target_field=self._claim(name),
                  ignore_missing=True, ignore_failure=True,
                  desc="a case-insensitive spelling claims the field unless the exact one did (then it stays extra)")
        for obj, flat in (("Owner", _parser._OWNER_FLAT), ("ExecEvent", _parser._EXEC_FLAT)):
            for alias, sub in flat.items():
                if "." in alias:
                    continue  # a dotted key cannot be addressed by a field path
                b.add("rename", ("canonical", f"{obj}:flat:{alias}"), cond=_present(f"{_KEYS}.{alias}"),
                      field=f"{_RAW}.{_mustache(_KEYS + '.' + alias)}", target_field=f"{_FLAT}.{obj}.{sub}",
                      ignore_missing=True, ignore_failure=True)
        self.coerce_strings()
        for name in CANONICAL_FIELDS:
            k = self.kind[name]
            if k == _parser._STR:
                continue
            if k == _parser._INT:
                self.coerce_int(name)
            elif k == _parser._TS:
                self.coerce_timestamp(name)
            elif k == _parser._SEV:
                self.coerce_severity(name)
            elif k == _parser._ATAGS:
                self.coerce_atags(name)
            elif k in (_parser._OWNER, _parser._EXEC):
                sub = _parser._OWNER_SUB if k == _parser._OWNER else _parser._EXEC_SUB
                self.coerce_object(name, sub)
            elif k == _parser._EVDATA:
                self.coerce_event_data(name)
            elif k in (_parser._TYPE, _parser._OP):
                known = _parser.KNOWN_TYPES if k == _parser._TYPE else _parser.KNOWN_OPERATIONS
                self.coerce_enum(name, known)
            else:  # pragma: no cover - a new kind in the parser must get a translation
                raise ValueError(f"no translation for the parser's kind {k} of {name}")
        self.b.add("fail", ("canonical", "no-kubearmor-field"),
                   cond=" && ".join(_absent(f"{_EV}.{n}") for n in KUBEARMOR_FIELDS),
                   message="no KubeArmor field with a value")

    def coerce_strings(self) -> None:
        """String kinds: scalars as text, lists of Tags/Labels joined, empty values dropped."""
        b = self.b
        strs = [n for n in CANONICAL_FIELDS if self.kind[n] == _parser._STR]
        for name in ("Tags", "Labels"):  # normalize._to_str joins these lists with ","
            path = f"{_CS}.{name}"
            w = f"{_W}.join.{name}"
            islist = _is(path, "List")
            b.add("foreach", ("canonical", f"{name}:list"), cond=islist, field=path,
                  processor=b.make("append", ("canonical", f"{name}:list-item"), field=w,
                                   value=_mustache("_ingest._value")))
            b.add("join", ("canonical", f"{name}:join"), cond=_is(w, "List"), field=w, separator=",",
                  target_field=path)
            self.gsub(("canonical", f"{name}:join-empties"), path, "^,+|,+\\z|(?<=,),+", "",
                      cond=f"{_is(w, 'List')} && {_is(path, 'String')}")
            self.remove(("canonical", f"{name}:join-empty-list"), path,
                        cond=f"{islist} && {_ref(path)}.isEmpty()")
        b.add("fail", ("canonical", "not-a-string"),
              cond=" || ".join(f"{_is(_CS + '.' + n, 'Map')} || {_is(_CS + '.' + n, 'List')}" for n in strs),
              message="a KubeArmor string field holds a JSON object or array")
        b.add("foreach", ("canonical", "strings"), cond=_is(_CS, "Map"), field=_CS,
              processor=b.make("convert", ("canonical", "strings:convert"), field="_ingest._value", type="string",
                               ignore_missing=True),
              desc="numbers and booleans of string fields as text")
        b.add("foreach", ("canonical", "strings:non-empty"), cond=_is(_CS, "Map"), field=_CS,
              processor=b.make("set", ("canonical", "strings:copy"), field=f"{_EV}.{_mustache('_ingest._key')}",
                               copy_from="_ingest._value", ignore_empty_value=True),
              desc="known keys whose value is null or empty are absent")

    def _container_fail(self, name: str, path: str) -> None:
        self.b.add("fail", ("canonical", f"{name}:container"),
                   cond=f"{_is(path, 'Map')} || {_is(path, 'List')}",
                   message=f"field {name} is a JSON object or array")

    def coerce_int(self, name: str) -> None:
        """normalize._to_int: ints, integral numeric strings; anything else is dropped."""
        src = f"{_CX}.{name}"
        t = ("canonical", name)
        self._container_fail(name, src)
        self.remove((t[0], f"{name}:boolean"), src, cond=_is(src, "Boolean"))
        self.b.add("convert", (t[0], f"{name}:double-text"), cond=f"{_is(src, 'Double')} || {_is(src, 'Float')}",
                   field=src, type="string")
        self.strip((t[0], f"{name}:strip"), src)
        self.gsub((t[0], f"{name}:integral"), src, "^([+-]?[0-9]+)\\.0*\\z", "$1")
        test = self.regex_test((t[0], f"{name}:is-integer"), src, "^[+-]?[0-9]{1,30}\\z")
        self.remove((t[0], f"{name}:not-integer"), src, cond=f"{_is(src, 'String')} && !({test})")
        self.b.add("convert", (t[0], f"{name}:long"), cond=_is(src, "String"), field=src, type="long",
                   on_failure=[self.b.make("remove", (t[0], f"{name}:out-of-range"), field=src,
                                           ignore_missing=True)])
        self.b.add("rename", (t[0], f"{name}:canonical"), field=src, target_field=f"{_EV}.{name}",
                   ignore_missing=True, cond=_present(src))

    def coerce_timestamp(self, name: str) -> None:
        """normalize._to_ts: epoch seconds (ms/µs/ns scaled down) or an ISO time, as an int."""
        src = f"{_CX}.{name}"
        tg = "canonical"
        self._container_fail(name, src)
        self.remove((tg, f"{name}:boolean"), src, cond=_is(src, "Boolean"))
        self.b.add("convert", (tg, f"{name}:number-text"), cond=f"{_is(src, 'Number')}", field=src, type="string")
        self.strip((tg, f"{name}:strip"), src)
        self.remove_if_empty_string((tg, f"{name}:empty"), src)
        self.gsub((tg, f"{name}:sign"), src, "^\\+", "")
        self.gsub((tg, f"{name}:leading-dot"), src, "^(-?)\\.(?=[0-9])", "$10.")
        self.gsub((tg, f"{name}:fraction"), src, "^(-?[0-9]+)\\.[0-9]*\\z", "$1", desc="int(float): drop the fraction")
        self.gsub((tg, f"{name}:zeros"), src, "^(-?)0+(?=[0-9])", "$1")
        # _scale_epoch_int: > 1e17 -> // 1e9, > 1e14 -> // 1e6, > 1e11 -> // 1e3 (one step only)
        self.gsub((tg, f"{name}:powers"), src, "^(-?)(?:10{17}|10{14})\\z", "$1100000000000")
        self.gsub((tg, f"{name}:ms"), src, "^(-?)(?!10{11}\\z)([0-9]{9,11})[0-9]{3}\\z", "$1$2",
                  desc="milliseconds -> seconds")
        self.gsub((tg, f"{name}:us"), src, "^(-?)([0-9]{9,11})[0-9]{6}\\z", "$1$2", desc="microseconds -> seconds")
        self.gsub((tg, f"{name}:ns"), src, "^(-?)([0-9]{9,})[0-9]{9}\\z", "$1$2", desc="nanoseconds -> seconds")
        test = self.regex_test((tg, f"{name}:is-integer"), src, "^-?[0-9]+\\z")
        w = f"{_W}.ts"
        self.b.add("uppercase", (tg, f"{name}:iso-upper"), cond=f"{_is(src, 'String')} && !({test})", field=src,
                   target_field=w)
        self.gsub((tg, f"{name}:iso-space"), w, "^([^ ]*) ", "$1T")
        self.b.add("date", (tg, f"{name}:iso"), cond=_is(w, "String"), field=w, target_field=src,
                   formats=["ISO8601"], timezone="UTC", output_format="epoch_second",
                   on_failure=[self.b.make("remove", (tg, f"{name}:not-a-time"), field=src, ignore_missing=True)])
        self.b.add("convert", (tg, f"{name}:long"), cond=_is(src, "String"), field=src, type="long",
                   on_failure=[self.b.make("remove", (tg, f"{name}:out-of-range"), field=src,
                                           ignore_missing=True)])
        self.to_canonical(tg, name, src)

    def coerce_severity(self, name: str) -> None:
        """normalize._to_sev: an int when integral, else the original text."""
        src = f"{_CX}.{name}"
        tg = "canonical"
        w = f"{_W}.sev"
        d = f"{_W}.sev_double"
        self._container_fail(name, src)
        self.remove((tg, f"{name}:boolean"), src, cond=_is(src, "Boolean"))
        self.b.add("convert", (tg, f"{name}:double-text"), cond=f"{_is(src, 'Double')} || {_is(src, 'Float')}",
                   field=src, target_field=d, type="string")
        self.gsub((tg, f"{name}:double-integral"), d, "^(-?[0-9]+)\\.0\\z", "$1")
        self.b.add("set", (tg, f"{name}:double"), cond=_is(d, "String"), field=src, copy_from=d)
        self.b.add("set", (tg, f"{name}:copy"), cond=_is(src, "String"), field=w, copy_from=src)
        self.strip((tg, f"{name}:strip"), w)
        self.remove((tg, f"{name}:empty"), src, cond=f"{_ref(w)} == ''")
        test = self.regex_test((tg, f"{name}:is-integer"), w, "^[+-]?[0-9]{1,30}\\z")
        self.b.add("convert", (tg, f"{name}:long"), cond=f"{_is(w, 'String')} && {test}", field=w, type="long",
                   target_field=src, ignore_failure=True)
        self.to_canonical(tg, name, src)

    def coerce_atags(self, name: str) -> None:
        """normalize._to_atags: a list of non-empty strings, from a list or a comma string."""
        src = f"{_CX}.{name}"
        tg = "canonical"
        w = f"{_W}.atags"
        text = f"{_W}.atags_text"
        bracketed = f"{_W}.atags_bracketed"
        self.remove((tg, f"{name}:scalar"), src,
                    cond=f"{_present(src)} && !({_is(src, 'String')}) && !({_is(src, 'List')})")
        self.b.add("set", (tg, f"{name}:text"), cond=_is(src, "String"), field=text, value=True)
        self.strip((tg, f"{name}:strip"), src)
        test = self.regex_test((tg, f"{name}:is-bracketed"), src, f"^\\[{_ANY}*\\]\\z")
        self.b.add("set", (tg, f"{name}:bracketed"), cond=f"{_is(src, 'String')} && {test}", field=bracketed,
                   value=True)
        self.gsub((tg, f"{name}:brackets"), src, f"^\\[({_ANY}*)\\]\\z", "$1")
        self.b.add("split", (tg, f"{name}:split"), cond=_is(src, "String"), field=src, separator=",")
        self.strip((tg, f"{name}:strip-items"), src, cond=f"{_ref(text)} == true && {_is(src, 'List')}")
        self.gsub((tg, f"{name}:quotes"), src, '^"+|"+\\z', "",
                  cond=f"{_ref(bracketed)} == true && {_is(src, 'List')}")
        self.seed_dedupe((tg, f"{name}:items"), src, w)
        self.to_canonical(tg, name, w)

    def coerce_object(self, name: str, submap: Dict[str, str]) -> None:
        """normalize._sub_object: known sub-fields (any case) as non-empty strings; flattened keys merged."""
        src = f"{_CX}.{name}"
        tg = "canonical"
        ismap = _is(src, "Map")
        self.remove((tg, f"{name}:not-an-object"), src, cond=f"{_present(src)} && !({ismap})")
        self.b.add("foreach", (tg, f"{name}:lowercase"), cond=ismap, field=src,
                   processor=self.b.make("lowercase", (tg, f"{name}:lowercase-key"), field="_ingest._key"))
        for low, sub in submap.items():
            item = f"{src}.{low}"
            self.b.add("convert", (tg, f"{name}.{sub}:text"),
                       cond=f"{_is(item, 'Number')} || {_is(item, 'Boolean')}", field=item, type="string")
            self.set_copy((tg, f"{name}.{sub}"), f"{_EV}.{name}.{sub}", item, cond=_is(item, "String"))
            flat = f"{_FLAT}.{name}.{sub}"
            self.b.add("convert", (tg, f"{name}.{sub}:flat-text"),
                       cond=f"{_is(flat, 'Number')} || {_is(flat, 'Boolean')}", field=flat, type="string")
            self.set_copy((tg, f"{name}.{sub}:flat"), f"{_EV}.{name}.{sub}", flat, cond=_is(flat, "String"),
                          override=False)

    def coerce_event_data(self, name: str) -> None:
        """normalize._to_evdata: an object of strings."""
        src = f"{_CX}.{name}"
        tg = "canonical"
        ismap = _is(src, "Map")
        self.b.add("foreach", (tg, f"{name}:values"), cond=ismap, field=src,
                   processor=self.b.make("convert", (tg, f"{name}:value-text"), field="_ingest._value",
                                         type="string", ignore_missing=True))
        self.b.add("rename", (tg, f"{name}:canonical"), cond=f"{ismap} && !{_ref(src)}.isEmpty()", field=src,
                   target_field=f"{_EV}.{name}")

    def coerce_enum(self, name: str, known: Sequence[str]) -> None:
        """normalize._to_enum: the canonical spelling of a known value (case-insensitive)."""
        src = f"{_CX}.{name}"
        tg = "canonical"
        w = f"{_W}.enum.{name}"
        self._container_fail(name, src)
        self.b.add("convert", (tg, f"{name}:text"), cond=f"{_is(src, 'Number')} || {_is(src, 'Boolean')}",
                   field=src, type="string")
        self.b.add("lowercase", (tg, f"{name}:lower"), cond=_is(src, "String"), field=src, target_field=w)
        self.strip((tg, f"{name}:strip"), w)
        self.remove((tg, f"{name}:empty"), src, cond=f"{_ref(w)} == ''")
        for value in sorted(known):
            self.b.add("set", (tg, f"{name}:{value}"), cond=f"{_ref(w)} == {_lit(value.lower())}", field=src,
                       value=value)
        self.to_canonical(tg, name, src)

    # ------------------------------------------------------------------ reset, constants, time
    def reset_stage(self) -> None:
        targets = {t for r in self.ecs_rules for t in r.ecs + r.ecs_append}
        targets |= set(self.defn.constants_ecs) | {_ECS_VERSION, _EVENT_ID, _EVENT_INGESTED, _EXTRA}
        self.b.add("remove", ("constants", "reset"), field=sorted(targets), ignore_missing=True,
                   desc="fields the mapping writes are the mapping's alone (a shipper's copies are dropped)")

    def constants_stage(self) -> None:
        for field, value in self.defn.constants_ecs.items():
            self.set_value(("constants", field), field, value)
        self.set_value(("constants", _ECS_VERSION), _ECS_VERSION, self.defn.ecs_version)

    def event_time_stage(self) -> None:
        """``facts["__time__"]``: UpdatedTime, else Timestamp, else UpdatedTimeISO, else the ingest time."""
        owner = next((r.id for r in self.defn.rules if any(s.kind == "event_time" for s in r.sources)), None)
        if owner is None:
            return
        for name in _EVENT_TIME_FIELDS:
            dated = self.cached_date((owner, f"event-time:{name}"), f"{_EV}.{name}")
            self.set_copy((owner, f"event-time:{name}"), _TIME, dated, override=False)
        self.date_into((owner, "event-time:ingest"), "_ingest.timestamp", _TIME, cond=_absent(_TIME),
                       desc="no event time: the ingest time")

    def cached_date(self, tag: Tuple[str, str], src: str) -> str:
        """``date`` of a canonical field, converted once and shared by every rule that needs it."""
        hit = self.date_cache.get(src)
        if hit is None:
            hit = f"{SCRATCH}.dates.{src.rsplit('.', 1)[1]}"
            self.date_into((tag[0], tag[1] + ":date"), src, hit)
            self.date_cache[src] = hit
        return hit

    def date_into(self, tag: Tuple[str, str], src: str, dst: str, cond: Optional[str] = None,
                  desc: Optional[str] = None) -> None:
        """timefmt.to_iso: epoch seconds (ms, µs by magnitude) or a time string -> ISO 8601 UTC with µs."""
        t, what = tag
        w = f"{_W}.date"
        b = self.b
        self.remove((t, what + ":reset"), w)
        if src.startswith("_ingest."):
            b.add("set", (t, what + ":copy"), cond=cond, field=w, value=_mustache(src), desc=desc)
        else:
            b.add("set", (t, what + ":copy"), cond=cond, field=w, copy_from=src, ignore_empty_value=True, desc=desc)
        b.add("convert", (t, what + ":number"), cond=_is(w, "Number"), field=w, type="string")
        self.strip((t, what + ":strip"), w)
        is_num = self.regex_test((t, what + ":is-number"), w, "^-*[0-9]+(?:\\.[0-9]*)?\\z|^-*\\.[0-9]+\\z")
        n = f"{_W}.epoch"
        self.remove((t, what + ":epoch-reset"), n)
        b.add("convert", (t, what + ":epoch"), cond=f"{_is(w, 'String')} && {is_num}", field=w, target_field=n,
              type="double", ignore_failure=True)
        ref = _ref(n)
        def fail() -> List[Dict[str, Any]]:
            return [b.make("remove", (t, what + ":invalid"), field=w, ignore_missing=True)]

        common = {"field": w, "target_field": dst, "timezone": "UTC", "output_format": _DATE_OUTPUT}
        b.add("date", (t, what + ":seconds"), cond=f"{ref} != null && {ref} >= 0 && {ref} <= 32503680000.0",
              formats=["UNIX"], on_failure=fail(), **common, desc="epoch seconds")
        b.add("date", (t, what + ":millis"),
              cond=f"{ref} != null && {ref} > 100000000000.0 && {ref} <= 100000000000000.0 && "
                   f"{ref} <= 32503680000000.0 && {_is(w, 'String')} && !{_ref(w)}.contains('.')",
              formats=["UNIX_MS"], on_failure=fail(), **common, desc="epoch milliseconds")
        self.gsub((t, what + ":micros-to-millis"), w, "^([0-9]+)[0-9]{3}\\z", "$1",
                  cond=f"{ref} != null && {ref} > 100000000000000.0 && {ref} <= 32503680000000000.0")
        b.add("date", (t, what + ":micros"),
              cond=f"{ref} != null && {ref} > 100000000000000.0 && {ref} <= 32503680000000000.0 && "
                   f"{_is(w, 'String')} && !{_ref(w)}.contains('.')",
              formats=["UNIX_MS"], on_failure=fail(), **common, desc="epoch microseconds (millisecond precision)")
        b.add("uppercase", (t, what + ":upper"), cond=f"{_is(w, 'String')} && !({is_num})", field=w)
        self.gsub((t, what + ":space"), w, "^([^ ]*) ", "$1T", cond=f"{_is(w, 'String')} && !({is_num})")
        b.add("date", (t, what + ":text"), cond=f"{_is(w, 'String')} && !({is_num})", formats=["ISO8601"],
              on_failure=fail(), **common, desc="ISO 8601 (zone-less values are UTC)")

    # ------------------------------------------------------------------ steps
    def step(self, step: Step, is_fact: bool) -> None:
        sid = step.id
        cond = self.step_cond(step)
        val = f"{_F}.{step.name}" if is_fact else f"{_S}.{sid.replace('-', '_')}"
        simple = (not is_fact and not step.transforms and step.default is None and len(step.sources) == 1
                  and step.sources[0].kind in ("field", "fact", "value", "setting") and not step.ecs_append)
        if simple:
            self.direct_rule(step, cond)
            return
        transforms = list(enumerate(step.transforms))
        first = step.transforms[0][0] if step.transforms else None
        if step.inputs:
            self.multi_input(step, cond, val)
            transforms = []
        elif first == "date" and len(step.sources) == 1 and step.sources[0].kind == "field":
            dated = self.cached_date((step.id, "date"), self.src_path(step.sources[0]))
            self.set_copy((step.id, "from"), val, dated, cond=cond, override=False)
            transforms = transforms[1:]
        elif first == "date" and len(step.sources) == 1 and step.sources[0].kind == "event_time":
            # the event time already is timefmt's canonical form, on which `date` is the identity
            self.set_copy((step.id, "from"), val, _TIME, cond=cond, override=False)
            transforms = transforms[1:]
        else:
            self.read(step, cond, val)
        for i, (name, params) in transforms:
            self.transform(step, i, name, params, val)
        self.defaults(step, cond, val)
        if not is_fact:
            self.targets(step, val)

    def direct_rule(self, step: Step, cond: Optional[str]) -> None:
        """One source, no transform: each ECS target copies it (first non-empty wins)."""
        src = step.sources[0]
        for target in step.ecs:
            tag = (step.id, target)
            if src.kind in ("value", "setting"):
                value = src.value if src.kind == "value" else self.settings[src.value]
                if value is None or value == "":
                    continue
                self.set_value(tag, target, value, cond=cond, override=False)
            else:
                self.set_copy(tag, target, self.src_path(src), cond=cond, override=False)

    def read(self, step: Step, cond: Optional[str], val: str) -> None:
        """Coalesce: the first non-empty source."""
        for i, src in enumerate(step.sources):
            tag = (step.id, f"from:{i}" if len(step.sources) > 1 else "from")
            if src.kind in ("field", "fact"):
                self.set_copy(tag, val, self.src_path(src), cond=cond, override=False)
            elif src.kind in ("value", "setting"):
                value = src.value if src.kind == "value" else self.settings[src.value]
                if value is not None and value != "":
                    self.set_value(tag, val, value, cond=cond, override=False)
            elif src.kind == "event_time":
                self.set_copy(tag, val, _TIME, cond=cond, override=False)
            elif src.kind == "format":
                self.format_source(step, i, src, cond, val)
            else:
                raise ValueError(f"rule {step.id}: source {src!r} has no pipeline translation")

    def format_source(self, step: Step, i: int, src: Source, cond: Optional[str], val: str) -> None:
        """``{format: '...', requires: [...], unless_value: {...}}``: a mustache template, stripped."""
        parts: List[str] = []
        pos = 0
        text = str(src.value)
        for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}", text):
            lit = text[pos:m.start()]
            if "{" in lit or "}" in lit:
                raise ValueError(f"rule {step.id}: unsupported braces in format {text!r}")
            parts.append(lit)
            parts.append(_mustache(self.ref_path(m.group(1))))
            pos = m.end()
        parts.append(text[pos:])
        w = f"{_W}.format.{step.id.replace('-', '_')}_{i}"
        conds = [cond, _absent(val)]
        conds += [self._nonempty(".".join((_EV,) + path)) for path in src.requires]
        for key, value in src.unless_value.items():
            p = self.ref_path(key)
            conds.append(f"({_ref(p)} == null || {_ref(p)} != {_lit(str(value))})")
        tag = step.id
        self.b.add("set", (tag, f"from:{i}:format"), cond=_and(*conds), field=w, value="".join(parts))
        self.strip((tag, f"from:{i}:strip"), w)
        self.set_copy((tag, f"from:{i}"), val, w, override=False)

    # ------------------------------------------------------------------ defaults and targets
    def defaults(self, step: Step, cond: Optional[str], val: str) -> None:
        if step.fallback:
            fb = step.fallback
            present = _or(*(self._nonempty(self.ref_path(str(r))) for r in fb["present_any"]))
            self.set_value((step.id, "fallback:then"), val, fb["then"], cond=_and(cond, _absent(val), present))
            self.set_value((step.id, "fallback:else"), val, fb["else"], cond=_and(cond, _absent(val)))
        elif step.default is not None:
            self.set_value((step.id, "default"), val, step.default, cond=_and(cond, _absent(val)))

    def targets(self, step: Step, val: str) -> None:
        for target in step.ecs:
            self.set_copy((step.id, target), target, val, override=False)
        for target in step.ecs_append:
            self.b.add("append", (step.id, target), cond=f"{_present(val)} && !({_is(val, 'List')})",
                       field=target, value=_mustache(val), allow_duplicates=False)
            self.b.add("foreach", (step.id, target + ":each"), cond=_is(val, "List"), field=val,
                       processor=self.b.make("append", (step.id, target + ":item"), field=target,
                                             value=_mustache("_ingest._value"), allow_duplicates=False))

    # ------------------------------------------------------------------ transforms
    def transform(self, step: Step, index: int, name: str, params: Dict[str, Any], val: str) -> None:
        fn = getattr(self, "t_" + name, None)
        if fn is None:
            raise ValueError(f"rule {step.id}: transform {name!r} has no pipeline translation")
        tag = (step.id, name if [t for t, _ in step.transforms].count(name) == 1 else f"{name}{index}")
        fn(step, tag, params, val)

    def t_copy(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        return

    def t_string(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        self.remove((tag[0], tag[1] + ":container"), val, cond=f"{_is(val, 'Map')} || {_is(val, 'List')}")
        self.b.add("convert", tag, cond=f"{_is(val, 'Number')} || {_is(val, 'Boolean')}", field=val,
                   type="string")

    def t_integer(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        self.gsub((tag[0], tag[1] + ":strip"), val, f"^{WS}+|{WS}+\\z", "")
        test = self.regex_test((tag[0], tag[1] + ":test"), val, "^-*[0-9]+\\z")
        self.remove((tag[0], tag[1] + ":not-integer"), val, cond=f"{_is(val, 'String')} && !({test})")
        self.b.add("convert", tag, cond=_is(val, "String"), field=val, type="long",
                   on_failure=[self.b.make("remove", (tag[0], tag[1] + ":invalid"), field=val, ignore_missing=True)])
        self.remove((tag[0], tag[1] + ":not-a-number"), val, cond=f"{_present(val)} && !({_is(val, 'Number')})")

    def t_integer_in_range(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        self.t_integer(step, (tag[0], tag[1] + ":integer"), {}, val)
        lo, hi = int(params["min"]), int(params["max"])
        ref = _ref(val)
        if hi - lo <= 20:
            inside = _or(*(f"{ref} == {v}" for v in range(lo, hi + 1)))
        else:
            inside = f"{ref} >= {lo} && {ref} <= {hi}"
        self.remove(tag, val, cond=f"{_present(val)} && !({inside})")

    def t_lowercase(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        self.b.add("lowercase", tag, cond=_is(val, "String"), field=val)

    def t_uppercase(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        self.b.add("uppercase", tag, cond=_is(val, "String"), field=val)

    def _not_string_gone(self, tag: Tuple[str, str], val: str) -> None:
        self.remove((tag[0], tag[1] + ":not-text"), val, cond=f"{_present(val)} && !({_is(val, 'String')})")

    def _empty_gone(self, tag: Tuple[str, str], val: str) -> None:
        self.remove((tag[0], tag[1] + ":empty"), val, cond=f"{_ref(val)} == ''")

    def t_command_word(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        self._not_string_gone(tag, val)
        self.gsub(tag, val, f"^{WS}*({NWS}*){_ANY}*\\z", "$1", desc="the first whitespace-separated word")
        self._empty_gone(tag, val)

    def t_basename(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        self._not_string_gone(tag, val)
        self.gsub((tag[0], tag[1] + ":word"), val, f"^{WS}*({NWS}*?)/*(?:{WS}{_ANY}*)?\\z", "$1",
                  desc="first word without trailing slashes")
        self.gsub(tag, val, "^.*/", "", desc="last path segment")
        self._empty_gone(tag, val)

    def t_dirname(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        self._not_string_gone(tag, val)
        self.remove((tag[0], tag[1] + ":no-slash"), val, cond=f"{_is(val, 'String')} && !{_ref(val)}.contains('/')")
        self.gsub((tag[0], tag[1] + ":trailing"), val, "/+\\z", "")
        self.gsub(tag, val, "/[^/]*\\z", "", desc="drop the last segment")
        self.set_value((tag[0], tag[1] + ":root"), val, "/", cond=f"{_ref(val)} == ''")

    def t_extension(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        self._not_string_gone(tag, val)
        self.gsub((tag[0], tag[1] + ":trailing"), val, "/+\\z", "")
        self.gsub((tag[0], tag[1] + ":name"), val, f"^{_ANY}*/", "")
        self.gsub(tag, val, f"^(?:\\.[^.]*|{_ANY}*\\.([A-Za-z0-9_+-]{{1,16}})\\n?|{_ANY}*)\\z", "$1",
                  desc="extension without the dot; none for dotfiles")
        self._empty_gone(tag, val)

    def t_args(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        self._not_string_gone(tag, val)
        self.gsub((tag[0], tag[1] + ":lstrip"), val, f"^{WS}+", "")
        self._empty_gone(tag, val)
        self.b.add("split", tag, cond=_is(val, "String"), field=val, separator=f"{WS}+")

    def t_strip_prefix(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        prefix = str(params["prefix"])
        if not prefix.isascii():
            raise ValueError(f"rule {step.id}: strip_prefix needs an ASCII prefix (Java (?i) is ASCII-only)")
        self.gsub(tag, val, "(?i)^" + _jlit(prefix), "")
        self._empty_gone(tag, val)

    def t_regex(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        pattern = str(params["pattern"])
        java = _py_regex_to_java(pattern)
        if _groups(pattern) == 0:
            java = f"({java})"
        search = f"^{_ANY}*?(?:{java}){_ANY}*\\z"
        self._not_string_gone(tag, val)
        test = self.regex_test((tag[0], tag[1] + ":test"), val, search)
        self.remove((tag[0], tag[1] + ":no-match"), val, cond=f"{_is(val, 'String')} && !({test})")
        self.gsub(tag, val, search, "$1", desc=f"first group of {pattern}")
        self._empty_gone(tag, val)

    def t_format(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        template = str(params.get("template"))
        if re.search(r"\{(?!0\}|\})", template) or "{{" in template:
            raise ValueError(f"rule {step.id}: format {template!r}: only {{0}} is translated")
        self.set_value(tag, val, template.replace("{0}", "{}").replace("{}", _mustache(val)), cond=_present(val))

    def t_date(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        w = f"{_W}.dated"
        self.remove((tag[0], tag[1] + ":reset"), w)
        self.date_into(tag, val, w, cond=_present(val))
        self.remove((tag[0], tag[1] + ":input"), val)
        self.b.add("rename", (tag[0], tag[1] + ":result"), cond=_present(w), field=w, target_field=val)

    def _row_cond(self, key_path: str, str_path: str, key: Any, folded: bool) -> str:
        if folded:
            return f"{_ref(str_path)} instanceof String && {_ref(str_path)}.equalsIgnoreCase({_lit(str(key))})"
        if isinstance(key, str):
            return f"{_ref(str_path)} == {_lit(key)}"
        return f"{_ref(key_path)} == {_lit(key)}"

    def _lookup_into(self, tag: Tuple[str, str], table: Table, src: str, dst: str, default: Any,
                     has_default: bool) -> None:
        """Table.get as conditional sets: one per row, then the default."""
        k = f"{_W}.key"
        self.remove((tag[0], tag[1] + ":key-reset"), k)
        self.b.add("set", (tag[0], tag[1] + ":key"), cond=_present(src), field=k, copy_from=src)
        self.b.add("convert", (tag[0], tag[1] + ":key-text"), cond=f"{_present(k)} && !({_is(k, 'String')})",
                   field=k, type="string")
        rows: Dict[Any, Any] = {}
        if table.case_insensitive:
            for key, value in table.rows.items():
                low = str(key).lower()
                rows.pop(low, None)
                rows[low] = value
        else:
            rows = dict(table.rows)
        for key, value in rows.items():
            if value is None:
                raise ValueError(f"table {table.name}: a null row value has no pipeline translation")
            self.set_value((tag[0], f"{tag[1]}:{key}"), dst, value,
                           cond=_and(self._row_cond(src, k, key, table.case_insensitive)), override=True)
        fallback = default if has_default else table.default
        if fallback is not None:
            self.set_value((tag[0], tag[1] + ":default"), dst, fallback, cond=f"{_present(src)} && {_absent(dst)}")

    def t_lookup(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        table: Table = self.tables[params["table"]]
        out = f"{_W}.lookup"
        self.remove((tag[0], tag[1] + ":reset"), out)
        self._lookup_into(tag, table, val, out, params.get("default"), "default" in params)
        self.remove((tag[0], tag[1] + ":input"), val)
        self.b.add("rename", (tag[0], tag[1] + ":result"), cond=_present(out), field=out, target_field=val)

    def t_severity_level(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        presets = self.tables[params["presets"]]
        chosen = self.settings["severity_preset"]
        scale = {int(k): v for k, v in presets[chosen].items()}
        default = self.settings.get("default_severity_level")
        out = f"{_W}.level"
        self.remove((tag[0], tag[1] + ":reset"), out)
        isnum = f"{_is(val, 'Long')} || {_is(val, 'Integer')}"
        for n, level in sorted(scale.items()):
            self.set_value((tag[0], f"{tag[1]}:{n}"), out, level, cond=f"({isnum}) && {_ref(val)} == {n}")
        # a level name (a default taken from the settings) passes through, as in vocabulary._severity_level
        for level in sorted(set(scale.values())):
            self.set_value((tag[0], f"{tag[1]}:{level}"), out, level,
                           cond=f"{_is(val, 'String')} && {_ref(val)} == {_lit(level)}")
        if default is not None:
            self.set_value((tag[0], tag[1] + ":default"), out, default, cond=f"{_present(val)} && {_absent(out)}")
        self.remove((tag[0], tag[1] + ":input"), val)
        self.b.add("rename", (tag[0], tag[1] + ":result"), cond=_present(out), field=out, target_field=val,
                   desc=f"severity preset {chosen!r} (fixed when the pipeline is rendered)")

    def t_flag_class(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        table: Table = self.tables[params["table"]]
        flags = f"{_W}.flags"
        out = f"{_W}.flag_class"
        self.remove((tag[0], tag[1] + ":reset"), out)
        self._not_string_gone(tag, val)
        self.b.add("uppercase", (tag[0], tag[1] + ":upper"), cond=_is(val, "String"), field=val, target_field=flags)
        self.b.add("split", (tag[0], tag[1] + ":split"), cond=_is(flags, "String"), field=flags,
                   separator=f"[|,{_WSB}]+")
        for flag, cls in table.rows.items():
            self.set_value((tag[0], f"{tag[1]}:{flag}"), out, cls,
                           cond=f"{_is(flags, 'List')} && {_absent(out)} && {_ref(flags)}.contains({_lit(str(flag))})")
        if table.default is not None:
            self.set_value((tag[0], tag[1] + ":default"), out, table.default,
                           cond=f"{_is(val, 'String')} && {_absent(out)}")
        self.remove((tag[0], tag[1] + ":input"), val)
        self.b.add("rename", (tag[0], tag[1] + ":result"), cond=_present(out), field=out, target_field=val)

    def t_kv(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        w = f"{_W}.kv"
        self._not_string_gone(tag, val)
        self.remove((tag[0], tag[1] + ":reset"), w)
        self.b.add("set", (tag[0], tag[1] + ":copy"), cond=_is(val, "String"), field=w, copy_from=val)
        self.remove((tag[0], tag[1] + ":input"), val)
        self.gsub((tag[0], tag[1] + ":comma"), w, ",(?=[A-Za-z_][A-Za-z0-9_]*=)", " ",
                  desc="old DNS Data: ',key=' separates pairs too")
        self.gsub((tag[0], tag[1] + ":tokens"), w, f"(?<!{NWS})(?:[^{_WSB}=]+|={NWS}*)(?!{NWS})", "",
                  desc="tokens without a key=value are ignored")
        self.gsub((tag[0], tag[1] + ":lstrip"), w, f"^{WS}+", "")
        self.b.add("kv", tag, cond=f"{_is(w, 'String')} && {_ref(w)} != ''", field=w, target_field=val,
                   field_split=f"{WS}+", value_split="=")
        self.b.add("foreach", (tag[0], tag[1] + ":first"), cond=_is(val, "Map"), field=val,
                   processor=self.b.make("set", (tag[0], tag[1] + ":first-value"), field="_ingest._value",
                                         copy_from="_ingest._value.0", ignore_failure=True),
                   desc="a repeated key keeps its first value")

    def _list_input(self, tag: Tuple[str, str], val: str, separator_regex: str) -> str:
        """``val`` as a list of strings in a work field (a string is split first)."""
        parts = f"{_W}.parts.{tag[0].replace('-', '_')}"
        self.remove((tag[0], tag[1] + ":parts-reset"), parts)
        self.b.add("split", (tag[0], tag[1] + ":split"), cond=_is(val, "String"), field=val, target_field=parts,
                   separator=separator_regex, preserve_trailing=True)
        self.b.add("foreach", (tag[0], tag[1] + ":items"), cond=_is(val, "List"), field=val,
                   processor=self.b.make("append", (tag[0], tag[1] + ":item"), field=parts,
                                         value=_mustache("_ingest._value")))
        self.remove((tag[0], tag[1] + ":input"), val)
        return parts

    def t_split_list(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        sep = str(params.get("separator", ","))
        parts = self._list_input(tag, val, _jlit(sep))
        self.strip((tag[0], tag[1] + ":strip"), parts, cond=_is(parts, "List"))
        self.gsub((tag[0], tag[1] + ":truncated"), parts, "\\.\\.\\.\\z", "", cond=_is(parts, "List"),
                  desc="UI truncation: a trailing ... is not part of the tag")
        self.strip((tag[0], tag[1] + ":strip-again"), parts, cond=_is(parts, "List"))
        self.seed_dedupe(tag, parts, val)

    def t_labels(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        self._not_string_gone(tag, val)
        self.strip((tag[0], tag[1] + ":strip"), val)
        self.gsub((tag[0], tag[1] + ":truncated"), val, "\\.\\.\\.\\z", "")
        spaced = f"{_is(val, 'String')} && !{_ref(val)}.contains(',') && {_ref(val)}.contains(' ')"
        parts = f"{_W}.parts.{tag[0].replace('-', '_')}"
        self.remove((tag[0], tag[1] + ":parts-reset"), parts)
        self.b.add("split", (tag[0], tag[1] + ":split-spaces"), cond=spaced, field=val, target_field=parts,
                   separator=f"{WS}+", desc="SaaS exports join labels with spaces")
        self.b.add("split", (tag[0], tag[1] + ":split-commas"), cond=f"{_is(val, 'String')} && !({spaced})",
                   field=val, target_field=parts, separator=",", preserve_trailing=True)
        self.remove((tag[0], tag[1] + ":input"), val)
        islist = _is(parts, "List")
        self.strip((tag[0], tag[1] + ":strip-items"), parts, cond=islist)
        self.gsub((tag[0], tag[1] + ":no-key"), parts, f"^(?:[^=]*|={_ANY}*)\\z", "", cond=islist,
                  desc="a part without key=value is not a label")
        self.gsub((tag[0], tag[1] + ":pair"), parts, "^([^=]+)=", "$1:", cond=islist, desc="k=v -> k:v")
        self.seed_dedupe(tag, parts, val)

    def t_image(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        t = tag[0]
        self._not_string_gone(tag, val)
        name, tg, digest = f"{_W}.image.name", f"{_W}.image.tag", f"{_W}.image.digest"
        self.remove((t, "image:reset"), f"{_W}.image")
        s = _is(val, "String")
        self.gsub((t, "image:digest"), val, "^[^@]*@", "", cond=f"{s} && {_ref(val)}.contains('@')", target=digest)
        self.gsub((t, "image:name-tag"), val, f"@{_ANY}*\\z", "", cond=s, target=name)
        self.gsub((t, "image:tag"), name, f"^(?:{_ANY}*:([^:/]*)|{_ANY}*)\\z", "$1", target=tg,
                  desc="the tag follows the last ':' after the last '/' (a registry port is no tag)")
        self.gsub((t, "image:name"), name, f"^({_ANY}*):[^:/]*\\z", "$1")
        self.remove((t, "image:input"), val)
        for part, path in (("name", name), ("tag", tg), ("digest", digest)):
            self.set_copy((t, f"image:{part}"), f"{val}.{part}", path)

    def t_mitre(self, step: Step, tag: Tuple[str, str], params: Dict[str, Any], val: str) -> None:
        """vocabulary._mitre with foreach passes over per-tag maps (ids and names stay aligned)."""
        t = tag[0]
        pats: Table = self.tables[params["patterns"]]
        tactic = _py_regex_to_java(str(pats.rows["tactic"]))
        technique = _py_regex_to_java(str(pats.rows["technique"]))
        items = f"{_W}.mitre"
        seen = f"{_W}.mitre_seen"
        self.remove((t, "mitre:reset"), items)
        self.remove((t, "mitre:seen-reset"), seen)
        self.b.add("set", (t, "mitre:items"), cond=_is(val, "List"), field=items, copy_from=val)
        self.remove((t, "mitre:input"), val)
        v = "_ingest._value"
        fields = ("tag", "ta", "tap", "tan", "tx", "te", "tsub", "tep", "ten")
        b = self.b
        islist = _is(items, "List")

        def each(what: str, proc: str, **cfg: Any) -> None:
            b.add("foreach", (t, f"mitre:{what}"), cond=islist, field=items,
                  processor=b.make(proc, (t, f"mitre:{what}-item"), **cfg))

        def wrap(java: str) -> str:  # re.match or nothing: groups are null when the tag does not match
            return f"(?i)^(?:(?:{java}){_ANY}*|{_ANY}*)\\z"  # re.IGNORECASE

        each("fields", "set", field=v, value={f: _mustache(v) for f in fields})
        # tactic: id (upper group 1), name (group 2 with '_' -> ' ', stripped; else the id)
        each("ta", "gsub", field=f"{v}.ta", pattern=wrap(tactic), replacement="$1")
        each("ta-upper", "uppercase", field=f"{v}.ta")
        each("tap", "gsub", field=f"{v}.tap", pattern=wrap(tactic), replacement="$2")
        each("tap-flag", "gsub", field=f"{v}.tap", pattern=f"^{_ANY}+\\z", replacement="x")
        each("tan", "gsub", field=f"{v}.tan", pattern=wrap(tactic), replacement="$2")
        each("tan-spaces", "gsub", field=f"{v}.tan", pattern="_", replacement=" ")
        each("tan-strip", "gsub", field=f"{v}.tan", pattern=f"^{WS}+|{WS}+\\z", replacement="")
        each("tan-fallback", "set", field=f"{v}.tan",
             value=f"{_mustache(v + '.tap')}\u0001{_mustache(v + '.tan')}\u0001{_mustache(v + '.ta')}")
        each("tan-pick", "gsub", field=f"{v}.tan",
             pattern=f"^(?:\u0001{_ANY}*\u0001([^\u0001]*)|x\u0001({_ANY}*)\u0001[^\u0001]*)\\z", replacement="$1$2")
        # technique: only for tags that are not tactics
        each("tx", "set", field=f"{v}.tx", value=f"{_mustache(v + '.ta')}\u0001{_mustache(v + '.tag')}")
        each("tx-pick", "gsub", field=f"{v}.tx", pattern=f"^(?:[^\u0001]+\u0001{_ANY}*\\z|\u0001)", replacement="")
        for fld in ("te", "tsub", "tep", "ten"):
            each(f"{fld}-source", "set", field=f"{v}.{fld}", value=_mustache(v + ".tx"))
        each("te", "gsub", field=f"{v}.te", pattern=wrap(technique), replacement="$1")
        each("te-upper", "uppercase", field=f"{v}.te")
        each("tsub", "gsub", field=f"{v}.tsub", pattern=wrap(technique), replacement="$2")
        each("tsub-id", "set", field=f"{v}.tsub", value=f"{_mustache(v + '.tsub')}\u0001{_mustache(v + '.te')}")
        each("tsub-join", "gsub", field=f"{v}.tsub",
             pattern=f"^(?:([^\u0001]+)\u0001({_ANY}*)|\u0001{_ANY}*)\\z", replacement="$2.$1")
        each("tsub-none", "gsub", field=f"{v}.tsub", pattern="^\\.\\z", replacement="")
        each("tep", "gsub", field=f"{v}.tep", pattern=wrap(technique), replacement="$3")
        each("tep-flag", "gsub", field=f"{v}.tep", pattern=f"^{_ANY}+\\z", replacement="x")
        each("ten", "gsub", field=f"{v}.ten", pattern=wrap(technique), replacement="$3")
        each("ten-spaces", "gsub", field=f"{v}.ten", pattern="_", replacement=" ")
        each("ten-strip", "gsub", field=f"{v}.ten", pattern=f"^{WS}+|{WS}+\\z", replacement="")
        each("ten-fallback", "set", field=f"{v}.ten",
             value=f"{_mustache(v + '.tep')}\u0001{_mustache(v + '.ten')}\u0001{_mustache(v + '.te')}")
        each("ten-pick", "gsub", field=f"{v}.ten",
             pattern=f"^(?:\u0001{_ANY}*\u0001([^\u0001]*)|x\u0001({_ANY}*)\u0001[^\u0001]*)\\z", replacement="$1$2")
        # first occurrence of each id wins, ids and names aligned (vocabulary: `if tid not in ...`)
        for kind, idf in (("tactic", "ta"), ("subtechnique", "tsub"), ("technique", "te")):
            namef = "ten" if kind != "tactic" else "tan"
            key = f"k_{kind}"
            each(f"{kind}:key", "set", field=f"{v}.{key}", value="k" + _mustache(f"{v}.{idf}"))
            each(f"{kind}:key-dots", "gsub", field=f"{v}.{key}", pattern="\\.", replacement="\u0002")
            each(f"{kind}:first", "set", field=f"{seen}.{kind}.{_mustache(v + '.' + key)}", override=False,
                 value={"id": _mustache(f"{v}.{idf}"),
                        "name": f"{_mustache(v + '.' + idf)}\u0001{_mustache(v + '.' + namef)}"})
            self.remove((t, f"mitre:{kind}:no-id"), f"{seen}.{kind}.k")
            each(f"{kind}:claim", "rename", field=f"{seen}.{kind}.{_mustache(v + '.' + key)}",
                 target_field=f"{v}.f_{kind}", ignore_missing=True)
            ids, names = f"{val}.{kind}_id", f"{val}.{kind}_name"
            b.add("set", (t, f"mitre:{kind}_id:seed"), cond=islist, field=ids, value=[""])
            b.add("set", (t, f"mitre:{kind}_name:seed"), cond=islist, field=names, value=[""])
            each(f"{kind}_id", "append", field=ids, value=_mustache(f"{v}.f_{kind}.id"), allow_duplicates=False)
            each(f"{kind}_name", "append", field=names, value=_mustache(f"{v}.f_{kind}.name"),
                 allow_duplicates=False)
            for lst in (ids, names):
                self.remove((t, f"mitre:{lst.rsplit('.', 1)[1]}:unseed"), f"{lst}.0", cond=_is(lst, "List"))
            self.gsub((t, f"mitre:{kind}_name:id-prefix"), names, "^[^\u0001]*\u0001", "", cond=_is(names, "List"))
            for lst in (ids, names):
                self.remove((t, f"mitre:{lst.rsplit('.', 1)[1]}:empty"), lst,
                            cond=f"{_is(lst, 'List')} && {_ref(lst)}.isEmpty()")
        any_id = _or(*(_present(f"{val}.{k}_id") for k in ("tactic", "subtechnique", "technique")))
        self.set_value((t, "mitre:framework"), f"{val}.framework", "MITRE ATT&CK", cond=any_id)

    # ------------------------------------------------------------------ multi-input transforms
    def multi_input(self, step: Step, cond: Optional[str], val: str) -> None:
        name, params = step.transforms[0]
        if len(step.transforms) > 1:
            raise ValueError(f"rule {step.id}: transforms after {name!r} are not translated")
        paths = [self.src_path(s) for s in step.inputs]
        if name == "keyed_lookup":
            self.keyed_lookup(step, cond, val, params, paths)
        elif name == "network":
            self.network(step, cond, val, params, paths)
        else:
            raise ValueError(f"rule {step.id}: multi-input transform {name!r} has no pipeline translation")

    def keyed_lookup(self, step: Step, cond: Optional[str], val: str, params: Dict[str, Any],
                     paths: List[str]) -> None:
        """Key templates built with mustache address a copy of the table (rename = a lookup)."""
        t = step.id
        table: Table = self.tables[params["table"]]
        for key in table.rows:
            if "." in str(key):
                raise ValueError(f"table {table.name}: key {key!r} contains a dot")
        tbl = f"{_W}.table"
        k = f"{_W}.table_key"
        self.remove((t, "keyed_lookup:reset"), tbl)
        self.b.add("set", (t, "keyed_lookup:table"), cond=cond, field=tbl, value=dict(table.rows),
                   desc=f"the {table.name} table")
        for i, template in enumerate(params["keys"]):
            try:
                rendered = re.sub(r"\{(\d+)\}", lambda m: _mustache(paths[int(m.group(1))]), str(template))
            except IndexError:
                continue  # vocabulary: a template naming a missing input is skipped
            if "{{{" not in rendered and re.search(r"[{}]", rendered):
                raise ValueError(f"rule {step.id}: unsupported key template {template!r}")
            self.b.add("set", (t, f"keyed_lookup:key{i}"), cond=_and(cond, _absent(val)), field=k, value=rendered)
            self.b.add("rename", (t, f"keyed_lookup:row{i}"),
                       cond=_and(cond, _absent(val), f"{_is(k, 'String')} && !{_ref(k)}.contains('.')"),
                       field=f"{tbl}.{_mustache(k)}", target_field=val, ignore_missing=True,
                       desc=f"row {template}")
        if table.default is not None:
            self.set_value((t, "keyed_lookup:default"), val, table.default, cond=_and(cond, _absent(val)))

    def network(self, step: Step, cond: Optional[str], val: str, params: Dict[str, Any], paths: List[str]) -> None:
        """vocabulary._network: the rows of the forms table as conditional processors.

        Phase 1 (per form, at most one matches ``$action``) copies the raw values the
        row names into work fields; phase 2 validates and looks them up once; phase 3
        (per form) writes the peer, port, direction and remote host as the row says.
        """
        t = step.id
        action, res, data, resource = paths
        forms: Table = self.tables[params["forms"]]
        families: Table = self.tables[params["families"]]
        transports: Table = self.tables[params["transports"]]
        directions: Table = self.tables[params["directions"]]
        known = {"source", "address", "port", "peer", "direction", "family", "family_from_data", "transport",
                 "port_side", "fixed_port", "protocol", "dns_name", "dns_type", "dns_name_from_resource",
                 "transport_from", "local_only", "firewall"}
        ips, ports = f"{_W}.net_ips", f"{_W}.net_ports"
        addr, port = f"{ips}.addr", f"{ports}.port"
        tf_raw = f"{_W}.net_transport_raw"
        for path in (ips, ports, tf_raw):
            self.remove((t, f"network:reset:{path.rsplit('.', 1)[1]}"), path)
        rows = []
        for form_name, form in forms.rows.items():
            bad = set(form) - known
            if bad:
                raise ValueError(f"table {forms.name}: row {form_name}: no pipeline translation for {sorted(bad)}")
            fc = _and(cond, f"{_ref(action)} == {_lit(str(form_name))}")
            source = form.get("source")
            kv = res if source == "resource" else data if source == "data" else None
            rows.append((str(form_name), form, fc, kv))
        max_tf = max((len(f.get("transport_from") or ()) for _n, f, _c, _k in rows), default=0)
        # phase 1: raw values
        for form_name, form, fc, kv in rows:
            ft = f"network:{form_name}"
            if form.get("firewall"):
                self.net_firewall_raw(t, ft, fc, val, data, resource, transports, directions, ips, ports)
                continue
            if form.get("family") and kv:
                self.set_copy((t, f"{ft}:family"), f"{val}.family", f"{kv}.{form['family']}", cond=fc)
            if form.get("family_from_data"):
                self.set_copy((t, f"{ft}:family-data"), f"{val}.family", f"{data}.{form['family_from_data']}",
                              cond=fc)
            if form.get("transport"):
                self.set_value((t, f"{ft}:transport"), f"{val}.transport", form["transport"], cond=fc)
            if kv:
                for i, key in enumerate(form.get("transport_from") or ()):
                    self.set_copy((t, f"{ft}:transport-{key}"), f"{tf_raw}.k{i}", f"{kv}.{key}", cond=fc)
            if form.get("protocol"):
                self.set_value((t, f"{ft}:protocol"), f"{val}.protocol", form["protocol"], cond=fc)
            if form.get("dns_name") and kv:
                self.set_copy((t, f"{ft}:dns-name"), f"{val}.dns_name", f"{kv}.{form['dns_name']}", cond=fc)
                if form.get("dns_type"):
                    self.set_copy((t, f"{ft}:dns-type"), f"{val}.dns_type", f"{kv}.{form['dns_type']}", cond=fc)
            if form.get("dns_name_from_resource"):
                self.set_copy((t, f"{ft}:dns-resource"), f"{val}.dns_name", resource,
                              cond=_and(fc, _is(resource, "String")))
            if kv:
                self.set_copy((t, f"{ft}:unix-path"), f"{val}.unix_path", f"{kv}.sun_path", cond=fc)
            if form.get("address") and kv:
                item = f"{kv}.{form['address']}"
                self.set_copy((t, f"{ft}:address"), addr, item, cond=_and(fc, _is(item, "String")))
            if form.get("port") and kv and form.get("fixed_port") is None:
                item = f"{kv}.{form['port']}"
                self.set_copy((t, f"{ft}:port"), port, item, cond=_and(fc, _is(item, "String")))
        # phase 2: one validation / lookup each
        self._lookup_table_into((t, "network:type"), families, f"{val}.family", f"{val}.type", None)
        for i in range(max_tf):
            self.gsub((t, f"network:transport-k{i}:first"), f"{tf_raw}.k{i}", f"\\|{_ANY}*\\z", "",
                      desc="the first of |-joined flags")
            self._lookup_table_into((t, f"network:transport-k{i}"), transports, f"{tf_raw}.k{i}",
                                    f"{val}.transport", None)
        self.valid_ips((t, "network:ips"), ips)
        self.valid_ports((t, "network:ports"), ports)
        for form_name, form, fc, _kv in rows:
            if form.get("fixed_port") is not None:
                self.set_value((t, f"network:{form_name}:fixed-port"), port, int(form["fixed_port"]), cond=fc)
        # phase 3: where the row puts them
        for form_name, form, fc, kv in rows:
            ft = f"network:{form_name}"
            if form.get("firewall"):
                self.net_firewall_out(t, ft, fc, val, ips, ports)
                continue
            if form.get("local_only"):
                self.set_copy((t, f"{ft}:local-address"), f"{val}.local_address", addr, cond=fc)
                self.set_copy((t, f"{ft}:local-port"), f"{val}.local_port", port, cond=fc)
                continue
            peer = form.get("peer")
            if peer:
                self.set_copy((t, f"{ft}:peer-ip"), f"{val}.{peer}_ip", addr, cond=fc)
                side = form.get("port_side", peer)
                self.set_copy((t, f"{ft}:peer-port"), f"{val}.{side}_port", port, cond=fc)
            if form.get("direction"):
                self.set_value((t, f"{ft}:direction"), f"{val}.direction", form["direction"],
                               cond=_and(fc, _or(_present(addr), _present(port), _present(f"{val}.dns_name"))))
            if kv:
                self.set_copy((t, f"{ft}:remote-host"), f"{val}.remote_host", f"{kv}.remotehost", cond=fc)
        peers = [fc for _n, form, fc, _k in rows if form.get("peer") and not form.get("local_only")
                 and not form.get("firewall")]
        if peers:
            is_peer = _or(*(f"({p})" for p in peers if p))
            self.set_value((t, "network:peer-ipv6"), f"{val}.type", "ipv6",
                           cond=_and(is_peer, _present(addr), _absent(f"{val}.type"), f"{_ref(addr)}.contains(':')"))
            self.set_value((t, "network:peer-ipv4"), f"{val}.type", "ipv4",
                           cond=_and(is_peer, _present(addr), _absent(f"{val}.type")))

    def net_firewall_raw(self, t: str, ft: str, fc: Optional[str], val: str, data: str, resource: str,
                         transports: Table, directions: Table, ips: str, ports: str) -> None:
        """The NetworkFirewall form, phase 1 (vocabulary._network, `firewall` rows: the Data keys below)."""
        for side, ip_key, port_key in (("source", "SourceIP", "SourcePort"),
                                       ("destination", "DestinationIP", "DestinationPort")):
            for key, slot in ((ip_key, f"{ips}.fw_{side}"), (port_key, f"{ports}.fw_{side}")):
                self.set_copy((t, f"{ft}:{key}"), slot, f"{data}.{key}",
                              cond=_and(fc, _is(f"{data}.{key}", "String")))
        proto = f"{_W}.fw_proto"
        self.remove((t, f"{ft}:protocol-reset"), proto)
        self.set_copy((t, f"{ft}:protocol"), proto, f"{data}.Protocol", cond=fc)
        self._lookup_table_into((t, f"{ft}:transport"), transports, proto, f"{val}.transport", None)
        self.b.add("lowercase", (t, f"{ft}:transport-lower"), cond=_and(_absent(f"{val}.transport"),
                                                                         _is(proto, "String")),
                   field=proto, target_field=f"{val}.transport")
        self._lookup_table_into((t, f"{ft}:direction"), directions, resource, f"{val}.direction", fc)

    def net_firewall_out(self, t: str, ft: str, fc: Optional[str], val: str, ips: str, ports: str) -> None:
        """The NetworkFirewall form, phase 3: validated addresses and ports, type from the address."""
        for side in ("source", "destination"):
            self.set_copy((t, f"{ft}:{side}-ip"), f"{val}.{side}_ip", f"{ips}.fw_{side}", cond=fc)
            self.set_copy((t, f"{ft}:{side}-port"), f"{val}.{side}_port", f"{ports}.fw_{side}", cond=fc)
        ip = f"{_W}.fw_ip"
        self.remove((t, f"{ft}:ip-reset"), ip)
        self.set_copy((t, f"{ft}:ip-source"), ip, f"{ips}.fw_source", cond=fc)
        self.set_copy((t, f"{ft}:ip-destination"), ip, f"{ips}.fw_destination", cond=fc, override=False)
        self.set_value((t, f"{ft}:ipv6"), f"{val}.type", "ipv6", cond=_and(_present(ip), f"{_ref(ip)}.contains(':')"))
        self.set_value((t, f"{ft}:ipv4"), f"{val}.type", "ipv4", cond=_and(_present(ip), _absent(f"{val}.type")))

    def _lookup_table_into(self, tag: Tuple[str, str], table: Table, src: str, dst: str,
                           cond: Optional[str]) -> None:
        """Table.get(src) into dst when dst is still empty (case rules of the table)."""
        k = f"{_W}.key"
        self.remove((tag[0], tag[1] + ":key-reset"), k)
        self.b.add("set", (tag[0], tag[1] + ":key"), cond=_and(cond, _present(src), _absent(dst)), field=k,
                   copy_from=src)
        self.b.add("convert", (tag[0], tag[1] + ":key-text"), cond=f"{_present(k)} && !({_is(k, 'String')})",
                   field=k, type="string")
        rows: Dict[Any, Any] = {}
        for key, value in table.rows.items():
            low = str(key).lower() if table.case_insensitive else key
            rows.pop(low, None)
            rows[low] = value
        for key, value in rows.items():
            self.set_value((tag[0], f"{tag[1]}:{key}"), dst, value,
                           cond=_and(self._row_cond(k, k, key, table.case_insensitive), _absent(dst)))
        if table.default is not None:
            self.set_value((tag[0], tag[1] + ":default"), dst, table.default, cond=_and(_present(k), _absent(dst)))

    def _each_value(self, tag: Tuple[str, str], field: str, proc: str, desc: Optional[str] = None,
                    on_failure: Optional[List[Dict[str, Any]]] = None, **cfg: Any) -> None:
        inner = self.b.make(proc, (tag[0], tag[1] + "-value"), field="_ingest._value", on_failure=on_failure, **cfg)
        self.b.add("foreach", tag, cond=_is(field, "Map"), field=field, processor=inner, desc=desc)

    def _drop_entry(self, tag: Tuple[str, str]) -> List[Dict[str, Any]]:
        """on_failure inside a map foreach: an empty ``_ingest._key`` removes the entry (ForEachProcessor)."""
        return [self.b.make("set", tag, field="_ingest._key", value="")]

    def valid_ips(self, tag: Tuple[str, str], field: str) -> None:
        """vocabulary.valid_ip on every value of a map: stripped IPv4/IPv6 literals stay, others are dropped."""
        t = tag[0]
        self._each_value((t, tag[1] + ":strip"), field, "gsub", pattern=f"^{WS}+|{WS}+\\z", replacement="")
        self._each_value((t, tag[1] + ":brackets"), field, "gsub", pattern="^[\\[\\]]+|[\\[\\]]+\\z",
                         replacement="")
        self._each_value((t, tag[1] + ":ip"), field, "convert", type="ip",
                         on_failure=self._drop_entry((t, tag[1] + ":invalid")),
                         desc="not an IP literal: the entry is dropped")

    def valid_ports(self, tag: Tuple[str, str], field: str) -> None:
        """vocabulary._port on every value of a map: decimal 0..65535 as a number, others dropped."""
        t = tag[0]
        in_range = "0*(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
        self._each_value((t, tag[1] + ":range"), field, "gsub", pattern=f"^(?!{in_range}\\z){_ANY}*\\z",
                         replacement="", desc="digits only, 0..65535")
        self._each_value((t, tag[1] + ":number"), field, "convert", type="long",
                         on_failure=self._drop_entry((t, tag[1] + ":invalid")))

    # ------------------------------------------------------------------ envelope
    def envelope_stage(self) -> None:
        ident = self.defn.identity
        prefer = ident.get("prefer")
        fields = list(ident.get("fingerprint_fields") or [])
        if prefer:
            self.set_copy(("identity", prefer), _EVENT_ID, f"{_EV}.{prefer}", desc="the SaaS hash when present")
        for name in fields:
            self.set_copy(("identity", f"{name}:copy"), f"{_FP}.{name}", f"{_EV}.{name}", cond=_absent(_EVENT_ID))
        self.b.add("foreach", ("identity", "strings"), cond=_is(_FP, "Map"), field=_FP,
                   processor=self.b.make("convert", ("identity", "strings:convert"), field="_ingest._value",
                                         type="string"),
                   desc="values as strings, like integrations.identity.event_id")
        self.b.add("fingerprint", ("identity", "fingerprint"), cond=_absent(_EVENT_ID),
                   fields=[f"{_FP}.{n}" for n in fields], target_field=_EVENT_ID,
                   method=ident.get("fingerprint_method", "SHA-256"), ignore_missing=True)
        self.b.add("set", ("envelope", "ingested"), field=_EVENT_INGESTED, value=_mustache("_ingest.timestamp"))
        keep = self.settings.get("keep_original") or {}
        streams = [s for s, on in keep.items() if on]
        keep_cond = _or(*(f"{_ref(_F + '.stream')} == {_lit(s)}" for s in streams),
                        f"{_is(_TAGS, 'List')} && {_ref(_TAGS)}.contains({_lit(_PRESERVE_ORIGINAL)})")
        self.b.add("set", ("settings", "keep_original"), cond=_and(_present(_MSG), keep_cond), field=_EVENT_ORIGINAL,
                   copy_from=_MSG, override=False,
                   desc="keep_original per stream; logs also with the tag preserve_original_event")
        self.b.add("set", ("envelope", "extra"), cond=f"{_is(_RAW, 'Map')} && !{_ref(_RAW)}.isEmpty()", field=_EXTRA,
                   copy_from=_RAW, desc="keys that are not canonical fields")
        self.b.add("remove", ("cleanup", "scratch"), field=SCRATCH, ignore_missing=True)


# ----------------------------------------------------------------------------- pipelines


def _time_targets(defn: Definition) -> List[str]:
    """The ECS fields of the rule fed by ``{event_time: true}`` (``@timestamp``)."""
    return [t for r in defn.rules if any(s.kind == "event_time" for s in r.sources) for t in r.ecs]


def _error_handlers(b: _Builder, defn: Definition, keep_original: bool) -> List[Dict[str, Any]]:
    procs = [
        b.make("append", ("on_failure", "error-message"), field=_ERROR_MESSAGE, value=_ON_FAILURE_TEXT),
        b.make("set", ("on_failure", "kind"), field=_EVENT_KIND, value=_PIPELINE_ERROR),
    ]
    procs.append(b.make("set", ("on_failure", "ingested"), field=_EVENT_INGESTED, value=_mustache("_ingest.timestamp")))
    for target in _time_targets(defn):
        procs.append(b.make("set", ("on_failure", f"time:{target}"), field=target, override=False,
                            value=_mustache("_ingest.timestamp"),
                            desc="data streams reject documents without a timestamp"))
    if keep_original:
        procs.append(b.make("set", ("on_failure", "original"), field=_EVENT_ORIGINAL, copy_from=_MSG,
                            ignore_empty_value=True, override=False))
    procs += [
        b.make("append", ("on_failure", "tag"), field=_TAGS, value=_PRESERVE_ORIGINAL, allow_duplicates=False),
        b.make("remove", ("on_failure", "scratch"), field=SCRATCH, ignore_missing=True),
    ]
    return procs


def _datasets(defn: Definition) -> Dict[str, str]:
    """stream -> dataset, by running the stream values through the rule that writes event.dataset."""
    fact = next(f for f in defn.facts if f.name == "stream")
    values = set()
    for name, params in fact.transforms:
        if name == "lookup":
            values |= {v for v in defn.tables[params["table"]].rows.values() if v is not None}
    if fact.fallback:
        values |= {fact.fallback["then"], fact.fallback["else"]}
    rule = next(r for r in defn.rules if "event.dataset" in r.ecs)
    out = {}
    for stream in sorted(values):
        v: Any = stream
        for name, params in rule.transforms:
            v = TRANSFORMS[name].build(params, defn.tables)(v)
        out[stream] = str(v)
    return out


def pipeline_ids(defn: Definition) -> Dict[str, str]:
    """``{"common": id, <stream>: id, ...}`` for this package version."""
    ds_type = defn.constants_ecs["data_stream.type"]
    module = defn.constants_ecs["event.module"]
    version = integrations.__version__
    ids = {"common": f"{ds_type}-{module}.common-{version}"}
    for stream, dataset in _datasets(defn).items():
        ids[stream] = f"{ds_type}-{dataset}-{version}"
    return ids


def render_pipelines(defn: Definition) -> Dict[str, Dict[str, Any]]:
    """``{"common"|<stream>: {"name": id, "body": pipeline body}}``."""
    ids = pipeline_ids(defn)
    t = _Translator(defn)
    processors = t.build()
    eb = _Builder()
    common = {
        "description": f"AccuKnox / KubeArmor events -> ECS {defn.ecs_version}, generated from the mapping "
                       f"definition (severity preset {defn.settings.get('severity_preset')!r})",
        "processors": processors,
        "on_failure": _error_handlers(eb, defn, True),
        "_meta": {"managed_by": "accuknox-siem-integrations", "version": integrations.__version__},
    }
    eb.finish()
    out = {"common": {"name": ids["common"], "body": common}}
    ds_type = defn.constants_ecs["data_stream.type"]
    for stream, dataset in _datasets(defn).items():
        b = _Builder()
        b.add("pipeline", ("dispatch", "common"), name=ids["common"],
              desc="the mapping (shared by the alert and log data streams)")
        b.add("pipeline", ("dispatch", "custom"), name=f"{ds_type}-{dataset}@custom", ignore_missing_pipeline=True,
              desc="optional user hook")
        body = {
            "description": f"{ds_type}-{dataset}: calls {ids['common']} then the optional @custom pipeline",
            "processors": b.procs,
            "on_failure": _error_handlers(b, defn, False),
            "_meta": {"managed_by": "accuknox-siem-integrations", "version": integrations.__version__},
        }
        b.finish()
        out[stream] = {"name": ids[stream], "body": body}
    return out


def _dump(obj: Dict[str, Any]) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_CACHE: Dict[int, Tuple[Definition, Dict[str, Dict[str, Any]]]] = {}


def _rendered(defn: Definition) -> Dict[str, Dict[str, Any]]:
    hit = _CACHE.get(id(defn))
    if hit is None or hit[0] is not defn:
        hit = (defn, render_pipelines(defn))
        _CACHE.clear()
        _CACHE[id(defn)] = hit
    return hit[1]


@artifact("elastic_ingest/ingest_pipelines/logs-accuknox.common.json")
def render_common(defn: Definition) -> str:
    """The shared pipeline (all mapping logic)."""
    return _dump(_rendered(defn)["common"])


@artifact("elastic_ingest/ingest_pipelines/logs-accuknox.alert.json")
def render_alert(defn: Definition) -> str:
    """The alert data stream's default pipeline."""
    return _dump(_rendered(defn)["alert"])


@artifact("elastic_ingest/ingest_pipelines/logs-accuknox.log.json")
def render_log(defn: Definition) -> str:
    """The log data stream's default pipeline."""
    return _dump(_rendered(defn)["log"])
