"""hec:URL sink against the fake HEC: envelope, batching, gzip, ack, partial acceptance, retries, secrets."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.errors import ConfigError, SinkError
from integrations.sinks import open_sink
from integrations.sinks.hec import HEC_CODES, HecSink, encode_event, endpoint_base, plan_requests
from integrations.sinks.retry import Disposition
from tests.sinks.conftest import make_batch, make_delivery
from tests.support.fake_hec import TOKEN, FakeHec
from tests.support.fake_http import _RequestHandler

ENV = {"SPLUNK_HEC_TOKEN": TOKEN}


def sink_for(server: FakeHec, sleep=None, **kw) -> HecSink:
    kw.setdefault("environ", ENV)
    if sleep is not None:
        kw["sleep"] = sleep
    return HecSink(server.url, **kw)


# -- shaping (no network) -----------------------------------------------------


def test_envelope_fields() -> None:
    d = make_delivery(0)
    env = json.loads(encode_event(d, index="security"))
    assert env == {"time": 1692813948.301798, "host": "node-0", "source": "accuknox",
                   "sourcetype": "accuknox:kubearmor:alert", "index": "security", "event": d.body}
    assert b'"time":1692813948.301798' in encode_event(d)  # seconds with fraction, not rounded
    log_env = json.loads(encode_event(make_delivery(1, "log")))
    assert log_env["sourcetype"] == "accuknox:kubearmor:log" and "index" not in log_env


def test_envelope_without_host_or_time() -> None:
    d = make_delivery(0)
    d.host, d.time = None, None
    env = json.loads(encode_event(d))
    assert "host" not in env and "time" not in env


def test_unknown_stream_is_refused() -> None:
    with pytest.raises(SinkError, match="unknown stream"):
        encode_event(make_delivery(0, stream="metrics"))


@pytest.mark.parametrize("url", [
    "https://splunk.example:8088", "https://splunk.example:8088/", "https://splunk.example:8088/services/collector",
    "https://splunk.example:8088/services/collector/event", "https://SPLUNK.example:8088/services/collector/event/",
])
def test_url_with_or_without_the_collector_path(url: str) -> None:
    assert endpoint_base(url) == "https://splunk.example:8088"


def test_plain_http_only_to_loopback() -> None:
    with pytest.raises(ConfigError, match="loopback"):
        HecSink("http://splunk.example:8088", environ=ENV)
    with pytest.raises(ConfigError, match="credentials in the URL"):
        HecSink("https://admin:secret@splunk.example:8088", environ=ENV)


def test_plan_requests_caps_bytes_and_events() -> None:
    assert plan_requests([10] * 5, max_bytes=1000, max_events=2) == [(0, 2), (2, 4), (4, 5)]
    assert plan_requests([10] * 5, max_bytes=22, max_events=100) == [(0, 2), (2, 4), (4, 5)]
    assert plan_requests([5, 50, 5], max_bytes=20, max_events=100) == [(0, 1), (1, 2), (2, 3)]  # oversize alone
    assert plan_requests([], 10, 10) == []


def test_code_table_matches_splunk_documentation() -> None:
    assert len(HEC_CODES) == 23 and set(HEC_CODES) == set(range(23))
    assert HEC_CODES[9] == (Disposition.RETRY, "Server is busy", 503)
    assert HEC_CODES[6][0] is Disposition.INVALID and HEC_CODES[4][0] is Disposition.AUTH
    assert HEC_CODES[20][2] == 503  # unhealthy, not a partial-acceptance code


def test_missing_token_variable_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="MY_HEC_TOKEN"):
        HecSink("https://splunk.example:8088", token_env="MY_HEC_TOKEN", environ={})


# -- delivery -------------------------------------------------------------------


def test_delivers_and_fake_stores_envelopes(fake_hec: FakeHec) -> None:
    batch = make_batch(3) + make_batch(2, stream="log", start=3)
    with sink_for(fake_hec, index="kubearmor") as sink:
        res = sink.send(batch)
    assert (res.delivered, res.duplicates, res.dead_letters) == (5, 0, [])
    assert [e["event"] for e in fake_hec.events] == [d.body for d in batch]
    assert [e["sourcetype"] for e in fake_hec.events] == ["accuknox:kubearmor:alert"] * 3 + ["accuknox:kubearmor:log"] * 2
    assert {e["index"] for e in fake_hec.events} == {"kubearmor"}
    (req,) = fake_hec.event_requests()
    assert req.headers["authorization"] == f"Splunk {TOKEN}"
    assert "x-splunk-request-channel" not in req.headers


def test_gzip_on_by_default_and_decoded_by_the_fake(fake_hec: FakeHec) -> None:
    with sink_for(fake_hec) as sink:
        sink.send(make_batch(50))
    (req,) = fake_hec.event_requests()
    assert req.headers["content-encoding"] == "gzip"
    assert req.raw_body[:2] == b"\x1f\x8b" and len(req.raw_body) < len(req.body)
    assert fake_hec.event_count == 50


def test_gzip_off(fake_hec: FakeHec) -> None:
    with sink_for(fake_hec, gzip=False) as sink:
        sink.send(make_batch(2))
    (req,) = fake_hec.event_requests()
    assert "content-encoding" not in req.headers and req.raw_body == req.body


def test_batch_is_split_by_event_count_and_bytes(fake_hec: FakeHec) -> None:
    with sink_for(fake_hec, max_events=10) as sink:
        assert sink.send(make_batch(25)).delivered == 25
    assert [len(r.body.splitlines()) for r in fake_hec.event_requests()] == [10, 10, 5]
    fake_hec.requests.clear()
    with sink_for(fake_hec, max_bytes=2000) as sink:
        assert sink.send(make_batch(25)).delivered == 25
    reqs = fake_hec.event_requests()
    assert len(reqs) > 1 and all(len(r.body) <= 2000 for r in reqs)
    assert fake_hec.event_count == 50


def test_connection_is_reused(fake_hec: FakeHec) -> None:
    with sink_for(fake_hec, max_events=1) as sink:
        sink.send(make_batch(5))
        sink.send(make_batch(5))
    reqs = fake_hec.event_requests()
    assert len(reqs) == 10 and len({r.client for r in reqs}) == 1  # one keep-alive connection


def test_fake_servers_disable_nagle() -> None:
    assert _RequestHandler.disable_nagle_algorithm is True


def test_open_sink_hec(fake_hec: FakeHec) -> None:
    with open_sink(f"hec:{fake_hec.url}/services/collector/event", environ=ENV) as sink:
        assert isinstance(sink, HecSink)
        assert sink.send(make_batch(1)).delivered == 1


def test_token_from_the_process_environment(fake_hec: FakeHec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCUKNOX_TEST_HEC", TOKEN)
    with HecSink(fake_hec.url, token_env="ACCUKNOX_TEST_HEC") as sink:
        assert sink.send(make_batch(1)).delivered == 1


# -- indexer acknowledgement ---------------------------------------------------------


def test_ack_flow_polls_until_all_true(fake_hec_ack: FakeHec) -> None:
    fake_hec_ack.ack_after_polls = 2
    with sink_for(fake_hec_ack, ack=True, max_events=10, ack_poll_interval=0.001) as sink:
        res = sink.send(make_batch(25))
    assert res.delivered == 25
    reqs = fake_hec_ack.requests
    channels = {r.headers.get("x-splunk-request-channel") for r in reqs}
    assert len(channels) == 1 and uuid.UUID(channels.pop())  # one channel, on every request
    polls = fake_hec_ack.ack_requests()
    assert len(polls) == 3  # false, false, true
    assert json.loads(polls[0].body) == {"acks": [0, 1, 2]}
    assert not any(ch.pending for ch in fake_hec_ack.channels.values())


def test_lost_ack_times_out_retryable_and_resend_duplicates(fake_hec_ack: FakeHec) -> None:
    fake_hec_ack.lose_acks(1)
    with sink_for(fake_hec_ack, ack=True, ack_timeout=0.2, ack_poll_interval=0.01) as sink:
        batch = make_batch(4)
        with pytest.raises(SinkError) as exc:
            sink.send(batch)
        assert exc.value.retryable is True
        assert "not acknowledged" in str(exc.value) and "4 of 4" in str(exc.value)
        assert sink.send(batch).delivered == 4  # the caller's resend
    # the lost acknowledgement's events were indexed after all: Splunk now holds them twice (documented)
    assert fake_hec_ack.event_count == 8


def test_ack_on_a_token_without_ack_is_not_retryable(fake_hec: FakeHec) -> None:
    with sink_for(fake_hec, ack=True) as sink, pytest.raises(SinkError) as exc:
        sink.send(make_batch(1))
    assert exc.value.retryable is False and "ackId" in str(exc.value)


def test_token_requiring_ack_without_ack_option(fake_hec_ack: FakeHec) -> None:
    with sink_for(fake_hec_ack) as sink, pytest.raises(SinkError) as exc:
        sink.send(make_batch(1))
    assert exc.value.retryable is False and "set ack=True" in str(exc.value)


# -- partial acceptance and dead letters ---------------------------------------------------


def _reject_id(bad_id: str):
    def reject(obj):
        return (6, "Invalid data format") if obj["event"]["event"]["id"] == bad_id else None
    return reject


def test_partial_acceptance_dead_letters_the_bad_event_and_resends_the_rest(fake_hec: FakeHec) -> None:
    fake_hec.reject_event = _reject_id("id-alert-000003")
    batch = make_batch(8)
    with sink_for(fake_hec) as sink:
        res = sink.send(batch)
    assert res.delivered == 7
    ((dead, reason),) = res.dead_letters
    assert dead is batch[3] and "Invalid data format" in reason and "code 6" in reason
    stored = [e["event"]["event"]["id"] for e in fake_hec.events]
    assert stored == [d.event_id for i, d in enumerate(batch) if i != 3]  # each good one exactly once
    assert len(fake_hec.event_requests()) == 2


def test_partial_acceptance_with_ack_resends_the_unconfirmed_head(fake_hec_ack: FakeHec) -> None:
    fake_hec_ack.reject_event = _reject_id("id-alert-000002")
    batch = make_batch(5)
    with sink_for(fake_hec_ack, ack=True, ack_poll_interval=0.001) as sink:
        res = sink.send(batch)
    assert res.delivered == 4 and [d for d, _ in res.dead_letters] == [batch[2]]
    stored = [e["event"]["event"]["id"] for e in fake_hec_ack.events]
    assert set(stored) == {d.event_id for i, d in enumerate(batch) if i != 2}
    assert stored.count("id-alert-000000") == 2  # accepted without ackId, so sent again


def test_invalid_without_position_is_bisected(fake_hec: FakeHec) -> None:
    fake_hec.reject_event = _reject_id("id-alert-000005")
    real = fake_hec._event_inner

    def strip_position(req):
        resp = real(req)
        if isinstance(resp.body, dict):
            resp.body.pop("invalid-event-number", None)
        return resp

    fake_hec._event_inner = strip_position  # type: ignore[method-assign]
    batch = make_batch(8)
    with sink_for(fake_hec) as sink:
        res = sink.send(batch)
    assert [d for d, _ in res.dead_letters] == [batch[5]]
    assert res.delivered == 7


def test_request_too_large_is_split(fake_hec: FakeHec) -> None:
    fake_hec.fail_next(413, 6, "Content too large")
    with sink_for(fake_hec) as sink:
        assert sink.send(make_batch(6)).delivered == 6
    assert [len(r.body.splitlines()) for r in fake_hec.event_requests()] == [6, 3, 3]


# -- retries and refusals ---------------------------------------------------------------


def test_server_busy_is_retried_with_backoff(fake_hec: FakeHec, no_sleep) -> None:
    fake_hec.fail_next(503, 9, "Server is busy", times=2)
    with sink_for(fake_hec, sleep=no_sleep, backoff_initial=0.5) as sink:
        assert sink.send(make_batch(3)).delivered == 3
    assert len(no_sleep.calls) == 2 and no_sleep.calls[1] > no_sleep.calls[0] * 1.2
    assert fake_hec.event_count == 3


def test_internal_error_retried_then_gives_up_retryable(fake_hec: FakeHec, no_sleep) -> None:
    fake_hec.fail_next(500, 8, "Internal server error", times=10)
    with sink_for(fake_hec, sleep=no_sleep, max_retries=2) as sink, pytest.raises(SinkError) as exc:
        sink.send(make_batch(3))
    assert exc.value.retryable is True and "Internal server error" in str(exc.value)
    assert len(fake_hec.event_requests()) == 3


def test_slow_response_times_out_and_is_retried(fake_hec: FakeHec, no_sleep) -> None:
    fake_hec.slow_next(1.0)
    with sink_for(fake_hec, sleep=no_sleep, timeout=0.2) as sink:
        assert sink.send(make_batch(2)).delivered == 2
    assert len(no_sleep.calls) == 1


def test_wrong_token_is_not_retryable_and_names_the_variable(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeHec(token="the-right-one") as server:  # noqa: S106 - a test value
        with sink_for(server, token_env="HEC_TOKEN_FOR_TEST", environ={"HEC_TOKEN_FOR_TEST": TOKEN}) as sink:
            with pytest.raises(SinkError) as exc:
                sink.send(make_batch(1))
            text = f"{exc.value} {sink!r} {exc.value.__cause__!r}"
    assert exc.value.retryable is False
    assert "HEC_TOKEN_FOR_TEST" in str(exc.value) and "Invalid token" in str(exc.value)
    assert TOKEN not in text and TOKEN not in caplog.text


def test_token_never_logged_even_at_debug(fake_hec: FakeHec, caplog: pytest.LogCaptureFixture, no_sleep) -> None:
    caplog.set_level(logging.DEBUG)
    fake_hec.fail_next(503, 9, "Server is busy")
    with sink_for(fake_hec, sleep=no_sleep) as sink:
        sink.send(make_batch(2))
    assert caplog.records  # something was logged (retry warning, debug summary, urllib3)
    assert TOKEN not in caplog.text


def test_incorrect_index_is_a_config_error(fake_hec: FakeHec) -> None:
    fake_hec.fail_next(400, 7, "Incorrect index", **{"invalid-event-number": 0})
    with sink_for(fake_hec, index="nope") as sink, pytest.raises(SinkError) as exc:
        sink.send(make_batch(2))
    assert exc.value.retryable is False and "'nope'" in str(exc.value)


def test_not_found_is_not_retryable(fake_hec: FakeHec) -> None:
    with HecSink(fake_hec.url + "/wrong/prefix", environ=ENV) as sink, pytest.raises(SinkError) as exc:
        sink.send(make_batch(1))
    assert exc.value.retryable is False and "404" in str(exc.value)


def test_connection_refused_is_retryable(no_sleep) -> None:
    server = FakeHec().start()
    url = server.url
    server.stop()
    with HecSink(url, environ=ENV, sleep=no_sleep, max_retries=1) as sink, pytest.raises(SinkError) as exc:
        sink.send(make_batch(1))
    assert exc.value.retryable is True and "ConnectionError" in str(exc.value)


# -- crash recovery with ack (two phases with the poller's journal) ---------------------


class Killed(BaseException):
    """Stands for SIGKILL inside send(): nothing in the sink catches it."""


class Journal:
    """Records the sink's journal calls; ``kill_on`` (kind) raises Killed after recording that call."""

    def __init__(self, server: FakeHec, kill_on: str = "") -> None:
        self.server = server
        self.kill_on = kill_on
        self.calls: list = []

    def __call__(self, kind, ids, token=None) -> None:
        self.calls.append((kind, list(ids), token, self.server.ack_polls))
        if kind == self.kill_on:
            raise Killed()

    def tokens(self) -> list:
        return [c[2] for c in self.calls if c[0] == "pending"]


