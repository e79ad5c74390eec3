"""Bounded fuzzing for CI: hypothesis properties and a short mutation run over every entry point.

Property: whatever the bytes, each entry point of ``targets.py`` returns
"mapped" or "rejected" (with a reason) or raises one of its documented typed
errors – never anything else – within a per-input time bound. Plus fixed
hostile inputs (10 MB field, deep nesting, NaN/Infinity, duplicate keys,
out-of-range numbers, invalid UTF-8, hostile URLs and paths) and regression
tests for what the long runs found. ``FUZZ_EXAMPLES`` raises the hypothesis
budget, ``FUZZ_MUTATIONS`` the mutation count (``python -m tests.fuzz.run`` is
the long run).
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import time
from contextlib import contextmanager
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.config import load_toml, resolve
from integrations.errors import ConfigError
from integrations.events import iter_parse, parse_object
from integrations.model import ParsedEvent, Rejected
from tests.fuzz.corpus import generated, seeds
from tests.fuzz.mutate import mutate
from tests.fuzz.targets import TARGETS, mapper

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
MUTATIONS = int(os.environ.get("FUZZ_MUTATIONS", "600"))
BOUND = 10.0  # seconds per input (generous: CI machines are shared)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class _Hang(BaseException):
    pass


@contextmanager
def time_bound(seconds: float = BOUND) -> Iterator[None]:
    """Fail (not hang) when the body runs longer than ``seconds``."""
    def on_alarm(signum: int, frame: Any) -> None:
        raise _Hang()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Hang:
        pytest.fail(f"input took more than {seconds}s (hang)")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check(name: str, data: bytes) -> None:
    with time_bound():
        kind, detail = TARGETS[name](data)
    assert kind in ("mapped", "rejected"), (name, kind, detail)


# --------------------------------------------------------------------------- hypothesis

json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c,
                                                                                            max_size=5),
                           max_leaves=15)
event_keys = st.sampled_from(["Timestamp", "UpdatedTime", "ClusterName", "HostName", "PID", "HostPID", "Owner",
                              "ATags", "Severity", "Type", "Operation", "Resource", "Data", "Result", "HashID",
                              "PolicyName", "Action", "Tags", "EventData", "ExecEvent", "cluster_id", "tenant_id"])
events = st.dictionaries(event_keys | st.text(max_size=8), json_values, max_size=12)


@SETTINGS
@given(st.binary(max_size=2048))
def test_parser_on_random_bytes(data: bytes) -> None:
    check("parser", data)


@SETTINGS
@given(events)
def test_parser_page_and_mapper_on_random_events(ev: dict) -> None:
    line = json.dumps(ev, allow_nan=True).encode()  # NaN / Infinity literals included
    check("parser", line)
    check("page", json.dumps({"response": [ev, ev]}, allow_nan=True).encode())
    check("mapper", line)


@SETTINGS
@given(st.lists(st.tuples(event_keys | st.text(min_size=1, max_size=12), st.text(max_size=40)), max_size=12),
       st.sampled_from(["== Alert / 2023-03-22 06:40:00.241489 ==", "== Log / x ==", "", "====="]))
def test_karmor_text_on_random_blocks(pairs: list, header: str) -> None:
    text = header + "\n" + "\n".join(f"{k}: {v}" for k, v in pairs)
    check("karmor_text", text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(st.dictionaries(st.sampled_from(["url", "tenant_id", "lookback", "overlap", "page_size", "proxy", "sink",
                                        "state", "filter", "token_env", "rate_limit", "max_pages", "map"]),
                       st.text(max_size=40) | st.integers(-5, 10**12), min_size=1))
def test_config_resolve_on_hostile_env(values: dict) -> None:
    env = {f"ACCUKNOX_{k.upper()}": str(v).replace("\x00", "") for k, v in values.items()}
    with time_bound():
        try:
            resolve({}, environ=env)
        except ConfigError:
            pass


@SETTINGS
@given(st.binary(max_size=512))
def test_config_targets_on_random_bytes(data: bytes) -> None:
    check("config", data)
    check("config_values", data)


# --------------------------------------------------------------------------- mutation smoke (bounded)

def test_mutation_smoke_over_every_entry_point() -> None:
    rng = random.Random(int(os.environ.get("FUZZ_SEED", "1")))
    pools = seeds()
    names = list(TARGETS)
    for n in range(MUTATIONS):
        name = names[n % len(names)]
        check(name, mutate(rng, rng.choice(pools[name]), name, pools[name]))


# --------------------------------------------------------------------------- hostile inputs

def _event() -> dict:
    return dict(generated(1)[0])


def test_ten_megabyte_resource_is_parsed_and_mapped_in_bounded_time() -> None:
    ev = dict(_event(), Resource="/" + "R" * (10 * 1024 * 1024))
    line = json.dumps(ev).encode()
    t0 = time.monotonic()
    check("parser", line)
    check("page", json.dumps({"response": [ev]}).encode())
    assert time.monotonic() - t0 < BOUND


@pytest.mark.parametrize("depth", [127, 128, 129, 1000, 100_000])
def test_deep_nesting_is_rejected_or_parsed_never_crashes(depth: int) -> None:
    check("parser", b"[" * depth + b"]" * depth)
    check("parser", b'{"Resource":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}")
    if depth <= 1000:  # deeper is refused by the JSON decoder itself (rejected)
        check("page", b'{"response": [{"Type": "MatchedPolicy", "X":' + b"[" * depth + b"]" * depth + b"}]}")


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"18446744073709551616",
                                     b"-9223372036854775809", b"9" * 400, b'"\\ud800"', b"-0"])
def test_non_finite_and_out_of_range_numbers(literal: bytes) -> None:
    ev = _event()
    for key in ("PID", "HostPID", "Timestamp", "Severity", "UID"):
        body = json.dumps(dict(ev, **{key: "@@"})).encode().replace(b'"@@"', literal)
        check("parser", body)
        check("mapper", body)


def test_duplicate_keys_and_invalid_utf8() -> None:
    body = json.dumps(_event()).encode()
    check("parser", b'{"PID": 1, "PID": "x", ' + body[1:])
    check("parser", body.replace(b'"', b'"\xff', 3))
    check("parser", b"\xef\xbb\xbf" + body + b"\n\xc3\x28\n" + body)
    check("karmor_text", b"== Alert / 2023-03-22 06:40:00.241489 ==\nClusterName: \xff\xfe\nPID: 1.2e+06\n")


@pytest.mark.parametrize("url", ["ftp://example.com", "file:///etc/passwd", "http://example.com", "javascript:x",
                                 "http://127.0.0.1.evil.com", "https://h?q=1", "http://[::1", "https://"])
def test_config_refuses_hostile_urls(url: str, tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'url = "{url}"\ntenant_id = "1"\n')
    kind, detail = TARGETS["config"](cfg.read_bytes())
    assert kind == "rejected", (url, detail)


# --------------------------------------------------------------------------- regressions found by the runs

def test_regression_config_with_invalid_utf8_is_a_config_error(tmp_path) -> None:
    """Fuzz finding (fixed in config.py): ``load_toml`` let UnicodeDecodeError escape."""
    path = tmp_path / "bad.toml"
    path.write_bytes(b'url = "https://x"\ntenant_id = "\xff"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_toml(str(path))


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400"])
def test_regression_config_non_finite_toml_number_is_a_config_error(value: str, tmp_path) -> None:
    """Fuzz finding (fixed in config.py): ``page_size = inf`` in TOML raised OverflowError from int()."""
    path = tmp_path / "c.toml"
    path.write_text(f'url = "https://x.example"\ntenant_id = "1"\npage_size = {value}\nmax_pages = {value}\n')
    with pytest.raises(ConfigError):
        resolve({}, environ={}, config_path=str(path))


def test_regression_too_deep_api_row_is_rejected_not_a_mapper_type_error() -> None:
    """Fuzz finding (fixed in events/envelopes.py): an API row nesting 300 levels parsed, then the
    mapper (and any sink) failed with ``TypeError: Recursion limit reached`` re-serialising it."""
    deep: Any = 1
    for _ in range(300):
        deep = {"a": deep}
    row = dict(_event(), Extra=deep)
    results = parse_object(row, "api:row1")
    assert len(results) == 1 and isinstance(results[0], Rejected), results
    assert "nested deeper" in results[0].reason
    json.dumps(results[0].to_dead_letter())  # the dead letter itself can be written
    # the byte-stream reader agrees
    (res,) = list(iter_parse(io.BytesIO(json.dumps(row).encode()), "x"))
    assert isinstance(res, Rejected)


def test_regression_mapper_raises_only_mapping_error_on_a_too_deep_original() -> None:
    deep: Any = 1
    for _ in range(300):
        deep = {"a": deep}
    ev = ParsedEvent({"ClusterName": "c", "Type": "MatchedPolicy"}, original={"ClusterName": "c", "X": deep},
                     location="x:1")
    from integrations.errors import MappingError

    try:
        mapper().to_ecs(ev)
    except MappingError:
        pass
