"""Java semantics that Elasticsearch's ingest code relies on, reproduced in Python.

* ``toString()`` of the JSON value types (``Double.toString``, ``List``/``Map``);
* number parsing (``Integer.parseInt``, ``Long.decode``, ``Float.parseFloat`` ...)
  with Java's exact acceptance rules and ``NumberFormatException`` messages;
* ``Object#equals`` for JSON values (``Integer 3`` is not ``Double 3.0``, ``true`` is not ``1``);
* ``String#split(regex, limit)``, ``String#trim``, ``String#compareTo`` order and
  ``Strings.hasText`` (``Character.isWhitespace``);
* ``java.util.regex`` -> ``re`` translation for patterns and ``Matcher#replaceAll``
  replacement strings.

Type markers: a JSON document parsed by Elasticsearch holds ``Integer`` or ``Long``
(whichever fits) and ``Double``; processors may produce ``Long`` (``convert`` to
long) and ``Float``. :class:`JavaLong` and :class:`JavaFloat` are ``int``/``float``
subclasses that remember that, so ``fingerprint`` feeds the right byte widths and
``toString`` prints like Java. They compare and serialise as plain numbers.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Any, Callable, List, Union

from .errors import IngestError

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


class JavaLong(int):
    """An ``int`` that Elasticsearch holds as ``java.lang.Long``."""

    def __repr__(self) -> str:  # keep json/str output identical to int
        return int.__repr__(self)

    __str__ = __repr__


class JavaFloat(float):
    """A ``float`` that Elasticsearch holds as ``java.lang.Float`` (value = its shortest decimal)."""

    def __repr__(self) -> str:
        return float.__repr__(self)

    __str__ = __repr__


def number_format_error(s: str, what: str = "input string") -> IngestError:
    return IngestError("number_format_exception", f'For {what}: "{s}"')


# ---------------------------------------------------------------- class names / toString


def java_class_name(v: Any) -> str:
    from .document import IngestTimestamp

    if v is None:
        return "null"
    if isinstance(v, bool):
        return "java.lang.Boolean"
    if isinstance(v, JavaLong):
        return "java.lang.Long"
    if isinstance(v, int):
        return "java.lang.Integer" if INT_MIN <= v <= INT_MAX else (
            "java.lang.Long" if LONG_MIN <= v <= LONG_MAX else "java.math.BigInteger")
    if isinstance(v, JavaFloat):
        return "java.lang.Float"
    if isinstance(v, float):
        return "java.lang.Double"
    if isinstance(v, str):
        return "java.lang.String"
    if isinstance(v, list):
        return "java.util.ArrayList"
    if isinstance(v, dict):
        return "java.util.HashMap"
    if isinstance(v, (bytes, bytearray)):
        return "[B"
    if isinstance(v, IngestTimestamp):
        return "java.time.ZonedDateTime"
    return type(v).__name__


def _java_fp_to_string(x: float, digits: str, exp10: int) -> str:
    """Format per ``Double.toString`` rules given the shortest digit string and exponent.

    ``digits`` are the significant digits (no dot), the value is ``0.digits * 10**exp10``.
    """
    sci = exp10 - 1  # exponent in d.ddd notation
    if -3 <= sci < 7:
        if exp10 <= 0:
            s = "0." + "0" * (-exp10) + digits
        elif exp10 >= len(digits):
            s = digits + "0" * (exp10 - len(digits)) + ".0"
        else:
            s = digits[:exp10] + "." + digits[exp10:]
        return s
    mant = digits[0] + "." + (digits[1:] or "0")
    return f"{mant}E{sci}"


def _shortest_digits(r: str) -> tuple[str, int]:
    """Split Python's shortest repr of a positive finite float into (digits, exp10)."""
    if "e" in r or "E" in r:
        mant, ex = r.lower().split("e")
        e = int(ex)
    else:
        mant, e = r, 0
    if "." in mant:
        ip, fp = mant.split(".")
    else:
        ip, fp = mant, ""
    digits = (ip + fp).lstrip("0")
    lead_zeros = len(ip + fp) - len((ip + fp).lstrip("0"))
    exp10 = len(ip) + e - lead_zeros
    digits = digits.rstrip("0") or "0"
    return digits, exp10


