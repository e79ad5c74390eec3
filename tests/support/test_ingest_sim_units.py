"""Focused unit tests of the offline ingest simulator (tests/support/ingest_sim)."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import pytest

from tests.conftest import REFERENCE
from tests.support.ingest_sim import (
    IngestError,
    UnsupportedBySimulator,
    fingerprint,
    fixed_clock,
    murmur3_x64_128,
    simulate,
)
from tests.support.ingest_sim.conditions import Condition, ConditionSyntaxError
from tests.support.ingest_sim.javacompat import java_double_to_string, java_split
from tests.support.ingest_sim.pipeline import PipelineStore

CLOCK = fixed_clock("2024-05-01T12:34:56.123456Z")


def run(processors: List[Dict[str, Any]], source: Dict[str, Any], on_failure: Optional[List[Any]] = None,
        store: Optional[PipelineStore] = None) -> Dict[str, Any]:
    body: Dict[str, Any] = {"processors": processors}
    if on_failure is not None:
        body["on_failure"] = on_failure
    res = simulate(body, [{"_source": source}], store=store, clock=CLOCK)
    return res["docs"][0]


def src(processors: List[Dict[str, Any]], source: Dict[str, Any], **kw: Any) -> Dict[str, Any]:
    out = run(processors, source, **kw)
    assert "doc" in out, json.dumps(out)
    return out["doc"]["_source"]


def error(processors: List[Dict[str, Any]], source: Dict[str, Any]) -> Dict[str, Any]:
    out = run(processors, source)
    assert "error" in out, json.dumps(out)
    return out["error"]


# ----------------------------------------------------------------- conditions


@pytest.mark.parametrize("cond", [
    "ctx.a = 1",
    "params.x == 1",
    "ctx.a.matches('x')",
    "def x = ctx.a; return x",
    "ctx.a == 1 ? true : false",
    "ctx.a =~ /x/",
    "ctx.a.trim() == 'x'",
    "ctx.a instanceof HashMap",
    "ctx.a != null; ctx.b",
    "ctx[ctx.k] == 1",
])
def test_condition_rejects_unsupported_syntax_at_load(cond: str) -> None:
    with pytest.raises(UnsupportedBySimulator) as exc:
        simulate({"processors": [{"set": {"tag": "my-tag", "if": cond, "field": "x", "value": 1}}]},
                 [{"_source": {}}])
    assert "my-tag" in str(exc.value.reason)
    assert "set" in str(exc.value.reason)
    assert exc.value.metadata["processor_tag"] == "my-tag"


@pytest.mark.parametrize("cond,ctx,expected", [
    ("ctx?.a?.b == 'x'", {}, False),
    ("ctx?.a?.b == 'x'", {"a": {"b": "x"}}, True),
    ("ctx.a.b != null", {"a": {"b": 1}}, True),
    ("ctx['a'] == 1 && ctx.b == 2.0", {"a": 1, "b": 2}, True),
    ("!(ctx.a instanceof String) || ctx.a.startsWith('ab')", {"a": "abc"}, True),
    ("ctx.a instanceof List && ctx.a.contains('x') && ctx.a.size() == 2", {"a": ["x", "y"]}, True),
    ("ctx.a instanceof Map && ctx.a.isEmpty()", {"a": {}}, True),
    ("ctx.a.equalsIgnoreCase('ABC') && ctx.a.toLowerCase().endsWith('bc')", {"a": "aBc"}, True),
    ("ctx.a instanceof Number && ctx.a > 3", {"a": 4}, True),
    ("ctx.tags?.contains('x') == true", {}, False),
    ("ctx.a.contains(\"it's\")", {"a": "it's"}, True),
    ("ctx.l[1] == 'b'", {"l": ["a", "b"]}, True),
    ("ctx.n == null", {"n": None}, True),
])
def test_condition_evaluation(cond: str, ctx: Dict[str, Any], expected: bool) -> None:
    assert Condition(cond).evaluate(ctx) is expected


@pytest.mark.parametrize("cond,ctx", [
    ("ctx.a.b == 'x'", {}),          # NPE: ctx.a is null
    ("ctx.a", {"a": "yes"}),          # not a boolean
    ("ctx.a && true", {}),            # null in boolean context
    ("ctx.a.contains('x')", {"a": {"k": 1}}),  # Map has no contains
    ("ctx.a < 3", {"a": "2"}),        # relational needs numbers
])
def test_condition_runtime_errors(cond: str, ctx: Dict[str, Any]) -> None:
    with pytest.raises(IngestError):
        Condition(cond).evaluate(ctx)


def test_condition_syntax_error_class() -> None:
    with pytest.raises(ConditionSyntaxError):
        Condition("ctx.a ==")


def test_condition_error_goes_to_pipeline_on_failure_not_processor_on_failure() -> None:
    # ES wraps: ConditionalProcessor(if) -> CompoundProcessor(on_failure) -> processor
    out = src([{"set": {"tag": "t", "if": "ctx.a.b == 1", "field": "x", "value": 1,
                        "on_failure": [{"set": {"field": "proc_level", "value": True}}]}}],
              {}, on_failure=[{"set": {"field": "type", "value": "{{_ingest.on_failure_processor_type}}"}}])
    assert "proc_level" not in out
    assert out["type"] == "conditional"


# ----------------------------------------------------------------- on_failure metadata


def test_on_failure_metadata_processor_level() -> None:
    out = src([{"rename": {"tag": "r1", "field": "missing", "target_field": "x", "on_failure": [
        {"set": {"field": "m", "value": "{{_ingest.on_failure_message}}"}},
        {"set": {"field": "t", "value": "{{_ingest.on_failure_processor_type}}"}},
        {"set": {"field": "g", "value": "{{_ingest.on_failure_processor_tag}}"}},
        {"set": {"field": "p", "value": "{{_ingest.on_failure_pipeline}}"}},
    ]}}, {"set": {"field": "after", "value": 1}}], {})
    assert out == {"m": "field [missing] doesn't exist", "t": "rename", "g": "r1", "p": "", "after": 1}


def test_on_failure_metadata_removed_afterwards_and_pipeline_stops() -> None:
    res = run([{"fail": {"tag": "f", "message": "boom {{a}}"}}, {"set": {"field": "never", "value": 1}}],
              {"a": "x"}, on_failure=[{"set": {"field": "error.message",
                                                "value": "{{_ingest.on_failure_message}}"}}])
    doc = res["doc"]
    assert doc["_source"] == {"a": "x", "error": {"message": "boom x"}}
    assert doc["_ingest"] == {"timestamp": "2024-05-01T12:34:56.123456Z"}


def test_on_failure_pipeline_origin_for_nested_pipeline() -> None:
    store = PipelineStore()
    store.put("inner", {"processors": [{"convert": {"tag": "c", "field": "n", "type": "integer"}}]})
    out = src([{"pipeline": {"name": "inner"}}], {"n": "abc"}, store=store, on_failure=[
        {"set": {"field": "e", "value": "{{_ingest.on_failure_processor_type}}/"
                 "{{_ingest.on_failure_processor_tag}}/{{_ingest.on_failure_pipeline}}: "
                 "{{{_ingest.on_failure_message}}}"}}])
    # the root cause of "unable to convert [abc] to integer" is Java's NumberFormatException;
    # {{{..}}} keeps the quotes raw ({{..}} would JSON-escape them)
    assert out["e"] == 'convert/c/inner: For input string: "abc"'


def test_ignore_failure_continues() -> None:
    assert src([{"fail": {"message": "x", "ignore_failure": True}}, {"set": {"field": "a", "value": 1}}], {}) == {
        "a": 1}


def test_processor_and_pipeline_errors_render_like_es() -> None:
    err = error([{"uppercase": {"field": "foo"}}], {})
    assert err == {"root_cause": [{"type": "illegal_argument_exception",
                                   "reason": "field [foo] not present as part of path [foo]"}],
                   "type": "illegal_argument_exception", "reason": "field [foo] not present as part of path [foo]"}


def test_drop_and_terminate() -> None:
    assert run([{"drop": {"if": "ctx.a == 1"}}], {"a": 1}) is None
    assert src([{"terminate": {}}, {"set": {"field": "b", "value": 1}}], {"a": 1}) == {"a": 1}


# ----------------------------------------------------------------- foreach


def test_foreach_list_and_map() -> None:
    out = src([{"foreach": {"field": "l", "processor": {"uppercase": {"field": "_ingest._value"}}}},
               {"foreach": {"field": "m", "processor": {"set": {"field": "keys.{{_ingest._key}}",
                                                                "value": "{{_ingest._value}}"}}}}],
              {"l": ["a", "b"], "m": {"x": 1, "y": 2}})
    assert out["l"] == ["A", "B"]
    assert out["keys"] == {"x": "1", "y": "2"}


def test_foreach_ignore_missing_and_errors() -> None:
    assert src([{"foreach": {"field": "nope", "ignore_missing": True,
                             "processor": {"uppercase": {"field": "_ingest._value"}}}}], {}) == {}
    err = error([{"foreach": {"field": "s", "processor": {"uppercase": {"field": "_ingest._value"}}}}], {"s": "x"})
    assert err["reason"] == "field [s] of type [java.lang.String] cannot be cast to a list or map"


def test_foreach_inner_on_failure_and_value_restored() -> None:
    out = run([{"foreach": {"field": "l", "processor": {"convert": {
        "field": "_ingest._value", "type": "integer",
        "on_failure": [{"set": {"field": "_ingest._value", "value": -1}}]}}}}], {"l": ["1", "x"]})
    assert out["doc"]["_source"]["l"] == [1, -1]
    assert "_value" not in out["doc"]["_ingest"]


# ----------------------------------------------------------------- kv


def test_kv_options() -> None:
    out = src([{"kv": {"field": "m", "field_split": "\\s+", "value_split": "=", "target_field": "t",
                       "prefix": "p_", "exclude_keys": ["skip"], "trim_key": " ", "trim_value": "\"",
                       "strip_brackets": False}}],
              {"m": 'a=1  b="two" skip=3 a=4'})
    assert out["t"] == {"p_a": ["1", "4"], "p_b": "two"}


def test_kv_strip_brackets_include_keys_and_errors() -> None:
    out = src([{"kv": {"field": "m", "field_split": ",", "value_split": ":", "strip_brackets": True,
                       "include_keys": ["a", "c"]}}], {"m": "a:(x),b:<y>,c:[z]"})
    assert out == {"m": "a:(x),b:<y>,c:[z]", "a": "x", "c": "z"}
    err = error([{"kv": {"field": "m", "field_split": " ", "value_split": "="}}], {"m": "a=1 b"})
    assert err["reason"] == "field [m] does not contain value_split [=]"


# ----------------------------------------------------------------- date


@pytest.mark.parametrize("formats,tz,value,expected", [
    (["ISO8601"], None, "2024-02-29T10:11:12.345678Z", "2024-02-29T10:11:12.345Z"),
    (["ISO8601"], "+02:00", "2024-02-29T10:11:12", "2024-02-29T10:11:12.000+02:00"),
    (["ISO8601"], None, "2024-02-29", "2024-02-29T00:00:00.000Z"),
    (["UNIX"], None, "1700000000.9999", "2023-11-14T22:13:20.999Z"),
    (["UNIX"], None, 1700000000, "2023-11-14T22:13:20.000Z"),
    (["UNIX_MS"], None, "1700000000123", "2023-11-14T22:13:20.123Z"),
    (["TAI64N"], None, "@4000000050d506482dbdf024", "2012-12-22T01:00:46.767Z"),
    (["dd/MM/yyyy"], "Europe/Amsterdam", "31/12/2023", "2023-12-31T00:00:00.000+01:00"),
    (["MMM d, yyyy h:mm:ss a"], None, "Feb 3, 2024 1:02:03 PM", "2024-02-03T13:02:03.000Z"),
    (["yyyy-MM-dd HH:mm:ss,SSS XXX"], None, "2024-01-02 03:04:05,678 -05:00", "2024-01-02T08:04:05.678Z"),
    (["dd.MM.yyyy", "epoch_millis"], None, "1000", "1970-01-01T00:00:01.000Z"),
])
def test_date_formats(formats: List[str], tz: Optional[str], value: Any, expected: str) -> None:
    cfg: Dict[str, Any] = {"field": "d", "formats": formats}
    if tz:
        cfg["timezone"] = tz
    assert src([{"date": cfg}], {"d": value})["@timestamp"] == expected


def test_date_output_format_target_and_failure() -> None:
    out = src([{"date": {"field": "d", "formats": ["ISO8601"], "target_field": "t",
                         "output_format": "yyyy/MM/dd'T'HH:mm:ssZ", "timezone": "{{tz}}"}}],
              {"d": "2024-07-01T12:00:00Z", "tz": "Europe/Paris"})
    assert out["t"] == "2024/07/01T14:00:00+0200"
    err = error([{"date": {"field": "d", "formats": ["ISO8601", "UNIX"]}}], {"d": "garbage"})
    assert err["reason"] == "unable to parse date [garbage]"


def test_date_unsupported_pattern_rejected_at_load() -> None:
    with pytest.raises(UnsupportedBySimulator):
        simulate({"processors": [{"date": {"field": "d", "formats": ["yyyy-MM-dd[ HH:mm]"]}}]}, [{"_source": {}}])


# ----------------------------------------------------------------- fingerprint


def _vectors() -> List[Dict[str, Any]]:
    data = json.loads((REFERENCE / "elasticsearch" / "fingerprint_vectors.json").read_text(encoding="utf-8"))
    return data["vectors"]


@pytest.mark.parametrize("vector", _vectors(), ids=lambda v: v["name"])
def test_fingerprint_vectors(vector: Dict[str, Any]) -> None:
    cfg = {"fields": vector["fields"], "method": vector["method"], "salt": vector.get("salt", ""),
           "ignore_missing": vector.get("ignore_missing", False), "target_field": "fp"}
    assert src([{"fingerprint": cfg}], vector["doc"])["fp"] == vector["expected"]
    # the documented feeding order reproduces the digest too
    assert fingerprint(vector["hashed_sequence"], vector["method"], vector.get("salt", "")) == vector["expected"]
    try:
        from integrations.identity import es_fingerprint
    except ImportError:  # the project's Python id function is optional for this test
        return
    assert es_fingerprint(vector["doc"], vector["fields"], vector["method"], vector.get("salt", ""),
                          vector.get("ignore_missing", False)) == vector["expected"]


def test_fingerprint_missing_field_and_nested_values() -> None:
    assert error([{"fingerprint": {"fields": ["a"]}}], {})["reason"] == \
        "missing field [a] when calculating fingerprint"
    assert "fingerprint" not in src([{"fingerprint": {"fields": ["a"], "ignore_missing": True}}], {})
    assert len(murmur3_x64_128(b"")) == 16
    a = src([{"fingerprint": {"fields": ["m"]}}], {"m": {"y": [1, True], "x": None}})["fingerprint"]
    b = src([{"fingerprint": {"fields": ["m"]}}], {"m": {"x": None, "y": [1, True]}})["fingerprint"]
    assert a == b  # map entries are sorted by key


# The simulator's fingerprint is written independently of integrations/identity.py (it is the oracle
# for the pipeline's event id); these tests make the two implementations check each other.

CROSS_CHECK_DOCS = [
    ({"a": "x", "b": 7, "c": 2**40, "d": -1.5, "e": True, "f": False}, ["f", "e", "d", "c", "b", "a"], ""),
    ({"m": {"z": [1, None, "s"], "y": {"k": 0.1}}, "l": [[1, 2], [], ["x"]]}, ["m", "l"], ""),
    ({"\uffff": "b", "\U0001f600": "a", "m": {"\uffff": 1, "\U0001f600": 2}}, ["\uffff", "\U0001f600", "m"], ""),
    ({"a": "x\ud800y"}, ["a"], ""),
    ({"a": "x"}, ["a"], "\u00a0"),  # a no-break space is text for Strings.hasText: the salt is fed
    ({"a": "x"}, ["a"], " \u2003\t"),  # only Java whitespace: no salt
    ({"a": "x", "n": {"1": "\u00e9"}}, ["n.1", "a"], "pepper"),
]


@pytest.mark.parametrize("method", ["MD5", "SHA-1", "SHA-256", "SHA-512", "MurmurHash3"])
@pytest.mark.parametrize(("doc", "fields", "salt"), CROSS_CHECK_DOCS)
def test_fingerprint_processor_agrees_with_identity(doc: Dict[str, Any], fields: List[str], salt: str,
                                                    method: str) -> None:
    from integrations.identity import es_fingerprint

    cfg = {"fields": fields, "method": method, "salt": salt, "target_field": "fp"}
    assert src([{"fingerprint": cfg}], doc)["fp"] == es_fingerprint(doc, fields, method, salt)


def test_murmur3_agrees_with_identity_for_every_tail_length() -> None:
    from integrations.identity import murmur3_x64_128 as identity_murmur3

    data = bytes(range(7, 7 + 70))
    for n in range(len(data) + 1):
        assert murmur3_x64_128(data[:n]) == identity_murmur3(data[:n]), n
    assert murmur3_x64_128(b"abc", seed=42) == identity_murmur3(b"abc", seed=42)


def test_java_whitespace_matches_character_is_whitespace() -> None:
    import unicodedata

    from tests.support.ingest_sim.javacompat import JAVA_WHITESPACE, java_has_text

    derived = {chr(cp) for cp in range(0x10000)
               if chr(cp) in "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"
               or (unicodedata.category(chr(cp)) in ("Zs", "Zl", "Zp") and chr(cp) not in "\u00a0\u2007\u202f")}
    assert derived == JAVA_WHITESPACE
    assert not java_has_text("") and not java_has_text(" \t\u3000") and java_has_text(" \u00a0 ")


def test_java_natural_order_of_strings() -> None:
    from tests.support.ingest_sim.javacompat import java_natural_key

    # UTF-16 order: the surrogate pair of U+1F600 (0xD83D ...) sorts before U+FFFF
    assert sorted(["\uffff", "\U0001f600", "a"], key=java_natural_key) == ["a", "\U0001f600", "\uffff"]
    assert sorted([3, 1, 2], key=java_natural_key) == [1, 2, 3]


# ----------------------------------------------------------------- the mutate test minus html_strip


def test_mutate_processors_without_html_strip() -> None:
    """40_mutate.yml 'Test mutate processors' with its html_strip step removed."""
    out = src([
        {"set": {"field": "new_field", "value": "new_value"}},
        {"append": {"field": "new_field", "value": ["item2", "item3", "item4"]}},
        {"rename": {"field": "field_to_rename", "target_field": "renamed_field"}},
        {"remove": {"field": "field_to_remove"}},
        {"lowercase": {"field": "field_to_lowercase"}},
        {"uppercase": {"field": "field_to_uppercase"}},
        {"trim": {"field": "field_to_trim"}},
        {"split": {"field": "field_to_split", "separator": "-"}},
        {"join": {"field": "field_to_join", "separator": "-"}},
        {"convert": {"field": "field_to_convert", "type": "integer"}},
        {"gsub": {"field": "field_to_gsub", "pattern": "-", "replacement": "."}},
    ], {"field_to_rename": "value", "field_to_remove": "old_value", "field_to_lowercase": "LOWERCASE",
        "field_to_uppercase": "uppercase", "field_to_trim": "   trimmed   ", "field_to_split": "127-0-0-1",
        "field_to_join": ["127", "0", "0", "1"], "field_to_convert": ["127", "0", "0", "1"],
        "field_to_gsub": "127-0-0-1"})
    assert out == {"new_field": ["new_value", "item2", "item3", "item4"], "renamed_field": "value",
                   "field_to_lowercase": "lowercase", "field_to_uppercase": "UPPERCASE", "field_to_trim": "trimmed",
                   "field_to_split": ["127", "0", "0", "1"], "field_to_join": "127-0-0-1",
                   "field_to_convert": [127, 0, 0, 1], "field_to_gsub": "127.0.0.1"}


# ----------------------------------------------------------------- convert, templates, regex


@pytest.mark.parametrize("typ,value,expected", [
    ("auto", "true", True), ("auto", "12", 12), ("auto", "1.5", 1.5), ("auto", "x", "x"),
    ("auto", "99999999999", 99999999999), ("long", "0x1F", 31), ("float", "1.1", 1.1),
    ("double", " 2.5 ", 2.5), ("boolean", "FALSE", False), ("string", 1.0, "1.0"),
    ("string", 1e21, "1.0E21"), ("ip", "2001:db8::1", "2001:db8::1"),
])
def test_convert(typ: str, value: Any, expected: Any) -> None:
    out = src([{"convert": {"field": "v", "type": typ}}], {"v": value})["v"]
    assert out == expected and isinstance(out, type(expected))


@pytest.mark.parametrize("typ,value,reason", [
    ("integer", "1.0", "unable to convert [1.0] to integer"),
    ("integer", " 1", "unable to convert [ 1] to integer"),
    ("ip", "1.2.3.04", "'1.2.3.04' is not an IP string literal."),
    ("boolean", "yes", "[yes] is not a boolean value, cannot convert to boolean"),
])
def test_convert_errors(typ: str, value: Any, reason: str) -> None:
    assert error([{"convert": {"field": "v", "type": typ}}], {"v": value})["reason"] == reason


def test_templates_escape_and_raw() -> None:
    out = src([{"set": {"field": "esc", "value": "{{v}}"}}, {"set": {"field": "raw", "value": "{{{v}}}"}},
               {"set": {"field": "ts", "value": "{{{_ingest.timestamp}}}"}},
               {"set": {"field": "plain", "value": "{{v}}", "media_type": "text/plain"}},
               {"set": {"field": "n", "value": "{{num}}/{{lst}}/{{missing}}"}}],
              {"v": 'a"b\\c\n', "num": 1.5, "lst": [1, "x"]})
    assert out["esc"] == 'a\\"b\\\\c\\n'
    assert out["raw"] == 'a"b\\c\n'
    assert out["plain"] == 'a"b\\c\n'
    assert out["ts"] == "2024-05-01T12:34:56.123456Z"
    assert out["n"] == "1.5/[1, x]/"


def test_gsub_java_regex_and_replacement() -> None:
    out = src([{"gsub": {"field": "s", "pattern": "(?<k>\\w+)=(\\d+)", "replacement": "${k}:$2\\$"}}],
              {"s": "a=1 b=22"})
    assert out["s"] == "a:1$ b:22$"


def test_java_split_semantics() -> None:
    assert java_split("-", "a--b--", 0) == ["a", "", "b"]
    assert java_split("-", "a--b--", -1) == ["a", "", "b", "", ""]
    assert java_split("", "abc", 0) == ["a", "b", "c"]
    assert java_split(",", "", 0) == [""]
    assert src([{"split": {"field": "s", "separator": ",", "preserve_trailing": True}}], {"s": "a,,"})["s"] == [
        "a", "", ""]


def test_java_double_to_string() -> None:
    assert [java_double_to_string(x) for x in (1.0, 0.001, 1e-4, 1e7, 123456.789, -0.0)] == [
        "1.0", "0.001", "1.0E-4", "1.0E7", "123456.789", "-0.0"]


def test_json_processor_options() -> None:
    out = src([{"json": {"field": "j", "add_to_root": True, "add_to_root_conflict_strategy": "merge"}}],
              {"j": '{"a": {"b": 1}}', "a": {"c": 2}})
    assert out["a"] == {"b": 1, "c": 2}
    assert "Duplicate field 'k'" in error([{"json": {"field": "j"}}], {"j": '{"k":1,"k":2}'})["reason"]
    assert error([{"json": {"field": "j"}}], {"j": "1 x"})["type"] == "illegal_argument_exception"


def test_dot_expander_and_remove_keep() -> None:
    out = src([{"dot_expander": {"field": "*"}}, {"remove": {"keep": ["a.b", "c"]}}],
              {"a.b": 1, "a": {"x": 2}, "c": 3, "d": 4})
    assert out == {"a": {"b": 1}, "c": 3}


def test_unimplemented_processors_rejected_at_load() -> None:
    for ptype in ("dissect", "script", "grok", "html_strip"):
        with pytest.raises(UnsupportedBySimulator):
            simulate({"processors": [{ptype: {"field": "x"}}]}, [{"_source": {}}])


def test_verbose_shape() -> None:
    res = simulate({"processors": [{"set": {"tag": "s", "description": "d", "field": "a", "value": 1}},
                                   {"drop": {"if": "ctx.a == 2"}}]},
                   [{"_index": "i", "_id": "1", "_source": {}}], verbose=True, clock=CLOCK)
    r0, r1 = res["docs"][0]["processor_results"]
    assert r0 == {"processor_type": "set", "status": "success", "description": "d", "tag": "s",
                  "doc": {"_index": "i", "_id": "1", "_version": "-3", "_source": {"a": 1},
                          "_ingest": {"timestamp": "2024-05-01T12:34:56.123456Z", "pipeline": "_simulate_pipeline"}}}
    assert r1 == {"processor_type": "drop", "status": "skipped", "if": {"condition": "ctx.a == 2", "result": False}}
