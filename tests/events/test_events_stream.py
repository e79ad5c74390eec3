"""Streaming reader: input forms, locations, malformed input, chunk boundaries, bounded memory."""

from __future__ import annotations

import io
import os
import tracemalloc
from pathlib import Path

import pytest

from integrations import jsoncodec
from integrations.errors import ParseError
from integrations.events import iter_parse, iter_parse_path, json_stream
from integrations.events.normalize import NO_EVENT_TIME_WARNING
from integrations.model import ParsedEvent, Rejected

EV = {"Type": "ContainerLog", "Operation": "File", "HostName": "h", "UpdatedTime": "2023-08-23T18:05:48.301798Z"}
LINE = jsoncodec.dumps(EV)


def run(data: bytes, chunk_size: int = json_stream.DEFAULT_CHUNK_SIZE):
    return list(iter_parse(io.BytesIO(data), "t", chunk_size=chunk_size))


def sig(results):
    """Comparable summary: (kind, location, fields or reason)."""
    return [
        ("E", r.location, r.fields, tuple(r.warnings)) if isinstance(r, ParsedEvent) else ("R", r.location, r.reason)
        for r in results
    ]


def only(results, kind):
    assert all(isinstance(r, (ParsedEvent, Rejected)) for r in results)
    return [r for r in results if isinstance(r, kind)]


# ---------------------------------------------------------------------------
# forms
# ---------------------------------------------------------------------------
def test_empty_and_whitespace_inputs():
    assert run(b"") == []
    assert run(b"  \n\n\t\r\n") == []


def test_single_object_compact_and_pretty():
    import orjson

    assert sig(run(LINE)) == [("E", "t:1", EV, ())]
    pretty = orjson.dumps(EV, option=orjson.OPT_INDENT_2)
    assert sig(run(b"\n\n" + pretty)) == [("E", "t:3", EV, ())]


def test_ndjson_locations_and_crlf():
    data = LINE + b"\r\n" + LINE + b"\r\n" + LINE
    res = run(data)
    assert [r.location for r in res] == ["t:1", "t:2", "t:3"]
    assert all(r.fields == EV for r in res)


def test_concatenated_pretty_objects():
    import orjson

    pretty = orjson.dumps({**EV, "Owner": {"Ref": "Pod", "Name": "p"}, "ATags": ["a", "b"]},
                          option=orjson.OPT_INDENT_2)
    n = pretty.count(b"\n") + 1
    res = run(pretty + b"\n" + pretty + pretty + b"\n" + LINE + LINE + b"\n")
    assert [r.location for r in res] == ["t:1", f"t:{n + 1}", f"t:{2 * n}", f"t:{3 * n}", f"t:{3 * n}"]
    assert all(isinstance(r, ParsedEvent) for r in res)
    assert res[0].fields["Owner"] == {"Ref": "Pod", "Name": "p"}


def test_pretty_object_with_brace_lines_inside_strings():
    text = b'{\n  "Type": "HostLog",\n  "Resource": "a\\n}b {c",\n  "Data": "x"\n}\n'
    res = run(text + text)
    assert [r.location for r in res] == ["t:1", "t:6"]
    assert res[0].fields["Resource"] == "a\n}b {c"


def test_unusual_pretty_layout():
    text = b'{\n"Type":\n{"bad": 1}\n}\n{ "Type" :\n "HostLog" ,\n "PID" : 3 }\n'
    res = run(text)
    assert isinstance(res[0], Rejected) and "Type" in res[0].reason  # object where a string belongs
    assert isinstance(res[1], ParsedEvent) and res[1].location == "t:5" and res[1].fields["PID"] == 3


def test_json_array_forms():
    import orjson

    compact = jsoncodec.dumps([EV, EV, EV])
    assert [r.location for r in run(compact)] == ["t:1"] * 3
    pretty = orjson.dumps([EV, {**EV, "Owner": {"Ref": "Pod"}}], option=orjson.OPT_INDENT_2)
    res = run(pretty)
    assert [type(r) for r in res] == [ParsedEvent, ParsedEvent]
    assert res[0].location == "t:2" and res[1].location == f"t:{2 + len(EV) + 2}"
    assert run(b"[]") == [] and run(b" [ ] ") == []
    # two arrays, then objects
    res = run(compact + b"\n" + compact + b"\n" + LINE)
    assert len(res) == 7 and res[-1].location == "t:3"


def test_json_array_of_pages():
    page = {"response": [EV, EV]}
    res = run(jsoncodec.dumps([page, {"response": None}, page]))
    assert len(res) == 4 and all(isinstance(r, ParsedEvent) for r in res)


