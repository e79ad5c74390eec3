"""The ``karmor logs`` text rendering (event-schema.md section 9), parsed best effort.

::

    == Alert / 2023-03-22 06:40:00.241489 ==
    ClusterName: default
    Owner: map[Name:mysql Namespace:wordpress-mysql Ref:Deployment]
    ATags: [NIST NIST_800-53_CM-7(4) SI-4]
    HostPID: 1.252488e+06

Blocks: a header ``== Alert / <time> ==`` or ``== Log / <time> ==`` starts a block
(the time is ``UpdatedTime`` with a space for ``T`` and no zone: UTC); so does a
key already seen in the current block (headerless samples pasted one after the
other). An empty line, a ``=====`` separator line or a ``### SOURCE:`` line (the
corpus file format) ends a block; other ``#`` lines are comments.

Lines: ``Key: value`` with the key a canonical field name compared
case-insensitively after removing spaces (2022-era ``Cluster Name:``); leading
and trailing whitespace is ignored (indented and space-padded samples exist).
Values: Go maps ``map[K:V ...]`` (``Owner``, ``EventData``, ``ExecEvent``; ``map[]``
is empty), arrays ``[a b c]`` (``ATags``: taken from the comma-joined ``Tags``
when both agree, because tags may contain spaces; else split on spaces with a
warning), integers printed as floats (``1.252488e+06``: converted, with a
warning that low digits may be lost). Everything else goes through
:func:`~.normalize.normalize` like JSON, so ``Type``/``Operation``/``Severity``
are validated there.

Known rendering problems:

* a ``karmor`` bug shifted values one key down (``Severity:`` holds the policy
  name, ``Source:`` holds the Type). Such a block parses, with warnings
  ("Operation value ... not in the known set", and a note that values look
  shifted) - never silently;
* the KubeArmor daemon's protobuf-text warning line
  (``WARN Failed to send a log=[Timestamp:1769689939 UpdatedTime:"..." ...]``)
  is not karmor output: rejected with that reason;
* a block without any ``Key: value`` line is rejected.

A JSON object on a line of its own between blocks is accepted (parsed as JSON).
Each result's location is ``name:<line of the header or first line>``; the
original is the block text.
"""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional, Tuple

from ..errors import ParseError
from ..model import CANONICAL_FIELDS, ParsedEvent, ParseResult, Rejected
from .envelopes import parse_object
from .json_stream import _FAIL, MAX_DEPTH, _attach, _loads_guarded, _original
from .normalize import KNOWN_OPERATIONS, KNOWN_TYPES, _jtype, normalize, parse_time

__all__ = ["iter_text", "parse_text_block"]

_HEADER_RE = re.compile(r"==+\s*(Alert|Log|Message)\s*/\s*(.*?)\s*==+\Z", re.IGNORECASE)
_SEPARATOR_RE = re.compile(r"={3,}\Z")
_KEY_RE = re.compile(r"([A-Za-z][A-Za-z0-9 _]{0,48}?)\s*:(?:[ \t]+(.*))?\Z")
_PROTOBUF_RE = re.compile(
    r"Failed to send a log=\[|\b(?:Timestamp|UpdatedTime|ClusterName|HostName|Type|Operation|Resource|Result):"
    r'(?:"|[0-9])'
)
_FLOAT_INT_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+\Z")
_TEXT_KEYS: Dict[str, str] = {name.lower(): name for name in CANONICAL_FIELDS}
_INT_FIELDS = ("Timestamp", "HostPPID", "HostPID", "PPID", "PID", "UID", "MaxAlertsPerSec",
               "DroppingAlertsInterval")
_MAP_FIELDS = ("Owner", "ExecEvent", "EventData")
_TYPES_LOWER = frozenset(t.lower() for t in KNOWN_TYPES)
_OPS_LOWER = frozenset(o.lower() for o in KNOWN_OPERATIONS)


def _key_of(line: str) -> Optional[Tuple[str, str]]:
    """``(canonical key, value)`` of a ``Key: value`` line with a known key, else ``None``."""
    m = _KEY_RE.match(line)
    if m is None:
        return None
    canon = _TEXT_KEYS.get(m.group(1).replace(" ", "").lower())
    if canon is None:
        return None
    return canon, (m.group(2) or "").strip()


class _Block:
    __slots__ = ("lines", "header", "keys", "warnings")

    def __init__(self) -> None:
        self.lines: List[Tuple[int, str]] = []
        self.header: Optional[Tuple[int, str, str]] = None
        self.keys: set = set()
        self.warnings: List[str] = []

    def empty(self) -> bool:
        return not self.lines and self.header is None