CHANNEL = "0b6f1c4e-3f55-4d2e-9c39-1f7d52a3a0aa"


def test_ack_position_is_the_channel_and_a_fixed_channel_can_be_given(fake_hec_ack: FakeHec) -> None:
    with sink_for(fake_hec_ack, ack=True, channel=CHANNEL, ack_poll_interval=0.001) as sink:
        assert sink.position() == {"channel": CHANNEL}
        sink.send(make_batch(2))
    assert {r.headers["x-splunk-request-channel"] for r in fake_hec_ack.requests} == {CHANNEL}
    with sink_for(fake_hec_ack) as plain:
        assert plain.position() is None  # without ack: nothing to keep
    with pytest.raises(ConfigError, match="UUID"):
        sink_for(fake_hec_ack, ack=True, channel="not-a-uuid")


def test_pending_is_journaled_before_the_ack_is_polled(fake_hec_ack: FakeHec) -> None:
    journal = Journal(fake_hec_ack)
    batch = make_batch(5)
    with sink_for(fake_hec_ack, ack=True, ack_poll_interval=0.001) as sink:
        sink.bind_journal(journal)
        assert sink.send(batch).delivered == 5
    ((kind, ids, token, polls_then),) = journal.calls  # one request, acknowledged at the first poll
    assert kind == "pending" and ids == [d.event_id for d in batch]
    assert token == {"channel": sink.channel, "ack": 0}
    assert polls_then == 0  # phase one is on disk before HEC is asked (and forgets a true ackId)
    json.dumps(token)  # the poller journals it as JSON


