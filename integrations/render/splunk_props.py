"""Splunk ``props.conf``, ``transforms.conf`` and the severity lookup CSV from the mapping definition.

Consumes: the definition (CIM targets of its rules, facts, tables, settings) through
:class:`~integrations.render.splunk_translate.Translator`, and the route helper
fields of :mod:`integrations.render.splunk_knowledge`. Produces, under
``splunk_app/package/``:

* ``default/props.conf`` - one stanza per sourcetype (:data:`SOURCETYPES`), all
  with the same content, generated once: line breaking and timestamp keys
  (``cim-mapping.md`` §5), ``KV_MODE = json``, then for every CIM field the
  definition targets exactly one key:

  - ``FIELDALIAS-<rule-id>`` when the field is one rule's plain copy of one raw
    field (no condition, no default, at most ``string``);
  - ``LOOKUP-<rule-id>`` for the severity level: an ``EVAL-accuknox_severity_key``
    computes the key from the raw fields and the editable CSV gives the level
    (lookups run after ``EVAL``, and nothing else reads ``severity``);
  - ``EVAL-<cim_field>`` otherwise: the coalesce of the field's rules in file
    order, facts inlined (:mod:`~integrations.render.splunk_translate`);

  plus ``EVAL-accuknox_<fact>`` helpers the eventtypes test. A comment above every
  key names the rule ids and the facts inlined into it.
* ``default/transforms.conf`` - the severity lookup definition;
* ``lookups/accuknox_kubearmor_severity.csv`` - the configured preset's scale,
  the default level and the SystemEvent notice level.

Timestamps: ``TIME_FORMAT = %Y-%m-%dT%H:%M:%S.%6N`` is KubeArmor's own
microsecond ``UpdatedTime``. AccuKnox SaaS rows can carry milliseconds
(``...33.906Z``); whether ``%6N`` reads three digits is not confirmed without a
live Splunk. The modular input sets each event's time itself, so only raw-text
inputs depend on it.
"""

from __future__ import annotations

import csv
import io
from typing import Dict, List, Optional, Sequence, Set, Tuple

from integrations.mapping.definition import Definition, Step
from integrations.render import artifact
from integrations.render.splunk_knowledge import BANNER, route_helpers
from integrations.render.splunk_translate import (
    DEFAULT_FIELD_COLLISIONS,
    LIST_FIELDS,
    OBJECT_FIELDS,
    Translator,
    UntranslatableError,
)

__all__ = ["Key", "SOURCETYPES", "SEVERITY_LOOKUP", "props_keys", "props_conf", "transforms_conf", "severity_csv"]

APP = "splunk_app/package"
SOURCETYPES: Tuple[str, ...] = ("accuknox:kubearmor:alert", "accuknox:kubearmor:log")
SEVERITY_LOOKUP = "accuknox_kubearmor_severity"
SEVERITY_KEY_FIELD = "accuknox_severity_key"
SEVERITY_CSV = f"{SEVERITY_LOOKUP}.csv"

#: Index-time and extraction settings (cim-mapping.md section 5); identical for every sourcetype.
SOURCETYPE_SETTINGS: Tuple[Tuple[str, str], ...] = (
    ("SHOULD_LINEMERGE", "false"),
    ("LINE_BREAKER", r"([\r\n]+)"),
    ("TRUNCATE", "200000"),
    ("TIME_PREFIX", r'"UpdatedTime"\s*:\s*"'),
    ("TIME_FORMAT", "%Y-%m-%dT%H:%M:%S.%6N"),
    ("MAX_TIMESTAMP_LOOKAHEAD", "40"),
    ("TZ", "UTC"),
    ("KV_MODE", "json"),
)
_ALIAS_TRANSFORMS = {"copy", "string"}


