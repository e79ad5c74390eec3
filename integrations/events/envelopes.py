"""Unwrap the containers KubeArmor events arrive in, then normalise each event.

Envelopes recognised (event-schema.md section 10, saas-api.md):

=============================  ==========================================  ==========================
envelope                       recognised by                               events
=============================  ==========================================  ==========================
AccuKnox alerts API page       ``response`` is an array or ``null``        each element; ``null`` is
                                                                           the end of pages (nothing)
generic API page               ``data`` is an array                        each element
Elasticsearch hit              ``_source`` is an object                    ``_source``
Elasticsearch search response  ``hits.hits`` is an array                   each hit
KubeArmor sidekick wrapper     ``EventType`` plus object ``Detail``        ``Detail`` with ``Type``
                                                                           from ``EventType`` and the
                                                                           wrapper's other keys as
                                                                           fallbacks
OTLP log record (otel-adapter) ``body.kvlistValue``                        body key/values; numbers
                                                                           are doubles; ``Timestamp``
                                                                           from ``timeUnixNano``
OTLP export                    ``resourceLogs`` / ``scopeLogs`` /          each log record
                               ``logRecords`` arrays
JSON array (``parse_object``)  a ``list``                                  each element
=============================  ==========================================  ==========================

The sidekick's flat Alertmanager label set needs no unwrapping: it is a flat
event whose keys :mod:`.normalize` resolves (``Hostname``, ``OwnerRef``, the
lower-case ``source`` product marker kept as an extra field).

Not events, rejected with a reason (never an exception):

* the count endpoint's ``{"count": N}`` (also ``Count`` / ``total``);
* an API error body ``{"errors": ...}`` / ``{"error": ...}``;
* the alerts API *request* body (``FromTime``/``ToTime``/``PageId``/``PageSize``...);
* KubeArmor's ``WatchMessages`` stream (``Type: "Message"`` with ``Level``):
  daemon log lines, not security data;
* a JSON scalar or an array nested in an array where an object is expected.

``ParsedEvent.original`` is the event object after unwrapping and before key
normalisation (the ``_source``, the page element, the sidekick ``Detail`` with
``Type`` added, the flattened OTLP body), i.e. what a raw-JSON sink should ship.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from ..errors import ParseError
from ..model import KUBEARMOR_FIELDS, ParsedEvent, ParseResult, Rejected
from .normalize import KNOWN_TYPES, _jtype, _normalize_fast, _short, normalize

__all__ = ["parse_object", "MAX_ENVELOPE_DEPTH"]

#: How many envelopes may be nested (page -> search response -> hit ...).
MAX_ENVELOPE_DEPTH = 8
#: Deepest nesting of objects/arrays accepted in one event (the same bound as
#: ``json_stream.MAX_DEPTH`` for byte streams): deeper values cannot be serialised
#: again (orjson stops at 255 levels), so they would fail in the mapper or a sink.
MAX_NESTING = 128

_COUNT_KEYS = frozenset({"count", "Count", "total", "Total"})
_REQUEST_KEYS = frozenset({"FromTime", "ToTime", "PageId", "PageID", "PageSize", "WorkspaceID", "LogType"})
_ERROR_KEYS = ("errors", "error", "Errors", "Error")
#: KubeArmor field names (lower-case) that a generic error body would not carry
_KA_LOWER = frozenset(name.lower() for name in KUBEARMOR_FIELDS) - {
    "message", "type", "data", "result", "source", "action", "tags", "labels", "severity",
}


def _has_kubearmor_key(obj: Dict[str, Any]) -> bool:
    return any(str(k).lower() in _KA_LOWER for k in obj)


def parse_object(obj: Any, location: str) -> List[ParseResult]:
    """Already-decoded JSON (an event, an envelope, an API page or a list of them)
    -> a list of :class:`ParsedEvent` / :class:`Rejected`, in order. Never raises
    for bad input."""
    known = False
    if obj.__class__ is dict:
        t = obj.get("Type")
        known = t is not None and t.__class__ is str and t in KNOWN_TYPES
    if known:
        # Hot path: a plain event with a known Type and only canonical keys. When the fast
        # path takes it, it nests at most two levels, so the depth check below would pass:
        # it is skipped. Any other outcome gets exactly the checks in their usual order.
        done = _normalized(_normalize_fast, obj, location, depth_first=True)
        if done is not None:
            return done
    # Already-decoded values never went through the stream reader's depth check.
    if (obj.__class__ is dict or obj.__class__ is list) and _deeper_than(obj, MAX_NESTING):
        return [Rejected(f"value nested deeper than {MAX_NESTING} levels", location, _deep_preview(obj))]
    if known:
        return _normalized(normalize, obj, location, depth_first=False)  # type: ignore[return-value]
    out: List[ParseResult] = []
    _collect(obj, location, out, 0)
    return out


def _normalized(fn: Callable[[Dict[str, Any], str], Optional[ParsedEvent]], obj: Dict[str, Any], location: str,
                depth_first: bool) -> Optional[List[ParseResult]]:
    """``[fn(obj)]``, or its rejection; None when ``fn`` declines. With ``depth_first``
    (the depth check has not run yet), a too-deep value is rejected as such first."""
    try:
        ev = fn(obj, location)
    except ParseError as e:
        return [(depth_first and _too_deep(obj, location)) or Rejected(e.reason, location, obj)]
    except Exception as e:  # noqa: BLE001 - a parser bug must not stop the stream
        return [(depth_first and _too_deep(obj, location)) or
                Rejected(f"internal error while normalising: {type(e).__name__}: {e}", location, obj)]
    return None if ev is None else [ev]


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def _deeper_than(obj: Any, limit: int, _scalars: frozenset = _SCALAR_TYPES,
                 _containers: tuple = (dict, list)) -> bool:
    """True when ``obj`` nests dicts/lists more than ``limit`` levels (iterative: no recursion limit).

    Runs on the rows the fast path of :mod:`.normalize` does not take: plain JSON
    scalars (most values) are skipped with one set lookup of their exact type,
    ``isinstance`` only runs for the rest.
    """
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if d > limit:
            return True
        for v in (o.values() if o.__class__ is dict else o):
            if v.__class__ in _scalars:
                continue
            if isinstance(v, _containers):
                stack.append((v, d + 1))
    return False


def _too_deep(obj: Dict[str, Any], location: str) -> Optional[Rejected]:
    """The depth rejection of ``obj``, or ``None`` when it is not too deep."""
    if _deeper_than(obj, MAX_NESTING):
        return Rejected(f"value nested deeper than {MAX_NESTING} levels", location, _deep_preview(obj))
    return None


def _deep_preview(obj: Any) -> str:
    """What a dead letter keeps of a too-deep value: its type and top-level keys, as text."""
    if isinstance(obj, dict):
        keys = ", ".join(_short(str(k), 40) for k in list(obj)[:40])
        return f"<JSON object nested too deeply; top-level keys: {keys}>"
    return f"<JSON array of {len(obj)} item(s) nested too deeply>"


def _collect(obj: Any, location: str, out: List[ParseResult], depth: int) -> None:
    if depth > MAX_ENVELOPE_DEPTH:
        out.append(Rejected(f"envelopes nested deeper than {MAX_ENVELOPE_DEPTH} levels", location, obj))
        return
    if isinstance(obj, list):
        for item in obj:
            if isinstance(item, list):
                out.append(Rejected("expected a JSON object in the array, got a nested array", location, item))
            else:
                _collect(item, location, out, depth + 1)
        return
    if not isinstance(obj, dict):
        out.append(Rejected(f"expected a JSON object, got a JSON {_jtype(obj)}", location, obj))
        return
    try:
        event = _unwrap(obj, location, out, depth)
    except Exception as e:  # noqa: BLE001 - defensive: report, do not raise
        out.append(Rejected(f"internal error while unwrapping: {type(e).__name__}: {e}", location, obj))
        return
    if event is None:
        return
    try:
        out.append(normalize(event, location))
    except ParseError as e:
        out.append(Rejected(e.reason, location, event))
    except Exception as e:  # noqa: BLE001
        out.append(Rejected(f"internal error while normalising: {type(e).__name__}: {e}", location, event))


def _unwrap(obj: Dict[str, Any], location: str, out: List[ParseResult], depth: int) -> Any:
    """Handle ``obj`` if it is an envelope (appending results) and return ``None``;
    else return the event dict to normalise."""
    # AccuKnox alerts API page / generic page
    if "response" in obj:
        resp = obj["response"]
        if resp is None:
            return None  # end of pages
        if isinstance(resp, list):
            for item in resp:
                _collect_item(item, location, out, depth)
            return None
        if isinstance(resp, dict):
            _collect(resp, location, out, depth + 1)
            return None
    data = obj.get("data")
    if isinstance(data, list):
        for item in data:
            _collect_item(item, location, out, depth)
        return None
    # Elasticsearch
    src = obj.get("_source")
    if isinstance(src, dict):
        _collect(src, location, out, depth + 1)
        return None
    hits = obj.get("hits")
    if isinstance(hits, dict) and isinstance(hits.get("hits"), list):
        for item in hits["hits"]:
            _collect_item(item, location, out, depth)
        return None
    # KubeArmor sidekick wrapper
    if "EventType" in obj and isinstance(obj.get("Detail"), dict):
        return _sidekick(obj)
    # OTLP
    body = obj.get("body")
    if isinstance(body, dict) and "kvlistValue" in body:
        return _otlp_record(obj, location)
    for key, inner in (("resourceLogs", "scopeLogs"), ("scopeLogs", "logRecords"), ("logRecords", None)):
        seq = obj.get(key)
        if isinstance(seq, list):
            for item in seq:
                if inner is not None and isinstance(item, dict) and isinstance(item.get(inner), list):
                    _collect({inner: item[inner]}, location, out, depth + 1)
                else:
                    _collect_item(item, location, out, depth)
            return None
    # Things that are not events
    keys = obj.keys()
    if keys and keys <= _COUNT_KEYS:
        out.append(Rejected(f"AccuKnox API count response ({_short(dict(obj))}), not an event", location, obj))
        return None
    for key in _ERROR_KEYS:
        if key in obj and not _has_kubearmor_key(obj):
            out.append(Rejected(f"AccuKnox API error body: {_short(obj[key], 300)}", location, obj))
            return None
    if ("FromTime" in obj and "ToTime" in obj) or len(_REQUEST_KEYS.intersection(keys)) >= 2:
        out.append(
            Rejected(
                "AccuKnox alerts API request body (FromTime/ToTime/PageId/PageSize), not an event",
                location,
                obj,
            )
        )
        return None
    t = obj.get("Type", obj.get("type"))
    if isinstance(t, str) and t.lower() == "message" and ("Level" in obj or "level" in obj):
        out.append(
            Rejected(
                "KubeArmor daemon message (WatchMessages stream, Type 'Message'), not an alert or log",
                location,
                obj,
            )
        )
        return None
    return obj


def _collect_item(item: Any, location: str, out: List[ParseResult], depth: int) -> None:
    if isinstance(item, list):
        out.append(Rejected("expected a JSON object in the page, got a nested array", location, item))
    else:
        _collect(item, location, out, depth + 1)


def _sidekick(obj: Dict[str, Any]) -> Dict[str, Any]:
    """``{Timestamp, UpdatedTime, ClusterName, HostName, EventType, Detail{...}}`` -> event."""
    event = dict(obj["Detail"])
    present = {str(k).lower() for k in event}
    if "type" not in present and obj.get("EventType") not in (None, ""):
        event["Type"] = obj["EventType"]
        present.add("type")
    for key, value in obj.items():
        if key in ("Detail", "EventType"):
            continue
        if str(key).lower() not in present:
            event[key] = value
    return event


def _any_value(v: Any) -> Any:
    """OTLP/JSON ``AnyValue`` -> a Python value."""
    if not isinstance(v, dict):
        return v
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:  # int64 is a JSON string in OTLP/JSON
        iv = v["intValue"]
        try:
            return int(iv)
        except (TypeError, ValueError):
            return iv
    if "doubleValue" in v:
        return v["doubleValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "kvlistValue" in v:
        return _kvlist(v["kvlistValue"])
    if "arrayValue" in v:
        values = v["arrayValue"].get("values", []) if isinstance(v["arrayValue"], dict) else []
        return [_any_value(x) for x in values] if isinstance(values, list) else []
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def _kvlist(kv: Any) -> Dict[str, Any]:
    values = kv.get("values", []) if isinstance(kv, dict) else []
    out: Dict[str, Any] = {}
    if not isinstance(values, list):
        return out
    for item in values:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = _any_value(item.get("value"))
    return out


def _otlp_record(rec: Dict[str, Any], location: str) -> Dict[str, Any]:
    event = _kvlist(rec["body"]["kvlistValue"])
    if not any(str(k).lower() == "timestamp" for k in event):
        for key in ("timeUnixNano", "observedTimeUnixNano"):
            ns = rec.get(key)
            try:
                n = int(ns)
            except (TypeError, ValueError):
                continue
            if n > 0:
                event["Timestamp"] = n // 1_000_000_000
                break
    return event
