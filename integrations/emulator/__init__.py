"""A local stand-in for the AccuKnox SaaS alerts API, and the events it serves.

``generator`` makes realistic, seeded KubeArmor alert rows (SaaS-enriched) and
telemetry logs; ``server`` serves alert rows over HTTP on 127.0.0.1 with the
real API's paths, headers, validation, paging, late arrivals and injectable
faults. Used by tests, benchmarks and demos; never by the shipped poller.
"""

from integrations.emulator.generator import (
    ALERT_COVERAGE,
    DEFAULT_CLUSTERS,
    DEFAULT_TENANT,
    LOG_COVERAGE,
    LiveEventSource,
    generate_events,
    generate_logs,
)
from integrations.emulator.server import COUNT_PATH, EVENTS_PATH, AlertsEmulator, FaultSpec, RecordedRequest, Scripted

__all__ = [
    "ALERT_COVERAGE",
    "COUNT_PATH",
    "DEFAULT_CLUSTERS",
    "DEFAULT_TENANT",
    "EVENTS_PATH",
    "LOG_COVERAGE",
    "AlertsEmulator",
    "FaultSpec",
    "LiveEventSource",
    "RecordedRequest",
    "Scripted",
    "generate_events",
    "generate_logs",
]
