"""One KubeArmor / AccuKnox event dict -> the canonical event (``integrations.model``).

Key styles accepted (``docs/event-schema.md`` sections 2 and 11):

* PascalCase proto names (``karmor logs --json``, relay, Elasticsearch, otel-adapter);
* lowerCamel daemon output (``hostPid``, ``hostPPid``, ``atags``, ``owner{ref,...}``,
  ``execEvent``) and the AccuKnox discovery-engine rows (plus a DB ``id``);
* SaaS-enriched rows (PascalCase plus ``cluster_id``, ``tenant_id``, ... as strings,
  empty strings kept, ``ATags: null``);
* fully lower-cased fixtures (keys *and* values: ``containerlog``, ``passed``);
* the sidekick label set (``Hostname``, numbers as strings, ``ATags`` as a comma
  string, flattened ``OwnerRef``/``OwnerName``/``OwnerNamespace``, and a product
  marker ``source: "Kubearmor"`` next to the real ``Source``).

Key resolution order (event-schema.md section 2):

1. a key spelled exactly like a canonical name claims that name - even when its
   value is empty, so ``"Source": ""`` is not replaced by ``source: "Kubearmor"``;
2. for names still unclaimed, a key matching case-insensitively (spaces removed,
   so the text rendering's ``Cluster Name`` works too) claims it; a second key
   for an already claimed name (the sidekick's lower-case ``source``) is kept
   unchanged as an extra field under its own spelling;
3. flattened / dotted owner keys (``OwnerRef``, ``owner.ref``, ``Owner.Name`` ...)
   and ``ExecEvent.ExecID``-style keys fill the missing parts of ``Owner`` /
   ``ExecEvent``;
4. every other key is kept unchanged, except credentials (``secret_key`` and a
   few similar names), which are dropped.

Value rules: known keys whose value is ``None`` or ``""`` are absent (``PPID``/``UID``
``0`` are real values and kept); ints come from ints, integral floats (OTLP
doubles, karmor text ``1.252488e+06``) or numeric strings; ``Timestamp`` is epoch
seconds (milliseconds > 1e11, microseconds > 1e14 and nanoseconds > 1e17 are
scaled down; an ISO time string is converted); ``Severity`` is an int when
integral, else the original text plus a warning; ``ATags`` is a ``list[str]``
(from a list, a comma string or ``null``); ``Owner``/``ExecEvent``/``EventData``
are dicts of strings (a Go-map string ``map[K:V ...]`` is parsed); ``Type`` and
``Operation`` get their canonical spelling when known case-insensitively and a
warning naming the value otherwise. Other values are left exactly as they are.

A value that cannot be coerced (``"HostPID": "abc"``, ``"ATags": 5``,
``"Owner": "not-an-object"``, ``"Timestamp": "yesterday"``) is dropped with a
warning naming the field and the value: the event still flows. A JSON
object/array where a scalar is expected, or an input with no KubeArmor field at
all, raises :class:`~integrations.errors.ParseError` - that input is not a
KubeArmor event.

Speed: rows whose keys are all canonical (API rows, relay output) take a fast
path keyed by the row's key tuple: a precomputed plan checks all string-valued
fields with one C-level ``str.join``, removes ``""`` values and only inspects
the few structured fields individually. Anything unusual falls back to the
general path, which gives the same result for the same input.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from operator import itemgetter
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import ParseError
from ..model import (
    ALERT_TYPES,
    CANONICAL_FIELDS,
    KUBEARMOR_FIELDS,
    LOG_TYPES,
    NOTICE_TYPES,
    ParsedEvent,
)

__all__ = [
    "normalize",
    "event_time",
    "is_alert",
    "parse_time",
    "parse_go_map",
    "KNOWN_TYPES",
    "KNOWN_OPERATIONS",
    "NO_EVENT_TIME_WARNING",
]

NO_EVENT_TIME_WARNING = "no event time; ingestion time will be used"

#: Operation values of event-schema.md section 6.
KNOWN_OPERATIONS = frozenset(
    {"Process", "File", "Network", "Capabilities", "Syscall", "Device", "NetworkFirewall", "AlertThreshold"}
)
#: Type values of event-schema.md section 6 (``Message`` is a different stream, see envelopes).
KNOWN_TYPES = ALERT_TYPES | LOG_TYPES | NOTICE_TYPES
_ALERT_STREAM_TYPES = ALERT_TYPES | NOTICE_TYPES
_ALERT_ONLY_FIELDS = ("PolicyName", "Action", "Enforcer", "Severity")

_TYPE_BY_LOWER = {t.lower(): t for t in KNOWN_TYPES}
_OP_BY_LOWER = {o.lower(): o for o in KNOWN_OPERATIONS}

# ---------------------------------------------------------------------------
# field kinds (precomputed once)
# ---------------------------------------------------------------------------
_STR, _INT, _TS, _SEV, _ATAGS, _OWNER, _EXEC, _EVDATA, _TYPE, _OP = range(10)

_INT_FIELDS = ("HostPPID", "HostPID", "PPID", "PID", "UID", "MaxAlertsPerSec", "DroppingAlertsInterval")
_KIND: Dict[str, int] = {name: _STR for name in CANONICAL_FIELDS}
_KIND.update({name: _INT for name in _INT_FIELDS})
_KIND.update(
    {
        "Timestamp": _TS,
        "Severity": _SEV,
        "ATags": _ATAGS,
        "Owner": _OWNER,
        "ExecEvent": _EXEC,
        "EventData": _EVDATA,
        "Type": _TYPE,
        "Operation": _OP,
    }
)
_KA_FIELDS = frozenset(KUBEARMOR_FIELDS)

#: lower-case spelling -> canonical name (case-insensitive match, step 2).
_LOWER: Dict[str, str] = {name.lower(): name for name in CANONICAL_FIELDS}
#: flattened / dotted owner and exec keys (lower-case) -> sub-field (step 3).
_OWNER_FLAT = {}
for _sub in ("Ref", "Name", "Namespace"):
    for _pat in ("owner{}", "owner.{}", "owner_{}"):
        _OWNER_FLAT[_pat.format(_sub.lower())] = _sub
_EXEC_FLAT = {}
for _sub in ("ExecID", "ExecutableName"):
    for _pat in ("execevent.{}", "execevent_{}", "execevent{}"):
        _EXEC_FLAT[_pat.format(_sub.lower())] = _sub
_OWNER_SUB = {"ref": "Ref", "name": "Name", "namespace": "Namespace"}
_EXEC_SUB = {"execid": "ExecID", "executablename": "ExecutableName"}

#: credential-like keys (lower-case) that are never forwarded.
_SECRET_KEYS = frozenset(
    {
        "secret_key", "secretkey", "secret", "password", "passwd", "api_key", "apikey",
        "access_key", "access_token", "auth_token", "authorization", "private_key",
    }
)

_INT_RE = re.compile(r"[+-]?[0-9]{1,30}\Z")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?\Z")
_GO_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "<absent>"


_ABSENT = _Absent()


def _jtype(v: Any) -> str:
    """JSON-ish name of a value's type, for messages."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, (list, tuple)):
        return "array"
    return type(v).__name__


