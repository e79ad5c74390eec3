"""Streaming readers: any supported input form from a binary stream, incrementally.

The form is decided from the first non-whitespace byte (a leading UTF-8 BOM is
skipped with a warning):

``{``  an *object stream*: one JSON object, NDJSON (one object per line) or
       pretty-printed multi-line objects one after another, in any mix;
``[``  a JSON array of events (or of envelopes) - may be one huge line;
``"``, ``-``, digit, ``t``/``f``/``n``
       an object stream when the first line parses as JSON (the scalar is
       then rejected and reading goes on), else text;
other  the ``karmor logs`` text rendering (:mod:`.karmor_text`).

Memory is bounded: the stream is read in chunks (``chunk_size``, 1 MiB by
default) and at most one JSON value (``MAX_VALUE_BYTES``, 64 MiB) plus one chunk
is held; a larger value is skipped and rejected with a preview. A 1 GB file is
never loaded whole.

Object streams take a fast path per line (``orjson.loads`` of the whole line).
Only a line that does not parse is scanned structurally (strings, brackets) to
tell a pretty-printed object that continues on the next lines from a broken
line:

* the value closes on the line -> decode it, then go on with the rest of the
  line (so ``{...}{...}`` and ``} {`` work);
* a string is still open at the end of the line -> truncated/malformed line
  (JSON strings cannot contain a raw newline): rejected, next line;
* brackets still open -> first try the first following line that starts with
  ``}`` as the end (how pretty printers close a top-level object: one decode,
  no scanning); else collect the following lines until they close. If a
  line starting with ``{`` or ``[`` appears where a key was expected (directly
  inside the unfinished object, not after ``:``), the unfinished object is
  rejected as truncated and reading resumes at that line - one truncated NDJSON
  line cannot swallow the lines after it.

Values nested deeper than ``MAX_DEPTH`` are rejected *before* decoding (some
orjson versions crash on very deep nesting). Invalid UTF-8 inside an otherwise
valid value is replaced with U+FFFD and reported as a warning; a BOM at the
start of a line and empty lines are skipped with a warning on the next event.

Every problem becomes a :class:`~integrations.model.Rejected` with a reason, the
location ``name:line`` (line where the value starts) and the original text
(truncated to ``MAX_ORIGINAL_CHARS``); reading continues with the next line,
value or array element. Only an I/O error of the stream itself raises
:class:`~integrations.errors.ParseError`.
"""

from __future__ import annotations

import os
import re
from typing import Any, BinaryIO, Iterator, List, Optional, Tuple, Union

from .. import jsoncodec
from ..errors import ParseError
from ..model import ParsedEvent, ParseResult, Rejected
from .envelopes import parse_object
from .normalize import _jtype

__all__ = [
    "iter_parse",
    "iter_parse_path",
    "DEFAULT_CHUNK_SIZE",
    "MAX_VALUE_BYTES",
    "MAX_DEPTH",
    "MAX_ORIGINAL_CHARS",
]

DEFAULT_CHUNK_SIZE = 1 << 20
#: Largest single JSON value (line, object or array element) accepted.
MAX_VALUE_BYTES = 64 << 20
#: Deepest nesting of ``{``/``[`` accepted in one value (events need about 4; OTLP about 10).
MAX_DEPTH = 128
#: ``Rejected.original`` keeps at most this many characters of the input.
MAX_ORIGINAL_CHARS = 64 << 10
#: Longest text line (karmor text mode).
MAX_TEXT_LINE = 1 << 20

