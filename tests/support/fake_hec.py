"""Fake Splunk HTTP Event Collector on 127.0.0.1.

Endpoints (``testing-offline.md`` §6, Splunk's HEC status table):

* ``POST /services/collector/event`` (also ``/services/collector`` and
  ``/event/1.0``): gzip-aware; the body is concatenated JSON event objects
  (newline-separated or not); needs ``Authorization: Splunk <token>`` –
  missing → 401 code 2, not ``Splunk ...`` → 401 code 3, wrong token → 403
  code 4. Each object needs a non-blank ``event`` (400 codes 12 / 13);
  unparsable JSON → 400 code 6. On a bad object HEC keeps the objects before
  it and answers ``invalid-event-number`` = its 0-based position, which this
  fake reproduces. Success: ``{"text":"Success","code":0}``, plus ``"ackId"``
  when ``ack=True``.
* ``POST /services/collector/ack`` ``{"acks": [ids]}`` → ``{"acks": {"id": bool}}``;
  an id reported ``true`` is forgotten, as Splunk does. Without ``ack=True``:
  400 code 14. With ``ack=True`` both endpoints need a channel
  (``X-Splunk-Request-Channel`` or ``?channel=``): missing → 400 code 10,
  not a UUID → 400 code 11.
* ``GET /services/collector/health`` → code 17.

Scripting: :meth:`fail_next` (e.g. 503 code 9 server busy, 500 code 8),
:attr:`reject_event` (``callable(obj) -> None | (code, text)`` marks bad
events → partial acceptance), :meth:`lose_acks` (the next N ackIds never turn
true), :attr:`ack_after_polls` (an ackId turns true only after that many
polls), :meth:`slow_next` (delay answers). Accepted envelopes are in
:attr:`events`; ``store=False`` (benchmarks) neither parses nor keeps them and
only counts lines in :attr:`event_count`, unless :attr:`reject_event` is set.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Tuple

import orjson

from tests.support.fake_http import FakeHTTPServer, Request, Response

TOKEN = "11111111-2222-3333-4444-555555555555"
_BAD = object()
_decoder = json.JSONDecoder()


def hec(status: int, code: int, text: str, **extra: Any) -> Response:
    return Response(status, {"text": text, "code": code, **extra})


def iter_objects(body: bytes) -> Iterator[Any]:
    """Yield the concatenated JSON values of ``body``; ``_BAD`` then stop at the first unparsable one."""
    for part in body.split(b"\n"):
        if not part.strip():
            continue
        try:
            yield orjson.loads(part)
            continue
        except ValueError:
            pass
        text = part.decode("utf-8", "replace")  # objects concatenated without newlines
        pos = 0
        while True:
            while pos < len(text) and text[pos] in " \t\r":
                pos += 1
            if pos >= len(text):
                break
            try:
                obj, pos = _decoder.raw_decode(text, pos)
            except ValueError:
                yield _BAD
                return
            yield obj


class _Channel:
    __slots__ = ("next_id", "pending")

    def __init__(self) -> None:
        self.next_id = 0
        #: ackId → polls still answered ``false`` (None: never true – a lost acknowledgement)
        self.pending: Dict[int, Optional[int]] = {}


class FakeHec(FakeHTTPServer):
    """See the module docstring."""

    def __init__(self, token: str = TOKEN, *, ack: bool = False, store: bool = True, record: bool = True,
                 ssl_context: Any = None) -> None:
        super().__init__(record=record, ssl_context=ssl_context)
        self.token = token
        self.ack = ack
        self.store = store
        self.events: List[Dict[str, Any]] = []
        self.event_count = 0
        self.reject_event: Optional[Callable[[Any], Optional[Tuple[int, str]]]] = None
        self.ack_after_polls = 0
        self.channels: Dict[str, _Channel] = {}
        self._failures: Deque[Response] = deque()
        self._lose = 0
        self._slow: Deque[float] = deque()
        self.ack_polls = 0
        for path in (r"/services/collector", r"/services/collector/event", r"/services/collector/event/1\.0"):
            self.route("POST", path, self._event)
        self.route("POST", r"/services/collector/ack", self._ack)
        self.route("GET", r"/services/collector/health(/1\.0)?", lambda r: hec(200, 17, "HEC is healthy"))

    # -- scripting ------------------------------------------------------------

    def fail_next(self, status: int = 503, code: int = 9, text: str = "Server is busy", times: int = 1,
                  **extra: Any) -> None:
        """Answer the next ``times`` event requests with this error (nothing accepted)."""
        for _ in range(times):
            self._failures.append(hec(status, code, text, **extra))

    def lose_acks(self, count: int = 1) -> None:
        """The next ``count`` ackIds handed out never become true."""
        self._lose += count

    def slow_next(self, seconds: float, times: int = 1) -> None:
        """Delay the next ``times`` event answers by ``seconds``."""
        self._slow.extend([seconds] * times)

    # -- inspection -----------------------------------------------------------

    def event_requests(self) -> List[Request]:
        return self.requests_to(r"/services/collector(/event(/1\.0)?)?")

    def ack_requests(self) -> List[Request]:
        return self.requests_to(r"/services/collector/ack")

    # -- protocol -------------------------------------------------------------

    def _auth(self, req: Request) -> Optional[Response]:
        value = req.headers.get("authorization")
        if not value:
            return hec(401, 2, "Token is required")
        scheme, _, token = value.partition(" ")
        if scheme != "Splunk" or not token:
            return hec(401, 3, "Invalid authorization")
        if token != self.token:
            return hec(403, 4, "Invalid token")
        return None

    def _channel(self, req: Request) -> Tuple[Optional[_Channel], Optional[Response]]:
        name = req.headers.get("x-splunk-request-channel") or req.param("channel")
        if not name:
            return None, hec(400, 10, "Data channel is missing")
        try:
            uuid.UUID(name)
        except ValueError:
            return None, hec(400, 11, "Invalid data channel")
        return self.channels.setdefault(name, _Channel()), None

    def _event(self, req: Request) -> Response:
        delay = 0.0
        with self.lock:
            if self._slow:
                delay = self._slow.popleft()
        resp = self._event_inner(req)
        resp.delay = delay
        return resp

    def _event_inner(self, req: Request) -> Response:
        bad = self._auth(req)
        if bad is not None:
            return bad
        with self.lock:
            if self._failures:
                return self._failures.popleft()
        channel = None
        if self.ack:
            channel, bad = self._channel(req)
            if bad is not None:
                return bad
        if not req.body.strip():
            return hec(400, 5, "No data")
        reject = self.reject_event
        if not self.store and reject is None:
            # counting mode for benchmarks: one object per line, as the sink sends them
            with self.lock:
                self.event_count += req.body.count(b"\n") + (not req.body.endswith(b"\n"))
            return self._success(channel)
        accepted: List[Any] = []
        failure: Optional[Response] = None
        for n, obj in enumerate(iter_objects(req.body)):
            if obj is _BAD or not isinstance(obj, dict):
                failure = hec(400, 6, "Invalid data format", **{"invalid-event-number": n})
            elif "event" not in obj:
                failure = hec(400, 12, "Event field is required", **{"invalid-event-number": n})
            elif obj["event"] in ("", None, {}):
                failure = hec(400, 13, "Event field cannot be blank", **{"invalid-event-number": n})
            elif reject is not None:
                verdict = reject(obj)
                if verdict is not None:
                    failure = hec(400, verdict[0], verdict[1], **{"invalid-event-number": n})
            if failure is not None:
                break
            accepted.append(obj)
        with self.lock:
            self.event_count += len(accepted)
            if self.store:
                self.events.extend(accepted)
            if failure is not None:
                return failure
        return self._success(channel)

    def _success(self, channel: Optional[_Channel]) -> Response:
        if channel is None:
            return hec(200, 0, "Success")
        with self.lock:
            ack_id = channel.next_id
            channel.next_id += 1
            if self._lose:
                self._lose -= 1
                channel.pending[ack_id] = None
            else:
                channel.pending[ack_id] = self.ack_after_polls
            return hec(200, 0, "Success", ackId=ack_id)

    def _ack(self, req: Request) -> Response:
        bad = self._auth(req)
        if bad is not None:
            return bad
        if not self.ack:
            return hec(400, 14, "ACK is disabled")
        channel, bad = self._channel(req)
        if bad is not None:
            return bad
        assert channel is not None
        try:
            ids = orjson.loads(req.body)["acks"]
        except (ValueError, KeyError, TypeError):
            return hec(400, 6, "Invalid data format")
        out: Dict[str, bool] = {}
        with self.lock:
            self.ack_polls += 1
            for i in ids:
                left = channel.pending.get(i, -1)
                if left == 0:
                    del channel.pending[i]
                    out[str(i)] = True
                else:
                    if left is not None and left > 0:
                        channel.pending[i] = left - 1
                    out[str(i)] = False
        return Response(200, {"acks": out})
