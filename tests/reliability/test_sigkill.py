"""Crash consistency: ``pull --once`` killed with SIGKILL at random moments, then restarted.

The emulator runs in its own process (``emulator_proc.py``), the poller as
``python -m integrations.cli pull --once`` with small pages and batches so a
run lasts long enough to be killed mid-way. Each trial starts from an empty
state and sink, kills the poller 1–3 times (once by default) at random moments (seeded RNG;
the seed is printed and named in every failure), then restarts it with the
same state until a run completes. Per sink:

* file  – exactly once: every generated id appears exactly once in the files;
* es    – fake Elasticsearch in a thread: exactly once by ``_id``; 409s counted;
* hec   – fake HEC with indexer acknowledgement: nothing missing; duplicates
  only from a kill inside one of the two windows the journal cannot close
  (HEC accepted a request, its ackId not journaled yet; HEC answered an ack
  ``true`` – and forgot it – before the batch was journaled). After every kill
  the test classifies the last request on the channel (``ack_window_kills``:
  in one of those windows; ``in_flight_kills``: journaled as pending, settled
  by the restarted poller asking HEC) and asserts that every duplicate is
  explained by an ``ack_window_kills`` kill; ``window_a_ms`` is the measured
  time from HEC's answer to the first acknowledgement poll for that request,
  an upper bound of the first window.

Default: ``TRIALS_DEFAULT`` trials per sink (CI). ``RELIABILITY_FULL=1``: 20
trials per sink. ``RELIABILITY_SEED`` fixes the seed; ``RELIABILITY_REPORT=path``
writes the figures as JSON. ``RELIABILITY_HEC_ACK_POLLS=N``: the fake HEC
answers an ack ``false`` N times before ``true`` (default 0: at once, which
leaves no time between the request and its acknowledgement – the worst case
for the two windows; a real indexer takes a second or more, during which a
kill is settled by asking HEC).
"""

from __future__ import annotations

import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from integrations.poller.checkpoint import CheckpointStore
from tests.conftest import REPO
from tests.support.fake_es import FakeElasticsearch
from tests.support.fake_hec import TOKEN as HEC_TOKEN
from tests.support.fake_hec import FakeHec

FULL = os.environ.get("RELIABILITY_FULL") == "1"
TRIALS_DEFAULT = 5
TRIALS = 20 if FULL else TRIALS_DEFAULT
EVENTS = 400 if FULL else 150
HEC_ACK_POLLS = int(os.environ.get("RELIABILITY_HEC_ACK_POLLS") or 0)
SEED = int(os.environ.get("RELIABILITY_SEED") or random.SystemRandom().randrange(1, 10**6))
TOKEN = "sigkill-test-token-5a5a5a"
RUN_TIMEOUT = 120.0  # one unkilled run; far above the few seconds it takes
MAX_KILLS = 3 if FULL else 1
MAX_RESTARTS = 8  # after the kills: runs allowed to end incomplete before the trial fails


def _env() -> Dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), ACCUKNOX_TOKEN=TOKEN, SPLUNK_HEC_TOKEN=HEC_TOKEN)
    env.pop("ACCUKNOX_URL", None)
    return env


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[Tuple[str, List[str]]]:
    """(url, generated ids) of an emulator process; stopped by closing its stdin."""
    d = tmp_path_factory.mktemp("emu")
    ids_file = d / "ids.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.emulator_proc", "--events", str(EVENTS), "--ids-file",
         str(ids_file), "--faults", "dup=0.05,seed=3", "--seed", "5"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(), cwd=REPO,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("URL "), f"emulator did not start: {line!r}"
        ids = ids_file.read_text().split()
        assert len(ids) == EVENTS == len(set(ids))
        yield line.split()[1], ids
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --------------------------------------------------------------------------- sinks under test

class CountingES(FakeElasticsearch):
    """Fake Elasticsearch that counts item statuses (201 created, 409 already there)."""

    def __init__(self) -> None:
        super().__init__(record=False)
        self.statuses: collections.Counter = collections.Counter()

    def _apply(self, *args, **kwargs):  # type: ignore[override]
        item = super()._apply(*args, **kwargs)
        self.statuses[item["status"]] += 1
        return item


