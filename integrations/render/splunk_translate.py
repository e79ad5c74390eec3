"""Translate the mapping definition's facts, rules and conditions into SPL ``eval`` expressions.

Consumes: a validated :class:`~integrations.mapping.definition.Definition`.
Produces: :mod:`integrations.render.spl` expressions that compute, from the raw
JSON fields Splunk extracts at search time, exactly what the Python mapper
(:mod:`integrations.mapping.mapper`) computes. ``splunk_props`` turns them into
``EVAL-``/``FIELDALIAS-``/``LOOKUP-`` keys, ``splunk_knowledge`` into eventtypes.

How the mapper's semantics become SPL:

* a CIM field with rules r1..rn (file order) is ``coalesce(R1, ..., Rn)``; each
  ``Ri = if(<when>, if(<unless>, null(), <value>), null())``, its value the
  sources' coalesce through the transform chain, then ``default``/``fallback``;
* ``""`` is "no value" for the mapper, not for SPL's ``coalesce``, so every value
  that may be empty passes through ``nullif(x, "")`` (:func:`spl.nonempty`);
* facts are inlined where they are used (an ``EVAL`` cannot read another's result);
* each transform of the vocabulary has a translator in :data:`SCALAR`; object
  facts (``kv``, ``network``, ``mitre``) are read key by key
  (``$data.syscall``) through :mod:`integrations.render.splunk_objects`;
* anything without a faithful translation raises :class:`UntranslatableError`
  naming the rule and the transform - nothing is approximated silently.

Known, documented divergences (PCRE vs Python, not fixable in SPL): Splunk's
regex ``\\s``/``\\d`` are ASCII-only, Python's whitespace and digit tests are
Unicode-aware (``str.split``/``strip``/``isdigit``), so command words, ``kv``
tokens and integers that hinge on non-ASCII spaces or digits can differ; and the
mapper raises on an integer text like ``--5`` where SPL yields null.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from integrations.errors import MappingDefinitionError
from integrations.mapping.definition import INT_FIELDS, Condition, Definition, Source, Step
from integrations.mapping.vocabulary import TRANSFORMS, Table
from integrations.render import spl
from integrations.render.spl import NULL, Expr, Switch

__all__ = ["DEFAULT_FIELD_COLLISIONS", "Translator", "UntranslatableError", "table_switch"]


class UntranslatableError(MappingDefinitionError):
    """A rule or fact uses something that has no faithful SPL translation (names the rule and transform)."""


#: Splunk default fields; an extracted JSON key with the same name (any case) is renamed
#: ``extracted_<Key>`` by Splunk (AccuKnox's app reads ``extracted_Source``), so rules read both.
DEFAULT_FIELD_COLLISIONS = frozenset({"host", "source", "sourcetype", "index"})

#: Canonical fields holding a list or an object (never read as one text value).
LIST_FIELDS = frozenset({"ATags"})
OBJECT_FIELDS = frozenset({"EventData", "Owner", "ExecEvent"})

#: Translation of a lookup keyed by a long inlined expression uses a replace chain (the key once)
#: instead of ``case()`` (the key once per distinct value); below this size ``case()`` is clearer.
CASE_KEY_LIMIT = 60

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_PY_ONLY_REGEX = re.compile(r"\\[ZAvhKGQEpPxXNu]|\(\?P|\(\?>|\(\?<[A-Za-z]|\(\?[a-zA-Z]+\)")


def _fail(where: str, msg: str) -> UntranslatableError:
    return UntranslatableError(f"{where}: {msg}")


Scalar = Callable[["Translator", Expr, Mapping[str, Any], str], Expr]


class Translator:
    """SPL expressions for one definition (facts memoized; expressions are immutable)."""

    def __init__(self, defn: Definition) -> None:
        self.defn = defn
        self.tables: Mapping[str, Any] = defn.tables
        self.settings = defn.settings
        self.facts: Dict[str, Step] = {f.name: f for f in defn.facts if f.name}
        self._fact_values: Dict[str, Expr] = {}
        self._rule_values: Dict[str, Expr] = {}

    # ------------------------------------------------------------------ targets
    def rules_for(self, target: str) -> List[Step]:
        """The rules writing CIM field ``target``, in file order."""
        return [r for r in self.defn.rules if target in r.cim]

    def target(self, target: str) -> Expr:
        """The value of CIM field ``target``: the first rule with a non-empty value wins."""
        return spl.coalesce(*[self.rule(r) for r in self.rules_for(target)])

    def rule(self, rule: Step) -> Expr:
        """One rule's value (null when its conditions fail or it yields nothing)."""
        if rule.id not in self._rule_values:
            self._rule_values[rule.id] = self.step(rule, f"rule {rule.id}")
        return self._rule_values[rule.id]

    # ------------------------------------------------------------------ steps
    def step(self, step: Step, where: str) -> Expr:
        """A fact's or rule's complete value: sources, transforms, default/fallback, conditions."""
        if step.inputs:
            name, params = step.transforms[0]
            multi = MULTI.get(name)
            if multi is None:
                raise _fail(where, f"transform {name!r} cannot be rendered to SPL as a value")
            value = multi(self, [self.source(s, where) for s in step.inputs], params, where)
            value = self.chain(value, step.transforms[1:], where, after=name)
        else:
            value = spl.coalesce(*[self.source(s, where) for s in step.sources])
            value = self.chain(value, step.transforms, where)
        if step.fallback is not None:
            fb = step.fallback
            refs = [self.source(self._ref(r, where), where) for r in fb["present_any"]]
            value = spl.coalesce(value, spl.if_(spl.isnotnull(spl.coalesce(*refs)), self.constant(fb["then"], where),
                                                self.constant(fb["else"], where)))
        elif step.default is not None:
            value = spl.coalesce(value, self.constant(step.default, where))
        return self.guard(step, value, where)

    def guard(self, step: Step, value: Expr, where: str) -> Expr:
        """``value`` under the step's ``when`` (all) and ``unless`` (any) conditions."""
        if step.unless:
            value = spl.if_(spl.or_(*[self.condition(c, where) for c in step.unless]), NULL, value)
        if not step.when:
            return value
        whens = [self.condition(c, where) for c in step.when]
        switches = [w for w in whens if isinstance(w, Switch) and w.condition]
        if len(switches) == 1:
            # a condition that is itself a switch on the event action ($peer): push the value into its
            # branches, so the action is compared once per form instead of once for the condition and
            # once more for the value
            sw = switches[0]
            others = [w for w in whens if w is not sw]
            known = list(sw.guard.args) if isinstance(sw.guard, spl.Op) and sw.guard.op == "AND" else [sw.guard]
            def branch(key: str, cond: Expr) -> Expr:
                test = spl.and_(cond, *[spl.specialize(o, sw, key) for o in others])
                inner = spl.assume(spl.specialize(value, sw, key), known + spl.conjuncts(test))
                return spl.assume(spl.if_(test, inner), known)

            return sw.map(branch)
        plain = spl.and_(*[w.plain() if isinstance(w, Switch) else w for w in whens])
        if isinstance(value, Switch) and not value.condition:
            return value.with_guard(plain)
        return spl.if_(plain, value)

    def chain(self, value: Expr, transforms: Sequence[Tuple[str, Dict[str, Any]]], where: str,
              after: Optional[str] = None) -> Expr:
        """``value`` through a transform chain (null stops the chain, as in the mapper)."""
        prev = after
        for name, params in transforms:
            fn = SCALAR.get(name)
            if fn is None:
                raise _fail(where, f"transform {name!r} cannot be rendered to SPL "
                                   f"({NO_TRANSLATION.get(name, 'no SPL translation')})")
            if prev in MAY_YIELD_EMPTY and name in EMPTY_SENSITIVE:
                raise _fail(where, f"transform {name!r} after {prev!r}: the mapper passes an empty text on, "
                                   "SPL cannot tell it from no value")
            here = f"{where}: transform {name!r}"
            if isinstance(value, Switch) and not value.condition:
                # per form: constants fold at render time, and the selector is not repeated by the transform
                value = value.map(lambda _k, v, fn=fn, params=params, here=here: fn(self, v, params, here))
            else:
                value = fn(self, value, params, here)
            prev = name
        return value

    # ------------------------------------------------------------------ sources
    def _ref(self, text: str, where: str) -> Source:
        if text.startswith("$"):
            return Source("fact", tuple(text[1:].split(".")))
        return Source("field", tuple(text.split(".")))

    def source(self, src: Source, where: str) -> Expr:
        """One ``from``/``inputs`` entry as a value (null when empty)."""
        if src.kind == "field":
            return self.field(src.path, where)
        if src.kind == "fact":
            return self.fact(src.path, where)
        if src.kind == "value":
            return self.constant(src.value, where)
        if src.kind == "setting":
            return self.constant(self.settings.get(src.value), where)
        if src.kind == "format":
            return self.format_source(src, where)
        if src.kind == "cim_id":
            return self.cim_id(where)
        raise _fail(where, f"a {src.kind!r} source has no SPL translation")

    def field(self, path: Tuple[str, ...], where: str) -> Expr:
        """A canonical field's text (``'Owner.Name'``; ``Source`` also as ``extracted_Source``)."""
        if path[0] in LIST_FIELDS or (len(path) == 1 and path[0] in OBJECT_FIELDS):
            raise _fail(where, f"field {'.'.join(path)!r} is a list or object; it has no single SPL value")
        name = ".".join(path)
        refs = [spl.field(name)]
        if name.lower() in DEFAULT_FIELD_COLLISIONS:
            refs.append(spl.field(f"extracted_{name}"))
        return spl.coalesce(*[spl.nonempty(r) for r in refs])

    def raw_text(self, path: Tuple[str, ...], where: str) -> Expr:
        """A field's text with ``""`` for a missing field (Python's ``"" if v is None else str(v)``)."""
        if path[0] in LIST_FIELDS or (len(path) == 1 and path[0] in OBJECT_FIELDS):
            raise _fail(where, f"field {'.'.join(path)!r} is a list or object; its Python text has no SPL form")
        name = ".".join(path)
        refs: List[Expr] = [spl.field(name)]
        if name.lower() in DEFAULT_FIELD_COLLISIONS:
            refs.append(spl.field(f"extracted_{name}"))
        return spl.coalesce(*refs, spl.Lit(""))

    def constant(self, value: Any, where: str) -> Expr:
        if isinstance(value, bool):
            return spl.lit("true" if value else "false")
        if isinstance(value, (str, int)):
            return spl.lit(value)
        if value is None:
            return NULL
        raise _fail(where, f"constant {value!r} has no SPL form (only text, integers and booleans)")

    def fact(self, path: Tuple[str, ...], where: str) -> Expr:
        """``$name`` (inlined) or ``$name.key`` of an object fact."""
        name = path[0]
        step = self.facts.get(name)
        if step is None:
            raise _fail(where, f"unknown fact ${name}")
        if len(path) == 1:
            if step.transforms and step.transforms[-1][0] in OBJECT_TRANSFORMS:
                raise _fail(where, f"fact ${name} is an object; read one of its keys")
            if name not in self._fact_values:
                self._fact_values[name] = self.step(step, f"fact {step.id}")
            return self._fact_values[name]
        if len(path) != 2:
            raise _fail(where, f"${'.'.join(path)}: only one level of keys is translated")
        from integrations.render.splunk_objects import object_key

        return object_key(self, step, path[1], f"{where} (fact {step.id})")

    def fact_step(self, name: str) -> Step:
        return self.facts[name]

    def format_source(self, src: Source, where: str) -> Expr:
        """``{format: 'a {X} b', requires: [...], unless_value: {...}}``."""
        template = str(src.value)
        pieces: List[Expr] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(template):
            if m.start() > pos:
                pieces.append(spl.Lit(template[pos:m.start()]))
            pieces.append(self.raw_text(tuple(m.group(1).split(".")), where))
            pos = m.end()
        if pos < len(template):
            pieces.append(spl.Lit(template[pos:]))
        if "{" in _PLACEHOLDER.sub("", template) or "}" in _PLACEHOLDER.sub("", template):
            raise _fail(where, f"format {template!r}: only {{Field}} placeholders are translated")
        text = spl.nonempty(spl.replace(spl.concat(*pieces), r"^\s+|\s+\z", ""))
        required = [spl.isnotnull(self.field(p, where)) for p in src.requires]
        skip: List[Expr] = []
        for key, value in src.unless_value.items():
            path = tuple(key.split("."))
            subject = self.field(path, where) if path in src.requires else spl.coalesce(self.field(path, where),
                                                                                      spl.Lit("None"))
            skip.append(spl.eq(subject, str(value)))
        if skip:
            text = spl.if_(spl.or_(*skip), NULL, text)
        return spl.if_(spl.and_(*required), text) if required else text

    def cim_id(self, where: str) -> Expr:
        """``HashID`` when present, else md5 of the ``|``-joined fingerprint fields (``Mapper.cim_id``)."""
        ident = self.defn.identity
        prefer = ident.get("prefer", "HashID")
        parts: List[Expr] = []
        for i, f in enumerate(ident.get("fingerprint_fields", ())):
            if i:
                parts.append(spl.Lit("|"))
            parts.append(self.raw_text((f,), where))
        digest = spl.call("md5", spl.concat(*parts), nonempty=True)
        return spl.coalesce(self.field((prefer,), where), digest)

    # ------------------------------------------------------------------ conditions
    def condition(self, cond: Condition, where: str) -> Expr:
        """A ``when``/``unless`` entry as an SPL condition (true, false or null)."""
        if cond.op == "present_any":
            return spl.isnotnull(spl.coalesce(*[self.source(r, where) for r in cond.refs]))
        ref = cond.refs[0]
        value = self.source(ref, where)
        expected = cond.expected
        if cond.op == "eq" and isinstance(expected, bool):
            if ref.kind != "fact":
                raise _fail(where, f"a boolean condition on field {'.'.join(ref.path)} (JSON 1 == true in Python)")
            if isinstance(value, Switch):
                return value.map(lambda _k, v: spl.is_true_of(v) if expected else spl.eq(v, "false"),
                                 condition=True)
            return spl.is_true_of(value) if expected else spl.eq(value, "false")
        values = [expected] if cond.op == "eq" else list(expected)
        if not all(isinstance(v, str) and v for v in values):
            raise _fail(where, f"condition on {'.'.join(ref.path)}: only non-empty texts are translated, "
                               f"got {expected!r}")
        self._require_text(ref, where)
        # a text comparison is false for "" as for null, so the nullif() wrapper is not needed here
        return spl.in_(spl.strip_nullif(value), values, case_insensitive=True)

    def _require_text(self, ref: Source, where: str) -> None:
        # the mapper compares texts only (isinstance(v, str)); a number never equals "5" there
        if ref.kind == "field" and ref.path[0] in INT_FIELDS:
            raise _fail(where, f"a text condition on integer field {ref.path[0]} (never true in the mapper)")
        if ref.kind == "fact" and len(ref.path) == 1 and self.facts[ref.path[0]].kind not in ("keyword", "any"):
            raise _fail(where, f"a text condition on ${ref.path[0]}, which is not text")

    # ------------------------------------------------------------------ severity
    def severity_fact(self, rule: Step) -> Optional[Step]:
        """The ``severity_level`` fact when ``rule`` just copies it (rendered as a LOOKUP), else ``None``."""
        if len(rule.sources) != 1 or rule.inputs or rule.sources[0].kind != "fact" or len(rule.sources[0].path) != 1:
            return None
        fact = self.facts.get(rule.sources[0].path[0])
        if fact is None or not any(name == "severity_level" for name, _p in fact.transforms):
            return None
        if rule.transforms or rule.when or rule.unless or rule.default is not None:
            raise _fail(f"rule {rule.id}", "a rule reading the severity level must copy it unchanged (a LOOKUP)")
        if [n for n, _p in fact.transforms] != ["severity_level"] or fact.inputs or fact.default is not None \
                or fact.fallback is not None:
            raise _fail(f"fact {fact.id}", "only `from: [...], transform: [severity_level]` is rendered")
        return fact

    def severity_key(self, fact: Step) -> Tuple[Expr, List[Tuple[str, str]]]:
        """The LOOKUP key for the ``severity_level`` ``fact`` and the CSV rows ``(key, level)``.

        The key names where the level comes from, so the CSV reads well and an admin
        edit means what it says: ``1``..``10`` for a KubeArmor Severity on the preset's
        scale; the name of a setting (``default_severity_level``) or of a fact whose
        value is a setting (``notice_level``) for those levels; and
        ``default_severity_level`` for an integer off the scale. Each row's level is
        computed here by the vocabulary's own ``severity_level`` function, so the CSV
        holds exactly what the mapper would produce.
        """
        where = f"fact {fact.id}"
        params = fact.transforms[0][1]
        tables = dict(self.tables)
        tables["__severity_preset__"] = self.settings.get("severity_preset")
        tables["__default_severity_level__"] = self.settings.get("default_severity_level")
        level = TRANSFORMS["severity_level"].build(params, tables)
        presets = tables.get(params["presets"])
        if not isinstance(presets, dict) or tables["__severity_preset__"] not in presets:
            raise _fail(where, f"severity preset {tables['__severity_preset__']!r} not found")
        scale = sorted(int(k) for k in presets[tables["__severity_preset__"]])
        rows: Dict[str, str] = {str(n): str(level(n)) for n in scale}
        off_scale = "default_severity_level"
        keys: List[Expr] = []
        for src in fact.sources:
            named = self._constant_source(src)
            if named is not None:
                name, value, guard_step = named
                rows[name] = str(level(value))
                key: Expr = spl.Lit(name)
                keys.append(self.guard(guard_step, key, where) if guard_step is not None else key)
                continue
            value_expr = self.source(src, where)
            if not value_expr.numeric:
                raise _fail(where, f"severity source {src!r}: only integers and settings are rendered")
            text = spl.call("tostring", value_expr, nonempty=True)
            keys.append(spl.case([(spl.match(text, "^(?:" + "|".join(str(n) for n in scale) + ")\\z"), text),
                                  (spl.isnotnull(value_expr), spl.Lit(off_scale))]))
            rows.setdefault(off_scale, str(level(max(scale) + 1)))
        return self.guard(fact, spl.coalesce(*keys), where), list(rows.items())

    def _constant_source(self, src: Source) -> Optional[Tuple[str, Any, Optional[Step]]]:
        """``(key name, value, fact)`` for a setting/constant source or a fact that is one, else ``None``."""
        if src.kind == "setting":
            return str(src.value), self.settings.get(src.value), None
        if src.kind == "value":
            return f"constant_{src.value}", src.value, None
        if src.kind == "fact" and len(src.path) == 1:
            f = self.facts[src.path[0]]
            if (len(f.sources) == 1 and f.sources[0].kind in ("setting", "value") and not f.transforms
                    and f.default is None and f.fallback is None and not f.inputs):
                inner = self._constant_source(f.sources[0])
                assert inner is not None  # noqa: S101 - a setting/constant source
                return str(f.name), inner[1], f
        return None

    # ------------------------------------------------------------------ tables
    def lookup(self, value: Expr, table_name: str, where: str, default: Any = ..., case_insensitive: Any = None
               ) -> Expr:
        """``table.get(value)`` with the table's default (or ``default``); null input stays null."""
        table = self.tables.get(table_name)
        if not isinstance(table, Table):
            raise _fail(where, f"table {table_name!r} is not a plain lookup table")
        ci = table.case_insensitive if case_insensitive is None else case_insensitive
        if default is ...:
            default = table.default
        rows: List[Tuple[str, Any]] = []
        for k, v in table.rows.items():
            if not isinstance(k, str):
                raise _fail(where, f"table {table_name!r}: key {k!r} is not text (Python matches it by type)")
            if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int))):
                raise _fail(where, f"table {table_name!r}: value {v!r} is not text")
            rows.append((k, v))
        return table_switch(value, rows, ci, default, where)