def _short(v: Any, limit: int = 60) -> str:
    r = repr(v)
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _container_error(key: str, v: Any, expected: str, location: str) -> ParseError:
    return ParseError(f"field {key!r} is a JSON {_jtype(v)}, expected {expected}", location)


# ---------------------------------------------------------------------------
# scalar coercions
# ---------------------------------------------------------------------------
def _float_text(v: float) -> str:
    if math.isfinite(v) and v.is_integer():
        return str(int(v))
    return repr(v)


def _scalar_str(v: Any) -> Optional[str]:
    """A JSON scalar as text; ``None`` for containers."""
    c = v.__class__
    if c is str:
        return v
    if c is bool:
        return "true" if v else "false"
    if c is int:
        return str(v)
    if c is float:
        return _float_text(v)
    if isinstance(v, (dict, list, tuple)):
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def _to_str(key: str, v: Any, warnings: List[str], location: str) -> Any:
    if v.__class__ is str:
        return v if v else _ABSENT
    s = _scalar_str(v)
    if s is not None:
        return s if s else _ABSENT
    if key in ("Tags", "Labels") and isinstance(v, (list, tuple)):
        parts = [p for p in (_scalar_str(x) for x in v if x is not None) if p]
        return ",".join(parts) if parts else _ABSENT
    if key == "Labels" and isinstance(v, dict):
        parts = [f"{k}={_scalar_str(x) or ''}" for k, x in v.items()]
        return ",".join(parts) if parts else _ABSENT
    raise _container_error(key, v, "a string", location)


#: JSON encoders (orjson) take integers in [-2**63, 2**64): larger ones are not kept as ints
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _int_ok(n: int) -> bool:
    return _INT_MIN <= n <= _INT_MAX


