"""Tests for integrations.identity: the Elasticsearch fingerprint algorithm and event ids.

Expected values come from outside this code: Elasticsearch's own vectors
(``reference/elasticsearch/fingerprint_vectors.json``), byte sequences written
out by hand from ``FingerprintProcessor.java`` / ``FingerprintProcessorTests.java``
and hashed with ``hashlib``, and MurmurHash3 digests cross-checked with the
``mmh3`` C extension.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from pathlib import Path

import pytest

from integrations.errors import MappingError
from integrations.identity import (
    FINGERPRINT_FIELDS,
    FINGERPRINT_METHODS,
    _java_double_to_string,
    es_fingerprint,
    event_id,
    murmur3_x64_128,
)
from integrations.mapping.reference import default_reference_dir

REFERENCE_DIR = default_reference_dir()
VECTORS_FILE = REFERENCE_DIR / "elasticsearch" / "fingerprint_vectors.json" if REFERENCE_DIR else None
CORPUS_DIR = REFERENCE_DIR.parent / "corpus" / "real" if REFERENCE_DIR else None


def _vectors() -> list:
    if VECTORS_FILE is None or not VECTORS_FILE.is_file():
        return []
    return json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]


VECTORS = _vectors()
needs_vectors = pytest.mark.skipif(not VECTORS, reason="reference dir not found (set ACCUKNOX_REFERENCE_DIR)")


def fed(*values: object) -> bytes:
    """The bytes the processor feeds for a sequence of scalars, written out independently."""
    out = b""
    for v in values:
        out += b"\x00"
        if isinstance(v, str):
            out += v.encode("utf-8")
        elif isinstance(v, bool):
            out += b"\x01" if v else b"\x02"
        elif isinstance(v, int):
            out += struct.pack("<i", v) if -(2**31) <= v < 2**31 else struct.pack("<q", v)
        elif isinstance(v, float):
            out += struct.pack("<d", v)
        elif isinstance(v, bytes):
            out += v
        elif v is None:
            pass
        else:  # pragma: no cover - test helper misuse
            raise TypeError(v)
    return out


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def sha1(data: bytes) -> str:
    return b64(hashlib.sha1(data, usedforsecurity=False).digest())


def sha256(data: bytes) -> str:
    return b64(hashlib.sha256(data).digest())


# --------------------------------------------------------------------------- Elasticsearch's vectors


def test_vectors_file_present_and_covers_every_method():
    if not VECTORS:
        pytest.skip("reference dir not found (set ACCUKNOX_REFERENCE_DIR)")
    assert {v.get("method", "SHA-1") for v in VECTORS} == set(FINGERPRINT_METHODS)


@needs_vectors
@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_elasticsearch_vector(vector):
    got = es_fingerprint(
        vector["doc"],
        vector["fields"],
        method=vector.get("method", "SHA-1"),
        salt=vector.get("salt", ""),
        ignore_missing=vector.get("ignore_missing", False),
    )
    assert got == vector["expected"]


@needs_vectors
@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_hashed_sequence_is_what_is_fed(vector):
    """``hashed_sequence`` (salt first, then 0x00 + value) digests to the expected value."""
    data = vector.get("salt", "").encode("utf-8") + fed(*vector["hashed_sequence"])
    method = vector.get("method", "SHA-1")
    if method == "MurmurHash3":
        digest = murmur3_x64_128(data)
    else:
        digest = hashlib.new(method.replace("-", "").lower(), data, usedforsecurity=False).digest()
    assert b64(digest) == vector["expected"]


# --------------------------------------------------------------------------- traversal (ported from ES tests)


def test_traversal_lists_and_sets():
    # FingerprintProcessorTests.testObjectTraversalWithLists
    doc = {"foo": ["zoo", "yak", ["rat", "tiger", "bear"], {"dog", "cat", "eel"}, "xor"], "bar": "barValue"}
    expected = fed("barValue", "zoo", "yak", "rat", "tiger", "bear", "cat", "dog", "eel", "xor")
    assert es_fingerprint(doc, ["foo", "bar"]) == sha1(expected)


def test_traversal_maps_sorted_by_key():
    # testObjectTraversalWithMaps: map entries as 0x00+key, then the value
    doc = {
        "foo": {"foo-sub2": "foo2", "foo-sub1": "foo3"},
        "bar": {"bar-sub2": "bar2", "bar-sub1": "bar3"},
    }
    expected = fed("bar-sub1", "bar3", "bar-sub2", "bar2", "foo-sub1", "foo3", "foo-sub2", "foo2")
    assert es_fingerprint(doc, ["foo", "bar"]) == sha1(expected)


def test_traversal_sets():
    doc = {"foo": frozenset({"foo3", "foo2"}), "bar": {"bar3", "bar2"}}
    assert es_fingerprint(doc, ["foo", "bar"]) == sha1(fed("bar2", "bar3", "foo2", "foo3"))


def test_traversal_nested_structures():
    # testObjectTraversalWithNestedStructures, with an int in place of the ZonedDateTime
    doc = {
        "foo": {"list": [7, "foo", {"abc": "def", "ghi": "jkl"}, 3.14], "alpha": "beta"},
        "bar": "barValue",
    }
    expected = fed("barValue", "alpha", "beta", "list", 7, "foo", "abc", "def", "ghi", "jkl", 3.14)
    assert es_fingerprint(doc, ["foo", "bar"]) == sha1(expected)


def test_data_types():
    # testDataTypes without the pipeline-only date types
    types = {
        "0string": "foo",
        "1byte[]": b"\x00\x01\x02",
        "2integer": 42,
        "3long": 2**40,
        "5double": 3.15,
        "6boolean": True,
        "6false": False,
        "9null": None,
        "negint": -1,
        "minlong": -(2**63),
    }
    expected = fed(
        "0string", "foo", "1byte[]", b"\x00\x01\x02", "2integer", 42, "3long", 2**40,
        "5double", 3.15, "6boolean", True, "6false", False, "9null", None,
        "minlong", -(2**63), "negint", -1,
    )
    assert es_fingerprint({"types": types}, ["types"]) == sha1(expected)


def test_int32_boundaries_choose_integer_or_long():
    assert es_fingerprint({"a": 2**31 - 1}, ["a"]) == sha1(b"\x00" + struct.pack("<i", 2**31 - 1))
    assert es_fingerprint({"a": 2**31}, ["a"]) == sha1(b"\x00" + struct.pack("<q", 2**31))
    assert es_fingerprint({"a": -(2**31)}, ["a"]) == sha1(b"\x00" + struct.pack("<i", -(2**31)))
    assert es_fingerprint({"a": -(2**31) - 1}, ["a"]) == sha1(b"\x00" + struct.pack("<q", -(2**31) - 1))


def test_float_is_fed_as_double():
    assert es_fingerprint({"a": 0.1}, ["a"]) == sha1(b"\x00" + struct.pack("<d", 0.1))


def test_null_inside_list_feeds_only_the_delimiter():
    assert es_fingerprint({"a": ["x", None, "y"]}, ["a"]) == sha1(b"\x00x\x00\x00y")


def test_beyond_int64_is_rejected_like_biginteger():
    with pytest.raises(MappingError, match=r"java\.math\.BigInteger"):
        es_fingerprint({"a": 2**63}, ["a"])


def test_unsupported_type_is_rejected():
    import datetime

    with pytest.raises(MappingError, match="cannot convert object of type"):
        es_fingerprint({"a": datetime.datetime(2024, 1, 1)}, ["a"])


# --------------------------------------------------------------------------- field handling


def test_fields_sorted_and_order_independent():
    doc = {"b": "2", "a": "1", "c": "3"}
    assert es_fingerprint(doc, ["c", "a", "b"]) == es_fingerprint(doc, ["a", "b", "c"]) == sha1(fed("1", "2", "3"))


def test_field_names_sort_in_utf16_order():
    # Java compares UTF-16 code units: U+1F600 (D83D DE00) sorts before U+FFFF;
    # Python's code-point order would put U+FFFF first.
    doc = {"\uffff": "a", "\U0001f600": "b"}
    assert es_fingerprint(doc, ["\uffff", "\U0001f600"]) == sha1(fed("b", "a"))
    assert es_fingerprint({"m": doc}, ["m"]) == sha1(fed("\U0001f600", "b", "\uffff", "a"))


def test_dotted_field_resolves_nested_objects():
    nested = {"a": {"b": {"c": "x"}}}
    assert es_fingerprint(nested, ["a.b.c"]) == sha1(fed("x"))
    assert es_fingerprint(nested, ["_source.a.b.c"]) == sha1(fed("x"))
    # the classic access pattern does not see a literal dotted key
    assert es_fingerprint({"a.b": "x"}, ["a.b"], ignore_missing=True) is None
    with pytest.raises(MappingError, match=r"missing field \[a\.b\] when calculating fingerprint"):
        es_fingerprint({"a.b": "x"}, ["a.b"])


def test_dotted_field_indexes_lists():
    doc = {"a": [{"b": "x"}, {"b": "y"}]}
    assert es_fingerprint(doc, ["a.1.b"]) == sha1(fed("y"))
    assert es_fingerprint(doc, ["a.2.b"], ignore_missing=True) is None
    assert es_fingerprint(doc, ["a.b"], ignore_missing=True) is None
    assert es_fingerprint({"a": "scalar"}, ["a.b"], ignore_missing=True) is None


def test_missing_field_error_message():
    with pytest.raises(MappingError) as info:
        es_fingerprint({"foo": "foo", "bar": "foo"}, ["foo", "bar", "baz"])
    assert info.value.rule_id == "fingerprint"
    assert info.value.reason == "missing field [baz] when calculating fingerprint"


def test_null_value_counts_as_missing():
    with pytest.raises(MappingError, match=r"missing field \[a\]"):
        es_fingerprint({"a": None}, ["a"])
    assert es_fingerprint({"a": None, "b": "x"}, ["a", "b"], ignore_missing=True) == sha1(fed("x"))


def test_no_field_present_gives_none():
    assert es_fingerprint({"x": 1}, ["a", "b"], ignore_missing=True) is None


def test_empty_string_is_present():
    assert es_fingerprint({"a": ""}, ["a"]) == sha1(b"\x00")


def test_salt_is_fed_first_and_blank_salt_is_ignored():
    assert es_fingerprint({"a": "x"}, ["a"], salt="pepper") == sha1(b"pepper" + fed("x"))
    # Strings.hasText: whitespace-only salt counts as no salt
    assert es_fingerprint({"a": "x"}, ["a"], salt=" \t") == sha1(fed("x"))
    # but a salt with text is fed verbatim, surrounding blanks included
    assert es_fingerprint({"a": "x"}, ["a"], salt=" s ") == sha1(b" s " + fed("x"))


def test_lone_surrogate_encodes_as_question_mark_like_java():
    assert es_fingerprint({"a": "x\ud800y"}, ["a"]) == sha1(fed("x?y"))


def test_unknown_method_and_empty_fields_are_errors():
    with pytest.raises(MappingError, match="supported hash methods"):
        es_fingerprint({"a": "x"}, ["a"], method="sha-256")  # ES is case-sensitive
    with pytest.raises(MappingError, match="at least one field"):
        es_fingerprint({"a": "x"}, [])
    with pytest.raises(MappingError, match="list of field names"):
        es_fingerprint({"a": "x"}, "a")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", FINGERPRINT_METHODS)
def test_every_method_digest_length(method):
    lengths = {"MD5": 16, "SHA-1": 20, "SHA-256": 32, "SHA-512": 64, "MurmurHash3": 16}
    got = es_fingerprint({"a": "x"}, ["a"], method=method)
    assert got is not None and len(base64.b64decode(got)) == lengths[method]


# --------------------------------------------------------------------------- MurmurHash3


# Digests in Elasticsearch's byte order (h1 big-endian, h2 big-endian), checked
# against mmh3 5.3.1 (hash_bytes, x64, seed 0) for every length 0..99; the
# lengths below cover every block/tail branch.
MURMUR_VECTORS = {
    7: "becbbf54236ce3a12b3ba492e39cef50",
    8: "a5ee2a9a9132d3bd259e7f3a617e003a",
    9: "51ba2ea10afadbb61f8153c3131e0496",
    15: "ba6a4b5e80ade4f4e00e5a8ff7e8f26d",
    16: "c4b099c52f8f4ea17d670219d92afe48",
    17: "d4ae4b39fe53b1276602453b6681dbe9",
    31: "9d91fedff00436fb7ea851ba737ebfd0",
    32: "65bdb8dd080643ffbec31b8aa5f3910a",
    33: "b16757d8c4f72f1a9171ee56072d60a6",
}


@pytest.mark.parametrize("length", sorted(MURMUR_VECTORS))
def test_murmur3_x64_128(length):
    data = bytes((i * 7 + 3) & 0xFF for i in range(length))
    assert murmur3_x64_128(data).hex() == MURMUR_VECTORS[length]


def test_murmur3_known_answers():
    assert murmur3_x64_128(b"") == bytes(16)
    # the classic SMHasher sample, h1/h2 printed little-endian: 6c1b07bc7bbc4be3 47939ac4a93c437a
    digest = murmur3_x64_128(b"The quick brown fox jumps over the lazy dog")
    assert digest[:8][::-1].hex() + digest[8:][::-1].hex() == "6c1b07bc7bbc4be347939ac4a93c437a"


# --------------------------------------------------------------------------- event_id

EVENT = {
    "Timestamp": 1686475183,
    "UpdatedTime": "2023-06-11T09:19:43.451704Z",
    "ClusterName": "default",
    "HostName": "ip-172-31-24-142",
    "ContainerID": "8762eafc25a3",
    "HostPID": 3341928,
    "PID": 792,
    "PPID": 786,
    "PolicyName": "block-pkg-mgmt-tools-exec",
    "Severity": "1",
    "Type": "MatchedPolicy",
    "Operation": "Process",
    "Resource": "/usr/bin/apt update",
    "Data": "syscall=SYS_EXECVE",
    "Action": "Block",
    "Result": "Permission denied",
}


def test_fingerprint_fields_are_the_documented_list():
    assert FINGERPRINT_FIELDS == (
        "UpdatedTime", "Timestamp", "HostName", "HostPID", "PID", "ContainerID",
        "Type", "Operation", "Resource", "Data", "PolicyName", "Action", "Result",
    )


def test_event_id_known_answer():
    # Sorted field order: Action ContainerID Data HostName HostPID Operation PID
    # PolicyName Resource Result Timestamp Type UpdatedTime; every value as a string.
    expected = sha256(fed(
        "Block", "8762eafc25a3", "syscall=SYS_EXECVE", "ip-172-31-24-142", "3341928",
        "Process", "792", "block-pkg-mgmt-tools-exec", "/usr/bin/apt update",
        "Permission denied", "1686475183", "MatchedPolicy", "2023-06-11T09:19:43.451704Z",
    ))
    assert event_id(EVENT) == expected


def test_event_id_equals_es_fingerprint_of_string_values():
    doc = {k: str(v) for k, v in EVENT.items()}
    assert event_id(EVENT) == es_fingerprint(doc, FINGERPRINT_FIELDS, "SHA-256", ignore_missing=True)


def test_hash_id_wins():
    assert event_id({**EVENT, "HashID": "6f1c0e"}) == "6f1c0e"


def test_empty_hash_id_falls_back_to_fingerprint():
    assert event_id({**EVENT, "HashID": ""}) == event_id(EVENT)
    assert event_id({**EVENT, "HashID": None}) == event_id(EVENT)


def test_string_and_int_inputs_give_the_same_id():
    as_strings = {k: str(v) for k, v in EVENT.items()}
    assert event_id(as_strings) == event_id(EVENT)


def test_field_order_does_not_matter():
    reversed_event = dict(reversed(list(EVENT.items())))
    assert list(reversed_event) != list(EVENT)
    assert event_id(reversed_event) == event_id(EVENT)


def test_missing_fields_are_skipped():
    partial = {k: v for k, v in EVENT.items() if k not in ("UpdatedTime", "ContainerID", "Data")}
    expected = sha256(fed(
        "Block", "ip-172-31-24-142", "3341928", "Process", "792", "block-pkg-mgmt-tools-exec",
        "/usr/bin/apt update", "Permission denied", "1686475183", "MatchedPolicy",
    ))
    assert event_id(partial) == expected
    assert event_id({**partial, "Data": None}) == expected


def test_non_stable_fields_do_not_change_the_id():
    assert event_id({**EVENT, "Severity": "9", "PPID": 1, "Labels": "x=y"}) == event_id(EVENT)


def test_stable_fields_change_the_id():
    assert event_id({**EVENT, "PID": 793}) != event_id(EVENT)
    assert event_id({**EVENT, "Result": "Passed"}) != event_id(EVENT)


def test_bool_and_float_convert_like_java_to_string():
    assert event_id({"Data": True}) == sha256(fed("true"))
    assert event_id({"Data": 1.0}) == sha256(fed("1.0"))
    assert event_id({"Data": 1e20}) == sha256(fed("1.0E20"))


def test_list_value_is_converted_element_wise():
    got = event_id({"Data": ["a", 1, None], "PID": 5})
    assert got == sha256(fed("a", "1", None, "5"))


def test_no_stable_field_falls_back_to_canonical_json():
    a = {"foo": 1, "bar": {"y": [1, 2], "x": "é"}}
    b = {"bar": {"x": "é", "y": [1, 2]}, "foo": 1}
    canonical = '{"bar":{"x":"é","y":[1,2]},"foo":1}'
    assert event_id(a) == event_id(b) == sha256(fed(canonical))
    assert event_id(a) == es_fingerprint({"event": canonical}, ["event"], "SHA-256")
    assert event_id({"foo": 2}) != event_id({"foo": 1})
    assert event_id({}) == sha256(fed("{}"))


@pytest.mark.parametrize(
    "value,text",
    [
        (1.0, "1.0"), (100.0, "100.0"), (0.001, "0.001"), (0.0001, "1.0E-4"), (1e7, "1.0E7"),
        (9999999.0, "9999999.0"), (123.456, "123.456"), (-2.5e300, "-2.5E300"), (0.0, "0.0"),
        (-0.0, "-0.0"), (5e-324, "4.9E-324"), (0.30000000000000004, "0.30000000000000004"),
        (float("nan"), "NaN"), (float("-inf"), "-Infinity"),
    ],
)
def test_java_double_to_string(value, text):
    assert _java_double_to_string(value) == text


def _corpus_events():
    if CORPUS_DIR is None or not CORPUS_DIR.is_dir():
        return []
    events = []
    for path in sorted(Path(CORPUS_DIR).glob("*.jsonl")):
        if path.name == "provenance.jsonl":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                events.append(pytest.param(json.loads(line), id=f"{path.stem}:{n}"))
    return events


CORPUS_EVENTS = _corpus_events()


@pytest.mark.skipif(not CORPUS_EVENTS, reason="corpus not found next to the reference dir")
@pytest.mark.parametrize("event", CORPUS_EVENTS)
def test_event_id_matches_generic_fingerprint_on_corpus(event):
    if event.get("HashID"):
        assert event_id(event) == event["HashID"]
        return
    present = {k: event[k] for k in FINGERPRINT_FIELDS if event.get(k) is not None}
    if not present:  # lowerCamel or wrapped shapes before parsing: the canonical-JSON fallback
        canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert event_id(event) == sha256(fed(canonical))
        return
    if any(type(v) not in (str, int) for v in present.values()):
        pytest.skip("only str/int stable values are cross-checked here")
    doc = {k: str(v) for k, v in present.items()}
    assert event_id(event) == es_fingerprint(doc, FINGERPRINT_FIELDS, "SHA-256", ignore_missing=True)