def _text(v: Any) -> Optional[str]:
    return None if v is None else str(v)


def table_switch(value: Expr, rows: Sequence[Tuple[str, Any]], ci: bool, default: Any, where: str) -> Expr:
    """A lookup of ``value`` in constant rows; ``case()`` for a short key, a ``replace()`` chain for a long one."""
    if value is NULL:
        return NULL
    folded: Dict[str, Any] = {}
    for k, v in rows:
        folded[k.lower() if ci else k] = v  # as Table._folded: a later row of the same folded key wins

    def at_render_time(key: spl.Lit) -> Expr:
        text = str(key.value)
        hit = folded.get(text.lower() if ci else text, ...)
        return spl.lit(_text(default if hit is ... else hit))

    constant = spl.lift(value, at_render_time)
    if constant is not None:
        return constant
    if value.numeric:
        value = spl.call("tostring", value, nonempty=True)
    subject = spl.strip_nullif(value)  # "" equals no key, so comparisons need no nullif (defaults do)
    groups: List[Tuple[Optional[str], List[str]]] = []
    for key, v in folded.items():
        out = _text(v)
        for g in groups:
            if g[0] == out:
                g[1].append(key)
                break
        else:
            groups.append((out, [key]))
    dflt = _text(default)
    if len(value.spl()) <= CASE_KEY_LIMIT:
        pairs = [(spl.in_(subject, keys, case_insensitive=ci), spl.lit(out)) for out, keys in groups]
        if dflt is not None:
            pairs.append((spl.isnotnull(value), spl.lit(dflt)))
        return spl.case(pairs)
    for out in [o for o, _k in groups] + [dflt]:
        if out is not None and (out.startswith("=") or "\\" in out):
            raise _fail(where, f"lookup value {out!r} cannot be written by a replace() chain")
    flags = "(?i)" if ci else ""
    chain = spl.concat(spl.Lit("="), value if dflt is not None else subject)
    for out, keys in groups:
        alts = "|".join(spl.pcre_escape(k) for k in keys)
        chain = spl.replace(chain, f"{flags}^=(?:{alts})\\z", out or "")
    chain = spl.replace(chain, r"^=[\s\S]*\z", dflt or "")
    return spl.nonempty(chain)