def _str_to_int(s: str) -> Optional[int]:
    s = s.strip()
    if _INT_RE.match(s):
        n = int(s)
        return n if _int_ok(n) else None
    if _FLOAT_RE.match(s):
        try:
            f = float(s)
        except ValueError:  # pragma: no cover - regex already checked
            return None
        if math.isfinite(f) and f.is_integer() and _int_ok(int(f)):
            return int(f)
    return None


def _to_int(key: str, v: Any, warnings: List[str], location: str) -> Any:
    c = v.__class__
    if c is int:
        if _int_ok(v):
            return v
    elif c is float:
        if math.isfinite(v) and v.is_integer() and _int_ok(int(v)):
            return int(v)
    elif c is str:
        if not v.strip():
            return _ABSENT
        n = _str_to_int(v)
        if n is not None:
            return n
    elif isinstance(v, (dict, list, tuple)):
        raise _container_error(key, v, "an integer", location)
    elif isinstance(v, int) and not isinstance(v, bool) and _int_ok(int(v)):
        return int(v)
    warnings.append(f"{key}: {_short(v)} is not an integer (64-bit); dropped")
    return _ABSENT


def _scale_epoch(n: float) -> float:
    """Epoch seconds from seconds, milliseconds, microseconds or nanoseconds."""
    a = abs(n)
    if a > 1e17:
        return n / 1e9
    if a > 1e14:
        return n / 1e6
    if a > 1e11:
        return n / 1e3
    return n


def _scale_epoch_int(n: int) -> int:
    a = abs(n)
    if a > 10**17:
        return n // 1_000_000_000
    if a > 10**14:
        return n // 1_000_000
    if a > 10**11:
        return n // 1000
    return n


def _to_ts(key: str, v: Any, warnings: List[str], location: str) -> Any:
    c = v.__class__
    n: Optional[int] = None
    if c is int:
        n = _scale_epoch_int(v)
    elif c is float:
        if math.isfinite(v):
            n = int(_scale_epoch(v))
    elif c is str:
        s = v.strip()
        if not s:
            return _ABSENT
        if _INT_RE.match(s):
            n = _scale_epoch_int(int(s))
        elif _FLOAT_RE.match(s):
            f = float(s)
            if math.isfinite(f):
                n = int(_scale_epoch(f))
        else:
            t = parse_time(s)
            if t is not None:
                n = int(t)
            else:
                warnings.append(f"Timestamp {_short(v)} is neither epoch seconds nor an ISO 8601 time; ignored")
                return _ABSENT
    elif isinstance(v, (dict, list, tuple)):
        raise _container_error(key, v, "an integer (epoch seconds)", location)
    if n is not None and _int_ok(n):
        return n
    warnings.append(f"Timestamp {_short(v)} is not an epoch time; ignored")
    return _ABSENT


def _to_sev(key: str, v: Any, warnings: List[str], location: str) -> Any:
    c = v.__class__
    if c is int:
        if _int_ok(v):
            return v
        warnings.append(f"Severity {v!r} is out of the 64-bit range; kept as text")
        return str(v)
    if c is str:
        s = v.strip()
        if not s:
            return _ABSENT
        if _INT_RE.match(s) and _int_ok(int(s)):
            return int(s)
        warnings.append(f"Severity {_short(v)} is not numeric; kept as text")
        return v
    if c is float:
        if math.isfinite(v) and v.is_integer() and _int_ok(int(v)):
            return int(v)
        warnings.append(f"Severity {v!r} is not an integer (64-bit); kept as text")
        return repr(v)
    if c is bool:
        warnings.append(f"Severity {v!r} is a boolean, not a number; dropped")
        return _ABSENT
    if isinstance(v, (dict, list, tuple)):
        raise _container_error(key, v, "a number or numeric string", location)
    warnings.append(f"Severity {_short(v)} is not numeric; kept as text")
    return str(v)


def _to_atags(key: str, v: Any, warnings: List[str], location: str) -> Any:
    if isinstance(v, (list, tuple)):
        out = []
        for x in v:
            if x.__class__ is str:
                if x:
                    out.append(x)
                continue
            if x is None:
                continue
            s = _scalar_str(x)
            if s is None:
                warnings.append(f"ATags: element {_short(x)} is not a string; dropped")
            elif s:
                out.append(s)
        return out if out else _ABSENT
    if isinstance(v, str):
        s = v.strip()
        if s.startswith("[") and s.endswith("]"):
            s = s[1:-1]
            if '"' in s:  # a JSON array inside a string
                out = [p.strip().strip('"') for p in s.split(",")]
                out = [p for p in out if p]
                return out if out else _ABSENT
        out = [p.strip() for p in s.split(",")]
        out = [p for p in out if p]
        return out if out else _ABSENT
    warnings.append(f"ATags is a {_jtype(v)} ({_short(v)}), expected an array of strings; dropped")
    return _ABSENT


