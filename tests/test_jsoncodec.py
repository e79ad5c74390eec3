"""The JSON codec: exact-size bytes for what sinks keep a whole batch of.

orjson returns its growth buffer (a 4 KB document in a 16 KB block). A sink
holds 1000 of them per batch, so that buffer decided the poller's peak RSS:
these tests measure the allocation with tracemalloc (deterministic, not timed).
"""

from __future__ import annotations

import tracemalloc
from typing import Any, Callable, Dict

import pytest

from integrations import jsoncodec
from integrations.events import iter_parse_path
from integrations.model import ParsedEvent
from tests.support.ecs_pipeline_harness import CORPUS_FILES

#: allowance per object above its length: the bytes header (33 B) and allocator rounding
SLACK = 64


def _allocated(fn: Callable[[], bytes]) -> tuple:
    tracemalloc.start()
    try:
        out = fn()
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, held


@pytest.fixture(scope="module")
def big_document(mapper: Any) -> Dict[str, Any]:
    """The largest ECS document of the corpus (several KB: orjson's buffer grows past it)."""
    docs = [mapper.to_ecs(item) for path in CORPUS_FILES for item in iter_parse_path(path)
            if isinstance(item, ParsedEvent)]
    return max(docs, key=lambda d: len(jsoncodec.dumps(d)))


@pytest.mark.parametrize("name", ["dumps_line", "dumps_kept"])
def test_kept_bytes_own_exactly_their_size(name: str, big_document: Dict[str, Any]) -> None:
    fn = getattr(jsoncodec, name)
    out, held = _allocated(lambda: fn(big_document))
    assert len(out) > 2000
    assert held <= len(out) + SLACK, f"{name} keeps {held} bytes for {len(out)} bytes of JSON"


def test_dumps_line_is_one_ndjson_line(big_document: Dict[str, Any]) -> None:
    line = jsoncodec.dumps_line(big_document)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert jsoncodec.loads(line) == big_document
    assert jsoncodec.dumps_kept(big_document) == jsoncodec.dumps(big_document) == line[:-1]
