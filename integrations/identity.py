"""Event identity: Elasticsearch's ``fingerprint`` processor, reproduced in Python.

Consumes a canonical event (``ParsedEvent.fields``) or any JSON-like document;
produces the Base64 id written to ``_id``, ``event.id`` and CIM ``id``, and used
by the poller's duplicate filter. Sits between ``events`` and ``sinks``; depends
only on ``errors`` (see ``docs/ecs-mapping.md`` section 7).

:func:`es_fingerprint` is a byte-for-byte copy of ``FingerprintProcessor.java``
(elastic/elasticsearch, ``modules/ingest-common``) so an ingest pipeline using
the ``fingerprint`` processor and this module agree:

1. field names are sorted in Java's natural ``String`` order (UTF-16 code units);
2. the digest starts with the salt's UTF-8 bytes when the salt has text
   (``Strings.hasText``: a blank salt counts as none);
3. each field is resolved like ``IngestDocument.getFieldValue`` in the classic
   access pattern (``a.b`` walks nested maps, a numeric element indexes a list,
   a literal ``"a.b"`` key is *not* found); a missing or null value is skipped
   with ``ignore_missing`` and is an error otherwise;
4. values are fed depth-first: list elements in order, set elements sorted,
   map entries sorted by key (each as ``0x00`` + key bytes, then its value);
   every scalar as ``0x00`` + its bytes;
5. the digest is written as standard Base64; with no field present there is no
   fingerprint (``None``).

Scalar bytes (``toBytes`` in Java), with the Python type that stands for each
Java type after JSON decoding:

==========================  ==========================================================
Python value                bytes fed after ``0x00``
==========================  ==========================================================
``str``                     UTF-8 (a lone surrogate becomes ``?``, as Java does)
``bool``                    ``0x01`` (true) / ``0x02`` (false)
``int`` in int32 range      4 bytes little-endian (Jackson yields ``Integer``)
``int`` in int64 range      8 bytes little-endian (Jackson yields ``Long``)
``int`` beyond int64        error (Jackson yields ``BigInteger``, which ES rejects)
``float``                   8 bytes little-endian IEEE double: Python's ``float`` *is*
                            a double, and Elasticsearch parses JSON decimals as
                            ``Double``; Java ``Float`` (4 bytes) never comes from JSON
``bytes``/``bytearray``     the bytes as they are (Java ``byte[]``)
``None`` inside a container nothing (just the ``0x00``)
==========================  ==========================================================

Dates (``ZonedDateTime``/``Date``) only exist inside a pipeline, never in a JSON
document; a ``datetime`` is rejected like any other unsupported type, so convert
it to a string first.

:func:`event_id` is the project's identity rule: ``HashID`` when present, else
the SHA-256 fingerprint of :data:`FINGERPRINT_FIELDS` with every value converted
to a string first, so Python (which cannot tell Java's ``Integer`` from ``Long``
after ``json.loads``) and the pipeline (``convert`` to ``string``) agree.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import unicodedata
from decimal import Decimal
from math import copysign, isinf, isnan
from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence

from .errors import MappingError

__all__ = [
    "FINGERPRINT_FIELDS",
    "FINGERPRINT_METHODS",
    "es_fingerprint",
    "event_id",
    "murmur3_x64_128",
]

#: Rule id used in :class:`~integrations.errors.MappingError` messages.
RULE_ID = "fingerprint"

#: The stable KubeArmor fields the fingerprint covers (ecs-mapping.md section 7).
FINGERPRINT_FIELDS = (
    "UpdatedTime", "Timestamp", "HostName", "HostPID", "PID", "ContainerID",
    "Type", "Operation", "Resource", "Data", "PolicyName", "Action", "Result",
)

#: The ``method`` values Elasticsearch accepts (case-sensitive, as in ES).
FINGERPRINT_METHODS = ("MD5", "SHA-1", "SHA-256", "SHA-512", "MurmurHash3")

_DELIMITER = b"\x00"
_TRUE = b"\x01"
_FALSE = b"\x02"
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_pack_int = struct.Struct("<i").pack
_pack_long = struct.Struct("<q").pack
_pack_double = struct.Struct("<d").pack


# --------------------------------------------------------------------------- Java semantics


def _java_sort_key(value: Any) -> Any:
    """Sort key reproducing Java's natural order for ``String`` (UTF-16 code units).

    Python orders ``str`` by code point, which differs from UTF-16 order when a
    string holds a character above U+FFFF; UTF-16 big-endian bytes compare
    exactly in code-unit order.
    """
    if isinstance(value, str):
        return value.encode("utf-16-be", "surrogatepass")
    return value


def _java_sorted(values: Iterable[Any]) -> List[Any]:
    values = list(values)
    if all(isinstance(v, str) and v.isascii() for v in values):
        return sorted(values)  # ASCII: code point order == UTF-16 order, cheapest path
    try:
        return sorted(values, key=_java_sort_key)
    except TypeError as exc:  # Java would throw ClassCastException
        raise MappingError(RULE_ID, f"cannot sort values of mixed types: {exc}") from None


def _java_is_whitespace(ch: str) -> bool:
    """``Character.isWhitespace``: Unicode space separators except no-break spaces, plus controls."""
    if ch in "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f":
        return True
    if ch in "\u00a0\u2007\u202f":
        return False
    return unicodedata.category(ch) in ("Zs", "Zl", "Zp")


def _java_has_text(value: str) -> bool:
    """``Strings.hasText``: at least one non-whitespace character."""
    return any(not _java_is_whitespace(c) for c in value)


def _utf8(value: str) -> bytes:
    # Java's String.getBytes(UTF_8) replaces an unpaired surrogate with '?'.
    return value.encode("utf-8", "replace")


def _scalar_bytes(value: Any) -> bytes:
    """``FingerprintProcessor.toBytes`` for one non-container value."""
    t = type(value)
    if t is str:
        return _utf8(value)
    if t is bool:
        return _TRUE if value else _FALSE
    if t is int:
        if _INT32_MIN <= value <= _INT32_MAX:
            return _pack_int(value)
        if _INT64_MIN <= value <= _INT64_MAX:
            return _pack_long(value)
        raise MappingError(RULE_ID, "cannot convert object of type [java.math.BigInteger] to bytes")
    if t is float:
        return _pack_double(value)
    if value is None:
        return b""
    # Subclasses (IntEnum, str subclasses, ...) after the exact-type fast path.
    if isinstance(value, str):
        return _utf8(str(value))
    if isinstance(value, bool):
        return _TRUE if value else _FALSE
    if isinstance(value, int):
        return _scalar_bytes(int(value))
    if isinstance(value, float):
        return _pack_double(float(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise MappingError(RULE_ID, f"cannot convert object of type [{type(value).__name__}] to bytes")


# --------------------------------------------------------------------------- MurmurHash3


_M64 = 0xFFFFFFFFFFFFFFFF
_C1 = 0x87C37B91114253D5
_C2 = 0x4CF5AD432745937F


def _rotl64(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _fmix64(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _M64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _M64
    k ^= k >> 33
    return k


def murmur3_x64_128(data: bytes, seed: int = 0) -> bytes:
    """MurmurHash3 x64 128-bit, output as Elasticsearch's ``Murmur3Hasher.digest()``.

    ES writes ``h1`` then ``h2``, each **big-endian** (``Numbers.longToBytes``),
    unlike the reference C code's little-endian byte dump.
    """
    length = len(data)
    h1 = h2 = seed & _M64
    nblocks = length // 16
    if nblocks:
        words = struct.unpack_from(f"<{2 * nblocks}Q", data)
        for i in range(0, 2 * nblocks, 2):
            k1 = (words[i] * _C1) & _M64
            k1 = _rotl64(k1, 31)
            k1 = (k1 * _C2) & _M64
            h1 ^= k1
            h1 = _rotl64(h1, 27)
            h1 = (h1 + h2) & _M64
            h1 = (h1 * 5 + 0x52DCE729) & _M64
            k2 = (words[i + 1] * _C2) & _M64
            k2 = _rotl64(k2, 33)
            k2 = (k2 * _C1) & _M64
            h2 ^= k2
            h2 = _rotl64(h2, 31)
            h2 = (h2 + h1) & _M64
            h2 = (h2 * 5 + 0x38495AB5) & _M64
    tail = data[nblocks * 16:]
    if len(tail) > 8:
        k2 = int.from_bytes(tail[8:], "little")
        k2 = (k2 * _C2) & _M64
        k2 = _rotl64(k2, 33)
        k2 = (k2 * _C1) & _M64
        h2 ^= k2
    if tail:
        k1 = int.from_bytes(tail[:8], "little")
        k1 = (k1 * _C1) & _M64
        k1 = _rotl64(k1, 31)
        k1 = (k1 * _C2) & _M64
        h1 ^= k1
    h1 ^= length
    h2 ^= length
    h1 = (h1 + h2) & _M64
    h2 = (h2 + h1) & _M64
    h1 = _fmix64(h1)
    h2 = _fmix64(h2)
    h1 = (h1 + h2) & _M64
    h2 = (h2 + h1) & _M64
    return h1.to_bytes(8, "big") + h2.to_bytes(8, "big")


class _MurmurHasher:
    """``hashlib``-like wrapper: buffers the input, hashes on :meth:`digest`."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def update(self, data: bytes) -> None:
        self._buf += data

    def digest(self) -> bytes:
        return murmur3_x64_128(bytes(self._buf), 0)