def _sub_object(key: str, v: Any, submap: Dict[str, str], warnings: List[str], location: str) -> Any:
    """Owner / ExecEvent: an object with a known set of string sub-fields."""
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return _ABSENT
        parsed = parse_go_map(s)
        if parsed is None:
            warnings.append(f"{key} is a string ({_short(v)}), expected an object; dropped")
            return _ABSENT
        v = parsed
    if not isinstance(v, dict):
        warnings.append(f"{key} is a {_jtype(v)} ({_short(v)}), expected an object; dropped")
        return _ABSENT
    out: Dict[str, str] = {}
    unknown = []
    for sk, sv in v.items():
        canon = submap.get(str(sk).lower())
        if canon is None:
            unknown.append(str(sk))
            continue
        if sv is None or canon in out:
            continue
        s = _scalar_str(sv)
        if s is None:
            warnings.append(f"{key}.{canon} is a JSON {_jtype(sv)}, expected a string; dropped")
        elif s:
            out[canon] = s
    if unknown:
        warnings.append(f"{key}: unknown sub-field(s) {', '.join(unknown)} dropped")
    return out if out else _ABSENT


def _to_owner(key: str, v: Any, warnings: List[str], location: str) -> Any:
    return _sub_object(key, v, _OWNER_SUB, warnings, location)


def _to_exec(key: str, v: Any, warnings: List[str], location: str) -> Any:
    return _sub_object(key, v, _EXEC_SUB, warnings, location)


def _to_evdata(key: str, v: Any, warnings: List[str], location: str) -> Any:
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return _ABSENT
        parsed = parse_go_map(s)
        if parsed is None:
            warnings.append(f"EventData is a string ({_short(v)}), expected an object; dropped")
            return _ABSENT
        v = parsed
    if not isinstance(v, dict):
        warnings.append(f"EventData is a {_jtype(v)} ({_short(v)}), expected an object; dropped")
        return _ABSENT
    out: Dict[str, str] = {}
    for sk, sv in v.items():
        if sv is None:
            continue
        s = _scalar_str(sv)
        if s is None:
            from ..jsoncodec import dumps_str

            try:
                s = dumps_str(sv)
            except Exception:  # noqa: BLE001 - unencodable nested value
                s = str(sv)
        out[str(sk)] = s
    return out if out else _ABSENT


def _to_enum(key: str, v: Any, by_lower: Dict[str, str], known: frozenset, warnings: List[str],
             location: str) -> Any:
    if v.__class__ is not str:
        s = _scalar_str(v)
        if s is None:
            raise _container_error(key, v, "a string", location)
        v = s
    if v in known:
        return v
    s = v.strip()
    if not s:
        return _ABSENT
    canon = by_lower.get(s.lower())
    if canon is not None:
        return canon
    warnings.append(f"{key} value {_short(v)} not in the known set")
    return v


def _to_type(key: str, v: Any, warnings: List[str], location: str) -> Any:
    return _to_enum(key, v, _TYPE_BY_LOWER, KNOWN_TYPES, warnings, location)


def _to_op(key: str, v: Any, warnings: List[str], location: str) -> Any:
    return _to_enum(key, v, _OP_BY_LOWER, KNOWN_OPERATIONS, warnings, location)


_COERCE: Dict[int, Callable[[str, Any, List[str], str], Any]] = {
    _STR: _to_str,
    _INT: _to_int,
    _TS: _to_ts,
    _SEV: _to_sev,
    _ATAGS: _to_atags,
    _OWNER: _to_owner,
    _EXEC: _to_exec,
    _EVDATA: _to_evdata,
    _TYPE: _to_type,
    _OP: _to_op,
}


def _coerce(key: str, kind: int, v: Any, warnings: List[str], location: str) -> Any:
    if v is None:
        return _ABSENT
    return _COERCE[kind](key, v, warnings, location)


