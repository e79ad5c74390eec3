"""Soak mode of the fault scenarios: as many as fit in a set time.

    python -m tests.reliability.soak --minutes 30 --seed N [--report PATH] [--sinks file,es,hec]

Runs :func:`tests.reliability.scenarios.run_scenario` for seeds ``N, N+1, ...``
cycling through the sinks until the time is up (a scenario started before the
deadline finishes). Prints a progress line every minute and, at the end, the
scenario count, faults injected per kind, events moved, dead-lettered, lost
and duplicated (both must be 0), HEC copies re-delivered after a lost or
missing acknowledgement (counted, not duplicates), and every failing scenario
with the seed that repeats it (``--seed S --count 1 --sinks K``). Exit status 1
when any scenario failed.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import sys
import time
import traceback
from typing import Any, Dict, List

from tests.reliability.scenarios import SINKS, ScenarioFailure, run_scenario


def _kind(error: str) -> str:
    """A short class of a failure message, for the summary."""
    tail = error.split("] ", 1)[-1]
    for needle in ("duplicate", "lost", "checkpoint passed", "no completing run", "dead-letter", "never generated",
                   "behind high_water"):
        if needle in tail:
            return needle + (" (high_water moved back)" if "moved back" in tail else "")
    return tail[:60]


def main(argv: Any = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.reliability.soak")
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=int(time.time()) % 1_000_000)
    p.add_argument("--count", type=int, default=0, help="stop after this many scenarios (0: only the time)")
    p.add_argument("--sinks", default=",".join(SINKS))
    p.add_argument("--report", default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    sinks = [s for s in args.sinks.split(",") if s]
    logging.basicConfig(level=logging.CRITICAL)  # the poller's retry warnings would drown the output
    print(f"soak: seed={args.seed} minutes={args.minutes:g} sinks={','.join(sinks)}", flush=True)
    deadline = time.monotonic() + args.minutes * 60
    totals: collections.Counter = collections.Counter()
    faults: collections.Counter = collections.Counter()
    per_sink: Dict[str, collections.Counter] = {s: collections.Counter() for s in sinks}
    failures: List[Dict[str, Any]] = []
    n = 0
    next_report = time.monotonic() + 60
    while time.monotonic() < deadline and (not args.count or n < args.count):
        seed = args.seed + n // len(sinks)
        kind = sinks[n % len(sinks)]
        n += 1
        try:
            r = run_scenario(seed, kind)
        except ScenarioFailure as exc:
            failures.append({"seed": seed, "sink": kind, "error": str(exc)[:2000]})
            print(f"FAIL seed={seed} sink={kind}: {str(exc)[:2000]}", flush=True)
            continue
        except Exception as exc:  # noqa: BLE001 - a crash of the harness or the poller: report, go on
            failures.append({"seed": seed, "sink": kind, "error": f"{type(exc).__name__}: {exc}",
                             "traceback": traceback.format_exc()[-3000:]})
            print(f"ERROR seed={seed} sink={kind}: {traceback.format_exc()[-3000:]}", flush=True)
            continue
        faults.update(r["faults"])
        totals["high_water_regressions"] += r["high_water_regressions"]
        for key in ("generated", "moved", "dead_lettered", "lost", "duplicated", "redelivered_after_lost_ack",
                    "already_in_sink_409", "runs", "complete_runs"):
            totals[key] += r[key]
            per_sink[kind][key] += r[key]
        totals["scenarios"] += 1
        per_sink[kind]["scenarios"] += 1
        if time.monotonic() >= next_report:
            next_report += 60
            print(f"progress: scenarios={totals['scenarios']} moved={totals['moved']} lost={totals['lost']} "
                  f"duplicated={totals['duplicated']} failures={len(failures)}", flush=True)
    report = {"seed": args.seed, "scenarios": totals["scenarios"], "failures": len(failures),
              "events_generated": totals["generated"], "events_moved": totals["moved"],
              "dead_lettered": totals["dead_lettered"], "lost": totals["lost"], "duplicated": totals["duplicated"],
              "hec_redelivered_after_lost_ack": totals["redelivered_after_lost_ack"],
              "es_already_in_sink_409": totals["already_in_sink_409"], "poll_runs": totals["runs"],
              "high_water_regressions_in_passing_scenarios": totals["high_water_regressions"],
              "failure_kinds": dict(collections.Counter(f"{f['sink']}: {_kind(f['error'])}" for f in failures)),
              "faults": dict(sorted(faults.items())), "faults_total": sum(faults.values()),
              "per_sink": {k: dict(v) for k, v in per_sink.items()}, "failed": failures[:50]}
    print(json.dumps(report, indent=1), flush=True)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1)
    ok = not failures and totals["lost"] == 0 and totals["duplicated"] == 0 and totals["scenarios"] > 0
    print(f"soak {'PASSED' if ok else 'FAILED'}: {totals['scenarios']} scenarios, seed {args.seed}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
