"""HTTP client for the AccuKnox SaaS alerts API.

Consumes the connection settings (base URL, tenant id, access token, proxy, CA
bundle, retry policy) and a time window; produces :class:`Page` objects holding
the decoded alert rows exactly as the API returned them, and window counts.
It sits under the poller loop (windows, checkpoint, de-duplication live there)
and knows only the HTTP contract written down in ``docs/saas-api.md``:

* ``POST {base}/monitors/v1/alerts/events?orderby=asc`` with the JSON body the
  AccuKnox clients send, paged by ``PageId`` from 1; paging stops at a
  ``null``/missing/``[]`` ``response`` (``data`` accepted as a fallback) or at a
  page shorter than ``PageSize``;
* ``POST {base}/monitors/v1/alerts/events/count`` -> ``count``/``Count``/``total``.

Error model (``integrations.errors``): 401/403 -> :class:`AuthError` naming the
credential (never its value); 400, or another non-retryable status whose body
carries ``errors`` -> :class:`ApiValidationError` with the server's message;
anything else unexpected -> :class:`ApiError` with the status and a body excerpt
of at most 200 characters; retries exhausted -> :class:`ApiError` saying so.

Retried (exponential back-off with full jitter, ``Retry-After`` honoured and
capped by ``max_backoff``): connection errors, timeouts, HTTP 429, 500, 502,
503, 504, and a **200 whose body is cut-off JSON**. A truncated body is a
transport accident (proxy or load balancer dropping the tail), so asking again
is the right move; a 2xx body that is not JSON at all (an HTML login page of an
intercepting proxy) or JSON of the wrong shape is not retried, because asking
again returns the same thing. TLS verification failures are not retried either.

The token never appears in logs, exception messages or ``repr``: it is held in
a :class:`_Secret`, the ``Authorization`` header is logged as ``Bearer ***``,
and server text quoted in errors is scrubbed of it.
"""

from __future__ import annotations

import base64
import logging
import math
import os
import random
import time
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import requests

from integrations import __version__
from integrations.errors import ApiError, ApiValidationError, AuthError, ConfigError
from integrations.jsoncodec import dumps, loads
from integrations.poller.urlpolicy import check_url

__all__ = [
    "AlertsClient",
    "ClientStats",
    "Page",
    "EVENTS_PATH",
    "COUNT_PATH",
    "RETRY_STATUSES",
    "MAX_PAGE_SIZE",
    "parse_retry_after",
]

log = logging.getLogger("integrations.poller.client")

EVENTS_PATH = "/monitors/v1/alerts/events"
COUNT_PATH = "/monitors/v1/alerts/events/count"

#: Statuses that mean "try again later" rather than "your request is wrong".
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: The MCP server caps PageSize at 100. A server that silently caps a larger
#: PageSize would make the short-page stop rule end paging early and lose rows,
#: so larger values are refused up front. ``AlertsClient(max_page_size=N)``
#: raises the limit explicitly, for a server known to honour larger pages (the
#: emulator in benchmarks: ``accuknox-siem bench`` pulls 1000-row pages).
MAX_PAGE_SIZE = 100
FILTER_OPS = frozenset({"match", "ne", "pattern"})
LOG_TYPES = frozenset({"active", "suppressed", "all"})
ORDERS = frozenset({"asc", "desc"})
EXCERPT_CHARS = 200
#: Upper bound on pages in one ``iter_pages`` call when ``max_pages`` is None,
#: so a server that never returns a short page cannot keep the loop alive forever.
HARD_PAGE_CAP = 100_000
_MS_EPOCH_THRESHOLD = 10**11  # epoch seconds above this are really milliseconds

Timeout = Union[float, Tuple[float, float]]