class AckTrackingHec(FakeHec):
    """Fake HEC with ack that remembers, per (channel, ackId): the event ids, when it answered, first poll, true."""

    def __init__(self) -> None:
        super().__init__(ack=True, record=False)
        self.ack_after_polls = HEC_ACK_POLLS
        self.request_ids: Dict[Tuple[str, int], List[str]] = {}
        self.answered_at: Dict[Tuple[str, int], float] = {}
        self.first_poll: Dict[Tuple[str, int], float] = {}
        self.acked: set = set()

    def _event_inner(self, req):  # type: ignore[override]
        with self.lock:
            before = len(self.events)
        resp = super()._event_inner(req)
        body = resp.body if isinstance(resp.body, dict) else {}
        if "ackId" in body:
            key = (req.headers.get("x-splunk-request-channel") or "", body["ackId"])
            with self.lock:  # one poller per fake: its requests come one at a time
                self.request_ids[key] = [env["event"]["event"]["id"] for env in self.events[before:]]
                self.answered_at[key] = time.monotonic()
        return resp

    def _ack(self, req):  # type: ignore[override]
        resp = super()._ack(req)
        channel = req.headers.get("x-splunk-request-channel") or ""
        now = time.monotonic()
        with self.lock:
            for k, v in ((resp.body or {}).get("acks") or {}).items():
                self.first_poll.setdefault((channel, int(k)), now)
                if v is True:
                    self.acked.add((channel, int(k)))
        return resp

    def classify_kill(self, state: Path, seen_before: Dict[Tuple[str, int], str]) -> str:
        """Where the last kill left the newest request: '' (settled or known), 'window_a|b' or 'in_flight'.

        'window_a': HEC accepted it and its ackId is not journaled; 'window_b': HEC answered its ack
        ``true`` (and forgot it) and the journal does not say so yet – in both a duplicate may follow;
        'in_flight': journaled as pending, not acknowledged yet (the restart asks HEC: no duplicate).
        Each request is counted once per category it reaches (a request in flight may reach a window
        later, during a recovery).
        """
        loaded = CheckpointStore(state).load()
        open_tokens = {(t.get("channel"), t.get("ack")) for e in loaded.pending for t in [e["tok"] or {}]}
        with self.lock:
            keys = list(self.request_ids)
            acked = set(self.acked)
        out = ""
        for channel in {c for c, _ in keys}:
            key = max(k for k in keys if k[0] == channel)
            if all(i in loaded.seen for i in self.request_ids[key]):
                continue  # journaled as delivered
            where = "window_a" if key not in open_tokens else "window_b" if key in acked else "in_flight"
            if seen_before.get(key) in (where, "window_a", "window_b"):
                continue
            seen_before[key] = where
            out = where if where != "in_flight" or not out else out
        return out

    def window_a_gaps(self) -> List[float]:
        with self.lock:
            return [self.first_poll[k] - t for k, t in self.answered_at.items() if k in self.first_poll]


class Target:
    """One sink for one trial: the --sink argument, and what arrived there."""

    def __init__(self, kind: str, work: Path) -> None:
        self.kind = kind
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.server: Any = None
        extra: List[str] = []
        if kind == "file":
            spec = f"file:{work / 'out'}"
        elif kind == "es":
            self.server = CountingES().start()
            spec = f"es:{self.server.url}"
        elif kind == "hec":
            self.server = AckTrackingHec().start()
            spec = f"hec:{self.server.url}"
            # a kill in the second window makes the restart wait for the forgotten ack that long
            extra = ["--hec-ack", "--hec-ack-timeout", "10s"]
        else:  # pragma: no cover
            raise ValueError(kind)
        self.args = ["--sink", spec, *extra]

    def delivered(self) -> List[str]:
        """Every delivered id, once per arrival."""
        if self.kind == "file":
            out = []
            for f in sorted((self.work / "out").glob("*.ndjson")):
                data = f.read_bytes()
                assert not data or data.endswith(b"\n"), f"partial line left in {f}"
                out.extend(json.loads(line)["event"]["id"] for line in data.splitlines())
            return out
        if self.kind == "es":
            with self.server.lock:
                return [i for docs in self.server.indices.values() for i in docs]
        with self.server.lock:
            return [env["event"]["event"]["id"] for env in self.server.events]

    def progress(self) -> int:
        """A number that grows with every delivery (cheap: polled every few milliseconds)."""
        if self.kind == "file":
            return sum(f.stat().st_size for f in (self.work / "out").glob("*.ndjson"))
        with self.server.lock:
            if self.kind == "es":
                return sum(len(docs) for docs in self.server.indices.values())
            return len(self.server.events)

    def conflicts(self) -> int:
        return self.server.statuses[409] if self.kind == "es" else 0

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