def java_double_to_string(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    digits, exp10 = _shortest_digits(repr(abs(float(x))))
    return sign + _java_fp_to_string(abs(x), digits, exp10)


def float32_shortest(x: float) -> str:
    """Shortest decimal string that round-trips through IEEE-754 single precision."""
    f32 = struct.unpack("<f", struct.pack("<f", x))[0]
    if math.isnan(f32) or math.isinf(f32) or f32 == 0:
        return repr(f32)
    for d in range(1, 10):
        s = f"{f32:.{d}g}"
        if struct.unpack("<f", struct.pack("<f", float(s)))[0] == f32:
            return s
    return repr(f32)  # pragma: no cover


def to_java_float(x: float) -> JavaFloat:
    """Round a double to float precision; keep the shortest decimal as the Python value."""
    f32 = struct.unpack("<f", struct.pack("<f", x))[0]
    if math.isnan(f32) or math.isinf(f32):
        return JavaFloat(f32)
    return JavaFloat(float(float32_shortest(f32)))


def java_float_to_string(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    digits, exp10 = _shortest_digits(float32_shortest(abs(x)))
    return sign + _java_fp_to_string(abs(x), digits, exp10)


def java_to_string(v: Any) -> str:
    """``String.valueOf(v)`` for the value types found in ingest documents."""
    from .document import IngestTimestamp

    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, JavaFloat):
        return java_float_to_string(v)
    if isinstance(v, float):
        return java_double_to_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(java_to_string(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{java_to_string(k)}={java_to_string(x)}" for k, x in v.items()) + "}"
    if isinstance(v, IngestTimestamp):
        return v.java_string()
    if isinstance(v, (bytes, bytearray)):
        return "[B@" + format(id(v) & 0xFFFFFFF, "x")
    return str(v)


# ---------------------------------------------------------------- number parsing

_INT_RE = re.compile(r"[+-]?[0-9]+\Z")


def parse_java_int(s: str, bits: int = 32) -> int:
    """``Integer.parseInt`` / ``Long.parseLong`` (radix 10)."""
    lo, hi = (INT_MIN, INT_MAX) if bits == 32 else (LONG_MIN, LONG_MAX)
    if not _INT_RE.match(s):
        raise number_format_error(s)
    v = int(s)
    if not lo <= v <= hi:
        raise number_format_error(s)
    return v


def decode_java_int(s: str, bits: int = 32) -> int:
    """``Integer.decode`` / ``Long.decode`` (used by convert for ``0x`` prefixes)."""
    lo, hi = (INT_MIN, INT_MAX) if bits == 32 else (LONG_MIN, LONG_MAX)
    if s == "":
        raise IngestError("number_format_exception", "Zero length string")
    neg = s[0] == "-"
    idx = 1 if s[0] in "+-" else 0
    body = s[idx:]
    if body.startswith(("0x", "0X")):
        radix, digits = 16, body[2:]
    elif body.startswith("#"):
        radix, digits = 16, body[1:]
    elif body.startswith("0") and len(body) > 1:
        radix, digits = 8, body[1:]
    else:
        radix, digits = 10, body
    if digits.startswith(("-", "+")):
        raise IngestError("number_format_exception", "Sign character in wrong position")
    allowed = "0123456789abcdefABCDEF"[: 10 if radix == 10 else (8 if radix == 8 else 22)]
    if not digits or any(c not in allowed for c in digits):
        suffix = "" if radix == 10 else f" under radix {radix}"
        raise IngestError("number_format_exception", f'For input string: "{digits}"{suffix}')
    v = int(digits, radix)
    v = -v if neg else v
    if not lo <= v <= hi:
        raise IngestError("number_format_exception", f'For input string: "{digits}"')
    return v


_JAVA_FP_RE = re.compile(
    r"[+-]?(?:NaN|Infinity|"
    r"(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)[fFdD]?)\Z"
)


def _java_trim(s: str) -> str:
    return java_trim(s)


def parse_java_double(s: str) -> float:
    """``Double.parseDouble``: trims chars <= U+0020, accepts NaN/Infinity, hex, f/d suffixes."""
    t = _java_trim(s)
    if t == "":
        raise IngestError("number_format_exception", "empty String")
    if not _JAVA_FP_RE.match(t):
        raise number_format_error(t)
    body = t.rstrip("fFdD") if not t.endswith(("NaN", "Infinity")) else t
    if "x" in body.lower() and "p" in body.lower():
        neg = body.startswith("-")
        b = body.lstrip("+-")
        v = float.fromhex(b)
        return -v if neg else v
    if body.lstrip("+-") == "NaN":
        return math.nan
    if body.lstrip("+-") == "Infinity":
        return -math.inf if body.startswith("-") else math.inf
    return float(body)


def parse_java_float(s: str) -> JavaFloat:
    return to_java_float(parse_java_double(s))


# ---------------------------------------------------------------- equality


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def java_equals(a: Any, b: Any) -> bool:
    """``a.equals(b)`` for JSON-ish values (``List#contains`` uses this).

    Approximation: ``Integer`` and ``Long`` of the same value are treated as equal
    (Python cannot tell them apart after JSON parsing); integers never equal floats.
    """
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, float) and isinstance(b, float):
        if isinstance(a, JavaFloat) != isinstance(b, JavaFloat):
            return False
        return a == b or (math.isnan(a) and math.isnan(b))
    if is_number(a) or is_number(b):
        return False
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(java_equals(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(java_equals(a[k], b[k]) for k in a)
    return a == b


def java_contains(lst: List[Any], value: Any) -> bool:
    return any(java_equals(x, value) for x in lst)


# ---------------------------------------------------------------- strings


def java_trim(s: str) -> str:
    """``String#trim``: strips code points <= U+0020 only."""
    i, j = 0, len(s)
    while i < j and s[i] <= " ":
        i += 1
    while j > i and s[j - 1] <= " ":
        j -= 1
    return s[i:j]


#: ``Character.isWhitespace`` as its Javadoc lists it: the Unicode space, line and paragraph
#: separators except the no-break spaces U+00A0, U+2007 and U+202F, plus U+0009-U+000D and
#: U+001C-U+001F. Spelled out, so the answer does not depend on the running Python's Unicode data.
JAVA_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"
    " \u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008\u2009\u200a\u205f\u3000"
    "\u2028\u2029"
)


def java_has_text(s: str) -> bool:
    """Elasticsearch's ``Strings.hasText``: not empty and not only ``Character.isWhitespace``."""
    return not JAVA_WHITESPACE.issuperset(s)


def java_utf16_units(s: str) -> List[int]:
    """The UTF-16 code units of ``s``; ``String#compareTo`` orders strings by them.

    Python orders ``str`` by code point, which differs for characters above U+FFFF
    (a surrogate pair sorts before U+E000-U+FFFF in Java).
    """
    units: List[int] = []
    for ch in s:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            units.append(0xD800 | (cp >> 10))
            units.append(0xDC00 | (cp & 0x3FF))
        else:
            units.append(cp)
    return units


def java_natural_key(v: Any) -> Any:
    """Sort key for ``Comparator.naturalOrder()``: strings in UTF-16 order, numbers as they are."""
    return java_utf16_units(v) if isinstance(v, str) else v


def java_lower(s: str) -> str:
    """``toLowerCase(Locale.ROOT)``; Python's ``lower`` differs only for a few special letters."""
    return s.lower()


def java_upper(s: str) -> str:
    return s.upper()


# ---------------------------------------------------------------- regex translation

_POSIX = {
    "Lower": "a-z", "Upper": "A-Z", "ASCII": "\\x00-\\x7F", "Alpha": "a-zA-Z", "Digit": "0-9",
    "Alnum": "a-zA-Z0-9", "Punct": "!-/:-@\\[-`{-~", "Graph": "!-~", "Print": " -~", "Blank": " \\t",
    "Cntrl": "\\x00-\\x1F\\x7F", "XDigit": "0-9a-fA-F", "Space": " \\t\\n\\x0B\\f\\r",
    "L": "^\\W\\d_", "IsAlphabetic": "^\\W\\d_", "IsDigit": "0-9", "IsLetter": "^\\W\\d_",
    "javaLowerCase": "a-z", "javaUpperCase": "A-Z", "javaWhitespace": " \\t\\n\\x0B\\f\\r\\x1C-\\x1F",
}
_H = " \\t\\xA0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000"
_V = "\\n\\x0B\\f\\r\\x85\\u2028\\u2029"


class JavaRegexError(ValueError):
    pass


def java_regex_to_python(pattern: str) -> str:
    """Translate a ``java.util.regex`` pattern into Python ``re`` syntax.

    Handles ``\\Q..\\E`` quoting, ``(?<name>..)`` groups and ``\\k<name>``, POSIX
    ``\\p{...}`` classes, ``\\h``/``\\H``/``\\v``/``\\V``, ``\\z``/``\\Z``. Compile the
    result with ``re.ASCII`` (Java's default ``\\w``/``\\d``/``\\s``/``\\b`` are ASCII).
    Raises :class:`JavaRegexError` for constructs without a faithful translation
    (``&&`` class intersection, ``\\G``, ``\\R``, ``\\X``, ``\\p{..}`` categories
    not listed above).
    """
    out: List[str] = []
    i, n = 0, len(pattern)
    in_class = 0
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise JavaRegexError("Unexpected internal error near index " + str(n))
            d = pattern[i + 1]
            if d == "Q":
                end = pattern.find("\\E", i + 2)
                lit = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
                out.append(re.escape(lit) if not in_class else "".join("\\" + ch if not ch.isalnum() else ch
                                                                        for ch in lit))
                i = n if end < 0 else end + 2
                continue
            if d in "pP":
                if i + 2 < n and pattern[i + 2] == "{":
                    end = pattern.find("}", i + 3)
                    name = pattern[i + 3:end]
                    i_next = end + 1
                else:
                    name = pattern[i + 2]
                    i_next = i + 3
                name = name[2:] if name.startswith("Is") and name[2:] in _POSIX else name
                if name not in _POSIX:
                    raise JavaRegexError(f"unsupported character class \\{d}{{{name}}}")
                body = _POSIX[name]
                neg = d == "P"
                if body.startswith("^"):
                    body, neg = body[1:], not neg
                if in_class:
                    if neg:
                        raise JavaRegexError("negated \\P{..} inside a character class is not supported")
                    out.append(body)
                else:
                    out.append(("[^" if neg else "[") + body + "]")
                i = i_next
                continue
            if d in "hH":
                out.append(_H if in_class else ("[" if d == "h" else "[^") + _H + "]")
                if in_class and d == "H":
                    raise JavaRegexError("\\H inside a character class is not supported")
                i += 2
                continue
            if d in "vV":
                if in_class:
                    if d == "V":
                        raise JavaRegexError("\\V inside a character class is not supported")
                    out.append(_V)
                else:
                    out.append(("[" if d == "v" else "[^") + _V + "]")
                i += 2
                continue
            if d == "z":
                out.append("\\Z")
                i += 2
                continue
            if d == "Z":
                out.append("(?=\\n?\\Z)")
                i += 2
                continue
            if d == "k" and i + 2 < n and pattern[i + 2] == "<":
                end = pattern.find(">", i + 3)
                out.append(f"(?P={pattern[i + 3:end]})")
                i = end + 1
                continue
            if d in "GRXe":
                raise JavaRegexError(f"unsupported escape \\{d}")
            out.append(c + d)
            i += 2
            continue
        if in_class:
            if c == "[":
                raise JavaRegexError("nested character classes / unions are not supported")
            if c == "&" and pattern.startswith("&&", i):
                raise JavaRegexError("character class intersection (&&) is not supported")
            if c == "]":
                in_class = 0
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = 1
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # leading ] is literal in Java too
                out.append("\\]")
                i += 1
            continue
        if c == "(" and pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


def compile_java_regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(java_regex_to_python(pattern), flags | re.ASCII)
    except re.error as e:
        raise JavaRegexError(str(e)) from e


def java_replacement(repl: str, pattern: re.Pattern[str]) -> Callable[[re.Match[str]], str]:
    """``Matcher#appendReplacement`` syntax: ``$n``, ``${name}``, ``\\x`` -> literal x."""
    parts: List[Union[str, int]] = []
    buf: List[str] = []
    i, n = 0, len(repl)
    groups = pattern.groups
    while i < n:
        c = repl[i]
        if c == "\\":
            i += 1
            if i >= n:
                raise IngestError("illegal_argument_exception", "character to be escaped is missing")
            buf.append(repl[i])
            i += 1
        elif c == "$":
            i += 1
            if i >= n:
                raise IngestError("illegal_argument_exception", "Illegal group reference: group index is missing")
            if repl[i] == "{":
                end = repl.find("}", i)
                if end < 0:
                    raise IngestError("illegal_argument_exception", "named capturing group is missing trailing '}'")
                name = repl[i + 1:end]
                if name not in pattern.groupindex:
                    raise IngestError("illegal_argument_exception", f"No group with name {{{name}}}")
                if buf:
                    parts.append("".join(buf))
                    buf = []
                parts.append(pattern.groupindex[name])
                i = end + 1
            else:
                if not repl[i].isdigit():
                    raise IngestError("illegal_argument_exception", "Illegal group reference")
                ref = int(repl[i])
                if ref > groups:
                    raise IngestError("index_out_of_bounds_exception", f"No group {ref}")
                i += 1
                while i < n and repl[i].isdigit() and ref * 10 + int(repl[i]) <= groups:
                    ref = ref * 10 + int(repl[i])
                    i += 1
                if buf:
                    parts.append("".join(buf))
                    buf = []
                parts.append(ref)
        else:
            buf.append(c)
            i += 1
    if buf:
        parts.append("".join(buf))

    def fn(m: re.Match[str]) -> str:
        return "".join(p if isinstance(p, str) else (m.group(p) or "") for p in parts)

    return fn


def java_split(pattern: Union[str, re.Pattern[str]], s: str, limit: int = 0) -> List[str]:
    """``String#split(regex, limit)`` / ``Pattern#split``.

    A zero-width match at the start never yields a leading empty string; with
    ``limit == 0`` trailing empty strings are removed; with ``limit > 0`` at most
    ``limit`` parts; no match at all returns ``[s]``.
    """
    rx = pattern if isinstance(pattern, re.Pattern) else compile_java_regex(pattern)
    if s == "":
        return [""]
    parts: List[str] = []
    index = 0
    matched = False
    for m in rx.finditer(s):
        if limit > 0 and len(parts) >= limit - 1:
            break
        if m.end() == 0:  # zero-width match at the very beginning
            continue
        matched = True
        parts.append(s[index:m.start()])
        index = m.end()
    if not matched:
        return [s]
    parts.append(s[index:])
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts
