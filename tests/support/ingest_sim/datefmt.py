"""Date parsing/formatting for the ``date`` processor (Elasticsearch ``DateFormat``).

Formats:

* ``ISO8601`` - ES' lenient ``iso8601`` parser: ``yyyy[-MM[-dd[THH[:mm[:ss[.fraction]]]][zone]]]``
  with fraction ``.``/``,`` 1-9 digits and zone ``Z``, ``+HH``, ``+HHmm`` or ``+HH:mm``;
  a value without zone takes the processor's ``timezone``;
* ``UNIX`` (``(long)(Double.parseDouble(s) * 1000)`` ms), ``UNIX_MS`` (``Long.parseLong``),
  ``TAI64N``;
* Java ``DateTimeFormatter`` patterns with the letters ``y u Y M L d D H k K h m s S a
  E e w Z X x VV`` and quoted literals; ``a||b`` alternatives; a leading ``8`` is
  ignored (6.x compatibility); named formats ``epoch_second``, ``epoch_millis``,
  ``iso8601``, ``date_optional_time``, ``strict_date_optional_time``
  (+``_nanos``). Week fields use ISO rules (Monday, 4 days), as Elasticsearch
  installs an ISO calendar data provider. Patterns without any year take the
  current UTC year. Anything else is rejected at load time (``UnsupportedPattern``).

Precision: values are held as aware ``datetime`` objects, i.e. microseconds; input
fractions beyond 6 digits are truncated (the default output format prints millis).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from .errors import IngestError
from .javacompat import parse_java_double, parse_java_int

try:  # Python 3.9+
    import zoneinfo as _zoneinfo
except ImportError:  # pragma: no cover
    _zoneinfo = None  # type: ignore[assignment]

UTC = _dt.timezone.utc
DEFAULT_OUTPUT_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class UnsupportedPattern(ValueError):
    pass


class DateParseError(IngestError):
    def __init__(self, reason: str) -> None:
        super().__init__("date_time_parse_exception", reason)


class _Zone(_dt.tzinfo):
    """A tzinfo that remembers the Java ZoneId text (``UTC``, ``Europe/Paris``, ``+01:00``)."""


def parse_zone(text: str) -> _dt.tzinfo:
    """``ZoneId.of`` for the forms used in pipelines."""
    t = text.strip() if text is not None else text
    if t in ("Z", "UTC", "GMT", "UT", "UCT", "Etc/UTC", "Etc/GMT", "Zulu"):
        return UTC
    m = re.fullmatch(r"(?:UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?", t or "")
    if m:
        sign = -1 if m.group(1) == "-" else 1
        hours, minutes, seconds = int(m.group(2)), int(m.group(3) or 0), int(m.group(4) or 0)
        if hours > 18 or minutes > 59 or seconds > 59:
            raise IngestError("date_time_exception", f"Zone offset not in valid range: {t}")
        return _dt.timezone(sign * _dt.timedelta(hours=hours, minutes=minutes, seconds=seconds))
    if _zoneinfo is not None and t and re.fullmatch(r"[A-Za-z][A-Za-z0-9~/._+-]+", t):
        try:
            return _zoneinfo.ZoneInfo(t)
        except Exception:  # noqa: BLE001,S110 - falls through to the ES error below
            pass
    raise IngestError("zone_rules_exception", f"Unknown time-zone ID: {text}")


def zone_id_string(tz: _dt.tzinfo) -> str:
    if tz is UTC:
        return "UTC"
    key = getattr(tz, "key", None)
    if key:
        return str(key)
    off = tz.utcoffset(None)
    return _offset_text(off, colon=True, zero="Z")


def _offset_text(off: Optional[_dt.timedelta], colon: bool, zero: Optional[str], seconds: bool = False,
                 minutes_optional: bool = False) -> str:
    total = int(off.total_seconds()) if off is not None else 0
    if total == 0 and zero is not None:
        return zero
    sign = "-" if total < 0 else "+"
    total = abs(total)
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    out = f"{sign}{h:02d}"
    if minutes_optional and m == 0 and s == 0:
        return out
    out += (":" if colon else "") + f"{m:02d}"
    if seconds and s:
        out += (":" if colon else "") + f"{s:02d}"
    return out


# ---------------------------------------------------------------- pattern tokenizer

_PATTERN_LETTERS = set("GuyDMLdQqYwWEecFaBhKkHmsSAnNVvzOXxZpg")
_SUPPORTED = set("yuYMLdDHkKhmsSaEewZXxV")


def _tokenize(pattern: str) -> List[Tuple[str, Any]]:
    toks: List[Tuple[str, Any]] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            j = i + 1
            lit = []
            while j < n:
                if pattern[j] == "'":
                    if j + 1 < n and pattern[j + 1] == "'":
                        lit.append("'")
                        j += 2
                        continue
                    break
                lit.append(pattern[j])
                j += 1
            if j >= n:
                raise IngestError("illegal_argument_exception", f"Pattern ends with an incomplete string literal: {pattern}")
            toks.append(("lit", "".join(lit) if lit else "'"))
            i = j + 1
        elif c.isascii() and c.isalpha():
            j = i
            while j < n and pattern[j] == c:
                j += 1
            count = j - i
            if c not in _PATTERN_LETTERS:
                raise IngestError("illegal_argument_exception", f"Unknown pattern letter: {c}")
            if c not in _SUPPORTED or (c == "V" and count != 2):
                raise UnsupportedPattern(
                    f"date pattern letter [{c * count}] in [{pattern}] is not implemented by the offline simulator")
            toks.append(("field", (c, count)))
            i = j
        elif c in "[]{}#":
            raise UnsupportedPattern(f"date pattern [{pattern}]: optional sections/reserved character [{c}] "
                                     "are not implemented by the offline simulator")
        else:
            toks.append(("lit", c))
            i += 1
    return toks


def _text_alt(names: List[str]) -> str:
    return "(" + "|".join(re.escape(x) for x in sorted(names, key=len, reverse=True)) + ")"


def _field_regex(letter: str, count: int) -> str:
    if letter in "yuY":
        if count == 2:
            return r"(\d{2})"
        if count < 4:
            return "(\\d{" + str(count) + ",19})"
        return "(\\+?\\d{" + str(count) + ",19})"
    if letter in "ML":
        if count >= 4:
            return _text_alt(MONTHS)
        if count == 3:
            return _text_alt([x[:3] for x in MONTHS])
        return r"(\d{2})" if count == 2 else r"(\d{1,19})"
    if letter in "dHkKhmsw":
        return r"(\d{2})" if count == 2 else r"(\d{1,19})"
    if letter == "D":
        return "(\\d{" + str(count) + ",19})" if count > 1 else r"(\d{1,19})"
    if letter == "S":
        return "(\\d{" + str(count) + "})"
    if letter == "a":
        return r"(AM|PM)"
    if letter == "E":
        return _text_alt(DAYS) if count >= 4 else _text_alt([x[:3] for x in DAYS])
    if letter == "e":
        return r"(\d{2})" if count == 2 else r"(\d)"
    if letter == "Z":
        if count <= 3:
            return r"([+-]\d{4})"
        if count == 4:
            return r"(GMT(?:[+-]\d{2}:\d{2}(?::\d{2})?)?)"
        return r"(Z|[+-]\d{2}:\d{2}(?::\d{2})?)"
    if letter == "X":
        return {1: r"(Z|[+-]\d{2}(?:\d{2})?)", 2: r"(Z|[+-]\d{4})", 3: r"(Z|[+-]\d{2}:\d{2})",
                4: r"(Z|[+-]\d{4}(?:\d{2})?)"}.get(count, r"(Z|[+-]\d{2}:\d{2}(?::\d{2})?)")
    if letter == "x":
        return {1: r"([+-]\d{2}(?:\d{2})?)", 2: r"([+-]\d{4})", 3: r"([+-]\d{2}:\d{2})",
                4: r"([+-]\d{4}(?:\d{2})?)"}.get(count, r"([+-]\d{2}:\d{2}(?::\d{2})?)")
    if letter == "V":
        return r"(Z|[+-]\d{2}:?\d{2}|[A-Za-z][A-Za-z0-9~/._+-]+)"
    raise UnsupportedPattern(letter)  # pragma: no cover


def _parse_offset(text: str) -> _dt.tzinfo:
    if text in ("Z", "GMT"):
        return UTC
    t = text[3:] if text.startswith("GMT") else text
    sign = -1 if t[0] == "-" else 1
    digits = t[1:].replace(":", "")
    h = int(digits[:2])
    m = int(digits[2:4] or 0)
    s = int(digits[4:6] or 0)
    return _dt.timezone(sign * _dt.timedelta(hours=h, minutes=m, seconds=s))


class JavaPattern:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.tokens = _tokenize(pattern)
        rx = []
        self.fields: List[Tuple[str, int]] = []
        for kind, val in self.tokens:
            if kind == "lit":
                rx.append(re.escape(val))
            else:
                rx.append(_field_regex(*val))
                self.fields.append(val)
        self.regex = re.compile("".join(rx))

    def parse(self, text: str, zone: _dt.tzinfo, now_year: Callable[[], int]) -> _dt.datetime:
        m = self.regex.match(text)
        if not m:
            raise DateParseError(f"Text '{text}' could not be parsed at index 0")
        if m.end() != len(text):
            raise DateParseError(f"Text '{text}' could not be parsed, unparsed text found at index {m.end()}")
        v: Dict[str, Any] = {}
        for (letter, count), raw in zip(self.fields, m.groups()):
            key = letter if letter != "L" else "M"
            if letter in "ML" and count >= 3:
                names = MONTHS if count >= 4 else [x[:3] for x in MONTHS]
                val: Any = names.index(raw) + 1
            elif letter == "E":
                names = DAYS if count >= 4 else [x[:3] for x in DAYS]
                val = names.index(raw) + 1
            elif letter in "ZXxV":
                val = _parse_offset(raw) if (raw[0] in "+-Z" or raw.startswith("GMT")) else parse_zone(raw)
                key = "zone"
            elif letter == "a":
                val = raw
            elif letter == "S":
                val = int((raw + "000000000")[:9])
            else:
                val = int(raw.lstrip("+"))
                if letter in "yuY" and count == 2:
                    val += 2000
            if key in v and v[key] != val:
                raise DateParseError(f"Text '{text}' could not be parsed: Conflict found: {key} {v[key]} differs "
                                     f"from {key} {val}")
            v[key] = val
        return _resolve(text, v, zone, now_year)


def _resolve(text: str, v: Dict[str, Any], zone: _dt.tzinfo, now_year: Callable[[], int]) -> _dt.datetime:
    def bad(msg: str) -> DateParseError:
        return DateParseError(f"Text '{text}' could not be parsed: {msg}")

    try:
        if "Y" in v and "y" not in v and "u" not in v:
            week = v.get("w", 1)
            dow = v.get("e", v.get("E", 1))
            date = _dt.date.fromisocalendar(v["Y"], week, dow)
        else:
            if "y" in v or "u" in v:
                year = v.get("u", v.get("y"))
            else:
                year = now_year()
            if "D" in v and "M" not in v:
                date = _dt.date(year, 1, 1) + _dt.timedelta(days=v["D"] - 1)
                if date.year != year:
                    raise bad(f"Invalid value for DayOfYear: {v['D']}")
            else:
                date = _dt.date(year, v.get("M", 1), v.get("d", 1))
            if "E" in v and date.isoweekday() != v["E"]:
                raise bad(f"Conflict found: Field DayOfWeek {DAYS[date.weekday()].upper()} differs from "
                          f"DayOfWeek {DAYS[v['E'] - 1].upper()} derived from {date.isoformat()}")
        hour = 0
        if "H" in v:
            hour = v["H"]
        elif "k" in v:
            if not 1 <= v["k"] <= 24:
                raise bad(f"Invalid value for ClockHourOfDay (valid values 1 - 24): {v['k']}")
            hour = v["k"] % 24
        elif "h" in v or "K" in v:
            h12 = v["h"] % 12 if "h" in v else v["K"]
            if "h" in v and not 1 <= v["h"] <= 12:
                raise bad(f"Invalid value for ClockHourOfAmPm (valid values 1 - 12): {v['h']}")
            hour = h12 + (12 if v.get("a") == "PM" else 0)
        nanos = v.get("S", 0)
        dt = _dt.datetime(date.year, date.month, date.day, hour, v.get("m", 0), v.get("s", 0), nanos // 1000)
    except DateParseError:
        raise
    except ValueError as e:
        raise bad(str(e)) from None
    tz = v.get("zone", zone)
    return _localize(dt, tz)


def _localize(naive: _dt.datetime, tz: _dt.tzinfo) -> _dt.datetime:
    """``LocalDateTime.atZone(zone)``: gaps move forward, overlaps take the earlier offset."""
    aware = naive.replace(tzinfo=tz, fold=0)
    if isinstance(tz, _dt.timezone):
        return aware
    # detect a gap: round trip through UTC changes the wall time
    round_trip = aware.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != naive:
        later = naive.replace(tzinfo=tz, fold=1)
        gap = (later.utcoffset() or _dt.timedelta()) - (aware.utcoffset() or _dt.timedelta())
        return (naive + abs(gap)).replace(tzinfo=tz)
    return aware


# ---------------------------------------------------------------- ISO8601 and epochs

_ISO = re.compile(
    r"([+-]?\d{4,9})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)


def parse_iso8601(text: str, zone: _dt.tzinfo) -> _dt.datetime:
    m = _ISO.fullmatch(text)
    if not m:
        raise DateParseError(f"failed to parse date field [{text}] with format [iso8601]")
    y, mo, d, h, mi, s, frac, z = m.groups()
    try:
        naive = _dt.datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0),
                             int(((frac or "") + "000000")[:6]))
    except ValueError as e:
        raise DateParseError(f"failed to parse date field [{text}] with format [iso8601]: {e}") from None
    if z is None:
        return _localize(naive, zone)
    return naive.replace(tzinfo=_parse_offset(z))


def _epoch(text: str, unit_digits: int, zone: _dt.tzinfo, name: str) -> _dt.datetime:
    max_frac = 9 if unit_digits == 0 else 6
    m = re.fullmatch(r"(-)?(\d+)(?:\.(\d{1," + str(max_frac) + r"}))?", text)
    if not m:
        raise DateParseError(f"failed to parse date field [{text}] with format [{name}]")
    whole = int(m.group(2))
    frac = m.group(3) or ""
    if unit_digits == 0:
        micros = whole * 1_000_000 + int((frac + "000000")[:6])
    else:
        micros = whole * 1000 + int((frac + "000")[:3])
    if m.group(1):
        micros = -micros
    return (_dt.datetime(1970, 1, 1, tzinfo=UTC) + _dt.timedelta(microseconds=micros)).astimezone(zone)


def _from_millis(ms: int, zone: _dt.tzinfo) -> _dt.datetime:
    return (_dt.datetime(1970, 1, 1, tzinfo=UTC) + _dt.timedelta(milliseconds=ms)).astimezone(zone)


def _java_long_cast(x: float) -> int:
    """``(long) x``: truncation toward zero, NaN -> 0, saturating."""
    if x != x:
        return 0
    if x >= 2**63:
        return 2**63 - 1
    if x <= -(2**63):
        return -(2**63)
    return int(x)


def _tai64n(text: str) -> int:
    if text.startswith("@"):
        text = text[1:]
    base = int(text[1:16], 16)
    rest = int(text[16:24], 16)
    return (base * 1000 - 10000) + rest // 1_000_000


ParserFn = Callable[[str, _dt.tzinfo], _dt.datetime]
_NAMED_ISO = ("iso8601", "date_optional_time", "strict_date_optional_time", "strict_date_optional_time_nanos")


def compile_parser(fmt: str, now_year: Optional[Callable[[], int]] = None) -> ParserFn:
    """Compile one entry of the processor's ``formats`` list (``DateFormat#fromString``)."""
    year_fn = now_year or (lambda: _dt.datetime.now(UTC).year)
    if fmt == "ISO8601":
        return lambda text, zone: parse_iso8601(text, zone).astimezone(zone)
    if fmt == "UNIX":
        return lambda text, zone: _from_millis(_java_long_cast(parse_java_double(text) * 1000.0), zone)
    if fmt == "UNIX_MS":
        return lambda text, zone: _from_millis(parse_java_int(text, 64), zone)
    if fmt == "TAI64N":
        return lambda text, zone: _from_millis(_tai64n(text), zone)
    pattern = fmt[1:] if fmt.startswith("8") else fmt
    alternatives: List[ParserFn] = []
    for alt in pattern.split("||"):
        alternatives.append(_compile_java(alt, year_fn))

    def parse(text: str, zone: _dt.tzinfo) -> _dt.datetime:
        if text is None:
            raise IngestError("null_pointer_exception", "text")
        last: Optional[BaseException] = None
        for p in alternatives:
            try:
                return p(text, zone).astimezone(zone)
            except IngestError as e:
                last = e
        raise IngestError("illegal_argument_exception",
                          f"failed to parse date field [{text}] with format [{pattern}]", cause=last)

    return parse


