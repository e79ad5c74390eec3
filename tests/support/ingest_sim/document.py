"""IngestDocument with Elasticsearch's (classic) field-path semantics.

The document is one ``ctx`` map holding the source fields *and* the metadata fields
(``_index``, ``_id``, ``_version``, ``_routing`` ...), as ``getSourceAndMetadata()``
does in Elasticsearch, plus a separate ``_ingest`` metadata map
(``timestamp``, ``pipeline``, ``on_failure_*``, ``_value``/``_key`` in foreach).

Paths are split on ``.``; a path starting with ``_ingest.`` addresses the ingest
metadata, ``_source.`` the ctx map. Numeric segments index lists. Error messages
are those of ``IngestDocument`` (``field [x] not present as part of path [a.x]``,
``[3] is out of bounds for array with length [2] as part of path [..]`` ...).
"""

from __future__ import annotations

import copy
import datetime as _dt
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from .errors import illegal_argument
from .javacompat import java_class_name, java_contains
from .mustache import MISSING, Template

METADATA_KEYS = (
    "_index", "_type", "_id", "_routing", "_version", "_version_type",
    "_if_seq_no", "_if_primary_term", "_dynamic_templates",
)
INGEST_KEY = "_ingest"
SOURCE_KEY = "_source"
_NOT_FOUND = object()


class IngestTimestamp:
    """``ZonedDateTime`` in UTC with nanosecond precision (``_ingest.timestamp``).

    ``java_string()`` is ``ZonedDateTime#toString`` (what ``{{_ingest.timestamp}}``
    renders, e.g. ``2024-05-01T12:34:56.123456Z``); ``json_string()`` is how XContent
    serialises it (``strict_date_optional_time_nanos``: at least 3 fraction digits).
    """

    __slots__ = ("epoch_nanos",)

    def __init__(self, epoch_nanos: int) -> None:
        self.epoch_nanos = int(epoch_nanos)

    def _parts(self) -> Tuple[_dt.datetime, int]:
        secs, nanos = divmod(self.epoch_nanos, 1_000_000_000)
        base = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(seconds=secs)
        return base, nanos

    def java_string(self) -> str:
        base, nanos = self._parts()
        s = base.strftime("%Y-%m-%dT%H:%M")
        if base.second or nanos:
            s += base.strftime(":%S")
        if nanos:
            if nanos % 1_000_000 == 0:
                s += f".{nanos // 1_000_000:03d}"
            elif nanos % 1000 == 0:
                s += f".{nanos // 1000:06d}"
            else:
                s += f".{nanos:09d}"
        return s + "Z"

    def json_string(self) -> str:
        base, nanos = self._parts()
        frac = f"{nanos:09d}"
        while len(frac) > 3 and frac.endswith("0"):
            frac = frac[:-1]
        return base.strftime("%Y-%m-%dT%H:%M:%S") + "." + frac + "Z"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IngestTimestamp) and other.epoch_nanos == self.epoch_nanos

    def __hash__(self) -> int:
        return hash(self.epoch_nanos)

    def __deepcopy__(self, memo: Dict[int, Any]) -> IngestTimestamp:
        return self

    def __repr__(self) -> str:
        return f"IngestTimestamp({self.java_string()})"


Clock = Callable[[], int]


def system_clock() -> int:
    """Wall clock in epoch nanoseconds at microsecond resolution (like the JDK on Linux)."""
    return time.time_ns() // 1000 * 1000