def _new_hasher(method: str) -> Any:
    if method == "MurmurHash3":
        return _MurmurHasher()
    if method == "MD5":
        return hashlib.md5(usedforsecurity=False)
    if method == "SHA-1":
        return hashlib.sha1(usedforsecurity=False)
    if method == "SHA-256":
        return hashlib.sha256()
    if method == "SHA-512":
        return hashlib.sha512()
    raise MappingError(
        RULE_ID,
        f"[method] [{method}] must be one of the supported hash methods [{','.join(FINGERPRINT_METHODS)}]",
    )


# --------------------------------------------------------------------------- field access

_MISSING = object()


def _is_java_int(text: str) -> bool:
    # Integer.parseInt: optional sign, then digits (ASCII here; Java also accepts other
    # Unicode decimal digits, which no field path of ours uses).
    body = text[1:] if text[:1] in "+-" else text
    return body.isdigit() and body.isascii()


def _get_field(doc: Mapping[str, Any], path: str) -> Any:
    """``IngestDocument.getFieldValue(path, Object.class, true)`` (classic access pattern).

    Returns ``_MISSING`` when the path does not resolve; ``None`` when it resolves to null.
    """
    if not path:
        raise MappingError(RULE_ID, "path cannot be null nor empty")
    if path.startswith("_ingest.") or path == "_ingest":
        raise MappingError(RULE_ID, f"field [{path}]: _ingest metadata is not available outside a pipeline")
    if path.startswith("_source."):
        path = path[len("_source."):]
    context: Any = doc
    for element in path.split("."):
        if isinstance(context, Mapping):
            context = context.get(element, _MISSING)
            if context is _MISSING:
                return _MISSING
        elif isinstance(context, (list, tuple)):
            if not _is_java_int(element):
                return _MISSING
            index = int(element)
            if index < 0 or index >= len(context):
                return _MISSING
            context = context[index]
        else:
            return _MISSING
    return context