def test_acks_arriving_early_are_journaled_while_others_wait(fake_hec_ack: FakeHec) -> None:
    batch = make_batch(6)
    journal = Journal(fake_hec_ack)

    def record(kind, ids, token=None):
        journal(kind, ids, token)
        if kind == "pending" and token["ack"] > 0:  # the later requests take two more polls
            fake_hec_ack.channels[token["channel"]].pending[token["ack"]] = 2

    with sink_for(fake_hec_ack, ack=True, max_events=2, ack_poll_interval=0.001) as sink:
        sink.bind_journal(record)
        assert sink.send(batch).delivered == 6
    kinds = [(c[0], c[1]) for c in journal.calls]
    ids = [d.event_id for d in batch]
    assert kinds == [("pending", ids[0:2]), ("pending", ids[2:4]), ("pending", ids[4:6]),
                     ("confirmed", ids[0:2])]  # the last two are confirmed by send() returning


def test_without_ack_nothing_is_journaled(fake_hec: FakeHec) -> None:
    journal = Journal(fake_hec)
    with sink_for(fake_hec) as sink:
        sink.bind_journal(journal)
        sink.send(make_batch(3))
        assert sink.recover(None, [{"channel": CHANNEL, "ack": 0}]) == [False]
    assert journal.calls == []