def fixed_clock(value: Union[int, str, _dt.datetime]) -> Clock:
    """A deterministic clock: epoch nanos, an ISO-8601 string or an aware datetime."""
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, _dt.datetime):
        delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        nanos = (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    else:
        nanos = int(value)
    return lambda: nanos


def deep_copy(value: Any) -> Any:
    return copy.deepcopy(value)


class FieldPath:
    __slots__ = ("path", "in_ingest", "elements")

    def __init__(self, path: Optional[str]) -> None:
        if path is None or path == "":
            raise illegal_argument("path cannot be null nor empty")
        self.path = path
        if path.startswith(INGEST_KEY + "."):
            self.in_ingest, new_path = True, path[len(INGEST_KEY) + 1:]
        elif path.startswith(SOURCE_KEY + "."):
            self.in_ingest, new_path = False, path[len(SOURCE_KEY) + 1:]
        else:
            self.in_ingest, new_path = False, path
        elements = new_path.split(".")
        while elements and elements[-1] == "":  # Java's split drops trailing empty strings
            elements.pop()
        if not elements or (len(elements) == 1 and elements[0] == ""):
            raise illegal_argument(f"path [{path}] is not valid")
        self.elements = elements


def _not_integer(seg: str, path: str) -> str:
    return f"[{seg}] is not an integer, cannot be used as an index as part of path [{path}]"


def _out_of_bounds(idx: int, size: int, path: str) -> str:
    return f"[{idx}] is out of bounds for array with length [{size}] as part of path [{path}]"


def _parse_index(seg: str) -> Optional[int]:
    if not seg or not (seg.isdigit() or (seg[0] in "+-" and seg[1:].isdigit())):
        return None
    v = int(seg)
    return v if -(2**31) <= v < 2**31 else None


class IngestDocument:
    def __init__(
        self,
        source: Dict[str, Any],
        *,
        index: Optional[str] = "_index",
        id: Optional[str] = "_id",  # noqa: A002 - ES naming
        version: Optional[int] = -3,
        routing: Optional[str] = None,
        version_type: Optional[str] = None,
        extra_metadata: Optional[Dict[str, Any]] = None,
        clock: Clock = system_clock,
    ) -> None:
        self.ctx: Dict[str, Any] = {}
        for key, value in (("_index", index), ("_id", id), ("_version", version),
                           ("_routing", routing), ("_version_type", version_type)):
            if value is not None:
                self.ctx[key] = value
        for key, value in (extra_metadata or {}).items():
            if value is not None:
                self.ctx[key] = value
        for key, value in source.items():
            self.ctx[key] = value
        self.ingest: Dict[str, Any] = {"timestamp": IngestTimestamp(clock())}
        self.executed_pipelines: List[str] = []
        self.terminated = False

    # ------------------------------------------------------------ views

    @property
    def source(self) -> Dict[str, Any]:
        return {k: v for k, v in self.ctx.items() if k not in METADATA_KEYS}

    @property
    def metadata(self) -> Dict[str, Any]:
        return {k: v for k, v in self.ctx.items() if k in METADATA_KEYS}

    def copy(self) -> IngestDocument:
        new = IngestDocument.__new__(IngestDocument)
        new.ctx = deep_copy(self.ctx)
        new.ingest = deep_copy(self.ingest)
        new.executed_pipelines = list(self.executed_pipelines)
        new.terminated = self.terminated
        return new

    def pipeline_stack(self) -> List[str]:
        """Innermost pipeline first (``IngestDocument#getPipelineStack``)."""
        return list(reversed(self.executed_pipelines))

    # ------------------------------------------------------------ templates

    def template_lookup(self, key: str) -> Any:
        if key == SOURCE_KEY:
            return self.ctx
        if key == INGEST_KEY:
            return self.ingest
        return self.ctx.get(key, MISSING)

    def render(self, template: Template) -> str:
        return template.render(self.template_lookup)

    # ------------------------------------------------------------ read

    def _initial(self, fp: FieldPath) -> Any:
        return self.ingest if fp.in_ingest else self.ctx

    @staticmethod
    def _resolve(seg: str, path: str, context: Any) -> Tuple[bool, Any]:
        if context is None:
            return False, f"cannot resolve [{seg}] from null as part of path [{path}]"
        if isinstance(context, dict):
            value = context.get(seg, _NOT_FOUND)
            if value is _NOT_FOUND:
                return False, f"field [{seg}] not present as part of path [{path}]"
            return True, value
        if isinstance(context, list):
            idx = _parse_index(seg)
            if idx is None:
                return False, _not_integer(seg, path)
            if idx < 0 or idx >= len(context):
                return False, _out_of_bounds(idx, len(context), path)
            return True, context[idx]
        return False, (f"cannot resolve [{seg}] from object of type [{java_class_name(context)}] "
                       f"as part of path [{path}]")

    def get_field_value(self, path: str, ignore_missing: bool = False, expected: Optional[type] = None,
                        expected_name: Optional[str] = None) -> Any:
        fp = FieldPath(path)
        context = self._initial(fp)
        for seg in fp.elements:
            ok, value = self._resolve(seg, path, context)
            if not ok:
                if ignore_missing:
                    return None
                raise illegal_argument(value)
            context = value
        if expected is not None and context is not None and not isinstance(context, expected):
            raise illegal_argument(
                f"field [{path}] of type [{java_class_name(context)}] cannot be cast to "
                f"[{expected_name or expected.__name__}]")
        return context

    def has_field(self, path: str, fail_out_of_range: bool = False) -> bool:
        fp = FieldPath(path)
        context = self._initial(fp)
        for seg in fp.elements[:-1]:
            if context is None:
                return False
            if isinstance(context, dict):
                context = context.get(seg)
            elif isinstance(context, list):
                idx = _parse_index(seg)
                if idx is None:
                    return False
                if idx < 0 or idx >= len(context):
                    if fail_out_of_range:
                        raise illegal_argument(_out_of_bounds(idx, len(context), path))
                    return False
                context = context[idx]
            else:
                return False
        leaf = fp.elements[-1]
        if isinstance(context, dict):
            return leaf in context
        if isinstance(context, list):
            idx = _parse_index(leaf)
            if idx is None:
                return False
            if 0 <= idx < len(context):
                return True
            if fail_out_of_range:
                raise illegal_argument(_out_of_bounds(idx, len(context), path))
            return False
        return False

    # ------------------------------------------------------------ write

    def remove_field(self, path: str) -> None:
        fp = FieldPath(path)
        context = self._initial(fp)
        for seg in fp.elements[:-1]:
            ok, value = self._resolve(seg, path, context)
            if not ok:
                raise illegal_argument(value)
            context = value
        leaf = fp.elements[-1]
        if context is None:
            raise illegal_argument(f"cannot remove [{leaf}] from null as part of path [{path}]")
        if isinstance(context, dict):
            if leaf in context:
                if context is self.ctx and leaf in ("_index", "_id", "_version") and not fp.in_ingest:
                    raise illegal_argument(f"{leaf} cannot be removed")
                del context[leaf]
                return
            raise illegal_argument(f"field [{leaf}] not present as part of path [{path}]")
        if isinstance(context, list):
            idx = _parse_index(leaf)
            if idx is None:
                raise illegal_argument(_not_integer(leaf, path))
            if idx < 0 or idx >= len(context):
                raise illegal_argument(_out_of_bounds(idx, len(context), path))
            del context[idx]
            return
        raise illegal_argument(f"cannot remove [{leaf}] from object of type [{java_class_name(context)}] "
                               f"as part of path [{path}]")

    def set_field_value(self, path: str, value: Any) -> None:
        self._set(path, value, append=False)

    def append_field_value(self, path: str, value: Any, allow_duplicates: bool = True,
                           ignore_empty_values: bool = False) -> None:
        self._set(path, value, append=True, allow_duplicates=allow_duplicates,
                  ignore_empty_values=ignore_empty_values)

    def _check_metadata(self, context: Any, key: str, value: Any) -> None:
        if context is not self.ctx:
            return
        if key in ("_index", "_id", "_routing", "_version_type") and value is not None \
                and not isinstance(value, str):
            raise illegal_argument(f"{key} [{value}] is wrong type, expected assignment to one of "
                                   f"[java.lang.String], not [{java_class_name(value)}]")
        if key in ("_index", "_id") and value is None:
            raise illegal_argument(f"{key} cannot be null")

    def _set(self, path: str, value: Any, append: bool, allow_duplicates: bool = True,
             ignore_empty_values: bool = False) -> None:
        fp = FieldPath(path)
        context = self._initial(fp)
        for seg in fp.elements[:-1]:
            if context is None:
                raise illegal_argument(f"cannot resolve [{seg}] from null as part of path [{path}]")
            if isinstance(context, dict):
                nxt = context.get(seg, _NOT_FOUND)
                if nxt is _NOT_FOUND:
                    nxt = {}
                    context[seg] = nxt
                context = nxt
            elif isinstance(context, list):
                idx = _parse_index(seg)
                if idx is None:
                    raise illegal_argument(_not_integer(seg, path))
                if idx < 0 or idx >= len(context):
                    raise illegal_argument(_out_of_bounds(idx, len(context), path))
                context = context[idx]
            else:
                raise illegal_argument(f"cannot resolve [{seg}] from object of type "
                                       f"[{java_class_name(context)}] as part of path [{path}]")
        leaf = fp.elements[-1]
        if context is None:
            raise illegal_argument(f"cannot set [{leaf}] with null parent as part of path [{path}]")
        if isinstance(context, dict):
            if append:
                existing = context.get(leaf, _NOT_FOUND)
                if existing is _NOT_FOUND:
                    new_list: List[Any] = []
                    _append_values(new_list, value, allow_duplicates, ignore_empty_values)
                    if new_list:
                        context[leaf] = new_list
                else:
                    result = _append_to(existing, value, allow_duplicates, ignore_empty_values)
                    if result is not existing:
                        context[leaf] = result
                return
            self._check_metadata(context, leaf, value)
            context[leaf] = value
        elif isinstance(context, list):
            idx = _parse_index(leaf)
            if idx is None:
                raise illegal_argument(_not_integer(leaf, path))
            if idx < 0 or idx >= len(context):
                raise illegal_argument(_out_of_bounds(idx, len(context), path))
            if append:
                existing = context[idx]
                result = _append_to(existing, value, allow_duplicates, ignore_empty_values)
                if result is not existing:
                    context[idx] = result
                return
            context[idx] = value
        else:
            raise illegal_argument(f"cannot set [{leaf}] with parent object of type "
                                   f"[{java_class_name(context)}] as part of path [{path}]")


def value_not_empty(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value != ""
    return True


def _append_values(target: List[Any], value: Any, allow_duplicates: bool, ignore_empty: bool) -> bool:
    appended = False
    values = value if isinstance(value, list) else [value]
    for v in values:
        if (allow_duplicates or not java_contains(target, v)) and (not ignore_empty or value_not_empty(v)):
            target.append(v)
            appended = True
    return appended


def _append_to(maybe_list: Any, value: Any, allow_duplicates: bool, ignore_empty: bool) -> Any:
    lst = maybe_list if isinstance(maybe_list, list) else [maybe_list]
    appended = _append_values(lst, value, allow_duplicates, ignore_empty)
    return lst if appended else maybe_list


def get_all_fields(data: Dict[str, Any], prefix: str = "") -> List[str]:
    """``IngestDocument#getAllFields``: every path, parents before children."""
    out: List[str] = []
    for k, v in data.items():
        out.append(prefix + k)
        if isinstance(v, dict):
            out.extend(get_all_fields(v, prefix + k + "."))
    return out


def to_json_value(value: Any) -> Any:
    """Deep copy for output, rendering ``IngestTimestamp`` as XContent does."""
    if isinstance(value, IngestTimestamp):
        return value.json_string()
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_value(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def doc_to_xcontent(doc: IngestDocument) -> Dict[str, Any]:
    """``WriteableIngestDocument#toXContent``: metadata as strings, ``_source``, ``_ingest``."""
    out: Dict[str, Any] = {}
    for key in METADATA_KEYS:
        if key in doc.ctx and doc.ctx[key] is not None:
            v = doc.ctx[key]
            out[key] = v if isinstance(v, dict) else (str(v) if not isinstance(v, bool) else str(v).lower())
    out["_source"] = to_json_value(doc.source)
    out["_ingest"] = to_json_value(doc.ingest)
    return out