# --------------------------------------------------------------------------- running the poller

def pull_cmd(url: str, target: Target) -> List[str]:
    return [sys.executable, "-m", "integrations.cli", "pull", "--once", "--url", url, "--tenant-id", "11",
            "--state", str(target.work / "state" / "state.json"), "--page-size", "5", "--batch-size", "7",
            "--lookback", "4h", "--max-window", "20m", "--no-progress", *target.args]


def run_pull(cmd: List[str], log: Path, kill: Optional[Tuple[str, float, float]] = None,
             progress: Optional[Callable[[], int]] = None) -> Tuple[str, float, int]:
    """Run ``pull`` once; ``('killed'|'done', seconds, returncode)``.

    ``kill`` is ``(mode, x, jitter)``: ``("time", s, j)`` sends SIGKILL ``s + j``
    seconds after the start; ``("progress", n, j)`` sends it ``j`` seconds after
    ``progress()`` reached ``n`` (part-way through the delivery, wherever the
    poller then is: mapping, sending, journaling, saving the state).
    """
    started = time.monotonic()
    with open(log, "ab") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=_env(), cwd=REPO)
        try:
            if kill is not None:
                mode, x, jitter = kill
                if mode == "progress" and progress is not None:
                    while proc.poll() is None and time.monotonic() - started < RUN_TIMEOUT:
                        if progress() >= x:
                            break
                        time.sleep(0.005)
                    deadline = jitter
                else:
                    deadline = x + jitter - (time.monotonic() - started)
                try:
                    rc = proc.wait(timeout=max(0.0, deadline))
                    return "done", time.monotonic() - started, rc
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
                    return "killed", time.monotonic() - started, -9
            rc = proc.wait(timeout=RUN_TIMEOUT)
            return "done", time.monotonic() - started, rc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def calibrate(url: str, kind: str, work: Path, ids: List[str]) -> Tuple[float, float, float]:
    """(seconds of a full run, seconds until its first delivery, progress units per event)."""
    target = Target(kind, work)
    first: List[float] = []
    try:
        started = time.monotonic()

        def progress() -> int:
            n = target.progress()
            if n and not first:
                first.append(time.monotonic() - started)
            return n

        _, full, rc = run_pull(pull_cmd(url, target), work / "calibrate.log", ("progress", 1 << 60, 0.0), progress)
        assert rc == 0, (work / "calibrate.log").read_text()[-3000:]
        assert sorted(target.delivered()) == sorted(ids)  # an unkilled run is exactly once for every sink
        unit = target.progress() / len(ids)
    finally:
        target.close()
    return full, (first[0] if first else 0.5 * full), unit


def trial(url: str, kind: str, work: Path, ids: List[str], rng: random.Random, timing: Tuple[float, float, float],
          n: int) -> Dict[str, Any]:
    full, startup, unit = timing
    target = Target(kind, work)
    log = work / "pull.log"
    kills = effective = runs = window_a = window_b = in_flight = 0
    classified: Dict[Tuple[str, int], str] = {}
    progress = target.progress
    try:
        for _ in range(rng.randint(1, MAX_KILLS)):
            done_events = int(progress() / unit)
            r = rng.random()
            if r < 0.15 or done_events >= len(ids) - 1:  # start-up: load the state, roll back, first pages
                plan = ("time", rng.uniform(0.0, startup), 0.0)
            elif r < 0.85:  # part-way through the delivery, plus a little jitter
                plan = ("progress", rng.randint(done_events + 1, len(ids) - 1) * unit, rng.uniform(0.0, 0.03))
            else:  # anywhere, including the end (last window, state save)
                plan = ("time", rng.uniform(0.0, full), 0.0)
            before = progress()
            outcome, _took, rc = run_pull(pull_cmd(url, target), log, plan, progress)
            runs += 1
            if outcome == "done":
                assert rc == 0, f"[seed {SEED}] {kind} trial {n}: run failed: {log.read_text()[-3000:]}"
                break
            kills += 1
            effective += progress() != before  # killed after it had written (or rolled back) something
            if kind == "hec":
                time.sleep(0.3)  # let the fake finish what the dead poller had already sent it
                where = target.server.classify_kill(work / "state" / "state.json", classified)
                window_a += where == "window_a"
                window_b += where == "window_b"
                in_flight += where == "in_flight"
        for _ in range(MAX_RESTARTS):
            _outcome, _took, rc = run_pull(pull_cmd(url, target), log)
            runs += 1
            if rc == 0:
                break
        else:
            pytest.fail(f"[seed {SEED}] {kind} trial {n}: no run completed; log: {log.read_text()[-3000:]}")
        got = target.delivered()
        counts = collections.Counter(got)
        return {
            "kills": kills, "effective_kills": effective, "runs": runs,
            "missing": len(set(ids) - set(counts)),
            "unexpected": len(set(counts) - set(ids)),
            "duplicates": sum(c - 1 for c in counts.values()),
            "conflicts_409": target.conflicts(),
            "ack_window_kills": window_a + window_b, "window_a_kills": window_a, "window_b_kills": window_b,
            "in_flight_kills": in_flight,
            "gaps": target.server.window_a_gaps() if kind == "hec" else [],
        }
    finally:
        target.close()