def test_array_elements_with_tricky_strings():
    odd = {**EV, "Resource": 'x}, {"y": "]', "Data": "\\", "Source": "\"},{"}
    res = run(jsoncodec.dumps([odd, EV, odd]))
    assert [r.fields for r in res] == [odd, EV, odd]


# ---------------------------------------------------------------------------
# malformed input: Rejected (or a warning), never an exception, and reading goes on
# ---------------------------------------------------------------------------
def test_empty_lines_warn():
    res = run(LINE + b"\n\n\n" + LINE + b"\n")
    assert [r.location for r in res] == ["t:1", "t:4"]
    assert any("empty line" in w for w in res[1].warnings)


def test_truncated_line_then_more():
    res = run(b'{"Type": "ContainerLog", "Opera\n' + LINE + b"\n")
    assert isinstance(res[0], Rejected) and res[0].location == "t:1"
    assert "string is still open" in res[0].reason and res[0].original == '{"Type": "ContainerLog", "Opera'
    assert isinstance(res[1], ParsedEvent) and res[1].location == "t:2"


def test_truncated_line_outside_string_does_not_swallow_next_lines():
    res = run(b'{"Type": "ContainerLog",\n' + LINE + b"\n" + LINE + b"\n")
    assert isinstance(res[0], Rejected) and "truncated" in res[0].reason and res[0].location == "t:1"
    assert [r.location for r in res[1:]] == ["t:2", "t:3"]


def test_truncated_at_end_of_input():
    res = run(LINE + b'\n{"Type": "ContainerLog",\n  "HostName": "x",')
    assert isinstance(res[0], ParsedEvent)
    assert isinstance(res[1], Rejected) and "input ended" in res[1].reason and res[1].location == "t:2"
    res = run(b"[" + LINE + b"," + LINE[:20])
    assert isinstance(res[0], ParsedEvent) and isinstance(res[1], Rejected) and "truncated" in res[1].reason
    assert len(res) == 2
    res = run(b"[" + LINE + b",")
    assert isinstance(res[-1], Rejected) and "']'" in res[-1].reason


@pytest.mark.parametrize(
    "line, words",
    [
        (b'"just a string"', "string"),
        (b"42", "number"),
        (b"[1, 2]", "array"),
        (b"null", "null"),
        (b"{}", "empty"),
        (b'{"foo": 1}', "no KubeArmor field"),
        (b"not json at all", "not a JSON object"),
        (b'{"a": tru}', "invalid JSON"),
    ],
)
def test_bad_line_between_good_ones(line, words):
    res = run(LINE + b"\n" + line + b"\n" + LINE + b"\n")
    assert [type(r) for r in res] == [ParsedEvent, Rejected, ParsedEvent], res
    assert words in res[1].reason and res[1].location == "t:2"
    assert res[2].location == "t:3"


@pytest.mark.parametrize("first", [b'"x"', b"42", b"-1", b"true", b"null", b"[1]"])
def test_scalar_first_line(first):
    res = run(first + b"\n" + LINE + b"\n")
    assert isinstance(res[0], Rejected) and res[0].location == "t:1"
    assert isinstance(res[-1], ParsedEvent) and res[-1].location == "t:2"


def test_invalid_utf8_repaired_with_warning():
    bad = b'{"Type":"ContainerLog","HostName":"a\xff\xfeb","UpdatedTime":"2023-08-23T18:05:48Z"}'
    res = run(bad + b"\n" + LINE)
    assert isinstance(res[0], ParsedEvent) and res[0].fields["HostName"] == "a\ufffd\ufffdb"
    assert any("invalid UTF-8" in w for w in res[0].warnings)
    assert isinstance(res[1], ParsedEvent)


def test_invalid_utf8_in_broken_json():
    res = run(b'{"Type": "a\xff", "x": }\n' + LINE)
    assert isinstance(res[0], Rejected) and "UTF-8" in res[0].reason and "\\xff" in res[0].original
    assert isinstance(res[1], ParsedEvent)


def test_bom():
    res = run(b"\xef\xbb\xbf" + LINE + b"\n\xef\xbb\xbf" + LINE)
    assert [type(r) for r in res] == [ParsedEvent, ParsedEvent]
    assert any("byte-order mark" in w for w in res[0].warnings)
    assert any("byte-order mark" in w for w in res[1].warnings)
    res = run(b"\xef\xbb\xbf[" + LINE + b"]")
    assert any("byte-order mark" in w for w in res[0].warnings)


