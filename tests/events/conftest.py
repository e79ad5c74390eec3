"""Corpus parametrisation and canonical-event checks for the event-parser tests.

The shared corpus lives beside the repository (``<repo>/../shared``) on developer
machines and in CI; ``ACCUKNOX_SHARED_DIR`` overrides the location. The
``shared_dir`` fixture itself is the project-wide one of ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Tuple

import pytest

SHARED_DIR = Path(os.environ.get("ACCUKNOX_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
CORPUS = SHARED_DIR / "corpus"
REAL = CORPUS / "real"
SYNTHETIC = CORPUS / "synthetic"
TEXT_SAMPLES = REAL / "karmor-text-samples.txt"

#: JSON files whose every line is one event that must parse and map.
EVENT_FILES = sorted(p for p in REAL.glob("*.jsonl") if p.name != "provenance.jsonl") + [
    SYNTHETIC / "synthetic-edge-cases.jsonl"
]
API_SHAPES = SYNTHETIC / "saas-api-shapes.jsonl"


def _lines(path: Path) -> List[Tuple[str, int, bytes]]:
    if not path.exists():
        return []
    with open(path, "rb") as f:
        return [(path.name, i, line) for i, line in enumerate(f.read().splitlines(), 1)]


def event_lines() -> List[Tuple[str, int, bytes]]:
    out = []
    for p in EVENT_FILES:
        out.extend(_lines(p))
    return out


def text_blocks() -> List[Tuple[int, int, str]]:
    """``(source line, first data line, block text)`` of each sample block."""
    if not TEXT_SAMPLES.exists():
        return []
    lines = TEXT_SAMPLES.read_text(encoding="utf-8").splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("### SOURCE"):
            start = i + 2  # 1-based number of the first data line
            j = i + 1
            while j < len(lines) and lines[j].strip() != "=====":
                j += 1
            blocks.append((i + 1, start, "\n".join(lines[i + 1 : j])))
            i = j
        i += 1
    return blocks


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "event_line" in metafunc.fixturenames:
        data = event_lines()
        metafunc.parametrize("event_line", data, ids=[f"{n}:{i}" for n, i, _ in data])
    if "api_line" in metafunc.fixturenames:
        data = _lines(API_SHAPES)
        metafunc.parametrize("api_line", data, ids=[f"{n}:{i}" for n, i, _ in data])
    if "text_block" in metafunc.fixturenames:
        data = text_blocks()
        metafunc.parametrize("text_block", data, ids=[f"karmor-text-samples.txt:{s}" for _, s, _ in data])


# ``shared_dir`` comes from tests/conftest.py (same location rule as SHARED_DIR above).


def canonical_problems(fields: dict) -> List[str]:
    """What is wrong with a canonical event per ``integrations.model`` (empty list: nothing)."""
    from integrations.events.normalize import KNOWN_OPERATIONS, KNOWN_TYPES
    from integrations.jsoncodec import dumps
    from integrations.model import CANONICAL_FIELDS

    problems = []
    ints = ("Timestamp", "HostPPID", "HostPID", "PPID", "PID", "UID", "MaxAlertsPerSec", "DroppingAlertsInterval")
    for key in CANONICAL_FIELDS:
        if key not in fields:
            continue
        v = fields[key]
        if v is None or v == "" or v == [] or v == {}:
            problems.append(f"{key} is empty ({v!r})")
        elif key in ints:
            if type(v) is not int:
                problems.append(f"{key} is not an int: {v!r}")
        elif key == "Severity":
            numeric_text = isinstance(v, str) and v.strip().lstrip("+-").isdigit() and len(v.strip()) < 19
            if type(v) is not int and not (isinstance(v, str) and v.strip() and not numeric_text):
                problems.append(f"Severity neither int nor non-numeric text: {v!r}")
        elif key == "ATags":
            if not (isinstance(v, list) and all(isinstance(x, str) and x for x in v)):
                problems.append(f"ATags not a list of non-empty str: {v!r}")
        elif key in ("Owner", "ExecEvent"):
            allowed = {"Ref", "Name", "Namespace"} if key == "Owner" else {"ExecID", "ExecutableName"}
            if not (isinstance(v, dict) and set(v) <= allowed and all(isinstance(x, str) and x for x in v.values())):
                problems.append(f"{key} has the wrong shape: {v!r}")
        elif key == "EventData":
            if not (isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())):
                problems.append(f"EventData is not dict[str, str]: {v!r}")
        elif not isinstance(v, str):
            problems.append(f"{key} is not a str: {v!r}")
    if "Timestamp" in fields and isinstance(fields["Timestamp"], int) and fields["Timestamp"] > 10**11:
        problems.append("Timestamp is not in seconds")
    for key in fields:
        if key.lower() in ("secret_key", "secretkey"):
            problems.append(f"credential {key} forwarded")
    t = fields.get("Type")
    if isinstance(t, str) and t not in KNOWN_TYPES and t.lower() in {x.lower() for x in KNOWN_TYPES}:
        problems.append(f"Type {t!r} not in canonical spelling")
    op = fields.get("Operation")
    if isinstance(op, str) and op not in KNOWN_OPERATIONS and op.lower() in {x.lower() for x in KNOWN_OPERATIONS}:
        problems.append(f"Operation {op!r} not in canonical spelling")
    try:
        dumps(fields)
    except Exception as e:  # noqa: BLE001
        problems.append(f"not JSON-encodable: {e}")
    return problems


@pytest.fixture(scope="session")
def check_canonical():
    """``check_canonical(fields)`` asserts the canonical-event invariants."""

    def check(fields: dict) -> None:
        problems = canonical_problems(fields)
        assert not problems, problems

    return check


@pytest.fixture(scope="session")
def corpus(shared_dir):
    """Paths of the corpus files used by the tests."""
    from types import SimpleNamespace

    return SimpleNamespace(
        real=REAL,
        synthetic=SYNTHETIC,
        text_samples=TEXT_SAMPLES,
        event_files=list(EVENT_FILES),
        api_shapes=API_SHAPES,
        by_name={p.name: p for p in EVENT_FILES + [API_SHAPES]},
    )


@pytest.fixture(scope="session", name="canonical_problems")
def canonical_problems_fixture():
    """The :func:`canonical_problems` function (for tests that collect rather than assert)."""
    return canonical_problems
