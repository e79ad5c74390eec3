"""Mapping throughput on the shared corpus repeated to N events, beside json.loads + json.dumps.

Usage: ``python -m bench.corpus_throughput [--events 100000] [--rounds 3]``.
Measures, in one process and one run, medians over rounds of:

* ``json``: ``json.loads`` + ``json.dumps`` of every input line (the baseline the
  foundation issue asks for);
* ``parse``: decode + normalise to the canonical event;
* ``ecs`` / ``cim``: decode + normalise + map + encode (the ``map`` command's work).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

from integrations.events import iter_parse
from integrations.jsoncodec import dumps
from integrations.mapping import Mapper
from integrations.model import ParsedEvent


def corpus_lines(shared: Path) -> List[bytes]:
    """Every JSON line of the real corpus files and the synthetic edge cases."""
    files = sorted(p for p in (shared / "corpus" / "real").glob("*.jsonl") if p.name != "provenance.jsonl")
    files.append(shared / "corpus" / "synthetic" / "synthetic-edge-cases.jsonl")
    return [line for f in files for line in f.read_bytes().splitlines() if line.strip()]


def _median_rate(fn: Callable[[], int], rounds: int) -> float:
    rates = []
    for _ in range(rounds):
        gc.collect()
        t0 = time.process_time()
        n = fn()
        rates.append(n / max(time.process_time() - t0, 1e-9))
    return statistics.median(rates)


def run(events: int, rounds: int, shared: Path) -> Dict[str, float]:
    """Events per CPU-second for each stage."""
    base = corpus_lines(shared)
    lines = (base * (events // len(base) + 1))[:events]
    blob = b"\n".join(lines) + b"\n"
    mapper = Mapper()

    def stdlib_json() -> int:
        for line in lines:
            json.dumps(json.loads(line))
        return len(lines)

    def parse() -> int:
        import io

        return sum(1 for item in iter_parse(io.BytesIO(blob), "bench") if isinstance(item, ParsedEvent))

    def mapped(view: Callable) -> Callable[[], int]:
        def fn() -> int:
            import io

            n = 0
            for item in iter_parse(io.BytesIO(blob), "bench"):
                if isinstance(item, ParsedEvent):
                    dumps(view(item))
                    n += 1
            return n

        return fn

    return {
        "json": _median_rate(stdlib_json, rounds),
        "parse": _median_rate(parse, rounds),
        "ecs": _median_rate(mapped(mapper.to_ecs), rounds),
        "cim": _median_rate(mapped(mapper.to_cim), rounds),
    }


def main(argv: List[str] | None = None) -> int:
    """Print the table (and JSON with --json)."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--shared", default=os.environ.get("ACCUKNOX_SHARED_DIR",
                                                      str(Path(__file__).resolve().parents[2] / "shared")))
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    res = run(a.events, a.rounds, Path(a.shared))
    if a.json:
        print(json.dumps(res))
        return 0
    print(f"corpus repeated to {a.events} events, median of {a.rounds} rounds, one core (events per CPU-second)")
    for k, v in res.items():
        print(f"  {k:6s} {v:12,.0f}/s   ({v / res['json']:.2f} x json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
