"""Splunk CIM checks of one produced record, offline (test support, not product code).

Consumes a CIM record (``field -> value`` as the Python CIM mapper emits it; a
list is a multivalue field), a dataset path and a
:class:`~integrations.mapping.reference.CimReference`; returns human-readable
violations naming dataset and field. It reproduces what pytest-splunk-addon
6.4.0's ``test_cim_required_fields`` checks in a live Splunk
(``cim_tests/data_set.py``, ``field_test_adapter.py``, ``test_templates.py``):

* ``required`` fields: present, non-empty, single-valued, valid (an optional
  field may be multivalue; each value is checked);
* ``conditional`` fields: the same when the JSON ``condition`` holds for the
  record (:data:`CONDITIONS`); a conditional field without a condition is
  required (pytest-splunk-addon searches it on every event);
* a field's value is *valid* when its ``validity`` SPL (:data:`VALIDITY`)
  yields non-null, it is in ``expected_values`` and it is not one of
  pytest-splunk-addon's ``negative_values`` (``""``, ``-``, ``unknown``,
  ``null``, ``(null)``) – validity and expected values are also checked for
  optional fields that are present (stricter than pytest-splunk-addon, which
  only tests required/conditional ones);
* ``fields_cluster`` groups all present or all absent;
* no CommonFields.json name (Enterprise Security owns them; ``tag`` included)
  and no ``not_allowed_in_*`` dataset field in the record.

Expected values: pytest-splunk-addon wraps them in
``searchmatch("field IN (...)")``, which Splunk evaluates **case-insensitively**;
the data model JSON itself says nothing about case. This validator is exact
(case-sensitive) by default because the CIM documentation asks for lower-case
values and ``==`` in the validity expressions (``protocol=="ip"``) *is*
case-sensitive; pass ``case_sensitive=False`` for pytest-splunk-addon's rule.

The data model's field expression ``if(isnull(user) OR user="","unknown",user)``
(Endpoint.Processes ``user``, stated in the field comment; :data:`MODEL_EXPRESSIONS`)
is applied first: a missing or empty ``user`` becomes ``unknown`` inside the
data model, so it is not reported. pytest-splunk-addon tests the raw event
instead, where a missing ``user`` is "not extracted" and ``unknown`` is a
negative value; ``strict_psa=True`` applies that reading.

Every ``validity``, ``condition`` and model expression is translated through a
table keyed by the exact SPL text (or a regex over it). An expression with no
translation is never skipped silently: :func:`not_evaluated` lists them (a test
asserts the list is empty for our five datasets) and
:func:`validate_cim_record` reports them.
"""

from __future__ import annotations

import ipaddress
import math
import re
import weakref
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from integrations.mapping.reference import CimDataset, CimField, CimReference

__all__ = [
    "CONDITIONS",
    "MODEL_EXPRESSIONS",
    "PSA_NEGATIVE_VALUES",
    "VALIDITY",
    "is_spl_num",
    "not_evaluated",
    "validate_cim_record",
]

#: pytest-splunk-addon 6.4.0 ``DataSet`` passes these as ``negative_values`` for every field.
PSA_NEGATIVE_VALUES = ("", "-", "unknown", "null", "(null)")

Record = Mapping[str, Any]
#: A compiled expression: record -> bool (validity: the field's value is valid; condition: it holds).
Predicate = Callable[[Record], bool]


# --------------------------------------------------------------------------- SPL value semantics

_SPL_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, (list, tuple)) and not value)


