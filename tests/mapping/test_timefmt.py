"""The canonical-time fast path agrees with the datetime route it replaces."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.mapping import timefmt

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _slow(text: str):
    return timefmt._parse_text.__wrapped__(text)


@settings(max_examples=3000, deadline=None)
@given(st.integers(min_value=-(10**15), max_value=32503680000 * 10**6))
def test_canonical_text_matches_datetime(us: int) -> None:
    text = (_EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert timefmt.parse_time(text) == _slow(text)


@settings(max_examples=2000, deadline=None)
@given(st.from_regex(re.compile(r"[0-9x]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z"), fullmatch=True))
def test_invalid_canonical_looking_text_matches_datetime(text: str) -> None:
    # out-of-range months, days, hours, minutes, seconds: both routes refuse the same texts
    assert timefmt.parse_time(text) == _slow(text)


def test_edge_texts() -> None:
    for text in ("2024-02-29T23:59:59.999999Z", "2023-02-29T00:00:00.000000Z", "2023-12-31T24:00:00.000000Z",
                 "2023-12-31T23:59:60.000000Z", "0000-01-01T00:00:00.000000Z", "９９９９-01-01T00:00:00.000000Z"):
        assert timefmt.parse_time(text) == _slow(text), text


def test_now_iso_is_current_and_canonical() -> None:
    iso, t = timefmt.now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", iso)
    assert timefmt.parse_time(iso)[1] == round(t, 6) or abs(timefmt.parse_time(iso)[1] - t) <= 1e-6
    assert abs(t - datetime.now(timezone.utc).timestamp()) < 5


@settings(max_examples=3000, deadline=None)
@given(st.one_of(
    st.integers(min_value=-(10**15), max_value=32503680000 * 10**6).map(
        lambda us: (_EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    st.from_regex(re.compile(r"[0-9x]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9٣ ]{6}Z"), fullmatch=True),
    st.text(max_size=30)))
def test_is_canonical_means_its_own_iso_form(text: str) -> None:
    # the mapper returns such a text unchanged as the event time: it must be what parsing gives
    if timefmt.is_canonical(text):
        assert timefmt.parse_time(text) is not None and timefmt.parse_time(text)[0] == text
    elif len(text) == 27 and text[10:11] == "T":
        hit = _slow(text)
        assert hit is None or hit[0] != text


def test_now_iso_formats_at_most_once_per_millisecond(monkeypatch) -> None:
    clock = iter([1_700_000_000.1000004, 1_700_000_000.1004, 1_700_000_000.1012, 1_700_000_000.0995])
    monkeypatch.setattr(timefmt, "time", SimpleNamespace(time=lambda: next(clock)))
    monkeypatch.setattr(timefmt, "_last_now", [None, None])
    first = timefmt.now_iso()
    assert first == ("2023-11-14T22:13:20.100000Z", 1_700_000_000.1000004)
    assert timefmt.now_iso() is first  # 0.4 ms later: the same pair
    later = timefmt.now_iso()  # 1.2 ms later: formatted again
    assert later == ("2023-11-14T22:13:20.101200Z", 1_700_000_000.1012)
    # the clock stepped back: formatted again, never a time ahead of the clock
    assert timefmt.now_iso() == ("2023-11-14T22:13:20.099500Z", 1_700_000_000.0995)