class Key:
    """One generated props.conf key with the ids it comes from."""

    __slots__ = ("kind", "name", "value", "comment", "outputs")

    def __init__(self, kind: str, name: str, value: str, comment: str, outputs: Sequence[str]) -> None:
        self.kind = kind          # FIELDALIAS | EVAL | LOOKUP
        self.name = name          # the part after "<kind>-"
        self.value = value
        self.comment = comment
        self.outputs = tuple(outputs)

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.name}"


def _facts_used(defn: Definition, steps: Sequence[Step]) -> List[str]:
    """Ids of the facts a set of steps reads, directly or through other facts (definition order)."""
    by_name = {f.name: f for f in defn.facts}
    seen: Set[str] = set()

    def visit(step: Step) -> None:
        refs = list(step.sources) + list(step.inputs)
        for cond in step.when + step.unless:
            refs.extend(cond.refs)
        names = [r.path[0] for r in refs if r.kind == "fact"]
        if step.fallback:
            names.extend(r[1:].split(".")[0] for r in step.fallback["present_any"] if r.startswith("$"))
        for name in names:
            if name not in seen and name in by_name:
                seen.add(name)
                visit(by_name[name])

    for s in steps:
        visit(s)
    return [f.id for f in defn.facts if f.name in seen]


def _comment(target: str, rules: Sequence[Step], facts: Sequence[str], note: str = "") -> str:
    ids = ", ".join(r.id for r in rules)
    text = f"{target} <- rule{'s' if len(rules) > 1 else ''} {ids}"
    if facts:
        text += f" (facts inlined: {', '.join(facts)})"
    return text + (f"; {note}" if note else "")


def _alias_source(rule: Step) -> Optional[str]:
    """The raw field a rule copies unchanged (a safe FIELDALIAS), else ``None``."""
    if rule.when or rule.unless or rule.default is not None or rule.inputs or len(rule.sources) != 1:
        return None
    src = rule.sources[0]
    if src.kind != "field" or len(src.path) != 1:
        return None
    name = src.path[0]
    if name in LIST_FIELDS or name in OBJECT_FIELDS or name.lower() in DEFAULT_FIELD_COLLISIONS:
        return None
    if not all(t in _ALIAS_TRANSFORMS for t, _p in rule.transforms):
        return None
    return name


def props_keys(defn: Definition) -> List[Key]:
    """Every mapping key of the sourcetype stanza, in definition order of the CIM fields."""
    tr = Translator(defn)
    keys: List[Key] = []
    aliases: Dict[str, Tuple[Step, List[Tuple[str, str]]]] = {}
    for target in defn.cim_targets():
        rules = tr.rules_for(target)
        severity = [r for r in rules if tr.severity_fact(r) is not None]
        if severity:
            if len(rules) != 1:
                raise UntranslatableError(f"rules {[r.id for r in rules]}: the severity LOOKUP must be the only "
                                          f"rule of {target!r}")
            rule = rules[0]
            fact = tr.severity_fact(rule)
            assert fact is not None  # noqa: S101 - checked just above
            key_expr, _rows = tr.severity_key(fact)
            facts = _facts_used(defn, [rule])
            keys.append(Key("EVAL", SEVERITY_KEY_FIELD, key_expr.spl(),
                            f"{SEVERITY_KEY_FIELD} <- fact {fact.id} (lookup key of rule {rule.id}; facts inlined: "
                            f"{', '.join(facts)})", [SEVERITY_KEY_FIELD]))
            out = "severity" if target == "severity" else f"severity AS {target}"
            keys.append(Key("LOOKUP", rule.id, f"{SEVERITY_LOOKUP} {SEVERITY_KEY_FIELD} OUTPUT {out}",
                            _comment(target, rules, [], f"scale in lookups/{SEVERITY_CSV}"), [target]))
            continue
        source = _alias_source(rules[0]) if len(rules) == 1 else None
        if source is not None:
            rule = rules[0]
            if rule.id not in aliases:
                aliases[rule.id] = (rule, [])
                keys.append(Key("FIELDALIAS", rule.id, "", "", []))
            aliases[rule.id][1].append((source, target))
            continue
        expr = tr.target(target)
        keys.append(Key("EVAL", target, expr.spl(), _comment(target, rules, _facts_used(defn, rules)), [target]))
    for field, expr, ids in route_helpers(defn):
        steps = [f for f in defn.facts if f.id in ids]
        keys.append(Key("EVAL", field, expr.spl(),
                        f"{field} <- fact {', '.join(ids)} (eventtype helper; facts inlined: "
                        f"{', '.join(_facts_used(defn, steps))})", [field]))
    for i, k in enumerate(keys):
        if k.kind == "FIELDALIAS":
            rule, pairs = aliases[k.name]
            value = " ".join(f"{src} AS {dst}" for src, dst in pairs)
            comment = _comment(", ".join(d for _s, d in pairs), [rule], [], "plain copy")
            keys[i] = Key("FIELDALIAS", k.name, value, comment, [d for _s, d in pairs])
    names = [k.key for k in keys]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise UntranslatableError(f"props.conf keys generated twice: {sorted(dupes)}")
    return keys