_BOM = b"\xef\xbb\xbf"
_TOKEN_RE = re.compile(rb'["{}\[\]]')
_STR_REST_RE = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NONWS_RE = re.compile(rb"[^ \t\r\n]")
#: likely end of an array element: '}' then ',' and the next '{', or the closing ']'
_CAND_RE = re.compile(rb"\}[ \t\r\n]*(?:,[ \t\r\n]*\{|\])")
#: a line without these bytes and with an even number of quotes cannot change the nesting
_STRUCT_BYTES_RE = re.compile(rb"[{}\[\]\\]")
_SCALAR_RE = re.compile(rb"[^,\] \t\r\n]*")
_OPEN = (0x7B, 0x5B)  # { [
_QUOTE = 0x22
_JSON_SCALAR_START = frozenset(b'"-0123456789tfn')
_FAIL = object()
#: decoder messages end with a position inside the value; the location already says where
_ORJSON_POS_RE = re.compile(r": line \d+ column \d+ \(char (\d+)\)$")


# ---------------------------------------------------------------------------
# byte source
# ---------------------------------------------------------------------------
class _Source:
    """A chunked byte buffer over a binary stream."""

    __slots__ = ("_read", "buf", "pos", "eof", "chunk", "name")

    def __init__(self, stream: BinaryIO, chunk: int, name: str) -> None:
        self._read = stream.read
        self.buf = b""
        self.pos = 0
        self.eof = False
        self.chunk = chunk
        self.name = name

    def fill(self) -> int:
        """Append one chunk, dropping consumed bytes; return the shift of offsets."""
        if self.eof:
            return 0
        try:
            data = self._read(self.chunk)
        except OSError as e:
            raise ParseError(f"read error: {e}", self.name) from e
        if isinstance(data, str):  # a text-mode stream: accept it
            data = data.encode("utf-8", "surrogateescape")
        shift = self.pos
        if not data:
            self.eof = True
            if shift:
                self.buf = self.buf[shift:]
                self.pos = 0
            return shift
        self.buf = self.buf[shift:] + data if shift < len(self.buf) else bytes(data)
        self.pos = 0
        return shift

    def readline(self, limit: int) -> bytes:
        """The next line with its ``\\n``; at most ``limit`` bytes; ``b""`` at the end."""
        start = self.pos
        search = start
        while True:
            buf = self.buf
            i = buf.find(b"\n", search, start + limit)
            if i >= 0:
                self.pos = i + 1
                return buf[start : i + 1]
            if len(buf) - start >= limit:
                self.pos = start + limit
                return buf[start : start + limit]
            if self.eof:
                self.pos = len(buf)
                return buf[start:]
            search = len(buf)
            self.pos = start
            shift = self.fill()
            start -= shift
            search -= shift

    def skip_line(self) -> None:
        """Discard up to and including the next ``\\n`` (after an over-long line)."""
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0:
                self.pos = i + 1
                return
            self.pos = len(self.buf)
            if self.eof:
                return
            self.fill()

    def peek_line(self, limit: int) -> bytes:
        """The next line (at most ``limit`` bytes) without consuming it."""
        while True:
            start = self.pos
            i = self.buf.find(b"\n", start, start + limit)
            if i >= 0:
                return self.buf[start : i + 1]
            if len(self.buf) - start >= limit or self.eof:
                return self.buf[start : start + limit]
            self.fill()

    def skip_ws(self, lineno: int) -> Tuple[Optional[int], int]:
        """Skip whitespace, counting newlines; the next byte (not consumed) or ``None`` at the end."""
        while True:
            m = _NONWS_RE.search(self.buf, self.pos)
            if m is not None:
                p = m.start()
                lineno += self.buf.count(b"\n", self.pos, p)
                self.pos = p
                return self.buf[p], lineno
            lineno += self.buf.count(b"\n", self.pos)
            self.pos = len(self.buf)
            if self.eof:
                return None, lineno
            self.fill()