def is_spl_num(value: Any) -> bool:
    """``isnum(x)``: a number, or a field value Splunk reads as one (``"80"``, ``"1.5"``)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and bool(_SPL_NUMBER.fullmatch(value))


def _num(value: Any) -> Optional[float]:
    return float(value) if is_spl_num(value) else None


def _text(value: Any) -> Optional[str]:
    """A single field value as Splunk shows it (``None`` when absent or multivalue)."""
    if value is None or isinstance(value, (list, tuple, dict)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _spl_unescape(literal: str) -> str:
    """The value of an SPL double-quoted string body: ``\\\\`` -> ``\\``, ``\\"`` -> ``"``."""
    return re.sub(r'\\([\\"])', r"\1", literal)


def _search_eq(record: Record, field: str, wanted: str) -> bool:
    """``field=value`` in a search: case-insensitive, single value."""
    text = _text(record.get(field))
    return text is not None and text.lower() == wanted.lower()


# --------------------------------------------------------------------------- regexes Python cannot run

_IPV4_IN_TEXT = re.compile(r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}")


def _contains_ip(text: str) -> bool:
    """What the CIM's PCRE IP pattern (recursion ``(?1)``, atomic groups) finds: an IPv4 or IPv6 address."""
    if _IPV4_IN_TEXT.search(text):
        return True
    for token in re.findall(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*", text):
        try:
            ipaddress.IPv6Address(token)
            return True
        except ValueError:
            continue
    return False


#: The IP-address pattern of Network_Traffic's ``dest_ip``/``src_ip``/``protocol``
#: conditions, exactly as it reads after SPL unescaping. Python's ``re`` lacks PCRE
#: recursion and atomic groups, so it is replaced by :func:`_contains_ip`.
CIM_IP_PATTERN = (
    r"(?:(?:::ffff:)|(?:[0-9a-fA-F]{1,4}:){6}ffff:)\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
    r"|(?>([a-f0-9]{1,4})(?>:(?1)){7}|(?!(?:.[a-f0-9](?>:|$)){8,})^((?1)(?>:(?1)){0,6})?::(?2)?"
    r"(?!(?:.*[a-f0-9](?>:|$))))|(?>(?>(?1)(?>:(?1)){5}:|(?!(?:.*[a-f0-9]:){6,})(?3)?::"
    r"(?>((?1)(?>:(?1)){0,4}):)?)?(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?>\.(?4)){3})"
)
PCRE_TRANSLATIONS: Dict[str, Callable[[str], bool]] = {CIM_IP_PATTERN: _contains_ip}


def _spl_match(pattern: str) -> Optional[Callable[[str], bool]]:
    """``match(x, "<pattern>")`` (unanchored PCRE search) as a Python predicate, or ``None``."""
    if pattern in PCRE_TRANSLATIONS:
        return PCRE_TRANSLATIONS[pattern]
    try:
        rx = re.compile(pattern)
    except re.error:
        return None
    return lambda text: rx.search(text) is not None


# --------------------------------------------------------------------------- translation tables

Builder = Callable[["re.Match[str]", str], Optional[Predicate]]


def _v_isnum(m: re.Match[str], field: str) -> Predicate:
    f = m.group("f")
    return lambda r: is_spl_num(r.get(f))


def _v_isnum_positive(m: re.Match[str], field: str) -> Predicate:
    f = m.group("f")
    return lambda r: (_num(r.get(f)) or 0) > 0


def _v_isnum_range(m: re.Match[str], field: str) -> Predicate:
    # icmp_type's expression tests *duration* (a CIM slip); translated literally.
    f, hi, out = m.group("f"), float(m.group("hi")), m.group("out")

    def check(r: Record) -> bool:
        n = _num(r.get(f))
        return n is not None and 0 < n < hi and not _empty(r.get(out))

    return check


def _v_bytes_sum(m: re.Match[str], field: str) -> Predicate:
    f, a, b = m.group("f"), m.group("a"), m.group("b")

    def check(r: Record) -> bool:
        total, x, y = _num(r.get(f)), _num(r.get(a)), _num(r.get(b))
        return total is not None and x is not None and y is not None and total > 0 and total == x + y

    return check


def _v_match(m: re.Match[str], field: str) -> Optional[Predicate]:
    f = m.group("f")
    test = _spl_match(_spl_unescape(m.group("re")))
    if test is None:
        return None

    def check(r: Record) -> bool:
        text = _text(r.get(f))
        return text is not None and test(text)

    return check


def _v_equals(m: re.Match[str], field: str) -> Predicate:
    f, a, b = m.group("f"), m.group("a"), m.group("b")

    def check(r: Record) -> bool:
        x, y = _text(r.get(a)), _text(r.get(b))
        return not _empty(r.get(f)) and x is not None and x == y  # eval == is case-sensitive

    return check


def _v_protocol_transport(m: re.Match[str], field: str) -> Predicate:
    def check(r: Record) -> bool:
        protocol, transport = _text(r.get("protocol")), _text(r.get("transport"))
        return (protocol == "icmp" and transport == "icmp") or (protocol == "ip" and transport in ("tcp", "udp"))

    return check


_RE_STR = r'"(?P<re>(?:[^"\\]|\\.)*)"'

#: ``validity`` SPL -> Python. Each entry: (regex over the whole expression, meaning, builder).
VALIDITY: List[Tuple[re.Pattern[str], str, Builder]] = [
    (re.compile(r"if\(isnum\((?P<f>\w+)\),(?P=f),null\(\)\)"), "isnum(f)", _v_isnum),
    (re.compile(r"if\(isnum\((?P<f>\w+)\) and (?P=f)>0,(?P=f),null\(\)\)"), "isnum(f) and f > 0",
     _v_isnum_positive),
    (re.compile(r"if\(isnum\((?P<f>\w+)\) and (?P=f)>0 and (?P=f)<(?P<hi>\d+),(?P<out>\w+),null\(\)\)"),
     "isnum(f) and 0 < f < N (literally, even when f is another field)", _v_isnum_range),
    (re.compile(r"if\(isnum\((?P<f>\w+)\) and (?P=f)>0 and (?P=f)==\((?P<a>\w+)\+(?P<b>\w+)\),(?P=f),null\(\)\)"),
     "isnum(f) and f > 0 and f == a + b", _v_bytes_sum),
    (re.compile(r"if\(match\((?P<f>\w+), ?" + _RE_STR + r"\),(?P=f),null\(\)\)"), "match(f, regex)", _v_match),
    (re.compile(r"if\(\(!isnull\((?P<f>\w+)\) AND (?P<a>\w+) == (?P<b>\w+)\), (?P=f), null\(\)\)"),
     "f present and a == b", _v_equals),
    (re.compile(
        r'case\(protocol=="icmp" AND transport=="icmp",(?P<f>protocol|transport) ,'
        r'protocol=="ip" AND \(transport=="tcp" OR transport=="udp"\),(?P=f),true\(\), null\(\)\)'
    ), "protocol/transport consistency: icmp+icmp or ip+tcp/udp (case-sensitive)", _v_protocol_transport),
]


def _c_present(m: re.Match[str], field: str) -> Predicate:
    names = [n for n in (m.group("a"), m.groupdict().get("b")) if n]
    return lambda r: any(not _empty(r.get(n)) for n in names)


def _c_equals(m: re.Match[str], field: str) -> Predicate:
    f, values = m.group("f"), [v for v in (m.group("v1"), m.groupdict().get("v2")) if v]
    return lambda r: any(_search_eq(r, f, v) for v in values)


def _c_in_and_present(m: re.Match[str], field: str) -> Predicate:
    f, v1, v2, g = m.group("f"), m.group("v1"), m.group("v2"), m.group("g")
    return lambda r: (_search_eq(r, f, v1) or _search_eq(r, f, v2)) and not _empty(r.get(g))


def _c_action_any(m: re.Match[str], field: str) -> Predicate:
    # Splunk reads a lower-case "or" in a search as a search *term*, so pytest-splunk-addon
    # effectively never tests this condition; translated by intent (stricter).
    values = ("created", "modified", "read")
    return lambda r: any(_search_eq(r, "action", v) for v in values)


def _c_where_match(m: re.Match[str], field: str) -> Optional[Predicate]:
    tests = []
    for f, pattern in re.findall(r'match\((\w+), ?"((?:[^"\\]|\\.)*)"\)', m.group(0)):
        test = _spl_match(_spl_unescape(pattern))
        if test is None:
            return None
        tests.append((f, test))

    def check(r: Record) -> bool:
        for f, test in tests:
            text = _text(r.get(f))
            if text is not None and test(text):
                return True
        return False

    return check


_VAL = r'"?(?P<{}>[\w.-]+)"?'
_MATCH = r'match\(\w+, ?"(?:[^"\\]|\\.)*"\)'

#: JSON ``condition`` (SPL, whitespace-stripped) -> Python: when a conditional field is required.
CONDITIONS: List[Tuple[re.Pattern[str], str, Builder]] = [
    (re.compile(r"(?P<a>\w+)=\*(?: OR (?P<b>\w+)=\*)?"), "a is present [or b is present]", _c_present),
    (re.compile(r"(?P<f>\w+)=" + _VAL.format("v1") + r"(?: OR (?P=f)=" + _VAL.format("v2") + ")?"),
     "f equals v1 [or v2] (case-insensitive, like search)", _c_equals),
    (re.compile(r"\((?P<f>\w+)=(?P<v1>\w+) OR (?P=f)=(?P<v2>\w+)\) AND (?P<g>\w+)=\*"),
     "f in (v1, v2) and g present", _c_in_and_present),
    (re.compile(r"action=created or action=modified or action=read"),
     "action in (created, modified, read) (by intent; see _c_action_any)", _c_action_any),
    (re.compile(r"\| where " + _MATCH + r"(?: or " + _MATCH + r")*"), "match(f, regex) [or ...]", _c_where_match),
]


def _m_unknown_if_empty(m: re.Match[str], field: str) -> Callable[[Any], Any]:
    return lambda value: "unknown" if _empty(value) else value


#: Field expressions the data model applies (stated in a field's comment as ``Expression: ...``).
MODEL_EXPRESSIONS: List[Tuple[re.Pattern[str], str, Callable[[re.Match[str], str], Callable[[Any], Any]]]] = [
    (re.compile(r'if\(isnull\((?P<f>\w+)\) OR (?P=f)="","unknown",(?P=f)\)'), "empty -> unknown",
     _m_unknown_if_empty),
]
_EXPRESSION_IN_COMMENT = re.compile(r"Expression:\s*(.+?)\s*$")


def _compile(table: Sequence[Tuple[re.Pattern[str], str, Any]], text: str, field: str) -> Any:
    for rx, _meaning, build in table:
        m = rx.fullmatch(text)
        if m is not None:
            return build(m, field)
    return None


class _CompiledField:
    __slots__ = ("field", "validity", "when", "expression", "untranslated")

    def __init__(self, f: CimField) -> None:
        self.field = f
        self.untranslated: List[str] = []
        self.validity: Optional[Predicate] = None
        self.when: Optional[Predicate] = None
        self.expression: Optional[Callable[[Any], Any]] = None
        if f.validity:
            self.validity = _compile(VALIDITY, f.validity, f.name)
            if self.validity is None:
                self.untranslated.append(f"validity {f.validity!r}")
        if f.when:
            self.when = _compile(CONDITIONS, f.when, f.name)
            if self.when is None:
                self.untranslated.append(f"condition {f.when!r}")
        m = _EXPRESSION_IN_COMMENT.search(f.comment)
        if m:
            self.expression = _compile(MODEL_EXPRESSIONS, m.group(1), f.name)
            if self.expression is None:
                self.untranslated.append(f"model expression {m.group(1)!r}")


_COMPILED: weakref.WeakKeyDictionary[CimReference, Dict[str, Dict[str, _CompiledField]]] = (
    weakref.WeakKeyDictionary()
)


def _compiled(cim: CimReference, dataset: CimDataset) -> Dict[str, _CompiledField]:
    per_reference = _COMPILED.setdefault(cim, {})
    out = per_reference.get(dataset.path)
    if out is None:
        out = {name: _CompiledField(f) for name, f in dataset.fields.items()}
        per_reference[dataset.path] = out
    return out


def not_evaluated(dataset: str, cim: CimReference) -> List[str]:
    """Validity, condition and model expressions of ``dataset`` this module cannot evaluate."""
    ds = cim.dataset(dataset)
    return [
        f"{ds.path}.{name}: {item}"
        for name, cf in _compiled(cim, ds).items()
        for item in cf.untranslated
    ]


# --------------------------------------------------------------------------- the check


def validate_cim_record(
    record: Dict[str, Any],
    dataset: str,
    cim: CimReference,
    *,
    case_sensitive: bool = True,
    strict_psa: bool = False,
    allow_missing: Sequence[str] = (),
) -> List[str]:
    """Violations of ``record`` for ``dataset``; an empty list means it passes.

    ``allow_missing`` names fields the source knowingly cannot provide (e.g.
    Filesystem ``file_size``); their absence is not reported, a bad value still is.
    """
    ds = cim.dataset(dataset)
    compiled = _compiled(cim, ds)
    where = ds.path
    problems: List[str] = []
    view: Dict[str, Any] = dict(record)
    coerced = set()
    if not strict_psa:
        for name, cf in compiled.items():
            if cf.expression is not None:
                before = view.get(name)
                view[name] = cf.expression(before)
                if view[name] is not before and _empty(before):
                    coerced.add(name)

    common = cim.common_fields()
    for name in record:
        if name in common:
            problems.append(f"{where}: {name}: Enterprise Security common field (CommonFields.json); never extract it")
        f = ds.fields.get(name)
        if f is not None and f.condition.startswith("not_allowed"):
            problems.append(f"{where}: {name}: {f.condition} in this dataset")

    for name, cf in compiled.items():
        f = cf.field
        if f.condition not in ("required", "conditional", "optional"):
            continue
        for item in cf.untranslated:
            problems.append(f"{where}: {name}: not evaluated: {item}")
        value = view.get(name)
        present = not _empty(value)
        if f.condition == "required":
            tested = True
        elif f.condition == "conditional":
            # no condition: pytest-splunk-addon tests it on every event; untranslated: reported above
            tested = cf.when(view) if cf.when is not None else not f.when
        else:
            tested = False
        if tested and not present:
            if name not in allow_missing:
                reason = "required" if f.condition == "required" else f"conditional, required when {f.when}"
                problems.append(f"{where}: {name}: missing or empty ({reason})")
            continue
        if not present:
            continue
        if tested and isinstance(value, (list, tuple)) and not f.multi_value:
            # pytest-splunk-addon: "Field ... should not be multi-value" (required/conditional only)
            problems.append(f"{where}: {name}: multivalue {list(value)!r}, but the field is single-valued")
            continue
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if tested and name not in coerced:
            for v in values:
                if _text(v) in PSA_NEGATIVE_VALUES:
                    problems.append(f"{where}: {name}: {v!r} is a negative value pytest-splunk-addon rejects")
        if cf.validity is not None:
            # an optional multivalue field: each value on its own
            views = [view] if len(values) == 1 else [{**view, name: v} for v in values]
            if not all(cf.validity(one) for one in views):
                problems.append(f"{where}: {name}: {value!r} fails the validity expression {f.validity}")
        if f.expected_values:
            for v in values:
                problems.extend(_expected(where, name, v, f.expected_values, case_sensitive))

    for cluster in ds.fields_clusters:
        have = [n for n in cluster if not _empty(view.get(n))]
        if have and len(have) != len(cluster):
            missing = [n for n in cluster if n not in have]
            problems.append(f"{where}: fields_cluster {list(cluster)}: {have} present but {missing} missing")
    return problems


def _expected(where: str, name: str, value: Any, expected: List[str], case_sensitive: bool) -> List[str]:
    text = _text(value)
    if text in expected:
        return []
    if text is not None and text.lower() in {e.lower() for e in expected}:
        if not case_sensitive:
            return []
        return [f"{where}: {name}: {text!r} differs in case from the expected values {expected} "
                "(pytest-splunk-addon's searchmatch would accept it; the CIM asks for lower case)"]
    return [f"{where}: {name}: {value!r} not in the expected values {expected}"]
