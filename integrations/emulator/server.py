"""An emulator of the AccuKnox SaaS alerts API, bound to the loopback interface.

Consumes alert rows (a list, or a callable feed such as
:class:`~integrations.emulator.generator.LiveEventSource`) and serves them the
way ``docs/saas-api.md`` describes the real API, for tests, demos and
benchmarks of the poller:

* ``POST /monitors/v1/alerts/events?orderby=asc|desc`` → ``{"response": [rows]}``
  and ``POST /monitors/v1/alerts/events/count`` → ``{"count": n}``;
* headers checked: ``Authorization: Bearer <token>`` (401 otherwise) and
  ``X-Tenant-ID`` (403 on a wrong or missing tenant; also 403 when the body's
  ``WorkspaceID`` names another tenant);
* the body is validated like the Go service does: JSON keys match
  case-insensitively (Go ``encoding/json``), wrong types give Go's
  ``json: cannot unmarshal …`` text, and missing/zero required fields give the
  validator lines ``Key: 'AlertsLog.PageID' Error:Field validation for 'PageID'
  failed on the 'required' tag`` (status 400, body ``{"errors": …}``);
* filters: ``FromTime ≤ Timestamp ≤ ToTime`` – **inclusive on both ends**, the
  choice that makes consecutive windows share their boundary second, so a
  poller that does not de-duplicate is caught by the tests; ``ClusterID``
  (``cluster_id``), ``Namespace`` (``NamespaceName``), ``WorkloadType``/
  ``WorkloadName`` (``Owner.Ref``/``Owner.Name``), ``Filters`` (``match`` /
  ``ne`` / ``pattern``; OR within a field, AND across fields), ``Search``
  (case-insensitive substring), ``LogType`` (``active``/``all`` = everything,
  ``suppressed`` = nothing), ``Type`` (only ``kubearmor`` has data);
* order: ``Timestamp``, then ``UpdatedTime`` (microseconds), then ``HashID``
  (then arrival), reversed for ``desc``;
  pages are slices ``[(PageId-1)*PageSize : PageId*PageSize]``; past the end the
  answer is ``{"response": null}`` (or ``[]``/missing, see ``end_style``).

Late arrivals: an event with ``Timestamp`` t becomes visible when the
emulator's clock reaches t + its lateness (uniform in ``[0, late_seconds]``,
seeded), or at an explicit ``visible_at`` given to :meth:`AlertsEmulator.add_events`.
With a callable ``events`` source the emulator asks it for new rows before each
request ("live" mode: rows generated against the current clock).

Faults (:class:`FaultSpec`, per request, seeded) and scripted responses
(:class:`Scripted`) cover latency, 429 with/without ``Retry-After``, 5xx,
duplicated rows, cut-off JSON bodies and connection resets. Every request is
recorded with the token redacted; logs never contain the token.
"""

from __future__ import annotations

import bisect
import collections
import fnmatch
import ipaddress
import logging
import random
import re
import socket
import ssl
import struct
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Sequence, Tuple, Union
from urllib.parse import parse_qs

from integrations.jsoncodec import dumps, loads

__all__ = ["AlertsEmulator", "FaultSpec", "RecordedRequest", "Scripted", "EVENTS_PATH", "COUNT_PATH"]

log = logging.getLogger("integrations.emulator.server")

EVENTS_PATH = "/monitors/v1/alerts/events"
COUNT_PATH = "/monitors/v1/alerts/events/count"
_MAX_BODY = 1 << 20
_FILTER_OPS = ("match", "ne", "pattern")
_SEVERITIES = frozenset(str(n) for n in range(1, 11))
# Required fields of the list body in (Go struct field, JSON key) form, in struct order.
_REQUIRED_LIST = (("FromTime", "FromTime"), ("ToTime", "ToTime"), ("ClusterID", "ClusterID"),
                  ("PageID", "PageId"), ("PageSize", "PageSize"))
_REQUIRED_COUNT = (("FromTime", "FromTime"), ("ToTime", "ToTime"), ("ClusterID", "ClusterID"))
_INT_FIELDS = {"FromTime": "int64", "ToTime": "int64", "PageID": "int", "PageSize": "int"}
_LIST_FIELDS = ("ClusterID", "Namespace", "WorkloadType", "WorkloadName")
_STR_FIELDS = ("Type", "Search", "View", "LogType", "Tool")


