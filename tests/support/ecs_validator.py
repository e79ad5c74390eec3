"""ECS conformance of one produced document (test support, not product code).

Consumes a document as the mapper or the pipeline simulator emits it, an
:class:`~integrations.mapping.reference.EcsReference` (ECS 8.17.0) and the
definition's vendor field types; returns human-readable violations, each naming
the field. The rules are those of ``docs/testing-offline.md`` section 4:

* every leaf (dotted path; a ``flattened`` field is a leaf object) is an ECS
  field, a key under an ECS ``object`` field that declares ``object_type``
  (``labels.*``), or a declared ``kubearmor.*`` / ``accuknox.*`` vendor field;
* the JSON type fits the field type (table :data:`TYPE_CHECKS`);
* lists only where ECS says ``normalize: [array]`` (vendor fields may be lists:
  Elasticsearch has no array type and the definition declares none);
* values in ``allowed_values`` (``event.kind``, ``event.category``,
  ``event.type``, ``event.outcome``, ...) and matching ECS ``pattern``;
* each ``event.type`` is expected for at least one ``event.category`` present;
* with ``ecs9`` (ECS 9.4.0): the same field exists there with the same type and
  the value is allowed there too.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import math
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from integrations.mapping.reference import EcsField, EcsReference

__all__ = ["TYPE_CHECKS", "VENDOR_PREFIXES", "is_iso8601", "validate_ecs_document"]

VENDOR_PREFIXES = ("kubearmor.", "accuknox.")

_ISO8601 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?)?"
)


def is_iso8601(value: Any) -> bool:
    """An ISO-8601 date or date-time string Elasticsearch's default date format parses."""
    if not isinstance(value, str):
        return False
    m = _ISO8601.fullmatch(value)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in m.groups()[:6])
    try:
        _dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    zone = m.group(8)
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        if int(digits[:2]) > 18 or (len(digits) > 2 and int(digits[2:]) > 59):
            return False
    return True


def _is_ip(value: Any) -> bool:
    if not isinstance(value, str) or "%" in value:  # no IPv6 zone ids in an ES ip field
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_int(value: Any, lo: int, hi: int) -> bool:
    return type(value) is int and lo <= value <= hi


def _is_number(value: Any) -> bool:
    return (type(value) is int) or (type(value) is float and math.isfinite(value))


def _is_geo_point(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"lat", "lon"} and all(_is_number(v) for v in value.values())
    return isinstance(value, str)


#: ECS type -> (what a JSON value of that type must be, the check). A type not in
#: this table is reported as a violation, never silently accepted.
TYPE_CHECKS: Dict[str, Tuple[str, Callable[[Any], bool]]] = {
    "keyword": ("a string", lambda v: isinstance(v, str)),
    "constant_keyword": ("a string", lambda v: isinstance(v, str)),
    "wildcard": ("a string", lambda v: isinstance(v, str)),
    "match_only_text": ("a string", lambda v: isinstance(v, str)),
    "text": ("a string", lambda v: isinstance(v, str)),
    "long": ("an integer (not a bool) in the long range", lambda v: _is_int(v, -(2**63), 2**63 - 1)),
    "integer": ("an integer (not a bool) in the int range", lambda v: _is_int(v, -(2**31), 2**31 - 1)),
    "short": ("an integer in the short range", lambda v: _is_int(v, -(2**15), 2**15 - 1)),
    "byte": ("an integer in the byte range", lambda v: _is_int(v, -128, 127)),
    "float": ("a finite number", _is_number),
    "half_float": ("a finite number", _is_number),
    "double": ("a finite number", _is_number),
    "scaled_float": ("a finite number", _is_number),
    "boolean": ("a bool", lambda v: type(v) is bool),
    "ip": ("a valid IPv4/IPv6 address string", _is_ip),
    "date": ("an ISO-8601 date string", is_iso8601),
    "flattened": ("an object", lambda v: isinstance(v, dict)),
    "object": ("an object", lambda v: isinstance(v, dict)),
    "nested": ("an object", lambda v: isinstance(v, dict)),
    "geo_point": ("a {lat, lon} object or a string", _is_geo_point),
}

