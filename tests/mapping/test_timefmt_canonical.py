"""The per-second cache of ``timefmt._canonical`` (the poller's ``event_timestamp`` runs it per event).

Reference: the former implementation, one regular expression and the integer
arithmetic per value. Results must be identical, including ``None`` for every
invalid value and the float epoch to the last bit.
"""

from __future__ import annotations

import random
import re
from typing import Optional, Tuple

import pytest

from integrations.mapping import timefmt
from integrations.mapping.mapper import event_timestamp

_FULL = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z", re.ASCII)


def reference(value: str) -> Optional[Tuple[str, float]]:
    m = _FULL.fullmatch(value)
    if m is None or value[0] == "0":
        return None
    ymd, hh, mm, ss, us = m.groups()
    day = timefmt._day_epoch(ymd)
    h, mi, sec = int(hh), int(mm), int(ss)
    if day is None or h > 23 or mi > 59 or sec > 59:
        return None
    return value, ((day + h * 3600 + mi * 60 + sec) * 1_000_000 + int(us)) / 1_000_000


CASES = [
    "2023-11-14T22:11:40.123456Z", "2023-11-14T22:11:40.000000Z", "2023-11-14T22:11:40.999999Z",
    "2024-02-29T23:59:59.999999Z", "2023-02-29T00:00:00.000000Z", "0999-01-01T00:00:00.000000Z",
    "1000-01-01T00:00:00.000000Z", "2023-11-14T24:00:00.000000Z", "2023-11-14T23:60:00.000000Z",
    "2023-11-14T23:59:60.000000Z", "2023-11-14T22:11:40.12345\u0663Z", "2023-11-14T22:11:40.1234\u00b26Z",
    "\u0662023-11-14T22:11:40.123456Z", "2023-11-14T22:11:40.123456z", "2023-11-14T22:11:40,123456Z",
    "2023-11-14T22:11:40.1234567Z", "2023-11-14T22:11:40.12345Z", "2023-11-14 22:11:40.123456Z",
    "2023-13-14T22:11:40.123456Z", "2023-11-14T22:11:40.-12345Z", "2023-11-14T22:11:40.+12345Z",
    "2023-11-14T22:11:40. 12345Z", "", "Z", "9999-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.500000Z",
]


@pytest.mark.parametrize("value", CASES)
def test_canonical_matches_the_former_implementation(value: str) -> None:
    assert timefmt._canonical(value) == reference(value)
    assert timefmt._canonical(value) == reference(value)  # second call: from the cache


def test_canonical_random_mutations() -> None:
    rng = random.Random(7)
    base = "2023-11-14T22:11:40.123456Z"
    alphabet = "0123456789-T:.Z zt+\u0663\u00b2x"
    for _ in range(20_000):
        chars = list(base)
        for _ in range(rng.randint(1, 3)):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        value = "".join(chars)
        assert timefmt._canonical(value) == reference(value), value
    for _ in range(5_000):
        value = (f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}T"
                 f"{rng.randint(0, 25):02d}:{rng.randint(0, 61):02d}:{rng.randint(0, 61):02d}."
                 f"{rng.randint(0, 999_999):06d}Z")
        assert timefmt._canonical(value) == reference(value), value


def test_canonical_agrees_with_the_datetime_route() -> None:
    for value in CASES:
        hit = timefmt._canonical(value)
        if hit is not None:
            assert hit == timefmt._parse_text.__wrapped__(value)


def test_second_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timefmt, "_SECOND_EPOCH", {})
    for s in range(timefmt._DAYS_MAX + 10):
        value = f"2023-11-14T{s // 3600 % 24:02d}:{s // 60 % 60:02d}:{s % 60:02d}.000001Z"
        assert timefmt._canonical(value) == reference(value)
    assert len(timefmt._SECOND_EPOCH) <= timefmt._DAYS_MAX


def test_event_timestamp_unchanged() -> None:
    ut = "2023-11-14T22:11:40.123456Z"
    assert event_timestamp({"UpdatedTime": ut, "Timestamp": 1}) == reference(ut)
    assert event_timestamp({"UpdatedTime": "", "Timestamp": 1699999900}) == ("2023-11-14T22:11:40.000000Z",
                                                                           1699999900.0)
    assert event_timestamp({"UpdatedTimeISO": "2023-11-14T22:11:40Z"}) == ("2023-11-14T22:11:40.000000Z",
                                                                         1699999900.0)
    assert event_timestamp({}) is None