# --------------------------------------------------------------------------- faults

class FaultSpec:
    """Per-request fault probabilities, parsed from ``"latency=0.05,429=0.1,retry_after=1,…"``.

    Keys: ``latency`` (seconds, or ``a-b`` for a uniform range, added to every
    request); an HTTP status from 400 to 599 (probability of answering with it;
    429/503 carry ``Retry-After`` when ``retry_after`` is set: seconds, or
    ``date:N`` for an HTTP date N seconds ahead); ``truncate`` (a 200 whose
    JSON body is cut in half, ``Content-Length`` consistent); ``cut`` (the
    full ``Content-Length`` is announced but half the body is sent, then the
    connection closes); ``dup`` (a page repeats the last row of the previous
    page, or appends a copy of a row on a first, short page – rows are never
    lost); ``reset`` (the connection is closed without an answer); ``seed``.
    """

    _FLOAT_KEYS = ("truncate", "cut", "dup", "reset")

    def __init__(
        self,
        *,
        latency: Union[float, Tuple[float, float]] = 0.0,
        statuses: Optional[Dict[int, float]] = None,
        retry_after: Optional[str] = None,
        truncate: float = 0.0,
        cut: float = 0.0,
        dup: float = 0.0,
        reset: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.latency = (float(latency), float(latency)) if isinstance(latency, (int, float)) else \
            (float(latency[0]), float(latency[1]))
        if not 0 <= self.latency[0] <= self.latency[1]:
            raise ValueError(f"latency: expected 0 <= low <= high, got {self.latency}")
        self.statuses = dict(statuses or {})
        for code, p in self.statuses.items():
            if not 400 <= int(code) <= 599:
                raise ValueError(f"fault status {code}: expected 400..599")
            self._check_p(str(code), p)
        if sum(self.statuses.values()) > 1:
            raise ValueError("fault statuses: probabilities add up to more than 1")
        self.retry_after = None if retry_after in (None, "") else str(retry_after)
        if self.retry_after is not None and not re.fullmatch(r"\d+(\.\d+)?|date:\d+", self.retry_after):
            raise ValueError(f"retry_after: expected seconds or date:N, got {self.retry_after!r}")
        self.truncate, self.cut, self.dup, self.reset = truncate, cut, dup, reset
        for key in self._FLOAT_KEYS:
            self._check_p(key, getattr(self, key))
        self.seed = int(seed)

    @staticmethod
    def _check_p(key: str, p: float) -> None:
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"{key}: probability must be between 0 and 1, got {p}")

    @classmethod
    def parse(cls, spec: Optional[str]) -> FaultSpec:
        """Parse ``key=value`` pairs separated by commas; unknown keys are an error."""
        kwargs: Dict[str, Any] = {"statuses": {}}
        for part in (spec or "").split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            key, value = key.strip().lower(), value.strip()
            if not sep or not value:
                raise ValueError(f"fault spec: {part!r} is not key=value")
            try:
                if key.isdigit():
                    kwargs["statuses"][int(key)] = float(value)
                elif key == "latency":
                    low, dash, high = value.partition("-")
                    kwargs["latency"] = (float(low), float(high)) if dash else float(low)
                elif key == "retry_after":
                    kwargs["retry_after"] = value
                elif key == "seed":
                    kwargs["seed"] = int(value)
                elif key in cls._FLOAT_KEYS:
                    kwargs[key] = float(value)
                else:
                    raise ValueError(
                        f"fault spec: unknown key {key!r} (known: latency, <status>, retry_after, "
                        f"{', '.join(cls._FLOAT_KEYS)}, seed)"
                    )
            except ValueError as exc:
                if "fault spec" in str(exc):
                    raise
                raise ValueError(f"fault spec: bad value for {key!r}: {value!r}") from None
        return cls(**kwargs)

    def __str__(self) -> str:
        parts = []
        if self.latency != (0.0, 0.0):
            low, high = self.latency
            parts.append(f"latency={low:g}" if low == high else f"latency={low:g}-{high:g}")
        parts += [f"{code}={p:g}" for code, p in sorted(self.statuses.items())]
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after}")
        parts += [f"{k}={getattr(self, k):g}" for k in self._FLOAT_KEYS if getattr(self, k)]
        parts.append(f"seed={self.seed}")
        return ",".join(parts)

    def __repr__(self) -> str:
        return f"FaultSpec.parse({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FaultSpec) and str(self) == str(other)


