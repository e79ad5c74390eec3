"""Micro benchmarks, one process, side by side: ``floor``, ``naive``, ``map_ecs``, ``map_cim``.

Every row turns the same input lines (:mod:`bench.inputs`, ~1.2 KB JSON each)
into output JSON, one event at a time:

* ``floor``   - decode + encode with the fastest JSON library in use (orjson when
  installed), no mapping: what any mapper has to pay at least;
* ``naive``   - :mod:`bench.naive`: the stdlib ``json`` module and a
  straightforward dict-by-dict mapping, the baseline;
* ``map_ecs`` - decode, normalise (:func:`integrations.events.normalize`),
  ``Mapper().to_ecs``, encode: what ``accuknox-siem map --to ecs`` does per event;
* ``map_cim`` - the same with ``Mapper().to_cim``;
* ``literal`` - :mod:`bench.literal`: decode, build a document of the same
  shape as ``map_ecs``'s with one dict literal (no logic), encode: the least
  any pure-Python mapper of this output pays on this interpreter.

Rounds are interleaved (round 1 of every row, then round 2 ...) so that load
changes on a shared machine hit every row alike; each row reports the median
over rounds of events per CPU-second (``time.process_time``) - ratios between
rows come from the same run. The cyclic garbage collector is off inside the
timed loops (as in the poller, which turns it off while it polls) and a
collection runs between them.

:func:`breakdown` times each stage separately (decode, normalise, event id,
map, encode), in microseconds per event: where the time of ``map_ecs`` goes.
"""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from bench import literal, naive
from integrations import jsoncodec
from integrations.events import normalize
from integrations.identity import event_id
from integrations.mapping import Mapper

try:
    import orjson as _fast_json
except ImportError:  # pragma: no cover - the project requires orjson; the stdlib is the fallback
    _fast_json = None

ROWS = ("floor", "naive", "map_ecs", "map_cim", "literal")


def json_library() -> str:
    """Name and version of the JSON library the floor uses."""
    if _fast_json is not None:
        return f"orjson {_fast_json.__version__}"
    import json

    return f"json (stdlib) {json.__version__}"


def _floor_fn(lines: Sequence[bytes]) -> Callable[[], int]:
    if _fast_json is not None:
        loads, dumps = _fast_json.loads, _fast_json.dumps
    else:  # pragma: no cover
        loads, dumps = jsoncodec.loads, jsoncodec.dumps

    def run() -> int:
        for line in lines:
            dumps(loads(line))
        return len(lines)

    return run


def _naive_fn(lines: Sequence[bytes]) -> Callable[[], int]:
    return lambda: naive.map_lines(lines)  # type: ignore[arg-type]


def _mapped_fn(lines: Sequence[bytes], view: Callable[[Any], Any]) -> Callable[[], int]:
    loads, dumps = jsoncodec.loads, jsoncodec.dumps

    def run() -> int:
        for line in lines:
            dumps(view(normalize(loads(line))))
        return len(lines)

    return run


def _timed(fn: Callable[[], int]) -> Dict[str, float]:
    gc.collect()
    gc.disable()
    try:
        c0, w0 = time.process_time(), time.perf_counter()
        n = fn()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    finally:
        gc.enable()
    return {"events": n, "cpu_s": cpu, "wall_s": wall}


def run(lines: Sequence[bytes], rounds: int, only: Optional[Sequence[str]] = None,
        mapper: Optional[Mapper] = None) -> Dict[str, Dict[str, Any]]:
    """Median events per CPU-second (and per wall second) of each row over ``rounds`` interleaved rounds."""
    mapper = mapper or Mapper()
    fns = {
        "floor": _floor_fn(lines),
        "naive": _naive_fn(lines),
        "map_ecs": _mapped_fn(lines, mapper.to_ecs),
        "map_cim": _mapped_fn(lines, mapper.to_cim),
    }
    names = [n for n in ROWS if only is None or n in only]
    if "literal" in names:
        fns["literal"] = literal.literal_fn(lines, mapper)
    # warm-up: the mapper compiles its per-class functions on first sight of a class
    warm = lines[:2000]
    warmers = {"floor": _floor_fn(warm), "naive": _naive_fn(warm),
               "map_ecs": _mapped_fn(warm, mapper.to_ecs), "map_cim": _mapped_fn(warm, mapper.to_cim)}
    if "literal" in names:
        warmers["literal"] = literal.literal_fn(warm, mapper)
    for name in names:
        warmers[name]()
    samples: Dict[str, List[Dict[str, float]]] = {n: [] for n in names}
    for _ in range(max(1, rounds)):
        for name in names:
            samples[name].append(_timed(fns[name]))
    out: Dict[str, Dict[str, Any]] = {}
    for name in names:
        runs = samples[name]
        cpu_rates = [r["events"] / max(r["cpu_s"], 1e-9) for r in runs]
        wall_rates = [r["events"] / max(r["wall_s"], 1e-9) for r in runs]
        rate = statistics.median(cpu_rates)
        out[name] = {
            "events_per_cpu_s": rate,
            "events_per_wall_s": statistics.median(wall_rates),
            "us_per_event": 1e6 / rate,
            "rounds": [round(r, 1) for r in cpu_rates],
            "spread": round((max(cpu_rates) - min(cpu_rates)) / rate, 3) if rate else None,
        }
    return out


def breakdown(lines: Sequence[bytes], mapper: Optional[Mapper] = None) -> Dict[str, float]:
    """CPU microseconds per event of each stage of ``map_ecs``/``map_cim``, measured stage by stage."""
    mapper = mapper or Mapper()
    loads, dumps = jsoncodec.loads, jsoncodec.dumps
    n = len(lines)
    out: Dict[str, float] = {}

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        gc.collect()
        gc.disable()
        try:
            c0 = time.process_time()
            result = fn()
            out[name] = round((time.process_time() - c0) / n * 1e6, 2)
        finally:
            gc.enable()
        return result

    objs = stage("decode", lambda: [loads(x) for x in lines])
    events = stage("normalize", lambda: [normalize(o) for o in objs])
    stage("event_id", lambda: [event_id(e.fields) for e in events])
    ecs = stage("to_ecs", lambda: [mapper.to_ecs(e) for e in events])
    stage("encode_ecs", lambda: [dumps(d) for d in ecs])
    cim = stage("to_cim", lambda: [mapper.to_cim(e) for e in events])
    stage("encode_cim", lambda: [dumps(d) for d in cim])
    return out
