"""``parse_object`` skips its depth check for rows the fast path of ``normalize`` takes.

The results must be exactly those of the original order (depth check first, then
normalisation): same kind, reason, location, fields, warnings and original.
"""

from __future__ import annotations

import os
from typing import Any, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.errors import ParseError
from integrations.events import normalize, parse_object
from integrations.events.envelopes import MAX_NESTING, _collect, _deep_preview, _deeper_than
from integrations.events.normalize import KNOWN_TYPES, _normalize_fast
from integrations.model import CANONICAL_FIELDS, ParsedEvent, ParseResult, Rejected

EXAMPLES = int(os.environ.get("EVENTS_HYPOTHESIS_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ROW = {
    "Timestamp": 1717000200, "UpdatedTime": "2024-05-29T16:30:00.123456Z", "HostName": "n1",
    "Type": "MatchedPolicy", "Operation": "File", "HostPID": 10, "PID": 7, "UID": 0,
    "Severity": "6", "ATags": ["NIST", "MITRE"], "Owner": {"Ref": "Pod", "Name": "p", "Namespace": "ns"},
    "ExecEvent": {"ExecID": "1", "ExecutableName": "sh"}, "EventData": {"Lsm": "FILE_OPEN"},
    "Resource": "/etc/shadow", "HashID": "abc",
}
STRUCTURED = ("Severity", "ATags", "Owner", "ExecEvent", "EventData")


def reference(obj: Any, location: str) -> List[ParseResult]:
    """``parse_object`` as it was: the depth check on every value, then normalisation."""
    if (obj.__class__ is dict or obj.__class__ is list) and _deeper_than(obj, MAX_NESTING):
        return [Rejected(f"value nested deeper than {MAX_NESTING} levels", location, _deep_preview(obj))]
    if obj.__class__ is dict:
        t = obj.get("Type")
        if t is not None and t.__class__ is str and t in KNOWN_TYPES:
            try:
                return [normalize(obj, location)]
            except ParseError as e:
                return [Rejected(e.reason, location, obj)]
            except Exception as e:  # noqa: BLE001 - mirrors parse_object
                return [Rejected(f"internal error while normalising: {type(e).__name__}: {e}", location, obj)]
    out: List[ParseResult] = []
    _collect(obj, location, out, 0)
    return out


def assert_same(got: List[ParseResult], want: List[ParseResult]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert type(g) is type(w), (g, w)
        if isinstance(g, Rejected):
            assert (g.reason, g.location, g.original) == (w.reason, w.location, w.original)
        else:
            assert isinstance(g, ParsedEvent) and isinstance(w, ParsedEvent)
            assert g.fields == w.fields and g.warnings == w.warnings
            assert g.location == w.location and g.original is w.original  # the input itself, as before


def nest(depth: int, leaf: Any = "x", kind: str = "dict") -> Any:
    """A value ``depth`` container levels deep (``depth`` 0: the leaf itself)."""
    v = leaf
    for _ in range(depth):
        v = {"a": v} if kind == "dict" else [v]
    return v


def test_max_nesting_allows_a_fast_path_row() -> None:
    # a fast-path row nests at most two levels: the skipped check could never reject it
    assert MAX_NESTING >= 2
    assert not _deeper_than(ROW, 2)


def test_plain_row_takes_the_fast_path_and_matches() -> None:
    row = dict(ROW)
    assert _normalize_fast(row, "r:1") is not None
    assert_same(parse_object(row, "r:1"), reference(row, "r:1"))


@pytest.mark.parametrize("field", STRUCTURED + ("HostName", "Resource", "PID"))
@pytest.mark.parametrize("depth", [1, 2, 3, MAX_NESTING - 2, MAX_NESTING - 1, MAX_NESTING, MAX_NESTING + 1, 300])
@pytest.mark.parametrize("kind", ["dict", "list"])
def test_deep_value_in_any_field(field: str, depth: int, kind: str) -> None:
    row = dict(ROW, **{field: nest(depth, kind=kind)})
    got, want = parse_object(row, "r:2"), reference(row, "r:2")
    assert_same(got, want)
    if depth + 1 > MAX_NESTING:
        assert isinstance(got[0], Rejected) and "nested deeper" in got[0].reason


@pytest.mark.parametrize("value", [{}, [], {"Name": "", "Ref": ""}, ["", None, 5], {"x": 1}, [1.5, True]])
@pytest.mark.parametrize("field", STRUCTURED)
def test_flat_containers_stay_on_the_fast_path(field: str, value: Any) -> None:
    """Containers of scalars cannot nest deeper: the fast path keeps them (no depth check needed)."""
    row = dict(ROW, **{field: value})
    try:
        fast = _normalize_fast(row, "r:3")
    except ParseError:
        fast = None  # e.g. Severity as an object: rejected, same as before (checked below)
    if fast is not None:
        assert_same([fast], [normalize(row, "r:3")])
    assert_same(parse_object(row, "r:3"), reference(row, "r:3"))


@pytest.mark.parametrize("field", STRUCTURED)
def test_nested_container_declines_the_fast_path(field: str) -> None:
    row = dict(ROW, **{field: {"a": {"b": "c"}} if field != "ATags" else [["x"]]})
    assert _normalize_fast(row, "r:4") is None  # the caller runs the depth check, then normalize
    assert_same(parse_object(row, "r:4"), reference(row, "r:4"))


def test_error_before_a_deep_field_still_reports_the_depth() -> None:
    """Severity as an object raises while normalising; a deeper field after it must still win."""
    row = {"Type": "MatchedPolicy", "HostName": "n1", "Severity": {"a": 1}, "EventData": nest(MAX_NESTING + 5)}
    got = parse_object(row, "r:5")
    assert_same(got, reference(row, "r:5"))
    assert isinstance(got[0], Rejected) and "nested deeper" in got[0].reason
    shallow = dict(row, EventData={"k": "v"})
    got = parse_object(shallow, "r:6")
    assert_same(got, reference(shallow, "r:6"))
    assert isinstance(got[0], Rejected) and "Severity" in got[0].reason


def test_no_kubearmor_field_after_the_depth_check() -> None:
    # not the hot path (no known Type): normalize's fast path still raises the usual error
    row = {"Type": "", "cluster_id": "1"}
    got = parse_object(row, "r:7")
    assert_same(got, reference(row, "r:7"))
    assert isinstance(got[0], Rejected) and "no KubeArmor field" in got[0].reason


# JSON-like values, sometimes far deeper than MAX_NESTING
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=8)
flat = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
                    max_leaves=6)
deep = st.builds(nest, st.integers(MAX_NESTING - 3, MAX_NESTING + 3), flat, st.sampled_from(["dict", "list"]))
values = flat | deep | st.sampled_from(["", "6", "Medium", "map[Ref:Pod Name:x]", "a,b", 0, 1717000200])
rows = st.builds(
    lambda base, extra, t: {**base, **extra, "Type": t},
    st.just({k: v for k, v in ROW.items() if k != "Type"}),
    st.dictionaries(st.sampled_from(list(CANONICAL_FIELDS)), values, max_size=6),
    st.sampled_from(sorted(KNOWN_TYPES)),
)


@SETTINGS
@given(row=rows)
def test_same_results_as_depth_check_first(row: Any) -> None:
    assert_same(parse_object(row, "h:1"), reference(row, "h:1"))
