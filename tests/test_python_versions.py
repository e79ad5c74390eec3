"""The code the Splunk app runs works on Splunk 9.x (Python 3.9) and 10.x (Python 3.13).

Each interpreter gets a small cached virtualenv with the runtime dependencies;
the whole corpus is parsed and mapped there and must give exactly the ECS and
CIM output of the interpreter running the tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS_JSONL, REPO

VERSIONS = {"3.9": "3.9.18", "3.13": "3.13.0"}
CACHE = REPO / ".cache" / "pyvenvs"

SCRIPT = r"""
import json, sys
from integrations.events import iter_parse_path
from integrations.mapping import Mapper
from integrations.model import ParsedEvent
m = Mapper(clock=lambda: ("2026-01-01T00:00:00.000000Z", 1767225600.0))
out = []
for path in sys.argv[1:]:
    for item in iter_parse_path(path):
        if isinstance(item, ParsedEvent):
            out.append([item.location, m.to_ecs(item), m.to_cim(item)])
        else:
            out.append([item.location, "rejected", item.reason])
json.dump(out, sys.stdout, sort_keys=True)
"""


def _interpreter(version: str) -> Path | None:
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions" / VERSIONS[version] / "bin"
    exe = root / f"python{version}"
    return exe if exe.exists() else None


def _venv(version: str) -> Path:
    exe = _interpreter(version)
    if exe is None:
        if os.environ.get("REQUIRE_PY_VERSIONS"):
            pytest.fail(f"Python {version} ({VERSIONS[version]}) is required in CI but not installed under pyenv")
        pytest.skip(f"Python {version} not installed under pyenv")
    venv = CACHE / version
    py = venv / "bin" / "python"
    stamp = venv / "deps.ok"
    if not stamp.exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([str(exe), "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "PyYAML>=6,<7", "requests>=2.31,<3", "orjson>=3.9,<4"],
                       check=True)
        stamp.write_text("ok")
    return py


def _run(py: str | Path) -> list:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run([str(py), "-c", SCRIPT, *map(str, CORPUS_JSONL)], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_corpus_maps_identically_on_splunk_pythons(version: str) -> None:
    expected = _run(sys.executable)
    got = _run(_venv(version))
    assert len(got) == len(expected) > 150
    for g, e in zip(got, expected):
        assert g == e, f"Python {version} differs at {e[0]}"


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_package_compiles_on_splunk_pythons(version: str) -> None:
    py = _venv(version)
    res = subprocess.run([str(py), "-m", "compileall", "-q", str(REPO / "integrations")], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
