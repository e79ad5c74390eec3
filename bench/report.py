"""The result: one table for people, one JSON document for machines.

JSON keys (``accuknox-siem bench --json``), every one always present (``null``
when its row was not run):

* ``ratios``: ``map_ecs/floor``, ``map_ecs/naive``, ``map_cim/floor``, ``map_cim/naive``,
  ``literal/floor``, ``map_ecs/literal``,
  ``e2e_file/e2e_raw`` (events per CPU-second of one row over another, from the same run);
* ``e2e_per_cpu_s`` / ``e2e_per_wall_s``: ``e2e_file``, ``e2e_es``, ``e2e_hec``, ``e2e_raw``
  (events per poller CPU-second / per wall second);
* ``peak_rss_mb`` and ``rss_events``: peak RSS of the backfill and its size;
* ``targets``: each target of the issue with the measured value and ``met``
  (``null`` when not measured, e.g. the RSS target after a backfill smaller than
  1,000,000 events);
* ``micro``, ``breakdown_us``, ``e2e``, ``scale``, ``rss``, ``profile``: the details;
* ``meta``: versions, CPU count, load average before and after, arguments;
* ``ok``: every run delivered every event exactly once.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

#: The issue's targets: (name, metric key, comparison, goal, text).
TARGETS = (
    ("map_ecs >= 0.40 x floor", "map_ecs/floor", ">=", 0.40),
    ("map_ecs >= 6 x naive", "map_ecs/naive", ">=", 6.0),
    ("map_cim >= 0.50 x floor", "map_cim/floor", ">=", 0.50),
    ("e2e_file >= 35,000 events/CPU-s", "e2e_file", ">=", 35_000),
    ("e2e_es >= 35,000 events/CPU-s", "e2e_es", ">=", 35_000),
    ("e2e_hec >= 70,000 events/CPU-s", "e2e_hec", ">=", 70_000),
    ("peak RSS <= 100 MB (1,000,000-event backfill)", "peak_rss_mb", "<=", 100.0),
)
RSS_TARGET_EVENTS = 1_000_000


def _ratio(a: Optional[Dict[str, Any]], b: Optional[Dict[str, Any]]) -> Optional[float]:
    if not a or not b or not b.get("events_per_cpu_s"):
        return None
    return a["events_per_cpu_s"] / b["events_per_cpu_s"]


def _bounds(micro: Dict[str, Any], breakdown: Dict[str, float], per_cpu: Dict[str, Optional[float]],
            ) -> Dict[str, Dict[str, Any]]:
    """For each speed target, the best any implementation of this output reaches, measured in this run.

    * map_ecs: the ``literal`` row (the same document from one dict literal, no
      logic): no pure-Python mapper of this document is faster;
    * map_cim: decode + normalise alone (stages of the breakdown), before any mapping or encoding;
    * e2e_file, e2e_hec (both map to ECS): ``e2e_raw``, the poller with every step but the
      mapping (e2e_es in pipeline mode does not map: no bound of this kind).
    """
    out: Dict[str, Dict[str, Any]] = {}
    lit = _ratio(micro.get("literal"), micro.get("floor"))
    if lit is not None:
        out["map_ecs/floor"] = {"value": lit, "by": "literal"}
    lit_naive = _ratio(micro.get("literal"), micro.get("naive"))
    if lit_naive is not None:
        out["map_ecs/naive"] = {"value": lit_naive, "by": "literal"}
    floor = micro.get("floor")
    parse_us = (breakdown or {}).get("decode", 0.0) + (breakdown or {}).get("normalize", 0.0)
    if floor and floor.get("us_per_event") and parse_us > 0:
        out["map_cim/floor"] = {"value": floor["us_per_event"] / parse_us, "by": "decode+normalize"}
    raw = per_cpu.get("e2e_raw")
    if raw:
        for key in ("e2e_file", "e2e_hec"):
            out[key] = {"value": raw, "by": "e2e_raw"}
    return out


def build(meta: Dict[str, Any], inputs: Dict[str, Any], micro: Dict[str, Any], breakdown: Dict[str, float],
          e2e: Dict[str, Any], rss: Optional[Dict[str, Any]], profile: Dict[str, Any]) -> Dict[str, Any]:
    """Assemble the JSON result."""
    ratios = {
        "map_ecs/floor": _ratio(micro.get("map_ecs"), micro.get("floor")),
        "map_ecs/naive": _ratio(micro.get("map_ecs"), micro.get("naive")),
        "map_cim/floor": _ratio(micro.get("map_cim"), micro.get("floor")),
        "map_cim/naive": _ratio(micro.get("map_cim"), micro.get("naive")),
        # how far a mapper with no logic at all (one dict literal of the same document) gets here
        "literal/floor": _ratio(micro.get("literal"), micro.get("floor")),
        "map_ecs/literal": _ratio(micro.get("map_ecs"), micro.get("literal")),
        # the share of the poller's floor (everything but mapping) that is left once it maps
        "e2e_file/e2e_raw": _ratio(e2e.get("e2e_file"), e2e.get("e2e_raw")),
    }
    rows = ("e2e_file", "e2e_es", "e2e_hec", "e2e_raw")
    per_cpu = {r: (e2e[r]["events_per_cpu_s"] if r in e2e else None) for r in rows}
    per_wall = {r: (e2e[r]["events_per_wall_s"] if r in e2e else None) for r in rows}
    peak = rss["peak_rss_mb"] if rss else None
    values: Dict[str, Any] = {**ratios, **per_cpu, "peak_rss_mb": peak}
    bounds = _bounds(micro, breakdown, per_cpu)
    targets = []
    for text, key, op, goal in TARGETS:
        measured = values.get(key)
        met: Optional[bool] = None
        if measured is not None and not (key == "peak_rss_mb" and rss and rss["events"] < RSS_TARGET_EVENTS):
            met = measured >= goal if op == ">=" else measured <= goal
        targets.append({"target": text, "metric": key, "goal": goal, "measured": measured, "met": met,
                        "bound": bounds.get(key)})
    ok = all(v.get("ok", True) for v in e2e.values()) and (rss is None or rss.get("ok", False))
    return {
        "meta": meta,
        "input": inputs,
        "ratios": ratios,
        "e2e_per_cpu_s": per_cpu,
        "e2e_per_wall_s": per_wall,
        "peak_rss_mb": peak,
        "rss_events": rss["events"] if rss else None,
        "targets": targets,
        "micro": micro,
        "breakdown_us": breakdown,
        "e2e": {k: v for k, v in e2e.items() if k != "scale"},
        "scale": e2e.get("scale"),
        "rss": rss,
        "profile": profile,
        "ok": ok,
    }


def _n(x: Optional[float], digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def table(result: Dict[str, Any]) -> str:
    """The human-readable report."""
    meta, micro, e2e = result["meta"], result["micro"], result["e2e"]
    inp = result["input"]
    out: List[str] = []
    out.append(f"accuknox-siem bench  {meta['started']}  ({'quick' if meta['quick'] else 'full'} run)")
    out.append("  " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    out.append(f"  {meta['cpus']} CPUs, load average {meta['load_before']} before, {meta['load_after']} after "
               f"(shared machine: compare rows of the same run)")
    if inp.get("micro"):
        m = inp["micro"]
        out.append(f"  micro input: {m['events']:,} events, mean {m['mean_bytes']:,.0f} B, "
                   f"{m['type_operation_pairs']} Type/Operation pairs ({', '.join(m['types'])})")
    if inp.get("e2e_events"):
        out.append(f"  e2e input: {inp['e2e_events']:,} alert rows from the emulator, "
                   f"{inp['page_size']}-event pages; medians of {meta['rounds']} rounds")
    out.append("")
    head = f"{'row':<10} {'events/CPU-s':>13} {'events/wall-s':>14} {'us/event':>9} {'spread':>7} " \
           f"{'x floor':>8} {'x naive':>8}"
    out.append(head)
    out.append("-" * len(head))
    floor = micro.get("floor")
    naive = micro.get("naive")
    for name in ("floor", "naive", "map_ecs", "map_cim", "literal"):
        r = micro.get(name)
        if not r:
            continue
        xf = _ratio(r, floor)
        xn = _ratio(r, naive)
        spread = f"{r['spread'] * 100:.0f}%" if r.get("spread") is not None else "-"
        out.append(f"{name:<10} {_n(r['events_per_cpu_s']):>13} {_n(r['events_per_wall_s']):>14} "
                   f"{_n(r['us_per_event'], 1):>9} {spread:>7} {_n(xf, 3):>8} {_n(xn, 2):>8}")
    for name in ("e2e_file", "e2e_es", "e2e_hec", "e2e_raw"):
        r = e2e.get(name)
        if not r:
            continue
        rates = r["rounds"]
        spread = f"{(max(rates) - min(rates)) / r['events_per_cpu_s'] * 100:.0f}%" if rates else "-"
        flag = "" if r.get("ok") else "  FAILED: " + "; ".join(r.get("problems", []))
        out.append(f"{name:<10} {_n(r['events_per_cpu_s']):>13} {_n(r['events_per_wall_s']):>14} "
                   f"{_n(r['us_per_event_cpu'], 1):>9} {spread:>7} {'':>8} {'':>8}  {r['sink']}{flag}")
    raw_share = result["ratios"].get("e2e_file/e2e_raw")
    if raw_share:
        out.append(f"{'':<10} e2e_file runs at {raw_share:.0%} of e2e_raw: the mapping takes "
                   f"{1 - raw_share:.0%} of the poller's CPU per event")
    scale = result.get("scale")
    if scale:
        single = e2e.get("e2e_file", {}).get("events_per_wall_s")
        gain = f"{scale['events_per_wall_s'] / single:.2f} x one poller's" if single else ""
        flag = "" if scale.get("ok") else "  FAILED: " + "; ".join(scale.get("problems", []))
        out.append(f"{'scale':<10} {_n(scale['events_per_cpu_s']):>13} {_n(scale['events_per_wall_s']):>14} "
                   f"{'':>9} {'':>7} {'':>8} {'':>8}  2 pollers, --cluster-id halves "
                   f"{scale['partitions']}, wall rate {gain}{flag}")
    rss = result.get("rss")
    if rss:
        flag = "" if rss.get("ok") else "  FAILED: " + "; ".join(rss.get("problems", []))
        out.append(f"{'rss':<10} peak {rss['peak_rss_mb']:.1f} MB for a {rss['events']:,}-event backfill into "
                   f"the file sink ({rss['windows']} windows, {rss['pages']} pages; "
                   f"{rss['rss_before_run_mb']:.1f} MB before the run; "
                   f"{_n(rss['events_per_cpu_s'])} events/CPU-s){flag}")
    bd = result.get("breakdown_us")
    if bd:
        out.append("")
        out.append("map_ecs / map_cim stage by stage (CPU us per event): "
                   + " | ".join(f"{k} {v:.1f}" for k, v in bd.items()))
    out.append("")
    out.append("targets (one core, ratios from this run):")
    for t in result["targets"]:
        met = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        measured = t["measured"]
        shown = "-" if measured is None else (f"{measured:.3f}" if measured < 100 else f"{measured:,.0f}")
        if t["metric"] == "peak_rss_mb" and measured is not None:
            shown = f"{measured:.1f} MB"
            if result.get("rss_events") and result["rss_events"] < RSS_TARGET_EVENTS:
                shown += f" (only {result['rss_events']:,} events)"
        bound = t.get("bound")
        limit = ""
        if bound and t["met"] is False:
            v = bound["value"]
            limit = f"  (no faster than {bound['by']} here: {v:.3f})" if v < 100 else \
                f"  (no faster than {bound['by']} here: {v:,.0f})"
        out.append(f"  {t['target']:<48} {shown:>22}  {met}{limit}")
    prof = result.get("profile") or {}
    if prof:
        from bench.profile import format_summary

        for name, summary in prof.items():
            out.append("")
            out.extend(format_summary(f"profile of {name}", summary))
    if not result["ok"]:
        out.append("")
        out.append("SOME RUNS DID NOT DELIVER EVERY EVENT EXACTLY ONCE (see FAILED above)")
    return "\n".join(out)
