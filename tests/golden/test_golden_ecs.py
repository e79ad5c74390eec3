"""Golden files in the elastic/integrations style, checked against both mapping implementations.

``tests/golden/<dataset>/test-<name>.json`` holds ``{"events": [...]}``: the documents a
shipper sends to the ``logs-accuknox.<dataset>`` data stream (the raw KubeArmor JSON
as the string ``message``). ``test-<name>.json-expected.json`` holds
``{"expected": [...]}``: the ECS documents, with ``event.ingested`` masked (removed).

Each event goes through the Python mapper (``json.loads`` -> parser normalisation ->
``Mapper.to_ecs``) and through the rendered ingest pipelines in the offline simulator;
both must equal the expected document. An input the parser rejects (a malformed
``message``) expects the pipeline's ``event.kind: pipeline_error`` document.

``GENERATE=1 pytest tests/golden`` rewrites the expected files from the Python mapper
(from the pipeline for rejected inputs) - and still fails if the pipeline disagrees.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from integrations.errors import ParseError
from tests.support.ecs_pipeline_harness import diff, mapper, mask, pipelines, python_event

GOLDEN = Path(__file__).resolve().parent
CASES = sorted(p for p in GOLDEN.glob("*/test-*.json") if not p.name.endswith("-expected.json"))
GENERATE = os.environ.get("GENERATE", "") not in ("", "0")


def _expected_path(path: Path) -> Path:
    return path.with_name(path.name + "-expected.json")


_FAILED_WITH = "failed with message: "


def _mask_parser_text(doc: Dict[str, Any]) -> Dict[str, Any]:
    """The JSON parser's own wording (Jackson in Elasticsearch, Python's json in the simulator) is not expected."""
    messages = (doc.get("error") or {}).get("message")
    if isinstance(messages, list):
        doc["error"]["message"] = [m.split(_FAILED_WITH, 1)[0] + _FAILED_WITH + "<parser message>"
                                   if "tag input:json " in m else m for m in messages]
    return doc


def _python(event: Dict[str, Any], dataset: str) -> Optional[Dict[str, Any]]:
    """The Python mapper's document, or None when the parser rejects the input."""
    try:
        x = json.loads(event["message"])
        parsed = python_event(x)
    except (ValueError, ParseError):
        return None
    assert mapper().facts(parsed.fields)["stream"] == dataset, "the case is filed under the wrong dataset"
    return mask(mapper().to_ecs(parsed))


def test_cases_exist() -> None:
    assert len(CASES) >= 50
    assert {p.parent.name for p in CASES} == {"alert", "log"}


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_golden(path: Path) -> None:
    dataset = path.parent.name
    events = json.loads(path.read_text(encoding="utf-8"))["events"]
    python_docs: List[Optional[Dict[str, Any]]] = []
    pipeline_docs: List[Dict[str, Any]] = []
    for event in events:
        got = pipelines().run(event, dataset)
        assert isinstance(got["event"]["ingested"], str)
        pipeline_docs.append(_mask_parser_text(mask(got)))
        python_docs.append(_python(event, dataset))
    expected_path = _expected_path(path)
    if GENERATE:
        generated = [py if py is not None else es for py, es in zip(python_docs, pipeline_docs)]
        expected_path.write_text(json.dumps({"expected": generated}, indent=2, sort_keys=True, ensure_ascii=False)
                                 + "\n", encoding="utf-8")
    assert expected_path.exists(), f"{expected_path.name} missing: run with GENERATE=1"
    expected = json.loads(expected_path.read_text(encoding="utf-8"))["expected"]
    assert len(expected) == len(events)
    for i, (want, py, es) in enumerate(zip(expected, python_docs, pipeline_docs)):
        if py is None:
            assert want["event"]["kind"] == "pipeline_error" and "message" in want["error"]
        else:
            problems = diff(want, py)
            assert not problems, f"{path.name}[{i}] python mapper:\n" + "\n".join(problems)
        problems = diff(want, es)
        assert not problems, f"{path.name}[{i}] ingest pipeline:\n" + "\n".join(problems)