# ---------------------------------------------------------------------------
# structural scanner
# ---------------------------------------------------------------------------
def _scan(buf: bytes, pos: int, depth: int, in_str: bool, maxd: int) -> Tuple[int, int, bool, int, int]:
    """Scan ``buf`` from ``pos`` for the end of the current JSON container.

    Returns ``(end, depth, in_str, maxd, resume)``: ``end`` is the offset just after
    the bracket that closes depth 0, or -1 when more input is needed; ``resume``
    where to continue after appending data.
    """
    tok = _TOKEN_RE.search
    str_rest = _STR_REST_RE.match
    n = len(buf)
    while True:
        if in_str:
            m = str_rest(buf, pos)
            if m is None:
                # open string: resume at the end, but not inside an escape sequence
                resume = n
                k = n
                while k > pos and buf[k - 1] == 0x5C:
                    k -= 1
                if (n - k) % 2 == 1:
                    resume = n - 1
                return -1, depth, True, maxd, resume
            pos = m.end()
            in_str = False
        m = tok(buf, pos)
        if m is None:
            return -1, depth, False, maxd, n
        c = buf[m.start()]
        pos = m.end()
        if c == _QUOTE:
            in_str = True
        elif c in _OPEN:
            depth += 1
            if depth > maxd:
                maxd = depth
        else:
            depth -= 1
            if depth <= 0:
                return pos, 0, False, maxd, pos


def _original(data: bytes) -> str:
    """Input bytes as text for a dead letter: invalid UTF-8 shown as ``\\xNN``, bounded."""
    if len(data) > MAX_ORIGINAL_CHARS:
        head = data[:MAX_ORIGINAL_CHARS].decode("utf-8", "backslashreplace")
        return f"{head}...[{len(data) - MAX_ORIGINAL_CHARS} more bytes not kept]"
    return data.decode("utf-8", "backslashreplace")


def _loads_guarded(value: bytes) -> Tuple[Any, Optional[str], Optional[str]]:
    """Decode one JSON value. Returns ``(obj, error, warning)``; ``obj`` is ``_FAIL`` on error."""
    try:
        return jsoncodec.loads(value), None, None
    except RecursionError:
        return _FAIL, f"JSON nested deeper than the decoder allows (limit {MAX_DEPTH})", None
    except ValueError as e:
        err = _ORJSON_POS_RE.sub(r" (at character \1 of the value)", str(e))
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as e:
        repaired = value.decode("utf-8", "replace").encode("utf-8")
        try:
            obj = jsoncodec.loads(repaired)
        except (ValueError, RecursionError) as e2:
            msg = _ORJSON_POS_RE.sub(r" (at character \1 of the value)", str(e2))
            return _FAIL, f"invalid JSON: {msg} (and invalid UTF-8 at byte {e.start})", None
        return obj, None, f"invalid UTF-8 at byte {e.start} replaced with U+FFFD"
    if value.startswith(_BOM):
        return _FAIL, "invalid JSON: starts with a UTF-8 byte-order mark", None
    return _FAIL, f"invalid JSON: {err}", None


def _attach(results: List[ParseResult], pending: List[str]) -> None:
    """Move pending stream-level warnings onto the first event of ``results``."""
    for r in results:
        if r.__class__ is ParsedEvent:
            r.warnings[:0] = pending
            del pending[:]
            return


def _decode_value(value: bytes, location: str, maxd: int, pending: List[str]) -> List[ParseResult]:
    if maxd > MAX_DEPTH:
        return [Rejected(f"JSON nested deeper than {MAX_DEPTH} levels (depth bomb?)", location, _original(value))]
    obj, err, warning = _loads_guarded(value)
    if obj is _FAIL:
        return [Rejected(err or "invalid JSON", location, _original(value))]
    if obj.__class__ is not dict:
        return [Rejected(f"expected a JSON object, got a JSON {_jtype(obj)}", location, obj)]
    results = parse_object(obj, location)
    if warning:
        pending.append(warning)
    if pending:
        _attach(results, pending)
    return results


#: how far ahead the pretty-printed fast path looks for the closing '}' line
_PRETTY_WINDOW = 1 << 20