def iter_text(lines: Iterator[Tuple[int, bytes]], name: str, pending: Optional[List[str]] = None
              ) -> Iterator[ParseResult]:
    """Blocks of ``karmor`` text from ``(line number, raw line)`` pairs -> results."""
    pending = pending if pending is not None else []
    block = _Block()

    def flush() -> Iterator[ParseResult]:
        nonlocal block
        if not block.empty():
            result = parse_text_block(block.lines, name, block.header, block.warnings)
            if pending and result.__class__ is ParsedEvent:
                _attach([result], pending)
            yield result
        block = _Block()

    for lineno, raw in lines:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            text = raw.decode("utf-8", "replace")
            block.warnings.append(f"invalid UTF-8 at line {lineno} (byte {e.start}) replaced with U+FFFD")
        if text.startswith("\ufeff"):
            text = text[1:]
            pending.append(f"UTF-8 byte-order mark at line {lineno} ignored")
        text = text.rstrip("\r\n")
        stripped = text.strip()
        if not stripped:
            yield from flush()
            continue
        if stripped.startswith("#"):
            if stripped.startswith("### SOURCE"):
                yield from flush()
            continue
        if _SEPARATOR_RE.match(stripped):
            yield from flush()
            continue
        m = _HEADER_RE.match(stripped)
        if m is not None:
            yield from flush()
            block.header = (lineno, m.group(1).capitalize(), m.group(2))
            continue
        if stripped.startswith("{") and block.empty():
            data = stripped.encode("utf-8")
            loc = f"{name}:{lineno}"
            if data.count(b"{") + data.count(b"[") > MAX_DEPTH:
                yield Rejected(f"JSON nested deeper than {MAX_DEPTH} levels (depth bomb?)", loc, _original(data))
                continue
            obj, err, warning = _loads_guarded(data)
            if obj is not _FAIL:
                if obj.__class__ is dict:
                    results = parse_object(obj, loc)
                    if warning:
                        pending.append(warning)
                    if pending:
                        _attach(results, pending)
                    yield from results
                else:  # pragma: no cover - a line starting with '{' decodes to a dict
                    yield Rejected(f"expected a JSON object, got a JSON {_jtype(obj)}", loc, obj)
                continue
        kv = _key_of(stripped)
        if kv is not None and kv[0] in block.keys:
            yield from flush()
        if kv is not None:
            block.keys.add(kv[0])
        block.lines.append((lineno, stripped))
    yield from flush()


def parse_text_block(lines: List[Tuple[int, str]], name: str,
                     header: Optional[Tuple[int, str, str]] = None,
                     warnings: Optional[List[str]] = None) -> ParseResult:
    """One block -> :class:`ParsedEvent` (``original`` = the block text) or :class:`Rejected`.

    ``lines`` are ``(line number, stripped text)``; ``header`` is
    ``(line number, "Alert"|"Log"|"Message", time text)`` when the block had one.
    """
    warnings = list(warnings or [])
    first_line = header[0] if header else (lines[0][0] if lines else 0)
    loc = f"{name}:{first_line}"
    text_lines = ([f"== {header[1]} / {header[2]} ==" ] if header else []) + [t for _, t in lines]
    text = "\n".join(text_lines)
    if _PROTOBUF_RE.search(text):
        return Rejected(
            "KubeArmor daemon log line with a protobuf-text event ('Failed to send a log=[...]'), "
            "not karmor output: not supported",
            loc,
            text,
        )
    if header and header[1] == "Message":
        return Rejected("karmor Message block (KubeArmor daemon message), not an alert or log", loc, text)
    fields: Dict[str, object] = {}
    not_understood: List[Tuple[int, str]] = []
    for lineno, line in lines:
        kv = _key_of(line)
        if kv is None:
            not_understood.append((lineno, line))
        elif kv[0] not in fields:
            fields[kv[0]] = kv[1]
    if not fields:
        return Rejected("no 'Key: value' line of the karmor text format", loc, text)
    for lineno, line in not_understood:
        shown = line if len(line) <= 80 else line[:77] + "..."
        warnings.append(f"line {lineno} not understood, ignored: {shown!r}")

    if header:
        htime = header[2]
        if "UpdatedTime" not in fields:
            iso = htime.replace(" ", "T", 1)
            if iso and not iso.endswith(("Z", "z")):
                iso += "Z"
            if parse_time(iso) is not None:
                fields["UpdatedTime"] = iso
            else:
                warnings.append(f"header time {htime!r} is not a recognised time")

    for key in _MAP_FIELDS:
        value = fields.get(key)
        if isinstance(value, str) and value.startswith("map["):
            from .normalize import parse_go_map

            parsed = parse_go_map(value)
            if parsed is not None:
                fields[key] = parsed
            else:
                warnings.append(f"{key}: Go map {value!r} could not be parsed")
    atags = fields.get("ATags")
    if isinstance(atags, str):
        fields["ATags"] = _text_atags(atags, fields.get("Tags"), warnings)
    for key in _INT_FIELDS:
        value = fields.get(key)
        if isinstance(value, str) and _FLOAT_INT_RE.match(value):
            warnings.append(f"{key} printed in float notation ({value}) by karmor; low digits may be lost")

    shifted = _looks_shifted(fields)
    if shifted:
        warnings.append(
            "values look shifted one key down (known karmor rendering bug: " + shifted + "); "
            "field mapping of this block is unreliable"
        )
    try:
        event = normalize(fields, loc)
    except ParseError as e:
        return Rejected(e.reason, loc, text)
    event.original = text
    if warnings:
        event.warnings[:0] = warnings
    return event


def _text_atags(value: str, tags: object, warnings: List[str]) -> List[str]:
    inner = value.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1].strip()
    if not inner:
        return []
    if isinstance(tags, str) and tags:
        parts = [t.strip() for t in tags.split(",")]
        if " ".join(parts) == inner:
            return [p for p in parts if p]
    parts = inner.split()
    if isinstance(tags, str) or len(parts) > 1:
        warnings.append("ATags split on spaces (karmor prints [a b c]); tags containing spaces may be split")
    return parts


def _looks_shifted(fields: Dict[str, object]) -> str:
    """Evidence that values moved to the next key, or ``""``."""
    clues = []
    src = fields.get("Source")
    if isinstance(src, str) and src.strip().lower() in _TYPES_LOWER:
        clues.append(f"Source holds the Type value {src!r}")
    res = fields.get("Resource")
    if isinstance(res, str) and res.strip().lower() in _OPS_LOWER:
        clues.append(f"Resource holds the Operation value {res!r}")
    act = fields.get("Action")
    if isinstance(act, str) and ("=" in act or act.startswith("syscall")):
        clues.append(f"Action holds Data {act!r}")
    return "; ".join(clues)
