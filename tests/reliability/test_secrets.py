"""No secret leaks: ``pull`` (every sink), ``demo`` and ``emulate`` at DEBUG with marker secrets.

Each command runs as a subprocess with ``--log-level DEBUG``; the AccuKnox
token, the HEC token, the Elasticsearch API key and password are recognisable
markers. Success paths and failure paths (wrong AccuKnox token → 401 with the
stopping error's traceback logged at DEBUG, HEC 403, Elasticsearch 401, a
token pasted where a variable *name* belongs) are run; then stdout, stderr and
every file under the state, output and dead-letter folders are searched for
each marker (also in base64, as a Basic-auth header would carry it). None may appear.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
import requests

from integrations.emulator import AlertsEmulator, generate_events
from tests.conftest import REPO
from tests.support.fake_es import FakeElasticsearch
from tests.support.fake_hec import FakeHec

AK_TOKEN = "AKTOKEN-MARKER-91c2e7d4b8"
AK_WRONG = "AKWRONG-MARKER-3b5f0a6c1d"
HEC_TOKEN = "HECTOKEN-MARKER-7e4a2c9f10"
HEC_WRONG = "HECWRONG-MARKER-0d8b6f3a25"
ES_KEY = "ESAPIKEY-MARKER-5c1e9b7d42"
ES_PASSWORD = "ESPASSWD-MARKER-8a2f4c6e13"
DEMO_TOKEN = "DEMOTOKEN-MARKER-4f7a1c9e80"
MARKERS = [AK_TOKEN, AK_WRONG, HEC_TOKEN, HEC_WRONG, ES_KEY, ES_PASSWORD, DEMO_TOKEN]
NEEDLES = [m.encode() for m in MARKERS] + [
    base64.b64encode(f"elastic:{ES_PASSWORD}".encode()),  # an Authorization: Basic header
    base64.b64encode(ES_PASSWORD.encode()),
]


def _env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCUKNOX_", "SPLUNK_", "ES_"))}
    env.update(PYTHONPATH=str(REPO), **extra)
    return env


def assert_clean(label: str, *blobs: bytes) -> None:
    for blob in blobs:
        for needle in NEEDLES:
            assert needle not in blob, f"{label}: a secret marker leaked: {needle!r}"


def assert_tree_clean(root: Path) -> int:
    n = 0
    for p in root.rglob("*"):
        if p.is_file():
            assert_clean(str(p), p.read_bytes())
            n += 1
    return n


@pytest.fixture(scope="module")
def emu() -> Iterator[AlertsEmulator]:
    now = time.time()
    events = list(generate_events(60, seed=4, start=now - 3600, rate=60 / 3000, regular=True))
    bad = dict(events[5], Data={"not": "a string"}, HashID="f" * 64)  # parsed → Rejected → dead letter
    with AlertsEmulator(events + [bad], tenant_id="11", token=AK_TOKEN) as e:
        yield e


def pull(emu_url: str, work: Path, sink: List[str], *extra: str) -> List[str]:
    return [sys.executable, "-m", "integrations.cli", "--log-level", "DEBUG", "pull", "--once", "--url", emu_url,
            "--tenant-id", "11", "--state", str(work / "state" / "state.json"), "--dead-letter",
            str(work / "dead" / "dead.ndjson"), "--lookback", "2h", "--page-size", "20", "--batch-size", "25",
            "--no-progress", *sink, *extra]


def run_all(jobs: Dict[str, Tuple[List[str], Dict[str, str]]], cwd: Path) -> Dict[str, Tuple[int, bytes, bytes]]:
    """Run the commands side by side; (returncode, stdout, stderr) by name."""
    procs = {name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
             for name, (cmd, env) in jobs.items()}
    out = {}
    for name, p in procs.items():
        try:
            so, se = p.communicate(timeout=180)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        out[name] = (p.returncode, so, se)
    return out


def test_pull_every_sink_and_failure_paths_leak_nothing(emu, tmp_path: Path) -> None:
    hec = FakeHec(token=HEC_TOKEN, ack=True).start()
    es_key = FakeElasticsearch(api_key=ES_KEY).start()
    es_pw = FakeElasticsearch(basic_auth=("elastic", ES_PASSWORD)).start()
    try:
        ok_env = _env(AK_VAR=AK_TOKEN, HEC_VAR=HEC_TOKEN, ES_KEY_VAR=ES_KEY, ES_PW_VAR=ES_PASSWORD)
        bad_api = dict(ok_env, AK_VAR=AK_WRONG)
        bad_hec = dict(ok_env, HEC_VAR=HEC_WRONG)
        bad_es = dict(ok_env, ES_KEY_VAR="wrong-" + ES_KEY)
        w = tmp_path
        tok = ["--token-env", "AK_VAR"]
        jobs = {
            "file": (pull(emu.url, w / "file", ["--sink", f"file:{w / 'file' / 'out'}"], *tok), ok_env),
            "stdout": (pull(emu.url, w / "stdout", ["--sink", "stdout"], *tok), ok_env),
            "hec": (pull(emu.url, w / "hec", ["--sink", f"hec:{hec.url}", "--hec-ack", "--hec-token-env",
                                               "HEC_VAR"], *tok), ok_env),
            "es-key": (pull(emu.url, w / "es-key", ["--sink", f"es:{es_key.url}", "--es-api-key-env",
                                                    "ES_KEY_VAR"], *tok), ok_env),
            "es-password": (pull(emu.url, w / "es-pw", ["--sink", f"es:{es_pw.url}", "--es-user", "elastic",
                                                        "--es-password-env", "ES_PW_VAR"], *tok), ok_env),
            # failure paths
            "api-401": (pull(emu.url, w / "api-401", ["--sink", f"file:{w / 'api-401' / 'out'}"], *tok), bad_api),
            "hec-403": (pull(emu.url, w / "hec-403", ["--sink", f"hec:{hec.url}", "--hec-ack", "--hec-token-env",
                                                      "HEC_VAR"], *tok), bad_hec),
            "es-401": (pull(emu.url, w / "es-401", ["--sink", f"es:{es_key.url}", "--es-api-key-env",
                                                    "ES_KEY_VAR"], *tok), bad_es),
            "token-pasted": (pull(emu.url, w / "pasted", ["--sink", "stdout"], "--token-env", AK_TOKEN), ok_env),
        }
        results = run_all(jobs, tmp_path)
    finally:
        hec.stop()
        es_key.stop()
        es_pw.stop()

    for name, (_rc, so, se) in results.items():
        assert_clean(f"{name} stdout", so)
        assert_clean(f"{name} stderr", se)
    text = {name: se.decode("utf-8", "replace") for name, (_rc, _so, se) in results.items()}
    for name in ("file", "stdout", "hec", "es-key", "es-password"):
        rc, so, _se = results[name]
        assert rc == 0, f"{name}: {text[name][-3000:]}"
        m = re.search(r"run complete: pulled=(\d+) delivered=60 duplicates_dropped=(\d+) .*rejected=1 ", text[name])
        assert m and int(m.group(1)) == 61 + int(m.group(2)), text[name][-2000:]  # boundary rows: read twice
        assert " DEBUG " in text[name]  # really at DEBUG level
    assert results["stdout"][1].count(b"\n") == 60  # the documents went to stdout
    assert "Authorization': 'Bearer ***'" in text["file"]  # the client's debug line, redacted
    assert len(hec.events) == 60 and es_key.doc_count() == 60 and es_pw.doc_count() == 60

    assert results["api-401"][0] == 1 and "HTTP 401" in text["api-401"]
    assert "Traceback (most recent call last)" in text["api-401"]  # the DEBUG traceback path ran
    assert results["hec-403"][0] == 1 and "refused the token from environment variable HEC_VAR" in text["hec-403"]
    assert results["es-401"][0] == 1 and "ES_KEY_VAR" in text["es-401"]
    assert results["token-pasted"][0] == 2 and "token_env (from --token-env)" in text["token-pasted"]

    assert (tmp_path / "file" / "dead" / "dead.ndjson").read_bytes().count(b"\n") == 1
    assert assert_tree_clean(tmp_path) >= 10  # state, journal-free state, outputs, dead letters


def test_demo_leaks_nothing(tmp_path: Path) -> None:
    # the demo makes up its own token: make it a marker
    code = (f"import secrets, sys; secrets.token_urlsafe = lambda n=None: {DEMO_TOKEN!r}; "
            "from integrations.cli import main; sys.exit(main(sys.argv[1:]))")
    res = subprocess.run([sys.executable, "-c", code, "--log-level", "DEBUG", "demo", "--dir",
                          str(tmp_path / "demo"), "--events", "200"],
                         capture_output=True, env=_env(), cwd=tmp_path, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    assert b"200 documents written for 200 emulated alerts" in res.stdout
    assert b" DEBUG " in res.stderr
    assert_clean("demo stdout", res.stdout)
    assert_clean("demo stderr", res.stderr)
    assert assert_tree_clean(tmp_path) >= 2


def test_emulate_leaks_nothing(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "integrations.cli", "--log-level", "DEBUG", "emulate", "--port",
                             "0", "--events", "40", "--faults", "500=0.2,seed=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(ACCUKNOX_TOKEN=AK_TOKEN),
                            cwd=tmp_path)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith(b"AccuKnox API emulator on http://127.0.0.1:"), first
        url = first.split()[4].decode()
        body = {"WorkspaceID": 11, "FromTime": int(time.time()) - 30000, "ToTime": int(time.time()),
                "PageId": 1, "PageSize": 50, "ClusterID": []}
        statuses = []
        for token in (AK_TOKEN, AK_WRONG, AK_TOKEN, AK_TOKEN):
            r = requests.post(url + "/monitors/v1/alerts/events", json=body, timeout=30,
                              headers={"Authorization": f"Bearer {token}", "X-Tenant-ID": "11"})
            statuses.append(r.status_code)
            assert_clean("emulator answer", r.content)
        assert 401 in statuses and 200 in statuses
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            so, se = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            so, se = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert b" DEBUG " in se
    assert_clean("emulate stdout", first, so)
    assert_clean("emulate stderr", se)
