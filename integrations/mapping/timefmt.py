"""KubeArmor time values -> ISO 8601 UTC strings with microseconds.

One output form everywhere (``2023-08-23T18:05:48.301798Z``) so the Python
mapper, the ingest pipeline and golden files agree byte for byte.
Accepted inputs: epoch seconds (int/float, also ms > 1e11 and µs > 1e14),
``UpdatedTime`` with micro- or milliseconds and ``Z``, zone-less (UTC),
lower-case ``t``/``z`` fixtures, the karmor text form with a space.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Dict, Optional, Tuple

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
#: date and time of KubeArmor's own form ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, which is already
#: canonical: only its epoch needs computing
_CANONICAL_HEAD = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})", re.ASCII)
#: "YYYY-MM-DD" -> epoch seconds of that midnight (None: not a date); bounded
_DAYS: Dict[str, Optional[int]] = {}
_DAYS_MAX = 4096
#: "YYYY-MM-DDTHH:MM:SS" -> epoch seconds (None: not a valid canonical second); bounded
_SECOND_EPOCH: Dict[str, Optional[int]] = {}
_MISS = object()


def epoch_seconds(value: Any) -> Optional[float]:
    """Epoch seconds from a number or numeric string, scaling ms/µs inputs down."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        return None
    if value > 1e14:
        value = value / 1e6
    elif value > 1e11:
        value = value / 1e3
    if value < 0 or value > 32503680000:  # beyond year 3000 is garbage, not a time
        return None
    return float(value)


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> Optional[Tuple[str, float]]:
    s = text.strip().upper().replace(" ", "T", 1)
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    # Python 3.9/3.10 fromisoformat only takes 3 or 6 fraction digits: pad/cut to 6.
    head, dot, rest = s.partition(".")
    if dot:
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        frac, tail = rest[:i], rest[i:]
        s = f"{head}.{(frac + '000000')[:6]}{tail}"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_UTC)
    else:
        dt = dt.astimezone(_UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), (dt - _EPOCH).total_seconds()


def _day_epoch(day: str) -> Optional[int]:
    hit = _DAYS.get(day, -1)
    if hit != -1:
        return hit  # type: ignore[return-value]
    try:
        out: Optional[int] = (datetime(int(day[:4]), int(day[5:7]), int(day[8:10]), tzinfo=_UTC) - _EPOCH).days * 86400
    except ValueError:
        out = None
    if len(_DAYS) >= _DAYS_MAX:
        _DAYS.clear()
    _DAYS[day] = out
    return out


def _second_epoch(head: str) -> Optional[int]:
    """Epoch seconds of ``YYYY-MM-DDTHH:MM:SS`` (UTC), ``None`` when not a valid canonical second."""
    m = _CANONICAL_HEAD.fullmatch(head)
    if m is None or head[0] == "0":
        return None  # years before 1000: strftime("%Y") does not pad them, the slow route decides
    ymd, hh, mm, ss = m.groups()
    day = _day_epoch(ymd)
    h, mi, sec = int(hh), int(mm), int(ss)
    if day is None or h > 23 or mi > 59 or sec > 59:
        return None
    return day + h * 3600 + mi * 60 + sec


def _second_base(value: str, _miss: Any = _MISS) -> Optional[int]:
    """Epoch seconds of the second of a valid ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, else ``None``.

    Events of one burst share their second: its validity and epoch are cached,
    only the shape and the fraction are checked per event.
    """
    if len(value) != 27 or value[19] != "." or value[26] != "Z":
        return None
    us = value[20:26]
    if not (us.isdigit() and us.isascii()):
        return None
    head = value[:19]
    base = _SECOND_EPOCH.get(head, _miss)
    if base is _miss:
        base = _second_epoch(head)
        if len(_SECOND_EPOCH) >= _DAYS_MAX:
            _SECOND_EPOCH.clear()
        _SECOND_EPOCH[head] = base
    return base  # type: ignore[no-any-return]


def _canonical(value: str) -> Optional[Tuple[str, float]]:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ``: the text is its own ISO form; epoch from integer parts.

    Same result as the datetime route (``total_seconds`` divides integer
    microseconds by 10**6 too), without a parse and a strftime per event.
    """
    base = _second_base(value)
    if base is None:
        return None
    return value, (base * 1_000_000 + int(value[20:26])) / 1_000_000


def is_canonical(value: str) -> bool:
    """True when ``value`` is a valid ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: its own ISO output form."""
    return _second_base(value) is not None


def parse_time(value: Any) -> Optional[Tuple[str, float]]:
    """``(iso, epoch_seconds)`` for any accepted time value, else ``None``."""
    if value.__class__ is str:
        if len(value) == 27 and value[10] == "T" and value[26] == "Z" and value[19] == ".":
            # Fast path: KubeArmor's own microsecond form is already canonical.
            hit = _canonical(value)
            if hit is not None:
                return hit
            return _parse_text(value)
    if isinstance(value, str):
        if value.strip().lstrip("-").replace(".", "", 1).isdigit():
            value = epoch_seconds(value)
        else:
            return _parse_text(value)
    secs = epoch_seconds(value)
    if secs is None:
        return None
    return _from_epoch(secs)


@lru_cache(maxsize=8192)
def _from_epoch(secs: float) -> Tuple[str, float]:
    # events of one burst share their epoch second: format each second once
    dt = datetime.fromtimestamp(secs, _UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), secs


@lru_cache(maxsize=64)
def _second_prefix(whole: int) -> str:
    return datetime.fromtimestamp(whole, _UTC).strftime("%Y-%m-%dT%H:%M:%S.")


def to_iso(value: Any) -> Optional[str]:
    """ISO 8601 UTC with microseconds, or ``None`` when the value is not a time."""
    hit = parse_time(value)
    return hit[0] if hit else None


_last_now: list = [None, None]


def now_iso() -> Tuple[str, float]:
    """The current time as ``(iso, epoch_seconds)``, formatted at most once per millisecond.

    Ingestion time is stamped on every event. Elasticsearch keeps ``date``
    fields (``event.ingested``) to the millisecond, so a pair formatted less
    than a millisecond ago is returned again (both parts from that call): the
    formatting runs once per millisecond instead of once per event.
    """
    t = time.time()
    last = _last_now[0]
    if last is not None and 0.0 <= t - last < 0.001:
        return _last_now[1]
    frac, whole = math.modf(t)
    us = round(frac * 1e6)
    if us >= 1_000_000:  # rounding carried into the next second
        whole, us = whole + 1, us - 1_000_000
    out = (f"{_second_prefix(int(whole))}{us:06d}Z", t)
    _last_now[0], _last_now[1] = t, out
    return out