def test_recover_after_a_kill_between_ack_journaled_and_polled(fake_hec_ack: FakeHec) -> None:
    batch = make_batch(4)
    journal = Journal(fake_hec_ack, kill_on="pending")
    with sink_for(fake_hec_ack, ack=True, ack_poll_interval=0.001) as first:
        first.bind_journal(journal)
        with pytest.raises(Killed):
            first.send(batch)
        position = first.position()
    assert fake_hec_ack.ack_polls == 0 and fake_hec_ack.event_count == 4
    with sink_for(fake_hec_ack, ack=True, ack_poll_interval=0.001) as restarted:
        assert restarted.channel != position["channel"]  # a new process draws a new channel...
        assert restarted.recover(position, journal.tokens()) == [True]  # ...asks on the saved one
        assert restarted.position() == position  # and keeps using it
        restarted.send(make_batch(1, start=10))
    assert fake_hec_ack.event_count == 5  # the batch was not sent again
    assert fake_hec_ack.event_requests()[-1].headers["x-splunk-request-channel"] == position["channel"]
    assert len(fake_hec_ack.channels) == 1


def test_recover_waits_for_a_slow_indexer(fake_hec_ack: FakeHec) -> None:
    fake_hec_ack.ack_after_polls = 3
    journal = Journal(fake_hec_ack, kill_on="pending")
    with sink_for(fake_hec_ack, ack=True, ack_poll_interval=0.001) as first:
        first.bind_journal(journal)
        with pytest.raises(Killed):
            first.send(make_batch(2))
        position = first.position()
    with sink_for(fake_hec_ack, ack=True, ack_poll_interval=0.001) as restarted:
        assert restarted.recover(position, journal.tokens()) == [True]
    assert fake_hec_ack.ack_polls == 4


