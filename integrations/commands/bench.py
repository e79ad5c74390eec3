"""``accuknox-siem bench``: the benchmark suite (``bench/`` at the root of the source repository).

The suite itself is not part of the installed package: it generates its own
input, starts the emulator and fake sinks in processes of their own and uses the
test fakes under ``tests/support``, so it runs from a clone
(``pip install -e .`` then ``accuknox-siem bench``). This module only defines
the options and finds the suite; without a clone it says so and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Optional

#: (micro events, e2e events, rss events, rounds) of a full and a ``--quick`` run
FULL = (50_000, 100_000, 1_000_000, 3)
QUICK = (5_000, 10_000, 20_000, 3)

NOT_AVAILABLE = (
    "accuknox-siem bench: the benchmark suite is not available in this installation.\n"
    "It lives in bench/ at the root of the source repository (next to integrations/ and tests/)\n"
    "and is not installed with the package. Run it from a clone:\n"
    "    pip install -e . && accuknox-siem bench     (from the repository root)\n"
    "or: python -m bench"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``bench`` (cheap: nothing is imported here)."""
    p.add_argument("--quick", action="store_true",
                   help=f"small inputs (micro {QUICK[0]:,}, e2e {QUICK[1]:,}, rss {QUICK[2]:,} events): "
                        "checks that the suite runs; the numbers are rough")
    p.add_argument("--json", action="store_true", help="print the machine-readable result instead of the table")
    p.add_argument("--events", type=int, metavar="N",
                   help=f"events per micro and per e2e run (default {FULL[0]:,} and {FULL[1]:,})")
    p.add_argument("--e2e-events", type=int, metavar="N", help="events per e2e run (overrides --events)")
    p.add_argument("--rss-events", type=int, metavar="N",
                   help=f"events of the peak-RSS backfill (default {FULL[2]:,})")
    p.add_argument("--rounds", type=int, metavar="R", help=f"rounds per row, medians reported (default {FULL[3]})")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only these rows (repeat or comma-separate): floor, naive, map_ecs, map_cim, literal, "
                        "e2e_file, e2e_es, e2e_hec, e2e_raw, scale, rss, or the groups micro / e2e")
    p.add_argument("--page-size", type=int, default=1000, metavar="N",
                   help="API page size of the e2e runs (default 1000; the emulator serves such pages and the "
                        "client is told to allow them with AlertsClient(max_page_size=...))")
    p.add_argument("--profile", action="store_true",
                   help="also profile map_ecs and one extra (unmeasured) run of each e2e row: where the time goes")
    p.add_argument("--output", metavar="FILE", help="also write the JSON result to FILE")
    p.add_argument("--workdir", metavar="DIR", help="directory for temporary files (default: the system's)")


def find_suite() -> Optional[ModuleType]:
    """``bench.suite`` from the repository this package was installed from (editable install), or None."""
    root = Path(__file__).resolve().parents[2]
    if (root / "bench" / "suite.py").is_file() and (root / "integrations").is_dir():
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        existing = sys.modules.get("bench")
        if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve().parent != root / "bench":
            return None  # another package called "bench" is already imported
    try:
        return importlib.import_module("bench.suite")
    except ImportError:
        return None


def run(args: argparse.Namespace) -> int:
    """Run the suite; 0 when every run delivered every event exactly once, 1 otherwise, 2 when unavailable."""
    suite = find_suite()
    if suite is None or not hasattr(suite, "run_suite"):
        print(NOT_AVAILABLE, file=sys.stderr)
        return 2
    return int(suite.run(args))
