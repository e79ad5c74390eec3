"""The report's targets: met or not, and for speed targets the bound measured in the same run."""

from __future__ import annotations

from typing import Any, Dict

from bench import report


def _row(rate: float) -> Dict[str, Any]:
    return {"events_per_cpu_s": rate, "events_per_wall_s": rate, "us_per_event": 1e6 / rate, "spread": 0.1}


def _result() -> Dict[str, Any]:
    micro = {"floor": _row(100_000), "naive": _row(3_000), "map_ecs": _row(8_000), "map_cim": _row(20_000),
             "literal": _row(40_000)}
    breakdown = {"decode": 6.0, "normalize": 10.0, "to_ecs": 60.0}
    e2e = {name: {"events_per_cpu_s": rate, "events_per_wall_s": rate, "ok": True, "rounds": [rate],
                  "us_per_event_cpu": 1e6 / rate, "sink": "file"}
           for name, rate in (("e2e_file", 4_000), ("e2e_es", 13_000), ("e2e_hec", 3_900), ("e2e_raw", 17_000))}
    rss = {"events": 1_000_000, "peak_rss_mb": 90.0, "ok": True, "windows": 24, "pages": 1000,
           "rss_before_run_mb": 38.0, "events_per_cpu_s": 4_000}
    meta = {"started": "2026-11-27T00:00:00Z", "quick": False, "versions": {"python": "3.11"}, "cpus": 2,
            "load_before": "0.1", "load_after": "0.1", "rounds": 3}
    return report.build(meta, {}, micro, breakdown, e2e, rss, {})


def test_targets_carry_the_bound_of_this_run() -> None:
    targets = {t["metric"]: t for t in _result()["targets"]}
    assert targets["map_ecs/floor"]["met"] is False
    assert targets["map_ecs/floor"]["bound"] == {"value": 0.4, "by": "literal"}
    assert abs(targets["map_ecs/naive"]["bound"]["value"] - 40_000 / 3_000) < 1e-9
    # decode + normalise take 16 us where the floor takes 10: at most 0.625 x floor
    assert targets["map_cim/floor"]["bound"] == {"value": 10.0 / 16.0, "by": "decode+normalize"}
    assert targets["e2e_file"]["bound"] == {"value": 17_000, "by": "e2e_raw"}
    assert targets["e2e_hec"]["bound"]["value"] == 17_000
    assert targets["e2e_es"]["bound"] is None  # pipeline mode does not map: no such bound
    assert targets["peak_rss_mb"]["met"] is True and targets["peak_rss_mb"]["bound"] is None


def test_table_names_the_bound_of_an_unmet_target() -> None:
    text = report.table(_result())
    line = next(x for x in text.splitlines() if x.strip().startswith("map_ecs >= 0.40 x floor"))
    assert "NOT met" in line and "no faster than literal here: 0.400" in line
    line = next(x for x in text.splitlines() if x.strip().startswith("peak RSS"))
    assert "met" in line and "no faster" not in line