def test_recover_not_acknowledged_within_the_timeout_is_sent_again(fake_hec_ack: FakeHec) -> None:
    fake_hec_ack.lose_acks(1)
    journal = Journal(fake_hec_ack, kill_on="pending")
    with sink_for(fake_hec_ack, ack=True, ack_poll_interval=0.01) as first:
        first.bind_journal(journal)
        with pytest.raises(Killed):
            first.send(make_batch(2))
        position = first.position()
    with sink_for(fake_hec_ack, ack=True, ack_timeout=0.2, ack_poll_interval=0.01) as restarted:
        assert restarted.recover(position, journal.tokens()) == [False]
    assert fake_hec_ack.ack_polls >= 2


def test_recover_after_the_ack_was_reported_to_the_dead_process(fake_hec_ack: FakeHec) -> None:
    """The remaining window: Splunk answered true (and forgot the id) before the journal heard of it."""
    journal = Journal(fake_hec_ack)
    with sink_for(fake_hec_ack, ack=True, ack_poll_interval=0.001) as first:
        first.bind_journal(journal)
        first.send(make_batch(2))  # ... and the process dies before the poller journals the batch
        position = first.position()
    with sink_for(fake_hec_ack, ack=True, ack_timeout=0.1, ack_poll_interval=0.01) as restarted:
        assert restarted.recover(position, journal.tokens()) == [False]  # sent again: a duplicate


