"""Peak RSS of a large backfill (default 1,000,000 events) into the file sink.

The emulator (its own process, :mod:`bench.servers`) serves the events evenly
spread over the 23 hours that end two minutes ago, i.e. a first run of
``pull`` with its default 24 h look-back: one-hour windows of about 43,000
events each, 1000-event pages, ``--map ecs`` into ``file:DIR``. The poller runs
in a child process (:mod:`bench.e2e`'s child) and reports its own peak resident
set size after the run (``VmHWM``, see :func:`bench.e2e.peak_rss_mb` for why not
``ru_maxrss``), and the peak it had before ``run_once`` started (interpreter,
libraries, mapper: the floor of any run). The emulator's memory is not counted:
it lives in its own process.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from bench.e2e import CLUSTERS, PAGE_SIZE, count_lines, run_child
from bench.servers import ServerProcess

#: Seconds the backfill's events are spread over (inside pull's default 24 h look-back).
SPAN = 23 * 3600


def run(events: int, workdir: Path, *, page_size: int = PAGE_SIZE,
        log: Optional[Callable[[str], Any]] = None) -> Dict[str, Any]:
    """Backfill ``events`` into a file sink; returns peak RSS and the run's costs."""
    say = log or (lambda msg: None)
    say(f"rss: starting the emulator with {events} events (generating them takes a while)")
    with ServerProcess("emulator", "--events", str(events), "--span", str(SPAN), "--page-size", str(page_size),
                       "--clusters", ",".join(CLUSTERS), "--seed", "11") as emu:
        say("rss: backfill running")
        wd = workdir / "rss"
        try:
            res = run_child(f"file:{wd / 'out'}", emu.url, wd, "--map", "ecs", page_size=page_size,
                            lookback=max(24 * 3600, emu.lookback()))
            received = count_lines(wd / "out")
        finally:
            shutil.rmtree(wd, ignore_errors=True)
    problems = []
    if not res.get("complete"):
        problems.append(f"run incomplete: {res.get('error')}")
    if res.get("delivered") != events or received != events:
        problems.append(f"delivered {res.get('delivered')} / written {received} of {events}")
    return {
        "events": events,
        "peak_rss_mb": res["peak_rss_mb"],
        "rss_before_run_mb": res["rss_before_run_mb"],
        "cpu_s": res["cpu_s"],
        "wall_s": res["wall_s"],
        "events_per_cpu_s": res["delivered"] / max(res["cpu_s"], 1e-9),
        "windows": res["windows"],
        "pages": res["pages"],
        "ok": not problems,
        "problems": problems,
    }
