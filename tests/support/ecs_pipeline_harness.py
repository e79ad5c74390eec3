"""Run the rendered ECS ingest pipelines in the offline simulator, next to the Python mapper.

Shared by ``tests/render/test_ecs_pipeline.py`` and ``tests/golden/``: both
implementations of the one mapping definition get the same raw event (the JSON a
shipper sends as ``message``) and the same clock, and their documents are compared
with only ``event.ingested`` masked.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from integrations.events import iter_parse_path
from integrations.events.normalize import normalize
from integrations.jsoncodec import dumps_str
from integrations.mapping import Mapper, load_definition
from integrations.mapping.definition import Definition
from integrations.model import ParsedEvent
from integrations.render.ecs_pipeline import pipeline_ids, render_pipelines
from tests.conftest import CORPUS
from tests.support.ingest_sim import IngestDocument, PipelineStore, Runtime, fixed_clock
from tests.support.ingest_sim.document import to_json_value

#: the ingest time both implementations see (``_ingest.timestamp`` / ``Mapper.clock``)
CLOCK_ISO = "2024-01-02T03:04:05.123456Z"
CLOCK_EPOCH = 1704164645.123456
MASKED = ("event", "ingested")

#: the corpus the parity test covers (corpus/README.md, "How tests should use the corpus")
CORPUS_FILES: List[Path] = sorted(
    p for p in (CORPUS / "real").glob("*.jsonl") if p.name != "provenance.jsonl"
) + [CORPUS / "synthetic" / "synthetic-edge-cases.jsonl", CORPUS / "real" / "karmor-text-samples.txt"]


@lru_cache(maxsize=1)
def definition() -> Definition:
    return load_definition()


def mapper(defn: Optional[Definition] = None, **kw: Any) -> Mapper:
    """A mapper with the fixed clock (the bundled definition's one is shared)."""
    if defn is None and not kw:
        return _default_mapper()
    return Mapper(defn or definition(), clock=lambda: (CLOCK_ISO, CLOCK_EPOCH), **kw)


@lru_cache(maxsize=1)
def _default_mapper() -> Mapper:
    return Mapper(definition(), clock=lambda: (CLOCK_ISO, CLOCK_EPOCH))


class Pipelines:
    """The three rendered pipelines loaded into a simulator store."""

    def __init__(self, defn: Optional[Definition] = None) -> None:
        self.defn = defn or definition()
        self.rendered = render_pipelines(self.defn)
        self.ids = pipeline_ids(self.defn)
        self.store = PipelineStore()
        for item in self.rendered.values():
            self.store.put(item["name"], item["body"])

    def run(self, source: Dict[str, Any], stream: str) -> Dict[str, Any]:
        """The document the ``<stream>`` data stream's default pipeline produces (``_source``)."""
        doc = IngestDocument(json.loads(json.dumps(source)), clock=fixed_clock(CLOCK_ISO))
        result = Runtime(self.store).run_pipeline(self.store.get(self.ids[stream]), doc)
        assert result is not None, "the pipeline dropped the document"
        return to_json_value(result.source)

    def run_message(self, x: Dict[str, Any], stream: str) -> Dict[str, Any]:
        return self.run({"message": dumps_str(x)}, stream)


@lru_cache(maxsize=1)
def pipelines() -> Pipelines:
    return Pipelines()


def python_event(x: Dict[str, Any], location: str = "") -> ParsedEvent:
    """The canonical event of ``x`` with ``x`` as the original: what the pipeline receives, mapped in Python."""
    event = normalize(x, location)
    event.original = x
    return event


def mask(doc: Dict[str, Any]) -> Dict[str, Any]:
    """A copy without ``event.ingested`` (which must be present)."""
    doc = json.loads(json.dumps(doc))
    parent = doc.get(MASKED[0]) or {}
    assert MASKED[1] in parent, f"{'.'.join(MASKED)} is missing"
    del parent[MASKED[1]]
    return doc


def corpus_events() -> List[Tuple[str, Dict[str, Any]]]:
    """``(location, x)`` for every corpus event: ``x`` is the decoded original, or the canonical fields of a
    karmor text block."""
    out = []
    for path in CORPUS_FILES:
        for item in iter_parse_path(path):
            if isinstance(item, ParsedEvent):
                x = item.original if isinstance(item.original, dict) else item.fields
                out.append((f"{path.name}:{item.location.rsplit(':', 1)[-1]}", x))
    return out


def diff(a: Any, b: Any, path: str = "") -> List[str]:
    """Readable differences between two JSON documents."""
    out: List[str] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            sub = f"{path}.{k}" if path else k
            if k not in a:
                out.append(f"only pipeline: {sub} = {json.dumps(b[k])[:200]}")
            elif k not in b:
                out.append(f"only python:   {sub} = {json.dumps(a[k])[:200]}")
            else:
                out += diff(a[k], b[k], sub)
    elif a != b or isinstance(a, bool) != isinstance(b, bool):
        out.append(f"differs:       {path}: python={json.dumps(a)[:200]} pipeline={json.dumps(b)[:200]}")
    return out