def test_recover_mixed_verdicts_and_unusable_tokens(fake_hec_ack: FakeHec) -> None:
    journal = Journal(fake_hec_ack, kill_on="pending")
    with sink_for(fake_hec_ack, ack=True, ack_poll_interval=0.001) as first:
        first.bind_journal(journal)
        for start in (0, 10):
            with pytest.raises(Killed):
                first.send(make_batch(2, start=start))
        position = first.position()
    tokens = journal.tokens() + [{"channel": position["channel"], "ack": 7},  # never issued
                                 {"channel": "nope", "ack": 0}, None, {"ack": True}]
    with sink_for(fake_hec_ack, ack=True, ack_timeout=0.2, ack_poll_interval=0.01) as restarted:
        assert restarted.recover(position, tokens) == [True, True, False, False, False, False]


def test_recover_without_tokens_only_adopts_the_channel(fake_hec_ack: FakeHec) -> None:
    with sink_for(fake_hec_ack, ack=True) as sink:
        assert sink.recover({"channel": CHANNEL}, []) == []
        assert sink.recover({"alert": ["f", 3]}, []) == []  # another sink's position: ignored
        assert sink.channel == CHANNEL
    assert fake_hec_ack.requests == []


def test_recover_when_hec_does_not_answer_is_retryable(no_sleep) -> None:
    server = FakeHec(ack=True).start()
    url = server.url
    server.stop()
    with HecSink(url, environ=ENV, ack=True, ack_timeout=0.05, sleep=no_sleep) as sink, \
            pytest.raises(SinkError) as exc:
        sink.recover({"channel": CHANNEL}, [{"channel": CHANNEL, "ack": 0}])
    assert exc.value.retryable is True and "the next run asks again" in str(exc.value)


# -- TLS -----------------------------------------------------------------------------


# ``tls_hec`` (a fake HEC over HTTPS, CA bundle) is a fixture of tests/sinks/conftest.py.


def test_tls_verified_against_the_given_ca_bundle(tls_hec) -> None:
    server, bundle = tls_hec
    with HecSink(server.url, environ=ENV, ca_bundle=bundle) as sink:
        assert sink.send(make_batch(1)).delivered == 1


def test_tls_unknown_ca_is_refused_not_retried(tls_hec) -> None:
    server, _bundle = tls_hec
    with HecSink(server.url, environ=ENV) as sink, pytest.raises(SinkError) as exc:
        sink.send(make_batch(1))
    assert exc.value.retryable is False and "TLS" in str(exc.value)


def test_verify_false_warns(tls_hec, caplog: pytest.LogCaptureFixture) -> None:
    server, _bundle = tls_hec
    with pytest.warns(Warning):  # urllib3's InsecureRequestWarning
        with HecSink(server.url, environ=ENV, verify=False) as sink:
            assert sink.send(make_batch(1)).delivered == 1
    assert "verification is OFF" in caplog.text


# -- properties ------------------------------------------------------------------------


@given(st.lists(st.integers(0, 300), max_size=60), st.integers(1, 1000), st.integers(1, 20))
def test_plan_requests_covers_everything_within_caps(sizes, max_bytes, max_events) -> None:
    ranges = plan_requests(sizes, max_bytes, max_events)
    assert [i for s, e in ranges for i in range(s, e)] == list(range(len(sizes)))  # contiguous, in order
    for s, e in ranges:
        assert 1 <= e - s <= max_events
        assert e - s == 1 or sum(sizes[s:e]) + (e - s) <= max_bytes
    for (s1, e1), (_s2, _e2) in zip(ranges, ranges[1:]):  # greedy: the next item would not have fit
        assert e1 - s1 == max_events or sum(sizes[s1:e1 + 1]) + (e1 + 1 - s1) > max_bytes