class Scripted:
    """A scripted answer for the next data request (FIFO, one use each).

    ``status``/``body``/``headers`` replace the answer entirely when ``body`` is
    given or ``status`` is not 200; otherwise the normal answer is produced and
    ``action`` (``"truncate"``, ``"cut"``, ``"reset"``, ``"dup"``) applied.
    ``delay`` sleeps before answering (a slow response). ``body`` may be a
    dict/list (sent as JSON), ``str`` or ``bytes``.
    """

    __slots__ = ("status", "body", "headers", "delay", "action")

    def __init__(self, status: int = 200, body: Any = None, headers: Optional[Dict[str, str]] = None,
                 delay: float = 0.0, action: Optional[str] = None) -> None:
        if action not in (None, "truncate", "cut", "reset", "dup"):
            raise ValueError(f"action: unknown {action!r}")
        self.status, self.body, self.headers, self.delay, self.action = status, body, dict(headers or {}), delay, action

    def __repr__(self) -> str:
        return f"Scripted(status={self.status}, action={self.action!r}, delay={self.delay})"


class RecordedRequest:
    """One request as the emulator saw it; the token is never stored."""

    __slots__ = ("method", "path", "query", "headers", "body", "raw_body", "auth_ok", "time", "status")

    def __init__(self, method: str, path: str, query: Dict[str, str], headers: Dict[str, str], body: Any,
                 raw_body: bytes, auth_ok: bool, when: float) -> None:
        self.method, self.path, self.query, self.headers = method, path, query, headers
        self.body, self.raw_body, self.auth_ok, self.time = body, raw_body, auth_ok, when
        self.status: Optional[int] = None

    def __repr__(self) -> str:
        return f"RecordedRequest({self.method} {self.path} {self.query} -> {self.status})"


# --------------------------------------------------------------------------- validation

class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _go_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _decode_body(raw: bytes, required: Sequence[Tuple[str, str]]) -> Dict[str, Any]:
    """Decode and validate a request body as the Go service would; return canonical keys."""
    try:
        body = loads(raw) if raw.strip() else None
    except ValueError:
        raise _BadRequest("invalid character looking for beginning of value") from None
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise _BadRequest(f"json: cannot unmarshal {_go_type(body)} into Go value of type AlertsLog")
    # Go's encoding/json maps each key to a struct field by exact JSON name, else
    # case-insensitively; keys are applied in order, so a later duplicate wins.
    out: Dict[str, Any] = {}
    for key, value in body.items():
        canon = _BY_JSON_KEY.get(key) or _BY_FOLDED_KEY.get(key.lower())
        if canon is not None:
            out[canon] = value
    for field, go_type in _INT_FIELDS.items():
        value = out.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _BadRequest(f"json: cannot unmarshal {_go_type(value)} into Go struct field "
                              f"AlertsLog.{field} of type {go_type}")
        if isinstance(value, float) and not value.is_integer():
            raise _BadRequest(f"json: cannot unmarshal number {value} into Go struct field "
                              f"AlertsLog.{field} of type {go_type}")
        out[field] = int(value)
    for field in _LIST_FIELDS:
        value = out.get(field)
        if value is None:
            continue
        if not isinstance(value, list):
            raise _BadRequest(f"json: cannot unmarshal {_go_type(value)} into Go struct field "
                              f"AlertsLog.{field} of type []string")
        for item in value:
            if not isinstance(item, str):
                raise _BadRequest(f"json: cannot unmarshal {_go_type(item)} into Go struct field "
                                  f"AlertsLog.{field} of type string")
    for field in _STR_FIELDS:
        value = out.get(field)
        if value is not None and not isinstance(value, str):
            raise _BadRequest(f"json: cannot unmarshal {_go_type(value)} into Go struct field "
                              f"AlertsLog.{field} of type string")
    filters = out.get("Filters")
    if filters is not None:
        if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
            raise _BadRequest("json: cannot unmarshal into Go struct field AlertsLog.Filters of type []Filter")
    missing = []
    for field, _json_key in required:
        value = out.get(field)
        if value is None or value == 0 and field in _INT_FIELDS:
            missing.append(f"Key: 'AlertsLog.{field}' Error:Field validation for '{field}' failed on the "
                           f"'required' tag")
    if missing:
        raise _BadRequest("\n".join(missing))
    return out