def run_sink(url: str, ids: List[str], kind: str, root: Path, results: Dict[str, Any]) -> None:
    rng = random.Random(f"{SEED}|{kind}")
    timing = calibrate(url, kind, root / f"{kind}-calibration", ids)
    full, startup, _unit = timing
    per_trial = []
    gaps: List[float] = []
    for n in range(TRIALS):
        work = root / f"{kind}-{n}"
        t = trial(url, kind, work, ids, rng, timing, n)
        gaps.extend(t.pop("gaps"))
        per_trial.append(t)
        shutil.rmtree(work, ignore_errors=True)
    results[kind] = {
        "trials": TRIALS, "events_per_trial": len(ids), "full_run_s": round(full, 2), "startup_s": round(startup, 2),
        **{k: sum(t[k] for t in per_trial) for k in per_trial[0]},
        "trials_with_duplicates": sum(1 for t in per_trial if t["duplicates"]),
        "per_trial": per_trial,
    }
    if gaps:
        gaps.sort()
        results[kind]["window_a_ms"] = {
            "requests": len(gaps), "p50": round(1000 * gaps[len(gaps) // 2], 2),
            "p99": round(1000 * gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))], 2), "max": round(1000 * gaps[-1], 2),
        }


# --------------------------------------------------------------------------- the test

def test_sigkill_at_random_moments(emulator, tmp_path: Path) -> None:
    url, ids = emulator
    print(f"reliability seed: {SEED} (RELIABILITY_SEED={SEED} to repeat), trials per sink: {TRIALS}")
    results: Dict[str, Any] = {}
    errors: List[BaseException] = []

    def worker(kind: str) -> None:
        try:
            run_sink(url, ids, kind, tmp_path, results)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    # the three sinks run side by side (2 cores: the poller, the emulator and the fakes interleave)
    threads = [threading.Thread(target=worker, args=(k,), name=f"sigkill-{k}") for k in ("file", "es", "hec")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=(1800 if FULL else 600))
    assert not any(t.is_alive() for t in threads), f"[seed {SEED}] a sink worker did not finish"
    if errors:
        raise errors[0]
    summary = {k: {kk: vv for kk, vv in v.items() if kk != "per_trial"} for k, v in results.items()}
    print(json.dumps(summary, indent=1))
    if os.environ.get("RELIABILITY_REPORT"):
        Path(os.environ["RELIABILITY_REPORT"]).write_text(json.dumps({"seed": SEED, **results}, indent=1))

    for kind, r in results.items():
        assert r["missing"] == 0, f"[seed {SEED}] {kind}: {r['missing']} events missing: {summary}"
        assert r["unexpected"] == 0, f"[seed {SEED}] {kind}: ids that were never generated: {summary}"
    assert results["file"]["duplicates"] == 0, f"[seed {SEED}] file sink is not exactly-once: {summary}"
    assert results["es"]["duplicates"] == 0, f"[seed {SEED}] elasticsearch: an _id twice: {summary}"
    # HEC cannot de-duplicate, but the journal knows what was in flight: only a kill inside one of the
    # two windows (answer received, not yet journaled) can repeat a request (7 events, one batch).
    hec = results["hec"]
    assert hec["duplicates"] <= 7 * hec["ack_window_kills"], \
        f"[seed {SEED}] hec: duplicates not explained by a kill in an acknowledgement window: {summary}"
    for kind, r in results.items():
        assert r["kills"] >= 1, f"[seed {SEED}] {kind}: every run ended before its kill: {summary}"
