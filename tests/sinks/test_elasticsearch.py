"""es:URL sink against the fake Elasticsearch: actions, modes, 409/429/400 items, errors, secrets."""

from __future__ import annotations

import json
import logging

import pytest

from integrations.errors import ConfigError, SinkError
from integrations.sinks import open_sink
from integrations.sinks.elasticsearch import ElasticsearchSink, data_stream_name, item_reason
from tests.sinks.conftest import make_batch, make_delivery
from tests.support.fake_es import FakeElasticsearch, filter_path

ALERTS = "logs-accuknox.alert-default"
LOGS = "logs-accuknox.log-default"
API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="


def sink_for(server: FakeElasticsearch, **kw) -> ElasticsearchSink:
    kw.setdefault("initial_backoff", 0.001)
    kw.setdefault("max_backoff", 0.01)
    return ElasticsearchSink(server.url, **kw)


# -- shaping ------------------------------------------------------------------------


def test_data_stream_names() -> None:
    assert data_stream_name("alert") == ALERTS
    assert data_stream_name("log", "prod") == "logs-accuknox.log-prod"


def test_pipeline_mode_action_carries_the_raw_event_as_message(fake_es: FakeElasticsearch) -> None:
    d = make_delivery(0)
    with sink_for(fake_es) as sink:
        action = sink.action(d)
    assert action == {"_op_type": "create", "_index": ALERTS, "_id": d.event_id,
                      "_source": {"message": json.dumps(d.raw, separators=(",", ":"))}}


def test_ecs_mode_action_carries_the_body(fake_es: FakeElasticsearch) -> None:
    d = make_delivery(0)
    with sink_for(fake_es, mode="ecs", namespace="prod") as sink:
        assert sink.action(d) == {"_op_type": "create", "_index": "logs-accuknox.alert-prod",
                                  "_id": d.event_id, "_source": d.body}


def test_bulk_lines_kept_for_a_chunk_own_exactly_their_size(fake_es: FakeElasticsearch) -> None:
    # the helper keeps every serialised header of a chunk until it sends it:
    # orjson's growth buffer would hold ~4.5 KB per 124-byte header (4.5 MB per 1000)
    import tracemalloc

    header = {"create": {"_index": ALERTS, "_id": "a" * 64}}
    with sink_for(fake_es) as sink:
        serializer = sink._client.transport.serializers.get_serializer("application/json")
        tracemalloc.start()
        try:
            out = serializer.dumps(header)
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert json.loads(out) == header
        assert held <= len(out) + 64
        _header, body = sink._expand(make_delivery(0))
        assert json.loads(body) == {"message": json.dumps(make_delivery(0).raw, separators=(",", ":"))}


@pytest.mark.parametrize("kw, match", [
    ({"mode": "raw"}, "mode must be one of"), ({"namespace": "My-NS"}, "namespace"), ({"namespace": ""}, "namespace"),
])
def test_invalid_options(kw, match) -> None:
    with pytest.raises(ConfigError, match=match):
        ElasticsearchSink("https://es.example:9200", **kw)


def test_url_policy() -> None:
    with pytest.raises(ConfigError, match="loopback"):
        ElasticsearchSink("http://es.example:9200")
    with pytest.raises(ConfigError, match="credentials in the URL"):
        ElasticsearchSink("https://elastic:changeme@es.example:9200")


def test_item_reason_formats() -> None:
    err = {"type": "document_parsing_exception", "reason": "failed to parse",
           "caused_by": {"type": "illegal_argument_exception", "reason": "bad long"}}
    assert item_reason(400, err) == ("400 document_parsing_exception: failed to parse "
                                     "(caused by illegal_argument_exception: bad long)")
    assert item_reason(503, "N/A") == "503 N/A"
    assert len(item_reason(400, {"type": "x", "reason": "y" * 5000})) < 1100


# -- delivery ---------------------------------------------------------------------------


