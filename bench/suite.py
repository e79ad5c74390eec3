"""The benchmark suite behind ``accuknox-siem bench`` (also ``python -m bench``).

Runs, in one invocation and on input it generates itself:

=============  ==========================================================  ==================
row            what                                                        module
=============  ==========================================================  ==================
floor          orjson decode + encode, no mapping                          :mod:`bench.micro`
naive          stdlib json + straightforward dict-by-dict ECS mapping      :mod:`bench.naive`
map_ecs        decode + normalise + ``Mapper().to_ecs`` + encode           :mod:`bench.micro`
map_cim        decode + normalise + ``Mapper().to_cim`` + encode           :mod:`bench.micro`
literal        decode + one dict literal of the same document + encode     :mod:`bench.literal`
e2e_file       emulator -> pull -> file sink (1000-event pages)            :mod:`bench.e2e`
e2e_es         emulator -> pull -> fake Elasticsearch                      :mod:`bench.e2e`
e2e_hec        emulator -> pull -> fake Splunk HEC                         :mod:`bench.e2e`
e2e_raw        emulator -> pull --map raw -> file sink: all but mapping    :mod:`bench.e2e`
scale          two pollers partitioned by ``--cluster-id``, at once       :mod:`bench.e2e`
rss            peak RSS of a 1,000,000-event backfill into the file sink   :mod:`bench.rss`
=============  ==========================================================  ==================

and prints a table (:mod:`bench.report`), or JSON with ``--json``. The suite
measures and reports; it asserts nothing about speed (the CI smoke test only
checks that it runs and that its JSON is complete).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

ROWS = ("floor", "naive", "map_ecs", "map_cim", "literal", "e2e_file", "e2e_es", "e2e_hec", "e2e_raw", "scale", "rss")
GROUPS = {
    "micro": ("floor", "naive", "map_ecs", "map_cim", "literal"),
    "e2e": ("e2e_file", "e2e_es", "e2e_hec", "e2e_raw"),
}

from integrations.commands.bench import FULL, QUICK, add_arguments  # noqa: E402 - the CLI owns the options

__all__ = ["FULL", "QUICK", "ROWS", "add_arguments", "main", "run", "run_suite", "selected"]


def selected(only: Optional[Sequence[str]]) -> List[str]:
    """Row names from ``--only`` values (repeatable, comma-separated, groups ``micro``/``e2e``)."""
    if not only:
        return list(ROWS)
    names: List[str] = []
    for value in only:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if part in GROUPS:
                names.extend(GROUPS[part])
            elif part in ROWS:
                names.append(part)
            else:
                raise ValueError(f"unknown benchmark {part!r}; known: {', '.join(ROWS + tuple(GROUPS))}")
    return [n for n in ROWS if n in names]


def _versions() -> Dict[str, str]:
    from importlib import metadata

    from integrations import __version__

    out = {"python": platform.python_version(), "accuknox-siem": __version__}
    for dist in ("orjson", "requests", "urllib3", "elasticsearch", "elastic-transport", "isal", "PyYAML"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    from integrations.sinks.compression import IMPLEMENTATION

    out["gzip"] = IMPLEMENTATION
    return out


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"


def run_suite(*, quick: bool = False, events: Optional[int] = None, e2e_events: Optional[int] = None,
              rss_events: Optional[int] = None, rounds: Optional[int] = None, only: Optional[Sequence[str]] = None,
              page_size: int = 1000, profile: bool = False, workdir: Optional[str] = None,
              log: Optional[Callable[[str], Any]] = None) -> Dict[str, Any]:
    """Run the selected rows and return the JSON result (see :mod:`bench.report`)."""
    from bench import e2e as e2e_mod
    from bench import inputs, micro, report
    from bench import rss as rss_mod
    from bench.servers import ROOT

    say = log or (lambda msg: None)
    defaults = QUICK if quick else FULL
    n_micro = events or defaults[0]
    n_e2e = e2e_events or events or defaults[1]
    n_rss = rss_events or defaults[2]
    n_rounds = rounds or defaults[3]
    names = selected(only)
    meta = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick, "rounds": n_rounds, "rows": names,
        "versions": _versions(), "json_library": micro.json_library(),
        "cpus": os.cpu_count(), "platform": platform.platform(), "load_before": _load(),
    }
    input_info: Dict[str, Any] = {}
    micro_res: Dict[str, Any] = {}
    breakdown: Dict[str, float] = {}
    prof: Dict[str, Any] = {}
    micro_names = [n for n in names if n in GROUPS["micro"]]
    if micro_names:
        from integrations.mapping import Mapper

        say(f"micro: generating {n_micro} events")
        events_list = inputs.micro_events(n_micro)
        lines = inputs.encode(events_list)
        input_info["micro"] = inputs.describe(events_list, lines)
        del events_list
        mapper = Mapper()
        say(f"micro: {', '.join(micro_names)} x {n_rounds} rounds")
        micro_res = micro.run(lines, n_rounds, micro_names, mapper)
        if "map_ecs" in micro_names or "map_cim" in micro_names:
            breakdown = micro.breakdown(lines, mapper)
        if profile and "map_ecs" in micro_names:
            from bench.profile import profile_call

            say("micro: profiling map_ecs")
            run_ecs = micro._mapped_fn(lines, mapper.to_ecs)
            prof["map_ecs"] = profile_call(run_ecs)
        del lines
    e2e_names = [n for n in names if n in GROUPS["e2e"] or n == "scale"]
    e2e_res: Dict[str, Any] = {}
    rss_res: Optional[Dict[str, Any]] = None
    fakes_ok = (ROOT / "tests" / "support" / "fake_es.py").is_file()
    if not fakes_ok and any(n in ("e2e_es", "e2e_hec") for n in e2e_names):  # the fakes live in tests/
        say("e2e: tests/support (the fake Elasticsearch and HEC) is not in this tree: skipping e2e_es and e2e_hec")
        e2e_names = [n for n in e2e_names if n not in ("e2e_es", "e2e_hec")]
    with tempfile.TemporaryDirectory(prefix="accuknox-bench-", dir=workdir) as tmp:
        if e2e_names:
            input_info["e2e_events"] = n_e2e
            input_info["page_size"] = page_size
            profile_dir = Path(tmp) / "profiles" if profile else None
            if profile_dir is not None:
                profile_dir.mkdir()
            e2e_res = e2e_mod.run(e2e_names, n_e2e, n_rounds, Path(tmp), page_size=page_size,
                                  profile_dir=profile_dir, log=say)
            if profile_dir is not None:
                from bench.profile import summarize_file

                for f in sorted(profile_dir.glob("*.pstats")):
                    prof[f"{f.stem} (poller process)"] = summarize_file(str(f))
        if "rss" in names:
            rss_res = rss_mod.run(n_rss, Path(tmp), page_size=page_size, log=say)
    meta["load_after"] = _load()
    return report.build(meta, input_info, micro_res, breakdown, e2e_res, rss_res, prof)


def run(args: Any) -> int:
    """Run with parsed arguments; exit status 0, or 1 when a run lost or duplicated events."""
    def say(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    try:
        result = run_suite(quick=args.quick, events=args.events, e2e_events=args.e2e_events,
                           rss_events=args.rss_events, rounds=args.rounds, only=args.only,
                           page_size=args.page_size, profile=args.profile, workdir=args.workdir, log=say)
    except ValueError as exc:
        print(f"accuknox-siem bench: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(result, indent=2, default=str)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    if args.json:
        print(text)
    else:
        from bench.report import table

        print(table(result))
    return 0 if result["ok"] else 1


def main(argv: Optional[List[str]] = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m bench", description="AccuKnox SIEM integrations benchmark suite")
    add_arguments(p)
    return run(p.parse_args(argv))
