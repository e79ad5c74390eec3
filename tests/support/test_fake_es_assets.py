"""The fake Elasticsearch's cluster assets, data streams, ingest path and REST-spec checks."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List

import pytest
import requests
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from tests.support.fake_es import FakeElasticsearch
from tests.support.ingest_sim import fixed_clock

CT = {"template": {
    "settings": {"index": {"default_pipeline": "p1", "mapping": {"total_fields": {"limit": 50}}}},
    "mappings": {"dynamic_templates": [{"strings_as_keyword": {"match_mapping_type": "string",
                                                                 "mapping": {"type": "keyword"}}}],
                 "properties": {"@timestamp": {"type": "date"}, "message": {"type": "match_only_text"},
                                "event": {"properties": {"kind": {"type": "keyword"}, "original": {"type": "keyword"}}},
                                "source": {"properties": {"port": {"type": "long"}}},
                                "error": {"properties": {"message": {"type": "match_only_text"}}},
                                "data_stream": {"properties": {"dataset": {"type": "constant_keyword"}}}}},
}}
IT = {"index_patterns": ["logs-t.x-*"], "data_stream": {}, "priority": 200, "composed_of": ["t@package", "t@custom"],
      "ignore_missing_component_templates": ["t@custom"]}
PIPELINE = {"processors": [
    {"rename": {"tag": "r", "field": "message", "target_field": "event.original"}},
    {"json": {"tag": "j", "field": "event.original", "target_field": "parsed"}},
    {"set": {"tag": "ts", "field": "@timestamp", "copy_from": "parsed.time", "ignore_empty_value": True}},
    {"set": {"tag": "port", "field": "source.port", "copy_from": "parsed.port", "ignore_empty_value": True}},
    {"set": {"tag": "id", "field": "_id", "copy_from": "parsed.id", "ignore_empty_value": True}},
    {"drop": {"tag": "drop", "if": "ctx.parsed?.drop == true"}},
    {"remove": {"tag": "rm", "field": "parsed"}},
], "on_failure": [
    {"set": {"field": "event.kind", "value": "pipeline_error"}},
    {"append": {"field": "error.message", "value": "{{{_ingest.on_failure_message}}}"}},
    {"set": {"field": "@timestamp", "value": "{{{_ingest.timestamp}}}"}},
]}


@pytest.fixture
def es() -> Iterator[FakeElasticsearch]:
    with FakeElasticsearch(ingest_clock=fixed_clock("2026-01-01T00:00:00Z")) as server:
        yield server


@pytest.fixture
def client(es: FakeElasticsearch) -> Iterator[Elasticsearch]:
    c = Elasticsearch(es.url)
    yield c
    c.close()


def install(client: Elasticsearch) -> None:
    client.ingest.put_pipeline(id="p1", body=PIPELINE)
    client.cluster.put_component_template(name="t@package", body=CT)
    client.indices.put_index_template(name="t", body=IT)


def bulk(client: Elasticsearch, docs: List[Dict[str, Any]], index: str = "logs-t.x-default", op: str = "create",
         **params: Any) -> List[Dict[str, Any]]:
    ops: List[Any] = []
    for i, d in enumerate(docs):
        ops += [{op: {"_index": index, "_id": f"d{i}"}}, d]
    return [item[op] for item in client.bulk(operations=ops, **params)["items"]]


# -- REST spec ---------------------------------------------------------------------------


def test_spec_violations_are_refused_and_recorded(es: FakeElasticsearch) -> None:
    r = requests.put(f"{es.url}/_ilm/policy/x?bogus=1", json={"policy": {"phases": {}}}, timeout=5)
    assert r.status_code == 400 and r.json()["error"]["type"] == "rest_spec_violation"
    assert requests.head(f"{es.url}/", timeout=5).status_code == 400
    r = requests.put(f"{es.url}/_component_template/x", timeout=5)
    assert r.status_code == 400
    r = requests.post(f"{es.url}/_ilm/policy/x", json={}, timeout=5)
    reasons = [v[2] for v in es.violations]
    assert len(reasons) == 4
    assert "query parameter(s) ['bogus']" in reasons[0]
    assert "no API" in reasons[1] or "not allowed" in reasons[1]
    assert "require a body" in reasons[2]
    assert "method not allowed" in reasons[3]
    assert es.state.ilm == {}


def test_client_requests_are_within_the_spec(es: FakeElasticsearch, client: Elasticsearch) -> None:
    install(client)
    client.ilm.put_lifecycle(name="pol", body={"policy": {"phases": {"hot": {"actions": {}}}}})
    client.ilm.get_lifecycle(name="pol")
    client.cluster.get_component_template(name="t@package")
    client.indices.get_index_template(name="t")
    client.ingest.get_pipeline(id="p1")
    client.indices.create_data_stream(name="logs-t.x-a")
    client.indices.get_data_stream(name="logs-t.x-*")
    client.indices.rollover(alias="logs-t.x-a")
    client.ingest.simulate(id="p1", docs=[{"_source": {"message": '{"time": "2026-01-01T00:00:00Z"}'}}])
    assert es.violations == []


# -- assets ------------------------------------------------------------------------------


def test_ilm_read_back_like_elasticsearch(client: Elasticsearch) -> None:
    body = {"policy": {"_meta": {"v": 1}, "phases": {"hot": {"actions": {"rollover": {"max_age": "30d"}}},
                                                     "delete": {"min_age": "9d", "actions": {"delete": {}}}}}}
    client.ilm.put_lifecycle(name="pol", body=body)
    client.ilm.put_lifecycle(name="pol", body=body)
    got = client.ilm.get_lifecycle(name="pol")["pol"]
    assert got["version"] == 2 and got["policy"]["phases"]["hot"]["min_age"] == "0ms"
    assert got["policy"]["_meta"] == {"v": 1}
    with pytest.raises(NotFoundError):
        client.ilm.get_lifecycle(name="nope")


def test_templates_read_back_normalised(client: Elasticsearch) -> None:
    install(client)
    ct = client.cluster.get_component_template(name="t@package")["component_templates"][0]["component_template"]
    assert ct["template"]["settings"] == {"index": {"default_pipeline": "p1", "mapping": {"total_fields":
                                                                                          {"limit": "50"}}}}
    it = client.indices.get_index_template(name="t")["index_templates"][0]["index_template"]
    assert it["data_stream"] == {"hidden": False, "allow_custom_routing": False}
    with pytest.raises(NotFoundError):
        client.indices.get_index_template(name="nope")
    assert client.ingest.get_pipeline(id="p1")["p1"] == PIPELINE


def test_template_validation(client: Elasticsearch) -> None:
    with pytest.raises(BadRequestError, match="mapper_parsing_exception"):
        client.cluster.put_component_template(name="bad", body={"template": {"mappings": {"properties": {
            "x": {"type": "keyword", "bogus": 1}}}}})
    with pytest.raises(BadRequestError, match="invalid_index_template_exception"):
        client.indices.put_index_template(name="t", body=dict(IT, ignore_missing_component_templates=[]))
    install(client)
    with pytest.raises(BadRequestError, match="same priority"):
        client.indices.put_index_template(name="t2", body={"index_patterns": ["logs-*"], "priority": 200})
    client.indices.put_index_template(name="t2", body={"index_patterns": ["logs-*"], "priority": 100})
    with pytest.raises(BadRequestError, match="still in use"):
        client.cluster.delete_component_template(name="t@package")
    with pytest.raises(BadRequestError, match="parse_exception"):
        client.ingest.put_pipeline(id="bad", body={"description": "no processors"})


# -- data streams and the ingest path ------------------------------------------------------------


def test_first_create_makes_the_data_stream_and_runs_the_default_pipeline(es, client) -> None:
    install(client)
    raw = json.dumps({"time": "2026-02-03T04:05:06Z", "port": 443})
    (item,) = bulk(client, [{"message": raw}])
    assert item["status"] == 201 and item["_index"].startswith(".ds-logs-t.x-default-")
    assert es.docs("logs-t.x-default")["d0"] == {"event": {"original": raw}, "@timestamp": "2026-02-03T04:05:06Z",
                                                 "source": {"port": 443}}
    ds = es.data_stream("logs-t.x-default")
    assert ds.template == "t" and ds.settings["index.default_pipeline"] == "p1"
    assert client.indices.get_data_stream(name="logs-t.x-default")["data_streams"][0]["template"] == "t"


def test_pipeline_failures(es, client) -> None:
    install(client)
    items = bulk(client, [{"message": "not json"}, {"message": json.dumps({"time": "2026-01-01T00:00:00Z",
                                                                             "drop": True})}])
    assert items[0]["status"] == 201 and items[1]["result"] == "noop"
    stored = es.docs("logs-t.x-default")["d0"]
    assert stored["event"]["kind"] == "pipeline_error" and stored["error"]["message"]
    client.ingest.put_pipeline(id="p1", body={"processors": [{"fail": {"message": "boom"}}]})
    (item,) = bulk(client, [{"message": "x"}], index="logs-t.x-other")
    assert item["status"] == 500 and "boom" in json.dumps(item["error"])


def test_data_stream_rules(es, client) -> None:
    install(client)
    (item,) = bulk(client, [{"@timestamp": "2026-01-01T00:00:00Z"}], op="index")
    assert item["status"] == 400 and "op_type of create" in item["error"]["reason"]
    (item,) = bulk(client, [{"event": {"kind": "x"}}], pipeline="_none")
    assert item["status"] == 400 and "[@timestamp] is missing" in item["error"]["reason"]
    items = bulk(client, [{"@timestamp": "2026-01-01T00:00:00Z", "source": {"port": "https"}},
                          {"@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "a"}},
                          {"@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "b"}},
                          {"@timestamp": "2026-01-01T00:00:00Z", "event": "flat"},
                          {"@timestamp": "2026-01-01T00:00:00Z", "extra": {"field": 1}}], pipeline="_none")
    assert [i["status"] for i in items] == [400, 201, 400, 400, 201]
    assert "constant_keyword" in items[2]["error"]["reason"]
    assert "concrete value" in items[3]["error"]["reason"]
    assert es.data_stream("logs-t.x-default").dynamic_fields == {"extra.field"}


def test_pipeline_can_set_the_id_and_missing_pipelines_fail_items(es, client) -> None:
    install(client)
    (item,) = bulk(client, [{"message": json.dumps({"time": "2026-01-01T00:00:00Z", "id": "fp-1"})}])
    assert item["_id"] == "fp-1" and "fp-1" in es.docs("logs-t.x-default")
    client.cluster.put_component_template(name="t@package", body={"template": {
        "settings": {"index.default_pipeline": "gone"}, "mappings": CT["template"]["mappings"]}})
    client.indices.rollover(alias="logs-t.x-default")
    (item,) = bulk(client, [{"message": "{}"}])
    assert item["status"] == 400 and "pipeline with id [gone] does not exist" in item["error"]["reason"]
    assert es.data_stream("logs-t.x-default").generation == 2


def test_plain_indices_keep_the_old_behaviour(es, client) -> None:
    (item,) = bulk(client, [{"anything": 1}], index="plain-index", op="index")
    assert item["status"] == 201 and es.docs("plain-index") == {"d0": {"anything": 1}}
    assert es.state.data_streams == {}


def test_scripted_responses(es, client) -> None:
    es.deny("GET", r"/_ilm/policy/.*", "cluster:admin/ilm/get", "read_ilm,manage_ilm,manage,all")
    with pytest.raises(Exception, match="security_exception"):
        client.ilm.get_lifecycle(name="x")
    with pytest.raises(NotFoundError):
        client.ilm.get_lifecycle(name="x")


def test_pipelines_the_simulator_cannot_run_are_stored_but_fail_documents(es, client) -> None:
    install(client)
    client.ingest.put_pipeline(id="p1", body={"processors": [{"community_id": {}}]})  # accepted, as by Elasticsearch
    assert "p1" in es.state.unsupported and client.ingest.get_pipeline(id="p1")["p1"]["processors"]
    (item,) = bulk(client, [{"message": "{}"}])
    assert item["status"] == 500 and item["error"]["type"] == "unsupported_by_simulator"
    # ... also when only a pipeline it calls is the problem
    client.ingest.put_pipeline(id="inner", body={"processors": [{"community_id": {}}]})
    client.ingest.put_pipeline(id="p1", body={"processors": [{"pipeline": {"name": "inner"}}]})
    (item,) = bulk(client, [{"message": "{}"}], index="logs-t.x-b")
    assert item["status"] == 500 and "pipeline [inner]" in item["error"]["reason"]
    client.ingest.put_pipeline(id="p1", body=PIPELINE)
    assert set(es.state.unsupported) == {"inner"}
