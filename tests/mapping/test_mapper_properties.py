"""Property tests: random and mutated canonical events never crash the mapper.

Values are drawn from the shapes the event schema documents (and hostile
variations: wrong types, huge strings, control characters, odd Resource
grammars); every result must still be a conforming-shaped ECS document and CIM
record.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Dict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.errors import ParseError
from integrations.events import normalize
from integrations.model import CANONICAL_FIELDS, ParsedEvent
from tests.conftest import corpus_lines

_SAMPLES = [json.loads(line) for _, line in corpus_lines()]

text = st.text(max_size=60)
hostile_text = st.one_of(
    text,
    st.sampled_from(["", " ", "...", "=", "a=b=c", "sin_addr= sin_port=", "remoteip=::1 port=99999",
                     "domain=AF_INET6 type=SOCK_DGRAM protocol=UDP", "\x00", "SYS_", "lsm=", "kfunc=,,,",
                     "registry:5000/", "@sha256:", "MITRE_T", "MITRE_TA0001_", "/", "//", "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace")]),
)
scalar = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=True),
                   hostile_text)
value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(text, inner, max_size=4)), max_leaves=8)
field_names = st.sampled_from(list(CANONICAL_FIELDS) + ["extra", "secret_key", "hostPid", "atags", "owner"])


@st.composite
def mutated_event(draw: Any) -> Dict[str, Any]:
    ev = copy.deepcopy(draw(st.sampled_from(_SAMPLES)))  # never mutate the shared samples
    ev = ev.get("_source", ev) if isinstance(ev.get("_source"), dict) else ev
    for _ in range(draw(st.integers(0, 6))):
        ev[draw(field_names)] = draw(value)
    for key in draw(st.lists(st.sampled_from(list(ev) or ["x"]), max_size=3)):
        ev.pop(key, None)
    return ev


def _check(mapper, ev: Dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    try:
        parsed = normalize(ev, "prop")
    except ParseError:
        return
    assert isinstance(parsed, ParsedEvent)
    doc = mapper.to_ecs(parsed)
    assert doc["event"]["kind"] in ("alert", "event")
    assert isinstance(doc["@timestamp"], str) and doc["event"]["id"]
    rec = mapper.to_cim(parsed)
    assert isinstance(rec["eventtype"], list)
    json.dumps(doc)  # always serialisable
    json.dumps(rec)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_event())
def test_mutated_corpus_events_never_crash(mapper, ev: Dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    _check(mapper, ev)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(field_names, value, max_size=12))
def test_random_events_never_crash(mapper, ev: Dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    _check(mapper, ev)


def test_raw_mapping_nested_too_deep_is_a_mapping_error() -> None:
    """A raw dict skips the parser's depth check; a value deeper than encoders go is refused, not mapped
    into a document no JSON encoder can write (found by the fuzzer: orjson stops at 254 levels)."""
    import pytest

    from integrations.errors import MappingError
    from integrations.mapping import Mapper

    deep: dict = {}
    cur = deep
    for _ in range(300):
        cur["a"] = {}
        cur = cur["a"]
    for compiled in (True, False):
        m = Mapper(compiled=compiled)
        with pytest.raises(MappingError, match="nested deeper than 128"):
            m.to_ecs({"Type": "MatchedPolicy", "Operation": "File", "Resource": deep})
        with pytest.raises(MappingError, match="nested deeper than 128"):
            m.to_cim({"Type": "MatchedPolicy", "Operation": "File", "Resource": deep})
        # shallow nesting still maps (the parser would have refused the object; the mapper keeps it)
        assert m.to_ecs({"Type": "MatchedPolicy", "Operation": "File", "Resource": {"a": {"b": 1}}})