# ---------------------------------------------------------------------------
# Go map text (karmor text rendering, sidekick): map[K:V K2:V2]
# ---------------------------------------------------------------------------
def parse_go_map(text: str) -> Optional[Dict[str, str]]:
    """Parse Go's ``fmt`` rendering of a ``map[string]string``; ``None`` if not one.

    Values cannot contain spaces in Go's rendering, so a token without a ``K:``
    prefix is taken as the continuation of the previous value (best effort). A
    ``K=V`` token (seen in ``karmor`` output: ``SourcePort=0``) is accepted too.
    """
    s = text.strip()
    if not (s.startswith("map[") and s.endswith("]")):
        return None
    out: Dict[str, str] = {}
    last = None
    for tok in s[4:-1].split():
        k, sep, val = tok.partition(":")
        if not sep or not _GO_KEY_RE.match(k):
            k, sep, val = tok.partition("=")
        if sep and _GO_KEY_RE.match(k):
            out[k] = val
            last = k
        elif last is not None:
            out[last] = f"{out[last]} {tok}"
        else:
            return None
    return out


# ---------------------------------------------------------------------------
# time
# ---------------------------------------------------------------------------
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_TIME_RE = re.compile(
    r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?)?"
    r"\s*(Z|z|UTC|utc|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)?\s*\Z",
    re.ASCII,
)
_SECONDS_RE = re.compile(r"([0-9]{2}(?:\.[0-9]{1,9})?)[Zz]?\Z")
_TIME_CACHE: Dict[str, Optional[float]] = {}
_MISS = object()
_MINUTE_CACHE: Dict[str, Optional[int]] = {}
_CACHE_MAX = 8192


def _minute_base(prefix: str) -> Optional[int]:
    """Epoch seconds of ``YYYY-MM-DDTHH:MM`` (UTC), or ``None`` when invalid."""
    if len(prefix) < 16 or not prefix.isascii():
        return None
    if not (prefix[4] == "-" and prefix[7] == "-" and prefix[10] in "Tt " and prefix[13] == ":"):
        return None
    try:
        y, mo, d = int(prefix[0:4]), int(prefix[5:7]), int(prefix[8:10])
        h, mi = int(prefix[11:13]), int(prefix[14:16])
        days = _dt.date(y, mo, d).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    if not (0 <= h < 24 and 0 <= mi < 60):
        return None
    base = days * 86400 + h * 3600 + mi * 60
    if len(_MINUTE_CACHE) >= _CACHE_MAX:
        _MINUTE_CACHE.clear()
    _MINUTE_CACHE[prefix] = base
    return base


def _parse_time_uncached(s: str) -> Optional[float]:
    # Fast path: YYYY-MM-DDTHH:MM:SS[.fraction][Z|z] (KubeArmor, SaaS, lower-cased fixtures,
    # zone-less SaaS exports, karmor text header with a space).
    prefix = s[:16]
    base = _MINUTE_CACHE.get(prefix)
    if base is None and len(s) >= 19:
        base = _minute_base(prefix)
    if base is not None and s[16:17] == ":":
        m = _SECONDS_RE.match(s, 17)
        if m is not None:
            sec = float(m.group(1))
            if sec < 61:
                return base + sec
    m = _TIME_RE.match(s)
    if m is None:
        return None
    y, mo, d, h, mi, sec, frac, zone = m.groups()
    try:
        days = _dt.date(int(y), int(mo), int(d)).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    hh = int(h) if h else 0
    mm = int(mi) if mi else 0
    ss = int(sec) if sec else 0
    if hh > 24 or mm > 59 or ss > 60 or (hh == 24 and (mm or ss)):
        return None
    t = float(days * 86400 + hh * 3600 + mm * 60 + ss)
    if frac:
        t += int(frac[:9]) / 10 ** len(frac[:9])
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        oh = int(digits[:2])
        om = int(digits[2:4]) if len(digits) >= 4 else 0
        if oh > 23 or om > 59:
            return None
        off = oh * 3600 + om * 60
        t = t - off if zone[0] == "+" else t + off
    return t


def parse_time(value: Any) -> Optional[float]:
    """An ISO 8601-like time (event-schema.md section 8) as epoch seconds, or ``None``.

    Accepts microseconds or milliseconds with ``Z``, zone-less values (UTC),
    lower-case ``t``/``z``, a space instead of ``T`` (karmor text header) and
    numeric offsets. Results are cached per string (bounded), so the poller's
    :func:`event_time` after :func:`normalize` is a dictionary hit.
    """
    if value.__class__ is not str:
        return None
    t = _TIME_CACHE.get(value, _MISS)
    if t is not _MISS:
        return t  # type: ignore[return-value]
    t = _parse_time_uncached(value)
    if len(_TIME_CACHE) >= _CACHE_MAX:
        _TIME_CACHE.clear()
    _TIME_CACHE[value] = t
    return t