# --------------------------------------------------------------------------- scalar transforms


def _t_copy(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    return x


def _t_string(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    # field values are already text; numbers made in SPL need tostring (Python str(int))
    return spl.call("tostring", x, nonempty=True) if x.numeric else x


def _t_integer(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    return spl.call("tonumber", spl.replace(spl.strip_nullif(x), r"^(?:\s*(-?[0-9]+)\s*|[\s\S]*)\z", r"\1"),
                    nonempty=True, numeric=True)


def _t_integer_in_range(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    lo, hi = int(p["min"]), int(p["max"])
    if lo < 1 or hi - lo > 1000:
        raise _fail(where, f"integer_in_range {lo}..{hi}: only small ranges of positive integers are translated")
    alts = "|".join(str(n) for n in sorted(range(lo, hi + 1), key=lambda n: (-len(str(n)), n)))
    return spl.call("tonumber", spl.replace(spl.strip_nullif(x), f"^(?:\\s*0*({alts})\\s*|[\\s\\S]*)\\z", r"\1"),
                    nonempty=True, numeric=True)


def _t_lower(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    return spl.call("lower", x, nonempty=x.nonempty)


def _t_upper(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    return spl.call("upper", x, nonempty=x.nonempty)


#: vocabulary.basename: the first whitespace-separated word, trailing "/" dropped, its last segment
BASENAME = r"^(?:\s*(?:\S*/)?([^/\s]+)/*(?:\s[\s\S]*)?|[\s\S]*)\z"
#: vocabulary command_word: the first whitespace-separated word
COMMAND_WORD = r"^\s*(\S*)[\s\S]*\z"


def _t_basename(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    return spl.nonempty(spl.replace(spl.strip_nullif(x), BASENAME, r"\1"))


def _t_command_word(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    return spl.nonempty(spl.replace(spl.strip_nullif(x), COMMAND_WORD, r"\1"))


def _t_strip_prefix(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    return spl.nonempty(spl.replace(spl.strip_nullif(x), "(?i)^" + spl.pcre_escape(str(p["prefix"])), ""))


def _t_regex(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    pattern = str(p["pattern"])
    if _PY_ONLY_REGEX.search(pattern):
        raise _fail(where, f"regex {pattern!r} uses syntax whose meaning differs between Python and PCRE")
    try:
        groups = re.compile(pattern).groups
    except re.error as exc:
        raise _fail(where, f"regex {pattern!r}: {exc}") from None
    inner = pattern if groups else f"({pattern})"
    return spl.nonempty(spl.replace(spl.strip_nullif(x), f"^(?:[\\s\\S]*?(?:{inner})[\\s\\S]*|[\\s\\S]*)\\z", r"\1"))


def _t_format(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    template = str(p["template"])
    parts = template.split("{0}")
    if any("{" in s or "}" in s for s in parts):
        raise _fail(where, f"format {template!r}: only '{{0}}' placeholders are translated")
    text = x if not x.numeric else spl.call("tostring", x, nonempty=True)
    pieces: List[Expr] = []
    for i, s in enumerate(parts):
        if i:
            pieces.append(text)
        if s:
            pieces.append(spl.Lit(s))
    return spl.if_(spl.isnotnull(x), spl.concat(*pieces)) if len(pieces) > 1 else x


def _t_lookup(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    return tr.lookup(x, str(p["table"]), where, default=p["default"] if "default" in p else ...)


def _t_flag_class(tr: Translator, x: Expr, p: Mapping[str, Any], where: str) -> Expr:
    table = tr.tables.get(str(p["table"]))
    if not isinstance(table, Table):
        raise _fail(where, f"table {p['table']!r} is not a plain table")
    flags = spl.call("upper", x, nonempty=x.nonempty)
    runs: List[Tuple[Any, List[str]]] = []  # consecutive rows with the same class merge (order decides)
    for flag, cls in table.rows.items():
        if not isinstance(flag, str) or not flag:
            raise _fail(where, f"flag {flag!r} is not a non-empty text")
        if runs and runs[-1][0] == cls:
            runs[-1][1].append(flag)
        else:
            runs.append((cls, [flag]))
    pairs: List[Tuple[Expr, Expr]] = []
    for cls, names in runs:
        alts = "|".join(spl.pcre_escape(n) for n in names)
        pairs.append((spl.match(flags, f"(?:^|[|,\\s])(?:{alts})(?:[|,\\s]|\\z)"), spl.lit(_text(cls))))
    if table.default is not None:
        pairs.append((spl.isnotnull(x), spl.lit(_text(table.default))))
    return spl.case(pairs)


SCALAR: Dict[str, Scalar] = {
    "copy": _t_copy,
    "string": _t_string,
    "integer": _t_integer,
    "integer_in_range": _t_integer_in_range,
    "lowercase": _t_lower,
    "uppercase": _t_upper,
    "basename": _t_basename,
    "command_word": _t_command_word,
    "strip_prefix": _t_strip_prefix,
    "regex": _t_regex,
    "format": _t_format,
    "lookup": _t_lookup,
    "flag_class": _t_flag_class,
}

#: why the other vocabulary entries have no scalar translation
NO_TRANSLATION = {
    "kv": "an object; read a key ($fact.key)",
    "network": "an object; read a key ($fact.key)",
    "mitre": "an object; read technique_id",
    "split_list": "a list; only read through a mitre fact",
    "args": "a list (no multivalue split with Python's whitespace rules in SPL)",
    "labels": "a list",
    "image": "an object",
    "date": "no SPL equivalent of the mapper's time parsing is needed for CIM",
    "dirname": "not used for CIM",
    "extension": "not used for CIM",
    "severity_level": "rendered as a LOOKUP (Translator.severity_key)",
}

#: transforms whose output the mapper may pass on as "" (a regex group that matched nothing) ...
MAY_YIELD_EMPTY = frozenset({"regex"})
#: ... and transforms that turn "" into a value (SPL sees null there, so the pair is refused)
EMPTY_SENSITIVE = frozenset({"lookup", "keyed_lookup", "format", "flag_class", "severity_level"})

OBJECT_TRANSFORMS = frozenset({"kv", "network", "mitre", "split_list", "labels", "image", "args"})


def _m_keyed_lookup(tr: Translator, inputs: List[Expr], p: Mapping[str, Any], where: str) -> Expr:
    """``keyed_lookup``: each key template over the inputs (missing -> ""), first row found, else default."""
    table = tr.tables.get(str(p["table"]))
    if not isinstance(table, Table):
        raise _fail(where, f"table {p['table']!r} is not a plain table")
    texts = [spl.coalesce(spl.call("tostring", x, nonempty=True) if x.numeric else x, spl.Lit("")) for x in inputs]
    rows = []
    for k, v in table.rows.items():
        if not isinstance(k, str):
            raise _fail(where, f"table {p['table']!r}: key {k!r} is not text")
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, (str, int)):
                raise _fail(where, f"table {p['table']!r}: value {v!r} is not text")
            rows.append((k, v))
    tries: List[Expr] = []
    for template in p["keys"]:
        parts: List[Expr] = []
        pos = 0
        try:
            for m in re.finditer(r"\{(\d+)\}", str(template)):
                if m.start() > pos:
                    parts.append(spl.Lit(str(template)[pos:m.start()]))
                parts.append(texts[int(m.group(1))])
                pos = m.end()
        except IndexError:
            continue  # the mapper skips a template naming a missing input
        if pos < len(str(template)):
            parts.append(spl.Lit(str(template)[pos:]))
        key = spl.concat(*parts)
        if "{" in re.sub(r"\{\d+\}", "", str(template)):
            raise _fail(where, f"key template {template!r}: only {{N}} placeholders are translated")
        tries.append(table_switch(key, rows, False, None, where))
    return spl.coalesce(*tries, spl.lit(_text(table.default)))


MULTI: Dict[str, Callable[[Translator, List[Expr], Mapping[str, Any], str], Expr]] = {
    "keyed_lookup": _m_keyed_lookup,
}