class Page(NamedTuple):
    """One page of the list endpoint.

    ``rows`` are the decoded JSON rows, untouched; ``raw_bytes`` the size of the
    HTTP body; ``is_last`` is True when this page was shorter than ``PageSize``
    (so no request for the next page was needed). When iteration ends after a
    full page because ``max_pages`` was reached, the last page has
    ``is_last=False``: the window may hold more rows.
    """

    page_id: int
    rows: List[Any]
    raw_bytes: int
    is_last: bool = False


class ClientStats:
    """Counters of one client, cumulative over its life (read them per run by diffing)."""

    __slots__ = (
        "requests", "retries", "pages", "rows", "raw_bytes", "throttled",
        "server_errors", "transport_errors", "truncated_bodies", "backoff_seconds",
    )

    def __init__(self) -> None:
        self.requests = 0          # HTTP requests sent (attempts, including retries)
        self.retries = 0           # attempts after the first one of a call
        self.pages = 0             # non-empty pages yielded
        self.rows = 0              # rows in those pages
        self.raw_bytes = 0         # body bytes of successful responses
        self.throttled = 0         # HTTP 429 answers
        self.server_errors = 0     # HTTP 500/502/503/504 answers
        self.transport_errors = 0  # connection errors and timeouts
        self.truncated_bodies = 0  # 2xx answers with cut-off JSON
        self.backoff_seconds = 0.0  # time spent waiting before retries (and for rate_limit)

    def as_dict(self) -> Dict[str, Union[int, float]]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.as_dict().items())
        return f"ClientStats({inner})"


class _Secret:
    """A string that does not show itself in ``repr``/``str``/tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def scrub(self, text: str) -> str:
        """Replace every occurrence of the secret in ``text`` by ``***``."""
        return text.replace(self._value, "***") if self._value else text

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date).

    Returns None when absent or unparseable; never negative.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:  # RFC 7231 dates are GMT
            from datetime import timezone

            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _jwt_claims(token: str) -> Dict[str, Any]:
    """Best-effort *unverified* decode of a JWT payload, used only for hints."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except Exception:  # noqa: BLE001 - any failure just means "no hints"
        return {}
    return claims if isinstance(claims, dict) else {}


def _workspace_value(workspace_id: Union[str, int]) -> Union[str, int]:
    """Numeric ids go out as JSON numbers (newer AccuKnox client), others as strings."""
    if isinstance(workspace_id, bool):
        raise ConfigError("workspace_id: expected a string or an integer")
    if isinstance(workspace_id, int):
        return workspace_id
    text = str(workspace_id).strip()
    return int(text) if text.isdigit() else text


def _check_seconds(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name}: expected epoch seconds as a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name}: not a finite number")
    if value > _MS_EPOCH_THRESHOLD:
        raise ConfigError(f"{name}: {value} looks like milliseconds; the API takes epoch seconds")
    if value < 0:
        raise ConfigError(f"{name}: negative epoch time {value}")
    return int(value)


def _str_list(name: str, values: Sequence[Any]) -> List[str]:
    if isinstance(values, (str, bytes)):
        raise ConfigError(f"{name}: expected a list of strings, got a single string")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise ConfigError(f"{name}: expected strings, got {type(v).__name__}")
        out.append(str(v))
    return out


def _check_filters(filters: Sequence[Dict[str, Any]]) -> List[Dict[str, str]]:
    out = []
    for i, f in enumerate(filters):
        if not isinstance(f, dict) or not {"field", "value", "op"} <= set(f):
            raise ConfigError(f"filters[{i}]: expected an object with field, value and op")
        field, value, op = f["field"], f["value"], f["op"]
        if not isinstance(field, str) or not field:
            raise ConfigError(f"filters[{i}].field: expected a non-empty string")
        if op not in FILTER_OPS:
            raise ConfigError(f"filters[{i}].op: {op!r} is not one of {sorted(FILTER_OPS)}")
        value = str(value)
        if field == "Severity" and (op != "match" or value not in {str(n) for n in range(1, 11)}):
            raise ConfigError(f"filters[{i}]: Severity accepts only op 'match' with a value '1'..'10'")
        out.append({"field": field, "value": value, "op": op})
    return out