_CONTAINER_TYPES = ("object", "nested")


class _Leaf:
    """How one path is defined: by ECS, as an ``object_type`` child, or as a vendor field."""

    __slots__ = ("path", "type", "array_ok", "ecs", "origin")

    def __init__(self, path: str, type_: str, array_ok: bool, ecs: Optional[EcsField], origin: str) -> None:
        self.path = path
        self.type = type_
        self.array_ok = array_ok
        self.ecs = ecs
        self.origin = origin  # "ecs" | "object_type" | "vendor"


class _Validator:
    def __init__(
        self, ecs: EcsReference, vendor_fields: Mapping[str, str], ecs9: Optional[EcsReference]
    ) -> None:
        self.ecs = ecs
        self.vendor = vendor_fields
        self.ecs9 = ecs9
        self.problems: List[str] = []
        self.values: Dict[str, List[Any]] = {}

    # -- resolution

    def resolve(self, path: str) -> Optional[_Leaf]:
        f = self.ecs.field(path)
        if f is not None:
            return _Leaf(path, f.type, f.is_array, f, "ecs")
        parent = self.ecs.object_parent(path)
        if parent is not None and parent.object_type:
            return _Leaf(path, str(parent.object_type), False, parent, "object_type")
        if path.startswith(VENDOR_PREFIXES) and path in self.vendor:
            return _Leaf(path, self.vendor[path], True, None, "vendor")
        return None

    # -- walking

    def walk(self, value: Any, path: str) -> None:
        if isinstance(value, dict):
            leaf = self.resolve(path) if path else None
            if leaf is not None and leaf.type == "flattened":
                self.check_leaf(leaf, value)
                return
            if leaf is not None and leaf.type not in _CONTAINER_TYPES and leaf.origin != "object_type":
                self.problems.append(f"{path}: expected {TYPE_CHECKS.get(leaf.type, (leaf.type,))[0]}, got an object")
                return
            if leaf is not None and leaf.origin == "object_type":
                parent = leaf.ecs.name if leaf.ecs else "?"
                self.problems.append(f"{path}: expected a {leaf.type} value under {parent}, got an object")
                return
            if not value:
                if path and (leaf is None or leaf.type not in _CONTAINER_TYPES):
                    self.problems.append(f"{path}: empty object")
                return
            for key, sub in value.items():
                if not isinstance(key, str) or not key:
                    self.problems.append(f"{path or '<root>'}: invalid key {key!r}")
                    continue
                self.walk(sub, f"{path}.{key}" if path else key)
            return
        if not path:
            self.problems.append(f"<root>: the document must be an object, got {type(value).__name__}")
            return
        leaf = self.resolve(path)
        if leaf is None:
            if path.startswith(VENDOR_PREFIXES):
                self.problems.append(f"{path}: vendor field not declared in the definition's vendor_fields")
            else:
                self.problems.append(f"{path}: not an ECS field and not a kubearmor.*/accuknox.* vendor field")
            return
        self.check_leaf(leaf, value)

    def check_leaf(self, leaf: _Leaf, value: Any) -> None:
        path = leaf.path
        if isinstance(value, (list, tuple)):
            if not leaf.array_ok:
                self.problems.append(f"{path}: a list, but ECS does not allow an array here (normalize has no 'array')")
            elements = list(value)
        else:
            elements = [value]
        if leaf.type in _CONTAINER_TYPES and any(isinstance(e, dict) for e in elements):
            # an array of objects (dns.answers, threat.enrichments): walk each element
            for e in elements:
                if isinstance(e, dict):
                    self.walk_children(e, path)
                else:
                    self.problems.append(f"{path}: expected an object, got {e!r}")
            return
        check = TYPE_CHECKS.get(leaf.type)
        if check is None:
            self.problems.append(f"{path}: type {leaf.type!r} is not known to the validator")
            return
        expected, fits = check
        for e in elements:
            if e is None:
                self.problems.append(f"{path}: null value (omit the field instead)")
            elif not fits(e):
                self.problems.append(f"{path}: expected {expected} for type {leaf.type}, got {e!r}")
        present = [e for e in elements if e is not None]
        self.values.setdefault(path, []).extend(present)
        if leaf.origin == "vendor":
            return
        f = leaf.ecs if leaf.origin == "ecs" else None
        if f is not None:
            self.check_allowed(path, f, present, "ECS 8.17")
            if f.pattern:
                for e in present:
                    if isinstance(e, str) and not re.search(f.pattern, e):
                        self.problems.append(f"{path}: {e!r} does not match the ECS pattern {f.pattern}")
        if self.ecs9 is not None:
            self.check_ecs9(leaf, present)

    def walk_children(self, obj: Dict[str, Any], path: str) -> None:
        for key, sub in obj.items():
            self.walk(sub, f"{path}.{key}")

    def check_allowed(self, path: str, f: EcsField, values: Sequence[Any], which: str) -> None:
        if not f.allowed_values:
            return
        for e in values:
            if isinstance(e, str) and e not in f.allowed_values:
                self.problems.append(
                    f"{path}: {e!r} is not an allowed value in {which} ({', '.join(sorted(f.allowed_values))})"
                )

    def check_ecs9(self, leaf: _Leaf, values: Sequence[Any]) -> None:
        assert self.ecs9 is not None
        if leaf.origin == "ecs":
            f9 = self.ecs9.field(leaf.path)
            if f9 is None:
                self.problems.append(f"{leaf.path}: not a field in ECS 9 ({self.ecs9.path})")
                return
            if f9.type != leaf.type:
                self.problems.append(f"{leaf.path}: type {leaf.type} in ECS 8.17 but {f9.type} in ECS 9")
            if leaf.ecs is not None and f9.is_array != leaf.ecs.is_array:
                self.problems.append(f"{leaf.path}: array-ness differs between ECS 8.17 and ECS 9")
            self.check_allowed(leaf.path, f9, values, "ECS 9")
        else:  # object_type child
            p9 = self.ecs9.object_parent(leaf.path)
            if p9 is None or p9.object_type != leaf.type:
                self.problems.append(f"{leaf.path}: parent object with object_type {leaf.type} missing in ECS 9")

    # -- document-level rules

    def check_categorization(self) -> None:
        types = [t for t in self.values.get("event.type", []) if isinstance(t, str)]
        if not types:
            return
        categories = [c for c in self.values.get("event.category", []) if isinstance(c, str)]
        if not categories:
            self.problems.append("event.type: present without event.category")
            return
        cat_field = self.ecs.field("event.category")
        table = (cat_field.expected_event_types if cat_field else None) or {}
        for t in types:
            if not any(t in table.get(c, ()) for c in categories):
                self.problems.append(
                    f"event.type: {t!r} is not an expected event.type of any event.category present {categories}"
                )


def validate_ecs_document(
    doc: Dict[str, Any],
    ecs: EcsReference,
    vendor_fields: Mapping[str, str],
    ecs9: Optional[EcsReference] = None,
) -> List[str]:
    """Violations of ``doc`` against ECS; an empty list means the document conforms.

    ``vendor_fields`` maps each ``kubearmor.*``/``accuknox.*`` field to its type
    (the mapping definition's ``vendor_fields``). Keys may be nested objects or
    dotted names (``{"event": {"kind": ...}}`` and ``{"event.kind": ...}`` are
    the same leaf, as in Elasticsearch).
    """
    v = _Validator(ecs, vendor_fields, ecs9)
    v.walk(doc, "")
    v.check_categorization()
    return v.problems