# canonical (Go struct) name -> JSON key
_CANONICAL = {"WorkspaceID": "WorkspaceID", "Type": "Type", "FromTime": "FromTime", "ToTime": "ToTime",
              "PageID": "PageId", "PageSize": "PageSize", "ClusterID": "ClusterID", "Namespace": "Namespace",
              "WorkloadType": "WorkloadType", "WorkloadName": "WorkloadName", "Filters": "Filters",
              "Search": "Search", "View": "View", "LogType": "LogType", "Tool": "Tool", "TagsFilter": "TagsFilter"}
_BY_JSON_KEY = {json_key: canon for canon, json_key in _CANONICAL.items()}
_BY_FOLDED_KEY = {json_key.lower(): canon for canon, json_key in _CANONICAL.items()}


def _compile_filters(filters: Sequence[Dict[str, Any]]) -> List[Tuple[str, str, List[str]]]:
    """Group filters by (field, op): OR inside a group, AND across groups."""
    groups: Dict[Tuple[str, str], List[str]] = collections.OrderedDict()
    for f in filters:
        field, value, op = f.get("field"), f.get("value"), f.get("op")
        if not isinstance(field, str) or not field or not isinstance(value, (str, int, float)):
            raise _BadRequest(f"invalid filter {dumps(f).decode()}: field and value are required")
        if op not in _FILTER_OPS:
            raise _BadRequest(f"invalid filter op {op!r}: expected one of {', '.join(_FILTER_OPS)}")
        if field == "Severity" and (op != "match" or str(value) not in _SEVERITIES):
            raise _BadRequest("invalid Severity filter: only op 'match' with values '1'..'10'")
        groups.setdefault((field, op), []).append(str(value))
    return [(field, op, values) for (field, op), values in groups.items()]


def _matches(ev: Dict[str, Any], field: str, op: str, values: List[str]) -> bool:
    raw = ev.get(field)
    actual = "" if raw is None else str(raw)
    if op == "match":
        return actual in values
    if op == "ne":
        return actual not in values
    for pattern in values:  # a glob, or a regular expression matched against the whole value
        if fnmatch.fnmatchcase(actual, pattern):
            return True
        try:
            if re.fullmatch(pattern, actual):
                return True
        except re.error:
            continue
    return False


_SEARCH_FIELDS = ("PolicyName", "Resource", "ProcessName", "Source", "PodName", "NamespaceName", "HostName",
                  "Message", "ContainerName", "Operation", "Action")


# --------------------------------------------------------------------------- the store

class _Store:
    """Events sorted by (Timestamp, UpdatedTime, HashID, arrival), each with the time it becomes visible."""

    def __init__(self) -> None:
        self.keys: List[Tuple[int, str, str, int]] = []
        self.items: List[Tuple[float, Dict[str, Any]]] = []
        self.seq = 0
        self.version = 0
        self.max_visible = float("-inf")
        self.skipped = 0

    def add(self, events: Iterable[Dict[str, Any]], visible_at: Callable[[int, Dict[str, Any]], float]) -> int:
        batch = []
        for ev in events:
            ts = ev.get("Timestamp") if isinstance(ev, dict) else None
            if isinstance(ts, str) and ts.strip().isdigit():
                ts = int(ts)
            if isinstance(ts, bool) or not isinstance(ts, (int, float)):
                self.skipped += 1  # without an event time it cannot fall in a window
                continue
            ts = int(ts)
            vis = visible_at(ts, ev)
            self.max_visible = max(self.max_visible, vis)
            updated = ev.get("UpdatedTime")
            batch.append(((ts, updated if isinstance(updated, str) else "", str(ev.get("HashID") or ""), self.seq),
                          (vis, ev)))
            self.seq += 1
        if not batch:
            return 0
        if any(batch[i][0] > batch[i + 1][0] for i in range(len(batch) - 1)):
            batch.sort(key=lambda kv: kv[0])
        if not self.keys or batch[0][0] >= self.keys[-1]:  # the common case: appended in order
            self.keys.extend(k for k, _ in batch)
            self.items.extend(v for _, v in batch)
        elif len(batch) > 64:
            merged = sorted(list(zip(self.keys, self.items)) + batch, key=lambda kv: kv[0])
            self.keys = [k for k, _ in merged]
            self.items = [v for _, v in merged]
        else:
            for key, item in batch:
                idx = bisect.bisect_right(self.keys, key)
                self.keys.insert(idx, key)
                self.items.insert(idx, item)
        self.version += 1
        return len(batch)

    def window(self, start: int, end: int) -> Tuple[int, int]:
        lo = bisect.bisect_left(self.keys, (start, "", "", -1))
        hi = bisect.bisect_left(self.keys, (end + 1, "", "", -1))
        return lo, hi


