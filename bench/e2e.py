"""End to end over loopback: emulator -> ``pull`` -> sink, with the poller in its own process.

Rows (each a fresh checkpoint and destination, all with 1000-event pages):

* ``e2e_file`` - ``file:DIR`` (NDJSON, ``--map ecs``, fsync per batch);
* ``e2e_es``   - ``es:URL`` into the fake Elasticsearch (default ``pipeline`` mode:
  raw events, ``create`` with ``_id``); a new data stream namespace per round;
* ``e2e_hec``  - ``hec:URL`` into the fake HEC (``--map ecs``, gzip level 1);
* ``e2e_raw``  - ``file:DIR`` with ``--map raw``: every step but the mapping
  (fetch, decode, parse, event id, de-duplication, checkpoint, encode, fsync),
  i.e. the poller's floor: no mapper can make ``e2e_file`` faster than this.

The emulator and the fake sinks run in processes of their own
(:mod:`bench.servers`); the poller runs in a child process started as

    python -m bench.e2e child <the flags of ``accuknox-siem pull``> --bench-page-size 1000

which builds the poller exactly like ``pull`` does (``build_poller``), but with
``AlertsClient(max_page_size=1000)`` and a 1000-row ``page_size`` (``pull``
itself accepts at most 100, the limit of the real API). The child measures its
own CPU time (``time.process_time``) and wall time around ``Poller.run_once``
and reports them with the run summary and its peak RSS as one JSON line. Rates
are events delivered per poller CPU-second and per wall second; the median over
rounds is reported. Every run is checked: all events delivered, none rejected,
and the destination received exactly that many.

``scale`` runs two pollers at once, each with its own state and output
directory and ``--cluster-id`` filters that split the emulator's clusters in two:
the partitioned set-up of README "Scaling beyond one core". It reports the
aggregate events per wall second next to the single poller's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bench.servers import TENANT, ServerProcess, child_env

ROWS = ("e2e_file", "e2e_es", "e2e_hec", "e2e_raw")
#: Cluster ids of the emulator's rows; ``scale`` gives each poller half of them.
CLUSTERS = ("3896", "4291", "16402", "20011")
#: Events are spread over this many seconds (two one-hour poll windows).
SPAN = 7200
PAGE_SIZE = 1000


# --------------------------------------------------------------------------- the child


def child(argv: Sequence[str]) -> int:
    """Run one poll like ``accuknox-siem pull --once`` and print a JSON line with its costs."""
    import cProfile
    import resource

    from integrations.commands import pull
    from integrations.config import resolve

    p = argparse.ArgumentParser(prog="python -m bench.e2e child")
    pull.add_arguments(p)
    p.add_argument("--bench-page-size", type=int, default=PAGE_SIZE)
    p.add_argument("--bench-profile", metavar="PATH", help="write cProfile stats of run_once here")
    args = p.parse_args(list(argv))
    flags = {k: v for k, v in vars(args).items() if not k.startswith("bench_")}
    cfg = resolve(flags, config_path=args.config)
    cfg.page_size = args.bench_page_size  # beyond pull's limit of 100: the emulator serves larger pages
    poller = pull.build_poller(cfg, max_page_size=args.bench_page_size)
    rss_before = peak_rss_mb()
    profiler = cProfile.Profile(time.process_time) if args.bench_profile else None  # CPU, not waiting
    c0, w0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    summary = poller.run_once()
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    poller.sink.close()
    poller.client.close()
    if profiler is not None:
        profiler.dump_stats(args.bench_profile)
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    print(json.dumps({
        "cpu_s": cpu, "wall_s": wall, "delivered": summary.delivered, "pulled": summary.pulled,
        "duplicates_dropped": summary.duplicates_dropped, "rejected": summary.rejected,
        "pages": summary.pages, "windows": summary.windows, "complete": summary.complete, "error": summary.error,
        "peak_rss_mb": peak_rss_mb(), "rss_before_run_mb": rss_before,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20,
    }), flush=True)
    return 0 if summary.complete else 1


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB.

    Linux: ``VmHWM`` of ``/proc/self/status``, the high-water mark of this
    process's own address space. ``getrusage().ru_maxrss`` is not used there:
    across ``fork``/``vfork`` + ``exec`` Linux carries the parent's peak into the
    child's ``ru_maxrss``, so a poller started by a large parent would report the
    parent's size. Elsewhere ``ru_maxrss`` (bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru / 2**20 if sys.platform == "darwin" else ru / 1024


def run_child(sink: str, emulator_url: str, workdir: Path, *extra: str, lookback: int, page_size: int = PAGE_SIZE,
              profile: Optional[str] = None, timeout: float = 7200.0, wait: bool = True) -> Any:
    """Start the poller child; returns its parsed JSON result (or the Popen when ``wait=False``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "bench.e2e", "child", "--once", "--no-progress", "--url", emulator_url,
           "--tenant-id", TENANT, "--sink", sink, "--state", str(workdir / "state.json"),
           "--dead-letter", str(workdir / "dead.ndjson"), "--lookback", f"{lookback}s",
           "--bench-page-size", str(page_size), *extra]
    if profile:
        cmd += ["--bench-profile", profile]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,  # noqa: S603
                            env=child_env(), cwd=str(workdir))
    if not wait:
        return proc
    return finish_child(proc, timeout)


