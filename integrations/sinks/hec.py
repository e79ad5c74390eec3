"""``hec:URL`` – Splunk HTTP Event Collector, JSON event endpoint.

Consumes batches of :class:`~integrations.model.Delivery`; produces
``POST {URL}/services/collector/event`` requests whose body is newline-separated
HEC event objects::

    {"time": 1692813948.301798, "host": "<node>", "source": "accuknox",
     "sourcetype": "accuknox:kubearmor:alert", "index": "<index>", "event": {...}}

``sourcetype`` follows ``Delivery.stream`` (``cim-mapping.md`` §5), ``host`` is
left out when the event names no node, ``index`` only when configured (else the
token's default index applies).

Batching: a batch is cut into requests of at most ``max_bytes`` uncompressed
bytes (default 1,000,000; one larger event goes alone) and ``max_events`` events;
bodies are gzip level 1 (``Content-Encoding: gzip``, on by default). One
``requests.Session`` per sink keeps connections alive.

Confirmation: without indexer acknowledgement (``ack=False``) an HTTP 200 with
``code`` 0 is the confirmation. With ``ack=True`` every request carries
``X-Splunk-Request-Channel: <uuid4>`` (one channel per sink), each response an
``ackId``, and ``send`` polls ``POST /services/collector/ack`` with
``{"acks": [...]}`` (interval ``ack_poll_interval`` growing ×1.5 up to
``ack_poll_max_interval``) until every id is ``true``. After ``ack_timeout``
(default 300 s) it raises ``SinkError(retryable=True)``: the poller resends the
batch, so events that were indexed but whose acknowledgement was lost (indexer
restart, channel expiry) **are duplicated in Splunk**. HEC cannot de-duplicate;
every event carries its id for search-time ``dedup``.

Crash recovery with ``ack=True`` (two phases with the poller's journal, see
``sinks/base.py``): ``position()`` is ``{"channel": <uuid>}``, kept in the
poller state, and ``recover`` (or the ``channel`` option) makes a restarted
process use the same channel. As soon as HEC answers a request with its
``ackId`` – before polling – the sink reports the request's event ids with
``{"channel", "ack"}`` to the journal (``bind_journal``); acknowledgements
that arrive while other requests of the batch still wait are reported as
confirmed at once (so a retry after an ack timeout leaves those events out).
After a crash, ``recover`` polls ``/services/collector/ack``
on the saved channel for what was left in flight (up to ``ack_timeout``):
acknowledged → delivered, not sent again; not acknowledged → sent again. What
remains are two short windows, each one HTTP answer plus one journal fsync
long: HEC accepted a request but the process died before the ``ackId`` was
journaled, or Splunk answered ``true`` (and, as it does, forgot the id) but the
process died before that was journaled. A kill there repeats that request's
events (in the second case after ``ack_timeout``).

Failures follow HEC's documented ``code`` table (``HEC_CODES`` below) and, for
unknown codes, the shared HTTP status table in ``retry.py``:

* 500/503 (codes 8, 9, 18–20), 429, other 5xx, connection errors: retried
  in place with backoff (``max_retries``), then ``SinkError(retryable=True)``;
* 400 with codes 6, 12, 13, 15 (the event is at fault): the response's
  ``invalid-event-number`` N (0-based) says where HEC stopped – events before N
  were accepted, event N is dead-lettered with HEC's reason, the rest is sent
  again. With ``ack=True`` such a response has no ``ackId``, so the events
  before N are sent again too (possible duplicates) rather than assumed
  indexed. Without N, the request is bisected to isolate the bad event;
* 413: the request is split in halves (a single event that is too large is
  dead-lettered);
* 401/403 (codes 1–4, 21, 22): ``SinkError(retryable=False)`` naming the
  environment variable that holds the token – never the token;
* codes 5, 7, 10, 11, 14, 16 and other 4xx: configuration problems,
  ``SinkError(retryable=False)`` with HEC's text.

Verified against Splunk's HEC status table (codes 0–22, with their HTTP
statuses); note code 20 is "HEC is unhealthy, queues are full, ack service
unavailable" (503), not a partial-acceptance code – partial acceptance is the
separate ``invalid-event-number`` field.

Secrets: the token is read from the environment variable named by
``token_env`` (default ``SPLUNK_HEC_TOKEN``) and lives only in the session's
``Authorization`` header; it is never logged nor put in exception messages.
TLS is verified by default (``ca_bundle`` for a private CA); ``verify=False``
logs a warning.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import operator
import os
import time
import uuid
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import requests
from requests.adapters import HTTPAdapter

from integrations import jsoncodec
from integrations.errors import ConfigError, SinkError
from integrations.model import Delivery
from integrations.poller.urlpolicy import check_url
from integrations.sinks.base import SendResult, Sink, tune_allocator
from integrations.sinks.compression import gzip_compress
from integrations.sinks.retry import Backoff, Disposition, classify, parse_retry_after

log = logging.getLogger(__name__)

D = Disposition

#: Delivery.stream → sourcetype (cim-mapping.md §5).
SOURCETYPES: Mapping[str, str] = {
    "alert": "accuknox:kubearmor:alert",
    "log": "accuknox:kubearmor:log",
}

#: HEC response ``code`` → (disposition, Splunk's text, HTTP status Splunk sends with it).
HEC_CODES: Mapping[int, Tuple[Disposition, str, int]] = {
    0: (D.OK, "Success", 200),
    1: (D.AUTH, "Token disabled", 403),
    2: (D.AUTH, "Token is required", 401),
    3: (D.AUTH, "Invalid authorization", 401),
    4: (D.AUTH, "Invalid token", 403),
    5: (D.FATAL, "No data", 400),
    6: (D.INVALID, "Invalid data format", 400),
    7: (D.FATAL, "Incorrect index", 400),
    8: (D.RETRY, "Internal server error", 500),
    9: (D.RETRY, "Server is busy", 503),
    10: (D.FATAL, "Data channel is missing", 400),
    11: (D.FATAL, "Invalid data channel", 400),
    12: (D.INVALID, "Event field is required", 400),
    13: (D.INVALID, "Event field cannot be blank", 400),
    14: (D.FATAL, "ACK is disabled", 400),
    15: (D.INVALID, "Error in handling indexed fields", 400),
    16: (D.FATAL, "Query string authorization is not enabled", 400),
    17: (D.OK, "HEC is healthy", 200),
    18: (D.RETRY, "HEC is unhealthy, queues are full", 503),
    19: (D.RETRY, "HEC is unhealthy, ack service unavailable", 503),
    20: (D.RETRY, "HEC is unhealthy, queues are full, ack service unavailable", 503),
    21: (D.AUTH, "Invalid token", 400),
    22: (D.AUTH, "Token disabled", 400),
}

#: What to tell the user for the configuration codes.
_FATAL_HINTS: Mapping[int, str] = {
    5: "the request had no data",
    7: "the index {index!r} is not allowed for this token (or does not exist)",
    10: "the token has indexer acknowledgement enabled: set ack=True",
    11: "the data channel was refused",
    14: "ack=True but indexer acknowledgement is disabled for this token: set ack=False or enable it",
    16: "query string authorization is not enabled",
}

EVENT_PATH = "/services/collector/event"
ACK_PATH = "/services/collector/ack"
_SUFFIXES = ("/services/collector/event/1.0", EVENT_PATH, "/services/collector")


def endpoint_base(url: str) -> str:
    """The HEC base URL: policy-checked, without a trailing collector path."""
    base = check_url(url, setting="hec url")
    for suffix in _SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


class EventEncoder:
    """Turns a Delivery into one HEC event object (compact JSON bytes, no newline).

    One ``dumps`` of a small envelope dict per event: orjson writes the body
    straight into the envelope's buffer, which measured faster than formatting
    pre-encoded pieces around a separately encoded body.
    """

    __slots__ = ("_source", "_sourcetypes", "_index", "_dumps")

    def __init__(self, source: str = "accuknox", index: Optional[str] = None) -> None:
        self._dumps = jsoncodec.dumps_kept  # the sink keeps a batch of these
        self._source = source
        self._sourcetypes = dict(SOURCETYPES)
        self._index = index or None

    def __call__(self, d: Delivery) -> bytes:
        sourcetype = self._sourcetypes.get(d.stream)
        if sourcetype is None:
            raise SinkError(f"hec sink: unknown stream {d.stream!r} (known: {', '.join(SOURCETYPES)})")
        t, host = d.time, d.host
        if host and self._index is None and t is not None and math.isfinite(t):  # the usual case
            return self._dumps(
                {"time": t, "host": host, "source": self._source, "sourcetype": sourcetype, "event": d.body}
            )
        env: Dict[str, Any] = {}
        if t is not None and math.isfinite(t):
            env["time"] = t  # epoch seconds with fraction, e.g. 1692813948.301798
        if host:
            env["host"] = host
        env["source"] = self._source
        env["sourcetype"] = sourcetype
        if self._index is not None:
            env["index"] = self._index
        env["event"] = d.body
        return self._dumps(env)


def encode_event(d: Delivery, *, source: str = "accuknox", index: Optional[str] = None) -> bytes:
    """One HEC event object for ``d`` (see :class:`EventEncoder`)."""
    return EventEncoder(source, index)(d)


def plan_requests(sizes: Sequence[int], max_bytes: int, max_events: int) -> List[Tuple[int, int]]:
    """Cut items of the given encoded sizes into ``[start, end)`` ranges.

    A range holds at most ``max_events`` items and at most ``max_bytes`` bytes
    counting one separator byte per item; an item larger than ``max_bytes``
    gets a range of its own. Cumulative sums and bisection keep the work per
    event in C.
    """
    n = len(sizes)
    # ends[i]: bytes of items 0..i with their separators
    ends = list(map(operator.add, itertools.accumulate(sizes), range(1, n + 1)))
    ranges: List[Tuple[int, int]] = []
    start = 0
    while start < n:
        base = ends[start - 1] if start else 0
        end = bisect.bisect_right(ends, base + max_bytes, start, min(n, start + max_events))
        end = max(end, start + 1)
        ranges.append((start, end))
        start = end
    return ranges


class _Reply:
    """One HEC answer: HTTP status (None when no answer), JSON fields, Retry-After."""

    __slots__ = ("status", "code", "text", "invalid_event", "ack_id", "acks", "retry_after", "error")

    def __init__(self, status: Optional[int], payload: Any, retry_after: Optional[float], error: str = ""):
        self.status = status
        self.retry_after = retry_after
        self.error = error
        p = payload if isinstance(payload, dict) else {}
        code = p.get("code")
        self.code = code if isinstance(code, int) and not isinstance(code, bool) else None
        text = p.get("text")
        self.text = text if isinstance(text, str) else (error or f"HTTP {status}")
        n = p.get("invalid-event-number")
        self.invalid_event = n if isinstance(n, int) and not isinstance(n, bool) else None
        ack_id = p.get("ackId")
        self.ack_id = ack_id if isinstance(ack_id, int) and not isinstance(ack_id, bool) else None
        acks = p.get("acks")
        self.acks = acks if isinstance(acks, dict) else {}

    @property
    def disposition(self) -> Disposition:
        if self.status is None:
            return D.RETRY
        if self.status == 413:
            return D.TOO_LARGE
        known = HEC_CODES.get(self.code) if self.code is not None else None
        if known is not None:
            return known[0]
        return classify(self.status)

    def describe(self) -> str:
        if self.status is None:
            return self.error
        code = "" if self.code is None else f", code {self.code}"
        return f"{self.text} (HTTP {self.status}{code})"


class HecSink(Sink):
    """Splunk HEC sender; see the module docstring for behaviour and options."""

    name = "hec"

    def __init__(
        self,
        url: str,
        *,
        token_env: str = "SPLUNK_HEC_TOKEN",  # noqa: S107 - a variable name, not a secret
        index: Optional[str] = None,
        source: str = "accuknox",
        ack: bool = False,
        ack_timeout: float = 300.0,
        ack_poll_interval: float = 0.2,
        ack_poll_max_interval: float = 5.0,
        channel: Optional[str] = None,
        max_bytes: int = 1_000_000,
        max_events: int = 5_000,
        gzip: bool = True,
        verify: bool = True,
        ca_bundle: Optional[str] = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_retries: int = 5,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        environ: Optional[Mapping[str, str]] = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        tune_allocator()
        env = os.environ if environ is None else environ
        token = (env.get(token_env) or "").strip()
        if not token:
            raise ConfigError(f"hec sink: environment variable {token_env} with the HEC token is not set")
        if max_bytes <= 0 or max_events <= 0:
            raise ConfigError("hec sink: max_bytes and max_events must be positive")
        self.base_url = endpoint_base(url)
        self.event_url = self.base_url + EVENT_PATH
        self.ack_url = self.base_url + ACK_PATH
        self.token_env = token_env
        self.index = index or None
        self.source = source
        self.ack = bool(ack)
        self.ack_timeout = float(ack_timeout)
        self.ack_poll_interval = float(ack_poll_interval)
        self.ack_poll_max_interval = float(ack_poll_max_interval)
        self.max_bytes = int(max_bytes)
        self.max_events = int(max_events)
        self.gzip = bool(gzip)
        self.max_retries = int(max_retries)
        #: with ack=True: the X-Splunk-Request-Channel (a fixed one from ``channel``, else a new uuid4)
        self.channel = (_check_channel(channel) if channel else str(uuid.uuid4())) if self.ack else None
        self._timeout = (float(connect_timeout), float(timeout))
        self._sleep = sleep
        self._monotonic = monotonic
        self._backoff = Backoff(initial=backoff_initial, maximum=backoff_max, sleep=sleep)

        s = requests.Session()
        # Proxy settings are read from the environment once, here: with trust_env on,
        # requests re-scans os.environ (and ~/.netrc) on every request – milliseconds each.
        s.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        s.trust_env = False
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
        s.mount("https://", adapter)
        s.mount("http://", adapter)
        s.headers["Authorization"] = "Splunk " + token
        s.headers["Content-Type"] = "application/json"
        if self.channel:
            s.headers["X-Splunk-Request-Channel"] = self.channel
        # passed per request (requests lets REQUESTS_CA_BUNDLE override a *session* setting);
        # with verify on and no ca_bundle, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE still apply
        env_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self._verify: Any = ca_bundle or ((env_bundle or True) if verify else False)
        if self._verify is False:
            log.warning("hec sink: TLS certificate verification is OFF for %s", self.base_url)
        self._session: Optional[requests.Session] = s
        self._event_headers = {"Content-Encoding": "gzip"} if self.gzip else {}
        self._encoder = EventEncoder(source, self.index)

    # -- HTTP -----------------------------------------------------------------

    def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> _Reply:
        if self._session is None:
            raise SinkError("hec sink: send() after close()", retryable=False)
        try:
            r = self._session.post(url, data=body, headers=headers, timeout=self._timeout, verify=self._verify)
        except requests.exceptions.SSLError as e:
            raise SinkError(f"hec sink: TLS handshake with {self.base_url} failed: {_short(e)}") from e
        except requests.RequestException as e:
            return _Reply(None, None, None, f"{type(e).__name__}: {_short(e)}")
        try:
            payload = jsoncodec.loads(r.content) if r.content else None
        except ValueError:
            payload = None
        return _Reply(r.status_code, payload, parse_retry_after(r.headers.get("Retry-After")))

    def _raise_for(self, reply: _Reply, what: str) -> None:
        """Raise the SinkError for a non-retryable disposition."""
        disp = reply.disposition
        if disp is D.AUTH:
            raise SinkError(
                f"hec sink: Splunk refused the token from environment variable {self.token_env}: "
                f"{reply.describe()}",
                retryable=False,
            )
        hint = _FATAL_HINTS.get(reply.code) if reply.code is not None else None
        detail = f"; {hint.format(index=self.index)}" if hint else ""
        raise SinkError(f"hec sink: {what} rejected by {self.base_url}: {reply.describe()}{detail}", retryable=False)

    # -- sending --------------------------------------------------------------

    def send(self, batch: Sequence[Delivery]) -> SendResult:
        result = SendResult()
        if not batch:
            return result
        encode = self._encoder
        lines = [encode(d) for d in batch]
        work: Deque[Tuple[int, int]] = deque(plan_requests(list(map(len, lines)), self.max_bytes, self.max_events))
        waiting: Dict[int, Tuple[int, int]] = {}
        requests_sent = 0
        while work:
            start, end = work.popleft()
            requests_sent += self._send_range(batch, lines, start, end, work, waiting, result)
        if waiting:
            self._await_acks(waiting, result)
        if result.dead_letters:
            log.warning("hec sink: %d event(s) rejected by HEC and dead-lettered", len(result.dead_letters))
        log.debug("hec sink: %d events in %d request(s), %d delivered", len(batch), requests_sent, result.delivered)
        return result

    def _send_range(
        self,
        batch: Sequence[Delivery],
        lines: List[bytes],
        start: int,
        end: int,
        work: Deque[Tuple[int, int]],
        waiting: Dict[int, Tuple[int, int]],
        result: SendResult,
    ) -> int:
        """POST lines[start:end] until settled or split; return the number of requests made."""
        body = b"\n".join(lines[start:end])
        if self.gzip:
            body = gzip_compress(body)
        attempt = 0
        while True:
            reply = self._post(self.event_url, body, self._event_headers)
            attempt += 1
            disp = reply.disposition
            if disp is D.OK:
                if not self.ack:
                    result.delivered += end - start
                elif reply.ack_id is None:
                    raise SinkError(
                        "hec sink: ack=True but HEC returned no ackId: enable indexer acknowledgement "
                        "on the token or set ack=False",
                        retryable=False,
                    )
                else:
                    waiting[reply.ack_id] = (start, end)
                    if self._journal is not None:  # phase one: journaled before the ack is polled
                        self._journal_pending(reply.ack_id, batch, start, end, first=len(waiting) == 1)
                return attempt
            if disp is D.RETRY:
                if attempt > self.max_retries:
                    raise SinkError(
                        f"hec sink: {end - start} event(s) not accepted after {attempt} attempts: "
                        f"{reply.describe()}; the batch will be resent",
                        retryable=True,
                    )
                delay = self._backoff.sleep(attempt, reply.retry_after)
                log.warning("hec sink: %s; retry %d in %.2fs", reply.describe(), attempt, delay)
                continue
            if disp is D.TOO_LARGE:
                if end - start == 1:
                    reason = f"HEC refused the event as too large: {reply.describe()}"
                    result.dead_letters.append((batch[start], reason))
                else:
                    mid = (start + end) // 2
                    work.appendleft((mid, end))
                    work.appendleft((start, mid))
                return attempt
            if disp is D.INVALID:
                self._split_invalid(batch, start, end, reply, work, result)
                return attempt
            self._raise_for(reply, f"{end - start} event(s)")

    def _split_invalid(
        self,
        batch: Sequence[Delivery],
        start: int,
        end: int,
        reply: _Reply,
        work: Deque[Tuple[int, int]],
        result: SendResult,
    ) -> None:
        """HEC refused an event of lines[start:end]: dead-letter it, requeue the rest."""
        reason = f"HEC rejected the event: {reply.describe()}"
        n = reply.invalid_event
        if n is not None and 0 <= n < end - start:
            bad = start + n
            result.dead_letters.append((batch[bad], reason))
            if bad + 1 < end:
                work.appendleft((bad + 1, end))
            if n:
                if self.ack:  # accepted, but no ackId to confirm it: send again
                    work.appendleft((start, bad))
                else:
                    result.delivered += n
            return
        if end - start == 1:
            result.dead_letters.append((batch[start], reason))
            return
        mid = (start + end) // 2  # no position given: bisect to find the bad event
        work.appendleft((mid, end))
        work.appendleft((start, mid))

    def _await_acks(self, waiting: Dict[int, Tuple[int, int]], result: SendResult) -> None:
        """Poll /services/collector/ack until every id in ``waiting`` is true."""
        total = sum(e - s for s, e in waiting.values())
        deadline = self._monotonic() + self.ack_timeout
        poll = Backoff(initial=self.ack_poll_interval, maximum=self.ack_poll_max_interval, factor=1.5, jitter=0.0)
        n = 0
        while waiting:
            n += 1
            now = self._monotonic()
            if n > 1:
                if now >= deadline:
                    pending = sum(e - s for s, e in waiting.values())
                    raise SinkError(
                        f"hec sink: {pending} of {total} event(s) not acknowledged by the indexer within "
                        f"{self.ack_timeout:g}s; the batch will be resent (events that were indexed after "
                        "all will then be duplicated in Splunk)",
                        retryable=True,
                    )
                self._sleep(min(poll.delay(n - 1), max(0.0, deadline - now)))
            reply = self._post(self.ack_url, jsoncodec.dumps({"acks": sorted(waiting)}), {})
            disp = reply.disposition
            if disp is D.OK:
                for key, done in reply.acks.items():
                    if done is True:
                        try:
                            rng = waiting.pop(int(key), None)
                        except ValueError:
                            rng = None
                        if rng is not None:
                            result.delivered += rng[1] - rng[0]
                if self._journal is not None:
                    self._journal_acked(waiting)
            elif disp is D.RETRY:
                log.warning("hec sink: acknowledgement poll failed: %s", reply.describe())
            else:
                self._raise_for(reply, "acknowledgement query")

    # -- crash recovery with indexer acknowledgement (sinks/base.py) --------------

    #: the poller's journal callback (``bind_journal``); None: nothing is reported
    _journal: Optional[Callable[..., None]] = None
    #: ackId -> event ids of the requests of the current send that were journaled as pending
    _tracked: Optional[Dict[int, List[str]]] = None

    def bind_journal(self, fn: Optional[Callable[..., None]]) -> None:
        """Report requests in flight to ``fn(kind, ids, token=None)`` (only with ack=True)."""
        self._journal = fn if self.ack else None

    def position(self) -> Optional[Dict[str, str]]:
        """``{"channel": <uuid>}`` with ack=True (the poller keeps it in its state), else None."""
        return {"channel": self.channel} if self.ack and self.channel else None

    def use_channel(self, channel: str) -> None:
        """Send, and poll acknowledgements, on ``channel`` (a UUID) from now on."""
        self.channel = _check_channel(channel)
        if self._session is not None:
            self._session.headers["X-Splunk-Request-Channel"] = self.channel
        self._tracked = None

    def recover(self, position: Any, tokens: Sequence[Any]) -> List[bool]:
        """Adopt the channel of ``position``; per token, whether HEC acknowledged that request.

        ``tokens`` are the ``{"channel", "ack"}`` journaled by a previous process
        for requests HEC accepted. They are polled on their channel until all
        are acknowledged or ``ack_timeout`` passed: ``False`` then means "send
        again" (never indexed, acknowledgement lost, or already reported to the
        dead process). SinkError when HEC never answered a poll (the tokens
        stay in flight for the next run) or refused it.
        """
        verdicts = [False] * len(tokens)
        if not self.ack:
            return verdicts
        saved = position.get("channel") if isinstance(position, dict) else None
        if isinstance(saved, str) and saved != self.channel:
            try:
                self.use_channel(saved)
            except ConfigError:
                log.warning("hec sink: the saved channel is not a UUID; keeping %s", self.channel)
        asked: Dict[str, Dict[int, List[int]]] = {}
        for n, tok in enumerate(tokens):
            channel = tok.get("channel") if isinstance(tok, dict) else None
            ack_id = tok.get("ack") if isinstance(tok, dict) else None
            if isinstance(channel, str) and _is_uuid(channel) and isinstance(ack_id, int) \
                    and not isinstance(ack_id, bool):
                asked.setdefault(channel, {}).setdefault(ack_id, []).append(n)
        if not asked:
            return verdicts
        deadline = self._monotonic() + self.ack_timeout
        for channel, acks in asked.items():
            for ack_id in self._query_acks(channel, set(acks), deadline):
                for n in acks[ack_id]:
                    verdicts[n] = True
        log.info("hec sink: %d of %d request(s) in flight at the last stop were acknowledged",
                 sum(verdicts), len(verdicts))
        return verdicts

    def _query_acks(self, channel: str, ack_ids: Set[int], deadline: float) -> Set[int]:
        """Poll ``ack_ids`` on ``channel`` until all are true or ``deadline``; the ids that were true."""
        left = set(ack_ids)
        done: Set[int] = set()
        headers = {"X-Splunk-Request-Channel": channel}
        poll = Backoff(initial=self.ack_poll_interval, maximum=self.ack_poll_max_interval, factor=1.5, jitter=0.0)
        answered = False
        n = 0
        while left:
            n += 1
            now = self._monotonic()
            if n > 1:
                if now >= deadline:
                    break
                self._sleep(min(poll.delay(n - 1), max(0.0, deadline - now)))
            reply = self._post(self.ack_url, jsoncodec.dumps({"acks": sorted(left)}), headers)
            disp = reply.disposition
            if disp is D.OK:
                answered = True
                for key, value in reply.acks.items():
                    try:
                        ack_id = int(key)
                    except ValueError:
                        continue
                    if value is True and ack_id in left:
                        left.discard(ack_id)
                        done.add(ack_id)
            elif disp is D.RETRY:
                log.warning("hec sink: acknowledgement poll failed: %s", reply.describe())
            else:
                self._raise_for(reply, "acknowledgement query")
        if left and not answered:
            raise SinkError(
                f"hec sink: cannot ask {self.base_url} whether {len(left)} request(s) sent before the last stop "
                f"were indexed (no answer within {self.ack_timeout:g}s); the next run asks again",
                retryable=True,
            )
        return done

    def _journal_pending(self, ack_id: int, batch: Sequence[Delivery], start: int, end: int, first: bool) -> None:
        ids = [d.event_id for d in batch[start:end]]
        if first or self._tracked is None:
            self._tracked = {}  # a new send: what earlier sends tracked is settled or abandoned
        self._tracked[ack_id] = ids
        if self._journal is not None:
            self._journal("pending", ids, {"channel": self.channel, "ack": ack_id})

    def _journal_acked(self, waiting: Dict[int, Tuple[int, int]]) -> None:
        tracked = self._tracked
        if not tracked:
            return
        done = [a for a in tracked if a not in waiting]
        if not done:
            return
        ids = [i for a in done for i in tracked.pop(a)]
        if waiting and self._journal is not None:
            # the rest of the batch is still out: record these now (Splunk forgets a true ackId)
            self._journal("confirmed", ids)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __repr__(self) -> str:
        return f"HecSink({self.base_url!r}, ack={self.ack}, token_env={self.token_env!r})"



def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _check_channel(value: str) -> str:
    """A channel id as HEC wants it (a UUID); ConfigError otherwise."""
    if not isinstance(value, str) or not _is_uuid(value):
        raise ConfigError(f"hec sink: channel must be a UUID, got {value!r}")
    return value


def _short(e: BaseException, limit: int = 300) -> str:
    s = str(e)
    return s if len(s) <= limit else s[:limit] + "..."