def _pretty_candidate(src: _Source, head: bytes) -> Optional[Tuple[Any, int]]:
    """Fast path for a pretty-printed object whose first line ``head`` was just read.

    The object's closing brace is the first line starting with ``}`` (nested
    closings are indented). If the text up to there decodes to an object, consume
    it and return ``(object, newlines consumed)``; else leave ``src`` untouched
    and return ``None`` (the caller then scans line by line).
    """
    while True:
        buf = src.buf
        pos = src.pos
        i = buf.find(b"\n}", pos, pos + _PRETTY_WINDOW)
        if i >= 0:
            break
        if src.eof or len(buf) - pos >= _PRETTY_WINDOW:
            return None
        src.fill()
    seg = buf[pos : i + 2]
    value = head + b"\n" + seg
    if value.count(b"{") + value.count(b"[") > MAX_DEPTH:
        return None
    try:
        obj = jsoncodec.loads(value)
    except Exception:  # noqa: BLE001 - malformed: let the line-by-line path explain why
        return None
    if obj.__class__ is not dict:
        return None
    src.pos = i + 2
    return obj, seg.count(b"\n")


# ---------------------------------------------------------------------------
# object stream (single object, NDJSON, concatenated pretty objects)
# ---------------------------------------------------------------------------
class _Pending:
    """A multi-line JSON value being collected."""

    __slots__ = ("start", "parts", "size", "depth", "maxd", "first", "last_sig", "skipping", "preview")

    def __init__(self, start: int, first_line: bytes, depth: int, maxd: int) -> None:
        self.start = start
        self.parts = [first_line]
        self.size = len(first_line)
        self.depth = depth
        self.maxd = maxd
        self.first = first_line[0]
        self.last_sig = first_line.rstrip()[-1:]
        self.skipping = False
        self.preview = b""

    def text(self) -> bytes:
        return self.preview if self.skipping else b"".join(self.parts)


