"""``accuknox-siem map``: output per event in input order, dead letters, exit codes, errors naming file and line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS, CORPUS_JSONL, REPO

CLI = [sys.executable, "-m", "integrations.cli"]


def _run(args, stdin: bytes | None = None):  # type: ignore[no-untyped-def]
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, cwd=REPO, timeout=300)


def test_version_and_help() -> None:
    res = _run(["--version"])
    assert res.returncode == 0 and res.stdout.decode().startswith("accuknox-siem ")
    res = _run(["--help"])
    assert res.returncode == 0 and b"map" in res.stdout and b"pull" in res.stdout


@pytest.mark.parametrize("view", ["ecs", "cim"])
def test_whole_corpus_maps_with_exit_zero(view: str, tmp_path: Path) -> None:
    dead = tmp_path / "dead.ndjson"
    files = [str(p) for p in CORPUS_JSONL] + [str(CORPUS / "real" / "karmor-text-samples.txt")]
    res = _run(["map", "--to", view, "--dead-letter", str(dead), *files])
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    # the text samples include one protobuf-text daemon warning, rejected with a reason
    rejected = [json.loads(line) for line in dead.read_bytes().splitlines()] if dead.exists() else []
    assert res.returncode == (1 if rejected else 0)
    assert len(docs) >= 158 + 40
    for r in rejected:
        assert r["reason"] and r["location"].startswith(str(CORPUS)) and "original" in r
    if view == "ecs":
        assert all(d["event"]["id"] for d in docs)
    else:
        assert all("eventtype" in d and "action" in d for d in docs)
    assert f"{len(docs)} mapped, {len(rejected)} rejected".encode() in res.stderr


def test_stdin_order_and_rejections(tmp_path: Path) -> None:
    good1 = b'{"Type":"ContainerLog","Operation":"Process","HostName":"n1","Resource":"/bin/ls","UpdatedTime":"2024-01-01T00:00:00.000001Z"}'
    bad = b'{"Type": "ContainerLog", "Opera'
    good2 = b'{"Type":"MatchedPolicy","Operation":"File","HostName":"n2","Resource":"/etc/shadow","Result":"Permission denied","PolicyName":"p"}'
    dead = tmp_path / "dead.ndjson"
    res = _run(["map", "--to", "ecs", "--dead-letter", str(dead)], stdin=b"\n".join([good1, bad, good2]) + b"\n")
    assert res.returncode == 1
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [d["host"]["name"] for d in docs] == ["n1", "n2"]
    assert docs[1]["event"]["type"] == ["access", "denied"]
    rec = json.loads(dead.read_bytes())
    assert rec["location"] == "<stdin>:2" and rec["original"].startswith('{"Type"') and rec["reason"]
    assert b"<stdin>:2: rejected:" in res.stderr


def test_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    res = _run(["map", str(tmp_path / "missing.json")])
    assert res.returncode == 2 and b"cannot read" in res.stderr and b"missing.json" in res.stderr


def test_unknown_option_is_a_usage_error() -> None:
    assert _run(["map", "--to", "xml"]).returncode == 2
