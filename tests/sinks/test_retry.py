"""The shared status table and backoff."""

from __future__ import annotations

import pytest

from integrations.sinks.retry import RETRY_STATUSES, Backoff, Disposition, classify, parse_retry_after

D = Disposition


@pytest.mark.parametrize("status, disp", [
    (200, D.OK), (201, D.OK), (204, D.OK), (400, D.INVALID), (401, D.AUTH), (403, D.AUTH), (404, D.FATAL),
    (408, D.RETRY), (409, D.CONFLICT), (413, D.TOO_LARGE), (418, D.FATAL), (429, D.RETRY), (500, D.RETRY),
    (501, D.FATAL), (502, D.RETRY), (503, D.RETRY), (504, D.RETRY), (599, D.RETRY), (None, D.RETRY),
    ("N/A", D.RETRY),
])
def test_classify(status, disp) -> None:
    assert classify(status) is disp


def test_retry_statuses_are_the_retry_rows() -> None:
    assert RETRY_STATUSES == (408, 425, 429, 500, 502, 503, 504)


def test_backoff_grows_caps_and_jitters() -> None:
    b = Backoff(initial=1, maximum=10, factor=2, jitter=0.0)
    assert [b.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    j = Backoff(initial=1, maximum=10, jitter=0.5, rng=lambda: 1.0)
    assert j.delay(1) == 0.5
    assert Backoff(initial=1, maximum=10, jitter=0).delay(1, retry_after=7) == 7  # server knows better
    assert Backoff(initial=1, maximum=10, jitter=0).delay(1, retry_after=70) == 10  # but within the cap


def test_backoff_sleep_uses_the_injected_sleeper() -> None:
    calls = []
    Backoff(initial=0.25, jitter=0, sleep=calls.append).sleep(2)
    assert calls == [0.5]


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Backoff(factor=0.5)


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), ("3", 3.0), ("-1", 0.0), ("soon", None),
                                             ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_parse_retry_after(value, expected) -> None:
    assert parse_retry_after(value) == expected