@pytest.mark.parametrize(
    "field, value, words",
    [("Timestamp", "yesterday", "yesterday"), ("Owner", "not-an-object", "Owner"), ("ATags", 5, "ATags")],
)
def test_bad_values_warn(field, value, words):
    res = run(jsoncodec.dumps({**EV, "Type": "MatchedPolicy", field: value}))
    assert isinstance(res[0], ParsedEvent) and field not in res[0].fields
    assert any(words in w for w in res[0].warnings), res[0].warnings


@pytest.mark.parametrize(
    "bomb",
    [
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"[" * 50_000 + b"]" * 50_000,
        b'{"a":' * 50_000,
        b"{\n" + b'"a": {\n' * 5000 + b"}\n" * 5001,
    ],
    ids=["object", "array", "unclosed", "pretty"],
)
def test_depth_bomb(bomb):
    res = run(bomb + b"\n" + LINE + b"\n")
    assert isinstance(res[0], Rejected) and res[0].location == "t:1"
    assert "deeper" in res[0].reason or "truncated" in res[0].reason or "input ended" in res[0].reason
    assert len(res[0].original) <= json_stream.MAX_ORIGINAL_CHARS + 100


def test_depth_bomb_inside_array():
    res = run(b"[" + LINE + b"," + b"[" * 10_000 + b"]" * 10_000 + b"," + LINE + b"]")
    assert [type(r) for r in res] == [ParsedEvent, Rejected, ParsedEvent]
    assert "deeper" in res[1].reason


def test_array_element_garbage():
    res = run(b"[" + LINE + b', xyz, "s", 5, [' + LINE + b'], {"a": tru}, ' + LINE + b"]")
    assert [type(r).__name__ for r in res] == ["ParsedEvent"] + ["Rejected"] * 5 + ["ParsedEvent"]


def test_garbage_after_object_on_same_line():
    res = run(LINE + b" xyz\n" + LINE)
    assert [type(r) for r in res] == [ParsedEvent, Rejected, ParsedEvent]
    assert res[1].location == "t:1" and res[2].location == "t:2"


def test_text_garbage_rejected():
    res = run(b"hello world\nfoo bar\n")
    assert len(res) == 1 and isinstance(res[0], Rejected) and "karmor" in res[0].reason


# ---------------------------------------------------------------------------
# limits
# ---------------------------------------------------------------------------
def test_value_size_limit_line(monkeypatch):
    monkeypatch.setattr(json_stream, "MAX_VALUE_BYTES", 4096)
    big = jsoncodec.dumps({**EV, "Resource": "x" * 10_000})
    res = run(LINE + b"\n" + big + b"\n" + LINE + b"\n", chunk_size=1000)
    assert [type(r) for r in res] == [ParsedEvent, Rejected, ParsedEvent]
    assert "limit" in res[1].reason and res[1].location == "t:2" and res[2].location == "t:3"


def test_value_size_limit_multiline(monkeypatch):
    monkeypatch.setattr(json_stream, "MAX_VALUE_BYTES", 4096)
    monkeypatch.setattr(json_stream, "_PRETTY_WINDOW", 64)
    body = b"".join(b'  "k%d": "%s",\n' % (i, b"y" * 100) for i in range(100))
    big = b"{\n" + body + b'  "Type": "HostLog"\n}\n'
    res = run(big + LINE + b"\n", chunk_size=512)
    assert [type(r) for r in res] == [Rejected, ParsedEvent]
    assert "limit" in res[0].reason and res[0].location == "t:1"
    next_line = big.count(b"\n") + 1
    assert res[1].location == f"t:{next_line}"


def test_value_size_limit_array(monkeypatch):
    monkeypatch.setattr(json_stream, "MAX_VALUE_BYTES", 4096)
    big = {**EV, "Resource": "x" * 10_000}
    res = run(jsoncodec.dumps([EV, big, EV]), chunk_size=700)
    assert [type(r) for r in res] == [ParsedEvent, Rejected, ParsedEvent]
    assert "limit" in res[1].reason


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1000])
def test_chunk_boundaries_do_not_change_results(chunk, shared_dir):
    import orjson

    sample = (shared_dir / "corpus" / "real" / "odd-cases.jsonl").read_bytes()
    objs = [jsoncodec.loads(x) for x in sample.splitlines()]
    pretty = b"\n".join(orjson.dumps(o, option=orjson.OPT_INDENT_2) for o in objs)
    text = (shared_dir / "corpus" / "real" / "karmor-text-samples.txt").read_bytes()[:6000]
    for data in (sample, jsoncodec.dumps(objs), pretty, sample + b'{"Type": "x",\n' + sample, text):
        assert sig(run(data, chunk_size=chunk)) == sig(run(data)), (chunk, data[:40])