def _iter_objects(src: _Source, name: str, lineno: int, pending: List[str]) -> Iterator[ParseResult]:
    """Object-stream mode from the current position; ``lineno`` is the line of ``src.pos``."""
    loads = jsoncodec.loads
    limit = MAX_VALUE_BYTES
    max_depth = MAX_DEPTH
    parse = parse_object
    lineno -= 1
    rest: Optional[bytes] = None
    acc: Optional[_Pending] = None
    blanks = 0
    while True:
        # Hot loop: NDJSON lines that decode to an event, straight from the buffer.
        if rest is None and acc is None and not blanks and not pending:
            buf = src.buf
            pos = src.pos
            find = buf.find
            while True:
                i = find(b"\n", pos)
                if i < 0 or i - pos > limit:
                    break
                line = buf[pos : i + 1]
                if line.count(b"{") + line.count(b"[") > max_depth:
                    break
                try:
                    obj = loads(line)
                except Exception:  # noqa: BLE001 - the general loop below explains why
                    break
                if obj.__class__ is not dict:
                    break
                pos = i + 1
                lineno += 1
                src.pos = pos
                results = parse(obj, f"{name}:{lineno}")
                if len(results) == 1:
                    yield results[0]
                else:
                    yield from results
        if rest is not None:
            line = rest
            rest = None
        else:
            line = src.readline(limit + 1)
            if not line:
                break
            lineno += 1
            if len(line) > limit and not line.endswith(b"\n"):
                src.skip_line()
                where = acc.start if acc is not None else lineno
                yield Rejected(
                    f"line {lineno} is longer than the {limit}-byte limit for one JSON value; skipped",
                    f"{name}:{where}",
                    _original(acc.text() if acc is not None else line[:MAX_ORIGINAL_CHARS]),
                )
                acc = None
                continue

        if acc is None:
            # fast path: one complete JSON value on the line
            if line.count(b"{") + line.count(b"[") <= MAX_DEPTH:
                try:
                    obj = loads(line)
                except Exception:  # noqa: BLE001 - any decoder error: go the slow way
                    obj = _FAIL
                if obj is not _FAIL:
                    loc = f"{name}:{lineno}"
                    if blanks:
                        pending.append(f"{blanks} empty line(s) before line {lineno} skipped")
                        blanks = 0
                    if obj.__class__ is dict:
                        results = parse_object(obj, loc)
                        if pending:
                            _attach(results, pending)
                        yield from results
                    else:
                        yield Rejected(f"expected a JSON object, got a JSON {_jtype(obj)}", loc, obj)
                    continue
            s = line.strip()
            if not s:
                blanks += 1
                continue
            if s.startswith(_BOM):
                pending.append(f"UTF-8 byte-order mark at line {lineno} ignored")
                s = s[3:].lstrip()
                if not s:
                    continue
            if blanks:
                pending.append(f"{blanks} empty line(s) before line {lineno} skipped")
                blanks = 0
            loc = f"{name}:{lineno}"
            if s[0] not in _OPEN:
                obj, err, _w = _loads_guarded(s)
                if obj is _FAIL:
                    yield Rejected(f"not a JSON object: {err}", loc, _original(s))
                elif obj.__class__ is dict:  # pragma: no cover - cannot start without '{'
                    yield from parse_object(obj, loc)
                else:
                    yield Rejected(f"expected a JSON object, got a JSON {_jtype(obj)}", loc, obj)
                continue
            end, depth, in_str, maxd, _r = _scan(s, 0, 0, False, 0)
            if end >= 0:
                yield from _decode_value(s[:end], loc, maxd, pending)
                tail = s[end:]
                if tail.strip():
                    rest = tail
                continue
            if in_str:
                yield Rejected(
                    f"truncated or malformed JSON: a string is still open at the end of line {lineno}",
                    loc,
                    _original(s),
                )
                continue
            if s[0] == 0x7B:
                # pretty-printed object: try the first line that starts with '}' as its end
                fast = _pretty_candidate(src, s)
                if fast is not None:
                    obj, newlines = fast
                    results = parse_object(obj, loc)
                    if pending:
                        _attach(results, pending)
                    yield from results
                    lineno += newlines + 1  # now the line of the closing '}'
                    tail = src.readline(limit + 1)
                    if tail.strip():
                        rest = tail
                    continue
            acc = _Pending(lineno, s + b"\n", depth, maxd)
            continue

        # collecting a multi-line value
        s = line.strip()
        if not s:
            if not acc.skipping:
                acc.parts.append(line)
                acc.size += len(line)
            continue
        if acc.depth == 1 and acc.first == 0x7B and acc.last_sig != b":" and s[0] in _OPEN:
            if not acc.skipping:
                yield Rejected(
                    f"truncated JSON object starting at line {acc.start}: line {lineno} starts a new value "
                    "before it was closed",
                    f"{name}:{acc.start}",
                    _original(acc.text()),
                )
            acc = None
            rest = line
            continue
        if _STRUCT_BYTES_RE.search(line) is None and not line.count(b'"') % 2:
            end, depth, in_str, maxd = -1, acc.depth, False, acc.maxd  # plain "key": value line
        else:
            end, depth, in_str, maxd, _r = _scan(line, 0, acc.depth, False, acc.maxd)
        if end >= 0:
            if not acc.skipping:
                value = b"".join(acc.parts) + line[:end]
                yield from _decode_value(value, f"{name}:{acc.start}", maxd, pending)
            acc = None
            tail = line[end:]
            if tail.strip():
                rest = tail
            continue
        if in_str:
            if not acc.skipping:
                acc.parts.append(line)
                yield Rejected(
                    f"truncated or malformed JSON: a string is still open at the end of line {lineno} "
                    f"(value starting at line {acc.start})",
                    f"{name}:{acc.start}",
                    _original(acc.text()),
                )
            acc = None
            continue
        acc.depth = depth
        acc.maxd = maxd
        acc.last_sig = s[-1:]
        if not acc.skipping:
            acc.parts.append(line)
            acc.size += len(line)
            if acc.size > limit:
                acc.preview = b"".join(acc.parts)[:MAX_ORIGINAL_CHARS]
                acc.parts = []
                acc.skipping = True
                yield Rejected(
                    f"JSON value starting at line {acc.start} is larger than the {limit}-byte limit; skipped",
                    f"{name}:{acc.start}",
                    _original(acc.preview),
                )
    if acc is not None and not acc.skipping:
        yield Rejected(
            f"truncated JSON: input ended inside the value starting at line {acc.start}",
            f"{name}:{acc.start}",
            _original(acc.text()),
        )


