"""``accuknox-siem pull`` and ``demo`` end to end: exit codes 0/1/2, the summary line, the files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, List

import pytest

from integrations.cli import main
from integrations.emulator import AlertsEmulator, generate_events
from tests.conftest import REPO

TOKEN = "pull-cli-test-token-abcdef"


@pytest.fixture(scope="module")
def events() -> List[dict]:
    now = time.time()
    return list(generate_events(240, seed=12, start=now - 7200, rate=240 / 6600, regular=True))


@pytest.fixture()
def emu(events) -> Iterator[AlertsEmulator]:
    with AlertsEmulator(events, tenant_id="11", token=TOKEN) as e:
        yield e


def out_ids(out: Path) -> List[str]:
    return [json.loads(line)["event"]["id"] for f in sorted(out.glob("*.ndjson")) for line in f.open("rb")]


def pull_args(emu: AlertsEmulator, tmp_path: Path, *extra: str) -> List[str]:
    return ["pull", "--once", "--url", emu.url, "--tenant-id", "11", "--sink", f"file:{tmp_path / 'out'}",
            "--state", str(tmp_path / "state" / "state.json"), "--lookback", "3h", "--no-progress", *extra]


def test_pull_once_subprocess_into_file_sink(emu, events, tmp_path: Path) -> None:
    env = dict(os.environ, ACCUKNOX_TOKEN=TOKEN, PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-m", "integrations.cli", *pull_args(emu, tmp_path)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr
    summary = [line for line in res.stderr.splitlines() if line.startswith("run ")]
    assert len(summary) == 1
    counters = dict(kv.split("=", 1) for kv in summary[0].split(": ", 1)[1].split() if "=" in kv)
    assert summary[0].startswith("run complete: ")
    assert counters["delivered"] == "240" and counters["rejected"] == "0"
    # a row on a window boundary is read twice (bounds are inclusive) and dropped once
    assert int(counters["pulled"]) == 240 + int(counters["duplicates_dropped"])
    assert res.stdout == ""  # the file sink writes nothing to stdout
    ids = out_ids(tmp_path / "out")
    assert sorted(ids) == sorted(e["HashID"] for e in events)
    assert (tmp_path / "state" / "state.json").exists()

    # a second run delivers nothing new
    res = subprocess.run([sys.executable, "-m", "integrations.cli", *pull_args(emu, tmp_path)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "run complete: " in res.stderr and " delivered=0 " in res.stderr
    assert len(out_ids(tmp_path / "out")) == 240


def test_pull_exit_1_on_auth_failure(emu, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ACCUKNOX_TOKEN", "not-the-right-token")
    assert main(pull_args(emu, tmp_path)) == 1
    err = capsys.readouterr().err
    assert "run INCOMPLETE (the access token was rejected (HTTP 401)" in err
    assert "not-the-right-token" not in err
    assert out_ids(tmp_path / "out") == []


def test_pull_exit_1_when_the_sink_refuses(emu, tmp_path: Path, monkeypatch, capsys) -> None:
    from tests.support.fake_hec import FakeHec

    monkeypatch.setenv("ACCUKNOX_TOKEN", TOKEN)
    monkeypatch.setenv("SPLUNK_HEC_TOKEN", "wrong-hec-token")
    with FakeHec() as hec:
        args = pull_args(emu, tmp_path)
        args[args.index("--sink") + 1] = f"hec:{hec.url}"
        assert main(args) == 1
    err = capsys.readouterr().err
    assert "run INCOMPLETE (hec sink: Splunk refused the token from environment variable SPLUNK_HEC_TOKEN" in err
    assert "wrong-hec-token" not in err
    assert not (tmp_path / "state" / "state.json").exists() or \
        json.loads((tmp_path / "state" / "state.json").read_text())["high_water"] is None


@pytest.mark.parametrize("extra, env, message", [
    ([], {}, "ACCUKNOX_TOKEN is not set"),
    (["--page-size", "500"], {"ACCUKNOX_TOKEN": TOKEN}, "page_size (from --page-size)"),
    (["--max-pages", "0"], {"ACCUKNOX_TOKEN": TOKEN}, "max_pages (from --max-pages)"),
    (["--lag", "soon"], {"ACCUKNOX_TOKEN": TOKEN}, "lag (from --lag)"),
    (["--sink", "kafka:x"], {"ACCUKNOX_TOKEN": TOKEN}, "unknown sink 'kafka:x'"),
    ([], {"ACCUKNOX_TOKEN": TOKEN, "ACCUKNOX_BATCH_SIZE": "0"}, "batch_size (from ACCUKNOX_BATCH_SIZE)"),
])
def test_pull_exit_2_on_configuration_errors(emu, tmp_path: Path, monkeypatch, capsys, extra, env,
                                             message) -> None:
    monkeypatch.delenv("ACCUKNOX_TOKEN", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(pull_args(emu, tmp_path) + extra) == 2
    err = capsys.readouterr().err
    assert "accuknox-siem pull: " in err and message in err
    assert "Traceback" not in err


def test_pull_exit_2_on_missing_url(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ACCUKNOX_TOKEN", TOKEN)
    monkeypatch.delenv("ACCUKNOX_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["pull", "--once", "--tenant-id", "11"]) == 2
    assert "url: the AccuKnox API base URL is required" in capsys.readouterr().err


def test_pull_exit_2_on_unreadable_state(emu, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ACCUKNOX_TOKEN", TOKEN)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "state.json").write_text("{torn")
    assert main(pull_args(emu, tmp_path)) == 2
    err = capsys.readouterr().err
    assert "unreadable" in err and "move it away" in err


def test_pull_flags_beat_env(emu, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ACCUKNOX_TOKEN", TOKEN)
    monkeypatch.setenv("ACCUKNOX_URL", "https://wrong.example.com")  # the flag wins: no connection attempt
    monkeypatch.setenv("ACCUKNOX_PAGE_SIZE", "7")
    emu.clear_requests()
    assert main(pull_args(emu, tmp_path)) == 0
    sizes = {r.body["PageSize"] for r in emu.requests if isinstance(r.body, dict)}
    assert sizes == {7}
    err = capsys.readouterr().err
    assert "run complete: " in err and " delivered=240 " in err


def test_dead_letter_file_is_created_beside_the_state(emu, tmp_path: Path, monkeypatch, capsys) -> None:
    from integrations.emulator import Scripted

    monkeypatch.setenv("ACCUKNOX_TOKEN", TOKEN)
    emu.script(Scripted(status=200, body={"response": ["garbage row"]}))
    args = pull_args(emu, tmp_path) + ["--dead-letter", str(tmp_path / "dl" / "dead.ndjson")]
    assert main(args) == 0
    lines = (tmp_path / "dl" / "dead.ndjson").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["original"] == "garbage row"
    assert "rejected=1" in capsys.readouterr().err


def test_demo_reports_n_documents_for_n_alerts(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--dir", str(out), "--events", "300"]) == 0
    text = capsys.readouterr().out
    assert "300 documents written for 300 emulated alerts; 300 distinct event.id" in text
    assert "second run: run complete: pulled=" in text and " delivered=0 " in text
    assert len(out_ids(out / "events")) == 300


def test_demo_refuses_to_wipe_a_foreign_folder(tmp_path: Path, capsys) -> None:
    keep = tmp_path / "precious.txt"
    keep.write_text("do not delete")
    assert main(["demo", "--dir", str(tmp_path), "--events", "10"]) == 2
    assert keep.read_text() == "do not delete"
    assert "holds files the demo did not make" in capsys.readouterr().err


def test_every_setting_has_a_flag() -> None:
    from integrations.cli import build_parser
    from integrations.config import SETTINGS

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    dests = {a.dest for a in sub.choices["pull"]._actions}  # type: ignore[union-attr]
    assert set(SETTINGS) <= dests, sorted(set(SETTINGS) - dests)


def test_once_flag_beats_an_interval_from_the_environment(emu, tmp_path: Path) -> None:
    env = dict(os.environ, ACCUKNOX_TOKEN=TOKEN, ACCUKNOX_INTERVAL="1h", PYTHONPATH=str(REPO))
    # with the interval taking over, this would poll again in an hour: the timeout fails the test
    res = subprocess.run([sys.executable, "-m", "integrations.cli", *pull_args(emu, tmp_path)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("run complete: ") == 1


def test_interval_mode_polls_again_and_stops_on_sigterm(emu, tmp_path: Path) -> None:
    import queue
    import signal
    import threading

    env = dict(os.environ, ACCUKNOX_TOKEN=TOKEN, PYTHONPATH=str(REPO))
    args = [a for a in pull_args(emu, tmp_path) if a != "--once"] + ["--interval", "1s"]
    proc = subprocess.Popen([sys.executable, "-m", "integrations.cli", *args], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True)  # type: ignore[union-attr]
    reader.start()
    runs = []
    try:
        deadline = time.monotonic() + 90
        while len(runs) < 2 and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line.startswith("run "):
                runs.append(line)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert len(runs) == 2, runs
    assert runs[0].startswith("run complete: ") and " delivered=240 " in runs[0]
    assert runs[1].startswith("run complete: ") and " delivered=0 " in runs[1]
    assert rc == 0


def test_hec_ack_timeout_reaches_the_sink() -> None:
    from integrations.commands.pull import sink_options
    from integrations.config import resolve

    base = {"url": "https://cwpp.example", "tenant_id": "11", "sink": "hec:https://splunk.example:8088"}
    cfg = resolve({**base, "hec_ack": True, "hec_ack_timeout": "90s"}, environ={})
    assert sink_options(cfg)["ack_timeout"] == 90.0
    cfg = resolve({**base, "hec_ack": True}, environ={})
    assert sink_options(cfg)["ack_timeout"] == 300.0  # the default, 5 minutes
    cfg = resolve(base, environ={})
    assert "ack_timeout" not in sink_options(cfg)  # without ack there is nothing to wait for
