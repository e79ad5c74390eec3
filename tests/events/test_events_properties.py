"""Property-based tests: whatever comes in, only ParsedEvent / Rejected come out (or ParseError
from ``normalize``), and the canonical invariants hold."""

from __future__ import annotations

import io
import os
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from integrations import jsoncodec
from integrations.errors import ParseError
from integrations.events import event_time, is_alert, iter_parse, normalize, parse_object
from integrations.events.normalize import _fast, _general, _plan_for
from integrations.model import CANONICAL_FIELDS, ParsedEvent, Rejected

#: EVENTS_HYPOTHESIS_EXAMPLES=2000 for a longer local run
EXAMPLES = int(os.environ.get("EVENTS_HYPOTHESIS_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# JSON-like values (ints within the range JSON decoders produce)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["", "0", "5", "1.252488e+06", "Medium", "map[Ref:Pod Name:x]", "a,b", "yesterday",
                       "2023-08-23T18:05:48.301798Z", "containerlog", "PROCESS", "SystemEvent"])
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
variants = [k for name in CANONICAL_FIELDS for k in (name, name.lower(), name.upper())] + [
    "hostPid", "hostPPid", "atags", "owner.ref", "OwnerRef", "OwnerName", "ExecEvent.ExecID", "secret_key",
    "Hostname", "source", "EventType", "Detail", "_source", "response", "data", "count", "errors",
    "body", "FromTime", "ToTime", "Cluster Name",
]
keys = st.sampled_from(variants) | st.text(max_size=10)
event_dicts = st.dictionaries(keys, json_values, max_size=12)
canonical_dicts = st.dictionaries(st.sampled_from(list(CANONICAL_FIELDS)), json_values, max_size=15)


def collect(gen, limit=100_000):
    """``list(gen)`` that fails instead of eating memory if the reader loops."""
    out = []
    for r in gen:
        out.append(r)
        assert len(out) <= limit, "the reader produced too many results (loop?)"
    return out


def _check_results(results, canonical_problems):
    for r in results:
        assert isinstance(r, (ParsedEvent, Rejected)), r
        if isinstance(r, ParsedEvent):
            problems = canonical_problems(r.fields)
            assert not problems, (problems, r.fields)
            assert isinstance(r.warnings, list) and all(isinstance(w, str) for w in r.warnings)
            t = event_time(r.fields)
            assert t is None or isinstance(t, float)
            assert is_alert(r.fields) in (True, False)
        else:
            assert isinstance(r.reason, str) and r.reason
            jsoncodec.dumps(r.to_dead_letter())


@SETTINGS
@given(obj=event_dicts)
def test_parse_object_never_raises(canonical_problems, obj):
    _check_results(parse_object(obj, "p:1"), canonical_problems)


@SETTINGS
@given(obj=json_values)
def test_parse_object_any_json_value(canonical_problems, obj):
    _check_results(parse_object(obj, "p:1"), canonical_problems)


@SETTINGS
@given(obj=event_dicts)
def test_normalize_raises_only_parse_error(canonical_problems, obj):
    try:
        ev = normalize(obj, "n:1")
    except ParseError as e:
        assert e.reason and e.location == "n:1"
    else:
        assert not canonical_problems(ev.fields)


@SETTINGS
@given(canonical_dicts)
def test_fast_path_equals_general_path(obj):
    plan = _plan_for(tuple(obj))
    assume(plan is not None)
    fw, gw = [], []
    try:
        general = _general(obj, gw, "x")
    except ParseError:
        general = "error"
    try:
        fast = _fast(obj, plan, fw, "x")
    except ParseError:
        fast = "error"
    if fast is None:
        return  # the fast path declined: the general path is used
    assert fast == general
    if fast != "error":
        assert sorted(fw) == sorted(gw)  # same remarks; their order may differ


@SETTINGS
@given(data=st.binary(max_size=400))
def test_iter_parse_random_bytes(canonical_problems, data):
    _check_results(collect(iter_parse(io.BytesIO(data), "r")), canonical_problems)


@SETTINGS
@given(data=st.binary(max_size=200),
       head=st.sampled_from([b"{", b"[", b'"', b"1", b"== Alert / x ==\n", b"\xef\xbb\xbf{"]))
