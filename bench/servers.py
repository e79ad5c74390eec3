"""The end-to-end runs' counterparts, each in a process of its own.

    python -m bench.servers emulator --events N --span S [--page-size P] [--seed S]
    python -m bench.servers es
    python -m bench.servers hec

Each prints ``URL <url>`` on stdout once it listens on 127.0.0.1 (the emulator
first prints ``FIRST <epoch>``, the time of its oldest event) and serves
until its standard input is closed (the parent's :class:`ServerProcess` does
that, and a dying parent closes it too). Running them apart from the poller
means the poller's CPU time (read from its own process) is only the poller's.

* ``emulator`` - :class:`~integrations.emulator.AlertsEmulator` serving ``N``
  generated alert rows (:func:`bench.inputs.api_rows`) evenly spread over the
  ``S`` seconds that end two minutes ago (older than the poller's 60 s lag), with
  ``max_page_size`` set to the page size the poller asks for (pages that large
  are served in full, larger ones would be cut, as an API that caps them);
* ``es`` - ``tests.support.fake_es.FakeElasticsearch`` without REST-spec checks
  and recording, keeping only the ``_id`` of each document (so a million-event
  run does not hold a gigabyte of sources); ``create`` of a known ``_id`` still
  answers 409;
* ``hec`` - ``tests.support.fake_hec.FakeHec`` in counting mode (``store=False``).

Both fakes answer every request in one ``write`` (headers and body from one
buffer) on sockets with ``TCP_NODELAY``, so no Nagle / delayed-ACK stall is
measured. ``GET /_bench/stats`` on either fake returns what it received
(``{"docs": n, "requests": m}``), so the parent can check that every event
arrived exactly once.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

#: Repository root (bench/ and tests/ live there).
ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-0123456789abcdef"  # noqa: S105 - the emulator's token, loopback only
HEC_TOKEN = "11111111-2222-3333-4444-555555555555"  # noqa: S105 - the fake HEC's token
TENANT = "11"
#: Events end this long before "now", so every one is older than the poller's lag.
END_OFFSET = 120


def _one_write_handlers() -> None:
    """Make the fake servers answer in one write: headers and body through one 1 MiB buffer.

    ``BaseHTTPRequestHandler`` flushes ``wfile`` after each request, so a
    buffered writer turns "headers, then body" into a single ``send``;
    ``disable_nagle_algorithm`` (TCP_NODELAY) is already set by ``fake_http``.
    """
    from tests.support import fake_http

    fake_http._RequestHandler.wbufsize = 1 << 20
    fake_http._RequestHandler.disable_nagle_algorithm = True


def _serve_emulator(args: argparse.Namespace) -> Any:
    from bench.inputs import api_rows
    from integrations.emulator import AlertsEmulator

    clusters = [c for c in args.clusters.split(",") if c] if args.clusters else None
    rows = api_rows(args.events, end=time.time() - END_OFFSET, span=args.span, seed=args.seed,
                    **({"clusters": clusters} if clusters else {}))
    # the parent sets each poller's look-back from the oldest event's time
    print(f"FIRST {min(r['Timestamp'] for r in rows)}", flush=True)
    emu = AlertsEmulator(rows, tenant_id=TENANT, token=TOKEN, max_page_size=args.page_size,
                         max_threads=8, max_recorded=16)
    del rows
    return emu.start()


def _serve_es(args: argparse.Namespace) -> Any:
    _one_write_handlers()
    from tests.support.fake_es import FakeElasticsearch
    from tests.support.fake_http import Response

    class IdOnlyElasticsearch(FakeElasticsearch):
        """Keeps ``_id``s only (sources are dropped after a JSON check)."""

        def _apply(self, op, index, _id, source, pipeline=None, explicit_id=True):  # type: ignore[no-untyped-def]
            return super()._apply(op, index, _id, None if op != "delete" else source, pipeline, explicit_id)

    fake = IdOnlyElasticsearch(spec_dir=False, record=False, validate_json=False)
    fake.route("GET", r"/_bench/stats",
               lambda req: Response(200, {"docs": fake.doc_count(), "requests": fake.bulk_items_seen}))
    return fake.start()


def _serve_hec(args: argparse.Namespace) -> Any:
    _one_write_handlers()
    from tests.support.fake_hec import FakeHec
    from tests.support.fake_http import Response

    fake = FakeHec(HEC_TOKEN, store=False, record=False)
    fake.route("GET", r"/_bench/stats", lambda req: Response(200, {"docs": fake.event_count, "requests": 0}))
    return fake.start()


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.servers")
    p.add_argument("kind", choices=["emulator", "es", "hec"])
    p.add_argument("--events", type=int, default=10_000)
    p.add_argument("--span", type=float, default=7200.0, help="seconds the events are spread over")
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--clusters", default="", help="comma-separated AccuKnox cluster ids of the rows")
    args = p.parse_args(argv)
    server = {"emulator": _serve_emulator, "es": _serve_es, "hec": _serve_hec}[args.kind](args)
    print(f"URL {server.url}", flush=True)
    wait_until_released(6 * 3600)
    server.stop()
    return 0


def wait_until_released(limit_s: float) -> None:
    """Block a server process until its parent closes our stdin (or dies), SIGTERM, or ``limit_s``.

    Bounded, so a forgotten server ends by itself.
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def wait_stdin() -> None:
        sys.stdin.read()  # returns when the parent closes the pipe (or dies)
        stop.set()

    threading.Thread(target=wait_stdin, daemon=True).start()
    stop.wait(limit_s)


class ServerProcess:
    """Start ``python -m bench.servers KIND ...`` and read its URL; ``stop()`` closes its stdin."""

    def __init__(self, kind: str, *args: str, timeout: float = 900.0) -> None:
        self.kind = kind
        env = child_env()
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(  # noqa: S603 - our own module with fixed arguments
            [sys.executable, "-m", "bench.servers", kind, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env, cwd=str(ROOT), text=True,
        )
        self.url = ""
        #: ``KEY value`` lines the server printed before its URL (the emulator: ``FIRST <epoch>``)
        self.info: Dict[str, str] = {}
        deadline = time.time() + timeout
        assert self.proc.stdout is not None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait()
                self._stderr.seek(0)
                err = self._stderr.read().decode("utf-8", "replace")
                raise RuntimeError(f"bench server {kind} exited before listening: {err[-2000:]}")
            if line.startswith("URL "):
                self.url = line.split(" ", 1)[1].strip()
                return
            key, _, value = line.strip().partition(" ")
            if key.isupper() and value:
                self.info[key] = value
        self.stop()
        raise RuntimeError(f"bench server {kind} did not start within {timeout:.0f}s")

    def lookback(self, margin: int = 600) -> int:
        """Seconds of look-back that reach ``margin`` seconds before the emulator's oldest event, from now.

        Computed when each poller starts: a fixed look-back would slide past the
        oldest events as the rounds of a long run go by.
        """
        return int(time.time() - float(self.info["FIRST"])) + margin

    def stats(self) -> Dict[str, Any]:
        """``GET /_bench/stats`` of a fake sink."""
        import requests

        return requests.get(self.url + "/_bench/stats", timeout=30).json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.terminate()
                self.proc.wait(timeout=10)
        self._stderr.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def child_env(**extra: str) -> Dict[str, str]:
    """Environment of a child process: the repository on ``PYTHONPATH``, no stray ``ACCUKNOX_*`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCUKNOX_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["ACCUKNOX_TOKEN"] = TOKEN
    env["SPLUNK_HEC_TOKEN"] = HEC_TOKEN
    env.update(extra)
    return env


if __name__ == "__main__":
    sys.exit(main())
