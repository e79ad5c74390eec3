"""``accuknox-siem pull``: poll the AccuKnox alerts API into a sink, once or on an interval.

Exit status: 0 when every run completed, 1 when a run stopped early (the
reason is printed; the checkpoint covers exactly what was delivered), 2 for a
configuration error.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from typing import Any, Dict, Optional

from integrations.config import PullConfig, list_settings, proxies_for, resolve
from integrations.errors import ConfigError
from integrations.jsoncodec import dumps
from integrations.mapping import Mapper, load_definition
from integrations.poller.checkpoint import CheckpointStore
from integrations.poller.client import AlertsClient
from integrations.poller.runner import Poller, PollSettings, RunSummary
from integrations.sinks import open_sink

log = logging.getLogger("integrations.commands.pull")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``pull`` (each also readable from ACCUKNOX_<NAME> and the TOML config)."""
    p.add_argument("--config", metavar="FILE", help="TOML file with the settings below (top level or [pull])")
    p.add_argument("--url", help="AccuKnox CWPP API base URL, e.g. https://cwpp.demo.accuknox.com")
    p.add_argument("--tenant-id", help="AccuKnox tenant (workspace) id")
    p.add_argument("--token-env", metavar="VAR", help="environment variable holding the access token "
                   "(default ACCUKNOX_TOKEN)")
    p.add_argument("--sink", help="file:DIR (default file:./accuknox-out), stdout, hec:URL, es:URL")
    p.add_argument("--state", metavar="PATH", help="checkpoint file (default ./accuknox-state.json)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="run one poll and exit (default)")
    mode.add_argument("--interval", metavar="DURATION", help="poll again every DURATION (e.g. 5m) until stopped")
    p.add_argument("--lookback", metavar="DURATION", help="first run starts this far back (default 24h)")
    p.add_argument("--overlap", metavar="DURATION", help="re-read this much before the checkpoint (default 10m)")
    p.add_argument("--lag", metavar="DURATION", help="leave the newest DURATION for a later run (default 60s)")
    p.add_argument("--max-window", metavar="DURATION", help="longest window paged at once (default 1h)")
    p.add_argument("--page-size", type=int, help="rows per API page (default 100, at most 100)")
    p.add_argument("--batch-size", type=int, help="events per sink batch (default 1000)")
    p.add_argument("--max-pages", type=int, metavar="N", help="pages per window before it is split into "
                   "smaller windows (default: no limit)")
    p.add_argument("--prefetch-pages", type=int, metavar="N", help="API pages fetched ahead while the current "
                   "one is mapped and sent (default 1; 0 fetches one page at a time)")
    p.add_argument("--cluster-id", action="append", metavar="ID", help="only these AccuKnox cluster ids (repeat)")
    p.add_argument("--namespace", action="append", metavar="NS", help="only these namespaces (repeat)")
    p.add_argument("--filter", action="append", metavar="F=V", help="API filter, e.g. Action=Block (repeat)")
    p.add_argument("--log-type", choices=["active", "suppressed", "all"], help="alert suppression state")
    p.add_argument("--map", choices=["ecs", "cim", "raw"], help="document written by file/stdout/hec sinks")
    p.add_argument("--dead-letter", metavar="PATH", help="rejected events as JSON lines (default <state>.dead.ndjson)")
    p.add_argument("--ca-bundle", metavar="PATH", help="CA bundle for the AccuKnox API")
    p.add_argument("--proxy", metavar="URL", help="HTTP(S) proxy for the AccuKnox API")
    p.add_argument("--insecure", action="store_true", help="disable TLS verification (logs a warning)")
    p.add_argument("--rate-limit", type=float, metavar="RPS", help="at most RPS API requests per second")
    p.add_argument("--severity-preset", choices=["higher_is_worse", "accuknox_ui"])
    p.add_argument("--hec-token-env", metavar="VAR", help="variable with the HEC token (default SPLUNK_HEC_TOKEN)")
    p.add_argument("--hec-index", help="Splunk index for HEC events")
    p.add_argument("--hec-ack", action="store_true", help="use HEC indexer acknowledgement")
    p.add_argument("--hec-ack-timeout", metavar="DURATION", help="with --hec-ack: wait this long for an "
                   "acknowledgement before sending again (default 5m)")
    p.add_argument("--es-api-key-env", metavar="VAR", help="variable with the Elasticsearch API key")
    p.add_argument("--es-user", help="Elasticsearch user (password from --es-password-env)")
    p.add_argument("--es-password-env", metavar="VAR", help="variable with the Elasticsearch password")
    p.add_argument("--es-namespace", help="data stream namespace (default default)")
    p.add_argument("--es-mode", choices=["pipeline", "ecs"], help="raw event through the ingest pipeline "
                   "(default) or client-side ECS")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    p.epilog = "settings: " + ", ".join(list_settings())


def sink_options(cfg: PullConfig) -> Dict[str, Any]:
    """Options for the configured sink, from the ``hec_*``/``es_*`` settings."""
    kind = cfg.sink.partition(":")[0].lower()
    if kind == "hec":
        opts: Dict[str, Any] = {"token_env": cfg.hec_token_env, "ack": cfg.hec_ack}
        if cfg.hec_ack and cfg.hec_ack_timeout is not None:
            opts["ack_timeout"] = float(cfg.hec_ack_timeout)
        if cfg.hec_index:
            opts["index"] = cfg.hec_index
        return opts
    if kind == "es":
        opts = {"namespace": cfg.es_namespace}
        if cfg.es_api_key_env:
            opts["api_key_env"] = cfg.es_api_key_env
        if cfg.es_user:
            opts["user"] = cfg.es_user
        if cfg.es_password_env:
            opts["password_env"] = cfg.es_password_env
        if cfg.es_mode:
            opts["mode"] = cfg.es_mode
        return opts
    return {}


class _Progress:
    """A single updating progress line on stderr for long backfills (pages, events, rate)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.start = time.time()
        self.last = 0.0

    def __call__(self, s: RunSummary) -> None:
        now = time.time()
        if not self.enabled or now - self.last < 0.5:
            return
        self.last = now
        rate = s.pulled / max(now - self.start, 1e-6)
        sys.stderr.write(f"\rpages {s.pages}  events {s.pulled}  delivered {s.delivered}  {rate:,.0f}/s ")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def build_poller(cfg: PullConfig, *, clock: Any = time.time, environ: Optional[Dict[str, str]] = None,
                 **client_options: Any) -> Poller:
    """Client, sink, checkpoint store and mapper wired from a :class:`PullConfig`."""
    client = AlertsClient(
        cfg.url, cfg.tenant_id, cfg.token(environ), rate_limit=cfg.rate_limit, proxies=proxies_for(cfg.proxy),
        ca_bundle=cfg.ca_bundle, verify=not cfg.insecure, **client_options,
    )
    sink = open_sink(cfg.sink, **sink_options(cfg))
    settings = PollSettings(
        lookback=cfg.lookback, overlap=cfg.overlap, lag=cfg.lag, max_window=cfg.max_window,
        page_size=cfg.page_size, max_pages=cfg.max_pages, batch_size=cfg.batch_size, view=cfg.map,
        cluster_ids=cfg.cluster_id, namespaces=cfg.namespace, filters=cfg.filters, log_type=cfg.log_type,
        prefetch_pages=cfg.prefetch_pages,
    )
    dead_path = cfg.dead_letter or f"{cfg.state}.dead.ndjson"
    dead = _DeadLetterFile(dead_path)
    mapper = Mapper(load_definition(), severity_preset=cfg.severity_preset,
                    namespace=cfg.es_namespace if cfg.sink.startswith("es:") else None)
    return Poller(client, sink, CheckpointStore(cfg.state), mapper, settings, dead_letter=dead, clock=clock)


class _DeadLetterFile:
    """Appends dead-letter records as JSON lines, flushed and fsynced per record (they are rare)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0

    def __call__(self, record: Dict[str, Any]) -> None:
        import os

        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.write(dumps(record) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.count += 1


def run(args: argparse.Namespace) -> int:
    """Run the poller once or on an interval; returns the exit status."""
    flags = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    try:
        cfg = resolve(flags, config_path=args.config)
        poller = build_poller(cfg)
    except (ConfigError, ValueError) as exc:
        print(f"accuknox-siem pull: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "once", False):
        cfg.interval = None  # --once beats an interval from ACCUKNOX_INTERVAL or the config file
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        stop.set()

    if cfg.interval:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    progress = _Progress(not args.no_progress)
    poller.progress = progress
    status = 0
    try:
        while True:
            summary = poller.run_once()
            progress.done()
            print(summary.line(), file=sys.stderr)
            log.info("run summary %s", summary.as_dict())
            if not summary.complete:
                status = 1
            if not cfg.interval or stop.wait(cfg.interval):
                break
    finally:
        poller.sink.close()
        close = getattr(poller.client, "close", None)
        if callable(close):
            close()
    return status


def summary_dict(summary: RunSummary) -> Optional[Dict[str, Any]]:
    """The summary as a plain dict (for JSON output)."""
    return summary.as_dict() if summary else None
