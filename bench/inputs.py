"""The benchmark's own input: realistic events from the emulator's generator.

* :func:`micro_events` - what the micro benchmarks map: alert rows in the
  SaaS-enriched shape the AccuKnox API returns (every alert ``Type`` x
  ``Operation`` of :data:`~integrations.emulator.ALERT_COVERAGE`) with one
  ``ContainerLog``/``HostLog`` telemetry event in every five (every pair of
  :data:`~integrations.emulator.LOG_COVERAGE`), about 1.2 KB of JSON each;
* :func:`api_rows` - what the emulator serves to the end-to-end runs: alert
  rows only (the API has no telemetry), evenly spread over a closed time span
  that every poll window covers;
* :func:`describe` - count, mean size and Type/Operation coverage, printed with
  the results so a reader knows what was measured.

Deterministic: same arguments, same events (seeded generators, fixed start).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Sequence

from integrations.emulator import DEFAULT_CLUSTERS, generate_events, generate_logs
from integrations.jsoncodec import dumps

SEED = 7
#: Event times of the micro input (fixed, so the input is identical from run to run).
MICRO_START = 1_700_000_000.0
#: One telemetry event in every LOG_EVERY events of the micro input.
LOG_EVERY = 5


def micro_events(n: int, seed: int = SEED) -> List[Dict[str, Any]]:
    """``n`` events: alerts of every Type/Operation, every ``LOG_EVERY``-th a telemetry log."""
    n_logs = n // LOG_EVERY
    alerts = generate_events(n - n_logs, seed=seed, start=MICRO_START, rate=50.0)
    logs = generate_logs(n_logs, seed=seed, start=MICRO_START, rate=10.0)
    out: List[Dict[str, Any]] = []
    for i in range(n):
        ev = next(logs, None) if (i + 1) % LOG_EVERY == 0 else None
        out.append(ev if ev is not None else next(alerts))
    return out


def encode(events: Sequence[Dict[str, Any]]) -> List[bytes]:
    """One compact JSON document per event (the input lines of the micro benchmarks)."""
    return [dumps(ev) for ev in events]


def api_rows(n: int, *, end: float, span: float, seed: int = SEED,
             clusters: Sequence[str] = DEFAULT_CLUSTERS) -> List[Dict[str, Any]]:
    """``n`` alert rows evenly spread over ``[end - span, end)`` (epoch seconds)."""
    return list(generate_events(n, seed=seed, start=end - span, rate=n / span, regular=True, clusters=clusters))


def describe(events: Sequence[Dict[str, Any]], lines: Sequence[bytes] = ()) -> Dict[str, Any]:
    """Count, mean encoded size and the Type/Operation pairs covered."""
    if not lines:
        lines = encode(events)
    pairs = Counter(f"{ev.get('Type')}/{ev.get('Operation')}" for ev in events)
    return {
        "events": len(events),
        "mean_bytes": round(sum(map(len, lines)) / max(len(lines), 1), 1),
        "type_operation_pairs": len(pairs),
        "types": sorted({str(ev.get("Type")) for ev in events}),
        "operations": sorted({str(ev.get("Operation")) for ev in events}),
    }