def _compile_java(pattern: str, year_fn: Callable[[], int]) -> ParserFn:
    if pattern in _NAMED_ISO:
        return parse_iso8601
    if pattern == "epoch_second":
        return lambda text, zone: _epoch(text, 0, zone, pattern)
    if pattern == "epoch_millis":
        return lambda text, zone: _epoch(text, 3, zone, pattern)
    if re.fullmatch(r"[a-z_]+", pattern) and len(pattern) > 5 and "_" in pattern:
        raise UnsupportedPattern(f"named date format [{pattern}] is not implemented by the offline simulator")
    jp = JavaPattern(pattern)
    return lambda text, zone: jp.parse(text, zone, year_fn)


# ---------------------------------------------------------------- formatting


class Formatter:
    """``DateFormatter.forPattern(output_format).format(zonedDateTime)`` for the supported letters."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        if pattern in ("strict_date_optional_time", "date_optional_time", "iso8601"):
            pattern = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"
        self.named = pattern if pattern in ("epoch_millis", "epoch_second") else None
        self.tokens = [] if self.named else _tokenize(pattern)

    def format(self, dt: _dt.datetime) -> str:
        if self.named == "epoch_millis":
            delta = dt - _dt.datetime(1970, 1, 1, tzinfo=UTC)
            return str((delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000)
        if self.named == "epoch_second":
            delta = dt - _dt.datetime(1970, 1, 1, tzinfo=UTC)
            return str(delta.days * 86400 + delta.seconds)
        out = []
        for kind, val in self.tokens:
            out.append(val if kind == "lit" else _format_field(dt, *val))
        return "".join(out)


def _format_field(dt: _dt.datetime, letter: str, count: int) -> str:
    def num(v: int, width: int) -> str:
        return f"{v:0{width}d}"

    if letter in "yu":
        return num(dt.year % 100, 2) if count == 2 else num(dt.year, count)
    if letter == "Y":
        y = dt.isocalendar()[0]
        return num(y % 100, 2) if count == 2 else num(y, count)
    if letter in "ML":
        if count >= 4:
            return MONTHS[dt.month - 1]
        if count == 3:
            return MONTHS[dt.month - 1][:3]
        return num(dt.month, count)
    if letter == "d":
        return num(dt.day, count)
    if letter == "D":
        return num(dt.timetuple().tm_yday, count)
    if letter == "H":
        return num(dt.hour, count)
    if letter == "k":
        return num(dt.hour or 24, count)
    if letter == "K":
        return num(dt.hour % 12, count)
    if letter == "h":
        return num(dt.hour % 12 or 12, count)
    if letter == "m":
        return num(dt.minute, count)
    if letter == "s":
        return num(dt.second, count)
    if letter == "S":
        return (f"{dt.microsecond:06d}000")[:count]
    if letter == "a":
        return "AM" if dt.hour < 12 else "PM"
    if letter == "E":
        return DAYS[dt.weekday()] if count >= 4 else DAYS[dt.weekday()][:3]
    if letter == "e":
        return num(dt.isoweekday(), count)
    if letter == "w":
        return num(dt.isocalendar()[1], count)
    off = dt.utcoffset()
    if letter == "Z":
        if count <= 3:
            return _offset_text(off, colon=False, zero=None)
        if count == 4:
            return "GMT" if not off else "GMT" + _offset_text(off, colon=True, zero=None)
        return _offset_text(off, colon=True, zero="Z", seconds=True)
    if letter in "Xx":
        zero = "Z" if letter == "X" else None
        if count == 1:
            return _offset_text(off, colon=False, zero=zero, minutes_optional=True)
        if count in (2, 4):
            return _offset_text(off, colon=False, zero=zero, seconds=count == 4)
        return _offset_text(off, colon=True, zero=zero, seconds=count == 5)
    if letter == "V":
        return zone_id_string(dt.tzinfo or UTC)
    raise UnsupportedPattern(letter)  # pragma: no cover