# ---------------------------------------------------------------------------
# bounded memory
# ---------------------------------------------------------------------------
class _GeneratedStream(io.RawIOBase):
    """A read-only stream producing ``head`` + ``item`` (sep ``item``)* + ``tail`` without holding it."""

    def __init__(self, head: bytes, item: bytes, sep: bytes, count: int, tail: bytes) -> None:
        self._parts = iter(self._gen(head, item, sep, count, tail))
        self._buf = b""
        self.total = 0

    @staticmethod
    def _gen(head, item, sep, count, tail):
        yield head
        for i in range(count):
            yield (sep if i else b"") + item
        yield tail

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while len(self._buf) < len(b):
            part = next(self._parts, None)
            if part is None:
                break
            self._buf += part
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        self.total += n
        return n


def _event_item(shared_dir) -> bytes:
    return (shared_dir / "corpus" / "real" / "saas-enriched.jsonl").read_bytes().splitlines()[2]


@pytest.mark.slow
@pytest.mark.parametrize("form", ["ndjson", "array"])
def test_streaming_memory_is_bounded(form, shared_dir):
    item = _event_item(shared_dir)
    count = (24 << 20) // len(item)  # ~24 MB of input
    if form == "ndjson":
        stream = _GeneratedStream(b"", item, b"\n", count, b"\n")
    else:
        stream = _GeneratedStream(b"[\n", item, b",\n", count, b"\n]\n")
    tracemalloc.start()
    try:
        n = 0
        for r in iter_parse(io.BufferedReader(stream, 1 << 16), "big"):
            assert isinstance(r, ParsedEvent)
            n += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == count
    assert stream.total > 20 << 20
    assert peak < 8 << 20, f"peak {peak / 1e6:.1f} MB for {stream.total / 1e6:.1f} MB of input"


@pytest.mark.slow
def test_streaming_memory_single_line_array(shared_dir):
    """A huge compact array on ONE line (orjson.dumps of a list) is still read in chunks."""
    item = _event_item(shared_dir)
    count = (12 << 20) // len(item)
    stream = _GeneratedStream(b"[", item, b",", count, b"]")
    tracemalloc.start()
    try:
        n = sum(1 for _ in iter_parse(stream, "big"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == count
    assert peak < 8 << 20, f"peak {peak / 1e6:.1f} MB"


# ---------------------------------------------------------------------------
# files and streams
# ---------------------------------------------------------------------------
def test_iter_parse_path(tmp_path: Path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(LINE + b"\n" + LINE)
    res = list(iter_parse_path(p))
    assert [r.location for r in res] == [f"{p}:1", f"{p}:2"]
    res = list(iter_parse_path(str(p)))
    assert res[0].location == f"{p}:1"


def test_iter_parse_path_errors(tmp_path: Path):
    with pytest.raises(ParseError, match="cannot read"):
        iter_parse_path(tmp_path / "missing.jsonl")
    with pytest.raises(ParseError):
        list(iter_parse_path(tmp_path))


def test_read_error_is_parse_error():
    class Broken(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, b):
            raise OSError(5, "Input/output error")

    with pytest.raises(ParseError, match="read error"):
        list(iter_parse(Broken(), "broken"))


def test_text_mode_stream_accepted():
    res = list(iter_parse(io.StringIO(LINE.decode() + "\n"), "s"))
    assert len(res) == 1 and isinstance(res[0], ParsedEvent)


def test_no_event_time_warning_in_stream():
    res = run(b'{"Type": "ContainerLog", "Operation": "File"}')
    assert NO_EVENT_TIME_WARNING in res[0].warnings


def test_rejected_is_dead_letter_ready():
    for r in run(b'{"a": tru}\n"x"\n[1]\n\xff\xfe\n'):
        assert isinstance(r, Rejected)
        jsoncodec.dumps(r.to_dead_letter())
        assert r.reason and r.location.startswith("t:")


def test_module_docs_exist():
    for mod in ("normalize", "envelopes", "json_stream", "karmor_text"):
        m = __import__(f"integrations.events.{mod}", fromlist=["x"])
        assert m.__doc__ and len(m.__doc__) > 200, mod
    assert os.path.basename(json_stream.__file__) == "json_stream.py"
