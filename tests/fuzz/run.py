"""Fuzz runner: ``python -m tests.fuzz.run --inputs 1000000 [--seed N] [--engine auto|atheris|mutate]``.

Generates ``--inputs`` inputs spread over the entry points of ``targets.py``
(parser, page decoder, karmor text reader, mapper, config loader, config value
parsers) and counts per entry point: inputs, mapped, rejected (with the
reason classes), crashes (any exception other than the documented typed
errors, or a broken output contract) and hangs (an input that ran longer than
``--timeout`` seconds; a SIGALRM timer stops it, so a real infinite loop is
counted, not waited for).

Engines: ``atheris`` (coverage-guided libFuzzer, when ``import atheris`` works;
the first input byte picks the entry point) or ``mutate`` (the seeded
hand-written mutation loop of ``mutate.py``; reproducible from ``--seed``).
``auto`` is atheris when available. Every ``--huge-every`` inputs (mutate
engine) one hostile big input is added: a 10 MB ``Resource``, 100k-deep
nesting, a 5 MB karmor line. Crashing and hanging inputs are saved under
``--out`` with their traceback; the figures are printed as JSON at the end
(and written to ``--report``). Exit status 1 when anything crashed or hung.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from tests.fuzz.corpus import generated, seeds
from tests.fuzz.mutate import mutate
from tests.fuzz.targets import TARGETS


class Hang(BaseException):
    """Raised by the per-input timer (BaseException: the code under test must not swallow it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


class Stats:
    def __init__(self, out: Path, timeout: float) -> None:
        self.out = out
        self.timeout = timeout
        self.per: Dict[str, collections.Counter] = {k: collections.Counter() for k in TARGETS}
        self.reasons: Dict[str, collections.Counter] = {k: collections.Counter() for k in TARGETS}
        self.crash_kinds: Dict[str, collections.Counter] = {k: collections.Counter() for k in TARGETS}
        self.slowest: Dict[str, float] = {k: 0.0 for k in TARGETS}
        self.total = 0

    def run_one(self, name: str, data: bytes, timeout: Optional[float] = None) -> None:
        fn = TARGETS[name]
        c = self.per[name]
        c["inputs"] += 1
        self.total += 1
        bound = timeout or self.timeout
        signal.setitimer(signal.ITIMER_REAL, bound)
        t0 = time.perf_counter()
        try:
            kind, detail = fn(data)
            signal.setitimer(signal.ITIMER_REAL, 0)
            c[kind] += 1
            if kind == "rejected":
                self.reasons[name][detail] += 1
        except Hang:
            c["hangs"] += 1
            self._save(name, data, f"hang: more than {bound}s")
        except Exception as exc:  # noqa: BLE001 - a crash is what we are looking for
            signal.setitimer(signal.ITIMER_REAL, 0)
            c["crashes"] += 1
            tb = traceback.format_exc()
            self.crash_kinds[name][f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
            self._save(name, data, tb)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        took = time.perf_counter() - t0
        if took > self.slowest[name]:
            self.slowest[name] = took

    def _save(self, name: str, data: bytes, why: str) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256(data).hexdigest()[:16]
        (self.out / f"{name}-{h}.bin").write_bytes(data)
        (self.out / f"{name}-{h}.txt").write_text(why)

    def report(self, seed: int, engine: str, seconds: float) -> Dict[str, Any]:
        per = {}
        for name, c in self.per.items():
            per[name] = {"inputs": c["inputs"], "mapped": c["mapped"], "rejected": c["rejected"],
                         "crashes": c["crashes"], "hangs": c["hangs"],
                         "slowest_s": round(self.slowest[name], 3),
                         "top_reject_reasons": dict(self.reasons[name].most_common(8)),
                         "crash_kinds": dict(self.crash_kinds[name].most_common(10))}
        return {"engine": engine, "seed": seed, "inputs": self.total, "seconds": round(seconds, 1),
                "crashes": sum(c["crashes"] for c in self.per.values()),
                "hangs": sum(c["hangs"] for c in self.per.values()), "per_entry_point": per}


def huge_inputs(rng: random.Random) -> List[tuple]:
    """(target, data, timeout) hostile big inputs."""
    ev = dict(generated(1)[0])
    big = dict(ev, Resource="/" + "R" * (10 * 1024 * 1024))
    line = json.dumps(big).encode()
    deep = b"[" * 100_000 + b"]" * 100_000
    deep_obj = b'{"Resource":' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}"
    text = b"== Alert / 2023-03-22 06:40:00.241489 ==\nResource: " + b"x" * (5 * 1024 * 1024) + b"\nPID: 1\n"
    page = json.dumps({"response": [big]}).encode()
    choices = [("parser", line), ("parser", deep), ("parser", deep_obj), ("page", page), ("page", deep),
               ("karmor_text", text), ("parser", text), ("mapper", line), ("parser", b"\xff" * (4 << 20)),
               ("parser", b"{" + b'"a":1,' * 500_000 + b'"b":2}')]
    return [rng.choice(choices)]


def run_mutate(stats: Stats, n: int, seed: int, huge_every: int, progress: Callable[[], None]) -> None:
    rng = random.Random(seed)
    pools = seeds()
    names = list(TARGETS)
    weights = {"parser": 4, "page": 2, "karmor_text": 2, "mapper": 2, "config": 1, "config_values": 1}
    order = [k for k in names for _ in range(weights.get(k, 1))]
    # the seeds themselves first
    for name, pool in pools.items():
        for d in pool:
            if stats.total >= n:
                return
            stats.run_one(name, d)
    last: Dict[str, List[bytes]] = {k: [] for k in names}  # recent mapped inputs feed later mutations
    while stats.total < n:
        if huge_every and stats.total % huge_every == 0:
            for name, data in huge_inputs(rng):
                stats.run_one(name, data, timeout=max(stats.timeout, 60.0))
            continue
        name = rng.choice(order)
        pool = pools[name]
        base = rng.choice(last[name]) if last[name] and rng.random() < 0.3 else rng.choice(pool)
        data = mutate(rng, base, name, pool)
        before = stats.per[name]["mapped"]
        stats.run_one(name, data)
        if stats.per[name]["mapped"] > before and len(data) < 8192:
            keep = last[name]
            if len(keep) < 256:
                keep.append(data)
            else:
                keep[rng.randrange(256)] = data
        if stats.total % 20000 == 0:
            progress()


def run_atheris(stats: Stats, n: int, seed: int, progress: Callable[[], None], report: Callable[[], None]) -> None:
    import atheris  # noqa: PLC0415 - optional

    names = list(TARGETS)
    corpus = stats.out / "atheris-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, pool in seeds().items():
        for d in pool:
            (corpus / hashlib.sha256(d).hexdigest()[:16]).write_bytes(bytes([names.index(name)]) + d)

    def one(data: bytes) -> None:
        if not data:
            return
        stats.run_one(names[data[0] % len(names)], data[1:])
        if stats.total % 20000 == 0:
            progress()
        if stats.total >= n:
            report()
            os._exit(0 if not (stats.report(seed, "atheris", 0)["crashes"] or
                               stats.report(seed, "atheris", 0)["hangs"]) else 1)

    atheris.Setup([sys.argv[0], f"-runs={n + 10}", f"-seed={seed}", "-timeout=0", "-max_len=65536",
                   "-rss_limit_mb=4096", str(corpus)], one)
    atheris.Fuzz()


def _parallel(args: Any) -> int:
    """Run ``--workers`` mutate processes (seeds ``seed + i``) and add their reports up."""
    import subprocess  # noqa: PLC0415

    share = [args.inputs // args.workers + (i < args.inputs % args.workers) for i in range(args.workers)]
    procs = []
    for i, n in enumerate(share):
        rep = Path(args.out) / f"worker-{i}.json"
        rep.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "tests.fuzz.run", "--engine", "mutate", "--inputs", str(n), "--seed",
               str(args.seed + i), "--timeout", str(args.timeout), "--huge-every", str(args.huge_every),
               "--out", str(Path(args.out) / f"w{i}"), "--report", str(rep)]
        procs.append((subprocess.Popen(cmd), rep))
    for proc, _ in procs:
        proc.wait()
    merged: Dict[str, Any] = {"engine": "mutate", "seed": args.seed, "workers": args.workers, "inputs": 0,
                              "seconds": 0.0, "crashes": 0, "hangs": 0, "per_entry_point": {}}
    for _, rep in procs:
        r = json.loads(rep.read_text())
        for k in ("inputs", "crashes", "hangs"):
            merged[k] += r[k]
        merged["seconds"] = max(merged["seconds"], r["seconds"])
        for name, e in r["per_entry_point"].items():
            m = merged["per_entry_point"].setdefault(name, {"inputs": 0, "mapped": 0, "rejected": 0, "crashes": 0,
                                                            "hangs": 0, "slowest_s": 0.0,
                                                            "top_reject_reasons": collections.Counter(),
                                                            "crash_kinds": collections.Counter()})
            for k in ("inputs", "mapped", "rejected", "crashes", "hangs"):
                m[k] += e[k]
            m["slowest_s"] = max(m["slowest_s"], e["slowest_s"])
            m["top_reject_reasons"].update(e["top_reject_reasons"])
            m["crash_kinds"].update(e["crash_kinds"])
    for m in merged["per_entry_point"].values():
        m["top_reject_reasons"] = dict(m["top_reject_reasons"].most_common(8))
        m["crash_kinds"] = dict(m["crash_kinds"])
    text = json.dumps(merged, indent=1)
    print(text, flush=True)
    if args.report:
        Path(args.report).write_text(text)
    return 1 if merged["crashes"] or merged["hangs"] else 0


def main(argv: Any = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz.run")
    p.add_argument("--inputs", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--engine", choices=("auto", "atheris", "mutate"), default="auto")
    p.add_argument("--timeout", type=float, default=5.0, help="per-input bound in seconds (hang above it)")
    p.add_argument("--huge-every", type=int, default=50_000)
    p.add_argument("--out", default="/tmp/fuzz-findings")
    p.add_argument("--report", default=None)
    p.add_argument("--workers", type=int, default=1, help="mutate engine: processes, seeds seed..seed+W-1")
    args = p.parse_args(argv)
    if args.workers > 1:
        return _parallel(args)
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401, PLC0415
            engine = "atheris"
        except ImportError:
            engine = "mutate"
    signal.signal(signal.SIGALRM, _alarm)
    stats = Stats(Path(args.out), args.timeout)
    started = time.monotonic()

    def progress() -> None:
        r = stats.report(args.seed, engine, time.monotonic() - started)
        print(f"progress: inputs={r['inputs']} crashes={r['crashes']} hangs={r['hangs']} "
              f"{r['inputs'] / max(1e-9, r['seconds']):.0f}/s", flush=True)

    def final() -> None:
        r = stats.report(args.seed, engine, time.monotonic() - started)
        text = json.dumps(r, indent=1)
        print(text, flush=True)
        if args.report:
            Path(args.report).write_text(text)

    print(f"fuzz: engine={engine} inputs={args.inputs} seed={args.seed} timeout={args.timeout}s "
          f"findings -> {args.out}", flush=True)
    if engine == "atheris":
        run_atheris(stats, args.inputs, args.seed, progress, final)
    else:
        run_mutate(stats, args.inputs, args.seed, args.huge_every, progress)
    final()
    r = stats.report(args.seed, engine, 0)
    return 1 if r["crashes"] or r["hangs"] else 0


if __name__ == "__main__":
    sys.exit(main())