def _epoch_from_timestamp(ts: Any) -> Optional[float]:
    c = ts.__class__
    if c is int:
        return float(_scale_epoch(ts)) if ts else None
    if c is float:
        return _scale_epoch(ts) if math.isfinite(ts) and ts else None
    if c is str:
        s = ts.strip()
        if _INT_RE.match(s) or _FLOAT_RE.match(s):
            f = float(s)
            return _scale_epoch(f) if math.isfinite(f) and f else None
        return parse_time(s)
    return None


def event_time(fields: Dict[str, Any]) -> Optional[float]:
    """Event time in epoch seconds (with fraction), or ``None`` when the event has none.

    ``UpdatedTime`` when parseable (microsecond precision), else ``Timestamp``
    (seconds; milliseconds / microseconds accepted defensively), else
    ``UpdatedTimeISO``.
    """
    ut = fields.get("UpdatedTime")
    if ut is not None:
        t = _TIME_CACHE.get(ut) if ut.__class__ is str else None
        if t is None:
            t = parse_time(ut)
        if t is not None:
            return t
    ts = fields.get("Timestamp")
    if ts is not None:
        t = _epoch_from_timestamp(ts)
        if t is not None:
            return t
    iso = fields.get("UpdatedTimeISO")
    if iso is not None:
        return parse_time(iso)
    return None


def is_alert(fields: Dict[str, Any]) -> bool:
    """True for the Alert stream (policy matches and ``SystemEvent`` notices).

    Decided by ``Type``; without a known ``Type``, by the presence of alert-only
    fields (``PolicyName``, ``Action``, ``Enforcer``, ``Severity``).
    """
    t = fields.get("Type")
    if t.__class__ is str:
        if t in _ALERT_STREAM_TYPES:
            return True
        if t in LOG_TYPES:
            return False
        canon = _TYPE_BY_LOWER.get(t.strip().lower())
        if canon is not None:
            return canon in _ALERT_STREAM_TYPES
    for name in _ALERT_ONLY_FIELDS:
        if name in fields:
            return True
    return False


# ---------------------------------------------------------------------------
# fast path plans
# ---------------------------------------------------------------------------
class _Plan:
    """What the fast path does for one key tuple.

    ``str_keys``: string-valued keys plus ``Type``/``Operation`` (checked together
    with one ``str.join``); ``type_i``/``op_i`` their index in it (-1: absent).
    ``int_keys``: integer keys plus ``Timestamp`` (accepted as is when
    ``0 <= value < 1e11``: seconds). ``specials``: the other structured keys.
    """

    __slots__ = ("str_keys", "str_get", "int_get", "specials", "has_int", "type_i", "op_i")

    def __init__(self, keys: Tuple[str, ...]) -> None:
        str_keys = tuple(k for k in keys if _KIND[k] in (_STR, _TYPE, _OP))
        int_keys = tuple(k for k in keys if _KIND[k] in (_INT, _TS))
        self.str_keys = str_keys
        self.str_get = _tuple_getter(str_keys)
        self.int_get = _tuple_getter(int_keys)
        self.type_i = str_keys.index("Type") if "Type" in str_keys else -1
        self.op_i = str_keys.index("Operation") if "Operation" in str_keys else -1
        self.specials = tuple((k, _KIND[k]) for k in keys if k not in str_keys and k not in int_keys)
        self.has_int = bool(int_keys)


def _tuple_getter(keys: Tuple[str, ...]) -> Callable[[Dict[str, Any]], Tuple[Any, ...]]:
    if len(keys) >= 2:
        return itemgetter(*keys)
    if len(keys) == 1:
        (k,) = keys
        return lambda d: (d[k],)
    return lambda d: ()


_PLANS: Dict[Tuple[Any, ...], Optional[_Plan]] = {}
_PLANS_MAX = 1024
#: the plan of the previous row: consecutive rows of one source usually share their keys
_LAST_PLAN: List[Optional[Tuple[Tuple[Any, ...], Optional[_Plan]]]] = [None]


def _plan_for(keys: Tuple[Any, ...]) -> Optional[_Plan]:
    last = _LAST_PLAN[0]
    if last is not None and keys == last[0]:
        return last[1]
    plan = _PLANS.get(keys, _MISS)
    if plan is not _MISS:
        _LAST_PLAN[0] = (keys, plan)
        return plan  # type: ignore[return-value]
    kind = _KIND.get
    plan = _Plan(keys) if all(k.__class__ is str and kind(k) is not None for k in keys) else None
    if len(_PLANS) >= _PLANS_MAX:
        _PLANS.clear()
    _PLANS[keys] = plan
    _LAST_PLAN[0] = (keys, plan)
    return plan


