"""Scaling beyond one core: several ``pull`` processes partitioned by cluster (README "Scaling beyond one core").

Two ``accuknox-siem pull`` processes run at the same time against one emulator,
each with its own ``--state``, its own output directory and ``--cluster-id``
filters naming half of the clusters. Together they must deliver every event
exactly once, each only its own clusters' events; a second run of both delivers
nothing new. A tenant partition needs no test of its own: pollers of different
tenants never see each other's rows (the API is per tenant).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Sequence

import pytest

from integrations.emulator import AlertsEmulator, generate_events
from tests.conftest import REPO

TOKEN = "partition-test-token-0123456789"
CLUSTERS = ("3896", "4291", "16402", "20011")
PARTITIONS = (("3896", "4291"), ("16402", "20011"))


@pytest.fixture(scope="module")
def events() -> List[dict]:
    now = time.time()
    return list(generate_events(1200, seed=5, start=now - 7200, rate=1200 / 6600, regular=True, clusters=CLUSTERS))


@pytest.fixture()
def emu(events) -> Iterator[AlertsEmulator]:
    with AlertsEmulator(events, tenant_id="11", token=TOKEN) as e:
        yield e


def _start(emu: AlertsEmulator, base: Path, clusters: Sequence[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCUKNOX_")}
    env.update(ACCUKNOX_TOKEN=TOKEN, PYTHONPATH=str(REPO))
    args = ["pull", "--once", "--url", emu.url, "--tenant-id", "11", "--sink", f"file:{base / 'out'}",
            "--state", str(base / "state.json"), "--lookback", "3h", "--no-progress"]
    for c in clusters:
        args += ["--cluster-id", c]
    return subprocess.Popen([sys.executable, "-m", "integrations.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=base)


def _run_all(emu: AlertsEmulator, tmp_path: Path) -> List[str]:
    procs = []
    for i, part in enumerate(PARTITIONS):
        base = tmp_path / f"poller{i}"
        base.mkdir(exist_ok=True)
        procs.append(_start(emu, base, part))
    summaries = []
    for p in procs:
        _out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        summaries.append(next(line for line in err.splitlines() if line.startswith("run ")))
    return summaries


def _docs(base: Path) -> List[Dict]:
    return [json.loads(line) for f in sorted((base / "out").glob("*.ndjson")) for line in f.open("rb")]


def test_two_partitioned_pollers_deliver_every_event_exactly_once(emu, events, tmp_path: Path) -> None:
    summaries = _run_all(emu, tmp_path)
    assert all(s.startswith("run complete: ") for s in summaries), summaries

    ids: Counter = Counter()
    for i, part in enumerate(PARTITIONS):
        docs = _docs(tmp_path / f"poller{i}")
        assert docs, f"poller {i} delivered nothing"
        # each poller only has its own clusters' events ...
        assert {d["orchestrator"]["cluster"]["id"] for d in docs} <= set(part)
        ids.update(d["event"]["id"] for d in docs)
    # ... and together they have every event, once
    assert sorted(ids) == sorted(e["HashID"] for e in events)
    assert max(ids.values()) == 1
    by_cluster = Counter(e["cluster_id"] for e in events)
    for i, part in enumerate(PARTITIONS):
        expected = sum(by_cluster[c] for c in part)
        assert f" delivered={expected} " in summaries[i], summaries[i]

    # each poller has its own checkpoint: a second run of both delivers nothing new
    again = _run_all(emu, tmp_path)
    assert all(" delivered=0 " in s for s in again), again
    assert sum(len(_docs(tmp_path / f"poller{i}")) for i in range(len(PARTITIONS))) == len(events)
