"""Fake Elasticsearch 8.x on 127.0.0.1 for the sink and setup tests.

Serves what elasticsearch-py 8.x needs (``testing-offline.md`` §6):

* every response carries ``X-Elastic-Product: Elasticsearch`` (switch off with
  ``product_header=False`` to exercise ``UnsupportedProductError``);
* ``GET /`` → cluster info with version ``8.17.0``;
* ``Accept`` / ``Content-Type`` checks: a ``compatible-with=N`` outside
  ``compat_majors`` (default 7, 8 – what an 8.x server accepts) is answered
  with 400 ``media_type_header_exception``, as a real 8.x server answers a 9.x client;
* ``POST|PUT /_bulk`` and ``/<index>/_bulk``: NDJSON (gzip too) parsed into
  ``create`` / ``index`` / ``delete`` operations; documents stored per index by
  ``_id`` (sources kept as bytes, decoded by :meth:`docs`); ``create`` of an
  existing ``_id`` → 409 ``version_conflict_engine_exception``;
* ``filter_path`` on bulk responses (include patterns with ``*``);
* optional authentication (``api_key=`` or ``basic_auth=(user, password)``) →
  401 ``security_exception`` when missing or wrong.

Scripting:

* :meth:`fail_item` – per ``_id`` queue of failures consumed one per attempt,
  e.g. ``fail_item("id1", 429)`` (rejected once, then stored) or
  ``fail_item("id2", 400)`` (``document_parsing_exception``);
* :attr:`item_hook` – ``callable(op, index, _id, source_bytes) -> None |
  (status, error_dict)`` for anything else;
* :meth:`fail_next_bulk` – whole-request answers (503, 429, 401 ...) for the
  next bulk requests.

Extending: it is a route table (``fake_http.FakeHTTPServer``); add endpoints
with ``self.route(method, regex, handler)`` in a subclass or on an instance –
templates, pipelines and data streams can store into :attr:`assets`.
"""

from __future__ import annotations

import base64
import fnmatch
import itertools
import re
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple, Union

import orjson

from tests.support.fake_http import FakeHTTPServer, Request, Response

VERSION = "8.17.0"

#: Default error object per status, as Elasticsearch renders it.
ERRORS: Dict[int, Dict[str, Any]] = {
    400: {"type": "document_parsing_exception",
          "reason": "[1:42] failed to parse field [process.pid] of type [long] in document"},
    404: {"type": "index_not_found_exception", "reason": "no such index"},
    409: {"type": "version_conflict_engine_exception",
          "reason": "version conflict, document already exists (current version [1])"},
    429: {"type": "es_rejected_execution_exception",
          "reason": "rejected execution of coordinating operation [shard_detail=[logs][0][P]]"},
    500: {"type": "exception", "reason": "internal error"},
    503: {"type": "unavailable_shards_exception", "reason": "primary shard is not active"},
}

_COMPAT_RE = re.compile(r"compatible-with=(\d+)")
ItemFailure = Tuple[int, Dict[str, Any]]
Failure = Union[int, ItemFailure]


def error_body(status: int, type_: str, reason: str) -> Dict[str, Any]:
    """A whole-request error body: ``{"error": {...root_cause...}, "status": N}``."""
    err = {"type": type_, "reason": reason}
    return {"error": {"root_cause": [err], **err}, "status": status}


_NONE = object()


def filter_path(obj: Any, spec: str) -> Any:
    """Elasticsearch's ``filter_path`` response filtering (include patterns, ``*`` wildcards)."""
    paths = [p.split(".") for p in spec.split(",") if p and not p.startswith("-")]
    out = _filter(obj, paths)
    return {} if out is _NONE else out


def _filter(obj: Any, paths: List[List[str]]) -> Any:
    if any(not p for p in paths):
        return obj
    if isinstance(obj, list):
        kept = [f for f in (_filter(v, paths) for v in obj) if f is not _NONE]
        return kept if kept else _NONE
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            sub = [p[1:] for p in paths if p[0] == k or fnmatch.fnmatchcase(k, p[0])]
            if sub:
                f = _filter(v, sub)
                if f is not _NONE:
                    out[k] = f
        return out if out else _NONE
    return _NONE


def _item_fields(spec: str) -> Optional[Tuple[List[str], List[str]]]:
    """``(top-level keys, item fields)`` when ``spec`` is only ``key`` and ``items.*.field`` patterns."""
    top: List[str] = []
    keep: List[str] = []
    for p in spec.split(","):
        parts = p.split(".")
        if len(parts) == 1 and parts[0] and not any(c in parts[0] for c in "*?[-"):
            top.append(parts[0])
        elif len(parts) == 3 and parts[:2] == ["items", "*"] and not any(c in parts[2] for c in "*?["):
            keep.append(parts[2])
        else:
            return None
    return (top, keep) if keep else None