# --------------------------------------------------------------------------- fingerprint


def _feed(update: Callable[[bytes], Any], value: Any) -> None:
    """Depth-first traversal of ``FingerprintProcessor.execute``, iterative like the Java stack."""
    stack = [value]
    pop = stack.pop
    push = stack.append
    while stack:
        v = pop()
        if isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
        elif isinstance(v, (set, frozenset)):
            stack.extend(reversed(_java_sorted(v)))
        elif isinstance(v, Mapping):
            for key in reversed(_java_sorted(v.keys())):
                push(_Entry(key, v[key]))
        elif type(v) is _Entry:
            update(_DELIMITER)
            update(_scalar_bytes(v.key))
            push(v.value)
        else:
            update(_DELIMITER)
            update(_scalar_bytes(v))


class _Entry:
    """A map entry on the traversal stack (Java's ``Map.Entry``)."""

    __slots__ = ("key", "value")

    def __init__(self, key: Any, value: Any) -> None:
        self.key = key
        self.value = value


def es_fingerprint(
    doc: Mapping[str, Any],
    fields: Sequence[str],
    method: str = "SHA-1",
    salt: str = "",
    ignore_missing: bool = False,
) -> Optional[str]:
    """Compute what Elasticsearch's ``fingerprint`` processor writes to ``target_field``.

    Returns the standard Base64 digest, or ``None`` when no field is present (the
    processor then sets nothing). Raises :class:`~integrations.errors.MappingError`
    (rule ``fingerprint``) for a missing field without ``ignore_missing``, an
    unknown method, an empty field list or a value Elasticsearch cannot hash.
    """
    if isinstance(fields, str):
        raise MappingError(RULE_ID, "[fields] must be a list of field names, not a string")
    if not fields:
        raise MappingError(RULE_ID, "[fields] must specify at least one field")
    hasher = _new_hasher(method)
    update = hasher.update
    if salt and _java_has_text(salt):
        update(_utf8(salt))
    present = 0
    for name in _java_sorted(fields):
        value = _get_field(doc, name)
        if value is _MISSING or value is None:
            if ignore_missing:
                continue
            raise MappingError(RULE_ID, f"missing field [{name}] when calculating fingerprint")
        present += 1
        _feed(update, value)
    if not present:
        return None
    return base64.b64encode(hasher.digest()).decode("ascii")


# --------------------------------------------------------------------------- event id


