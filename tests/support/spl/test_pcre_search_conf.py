"""The PCRE translation, the search subset and the .conf reader of the offline Splunk evaluator."""

from __future__ import annotations

import pytest

from tests.support.spl import SplError
from tests.support.spl.conf import comments_before_keys, parse_conf
from tests.support.spl.pcre import compile_pcre, translate, translate_replacement
from tests.support.spl.search import parse_search

# --------------------------------------------------------------------------- PCRE


def test_pcre_absolute_end_becomes_python_end() -> None:
    assert translate(r"a\z") == r"a\Z"
    assert compile_pcre(r"a\z").search("a\n") is None
    assert compile_pcre(r"a$").search("a\n") is not None


@pytest.mark.parametrize("pattern", [
    r"a\Z",          # PCRE: end or before a final newline; Python: absolute end
    r"\v",           # PCRE: vertical whitespace class; Python: the VT character
    r"\h",
    r"(?P<n>a)",
    r"(?>a)",
    r"a*+",
    r"a(?i)b",       # global flag in the middle
    r"\x{41}",
    r"\p{L}",
    r"(a)\1",
    r"[[:alpha:]]",
])
def test_pcre_constructs_with_different_meanings_are_refused(pattern: str) -> None:
    with pytest.raises(SplError):
        compile_pcre(pattern)


def test_pcre_supported_constructs() -> None:
    rx = compile_pcre(r"(?i)^(?:[\s\S]*?(?:^|\s|,)k=((?:[^\s,]|,(?![A-Za-z_]\w*=))*)[\s\S]*|[\s\S]*)\z")
    assert rx.sub(r"\g<1>", "A=1,K=v w") == "v"
    assert compile_pcre(r"(?<!\.\.\.)x(?=,|\z)").search("a,x") is not None
    assert compile_pcre(r"[]a]").search("]") is not None


def test_replacement_back_references() -> None:
    assert translate_replacement(r"\1-\2") == r"\g<1>-\g<2>"
    with pytest.raises(SplError):
        translate_replacement(r"\n")


# --------------------------------------------------------------------------- search


def test_search_values_are_case_insensitive_field_names_are_not() -> None:
    pred = parse_search('Operation="Process"')
    assert pred({"Operation": "process"})
    assert not pred({"operation": "Process"})


def test_search_wildcards_in_and_not() -> None:
    pred = parse_search('sourcetype=accuknox:kubearmor:* Type IN ("A", "B") NOT Result="Passed"')
    assert pred({"sourcetype": "accuknox:kubearmor:log", "Type": "b"})
    assert not pred({"sourcetype": "accuknox:kubearmor:log", "Type": "b", "Result": "passed"})
    assert not pred({"sourcetype": "other", "Type": "A"})
    assert pred({"sourcetype": "accuknox:kubearmor:alert", "Type": "A"})  # NOT on a missing field is true


def test_search_or_binds_looser_than_implicit_and() -> None:
    pred = parse_search("a=1 b=2 OR c=3")
    assert pred({"a": "1", "b": "2"}) and pred({"c": "3"}) and not pred({"a": "1"})
    pred = parse_search("a=1 (b=2 OR c=3)")
    assert pred({"a": "1", "c": "3"}) and not pred({"c": "3"})


def test_search_star_needs_a_non_empty_value_and_multivalue_matches_any() -> None:
    star = parse_search("x=*")
    assert star({"x": "v"}) and not star({"x": ""}) and not star({})
    assert parse_search('t="b"')({"t": ["a", "b"]})


def test_search_rejects_what_it_does_not_model() -> None:
    for text in ("a>1", "| where a=1", "a=1 (b=2"):
        with pytest.raises(SplError):
            parse_search(text)


# --------------------------------------------------------------------------- .conf


def test_conf_reader() -> None:
    text = "# top\n[s1]\n# about a\na = 1\nb = x \\\n  y\n\n[s2]\nc=3\n"
    assert parse_conf(text) == {"s1": {"a": "1", "b": "x \ny"}, "s2": {"c": "3"}}
    assert comments_before_keys(text)[0] == ("s1", "a", ["about a"])


def test_conf_reader_refuses_duplicates() -> None:
    with pytest.raises(SplError, match="duplicate key"):
        parse_conf("[s]\na = 1\na = 2\n")
    with pytest.raises(SplError, match="duplicate stanza"):
        parse_conf("[s]\n[s]\n")