# --------------------------------------------------------------------------- HTTP

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr: Tuple[str, int], handler: type, emulator: AlertsEmulator, max_threads: int) -> None:
        self.emulator = emulator
        self._slots = threading.BoundedSemaphore(max_threads)
        super().__init__(addr, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Bounded concurrency: wait (up to 10 s) for a free handler thread, else drop the connection.
        if not self._slots.acquire(timeout=10):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AccuKnoxEmulator/1.0"
    timeout = 30  # idle keep-alive connections are closed after this many seconds
    # Send headers and body in one segment and without Nagle: otherwise delayed ACKs
    # add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self.server.emulator._handle(self)  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802
        self.server.emulator._handle(self)  # type: ignore[attr-defined]

    do_PUT = do_DELETE = do_PATCH = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        log.debug("%s %s", self.address_string(), format % args)


class AlertsEmulator:
    """The emulated API; see the module docstring for the behaviour.

    ``events`` is a sequence of alert rows, or a callable ``f(now) -> iterable``
    called before each request that returns rows that appeared since its
    previous call (append-only feed, e.g. ``LiveEventSource``). ``clock`` is the
    wall clock used for visibility (inject a fake one in tests); ``sleep`` is
    used for latency faults and scripted delays. ``max_page_size`` silently caps
    PageSize like an API that ignores larger values; ``end_style`` is how pages
    past the end look: ``"null"``, ``"empty"`` (``[]``) or ``"missing"``.
    """

    def __init__(
        self,
        events: Union[Sequence[Dict[str, Any]], Callable[[float], Iterable[Dict[str, Any]]]] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tenant_id: Union[str, int],
        token: str,
        late_seconds: float = 0.0,
        faults: Union[FaultSpec, str, None] = None,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_page_size: Optional[int] = None,
        end_style: str = "null",
        count_key: str = "count",
        max_threads: int = 16,
        max_recorded: int = 10_000,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"host: the emulator binds loopback addresses only, not {host!r}")
        if end_style not in ("null", "empty", "missing"):
            raise ValueError("end_style: expected 'null', 'empty' or 'missing'")
        if not token:
            raise ValueError("token: required")
        self._host, self._port = host, port
        self.tenant_id = str(tenant_id)
        self._token = token
        self.late_seconds = float(late_seconds)
        self.faults = FaultSpec.parse(faults) if isinstance(faults, str) else faults
        self._fault_rng = random.Random(f"faults|{self.faults.seed if self.faults else seed}")  # noqa: S311
        self._late_rng = random.Random(f"late|{seed}")  # noqa: S311 - test data
        self.clock, self._sleep = clock, sleep
        self.max_page_size, self.end_style, self.count_key = max_page_size, end_style, count_key
        self._max_threads = max_threads
        self._ssl = ssl_context
        self._lock = threading.RLock()
        self._store = _Store()
        self._source: Optional[Callable[[float], Iterable[Dict[str, Any]]]] = None
        self._cache: collections.OrderedDict = collections.OrderedDict()
        self._requests: Deque[RecordedRequest] = collections.deque(maxlen=max_recorded)
        self._script: Deque[Scripted] = collections.deque()
        self.status_counts: collections.Counter = collections.Counter()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        if callable(events):
            self._source = events
        else:
            self.add_events(events)

    # ------------------------------------------------------------------ data

    @classmethod
    def live(cls, rate: float, *, backfill: float = 0.0, seed: int = 0, clusters: Optional[Sequence[str]] = None,
             clock: Callable[[], float] = time.time, **kwargs: Any) -> AlertsEmulator:
        """An emulator fed by a :class:`LiveEventSource` on the same clock."""
        from integrations.emulator.generator import DEFAULT_CLUSTERS, LiveEventSource

        tenant = str(kwargs["tenant_id"])
        source = LiveEventSource(rate, seed=seed, clusters=clusters or DEFAULT_CLUSTERS, tenant_id=tenant,
                                 backfill=backfill, clock=clock)
        return cls(source, seed=seed, clock=clock, **kwargs)

    def add_events(self, events: Iterable[Dict[str, Any]], *, visible_at: Optional[float] = None) -> int:
        """Add rows; each becomes visible at ``visible_at`` or at Timestamp + random lateness."""
        with self._lock:
            if visible_at is not None:
                fixed = float(visible_at)
                return self._store.add(events, lambda ts, ev: fixed)
            late, rng = self.late_seconds, self._late_rng
            if late > 0:
                return self._store.add(events, lambda ts, ev: ts + rng.uniform(0.0, late))
            return self._store.add(events, lambda ts, ev: float(ts))

    @property
    def event_count(self) -> int:
        return len(self._store.keys)

    def script(self, *responses: Scripted) -> None:
        """Queue scripted answers for the next data requests."""
        with self._lock:
            self._script.extend(responses)

    def set_faults(self, faults: Union[FaultSpec, str, None]) -> None:
        with self._lock:
            self.faults = FaultSpec.parse(faults) if isinstance(faults, str) else faults
            if self.faults is not None:
                self._fault_rng = random.Random(f"faults|{self.faults.seed}")  # noqa: S311

    @property
    def requests(self) -> List[RecordedRequest]:
        """Snapshot of the recorded requests (oldest first, at most ``max_recorded``)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"{'https' if self._ssl else 'http'}://{shown}:{port}"

    def start(self) -> AlertsEmulator:
        if self._server is not None:
            return self
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        server_cls = type("_BoundServer", (_Server,), {"address_family": family})
        self._server = server_cls((self._host, self._port), _Handler, self, self._max_threads)
        if self._ssl is not None:
            self._server.socket = self._ssl.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"alerts-emulator-{self._server.server_address[1]}", daemon=True)
        self._thread.start()
        log.debug("alerts emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> AlertsEmulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._server else "stopped"
        return f"AlertsEmulator({where}, tenant_id={self.tenant_id!r}, events={self.event_count}, token=<redacted>)"

    # ------------------------------------------------------------------ request handling

    def _redact_headers(self, headers: Any) -> Dict[str, str]:
        out = {}
        for key, value in headers.items():
            if key.lower() == "authorization":
                scheme = value.split(" ", 1)[0] if value else ""
                out[key] = f"{scheme} ***" if scheme else "***"
            else:
                out[key] = value.replace(self._token, "***")
        return out

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path, _, query_string = h.path.partition("?")
        query = {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        try:
            length = int(h.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_BODY:
            self._send(h, 413 if length > _MAX_BODY else 400, {"errors": "bad Content-Length"}, close=True)
            return
        raw = h.rfile.read(length) if length else b""
        auth_ok = h.headers.get("Authorization") == f"Bearer {self._token}"
        try:
            shown_body: Any = loads(raw) if raw else None
        except ValueError:
            shown_body = raw.decode("utf-8", "replace").replace(self._token, "***")
        record = RecordedRequest(h.command, path, query, self._redact_headers(h.headers), shown_body,
                                 raw.replace(self._token.encode(), b"***"), auth_ok, self.clock())
        with self._lock:
            self._requests.append(record)
            scripted = self._script.popleft() if self._script and path in (EVENTS_PATH, COUNT_PATH) else None
            faults = self.faults
            draws = [self._fault_rng.random() for _ in range(6)] if faults else None
        h._emulator_record = record  # type: ignore[attr-defined]  # _send/_reset fill in the status
        self._respond(h, path, query, raw, auth_ok, scripted, faults, draws)

    def _respond(self, h: BaseHTTPRequestHandler, path: str, query: Dict[str, str], raw: bytes, auth_ok: bool,
                 scripted: Optional[Scripted], faults: Optional[FaultSpec], draws: Optional[List[float]]) -> int:
        action = scripted.action if scripted else None
        if faults is not None and draws is not None:
            low, high = faults.latency
            if high > 0:
                self._sleep(low + (high - low) * draws[0])
        if scripted is not None and scripted.delay:
            self._sleep(scripted.delay)
        if scripted is not None and (scripted.body is not None or scripted.status != 200):
            return self._send(h, scripted.status, scripted.body, headers=scripted.headers, action=action)
        if path not in (EVENTS_PATH, COUNT_PATH):
            return self._send(h, 404, {"message": f"no route for {path}"})
        if h.command != "POST":
            return self._send(h, 405, {"message": "method not allowed"}, headers={"Allow": "POST"})
        if faults is not None and draws is not None and draws[1] < faults.reset:
            action = "reset"
        if action == "reset":
            return self._reset(h)
        if not auth_ok:
            return self._send(h, 401, {"message": "Unauthorized: invalid or expired token"})
        if (h.headers.get("X-Tenant-ID") or "").strip() != self.tenant_id:
            return self._send(h, 403, {"message": "Forbidden: tenant not permitted for this token"})
        if faults is not None and draws is not None:
            acc = 0.0
            for code, p in sorted(faults.statuses.items()):
                acc += p
                if draws[2] < acc:
                    return self._fault_status(h, code, faults)
            if draws[3] < faults.truncate:
                action = "truncate"
            elif draws[4] < faults.cut:
                action = "cut"
            elif draws[5] < faults.dup:
                action = "dup"
        ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return self._send(h, 400, {"errors": f"unsupported Content-Type {ctype or '(none)'}; "
                                                 "expected application/json"})
        try:
            body = _decode_body(raw, _REQUIRED_COUNT if path == COUNT_PATH else _REQUIRED_LIST)
            workspace = body.get("WorkspaceID")
            if workspace is not None and str(workspace) != self.tenant_id:
                raise _BadRequest("Forbidden: WorkspaceID does not match the tenant", 403)
            order = query.get("orderby", "desc").lower()
            if order not in ("asc", "desc"):
                raise _BadRequest(f"invalid orderby {order!r}: expected asc or desc")
            rows = self._select(body, order)
        except _BadRequest as exc:
            payload = {"errors": str(exc)} if exc.status == 400 else {"message": str(exc)}
            return self._send(h, exc.status, payload)
        if path == COUNT_PATH:
            return self._send(h, 200, {self.count_key: len(rows)}, action=action)
        page_id, page_size = body["PageID"], body["PageSize"]
        if page_id < 1 or page_size < 1:
            return self._send(h, 400, {"errors": "PageId and PageSize must be positive"})
        if self.max_page_size:
            page_size = min(page_size, self.max_page_size)
        start = (page_id - 1) * page_size
        if action == "dup" and start > 0:
            # The previous page's last row comes back again in front of this
            # page (as when a row was inserted before it); nothing is skipped.
            page = rows[start - 1:start + page_size]
        else:
            page = rows[start:start + page_size]
            if action == "dup" and page and len(page) < page_size:
                page = page + [page[0]]
        if page:
            payload: Dict[str, Any] = {"response": page}
        elif self.end_style == "null":
            payload = {"response": None}
        elif self.end_style == "empty":
            payload = {"response": []}
        else:
            payload = {}
        return self._send(h, 200, payload, action=action)

    def _select(self, body: Dict[str, Any], order: str) -> List[Dict[str, Any]]:
        now = self.clock()
        with self._lock:
            if self._source is not None:
                new = list(self._source(now))
                if new:
                    self.add_events(new)
            store = self._store
            if (body.get("Type") or "kubearmor").lower() != "kubearmor":
                return []
            log_type = (body.get("LogType") or "active").lower()
            if log_type not in ("active", "suppressed", "all"):
                raise _BadRequest(f"invalid LogType {log_type!r}: expected active, suppressed or all")
            if log_type == "suppressed":
                return []
            filters = _compile_filters(body.get("Filters") or [])
            clusters = frozenset(body.get("ClusterID") or ())
            namespaces = frozenset(body.get("Namespace") or ())
            wtypes = frozenset(body.get("WorkloadType") or ())
            wnames = frozenset(body.get("WorkloadName") or ())
            search = (body.get("Search") or "").lower()
            start, end = body["FromTime"], body["ToTime"]
            key = (store.version, start, end, clusters, namespaces, wtypes, wnames, dumps(filters), search,
                   (body.get("View") or "List").lower())
            hit = self._cache.get(key)
            if hit is None:
                lo, hi = store.window(start, end)
                chosen = []
                for vis, ev in store.items[lo:hi]:
                    if clusters and str(ev.get("cluster_id")) not in clusters:
                        continue
                    if namespaces and ev.get("NamespaceName") not in namespaces:
                        continue
                    owner = ev.get("Owner") if isinstance(ev.get("Owner"), dict) else {}
                    if wtypes and owner.get("Ref") not in wtypes:
                        continue
                    if wnames and owner.get("Name") not in wnames:
                        continue
                    if filters and not all(_matches(ev, f, op, vals) for f, op, vals in filters):
                        continue
                    if search and not any(search in str(ev.get(k, "")).lower() for k in _SEARCH_FIELDS):
                        continue
                    chosen.append((vis, ev))
                max_vis = max((vis for vis, _ in chosen), default=float("-inf"))
                hit = (chosen, max_vis, [ev for _, ev in chosen])
                self._cache[key] = hit
                if len(self._cache) > 64:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(key)
            chosen, max_vis, all_rows = hit
            rows = all_rows if max_vis <= now else [ev for vis, ev in chosen if vis <= now]
        if (body.get("View") or "List").lower() == "aggregate":
            rows = self._aggregate(rows)
        elif order == "desc":
            rows = rows[::-1]
        return rows

    @staticmethod
    def _aggregate(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        groups: Dict[Tuple[Any, ...], Dict[str, Any]] = {}
        for ev in rows:
            owner = ev.get("Owner") if isinstance(ev.get("Owner"), dict) else {}
            key = (ev.get("PolicyName"), ev.get("ClusterName"), ev.get("Action"), ev.get("Operation"),
                   owner.get("Ref"), owner.get("Name"))
            group = groups.get(key)
            if group is None:
                groups[key] = {"PolicyName": key[0] or "", "ClusterName": key[1] or "", "Action": key[2] or "",
                               "Operation": key[3] or "", "Count": 1, "WorkloadType": key[4] or "",
                               "WorkloadName": key[5] or "", "Event": ev}
            else:
                group["Count"] += 1
                group["Event"] = ev  # the newest one
        return sorted(groups.values(), key=lambda g: -g["Count"])

    def _fault_status(self, h: BaseHTTPRequestHandler, code: int, faults: FaultSpec) -> int:
        headers: Dict[str, str] = {}
        if code in (429, 503) and faults.retry_after is not None:
            value = faults.retry_after
            headers["Retry-After"] = (formatdate(time.time() + int(value[5:]), usegmt=True)
                                      if value.startswith("date:") else value)
        if code in (502, 504):  # what a load balancer in front of the API would send
            body: Any = f"<html><body><h1>{code} Bad Gateway</h1></body></html>" if code == 502 else \
                "<html><body><h1>504 Gateway Time-out</h1></body></html>"
            return self._send(h, code, body, headers=headers, content_type="text/html")
        message = "rate limit exceeded" if code == 429 else "internal server error"
        return self._send(h, code, {"message": message}, headers=headers)

    def _note(self, h: BaseHTTPRequestHandler, status: int) -> None:
        record = getattr(h, "_emulator_record", None)
        if record is not None:
            record.status = status
        with self._lock:
            self.status_counts[status] += 1

    def _reset(self, h: BaseHTTPRequestHandler) -> int:
        self._note(h, 0)
        h.close_connection = True
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return 0

    def _send(self, h: BaseHTTPRequestHandler, status: int, payload: Any, *, headers: Optional[Dict[str, str]] = None,
              action: Optional[str] = None, close: bool = False, content_type: str = "application/json") -> int:
        if action == "reset":
            return self._reset(h)
        if isinstance(payload, (bytes, bytearray)):
            data = bytes(payload)
        elif isinstance(payload, str):
            data = payload.encode("utf-8")
        elif payload is None:
            data = b""
        else:
            data = dumps(payload)
        declared = len(data)
        if action == "truncate" and len(data) > 2:
            data = data[: len(data) // 2]
            declared = len(data)
        elif action == "cut" and len(data) > 2:
            data = data[: len(data) // 2]
            close = True
        self._note(h, status)
        try:
            h.send_response(status)
            if isinstance(payload, (dict, list)):
                h.send_header("Content-Type", "application/json; charset=utf-8")
            elif data:
                h.send_header("Content-Type", content_type if content_type != "application/json" or
                              data[:1] in (b"{", b"[") else "text/plain; charset=utf-8")
            h.send_header("Content-Length", str(declared))
            for key, value in (headers or {}).items():
                h.send_header(key, value)
            if close:
                h.send_header("Connection", "close")
                h.close_connection = True
            h.end_headers()
            h.wfile.write(data)
            h.wfile.flush()
            if action == "cut":
                h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            log.debug("client went away before the answer was sent")
        return status