# ---------------------------------------------------------------------------
# JSON array
# ---------------------------------------------------------------------------
def _read_element(src: _Source, lineno: int) -> Tuple[Optional[bytes], Any, int, int, Optional[str]]:
    """Read one array element at ``src.pos``.

    Returns ``(raw, obj, maxd, lineno_after, error)``: ``obj`` is the decoded value
    when the fast path decoded it (else ``_FAIL``); ``raw`` the element bytes
    (``None`` when skipped because of the size limit or the end of input).
    """
    limit = MAX_VALUE_BYTES
    buf = src.buf
    start = src.pos
    first = buf[start]
    if first == 0x7B:
        # fast path: try the next few '}' followed by ',' or ']' as the end
        tries = 0
        for m in _CAND_RE.finditer(buf, start):
            end = m.start() + 1
            if end - start > limit or tries >= 4:
                break
            tries += 1
            seg = buf[start:end]
            if seg.count(b"{") + seg.count(b"[") > MAX_DEPTH:
                break
            try:
                obj = jsoncodec.loads(seg)
            except Exception:  # noqa: BLE001, S112 - not the element's end: try the next candidate
                continue
            src.pos = end
            return seg, obj, 1, lineno + seg.count(b"\n"), None
    if first in _OPEN:
        depth, in_str, maxd, pos = 0, False, 0, start
        skipping = False
        preview = b""
        while True:
            end, depth, in_str, maxd, pos = _scan(src.buf, pos, depth, in_str, maxd)
            if end >= 0:
                break
            if not skipping and pos - start > limit:
                skipping = True
                preview = src.buf[start : start + MAX_ORIGINAL_CHARS]
            if skipping:
                lineno += src.buf.count(b"\n", start, pos)
                start = pos
            src.pos = start
            if src.eof:
                raw = preview if skipping else src.buf[start:]
                lineno += src.buf.count(b"\n", start)
                src.pos = len(src.buf)
                return raw, _FAIL, maxd, lineno, "truncated JSON: input ended inside an array element"
            shift = src.fill()
            start -= shift
            pos -= shift
        raw = src.buf[start:end]
        src.pos = end
        lineno += raw.count(b"\n")
        if skipping:
            return preview, _FAIL, maxd, lineno, f"array element larger than the {limit}-byte limit; skipped"
        return raw, _FAIL, maxd, lineno, None
    # a scalar (or garbage) up to the next ',' / ']' / whitespace
    if first == _QUOTE:
        while True:
            m = _STR_REST_RE.match(src.buf, start + 1)
            if m is not None:
                end = m.end()
                break
            if src.eof or len(src.buf) - start > limit:
                end = len(src.buf)
                break
            src.pos = start
            start -= src.fill()
    else:
        while True:
            end = max(_SCALAR_RE.match(src.buf, start).end(), start + 1)  # always make progress
            if end < len(src.buf) or src.eof or end - start > limit:
                break
            src.pos = start
            start -= src.fill()
    raw = src.buf[start:end]
    src.pos = end
    return raw, _FAIL, 0, lineno + raw.count(b"\n"), None


