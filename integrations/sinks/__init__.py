"""Delivery destinations ("sinks") and the registry that opens them by spec.

Consumes a spec string from the command line or configuration and produces a
:class:`~integrations.sinks.base.Sink`; the poller then calls ``send(batch)``
with :class:`~integrations.model.Delivery` objects and ``close()`` at the end.
The contract (what ``send`` promises, ``SendResult``, ``SinkError``) is in
``base.py``; shared HTTP mechanics (status table, backoff) in ``retry.py``;
gzip in ``compression.py``; one module per destination:

==================  =========================================================
spec                sink
==================  =========================================================
``file:DIR``        ``file.FileSink`` – NDJSON files, rotated, fsynced
``stdout``          ``stdout.StdoutSink`` – NDJSON on standard output
``hec:URL``         ``hec.HecSink`` – Splunk HTTP Event Collector
``es:URL``          ``elasticsearch.ElasticsearchSink`` – Elasticsearch bulk
==================  =========================================================

``SINKS`` maps the scheme (text before the first ``:``) to a factory
``factory(rest, **options) -> Sink``; modules are imported on first use, so the
Elasticsearch client is needed only by ``es:``. Options are the sink
constructors' keyword arguments; an unknown option is a ``ConfigError``.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable, Dict

from integrations.errors import ConfigError
from integrations.sinks.base import SendResult, Sink

__all__ = ["SINKS", "SendResult", "Sink", "open_sink"]

Factory = Callable[..., Sink]


def _lazy(module: str, cls: str, needs_arg: bool, usage: str) -> Factory:
    """A factory importing ``integrations.sinks.<module>.<cls>`` on first call."""

    def factory(rest: str, **options: Any) -> Sink:
        klass = getattr(importlib.import_module(f"integrations.sinks.{module}"), cls)
        params = inspect.signature(klass).parameters
        unknown = sorted(set(options) - {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY})
        if unknown:
            known = ", ".join(n for n, p in params.items() if p.kind is p.KEYWORD_ONLY)
            raise ConfigError(f"sink {usage}: unknown option(s) {', '.join(unknown)}; known: {known}")
        if needs_arg:
            if not rest:
                raise ConfigError(f"sink {usage}: the part after ':' is required")
            return klass(rest, **options)
        if rest:
            raise ConfigError(f"sink {usage}: takes nothing after the name, got {rest!r}")
        return klass(**options)

    factory.__name__ = f"open_{module}"
    factory.usage = usage  # type: ignore[attr-defined]
    return factory


#: scheme → factory(rest, **options). Add a destination by adding a row.
SINKS: Dict[str, Factory] = {
    "file": _lazy("file", "FileSink", True, "file:DIR"),
    "stdout": _lazy("stdout", "StdoutSink", False, "stdout"),
    "hec": _lazy("hec", "HecSink", True, "hec:URL"),
    "es": _lazy("elasticsearch", "ElasticsearchSink", True, "es:URL"),
}


def open_sink(spec: str, **options: Any) -> Sink:
    """Open the sink named by ``spec`` (``file:DIR``, ``stdout``, ``hec:URL``, ``es:URL``)."""
    scheme, _sep, rest = (spec or "").partition(":")
    factory = SINKS.get(scheme.strip().lower())
    if factory is None:
        known = ", ".join(getattr(f, "usage", name) for name, f in SINKS.items())
        raise ConfigError(f"unknown sink {spec!r}; known sinks: {known}")
    return factory(rest, **options)