def _fast(obj: Dict[str, Any], plan: _Plan, warnings: List[str], location: str, shallow: bool = False,
          _types: frozenset = KNOWN_TYPES, _ops: frozenset = KNOWN_OPERATIONS,
          _str: type = str, _int: type = int, _list: type = list, _dict: type = dict,
          ) -> Optional[Dict[str, Any]]:
    """All keys canonical: verify types in bulk, drop empties, fix the structured fields.

    Returns ``None`` when a value has an unexpected type (the general path then
    handles the whole row). Kind codes are literals here for speed: 3 Severity,
    4 ATags, 5 Owner, 6 ExecEvent, 7 EventData (8 Type, 9 Operation).

    ``shallow=True`` also returns ``None`` (before coercing it) when a structured
    field holds a JSON object/array that itself holds an object or array. A
    result then proves ``obj`` nests at most two levels: the string and integer
    fields were checked to be ``str``/``int``, every structured one is a scalar
    or a list/dict of scalars.
    """
    svals = plan.str_get(obj)
    try:
        "".join(svals)  # C-level check that every string-kind value is a str
    except TypeError:
        return None
    for v in plan.int_get(obj):
        # not an int, or a Timestamp in ms/us, a negative or huge number: the general path decides
        if v.__class__ is not _int or v < 0 or v >= 100_000_000_000:
            return None
    out = obj.copy()
    if "" in svals:
        str_keys = plan.str_keys
        i = svals.index("")
        n = len(svals)
        while True:
            del out[str_keys[i]]
            i += 1
            if i == n or "" not in svals[i:]:
                break
            i = svals.index("", i)
    i = plan.type_i
    if i >= 0:
        v = svals[i]
        if v and v not in _types:
            _fix(out, "Type", 8, v, warnings, location)
    i = plan.op_i
    if i >= 0:
        v = svals[i]
        if v and v not in _ops:
            _fix(out, "Operation", 9, v, warnings, location)
    for k, kind in plan.specials:
        v = out[k]
        c = v.__class__
        if kind == 3:  # Severity
            if c is _int:
                continue
            if c is _str:
                if not v:
                    del out[k]
                    continue
                if v.isdigit() and v.isascii() and len(v) < 20:
                    out[k] = _int(v)
                    continue
        elif kind == 4:  # ATags
            if v is None:
                del out[k]
                continue
            if c is _list and v:
                for x in v:
                    if x.__class__ is not _str or not x:
                        break
                else:
                    out[k] = v.copy()
                    continue
        elif kind == 5 or kind == 6:  # Owner, ExecEvent
            if c is _dict and v and v.keys() <= _SUB_OK[kind]:
                for x in v.values():
                    if x.__class__ is not _str or not x:
                        break
                else:
                    out[k] = v.copy()
                    continue
        elif kind == 7:  # EventData
            if c is _dict and v:
                for x in v.values():
                    if x.__class__ is not _str:
                        break
                else:
                    out[k] = v.copy()
                    continue
        if shallow and isinstance(v, (dict, list)) and _nests(v):
            return None  # may nest to any depth: the caller checks that first
        _fix(out, k, kind, v, warnings, location)
    return out


def _nests(v: Any) -> bool:
    """True when the dict/list ``v`` holds a dict or list (it may then nest to any depth)."""
    for x in (v.values() if isinstance(v, dict) else v):
        if isinstance(x, (dict, list)):
            return True
    return False


def _fix(out: Dict[str, Any], key: str, kind: int, v: Any, warnings: List[str], location: str) -> None:
    val = _coerce(key, kind, v, warnings, location)
    if val is _ABSENT:
        del out[key]
    else:
        out[key] = val


_SUB_OK = {_OWNER: frozenset(_OWNER_SUB.values()), _EXEC: frozenset(_EXEC_SUB.values())}


