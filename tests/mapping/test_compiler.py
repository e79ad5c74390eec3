"""The compiled mapper gives exactly the interpreted mapper's output.

Compared over the whole corpus, emulator-generated events of every Type and
Operation, and random mutations (hypothesis).
"""

from __future__ import annotations

from typing import Any, Dict

from hypothesis import HealthCheck, given, settings

from integrations.emulator import generate_events, generate_logs
from integrations.errors import ParseError
from integrations.events import normalize
from integrations.mapping import Mapper
from integrations.model import ParsedEvent
from tests.mapping.test_corpus_mapping import _all_events
from tests.mapping.test_mapper_properties import mutated_event

CLOCK = lambda: ("2026-01-01T00:00:00.000000Z", 1767225600.0)  # noqa: E731
INTERPRETED = Mapper(compiled=False, clock=CLOCK)
COMPILED = Mapper(clock=CLOCK)


def _same(fields: Dict[str, Any], original: Any = None) -> None:
    ecs, cim = COMPILED._compiled.functions(fields)
    assert ecs(fields, original) == INTERPRETED.to_ecs(ParsedEvent(fields, original))
    assert cim(fields) == INTERPRETED.to_cim(fields)


def test_corpus() -> None:
    events = _all_events()
    for ev in events:
        _same(ev.fields, ev.original)
    assert len(COMPILED._compiled._classes) > 10


def test_generated_events_of_every_class() -> None:
    rows = list(generate_events(600, seed=3, start=1.7e9, rate=5)) + list(generate_logs(300, seed=4, start=1.7e9, rate=5))
    # twice: the second pass reads transform results from the caches the first one filled, and
    # documents of the first pass are mutated in between (a shared cached value would show)
    first = []
    for row in rows:
        ev = normalize(row)
        _same(ev.fields, ev.original)
        first.append(COMPILED.to_ecs(ev))
    for doc in first:
        for obj in doc.values():
            if isinstance(obj, dict):
                for v in obj.values():
                    if isinstance(v, list):
                        v.append("mutated")
                    elif isinstance(v, dict):
                        v["mutated"] = True
    for row in rows:
        ev = normalize(row)
        _same(ev.fields, ev.original)


def test_mapper_uses_the_compiled_path() -> None:
    ev = _all_events()[0]
    COMPILED.to_ecs(ev)
    t = ev.fields.get("Type")
    o = ev.fields.get("Operation")
    assert (t.lower() if t else None, o.lower() if o else None) in COMPILED._compiled._classes


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_event())
def test_mutated_events(ev: Dict[str, Any]) -> None:
    try:
        parsed = normalize(ev, "prop")
    except ParseError:
        return
    _same(parsed.fields, parsed.original)