def finish_child(proc: subprocess.Popen, timeout: float = 7200.0) -> Dict[str, Any]:
    """Wait for a child started with ``wait=False`` and parse its JSON line."""
    out, err = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"poller child failed (exit {proc.returncode}): {err[-3000:]}")
    result = json.loads(lines[-1])
    result["exit"] = proc.returncode
    if proc.returncode != 0:
        result.setdefault("error", err[-2000:])
    return result


def count_lines(directory: Path) -> int:
    """Lines in every NDJSON file under ``directory``."""
    n = 0
    for f in directory.glob("*.ndjson"):
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023 - fh is the loop's own
                n += block.count(b"\n")
    return n


# --------------------------------------------------------------------------- the parent


def _summarise(runs: List[Dict[str, Any]], expected: int) -> Dict[str, Any]:
    cpu_rates = [r["delivered"] / max(r["cpu_s"], 1e-9) for r in runs]
    wall_rates = [r["delivered"] / max(r["wall_s"], 1e-9) for r in runs]
    problems = [p for r in runs for p in r.get("problems", [])]
    return {
        "events": expected,
        "events_per_cpu_s": statistics.median(cpu_rates),
        "events_per_wall_s": statistics.median(wall_rates),
        "us_per_event_cpu": 1e6 / statistics.median(cpu_rates) if cpu_rates else None,
        "rounds": [round(x, 1) for x in cpu_rates],
        "wall_rounds": [round(x, 1) for x in wall_rates],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "pages": runs[-1]["pages"],
        "ok": not problems,
        "problems": problems,
    }


def _check(result: Dict[str, Any], expected: int, received: Optional[int]) -> List[str]:
    problems = []
    if not result.get("complete"):
        problems.append(f"run incomplete: {result.get('error')}")
    if result.get("delivered") != expected:
        problems.append(f"delivered {result.get('delivered')} of {expected}")
    if result.get("rejected"):
        problems.append(f"{result['rejected']} rejected")
    if received is not None and received != expected:
        problems.append(f"the destination received {received}, expected {expected}")
    return problems