def _iter_array(src: _Source, name: str, lineno: int, pending: List[str]) -> Iterator[ParseResult]:
    """Array mode: ``src.pos`` is at ``[``. Returns (via StopIteration) the line after it."""
    open_line = lineno
    src.pos += 1
    expect_value = True
    while True:
        b, lineno = src.skip_ws(lineno)
        if b is None:
            yield Rejected(
                f"truncated JSON array: input ended before the ']' of the array opened at line {open_line}",
                f"{name}:{open_line}",
                "",
            )
            return lineno
        if b == 0x5D:  # ]
            src.pos += 1
            return lineno
        if b == 0x2C:  # ,
            src.pos += 1
            if expect_value:
                pending.append(f"empty element (extra ',') in the JSON array at line {lineno} skipped")
            expect_value = True
            continue
        if not expect_value:
            pending.append(f"missing ',' between JSON array elements at line {lineno}")
        elem_line = lineno
        loc = f"{name}:{elem_line}"
        before_buf, before_pos = src.buf, src.pos
        raw, obj, maxd, lineno, err = _read_element(src, lineno)
        if src.buf is before_buf and src.pos == before_pos:  # pragma: no cover - defensive
            src.pos += 1  # never loop in place
        expect_value = False
        if err is not None:
            yield Rejected(err, loc, _original(raw or b""))
            if src.eof and src.pos >= len(src.buf):
                return lineno  # the array is truncated too: one rejection says it
            continue
        if obj is _FAIL:
            yield from _decode_value(raw, loc, maxd, pending)
        elif obj.__class__ is dict:
            results = parse_object(obj, loc)
            if pending:
                _attach(results, pending)
            yield from results
        else:  # pragma: no cover - the fast path only decodes objects
            yield Rejected(f"expected a JSON object, got a JSON {_jtype(obj)}", loc, obj)


# ---------------------------------------------------------------------------
# text lines (karmor rendering)
# ---------------------------------------------------------------------------
def _iter_text_lines(src: _Source, lineno: int) -> Iterator[Tuple[int, bytes]]:
    lineno -= 1
    while True:
        line = src.readline(MAX_TEXT_LINE)
        if not line:
            return
        lineno += 1
        if len(line) >= MAX_TEXT_LINE and not line.endswith(b"\n"):
            src.skip_line()
            line = line[:MAX_ORIGINAL_CHARS] + b"...[line too long, rest skipped]\n"
        yield lineno, line


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def iter_parse(stream: BinaryIO, name: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[ParseResult]:
    """Parse any supported form from a binary stream, yielding ``ParsedEvent`` /
    ``Rejected`` in input order. ``location`` is ``f"{name}:{line}"``."""
    from .karmor_text import iter_text  # local import: karmor_text uses this module's helpers

    src = _Source(stream, max(int(chunk_size), 1), name)
    pending: List[str] = []
    b, lineno = src.skip_ws(1)
    if b is None:
        return
    if src.buf.startswith(_BOM, src.pos):
        src.pos += 3
        pending.append(f"UTF-8 byte-order mark at line {lineno} ignored")
        b, lineno = src.skip_ws(lineno)
        if b is None:
            return
    if b == 0x5B:  # [
        while True:
            lineno = yield from _iter_array(src, name, lineno, pending)
            b, lineno = src.skip_ws(lineno)
            if b is None:
                return
            if b != 0x5B:
                break
        yield from _iter_objects(src, name, lineno, pending)
        return
    if b == 0x7B:  # {
        yield from _iter_objects(src, name, lineno, pending)
        return
    if b in _JSON_SCALAR_START:
        first = src.peek_line(MAX_TEXT_LINE)
        obj, _err, _w = _loads_guarded(first.strip())
        if obj is not _FAIL:
            yield from _iter_objects(src, name, lineno, pending)
            return
    yield from iter_text(_iter_text_lines(src, lineno), name, pending)


def _iter_file(f: BinaryIO, name: str, chunk_size: int) -> Iterator[ParseResult]:
    with f:
        yield from iter_parse(f, name, chunk_size)


def iter_parse_path(path: Union[str, os.PathLike[str]], chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[ParseResult]:
    """Open ``path`` in binary mode and :func:`iter_parse` it (name = the path as given).

    Raises :class:`ParseError` at once when the file cannot be opened.
    """
    name = os.fsdecode(os.fspath(path))
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by _iter_file
    except OSError as e:
        raise ParseError(f"cannot read file: {e.strerror or e}", name) from e
    return _iter_file(f, name, chunk_size)
