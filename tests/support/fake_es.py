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

Cluster assets (state and rules in ``es_state.py``): ``GET``/``PUT``/``DELETE``
on ``_ilm/policy``, ``_component_template``, ``_index_template``,
``_ingest/pipeline`` (validated by the offline simulator, ``ingest_sim``; a
construct it does not implement is stored and listed in ``state.unsupported``;
also ``_simulate``) and ``_data_stream``, and ``POST <data stream>/_rollover``, in
Elasticsearch's response shapes (settings read back nested and string-valued,
``data_stream`` flags, ILM ``min_age`` defaults). A bulk ``create`` into a name
that an index template with ``data_stream`` matches creates the data stream;
documents then run through its ``index.default_pipeline`` (unless the request
says ``pipeline=_none``) and ``index.final_pipeline`` with the simulator, so a
raw ``{"message": ...}`` is stored as the mapped document. As in Elasticsearch,
a pipeline's own ``on_failure`` handler decides what a failure becomes (ours
stores the document with ``event.kind: pipeline_error``); an unhandled failure
or a missing pipeline fails the item. Stored documents are checked against the
data stream's mappings (``@timestamp``, types, ``constant_keyword``, field limit);
unmapped fields are listed in ``data_streams[name].dynamic_fields``.

REST spec: every request is checked against
``reference/elasticsearch/rest-api-spec`` (``rest_spec.py``); a violation is
answered with 400 ``rest_spec_violation`` and appended to :attr:`violations`, so
a test asserts ``fake.violations == []``. Switch off with ``spec_dir=False``.