def test_delivers_into_data_streams(fake_es: FakeElasticsearch) -> None:
    batch = make_batch(3) + make_batch(2, stream="log", start=3)
    with sink_for(fake_es) as sink:
        res = sink.send(batch)
    assert (res.delivered, res.duplicates, res.dead_letters) == (5, 0, [])
    alerts = fake_es.docs(ALERTS)
    assert sorted(alerts) == [d.event_id for d in batch[:3]]
    assert fake_es.doc_count(LOGS) == 2
    doc = alerts[batch[0].event_id]
    assert set(doc) == {"message"} and json.loads(doc["message"]) == batch[0].raw  # no @timestamp sent
    (req,) = fake_es.bulk_requests()
    assert req.headers["content-type"] == "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
    assert req.headers["accept"] == "application/vnd.elasticsearch+json; compatible-with=8"
    assert "pipeline" not in req.query
    assert req.query["filter_path"] == ["errors,items.*._id,items.*.status,items.*.error"]  # small responses
    assert json.loads(req.body.splitlines()[0]) == {"create": {"_index": ALERTS, "_id": batch[0].event_id}}


def test_ecs_mode_bypasses_the_default_pipeline(fake_es: FakeElasticsearch) -> None:
    batch = make_batch(2)
    with sink_for(fake_es, mode="ecs") as sink:
        assert sink.send(batch).delivered == 2
    (req,) = fake_es.bulk_requests()
    assert req.query["pipeline"] == ["_none"]
    assert fake_es.docs(ALERTS)[batch[1].event_id] == batch[1].body


def test_resend_counts_409_as_duplicates(fake_es: FakeElasticsearch) -> None:
    batch = make_batch(4)
    with sink_for(fake_es) as sink:
        assert sink.send(batch[:2]).delivered == 2
        res = sink.send(batch)  # the poller resends a batch that was half indexed before a crash
    assert (res.delivered, res.duplicates, res.dead_letters) == (2, 2, [])
    assert fake_es.doc_count(ALERTS) == 4


def test_same_id_twice_in_one_batch(fake_es: FakeElasticsearch) -> None:
    d = make_delivery(0)
    with sink_for(fake_es) as sink:
        res = sink.send([d, make_delivery(0)])
    assert (res.delivered, res.duplicates) == (1, 1)


def test_item_429_is_retried_per_item(fake_es: FakeElasticsearch) -> None:
    batch = make_batch(5)
    fake_es.fail_item(batch[2].event_id, 429)
    with sink_for(fake_es) as sink:
        res = sink.send(batch)
    assert res.delivered == 5 and res.dead_letters == []
    first, second = fake_es.bulk_requests()
    assert len(first.body.splitlines()) == 10
    assert [json.loads(x) for x in second.body.splitlines()][0]["create"]["_id"] == batch[2].event_id
    assert len(second.body.splitlines()) == 2  # only the rejected document went again
    assert fake_es.doc_count(ALERTS) == 5


def test_item_429_left_after_retries_is_retryable(fake_es: FakeElasticsearch) -> None:
    batch = make_batch(3)
    fake_es.fail_item(batch[0].event_id, *([429] * 10))
    with sink_for(fake_es, max_retries=2) as sink, pytest.raises(SinkError) as exc:
        sink.send(batch)
    assert exc.value.retryable is True
    assert "1 of 3" in str(exc.value) and "es_rejected_execution_exception" in str(exc.value)
    assert len(fake_es.bulk_requests()) == 3
    assert fake_es.doc_count(ALERTS) == 2  # the others are in: a resend gets 409s for them