def run(names: Sequence[str], events: int, rounds: int, workdir: Path, *, page_size: int = PAGE_SIZE,
        profile_dir: Optional[Path] = None, log: Any = None) -> Dict[str, Any]:
    """Run the e2e rows (and ``scale`` when named); medians over ``rounds``."""
    say = log or (lambda msg: None)
    wanted = [n for n in (*ROWS, "scale") if n in names]
    if not wanted:
        return {}
    servers: Dict[str, ServerProcess] = {}
    out: Dict[str, Any] = {}
    try:
        say(f"e2e: starting the emulator with {events} events")
        servers["emulator"] = ServerProcess("emulator", "--events", str(events), "--span", str(SPAN),
                                            "--page-size", str(page_size), "--clusters", ",".join(CLUSTERS))
        if "e2e_es" in wanted:
            servers["es"] = ServerProcess("es")
        if "e2e_hec" in wanted:
            servers["hec"] = ServerProcess("hec")
        emu = servers["emulator"].url
        runs: Dict[str, List[Dict[str, Any]]] = {n: [] for n in wanted}
        if profile_dir is not None:
            # an extra, unmeasured round under cProfile (which slows the poller several times over)
            for name in wanted:
                if name == "scale":
                    continue
                say(f"e2e: {name} profiled run (not counted)")
                wd = workdir / f"{name}-profile"
                sink = f"file:{wd / 'out'}" if name in ("e2e_file", "e2e_raw") else \
                    f"{'es' if name == 'e2e_es' else 'hec'}:{servers['es' if name == 'e2e_es' else 'hec'].url}"
                extra = ["--es-namespace", "benchprofile"] if name == "e2e_es" else \
                    ["--map", "raw" if name == "e2e_raw" else "ecs"]
                run_child(sink, emu, wd, *extra, page_size=page_size, lookback=servers["emulator"].lookback(),
                          profile=str(profile_dir / f"{name}.pstats"))
                shutil.rmtree(wd, ignore_errors=True)
        for r in range(max(1, rounds)):
            for name in wanted:
                say(f"e2e: {name} round {r + 1}/{rounds}")
                wd = workdir / f"{name}-r{r}"
                if name == "scale":
                    runs[name].append(_scale_round(emu, wd, events, page_size, servers["emulator"].lookback()))
                    shutil.rmtree(wd, ignore_errors=True)
                    continue
                if name in ("e2e_file", "e2e_raw"):
                    view = "ecs" if name == "e2e_file" else "raw"
                    res = run_child(f"file:{wd / 'out'}", emu, wd, "--map", view, page_size=page_size,
                                    lookback=servers["emulator"].lookback())
                    received: Optional[int] = count_lines(wd / "out")
                else:
                    fake = servers["es" if name == "e2e_es" else "hec"]
                    before = fake.stats()["docs"]
                    extra = ["--es-namespace", f"bench{r}"] if name == "e2e_es" else ["--map", "ecs"]
                    res = run_child(f"{'es' if name == 'e2e_es' else 'hec'}:{fake.url}", emu, wd, *extra,
                                    page_size=page_size, lookback=servers["emulator"].lookback())
                    received = fake.stats()["docs"] - before
                res["problems"] = _check(res, events, received)
                runs[name].append(res)
                shutil.rmtree(wd, ignore_errors=True)
        for name in wanted:
            if name == "scale":
                out[name] = _summarise_scale(runs[name], events)
            else:
                out[name] = _summarise(runs[name], events)
                out[name]["sink"] = {"e2e_file": "file (--map ecs)", "e2e_es": "es (pipeline mode, raw events)",
                                     "e2e_hec": "hec (--map ecs, gzip 1)",
                                     "e2e_raw": "file (--map raw): all but the mapping, the floor"}[name]
    finally:
        for s in servers.values():
            s.stop()
    return out


def _scale_round(emu: str, wd: Path, events: int, page_size: int, lookback: int) -> Dict[str, Any]:
    """Two partitioned pollers at once (half the clusters each), into two file sinks."""
    halves = (CLUSTERS[: len(CLUSTERS) // 2], CLUSTERS[len(CLUSTERS) // 2:])
    procs = []
    w0 = time.perf_counter()
    for i, half in enumerate(halves):
        part = wd / f"part{i}"
        extra = ["--map", "ecs"] + [a for c in half for a in ("--cluster-id", c)]
        procs.append((part, run_child(f"file:{part / 'out'}", emu, part, *extra, page_size=page_size,
                                      lookback=lookback, wait=False)))
    results = [finish_child(p) for _part, p in procs]
    wall = time.perf_counter() - w0
    received = sum(count_lines(part / "out") for part, _p in procs)
    delivered = sum(r["delivered"] for r in results)
    problems = [f"partition {i}: {r.get('error')}" for i, r in enumerate(results) if not r.get("complete")]
    if delivered != events or received != events:
        problems.append(f"delivered {delivered} / received {received} of {events}")
    return {"wall_s": wall, "cpu_s": sum(r["cpu_s"] for r in results), "delivered": delivered,
            "partitions": [r["delivered"] for r in results], "partition_wall_s": [r["wall_s"] for r in results],
            "problems": problems}


def _summarise_scale(runs: List[Dict[str, Any]], events: int) -> Dict[str, Any]:
    wall_rates = [r["delivered"] / max(r["wall_s"], 1e-9) for r in runs]
    cpu_rates = [r["delivered"] / max(r["cpu_s"], 1e-9) for r in runs]
    problems = [p for r in runs for p in r["problems"]]
    return {
        "events": events,
        "pollers": 2,
        "events_per_wall_s": statistics.median(wall_rates),
        "events_per_cpu_s": statistics.median(cpu_rates),
        "wall_rounds": [round(x, 1) for x in wall_rates],
        "partitions": runs[-1]["partitions"],
        "ok": not problems,
        "problems": problems,
    }


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["child"]:
        return child(argv[1:])
    p = argparse.ArgumentParser(prog="python -m bench.e2e")
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", action="append", default=None)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="accuknox-bench-") as tmp:
        res = run(a.only or list(ROWS), a.events, a.rounds, Path(tmp), log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