class FakeElasticsearch(FakeHTTPServer):
    """See the module docstring."""

    def __init__(
        self,
        version: str = VERSION,
        *,
        compat_majors: Iterable[int] = (7, 8),
        product_header: bool = True,
        api_key: Optional[str] = None,
        basic_auth: Optional[Tuple[str, str]] = None,
        record: bool = True,
        validate_json: bool = True,
        ssl_context: Any = None,
    ) -> None:
        super().__init__(record=record, ssl_context=ssl_context)
        self.version = version
        self.compat_majors = tuple(compat_majors)
        self.product_header = product_header
        self.validate_json = validate_json
        self._auth_ok: Optional[set] = None
        if api_key is not None or basic_auth is not None:
            self._auth_ok = set()
            if api_key is not None:
                self._auth_ok.add(f"ApiKey {api_key}")
            if basic_auth is not None:
                token = base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()
                self._auth_ok.add(f"Basic {token}")
        #: index → {_id: source bytes}
        self.indices: Dict[str, Dict[str, bytes]] = {}
        #: free storage for endpoints added later (templates, pipelines, data streams)
        self.assets: Dict[str, Dict[str, Any]] = {}
        self.item_failures: Dict[str, Deque[ItemFailure]] = {}
        self.item_hook: Optional[Callable[[str, str, str, Optional[bytes]], Optional[ItemFailure]]] = None
        self.bulk_failures: Deque[Response] = deque()
        self.bulk_items_seen = 0
        self._seq = itertools.count()
        self.route("GET", r"/", self._info)
        self.route("HEAD", r"/", self._info)
        for method in ("POST", "PUT"):
            self.route(method, r"/_bulk", self._bulk)
            self.route(method, r"/(?P<index>[^/_][^/]*)/_bulk", self._bulk)

    # -- scripting ------------------------------------------------------------

    def fail_item(self, _id: str, *failures: Failure) -> None:
        """Queue failures for document ``_id``: one is used per bulk attempt, then it succeeds."""
        q = self.item_failures.setdefault(_id, deque())
        for f in failures:
            q.append((f, ERRORS.get(f, {"type": "exception", "reason": f"scripted {f}"})) if isinstance(f, int) else f)

    def fail_next_bulk(self, status: int, body: Any = None, times: int = 1, headers: Optional[Dict[str, str]] = None
                       ) -> None:
        """Answer the next ``times`` bulk requests with ``status`` (nothing is stored)."""
        if body is None:
            err = ERRORS.get(status, {"type": "exception", "reason": f"scripted {status}"})
            body = error_body(status, err["type"], err["reason"])
        for _ in range(times):
            self.bulk_failures.append(Response(status, body, headers))

    # -- inspection -----------------------------------------------------------

    def docs(self, index: str) -> Dict[str, Any]:
        """Decoded documents of ``index`` by ``_id``."""
        with self.lock:
            return {k: orjson.loads(v) for k, v in self.indices.get(index, {}).items()}

    def doc_count(self, index: Optional[str] = None) -> int:
        with self.lock:
            if index is not None:
                return len(self.indices.get(index, {}))
            return sum(len(v) for v in self.indices.values())

    def bulk_requests(self) -> List[Request]:
        return self.requests_to(r"(/[^/]+)?/_bulk")

    # -- protocol -------------------------------------------------------------

    def default_headers(self) -> Dict[str, str]:
        return {"X-Elastic-Product": "Elasticsearch"} if self.product_header else {}

    def _check(self, req: Request) -> Optional[Response]:
        """Authentication and compatibility-header checks shared by all endpoints."""
        if self._auth_ok is not None and req.headers.get("authorization") not in self._auth_ok:
            body = error_body(401, "security_exception",
                              f"missing authentication credentials for REST request [{req.path}]")
            return Response(401, body, {"WWW-Authenticate": 'ApiKey, Basic realm="security" charset="UTF-8"'})
        for name in ("accept", "content-type"):
            value = req.headers.get(name, "")
            m = _COMPAT_RE.search(value)
            if (m and int(m.group(1)) not in self.compat_majors) or ("vnd.elasticsearch" in value and not m):
                reason = (f"Accept version must be either version {' or '.join(map(str, self.compat_majors))}, "
                          f"but found {m.group(1) if m else '?'}. Accept={req.headers.get('accept')}")
                return Response(400, error_body(400, "media_type_header_exception", reason))
        return None

    def _info(self, req: Request) -> Response:
        bad = self._check(req)
        if bad is not None:
            return bad
        return Response(200, {
            "name": "fake-es", "cluster_name": "fake", "cluster_uuid": "fake-uuid",
            "version": {"number": self.version, "build_flavor": "default",
                        "minimum_wire_compatibility_version": "7.17.0",
                        "minimum_index_compatibility_version": "7.0.0"},
            "tagline": "You Know, for Search",
        })

    def _bulk(self, req: Request) -> Response:
        bad = self._check(req)
        if bad is not None:
            return bad
        with self.lock:
            if self.bulk_failures:
                return self.bulk_failures.popleft()
        default_index = req.match.group("index") if req.match and "index" in req.match.groupdict() else None
        lines = req.body.split(b"\n")
        items: List[Dict[str, Any]] = []
        errors = False
        i, n = 0, len(lines)
        loads = orjson.loads
        with self.lock:
            while i < n:
                line = lines[i]
                i += 1
                if not line.strip():
                    continue
                try:
                    ((op, meta),) = loads(line).items()
                except (ValueError, AttributeError):
                    return Response(400, error_body(400, "illegal_argument_exception",
                                                    f"Malformed action/metadata line [{i}]"))
                source = None
                if op != "delete":
                    if i >= n:
                        return Response(400, error_body(400, "illegal_argument_exception",
                                                        "The bulk request must be terminated by a newline [\\n]"))
                    source = lines[i]
                    i += 1
                index = meta.get("_index") or default_index
                _id = meta.get("_id") or f"auto-{next(self._seq)}"
                item = self._apply(op, index, _id, source)
                if item["status"] >= 300:
                    errors = True
                items.append({op: item})
            self.bulk_items_seen += len(items)
        body: Any = {"took": 1, "errors": errors, "items": items}
        spec = req.param("filter_path")
        if not spec:
            return Response(200, body)
        fields = _item_fields(spec)
        if fields is None:
            return Response(200, filter_path(body, spec))
        # fast path for the usual "errors,items.*.<field>,..." (keeps benchmarks honest)
        top, keep = fields
        out = {k: body[k] for k in top if k in body}
        out["items"] = [{op: {k: it[k] for k in keep if k in it}} for entry in items for op, it in entry.items()]
        return Response(200, out)

    def _apply(self, op: str, index: Optional[str], _id: str, source: Optional[bytes]) -> Dict[str, Any]:
        if not index:
            return {"_index": None, "_id": _id, "status": 400,
                    "error": {"type": "action_request_validation_exception",
                              "reason": "Validation Failed: 1: index is missing;"}}
        failure: Optional[ItemFailure] = None
        q = self.item_failures.get(_id)
        if q:
            failure = q.popleft()
        elif self.item_hook is not None:
            failure = self.item_hook(op, index, _id, source)
        if failure is not None:
            status, err = failure
            return {"_index": index, "_id": _id, "status": status, "error": dict(err, index=index)}
        if source is not None and self.validate_json:
            try:
                orjson.loads(source)
            except ValueError:
                return {"_index": index, "_id": _id, "status": 400,
                        "error": {"type": "document_parsing_exception", "reason": "[1:1] failed to parse"}}
        docs = self.indices.setdefault(index, {})
        if op == "create":
            if _id in docs:
                return {"_index": index, "_id": _id, "status": 409,
                        "error": {"type": "version_conflict_engine_exception",
                                  "reason": f"[{_id}]: version conflict, document already exists "
                                            "(current version [1])", "index": index}}
            docs[_id] = source  # type: ignore[assignment]
            return self._ok(index, _id, "created", 201)
        if op == "index":
            existed = _id in docs
            docs[_id] = source  # type: ignore[assignment]
            return self._ok(index, _id, "updated" if existed else "created", 200 if existed else 201)
        if op == "delete":
            if docs.pop(_id, None) is None:
                return dict(self._ok(index, _id, "not_found", 404))
            return self._ok(index, _id, "deleted", 200)
        return {"_index": index, "_id": _id, "status": 400,
                "error": {"type": "illegal_argument_exception", "reason": f"unsupported op [{op}] in fake"}}

    def _ok(self, index: str, _id: str, result: str, status: int) -> Dict[str, Any]:
        return {"_index": index, "_id": _id, "_version": 1, "result": result,
                "_shards": {"total": 2, "successful": 1, "failed": 0},
                "_seq_no": next(self._seq), "_primary_term": 1, "status": status}