def _stanza_body(defn: Definition) -> str:
    lines = ["# Line breaking and timestamps (cim-mapping.md section 5). The modular input sets _time itself;",
             "# TIME_FORMAT reads KubeArmor's microseconds - verify millisecond UpdatedTime in a live Splunk.",
             "# KV_MODE = json only (no INDEXED_EXTRACTIONS: values would be extracted twice)."]
    lines.extend(f"{k} = {v}" for k, v in SOURCETYPE_SETTINGS)
    for key in props_keys(defn):
        lines.append("")
        lines.append(f"# {key.comment}")
        lines.append(f"{key.key} = {key.value}")
    return "\n".join(lines) + "\n"


@artifact(f"{APP}/default/props.conf")
def props_conf(defn: Definition) -> str:
    """props.conf: one identical stanza per sourcetype."""
    body = _stanza_body(defn)
    head = BANNER.format(what="CIM rules, facts and tables") + (
        "# Search-time CIM mapping: FIELDALIAS for plain copies, one EVAL per CIM field (the rules of that\n"
        "# field in definition order, first non-empty wins, facts inlined because an EVAL cannot read another\n"
        "# EVAL), LOOKUP for the admin-editable severity scale. Each comment names the rule and fact ids.\n"
    )
    return head + "".join(f"\n[{st}]\n{body}" for st in SOURCETYPES)


@artifact(f"{APP}/default/transforms.conf")
def transforms_conf(defn: Definition) -> str:
    """transforms.conf: the severity lookup."""
    tr = Translator(defn)
    ids = [r.id for r in defn.rules if r.cim and tr.severity_fact(r) is not None]
    facts = sorted({tr.severity_fact(r).id for r in defn.rules if r.cim and tr.severity_fact(r) is not None})  # type: ignore[union-attr]
    return BANNER.format(what="severity presets and settings") + (
        f"\n# rule {', '.join(ids)} (fact {', '.join(facts)}): severity level per key; the CSV is rendered from\n"
        f"# tables.severity_presets[settings.severity_preset] and may be edited by admins.\n"
        f"[{SEVERITY_LOOKUP}]\nfilename = {SEVERITY_CSV}\ncase_sensitive_match = true\nmax_matches = 1\n"
    )


@artifact(f"{APP}/lookups/{SEVERITY_CSV}")
def severity_csv(defn: Definition) -> str:
    """The severity scale: ``accuknox_severity_key,severity``."""
    tr = Translator(defn)
    rows: List[Tuple[str, str]] = []
    for rule in defn.rules:
        fact = tr.severity_fact(rule) if rule.cim else None
        if fact is not None:
            rows = tr.severity_key(fact)[1]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([SEVERITY_KEY_FIELD, "severity"])
    w.writerows(rows)
    return buf.getvalue()
