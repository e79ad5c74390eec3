"""The mustache subset Elasticsearch's ingest templates use.

Supported: ``{{name}}`` (escaped for the template's media type, JSON by default),
``{{{name}}}`` and ``{{& name}}`` (raw), ``{{! comment}}``. Names are dotted paths
resolved segment by segment (maps by key, lists by numeric index); the first segment
is looked up in the document model: ``_source`` (source and metadata),
``_ingest`` (ingest metadata, e.g. ``_ingest.timestamp``,
``_ingest.on_failure_message``) or any top-level field. A missing value renders as
the empty string; other values render with Java's ``toString`` (``3``, ``1.5``,
``true``, ``[a, b]``, ``{k=v}``; ``_ingest.timestamp`` as ``ZonedDateTime#toString``).

Sections (``{{#..}}``, ``{{^..}}``), partials and delimiter changes are rejected when
the template is compiled (pipeline load time).

Escaping follows ES' ``CustomMustacheFactory``: ``application/json`` (default) escapes
like Jackson's ``quoteAsString`` (``"``, ``\\`` and control characters);
``text/plain`` does not escape; ``application/x-www-form-urlencoded`` URL-encodes
like ``URLEncoder.encode(s, UTF-8)``.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, Callable, List, Optional, Tuple, Union

from .javacompat import java_to_string

JSON_MEDIA_TYPE = "application/json"
PLAIN_TEXT_MEDIA_TYPE = "text/plain"
URL_ENCODED_MEDIA_TYPE = "application/x-www-form-urlencoded"
VALID_MEDIA_TYPES = (JSON_MEDIA_TYPE, PLAIN_TEXT_MEDIA_TYPE, URL_ENCODED_MEDIA_TYPE)

_TAG = re.compile(r"\{\{\{(.*?)\}\}\}|\{\{(.*?)\}\}", re.S)
_MISSING = object()


class MustacheError(ValueError):
    pass


def _json_escape(s: str) -> str:
    out = []
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    for ch in s:
        if ch in short:
            out.append(short[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _url_escape(s: str) -> str:
    return urllib.parse.quote_plus(s, safe="*-._")


_ESCAPERS = {
    JSON_MEDIA_TYPE: _json_escape,
    PLAIN_TEXT_MEDIA_TYPE: lambda s: s,
    URL_ENCODED_MEDIA_TYPE: _url_escape,
}

Part = Union[str, Tuple[str, bool]]  # literal, or (name, escaped)


class Template:
    """A compiled template. ``is_template`` is false for strings without ``{{``."""

    def __init__(self, source: str, media_type: str = JSON_MEDIA_TYPE) -> None:
        self.source = source
        self.media_type = media_type
        self.is_template = "{{" in source
        self.parts: List[Part] = _compile(source) if self.is_template else [source]
        self._escape = _ESCAPERS[media_type]

    def render(self, lookup: Callable[[str], Any]) -> str:
        if not self.is_template:
            return self.source
        out: List[str] = []
        for p in self.parts:
            if isinstance(p, str):
                out.append(p)
                continue
            name, escaped = p
            value = resolve_name(lookup, name)
            if value is _MISSING or value is None:
                continue
            text = java_to_string(value)
            out.append(self._escape(text) if escaped else text)
        return "".join(out)

    def __repr__(self) -> str:
        return f"Template({self.source!r})"


def _compile(source: str) -> List[Part]:
    parts: List[Part] = []
    pos = 0
    for m in _TAG.finditer(source):
        if m.start() > pos:
            parts.append(source[pos:m.start()])
        pos = m.end()
        if m.group(1) is not None:
            name, escaped = m.group(1).strip(), False
        else:
            body = m.group(2)
            if not body.strip():
                raise MustacheError(f"Improperly closed variable in template [{source}]")
            sigil = body.strip()[0]
            if sigil == "!":
                continue
            if sigil == "&":
                name, escaped = body.strip()[1:].strip(), False
            elif sigil in "#^/>=<$":
                raise MustacheError(
                    f"mustache tag [{{{{{body}}}}}] is not supported by the offline ingest simulator "
                    "(only {{name}}, {{{name}}} and {{&name}} are)")
            else:
                name, escaped = body.strip(), True
        if not name or "{" in name or "}" in name:
            raise MustacheError(f"Improperly closed variable in template [{source}]")
        parts.append((name, escaped))
    if pos < len(source):
        rest = source[pos:]
        if "{{" in rest:
            raise MustacheError(f"Improperly closed variable in template [{source}]")
        parts.append(rest)
    return parts


def resolve_name(lookup: Callable[[str], Any], name: str) -> Any:
    if name == ".":
        return _MISSING
    segments = name.split(".")
    value = lookup(segments[0])
    for seg in segments[1:]:
        if value is _MISSING or value is None:
            return _MISSING
        if isinstance(value, dict):
            value = value.get(seg, _MISSING)
        elif isinstance(value, list):
            try:
                idx = int(seg)
            except ValueError:
                return _MISSING
            value = value[idx] if 0 <= idx < len(value) else _MISSING
        else:
            return _MISSING
    return value


def compile_template(source: str, media_type: Optional[str] = None) -> Template:
    return Template(source, media_type or JSON_MEDIA_TYPE)


MISSING = _MISSING
