"""Check HTTP requests against Elasticsearch's REST API specification (test support).

Consumes the unmodified ``reference/elasticsearch/rest-api-spec/*.json`` files
(``testing-offline.md`` §5). :meth:`RestSpec.check` answers ``None`` for a
request the spec allows, else the reason:

* some API's URL path template matches the path (``{part}`` = one segment) and
  lists the method;
* every query parameter is declared by one of those APIs or in ``_common.json``;
* the body is present when every matching API requires it;
* a body's ``Content-Type`` (compatibility media types reduced to their base
  type) is one the API accepts.

An API missing from the stored spec (``HEAD /`` = ``ping``, for instance) is a
violation: the fake then tells the test that the code calls something nobody
checked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Pattern, Sequence, Set, Tuple

_COMPAT = re.compile(r"application/vnd\.elasticsearch\+([\w-]+)")


class Endpoint:
    __slots__ = ("name", "paths", "params", "body_required", "content_types")

    def __init__(self, name: str, paths: List[Tuple[Pattern[str], Set[str], str]], params: Set[str],
                 body_required: bool, content_types: Set[str]) -> None:
        self.name = name
        self.paths = paths
        self.params = params
        self.body_required = body_required
        self.content_types = content_types


def _template_regex(template: str) -> Pattern[str]:
    out, pos = [], 0
    for m in re.finditer(r"\{[^}]+\}", template):
        out.append(re.escape(template[pos:m.start()]))
        out.append(r"[^/]+")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out))


def media_type(value: str) -> str:
    """``application/vnd.elasticsearch+json; compatible-with=8`` -> ``application/json``."""
    base = value.split(";", 1)[0].strip().lower()
    m = _COMPAT.fullmatch(base)
    return f"application/{m.group(1)}" if m else base


class RestSpec:
    """The stored REST API specification."""

    def __init__(self, folder: Path) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"REST API spec folder {folder} not found (set ACCUKNOX_REFERENCE_DIR)")
        self.folder = folder
        self.common: Set[str] = set()
        self.endpoints: List[Endpoint] = []
        for path in sorted(folder.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if path.name == "_common.json":
                self.common = set(data.get("params", {}))
                continue
            ((name, spec),) = data.items()
            paths = [(_template_regex(p["path"]), {m.upper() for m in p["methods"]}, p["path"])
                     for p in spec["url"]["paths"]]
            body = spec.get("body") or {}
            self.endpoints.append(Endpoint(
                name, paths, set(spec.get("params", {})), bool(body.get("required")),
                set((spec.get("headers") or {}).get("content_type") or [])))

    def apis(self) -> List[str]:
        return [e.name for e in self.endpoints]

    def match(self, method: str, path: str) -> Tuple[List[Endpoint], List[Endpoint]]:
        """``(endpoints whose path matches, those that also allow the method)``."""
        by_path, by_method = [], []
        for ep in self.endpoints:
            for regex, methods, _template in ep.paths:
                if regex.fullmatch(path):
                    by_path.append(ep)
                    if method.upper() in methods:
                        by_method.append(ep)
                    break
        return by_path, by_method

    def check(self, method: str, path: str, query: Mapping[str, Sequence[str]], headers: Mapping[str, str],
              body: bytes) -> Optional[str]:
        """``None`` if the spec allows the request, else the reason."""
        by_path, eps = self.match(method, path)
        if not by_path:
            return f"{method} {path}: no API in the REST spec has this path"
        if not eps:
            allowed = sorted({m for ep in by_path for r, ms, _t in ep.paths if r.fullmatch(path) for m in ms})
            return f"{method} {path}: method not allowed by {[e.name for e in by_path]} (allowed: {allowed})"
        names = [e.name for e in eps]
        declared = set(self.common).union(*(e.params for e in eps))
        unknown = sorted(set(query) - declared)
        if unknown:
            return f"{method} {path}: query parameter(s) {unknown} not declared by {names} or _common"
        if not body.strip() and all(e.body_required for e in eps):
            return f"{method} {path}: {names} require a body"
        if body.strip():
            types = set().union(*(e.content_types for e in eps))
            ctype = headers.get("content-type", "")
            if types and media_type(ctype) not in types:
                return f"{method} {path}: Content-Type {ctype!r} is not one of {sorted(types)} ({names})"
        return None


def endpoints_called(spec: RestSpec, requests: Iterable[Tuple[str, str]]) -> List[str]:
    """The API names of ``(method, path)`` pairs (first match), for readable assertions."""
    out = []
    for method, path in requests:
        _by_path, eps = spec.match(method, path)
        out.append(eps[0].name if eps else f"? {method} {path}")
    return out


_SPEC_CACHE: Dict[str, RestSpec] = {}


def load_spec(folder: Path) -> RestSpec:
    key = str(Path(folder).resolve())
    if key not in _SPEC_CACHE:
        _SPEC_CACHE[key] = RestSpec(Path(folder))
    return _SPEC_CACHE[key]