def test_item_400_is_dead_lettered_with_the_reason(fake_es: FakeElasticsearch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    batch = make_batch(4)
    fake_es.fail_item(batch[1].event_id, 400)
    with sink_for(fake_es) as sink:
        res = sink.send(batch)
    assert res.delivered == 3
    ((dead, reason),) = res.dead_letters
    assert dead is batch[1]
    assert reason.startswith("400 document_parsing_exception: ") and "process.pid" in reason
    assert len(fake_es.bulk_requests()) == 1  # 400 is not retried
    assert "dead-lettered" in caplog.text


def test_missing_timestamp_hints_at_setup(fake_es: FakeElasticsearch, caplog: pytest.LogCaptureFixture) -> None:
    fake_es.item_hook = lambda op, index, _id, src: (400, {
        "type": "illegal_argument_exception", "reason": "data stream timestamp field [@timestamp] is missing"})
    with sink_for(fake_es) as sink:
        res = sink.send(make_batch(2))
    assert len(res.dead_letters) == 2
    assert "run the Elasticsearch setup command" in caplog.text


def test_item_5xx_is_retried(fake_es: FakeElasticsearch) -> None:
    batch = make_batch(2)
    fake_es.fail_item(batch[0].event_id, 503)
    with sink_for(fake_es) as sink:
        assert sink.send(batch).delivered == 2


def test_whole_request_503_and_429_are_retried(fake_es: FakeElasticsearch) -> None:
    fake_es.fail_next_bulk(503)
    fake_es.fail_next_bulk(429)
    with sink_for(fake_es) as sink:
        assert sink.send(make_batch(3)).delivered == 3
    assert len(fake_es.bulk_requests()) == 3


def test_chunking(fake_es: FakeElasticsearch) -> None:
    with sink_for(fake_es, chunk_size=10) as sink:
        assert sink.send(make_batch(25)).delivered == 25
    assert [len(r.body.splitlines()) // 2 for r in fake_es.bulk_requests()] == [10, 10, 5]


def test_gzip_level_1_when_compress_is_on(fake_es: FakeElasticsearch) -> None:
    with sink_for(fake_es, compress=True) as sink:
        assert sink.send(make_batch(20)).delivered == 20
    (req,) = fake_es.bulk_requests()
    assert req.headers["content-encoding"] == "gzip" and req.raw_body[:2] == b"\x1f\x8b"
    assert len(req.raw_body) < len(req.body)
    assert fake_es.doc_count(ALERTS) == 20


def test_no_compression_by_default(fake_es: FakeElasticsearch) -> None:
    with sink_for(fake_es) as sink:
        sink.send(make_batch(1))
    (req,) = fake_es.bulk_requests()
    assert "content-encoding" not in req.headers


def test_open_sink_es(fake_es: FakeElasticsearch) -> None:
    with open_sink(f"es:{fake_es.url}", mode="ecs", namespace="team1") as sink:
        assert isinstance(sink, ElasticsearchSink)
        assert sink.send(make_batch(1)).delivered == 1
    assert fake_es.doc_count("logs-accuknox.alert-team1") == 1


# -- refusals ---------------------------------------------------------------------------


def test_api_key_from_env_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeElasticsearch(api_key=API_KEY) as server:
        with sink_for(server, api_key_env="ES_KEY_FOR_TEST", environ={"ES_KEY_FOR_TEST": API_KEY}) as sink:
            assert sink.send(make_batch(2)).delivered == 2
        (req,) = server.bulk_requests()
        assert req.headers["authorization"] == f"ApiKey {API_KEY}"
    assert API_KEY not in caplog.text


def test_wrong_api_key_is_not_retryable_and_names_the_variable(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeElasticsearch(api_key="the-right-key") as server:
        with sink_for(server, api_key_env="ES_KEY_FOR_TEST", environ={"ES_KEY_FOR_TEST": API_KEY}) as sink:
            with pytest.raises(SinkError) as exc:
                sink.send(make_batch(2))
            shown = f"{exc.value} {sink!r}"
    assert exc.value.retryable is False
    assert "ES_KEY_FOR_TEST" in str(exc.value) and "security_exception" in str(exc.value)
    assert API_KEY not in shown and API_KEY not in caplog.text


def test_basic_auth_password_from_env(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    password = "s3cr3t-pa55word"  # noqa: S105 - a test value
    with FakeElasticsearch(basic_auth=("shipper", password)) as server:
        env = {"ES_PW_FOR_TEST": password}
        with sink_for(server, user="shipper", password_env="ES_PW_FOR_TEST", environ=env) as sink:
            assert sink.send(make_batch(1)).delivered == 1
    assert password not in caplog.text


def test_missing_credential_variables() -> None:
    with pytest.raises(ConfigError, match="NO_SUCH_VAR"):
        ElasticsearchSink("https://es.example:9200", api_key_env="NO_SUCH_VAR", environ={})
    with pytest.raises(ConfigError, match="NO_SUCH_PW"):
        ElasticsearchSink("https://es.example:9200", user="u", password_env="NO_SUCH_PW", environ={})


def test_server_that_is_not_elasticsearch() -> None:
    with FakeElasticsearch(product_header=False) as server:
        with sink_for(server) as sink, pytest.raises(SinkError) as exc:
            sink.send(make_batch(1))
    assert exc.value.retryable is False and "not Elasticsearch" in str(exc.value)


def test_fake_refuses_a_9x_client_compat_header(fake_es: FakeElasticsearch) -> None:
    import requests

    r = requests.get(fake_es.url + "/", headers={"Accept": "application/vnd.elasticsearch+json; compatible-with=9"},
                     timeout=5)
    assert r.status_code == 400 and r.json()["error"]["type"] == "media_type_header_exception"
    assert r.headers["X-Elastic-Product"] == "Elasticsearch"


def test_unreachable_cluster_is_retryable() -> None:
    server = FakeElasticsearch().start()
    url = server.url
    server.stop()
    with ElasticsearchSink(url, request_timeout=2) as sink, pytest.raises(SinkError) as exc:
        sink.send(make_batch(1))
    assert exc.value.retryable is True and "cannot reach" in str(exc.value)


def test_index_not_found_is_not_retryable(fake_es: FakeElasticsearch) -> None:
    fake_es.item_hook = lambda op, index, _id, src: (404, {"type": "index_not_found_exception",
                                                           "reason": "no such index [logs-accuknox.alert-default]"})
    with sink_for(fake_es) as sink, pytest.raises(SinkError) as exc:
        sink.send(make_batch(2))
    assert exc.value.retryable is False and "index_not_found_exception" in str(exc.value)


def test_pipeline_mode_needs_the_raw_event(fake_es: FakeElasticsearch) -> None:
    d = make_delivery(0)
    d.raw = None
    with sink_for(fake_es) as sink, pytest.raises(SinkError, match="raw event"):
        sink.send([d])


def test_send_after_close(fake_es: FakeElasticsearch) -> None:
    sink = sink_for(fake_es)
    sink.close()
    sink.close()
    with pytest.raises(SinkError, match="after close"):
        sink.send(make_batch(1))


def test_fake_filter_path() -> None:
    body = {"took": 3, "errors": True, "items": [
        {"create": {"_index": "i", "_id": "a", "status": 201, "_shards": {"total": 2}}},
        {"index": {"_index": "i", "_id": "b", "status": 400, "error": {"type": "t", "reason": "r"}}}]}
    assert filter_path(body, "errors,items.*._id,items.*.status,items.*.error") == {"errors": True, "items": [
        {"create": {"_id": "a", "status": 201}},
        {"index": {"_id": "b", "status": 400, "error": {"type": "t", "reason": "r"}}}]}
    assert filter_path(body, "items.*.error.type") == {"items": [{"index": {"error": {"type": "t"}}}]}
    assert filter_path(body, "nothing") == {}


# -- TLS -----------------------------------------------------------------------------


# ``tls_es`` (a fake Elasticsearch over HTTPS, CA bundle) is a fixture of tests/sinks/conftest.py.


def test_tls_with_ca_certs(tls_es) -> None:
    server, bundle = tls_es
    with sink_for(server, ca_certs=bundle) as sink:
        assert sink.send(make_batch(2)).delivered == 2


def test_tls_unknown_ca_is_not_retryable(tls_es) -> None:
    server, _bundle = tls_es
    with sink_for(server, request_timeout=5) as sink, pytest.raises(SinkError) as exc:
        sink.send(make_batch(1))
    assert exc.value.retryable is False and "TLS" in str(exc.value)


def test_verify_certs_false_warns(tls_es, caplog: pytest.LogCaptureFixture) -> None:
    server, _bundle = tls_es
    with sink_for(server, verify_certs=False) as sink:
        assert sink.send(make_batch(1)).delivered == 1
    assert "verification is OFF" in caplog.text