Extending: it is a route table (``fake_http.FakeHTTPServer``); add endpoints
with ``self.route(method, regex, handler)`` in a subclass or on an instance;
:meth:`script` answers the next matching requests with a fixed response (403s,
outages).
"""

from __future__ import annotations

import base64
import fnmatch
import itertools
import re
from collections import deque
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple, Union
from urllib.parse import unquote

import orjson

from integrations.mapping.reference import default_reference_dir
from tests.support import ingest_sim
from tests.support.es_state import ClusterState, DataStream, EsError, names_matching
from tests.support.fake_http import FakeHTTPServer, Request, Response
from tests.support.ingest_sim.document import to_json_value
from tests.support.rest_spec import RestSpec, load_spec

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
        spec_dir: Union[None, bool, str, Path] = None,
        ingest_clock: Optional[Callable[[], int]] = None,
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
        #: templates, ILM policies, pipelines and data streams
        self.state = ClusterState()
        #: REST-spec violations: (method, path, reason)
        self.violations: List[Tuple[str, str, str]] = []
        self.spec: Optional[RestSpec] = None
        if spec_dir is not False:
            folder = Path(spec_dir) if isinstance(spec_dir, (str, Path)) else _default_spec_dir()
            self.spec = load_spec(folder)
        self.ingest_clock = ingest_clock or ingest_sim.system_clock
        #: overrides merged into the ``GET /`` body (e.g. an OpenSearch ``version.distribution``)
        self.info_extra: Dict[str, Any] = {}
        self._scripted: List[Tuple[str, re.Pattern, Response, List[int]]] = []
        self.route("GET", r"/", self._info)
        self.route("HEAD", r"/", self._info)
        for method in ("POST", "PUT"):
            self.route(method, r"/_bulk", self._bulk)
            self.route(method, r"/(?P<index>[^/_][^/]*)/_bulk", self._bulk)
        self._asset_routes()

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

    def script(self, method: str, path_regex: str, status: int, body: Any = None, times: int = 1,
               headers: Optional[Dict[str, str]] = None) -> None:
        """Answer the next ``times`` ``method`` requests whose (decoded) path matches with ``status``."""
        self._scripted.append((method.upper(), re.compile(path_regex), Response(status, body, headers), [times]))

    def deny(self, method: str, path_regex: str, action: str, privileges: str, scope: str = "cluster",
             user: str = "setup") -> None:
        """A 403 ``security_exception`` as Elasticsearch words it for a missing privilege."""
        reason = (f"action [{action}] is unauthorized for user [{user}] with effective roles [limited], this action "
                  f"is granted by the {scope} privileges [{privileges}]")
        self.script(method, path_regex, 403, error_body(403, "security_exception", reason))

    # -- inspection -----------------------------------------------------------

    def writes(self) -> List[Request]:
        """Recorded requests other than GET/HEAD."""
        with self.lock:
            return [r for r in self.requests if r.method not in ("GET", "HEAD")]

    def data_stream(self, name: str) -> DataStream:
        return self.state.data_streams[name]

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

    def dispatch(self, req: Request) -> Response:
        if self.spec is not None:
            problem = self.spec.check(req.method, req.path, req.query, req.headers, req.body)
            if problem is not None:
                with self.lock:
                    if self.record:
                        self.requests.append(req)
                    self.violations.append((req.method, req.path, problem))
                return Response(400, error_body(400, "rest_spec_violation", problem))
        path = unquote(req.path)
        with self.lock:
            for method, regex, resp, left in self._scripted:
                if method == req.method and left[0] > 0 and regex.fullmatch(path):
                    left[0] -= 1
                    if self.record:
                        self.requests.append(req)
                    return resp
        return super().dispatch(req)

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
        body = {
            "name": "fake-es", "cluster_name": "fake", "cluster_uuid": "fake-uuid",
            "version": {"number": self.version, "build_flavor": "default",
                        "minimum_wire_compatibility_version": "7.17.0",
                        "minimum_index_compatibility_version": "7.0.0"},
            "tagline": "You Know, for Search",
        }
        for k, v in self.info_extra.items():
            body[k] = dict(body[k], **v) if isinstance(v, dict) and isinstance(body.get(k), dict) else v
        return Response(200, body)

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
                explicit_id = meta.get("_id")
                _id = explicit_id or f"auto-{next(self._seq)}"
                item = self._apply(op, index, _id, source, meta.get("pipeline") or req.param("pipeline"),
                                   explicit_id is not None)
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

    def _apply(self, op: str, index: Optional[str], _id: str, source: Optional[bytes],
               pipeline: Optional[str] = None, explicit_id: bool = True) -> Dict[str, Any]:
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
        try:
            ds = self._target_data_stream(op, index)
        except EsError as e:
            return {"_index": index, "_id": _id, "status": e.status, "error": e.item_error(index)}
        if ds is not None:
            return self._apply_data_stream(ds, _id, explicit_id, source, pipeline)
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

    # -- data streams and ingest pipelines on the write path -----------------------

    def _target_data_stream(self, op: str, index: str) -> Optional[DataStream]:
        """The data stream ``index`` names (created on the first ``create``), or ``None`` for a plain index."""
        ds = self.state.data_streams.get(index)
        if ds is None and (index in self.indices or self.state.matching_template(index) is None):
            return None
        if op != "create":
            raise EsError(400, "illegal_argument_exception",
                          "only write ops with an op_type of create are allowed in data streams")
        return ds if ds is not None else self.state.create_data_stream(index)

    def _apply_data_stream(self, ds: DataStream, _id: str, explicit_id: bool, source: Optional[bytes],
                           pipeline: Optional[str]) -> Dict[str, Any]:
        backing = ds.write_index()
        try:
            doc = orjson.loads(source or b"null")
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            return {"_index": backing, "_id": _id, "status": 400,
                    "error": {"type": "document_parsing_exception", "reason": "[1:1] not an object", "index": backing}}
        names = []
        if pipeline != "_none":
            default = pipeline or ds.settings.get("index.default_pipeline")
            if default and default != "_none":
                names.append(str(default))
        final = ds.settings.get("index.final_pipeline")
        if final and final != "_none":
            names.append(str(final))
        ing = ingest_sim.IngestDocument(doc, index=ds.name, id=_id if explicit_id else None, clock=self.ingest_clock)
        for name in names:
            pl = self.state.pipelines.get(name)
            gap = self.state.unsupported_reachable(name)
            if gap is not None:
                return {"_index": backing, "_id": _id, "status": 500,
                        "error": {"type": "unsupported_by_simulator", "index": backing,
                                  "reason": f"pipeline [{gap}]: {self.state.unsupported[gap]}"}}
            if pl is None:
                return {"_index": backing, "_id": _id, "status": 400,
                        "error": {"type": "illegal_argument_exception",
                                  "reason": f"pipeline with id [{name}] does not exist", "index": backing}}
            try:
                result = ingest_sim.Runtime(self.state.pipelines).run_pipeline(pl, ing)
            except ingest_sim.IngestError as e:
                return {"_index": backing, "_id": _id, "status": e.status, "error": ingest_sim.render_failure(e)}
            if result is None:  # dropped
                return {"_index": backing, "_id": _id, "_version": -3, "result": "noop", "status": 200,
                        "_shards": {"total": 0, "successful": 0, "failed": 0}}
            ing = result
        new_id = str(ing.ctx.get("_id") or _id)
        stored = to_json_value(ing.source)
        try:
            ds.check_document(stored)
        except EsError as e:
            return {"_index": backing, "_id": new_id, "status": e.status, "error": e.item_error(backing)}
        docs = self.indices.setdefault(ds.name, {})
        if new_id in docs:
            return {"_index": backing, "_id": new_id, "status": 409,
                    "error": {"type": "version_conflict_engine_exception",
                              "reason": f"[{new_id}]: version conflict, document already exists (current version [1])",
                              "index": backing}}
        docs[new_id] = orjson.dumps(stored)
        return self._ok(backing, new_id, "created", 201)

    # -- assets ------------------------------------------------------------------

    def _asset_routes(self) -> None:
        name = r"(?P<name>[^/]+)"
        r = self.route
        r("GET", r"/_ilm/policy", self._h(self._ilm_get))
        r("GET", rf"/_ilm/policy/{name}", self._h(self._ilm_get))
        r("PUT", rf"/_ilm/policy/{name}", self._h(self._ilm_put))
        r("DELETE", rf"/_ilm/policy/{name}", self._h(self._ilm_delete))
        for kind in ("component", "index"):
            base = f"/_{kind}_template"
            r("GET", base, self._h(self._template_get, kind))
            r("GET", rf"{base}/{name}", self._h(self._template_get, kind))
            r("HEAD", rf"{base}/{name}", self._h(self._template_head, kind))
            r("PUT", rf"{base}/{name}", self._h(self._template_put, kind))
            r("POST", rf"{base}/{name}", self._h(self._template_put, kind))
            r("DELETE", rf"{base}/{name}", self._h(self._template_delete, kind))
        for method in ("GET", "POST"):
            r(method, r"/_ingest/pipeline/_simulate", self._h(self._simulate))
            r(method, rf"/_ingest/pipeline/{name}/_simulate", self._h(self._simulate))
        r("GET", r"/_ingest/pipeline", self._h(self._pipeline_get))
        r("GET", rf"/_ingest/pipeline/{name}", self._h(self._pipeline_get))
        r("PUT", rf"/_ingest/pipeline/{name}", self._h(self._pipeline_put))
        r("DELETE", rf"/_ingest/pipeline/{name}", self._h(self._pipeline_delete))
        r("GET", r"/_data_stream", self._h(self._ds_get))
        r("GET", rf"/_data_stream/{name}", self._h(self._ds_get))
        r("PUT", rf"/_data_stream/{name}", self._h(self._ds_put))
        r("DELETE", rf"/_data_stream/{name}", self._h(self._ds_delete))
        r("POST", r"/(?P<name>[^/_][^/]*)/_rollover", self._h(self._rollover))

    def _h(self, fn: Callable[..., Response], *extra: Any) -> Callable[[Request], Response]:
        """Auth/compat checks, the decoded ``name``, the lock, and :class:`EsError` -> response."""

        def handler(req: Request) -> Response:
            bad = self._check(req)
            if bad is not None:
                return bad
            raw = req.match.groupdict().get("name") if req.match else None
            try:
                with self.lock:
                    return fn(req, unquote(raw) if raw else None, *extra)
            except EsError as e:
                return Response(e.status, e.body())
            except ingest_sim.IngestError as e:
                return Response(e.status, ingest_sim.error_response(e))

        return handler

    @staticmethod
    def _body(req: Request) -> Any:
        try:
            return req.json()
        except ValueError:
            raise EsError(400, "x_content_parse_exception", "request body is required and must be JSON") from None

    # ILM
    def _ilm_get(self, req: Request, name: Optional[str]) -> Response:
        found, missing = names_matching(name, self.state.ilm)
        if missing:
            raise EsError(404, "resource_not_found_exception", f"Lifecycle policy not found: [{missing[0]}]")
        empty_use = {"indices": [], "data_streams": [], "composable_templates": []}
        return Response(200, {n: dict(self.state.ilm[n], in_use_by=empty_use) for n in found})

    def _ilm_put(self, req: Request, name: str) -> Response:
        self.state.put_ilm(name, self._body(req))
        return Response(200, {"acknowledged": True})

    def _ilm_delete(self, req: Request, name: str) -> Response:
        if self.state.ilm.pop(name, None) is None:
            raise EsError(404, "resource_not_found_exception", f"Lifecycle policy not found: {name}")
        return Response(200, {"acknowledged": True})

    # component / index templates
    def _templates(self, kind: str) -> Dict[str, Dict[str, Any]]:
        return self.state.component_templates if kind == "component" else self.state.index_templates

    def _template_get(self, req: Request, name: Optional[str], kind: str) -> Response:
        store = self._templates(kind)
        found, missing = names_matching(name, store)
        if missing or (name and not found):
            what = "component template" if kind == "component" else "index template"
            raise EsError(404, "resource_not_found_exception", f"{what} matching [{name}] not found")
        key = f"{kind}_template"
        return Response(200, {f"{key}s": [{"name": n, key: store[n]} for n in found]})

    def _template_head(self, req: Request, name: str, kind: str) -> Response:
        return Response(200 if name in self._templates(kind) else 404)

    def _template_put(self, req: Request, name: str, kind: str) -> Response:
        if req.param("create") == "true" and name in self._templates(kind):
            raise EsError(400, "illegal_argument_exception", f"{kind} template [{name}] already exists")
        body = self._body(req)
        if kind == "component":
            self.state.put_component_template(name, body)
        else:
            self.state.put_index_template(name, body)
        return Response(200, {"acknowledged": True})

    def _template_delete(self, req: Request, name: str, kind: str) -> Response:
        store = self._templates(kind)
        if name not in store:
            raise EsError(404, "resource_not_found_exception", f"{kind} template matching [{name}] not found")
        if kind == "component":
            self.state.delete_component_template(name)
        else:
            del store[name]
        return Response(200, {"acknowledged": True})

    # ingest pipelines
    def _pipeline_get(self, req: Request, name: Optional[str]) -> Response:
        found, missing = names_matching(name, self.state.pipeline_bodies)
        if missing or (name and not found):
            return Response(404, {})
        return Response(200, {n: self.state.pipeline_bodies[n] for n in found})

    def _pipeline_put(self, req: Request, name: str) -> Response:
        self.state.put_pipeline(name, self._body(req))
        return Response(200, {"acknowledged": True})

    def _pipeline_delete(self, req: Request, name: str) -> Response:
        if name not in self.state.pipeline_bodies:
            raise EsError(404, "resource_not_found_exception", f"pipeline [{name}] is missing")
        self.state.delete_pipeline(name)
        return Response(200, {"acknowledged": True})

    def _simulate(self, req: Request, name: Optional[str]) -> Response:
        body = self._body(req)
        result = ingest_sim.simulate(body.get("pipeline"), body.get("docs"), req.param("verbose") == "true",
                                     store=self.state.pipelines, pipeline_id=name, clock=self.ingest_clock)
        return Response(200, result)

    # data streams
    def _ds_get(self, req: Request, name: Optional[str]) -> Response:
        found, missing = names_matching(name, self.state.data_streams)
        if missing:
            raise EsError(404, "index_not_found_exception", f"no such index [{missing[0]}]")
        return Response(200, {"data_streams": [self.state.data_streams[n].to_json() for n in found]})

    def _ds_put(self, req: Request, name: str) -> Response:
        self.state.create_data_stream(name)
        return Response(200, {"acknowledged": True})

    def _ds_delete(self, req: Request, name: str) -> Response:
        if self.state.data_streams.pop(name, None) is None:
            raise EsError(404, "index_not_found_exception", f"no such index [{name}]")
        self.indices.pop(name, None)
        return Response(200, {"acknowledged": True})

    def _rollover(self, req: Request, name: str) -> Response:
        if name not in self.state.data_streams:
            raise EsError(400, "illegal_argument_exception", f"rollover target [{name}] does not exist")
        old, new = self.state.rollover(name)
        return Response(200, {"acknowledged": True, "shards_acknowledged": True, "old_index": old,
                              "new_index": new, "rolled_over": True, "dry_run": False, "lazy": False,
                              "conditions": {}})


def _default_spec_dir() -> Path:
    ref = default_reference_dir()
    if ref is None:
        raise FileNotFoundError("reference folder not found: set ACCUKNOX_REFERENCE_DIR (or pass spec_dir=False)")
    return ref / "elasticsearch" / "rest-api-spec"
