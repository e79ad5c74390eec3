"""The EVAL interpreter against known SPL semantics (documented Splunk behaviour)."""

from __future__ import annotations

import pytest

from tests.support.spl import SplError
from tests.support.spl.evallang import evaluate, fields_referenced, functions_used, parse_eval, run_evals


def ev(text: str, **fields):  # type: ignore[no-untyped-def]
    return evaluate(parse_eval(text), fields)


# --------------------------------------------------------------------------- null semantics


def test_missing_field_is_null_and_functions_propagate_it() -> None:
    assert ev("nosuch") is None
    assert ev("lower(nosuch)") is None
    assert ev('replace(nosuch, "a", "b")') is None
    assert ev('match(nosuch, "a")') is None
    assert ev("tonumber(nosuch)") is None


def test_concatenation_with_null_is_null() -> None:
    assert ev('"a" . nosuch . "b"') is None
    assert ev('"a" . x . "b"', x="-") == "a-b"
    assert ev('"n=" . tonumber("5")') == "n=5"


def test_coalesce_skips_null_but_not_empty_text() -> None:
    assert ev('coalesce(nosuch, "d")') == "d"
    assert ev('coalesce(x, "d")', x="") == ""
    assert ev('coalesce(nullif(x, ""), "d")', x="") == "d"
    assert ev("coalesce(nosuch, null())") is None


def test_if_takes_the_else_branch_for_false_and_null_conditions() -> None:
    assert ev('if(x == "a", "yes", "no")', x="a") == "yes"
    assert ev('if(x == "a", "yes", "no")', x="b") == "no"
    assert ev('if(nosuch == "a", "yes", "no")') == "no"


def test_case_takes_the_first_true_branch_else_null() -> None:
    assert ev('case(x == "a", 1, x == "b", 2)', x="b") == 2
    assert ev('case(x == "a", 1, true(), 9)', x="z") == 9
    assert ev('case(x == "a", 1)', x="z") is None
    assert ev('case(nosuch == "a", 1, true(), 2)') == 2


def test_three_valued_and_or() -> None:
    assert ev('nosuch == "a" OR x == "b"', x="b") is True
    assert ev('nosuch == "a" AND x == "c"', x="b") is False
    assert ev('nosuch == "a" AND x == "b"', x="b") is None


def test_not_of_a_null_condition_is_refused() -> None:
    assert ev('NOT x == "a"', x="b") is True
    with pytest.raises(SplError, match="NOT of a null"):
        ev('NOT nosuch == "a"')


def test_isnull_isnotnull_nullif() -> None:
    assert ev("isnull(nosuch)") is True
    assert ev('isnotnull(x)', x="") is True
    assert ev('nullif(x, "")', x="") is None
    assert ev('nullif(x, "")', x="0") == "0"


# --------------------------------------------------------------------------- comparisons


def test_text_comparison_is_case_sensitive() -> None:
    assert ev('x == "Process"', x="process") is False
    assert ev('lower(x) == "process"', x="Process") is True


def test_ambiguous_numeric_comparisons_are_refused() -> None:
    # Splunk may compare "053" and "53" as numbers; the renderer must use match() instead
    with pytest.raises(SplError, match="ambiguous"):
        ev('x == "53"', x="053")
    with pytest.raises(SplError, match="ambiguous"):
        ev('tonumber(x) == "5"', x="5")
    assert ev('match(x, "^53\\z")', x="053") is False
    assert ev("tonumber(x) >= 1", x="5") is True


def test_in_uses_equality() -> None:
    assert ev('in(lower(x), "a", "b")', x="B") is True
    assert ev('in(x, "a", "b")', x="c") is False
    assert ev('in(nosuch, "a")') is None


# --------------------------------------------------------------------------- functions


def test_match_is_an_unanchored_search_and_replace_is_global() -> None:
    assert ev('match(x, "b")', x="abc") is True
    assert ev('replace(x, "a", "-")', x="banana") == "b-n-n-"
    assert ev('replace(x, "^(\\w+) (\\w+)$", "\\2 \\1")', x="hello world") == "world hello"


def test_replace_with_an_unmatched_group_inserts_nothing() -> None:
    assert ev('replace(x, "^(?:(a)|b)$", "[\\1]")', x="b") == "[]"


def test_regexes_have_pcre_ascii_semantics() -> None:
    assert ev('match(x, "\\s")', x="a\u00a0b") is False  # PCRE without UCP: \s is ASCII
    assert ev('match(x, "^\\d$")', x="\u0663") is False
    assert ev('match(x, "a\\z")', x="a\n") is False
    assert ev('match(x, "a$")', x="a\n") is True  # $ also matches before a final newline


def test_string_literal_escapes() -> None:
    assert ev('"a\\"b"') == 'a"b'
    assert ev('"a\\\\b"') == "a\\b"
    assert ev('"\\d"') == "\\d"  # an unknown escape reaches the function unchanged


def test_quoted_field_names() -> None:
    assert ev("'Owner.Name'", **{"Owner.Name": "x"}) == "x"
    assert ev("mvjoin('ATags{}', \",\")", **{"ATags{}": ["a", "b"]}) == "a,b"


def test_tonumber_tostring_len_md5() -> None:
    assert ev('tonumber("007")') == 7
    assert ev('tonumber("")') is None
    assert ev('tonumber("x1")') is None
    assert ev("tostring(tonumber(\"80\"))") == "80"
    assert ev('len("abc")') == 3
    assert ev('md5("")') == "d41d8cd98f00b204e9800998ecf8427e"


def test_multivalue_functions() -> None:
    assert ev('split("a,b,,a", ",")') == ["a", "b", "", "a"]
    assert ev('mvdedup(split("b,a,b", ","))') == ["b", "a"]
    assert ev('mvmap(x, upper(x))', x=["a", "b"]) == ["A", "B"]
    assert ev('mvmap(x, upper(x))', x="a") == ["A"]
    assert ev("mvcount(x)", x=["a", "b"]) == 2
    with pytest.raises(SplError, match="multivalue"):
        ev("lower(x)", x=["a", "b"])


def test_unsupported_syntax_is_refused() -> None:
    for text in ('x + 1', 'x LIKE "a%"', 'nosuchfunction(x)'):
        with pytest.raises(SplError):
            ev(text, x="1")


# --------------------------------------------------------------------------- EVAL keys


def test_evals_are_independent_and_null_removes_the_field() -> None:
    evals = [("a", parse_eval('"new"')), ("b", parse_eval("a")), ("c", parse_eval("null()"))]
    out = run_evals(evals, {"a": "old", "c": "extracted"})
    assert out["a"] == "new"
    assert out["b"] == "old"  # an EVAL never sees another EVAL's result
    assert "c" not in out  # a null result removes the extracted field


def test_static_introspection() -> None:
    node = parse_eval("if(match(x, \"a\"), coalesce('y.z', w), null())")
    assert fields_referenced(node) == ["x", "y.z", "w"]
    assert functions_used(node) == ["if", "match", "coalesce", "null"]
