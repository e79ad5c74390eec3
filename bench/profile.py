"""Where the time goes: cProfile summaries of ``map_ecs`` and of a poller run.

``accuknox-siem bench --profile`` profiles the ``map_ecs`` loop in process and
an extra, unmeasured run of each end-to-end row in its child (``--bench-profile``), and
reports for each:

* ``areas`` - share of the profiled time per area of the code (mapping, event
  parsing, JSON, HTTP client, sinks, poller loop, ...). Time spent inside C
  functions (``dict.get``, ``orjson.dumps``, ``str.join`` ...) is charged to the
  area of the Python function that called them, so "mapping" includes the
  dictionary work the generated mapping code does;
* ``top`` - the functions with the most own time.

Profiles count CPU time (``time.process_time``), not time spent waiting for a
socket. cProfile adds a per-call overhead that inflates code with many small calls (the
mapper) more than C-heavy code (JSON); use the shares to rank, and the
benchmark's own timings (without profiler) for the numbers.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple

Func = Tuple[str, int, str]

#: (area, test on "file:function") in order; the first match wins.
AREAS: Sequence[Tuple[str, Callable[[str], bool]]] = (
    ("mapping (integrations.mapping, generated code)", lambda s: "accuknox-mapping" in s or "/mapping/" in s),
    ("event parsing (integrations.events)", lambda s: "/events/" in s),
    ("event id (integrations.identity)", lambda s: "identity.py" in s),
    ("sinks (integrations.sinks)", lambda s: "/sinks/" in s),
    ("API client (integrations.poller.client)", lambda s: "poller/client.py" in s),
    ("poller loop and checkpoint (integrations.poller)", lambda s: "/poller/" in s or "views.py" in s),
    ("elasticsearch client", lambda s: "elasticsearch" in s or "elastic_transport" in s),
    ("HTTP (requests, urllib3, http.client, sockets)",
     lambda s: any(k in s for k in ("requests", "urllib3", "http/client", "socket", "ssl", "email/"))),
    ("JSON (orjson, json)", lambda s: "orjson" in s or "/json/" in s or "jsoncodec" in s),
    ("bench harness", lambda s: "/bench/" in s),
)


def _name(func: Func) -> str:
    filename, line, name = func
    if filename == "~":
        return name  # a C function: "<method 'get' of 'dict' objects>"
    return f"{filename}:{line}({name})"


def _area(func: Func) -> str:
    text = f"{func[0]}:{func[2]}"
    for area, test in AREAS:
        if test(text):
            return area
    return "other (interpreter, stdlib)"


def summarize(stats: pstats.Stats, top: int = 15) -> Dict[str, Any]:
    """Areas (C time charged to the calling Python function's area) and the top functions by own time."""
    raw: Dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1e-9
    areas: Dict[str, float] = {}
    for func, (_cc, _nc, tt, _ct, callers) in raw.items():
        if func[0] == "~" and callers:
            # a C function: split its own time over its callers' areas
            caller_tt = sum(c[2] for c in callers.values()) or 1e-9
            for caller, c in callers.items():
                area = _area(caller) if caller[0] != "~" else "other (interpreter, stdlib)"
                areas[area] = areas.get(area, 0.0) + tt * c[2] / caller_tt
        else:
            areas[_area(func)] = areas.get(_area(func), 0.0) + tt
    ranked = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    return {
        "total_s": round(total, 3),
        "areas": {k: round(v / total * 100, 1) for k, v in sorted(areas.items(), key=lambda kv: -kv[1])},
        "top": [{"function": _name(f), "calls": v[1], "own_pct": round(v[2] / total * 100, 1),
                 "cum_pct": round(v[3] / total * 100, 1)} for f, v in ranked],
    }


def profile_call(fn: Callable[[], Any], top: int = 15) -> Dict[str, Any]:
    """Run ``fn`` under cProfile (garbage collector off, as in the timed loops) and summarise."""
    prof = cProfile.Profile(time.process_time)
    gc.collect()
    gc.disable()
    try:
        prof.enable()
        fn()
        prof.disable()
    finally:
        gc.enable()
    return summarize(pstats.Stats(prof), top)


def summarize_file(path: str, top: int = 15) -> Dict[str, Any]:
    """Summary of a stats file written by a child (``--bench-profile``)."""
    return summarize(pstats.Stats(path), top)


def format_summary(title: str, summary: Dict[str, Any]) -> List[str]:
    """Text lines for the report."""
    lines = [f"{title} (profiled {summary['total_s']} s; shares of profiled time):"]
    for area, pct in summary["areas"].items():
        if pct >= 0.5:
            lines.append(f"  {pct:5.1f}%  {area}")
    lines.append("  top functions by own time:")
    for row in summary["top"]:
        fn = row["function"]
        if len(fn) > 100:
            fn = "..." + fn[-97:]
        lines.append(f"  {row['own_pct']:5.1f}%  {row['calls']:>9,}  {fn}")
    return lines