class AlertsClient:
    """Client for the AccuKnox alerts API; see the module docstring for the contract.

    ``max_retries`` is the number of retries after the first attempt of one
    call (so at most ``max_retries + 1`` requests per page). ``rate_limit`` is a
    steady request rate in requests per second (None = unlimited). ``sleep``,
    ``rng`` and ``clock`` are injectable for tests. ``proxies`` and the CA bundle
    (or ``verify``) are set on the session and passed with every request; with
    ``proxies=None`` requests' usual ``HTTPS_PROXY``/``NO_PROXY`` handling stays on.
    Redirects are never followed (a redirect could leave the URL policy). One
    client per thread: the session, rate limiter and ``stats`` are not locked.
    ``max_page_size`` (default :data:`MAX_PAGE_SIZE`, 100) is the largest
    ``page_size`` accepted; raise it only for a server that really returns
    pages that large (a server that silently caps them would lose rows).
    """

    def __init__(
        self,
        base_url: str,
        tenant_id: str,
        token: str,
        *,
        workspace_id: Union[str, int, None] = None,
        timeout: Timeout = (10, 60),
        max_retries: int = 5,
        max_backoff: float = 60.0,
        backoff_base: float = 1.0,
        rate_limit: Optional[float] = None,
        max_page_size: int = MAX_PAGE_SIZE,
        proxies: Optional[Dict[str, str]] = None,
        ca_bundle: Optional[str] = None,
        verify: bool = True,
        user_agent: str = f"accuknox-siem/{__version__}",
        session: Optional[requests.Session] = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Optional[random.Random] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base = check_url(base_url, setting="base_url")
        if tenant_id is None or not str(tenant_id).strip():
            raise ConfigError("tenant_id: the AccuKnox tenant (workspace) id is required")
        self._tenant = str(tenant_id).strip()
        if not isinstance(token, str) or not token.strip():
            raise ConfigError("token: the AccuKnox access token is required")
        if any(c in token for c in "\r\n"):
            raise ConfigError("token: the access token contains a line break; copy it again")
        self._token = _Secret(token.strip())
        self._workspace = _workspace_value(self._tenant if workspace_id is None else workspace_id)
        self._timeout = self._check_timeout(timeout)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError("max_retries: expected an integer >= 0")
        self._max_retries = max_retries
        if not (max_backoff > 0 and backoff_base > 0):
            raise ConfigError("max_backoff/backoff_base: expected positive numbers of seconds")
        self._max_backoff = float(max_backoff)
        self._backoff_base = float(backoff_base)
        if rate_limit is not None and not rate_limit > 0:
            raise ConfigError("rate_limit: expected a positive number of requests per second, or none")
        self._interval = 1.0 / rate_limit if rate_limit else 0.0
        if isinstance(max_page_size, bool) or not isinstance(max_page_size, int) or max_page_size < 1:
            raise ConfigError("max_page_size: expected a positive integer")
        self._max_page_size = max_page_size
        self._next_slot: Optional[float] = None
        if ca_bundle is not None:
            if not verify:
                raise ConfigError("ca_bundle: cannot be combined with verify=False")
            if not os.path.exists(ca_bundle):
                raise ConfigError(f"ca_bundle: file not found: {ca_bundle}")
            self._verify: Union[bool, str] = ca_bundle
        else:
            self._verify = bool(verify)
            if not verify:
                log.warning("TLS certificate verification is disabled for %s; prefer a ca_bundle", self._base)
        self._proxies = dict(proxies) if proxies else {}
        for scheme, proxy_url in self._proxies.items():
            if not isinstance(proxy_url, str) or "://" not in proxy_url:
                raise ConfigError(f"proxies[{scheme!r}]: expected a proxy URL such as http://proxy:3128")
        self._user_agent = user_agent
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        if self._proxies:
            self._session.proxies.update(self._proxies)
        self._session.verify = self._verify
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not crypto
        self._clock = clock
        self.stats = ClientStats()
        self._warn_from_claims()

    # ------------------------------------------------------------------ basics

    @staticmethod
    def _check_timeout(timeout: Timeout) -> Tuple[float, float]:
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
            timeout = (timeout, timeout)
        try:
            connect, read = timeout  # type: ignore[misc]
            connect, read = float(connect), float(read)
        except (TypeError, ValueError):
            raise ConfigError("timeout: expected (connect, read) seconds") from None
        if not (connect > 0 and read > 0):
            raise ConfigError("timeout: expected positive seconds")
        return connect, read

    def _warn_from_claims(self) -> None:
        claims = _jwt_claims(self._token.reveal())
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp < time.time():
            log.warning("the access token expired at %s; renew the access key", _iso(exp))
        claimed = claims.get("tenant-id", claims.get("tenant_id"))
        if claimed is not None and str(claimed) != self._tenant:
            log.warning("the access token was issued for tenant %s, but tenant_id is %s", claimed, self._tenant)

    @property
    def base_url(self) -> str:
        return self._base

    @property
    def tenant_id(self) -> str:
        return self._tenant

    def __repr__(self) -> str:
        proxies = sorted(self._proxies)
        return (
            f"AlertsClient(base_url={self._base!r}, tenant_id={self._tenant!r}, token=<redacted>, "
            f"workspace_id={self._workspace!r}, proxies={proxies}, verify={self._verify!r})"
        )

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> AlertsClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ bodies

    def build_body(
        self,
        from_time: int,
        to_time: int,
        *,
        page_id: Optional[int] = None,
        page_size: Optional[int] = None,
        cluster_ids: Sequence[str] = (),
        namespaces: Sequence[str] = (),
        workload_types: Sequence[str] = (),
        workload_names: Sequence[str] = (),
        filters: Sequence[Dict[str, Any]] = (),
        log_type: str = "active",
        component: str = "kubearmor",
        search: str = "",
        tool: Optional[str] = None,
    ) -> Dict[str, Any]:
        """The JSON body as AccuKnox's clients build it (key order as in their requests).

        Without ``page_id``/``page_size`` this is the body of the count endpoint.
        """
        start = _check_seconds("from_time", from_time)
        end = _check_seconds("to_time", to_time)
        if start > end:
            raise ConfigError(f"from_time ({start}) is after to_time ({end})")
        if log_type not in LOG_TYPES:
            raise ConfigError(f"log_type: {log_type!r} is not one of {sorted(LOG_TYPES)}")
        if not isinstance(component, str) or not component:
            raise ConfigError("component: expected a component name such as 'kubearmor'")
        if component in ("siem", "cdr") and not tool:
            raise ConfigError(f"tool: component {component!r} needs a Tool value")
        body: Dict[str, Any] = {
            "WorkspaceID": self._workspace,
            "Type": component,
            "FromTime": start,
            "ToTime": end,
            "ClusterID": _str_list("cluster_ids", cluster_ids),
            "Namespace": _str_list("namespaces", namespaces),
            "WorkloadType": _str_list("workload_types", workload_types),
            "WorkloadName": _str_list("workload_names", workload_names),
            "Filters": _check_filters(filters),
            "Search": str(search),
            "View": "List",
            "LogType": log_type,
        }
        if tool:
            body["Tool"] = tool
        if page_id is not None or page_size is not None:
            body["PageId"] = 1 if page_id is None else int(page_id)
            body["PageSize"] = self._check_page_size(page_size)
        return body

    def _check_page_size(self, page_size: Optional[int]) -> int:
        if page_size is None:
            return 50
        limit = self._max_page_size
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= limit:
            raise ConfigError(f"page_size: expected an integer from 1 to {limit}, got {page_size!r}")
        return page_size

    # ------------------------------------------------------------------ endpoints

    def iter_pages(
        self,
        from_time: int,
        to_time: int,
        *,
        page_size: int = 100,
        cluster_ids: Sequence[str] = (),
        namespaces: Sequence[str] = (),
        filters: Sequence[Dict[str, Any]] = (),
        log_type: str = "active",
        component: str = "kubearmor",
        max_pages: Optional[int] = None,
        workload_types: Sequence[str] = (),
        workload_names: Sequence[str] = (),
        search: str = "",
        tool: Optional[str] = None,
        order: str = "asc",
    ) -> Iterator[Page]:
        """Yield the non-empty pages of ``[from_time, to_time]`` (epoch seconds), PageId 1, 2, ...

        Stops when ``response`` (or ``data``) is null, missing or ``[]``, after a
        page shorter than ``page_size``, or after ``max_pages`` pages.

        ``order`` defaults to ``asc`` although AccuKnox's clients send ``desc``
        (the API documents both). Two reasons, both about offset paging:
        (1) when ``max_pages`` cuts a dense window short, oldest-first means the
        rows received are the *earliest contiguous* part of the window, so the
        caller can resume after the last row it got; newest-first would leave a
        hole at the start of the window. (2) rows that reach the SaaS while we
        page normally carry the newest event times; oldest-first appends them
        after the pages already read, newest-first inserts them in front and
        shifts every later page (the boundary rows then come back twice).
        Late rows with old event times shift pages in either order, which is why
        the poller overlaps windows and de-duplicates.
        """
        if order not in ORDERS:
            raise ConfigError(f"order: {order!r} is not 'asc' or 'desc'")
        if max_pages is not None and (isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1):
            raise ConfigError("max_pages: expected a positive integer or None")
        body = self.build_body(
            from_time, to_time, page_id=1, page_size=self._check_page_size(page_size),
            cluster_ids=cluster_ids, namespaces=namespaces, workload_types=workload_types,
            workload_names=workload_names, filters=filters, log_type=log_type, component=component,
            search=search, tool=tool,
        )
        limit = HARD_PAGE_CAP if max_pages is None else max_pages
        return self._pages(body, page_size, limit, max_pages is None, order)

    def _pages(self, body: Dict[str, Any], page_size: int, limit: int, capped_by_us: bool, order: str
               ) -> Iterator[Page]:
        previous: Optional[List[Any]] = None
        warned_oversize = False
        for page_id in range(1, limit + 1):
            body["PageId"] = page_id
            parsed, status, nbytes = self._post(EVENTS_PATH, body, params={"orderby": order})
            rows = self._rows(parsed, status)
            if not rows:
                log.debug("page %d is empty: end of pages", page_id)
                return
            if previous is not None and rows == previous:
                raise ApiError(
                    f"the API returned the same rows for PageId {page_id - 1} and {page_id}; "
                    "it seems to ignore PageId, stopping to avoid an endless loop", status,
                )
            if len(rows) > page_size and not warned_oversize:
                warned_oversize = True
                log.warning("the API returned %d rows for PageSize %d", len(rows), page_size)
            self.stats.pages += 1
            self.stats.rows += len(rows)
            is_last = len(rows) < page_size
            yield Page(page_id, rows, nbytes, is_last)
            if is_last:
                return
            previous = rows
        if capped_by_us:
            raise ApiError(f"still receiving full pages after {limit} pages; refusing to page further")

    def count(
        self,
        from_time: int,
        to_time: int,
        *,
        cluster_ids: Sequence[str] = (),
        namespaces: Sequence[str] = (),
        filters: Sequence[Dict[str, Any]] = (),
        log_type: str = "active",
        component: str = "kubearmor",
        workload_types: Sequence[str] = (),
        workload_names: Sequence[str] = (),
        search: str = "",
        tool: Optional[str] = None,
    ) -> int:
        """Number of alerts in the window, from ``/events/count`` (``count``, ``Count`` or ``total``)."""
        body = self.build_body(
            from_time, to_time, cluster_ids=cluster_ids, namespaces=namespaces,
            workload_types=workload_types, workload_names=workload_names, filters=filters,
            log_type=log_type, component=component, search=search, tool=tool,
        )
        parsed, status, _ = self._post(COUNT_PATH, body)
        for key in ("count", "Count", "total"):
            value = parsed.get(key)
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str) and value.strip().isdigit():
                return int(value.strip())
        raise ApiError(
            f"HTTP {status} from POST {COUNT_PATH}: no count/Count/total number in the body: "
            f"{self._excerpt(dumps(parsed))}", status,
        )

    # ------------------------------------------------------------------ transport

    def _rows(self, parsed: Dict[str, Any], status: int) -> List[Any]:
        rows = parsed.get("response")
        if rows is None:
            rows = parsed.get("data")
        if rows is None:
            return []
        if not isinstance(rows, list):
            raise ApiError(
                f"HTTP {status} from POST {EVENTS_PATH}: 'response' is a {type(rows).__name__}, "
                f"expected a list: {self._excerpt(dumps(parsed))}", status,
            )
        return rows

    def _excerpt(self, body: Union[bytes, str]) -> str:
        text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body)
        text = " ".join(self._token.scrub(text).split())
        if len(text) > EXCERPT_CHARS:
            text = text[: EXCERPT_CHARS - 1] + "…"
        return text or "(empty body)"

    def _headers(self) -> Dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token.reveal()}",
            "X-Tenant-ID": self._tenant,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": self._user_agent,
        }

    def _throttle(self) -> None:
        if not self._interval:
            return
        now = self._clock()
        if self._next_slot is not None and self._next_slot > now:
            wait = self._next_slot - now
            self.stats.backoff_seconds += wait
            self._sleep(wait)
            now = self._next_slot
        self._next_slot = now + self._interval

    def _backoff(self, retry: int, retry_after: Optional[float]) -> float:
        if retry_after is not None:
            return min(retry_after, self._max_backoff)
        ceiling = min(self._max_backoff, self._backoff_base * (2 ** min(retry - 1, 30)))
        return self._rng.uniform(0.0, ceiling)

    def _post(self, path: str, body: Dict[str, Any], params: Optional[Dict[str, str]] = None
              ) -> Tuple[Dict[str, Any], int, int]:
        """POST ``body`` with retries; return (decoded object, status, body bytes)."""
        url = self._base + path
        data = dumps(body)
        headers = self._headers()
        shown = dict(headers, Authorization="Bearer ***")
        attempts = self._max_retries + 1
        last_problem = "no answer"
        last_status: Optional[int] = None
        retry_after: Optional[float] = None
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                delay = self._backoff(attempt - 1, retry_after)
                self.stats.retries += 1
                self.stats.backoff_seconds += delay
                log.warning("POST %s: %s; retry %d/%d in %.2fs", path, last_problem, attempt - 1,
                            self._max_retries, delay)
                self._sleep(delay)
            retry_after = None
            self._throttle()
            self.stats.requests += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug("POST %s params=%s attempt=%d headers=%s body=%s", url, params, attempt, shown,
                          data.decode("utf-8", "replace"))
            started = self._clock()
            try:
                resp = self._session.post(
                    url, data=data, headers=headers, params=params, timeout=self._timeout,
                    proxies=self._proxies or None, verify=self._verify, allow_redirects=False,
                )
            except requests.exceptions.SSLError as exc:
                raise ApiError(
                    f"TLS handshake with {self._base} failed ({self._token.scrub(str(exc))[:EXCERPT_CHARS]}); "
                    "check the certificate chain or set ca_bundle"
                ) from None
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
                self.stats.transport_errors += 1
                last_problem = f"{type(exc).__name__}: {self._token.scrub(str(exc))[:EXCERPT_CHARS]}"
                last_status = None
                continue
            status = resp.status_code
            content = resp.content or b""
            log.debug("POST %s -> HTTP %d, %d bytes in %.3fs", path, status, len(content),
                      self._clock() - started)
            if 200 <= status < 300:
                try:
                    parsed = loads(content)
                except ValueError:
                    head = content.lstrip()[:1]
                    if head in (b"{", b"[") or not content.strip():
                        self.stats.truncated_bodies += 1
                        last_problem = f"HTTP {status} with a cut-off JSON body ({len(content)} bytes)"
                        last_status = status
                        continue
                    raise ApiError(
                        f"HTTP {status} from POST {path}: the body is not JSON: {self._excerpt(content)}", status,
                    ) from None
                if not isinstance(parsed, dict):
                    raise ApiError(
                        f"HTTP {status} from POST {path}: expected a JSON object, got "
                        f"{type(parsed).__name__}: {self._excerpt(content)}", status,
                    )
                if parsed.get("errors"):
                    raise self._validation_error(status, path, parsed["errors"])
                self.stats.raw_bytes += len(content)
                return parsed, status, len(content)
            self._raise_for_auth(status, content)
            if status in RETRY_STATUSES:
                if status == 429:
                    self.stats.throttled += 1
                else:
                    self.stats.server_errors += 1
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                last_problem = f"HTTP {status}: {self._excerpt(content)}"
                last_status = status
                continue
            errors = self._errors_of(content)
            if status == 400 or errors is not None:
                raise self._validation_error(status, path, errors if errors is not None else self._excerpt(content))
            if 300 <= status < 400:
                location = self._token.scrub(resp.headers.get("Location", "?"))
                raise ApiError(
                    f"HTTP {status} from POST {path}: the API redirects to {location[:EXCERPT_CHARS]}; "
                    "set the base URL to the final address (redirects are not followed)", status,
                )
            raise ApiError(f"HTTP {status} from POST {path}: {self._excerpt(content)}", status)
        raise ApiError(
            f"POST {path}: giving up after {attempts} attempts ({self._max_retries} retries); "
            f"last problem: {last_problem}", last_status,
        )

    def _raise_for_auth(self, status: int, content: bytes) -> None:
        if status == 401:
            hint = ""
            exp = _jwt_claims(self._token.reveal()).get("exp")
            if isinstance(exp, (int, float)) and exp < time.time():
                hint = f"; its exp claim says it expired at {_iso(exp)}"
            raise AuthError(
                f"the access token was rejected (HTTP 401){hint} — renew it in the AccuKnox UI "
                f"(Settings → User Management → Get Access Key); server said: {self._excerpt(content)}",
                status,
            )
        if status == 403:
            hint = ""
            claimed = _jwt_claims(self._token.reveal()).get("tenant-id")
            if claimed is not None and str(claimed) != self._tenant:
                hint = f"; the token was issued for tenant {claimed}"
            raise AuthError(
                f"tenant id {self._tenant} not permitted for this access token (HTTP 403){hint} — check "
                f"tenant_id and the key's role; server said: {self._excerpt(content)}",
                status,
            )

    @staticmethod
    def _errors_of(content: bytes) -> Optional[str]:
        try:
            parsed = loads(content)
        except ValueError:
            return None
        if isinstance(parsed, dict) and parsed.get("errors"):
            errors = parsed["errors"]
            return errors if isinstance(errors, str) else dumps(errors).decode("utf-8", "replace")
        return None

    def _validation_error(self, status: int, path: str, errors: Any) -> ApiValidationError:
        message = errors if isinstance(errors, str) else dumps(errors).decode("utf-8", "replace")
        message = self._token.scrub(message)
        err = ApiValidationError(f"the API rejected the request to {path} (HTTP {status}): {message}", status)
        err.server_message = message  # type: ignore[attr-defined]
        return err


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