# ---------------------------------------------------------------------------
# general path
# ---------------------------------------------------------------------------
def _general(obj: Dict[Any, Any], warnings: List[str], location: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    claimed = set()
    later = []
    kind_of = _KIND.get
    for k, v in obj.items():
        kind = kind_of(k) if k.__class__ is str else None
        if kind is None:
            later.append((k, v))
            continue
        claimed.add(k)
        val = _coerce(k, kind, v, warnings, location)
        if val is not _ABSENT:
            out[k] = val
    if not later:
        return out
    extras = []
    owner_flat: Dict[str, Any] = {}
    exec_flat: Dict[str, Any] = {}
    for k, v in later:
        key = k if isinstance(k, str) else str(k)
        lk = key.lower()
        if lk in _SECRET_KEYS:
            continue
        canon = _LOWER.get(lk)
        if canon is None and " " in lk:
            canon = _LOWER.get(lk.replace(" ", ""))
        if canon is not None:
            if canon in claimed:
                extras.append((key, v))
                continue
            claimed.add(canon)
            val = _coerce(canon, _KIND[canon], v, warnings, location)
            if val is not _ABSENT:
                out[canon] = val
            continue
        sub = _OWNER_FLAT.get(lk)
        if sub is not None and sub not in owner_flat:
            owner_flat[sub] = v
            continue
        sub = _EXEC_FLAT.get(lk)
        if sub is not None and sub not in exec_flat:
            exec_flat[sub] = v
            continue
        extras.append((key, v))
    if owner_flat:
        _merge_sub(out, "Owner", owner_flat, _OWNER_SUB, warnings, location)
    if exec_flat:
        _merge_sub(out, "ExecEvent", exec_flat, _EXEC_SUB, warnings, location)
    for k, v in extras:
        out[k] = v
    return out


def _merge_sub(out: Dict[str, Any], key: str, flat: Dict[str, Any], submap: Dict[str, str],
               warnings: List[str], location: str) -> None:
    extra = _sub_object(key, flat, submap, warnings, location)
    if extra is _ABSENT:
        return
    current = out.get(key)
    if current is None:
        out[key] = extra
    else:
        for sk, sv in extra.items():
            current.setdefault(sk, sv)


# ---------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------
def normalize(obj: Dict[str, Any], location: str = "") -> ParsedEvent:
    """One event dict -> :class:`ParsedEvent` with the canonical ``fields``.

    Raises :class:`ParseError` (with ``location``) when ``obj`` is not a dict,
    has no KubeArmor field with a value, or holds a JSON object/array where a
    scalar belongs. Non-fatal problems are listed in ``ParsedEvent.warnings``.
    """
    if obj.__class__ is not dict:
        if not isinstance(obj, dict):
            raise ParseError(f"expected a JSON object, got a JSON {_jtype(obj)}", location)
    if not obj:
        raise ParseError("empty JSON object: no KubeArmor field", location)
    ev = _normalize_fast(obj, location, False)
    if ev is not None:
        return ev
    warnings: List[str] = []
    fields = _general(obj, warnings, location)
    if _KA_FIELDS.isdisjoint(fields):
        raise _no_field_error(obj, location)
    _check_time(fields, warnings)
    return ParsedEvent(fields, obj, location, warnings)


def _normalize_fast(obj: Dict[str, Any], location: str, shallow: bool = True) -> Optional[ParsedEvent]:
    """:func:`normalize` of a non-empty dict by the fast path only; ``None`` when that path does not apply.

    With ``shallow`` (the default), a result also means ``obj`` nests at most two
    levels (see :func:`_fast`), so :func:`~.envelopes.parse_object` needs no depth
    check for it. ``None`` means nothing was done: call :func:`normalize`. Raises
    :class:`ParseError` like :func:`normalize` (no KubeArmor field with a value).
    """
    plan = _plan_for(tuple(obj))
    if plan is None:
        return None
    warnings: List[str] = []
    fields = _fast(obj, plan, warnings, location, shallow)
    if fields is None:
        return None
    if not plan.has_int and _KA_FIELDS.isdisjoint(fields):
        raise _no_field_error(obj, location)
    _check_time(fields, warnings)
    return ParsedEvent(fields, obj, location, warnings)


def _check_time(fields: Dict[str, Any], warnings: List[str]) -> None:
    """Warn about a missing or unreadable event time.

    With a Timestamp only a cheap shape check of UpdatedTime (the full parse
    happens once, in event_time() or the mapper); without one, parse to know.
    """
    ut = fields.get("UpdatedTime")
    if "Timestamp" in fields:
        if ut is not None and not (len(ut) >= 19 and ut[4] == "-" and ut[13] == ":") and parse_time(ut) is None:
            warnings.append(f"UpdatedTime {_short(ut)} is not a recognised time")
    else:
        has_time = False
        if ut is not None:
            if parse_time(ut) is None:
                warnings.append(f"UpdatedTime {_short(ut)} is not a recognised time")
            else:
                has_time = True
        if not has_time:
            iso = fields.get("UpdatedTimeISO")
            if iso is None or parse_time(iso) is None:
                warnings.append(NO_EVENT_TIME_WARNING)


def _no_field_error(obj: Dict[Any, Any], location: str) -> ParseError:
    keys = [str(k) for k in obj]
    shown = ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
    return ParseError(f"no KubeArmor field with a value (keys: {shown})", location)