def test_iter_parse_random_bytes_after_a_form_byte(canonical_problems, data, head):
    _check_results(collect(iter_parse(io.BytesIO(head + data), "r")), canonical_problems)


def _corpus_lines(shared_dir):
    lines = []
    for p in sorted((shared_dir / "corpus" / "real").glob("*.jsonl")):
        if p.name != "provenance.jsonl":
            lines.extend(p.read_bytes().splitlines())
    lines.extend((shared_dir / "corpus" / "synthetic" / "synthetic-edge-cases.jsonl").read_bytes().splitlines())
    return lines


@pytest.fixture(scope="module")
def corpus_lines(shared_dir):
    return _corpus_lines(shared_dir)


_mutation = st.tuples(
    st.integers(min_value=0, max_value=10_000),  # which line
    st.lists(
        st.tuples(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]),
                  st.integers(min_value=0, max_value=100_000), st.binary(min_size=1, max_size=4)),
        min_size=1, max_size=5,
    ),
    st.integers(min_value=1, max_value=64),  # chunk size for the stream
)


@SETTINGS
@given(mutation=_mutation)
def test_mutated_corpus_lines(corpus_lines, canonical_problems, mutation):
    index, edits, chunk = mutation
    line = bytearray(corpus_lines[index % len(corpus_lines)])
    for op, pos, blob in edits:
        if not line:
            break
        p = pos % len(line)
        if op == "flip":
            line[p] = blob[0]
        elif op == "insert":
            line[p:p] = blob
        elif op == "delete":
            del line[p : p + len(blob)]
        elif op == "truncate":
            del line[p:]
        else:
            line[p:p] = line[: min(p, 50)]
    good = corpus_lines[(index + 1) % len(corpus_lines)]
    data = bytes(line) + b"\n" + good + b"\n"
    results = collect(iter_parse(io.BytesIO(data), "m", chunk_size=chunk))
    _check_results(results, canonical_problems)
    assert results, "something must come out"
    n_lines = data.count(b"\n")
    for r in results:
        name, _, line_no = r.location.rpartition(":")
        assert name == "m" and 1 <= int(line_no) <= n_lines, (r.location, n_lines)
    # the intact last line still parses, unless the damage left a value open that swallowed it
    expected = parse_object(jsoncodec.loads(good), f"m:{n_lines}")[0]
    last = results[-1]
    if isinstance(last, ParsedEvent) and last.location == f"m:{n_lines}":
        assert last.fields == expected.fields


@settings(max_examples=40, deadline=None)
@given(picks=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=8),
       chunk=st.integers(min_value=1, max_value=300), form=st.sampled_from(["ndjson", "array", "pretty"]))
def test_chunk_size_invariance(corpus_lines, picks, chunk, form):
    import orjson

    objs = [jsoncodec.loads(corpus_lines[i % len(corpus_lines)]) for i in picks]
    if form == "ndjson":
        data = b"\n".join(jsoncodec.dumps(o) for o in objs)
    elif form == "array":
        data = orjson.dumps(objs, option=orjson.OPT_INDENT_2 if chunk % 2 else 0)
    else:
        data = b"\n".join(orjson.dumps(o, option=orjson.OPT_INDENT_2) for o in objs)

    def summary(results):
        return [(type(r).__name__, r.location, getattr(r, "fields", None)) for r in results]

    small = summary(iter_parse(io.BytesIO(data), "c", chunk_size=chunk))
    big = summary(iter_parse(io.BytesIO(data), "c"))
    assert small == big
    assert len(big) == len(objs) and all(k == "ParsedEvent" for k, _, _ in big)


def test_random_text_blocks_never_raise(shared_dir, canonical_problems):
    text = (shared_dir / "corpus" / "real" / "karmor-text-samples.txt").read_text(encoding="utf-8").splitlines()
    rng = random.Random(7)
    for _ in range(200):
        lines = [rng.choice(text) for _ in range(rng.randint(1, 30))]
        if rng.random() < 0.3:
            lines.insert(0, "== Alert / 2023-03-22 06:40:00.241489 ==")
        _check_results(collect(iter_parse(io.BytesIO("\n".join(lines).encode()), "t")), canonical_problems)