def _java_double_to_string(x: float) -> str:
    """``Double.toString`` (JDK 19+ shortest-digit semantics), what ``convert`` to string yields."""
    if isnan(x):
        return "NaN"
    if isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0.0:
        return "-0.0" if copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    a = abs(x)
    _, digit_tuple, exponent = Decimal(repr(a)).as_tuple()
    exp = int(exponent)  # always an int for a finite value
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    stripped = digits.rstrip("0")
    exp += len(digits) - len(stripped)
    digits = stripped
    if 1e-3 <= a < 1e7:
        point = len(digits) + exp
        if exp >= 0:
            text = digits + "0" * exp + ".0"
        elif point > 0:
            text = digits[:point] + "." + digits[point:]
        else:
            text = "0." + "0" * (-point) + digits
    elif len(digits) > 1:
        text = f"{digits[0]}.{digits[1:]}E{len(digits) - 1 + exp}"
    else:
        # Java prints at least two significant digits here and picks the two-digit
        # decimal closest to the exact value (Double.MIN_VALUE -> "4.9E-324").
        mantissa, _, power = format(Decimal(a), ".1e").partition("e")
        if float(f"{mantissa}e{power}") != a:
            mantissa, power = f"{digits}.0", str(len(digits) - 1 + exp)
        text = f"{mantissa}E{int(power)}"
    return sign + text


def _canonical_json(value: Any) -> str:
    # The stdlib on purpose: identical bytes with or without orjson installed.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _as_string(value: Any) -> Any:
    """Value after the pipeline's ``convert`` to ``string`` (Java ``toString``)."""
    t = type(value)
    if t is str:
        return value
    if t is int:
        return str(value)
    if t is bool:
        return "true" if value else "false"
    if t is float:
        return _java_double_to_string(value)
    if isinstance(value, (list, tuple)):
        # convert processes a list element by element
        return [None if v is None else _as_string(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _java_double_to_string(float(value))
    # Maps and other objects are not expected in the stable fields. Python-only rule:
    # canonical JSON, so the id stays deterministic (a pipeline cannot reproduce it).
    return _canonical_json(value)


#: FINGERPRINT_FIELDS in the order the processor feeds them (Java natural order).
_SORTED_FIELDS = tuple(sorted(FINGERPRINT_FIELDS))
_FALLBACK_FIELD = "event"


def event_id(fields: Mapping[str, Any]) -> str:
    """The deterministic id of one canonical event.

    * ``HashID`` (SaaS rows) when present and non-empty, as a string;
    * else ``es_fingerprint(fields, FINGERPRINT_FIELDS, "SHA-256", ignore_missing=True)``
      after converting every present value to a string (``str(int)`` for
      integers, ``"true"``/``"false"``, Java ``Double.toString`` for floats), so
      ``{"PID": 7}`` and ``{"PID": "7"}`` get the same id. An ingest pipeline
      gets the same value with ``convert`` (``type: string``) on these fields
      followed by ``fingerprint`` (``method: SHA-256``, ``ignore_missing: true``);
    * else, when none of those fields is present (not a KubeArmor event), the
      SHA-256 fingerprint of the whole event serialised as canonical JSON
      (sorted keys, compact separators, UTF-8, non-JSON values via ``str``),
      i.e. ``es_fingerprint({"event": <that JSON string>}, ["event"], "SHA-256")``.
      This fallback is Python-only; a pipeline would produce no fingerprint.

    The common case (all values ``str``/``int``) is hashed in one call over one
    joined buffer, without building an intermediate document.
    """
    hash_id = fields.get("HashID")
    if hash_id is not None and hash_id != "":
        return hash_id if type(hash_id) is str else str(_as_string(hash_id))

    # One comprehension, one join, one hash call: the fast path for str/int values.
    parts = [
        v if type(v) is str else str(v) if type(v) is int else _as_string(v)
        for v in map(fields.get, _SORTED_FIELDS)
        if v is not None
    ]
    if parts:
        try:
            joined = "\x00".join(parts)
        except TypeError:  # a list value: the rare slow path, fed exactly as the processor does
            return _event_id_slow(fields)
        # Each part is fed as 0x00 + UTF-8; "\x00" encodes to the single byte 0x00.
        return _sha256_b64(("\x00" + joined).encode("utf-8", "replace"))
    whole = _canonical_json(dict(fields))
    return _sha256_b64(b"\x00" + _utf8(whole))


def _event_id_slow(fields: Mapping[str, Any]) -> str:
    doc = {name: _as_string(fields[name]) for name in FINGERPRINT_FIELDS if fields.get(name) is not None}
    # doc has at least one field (the caller found one), so a fingerprint exists
    return es_fingerprint(doc, FINGERPRINT_FIELDS, "SHA-256", ignore_missing=True) or ""


def _sha256_b64(payload: bytes) -> str:
    return base64.b64encode(hashlib.sha256(payload).digest()).decode("ascii")
