"""A tiny scriptable HTTP server on 127.0.0.1 for fake destinations and APIs.

Consumed by ``fake_es.py`` and ``fake_hec.py`` (and any other fake that wants
it): a ``ThreadingHTTPServer`` bound to ``127.0.0.1:0`` (the OS picks the port)
serving from a daemon thread, HTTP/1.1 keep-alive, ``TCP_NODELAY`` on every
connection (so latency benchmarks are not skewed by Nagle + delayed ACK),
request bodies un-gzipped when ``Content-Encoding: gzip``, every request
recorded, and dispatch through a route table::

    server.route("POST", r"/(?P<index>[^/_][^/]*)/_bulk", handler)

A handler gets the :class:`Request` (with ``match`` holding the regex groups)
and returns a :class:`Response` (``body`` may be ``bytes``, ``str`` or anything
JSON-serialisable). Routes are tried in order; a path that matches no route
gives 404, a path matched with another method 405. ``Response.delay`` sleeps
before answering (slow-server tests). Subclasses add routes in ``__init__``
and may override ``default_headers`` (sent on every response). Pass an
``ssl_context`` (e.g. built with ``trustme``) to serve HTTPS.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Match, Optional, Pattern, Tuple
from urllib.parse import parse_qs, urlsplit

import orjson

from integrations.sinks.compression import gzip_decompress


class Request:
    """One received request; ``headers`` keys are lower case, ``body`` is decoded (un-gzipped)."""

    __slots__ = ("method", "path", "query", "headers", "body", "raw_body", "match", "received", "client")

    def __init__(self, method: str, path: str, query: Dict[str, List[str]], headers: Dict[str, str],
                 body: bytes, raw_body: bytes) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.raw_body = raw_body
        self.match: Optional[Match[str]] = None
        self.received = time.time()
        #: the client's (host, port): one value per TCP connection, to check keep-alive
        self.client: Tuple[str, int] = ("", 0)

    def param(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """First value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return orjson.loads(self.body)

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path}, {len(self.body)} bytes)"


class Response:
    """What a handler answers."""

    __slots__ = ("status", "body", "headers", "delay")

    def __init__(self, status: int = 200, body: Any = None, headers: Optional[Dict[str, str]] = None,
                 delay: float = 0.0) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.delay = delay

    def encoded(self) -> Tuple[bytes, str]:
        body = self.body
        if body is None:
            return b"", "application/json"
        if isinstance(body, bytes):
            return body, "application/octet-stream"
        if isinstance(body, str):
            return body.encode("utf-8"), "text/plain; charset=utf-8"
        return orjson.dumps(body), "application/json"


Handler = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeHTTPServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # refused TLS handshakes and dropped clients are part of the tests


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    disable_nagle_algorithm = True  # TCP_NODELAY
    timeout = 60  # idle keep-alive connections do not hang a thread forever
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        fake = self.server.fake
        raw = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = raw
        if raw and headers.get("content-encoding", "").lower() == "gzip":
            body = gzip_decompress(raw)
        parts = urlsplit(self.path)
        req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True), headers, body, raw)
        req.client = self.client_address[:2]
        try:
            resp = fake.dispatch(req)
        except Exception as e:  # a bug in a handler: answer 500 and remember it for the test
            fake.handler_errors.append(e)
            resp = Response(500, {"error": f"fake server handler failed: {type(e).__name__}: {e}"})
        if resp.delay:
            time.sleep(resp.delay)
        data, ctype = resp.encoded()
        out = fake.default_headers()
        out.setdefault("Content-Type", ctype)
        out.update(resp.headers)
        try:
            self.send_response(resp.status)
            for k, v in out.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch


class FakeHTTPServer:
    """Route table + recording + lifecycle; see the module docstring."""

    def __init__(self, record: bool = True, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self.ssl_context = ssl_context
        self.routes: List[Tuple[str, Pattern[str], Handler]] = []
        self.requests: List[Request] = []
        self.record = record
        self.handler_errors: List[BaseException] = []
        self.lock = threading.RLock()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # -- routes ---------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Serve ``method`` requests whose path fully matches ``pattern`` with ``handler``."""
        self.routes.append((method.upper(), re.compile(pattern), handler))

    def default_headers(self) -> Dict[str, str]:
        return {}

    def dispatch(self, req: Request) -> Response:
        if self.record:
            with self.lock:
                self.requests.append(req)
        path_matched = False
        for method, pattern, handler in self.routes:
            m = pattern.fullmatch(req.path)
            if m is None:
                continue
            path_matched = True
            if method == req.method:
                req.match = m
                return handler(req)
        if path_matched:
            return Response(405, {"error": f"method {req.method} not allowed for {req.path}"})
        return Response(404, {"error": f"no route for {req.method} {req.path}"})

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> FakeHTTPServer:
        server = _Server(("127.0.0.1", 0), _RequestHandler)
        server.fake = self
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def requests_to(self, path_regex: str, method: Optional[str] = None) -> List[Request]:
        """Recorded requests whose path matches ``path_regex`` (and ``method``)."""
        p = re.compile(path_regex)
        with self.lock:
            return [r for r in self.requests if p.fullmatch(r.path) and (method is None or r.method == method)]
