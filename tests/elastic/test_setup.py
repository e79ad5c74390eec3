"""``elastic setup`` against the fake Elasticsearch: idempotence, order, dry run, upgrade, errors, CLI, roles."""

from __future__ import annotations

import json
import socket
from typing import List, Optional

import pytest
from elasticsearch import helpers

from elastic_ingest import Asset
from integrations import __version__
from integrations.cli import main
from integrations.elastic.setup import (
    MIN_SERVER_VERSION,
    AssetRejected,
    AuthenticationFailed,
    ConnectionFailed,
    DowngradeRefused,
    MissingPipeline,
    MissingPrivilege,
    SetupOptions,
    SetupResult,
    TlsFailed,
    UnsupportedServer,
    connect,
    run_setup,
)
from tests.elastic.conftest import API_KEY, FakeKibana, packaged_assets, pipelines_are_rendered
from tests.support.fake_es import FakeElasticsearch, error_body

KIND_ORDER = ["ilm_policy", "component_template", "ingest_pipeline", "index_template", "data_stream"]
PATH_KIND = [("/_ilm/policy/", "ilm_policy"), ("/_component_template/", "component_template"),
             ("/_ingest/pipeline/", "ingest_pipeline"), ("/_index_template/", "index_template"),
             ("/_data_stream/", "data_stream")]


def setup(server: FakeElasticsearch, assets: List[Asset], version: str = __version__,
          lines: Optional[List[str]] = None, **opts) -> SetupResult:
    client = connect(server.url, api_key=API_KEY)
    try:
        return run_setup(client, assets, SetupOptions(**opts), url=server.url, version=version,
                         credential="the test API key", on_action=lambda a: lines.append(a.line()) if lines else None)
    finally:
        client.close()


def kind_of(path: str) -> str:
    return next(k for prefix, k in PATH_KIND if path.startswith(prefix))


def statuses(result: SetupResult) -> List[str]:
    return [a.status for a in result.actions]


# -- idempotence, order, dry run -------------------------------------------------------


def test_first_run_creates_everything_in_order(fake_es: FakeElasticsearch, assets) -> None:
    result = setup(fake_es, assets, create_data_streams=True)
    assert statuses(result) == ["created"] * len(result.actions)
    writes = fake_es.writes()
    kinds = [kind_of(r.path) for r in writes]
    assert kinds == sorted(kinds, key=KIND_ORDER.index), kinds
    assert [r.method for r in writes] == ["PUT"] * len(writes)
    pipelines = [r.path for r in writes if kind_of(r.path) == "ingest_pipeline"]
    assert ".common-" in pipelines[0]
    # every PUT was preceded by a GET of the same asset
    gets = [r.path for r in fake_es.requests if r.method == "GET"]
    assert all(w.path in gets for w in writes)
    assert set(fake_es.state.data_streams) == {"logs-accuknox.alert-default", "logs-accuknox.log-default"}
    assert fake_es.violations == []


def test_second_run_changes_nothing_and_sends_no_put(fake_es: FakeElasticsearch, assets, capsys) -> None:
    setup(fake_es, assets, create_data_streams=True)
    before = len(fake_es.requests)
    result = setup(fake_es, assets, create_data_streams=True)
    assert not result.changed
    assert set(statuses(result)) == {"unchanged", "exists"}
    assert [r for r in fake_es.requests[before:] if r.method != "GET"] == []
    assert fake_es.violations == []


def test_dry_run_only_reads_and_prints_the_plan(fake_es: FakeElasticsearch, assets) -> None:
    lines: List[str] = [""]
    result = setup(fake_es, assets, lines=lines, dry_run=True, create_data_streams=True)
    assert set(statuses(result)) == {"would create"}
    assert len(lines) - 1 == len(result.actions) == len(assets) + 2
    assert fake_es.writes() == []
    assert not fake_es.state.index_templates and not fake_es.state.ilm
    assert fake_es.violations == []


def test_dry_run_after_install_reports_unchanged(fake_es: FakeElasticsearch, assets) -> None:
    setup(fake_es, assets)
    result = setup(fake_es, assets, dry_run=True, retention={"alert": 120})
    changed = [(a.name, a.status) for a in result.actions if a.changed]
    assert changed == [("logs-accuknox.alert-default_policy", "would update")]
    assert len(fake_es.writes()) == len(assets)


def test_custom_templates_are_never_touched(fake_es: FakeElasticsearch, assets) -> None:
    client = connect(fake_es.url, api_key=API_KEY)
    custom = {"template": {"settings": {"index": {"number_of_replicas": 0}}}, "_meta": {"owner": "user"}}
    client.cluster.put_component_template(name="logs-accuknox.alert@custom", body=custom)
    client.close()
    start = len(fake_es.requests)
    setup(fake_es, assets, create_data_streams=True)
    setup(fake_es, assets, create_data_streams=True)
    assert not [r.path for r in fake_es.requests[start:] if "custom" in r.path.lower()]
    assert fake_es.state.component_templates["logs-accuknox.alert@custom"]["_meta"] == {"owner": "user"}
    # the user's hook is composed into the data stream
    assert fake_es.data_stream("logs-accuknox.alert-default").settings["index.number_of_replicas"] == "0"


def test_installed_bodies_are_the_packaged_ones(fake_es: FakeElasticsearch, assets) -> None:
    setup(fake_es, assets)
    tmpl = fake_es.state.index_templates["logs-accuknox.alert"]
    assert tmpl["composed_of"] == ["logs-accuknox.alert@package", "logs-accuknox.alert@custom"]
    assert tmpl["ignore_missing_component_templates"] == ["logs-accuknox.alert@custom"]
    assert tmpl["priority"] == 200 and tmpl["_meta"]["managed_by"] == "accuknox-siem"
    ct = fake_es.state.component_templates["logs-accuknox.log@package"]
    assert ct["template"]["settings"]["index"]["default_pipeline"] == f"logs-accuknox.log-{__version__}"
    policy = fake_es.state.ilm["logs-accuknox.log-default_policy"]["policy"]
    assert policy["phases"]["delete"]["min_age"] == "30d"
    assert len(policy["_meta"]["content_sha256"]) == 64


# -- install-time options ----------------------------------------------------------------


def test_retention_and_priority_overrides(fake_es: FakeElasticsearch, assets) -> None:
    result = setup(fake_es, assets, retention={"alert": 365, "log": 7}, priority=600)
    assert statuses(result) == ["created"] * len(assets)
    phases = {n: p["policy"]["phases"]["delete"]["min_age"] for n, p in fake_es.state.ilm.items()}
    assert phases == {"logs-accuknox.alert-default_policy": "365d", "logs-accuknox.log-default_policy": "7d"}
    assert {t["priority"] for t in fake_es.state.index_templates.values()} == {600}
    again = setup(fake_es, assets, retention={"alert": 365, "log": 7}, priority=600)
    assert not again.changed
    back = setup(fake_es, assets)
    updated = sorted(a.name for a in back.actions if a.status == "updated")
    assert updated == sorted(["logs-accuknox.alert-default_policy", "logs-accuknox.log-default_policy",
                              "logs-accuknox.alert", "logs-accuknox.log"])
    assert all(a.detail == "content changed" for a in back.actions if a.status == "updated")


@pytest.mark.parametrize("kw, match", [
    ({"namespace": "My-NS"}, "namespace"), ({"retention": {"alert": 0}}, "retention"), ({"priority": -1}, "priority"),
])
def test_invalid_options(kw, match) -> None:
    from integrations.errors import ConfigError

    with pytest.raises(ConfigError, match=match):
        SetupOptions(**kw)


def test_equal_priority_overlap_is_reported_with_the_servers_reason(fake_es: FakeElasticsearch, assets) -> None:
    client = connect(fake_es.url, api_key=API_KEY)
    client.indices.put_index_template(name="everything-logs", body={"index_patterns": ["logs-*-*"], "priority": 200,
                                                                    "data_stream": {}})
    client.close()
    with pytest.raises(AssetRejected, match=r"same priority \[200\]"):
        setup(fake_es, assets)
    assert setup(fake_es, assets, priority=250).changed


def test_namespace_for_data_streams(fake_es: FakeElasticsearch, assets) -> None:
    setup(fake_es, assets, create_data_streams=True, namespace="prod")
    assert set(fake_es.state.data_streams) == {"logs-accuknox.alert-prod", "logs-accuknox.log-prod"}


# -- upgrades ----------------------------------------------------------------------------


def test_upgrade_installs_new_pipelines_beside_old_and_switches_templates(fake_es: FakeElasticsearch) -> None:
    old, new = __version__, "99.0.0"
    setup(fake_es, packaged_assets(), create_data_streams=True)
    result = setup(fake_es, packaged_assets(new), version=new, create_data_streams=True)
    by_kind = {}
    for a in result.actions:
        by_kind.setdefault(a.kind, set()).add(a.status)
    assert by_kind["ingest_pipeline"] == {"created"}
    assert by_kind["index_template"] == by_kind["component_template"] == {"updated"}
    assert all(a.detail == f"{old} -> {new}" for a in result.actions if a.status == "updated")
    names = set(fake_es.state.pipeline_bodies)
    assert {f"logs-accuknox.alert-{old}", f"logs-accuknox.alert-{new}"} <= names
    ds = fake_es.data_stream("logs-accuknox.alert-default")
    assert ds.settings["index.default_pipeline"] == f"logs-accuknox.alert-{old}"  # until it rolls over
    note = [a for a in result.actions if a.kind == "data_stream"]
    assert note and all("next rollover" in a.detail for a in note)


def test_rollover_switches_existing_data_streams(fake_es: FakeElasticsearch) -> None:
    new = "99.0.0"
    setup(fake_es, packaged_assets(), create_data_streams=True)
    result = setup(fake_es, packaged_assets(new), version=new, rollover=True)
    rolled = [a.name for a in result.actions if a.status == "rolled over"]
    assert sorted(rolled) == ["logs-accuknox.alert-default", "logs-accuknox.log-default"]
    ds = fake_es.data_stream("logs-accuknox.alert-default")
    assert ds.generation == 2 and ds.settings["index.default_pipeline"] == f"logs-accuknox.alert-{new}"
    assert fake_es.violations == []
    # nothing changed: no rollover
    again = setup(fake_es, packaged_assets(new), version=new, rollover=True)
    assert not again.changed


def test_downgrade_is_refused_unless_allowed(fake_es: FakeElasticsearch) -> None:
    setup(fake_es, packaged_assets("99.0.0"), version="99.0.0")
    with pytest.raises(DowngradeRefused, match="newer than this package"):
        setup(fake_es, packaged_assets())
    result = setup(fake_es, packaged_assets(), allow_downgrade=True)
    assert any(a.detail.startswith("downgrade") for a in result.actions)


def test_missing_pipeline_is_an_error(fake_es: FakeElasticsearch, assets) -> None:
    without = [a for a in assets if a.kind != "ingest_pipeline"]
    with pytest.raises(MissingPipeline, match="default_pipeline"):
        setup(fake_es, without)
    assert fake_es.writes() == []


# -- errors ------------------------------------------------------------------------------


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_host(assets) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    client = connect(url, api_key=API_KEY, request_timeout=5)
    with pytest.raises(ConnectionFailed, match="cannot connect to http://127.0.0.1"):
        run_setup(client, assets, SetupOptions(), url=url, version=__version__)


def test_tls_failure_and_ca_cert(tls_es, assets) -> None:
    server, bundle = tls_es
    client = connect(server.url, api_key=API_KEY, request_timeout=5)
    with pytest.raises(TlsFailed, match="--ca-cert"):
        run_setup(client, assets, SetupOptions(), url=server.url, version=__version__)
    client = connect(server.url, api_key=API_KEY, ca_certs=bundle)
    assert run_setup(client, assets, SetupOptions(), url=server.url, version=__version__).changed


def test_bad_credentials(assets) -> None:
    with FakeElasticsearch(api_key="right") as server:
        client = connect(server.url, api_key="wrong")
        with pytest.raises(AuthenticationFailed, match="401") as exc:
            run_setup(client, assets, SetupOptions(), url=server.url, version=__version__,
                      credential="the API key from ES_KEY")
    assert "ES_KEY" in str(exc.value) and "wrong" not in str(exc.value)


def test_missing_privilege_is_named(fake_es: FakeElasticsearch, assets) -> None:
    fake_es.deny("PUT", r"/_component_template/.*", "cluster:admin/component_template/put",
                 "manage_index_templates,manage,all")
    with pytest.raises(MissingPrivilege) as exc:
        setup(fake_es, assets)
    err = exc.value
    assert err.privilege == "manage_index_templates" and err.scope == "cluster"
    assert "manage_index_templates" in str(err) and "elastic roles" in str(err)
    assert [kind_of(r.path) for r in fake_es.writes()] == ["ilm_policy", "ilm_policy", "component_template"]


def test_missing_privilege_without_explanation_falls_back_to_the_table(fake_es: FakeElasticsearch, assets) -> None:
    fake_es.script("PUT", r"/_ingest/pipeline/.*", 403, error_body(403, "security_exception", "forbidden"))
    with pytest.raises(MissingPrivilege, match="manage_pipeline"):
        setup(fake_es, assets)


def test_opensearch_is_refused_with_the_reason(assets) -> None:
    with FakeElasticsearch(product_header=False) as server:
        server.info_extra = {"version": {"distribution": "opensearch", "number": "2.15.0"}}
        with pytest.raises(UnsupportedServer) as exc:
            setup(server, assets)
    text = str(exc.value)
    assert "OpenSearch 2.15.0" in text and "ISM" in text and "flattened" in text


def test_old_version_is_refused(assets) -> None:
    with FakeElasticsearch(version="8.6.2") as server:
        with pytest.raises(UnsupportedServer, match=r"8\.6\.2.*8\.10\.0"):
            setup(server, assets)
        assert server.writes() == []
    assert MIN_SERVER_VERSION == (8, 10, 0)


@pytest.mark.parametrize("version, compat, match", [
    ("7.17.20", (7,), "compatibility header"),
    ("10.0.0", (8, 9, 10), "8.x and 9.x servers only"),
])
def test_other_majors_are_refused(assets, version, compat, match) -> None:
    with FakeElasticsearch(version=version, compat_majors=compat) as server:
        with pytest.raises(UnsupportedServer, match=match):
            setup(server, assets)


def test_serverless_is_refused(fake_es: FakeElasticsearch, assets) -> None:
    fake_es.info_extra = {"version": {"build_flavor": "serverless"}}
    with pytest.raises(UnsupportedServer, match="Serverless"):
        setup(fake_es, assets)


def test_9x_server_is_supported(assets) -> None:
    with FakeElasticsearch(version="9.1.0", compat_majors=(8, 9)) as server:
        assert setup(server, assets).changed
        assert server.violations == []


def test_put_rejected_by_the_server_names_its_reason(fake_es: FakeElasticsearch, assets) -> None:
    broken = [a._replace(body={**a.body, "template": {"mappings": {"properties": {"x": {"type": "nope"}}}}})
              if a.kind == "component_template" else a for a in assets]
    with pytest.raises(AssetRejected, match=r"mapper_parsing_exception: No handler for type \[nope\]"):
        setup(fake_es, broken)


# -- documents through the installed assets --------------------------------------------------


def test_mapped_documents_fit_the_installed_mappings(fake_es: FakeElasticsearch, assets, mapper) -> None:
    """Every corpus document, mapped in Python and sent with pipeline=_none, is accepted with no unmapped field."""
    from integrations.events import iter_parse_path
    from integrations.model import ParsedEvent
    from tests.conftest import CORPUS_JSONL

    setup(fake_es, assets)
    actions = []
    for path in CORPUS_JSONL:
        for item in iter_parse_path(path):
            if isinstance(item, ParsedEvent):
                doc = mapper.to_ecs(item)
                stream = doc["data_stream"]["dataset"].split(".", 1)[1]
                actions.append({"_op_type": "create", "_index": f"logs-accuknox.{stream}-default",
                                "_id": f"{item.location}", "_source": doc})
    assert len(actions) > 100
    client = connect(fake_es.url, api_key=API_KEY)
    ok, errors = helpers.bulk(client, actions, pipeline="_none", raise_on_error=False, chunk_size=100)
    client.close()
    assert errors == [] and ok == len(actions)
    for name in ("logs-accuknox.alert-default", "logs-accuknox.log-default"):
        assert fake_es.data_stream(name).dynamic_fields == set(), name
    assert fake_es.violations == []


def test_raw_message_runs_through_the_default_pipeline(fake_es: FakeElasticsearch, assets) -> None:
    """A raw event sent as ``{"message": ...}`` is stored as the pipeline's output (the packaged pipeline, or a
    test stand-in while none is rendered) and every field it writes is mapped."""
    from tests.conftest import CORPUS

    setup(fake_es, assets)
    raw = (CORPUS / "real" / "alerts-process.jsonl").read_text(encoding="utf-8").splitlines()[0]
    client = connect(fake_es.url, api_key=API_KEY)
    resp = client.bulk(operations=[{"create": {"_index": "logs-accuknox.alert-default", "_id": "e1"}},
                                   {"message": raw}])
    client.close()
    assert resp["errors"] is False, resp["items"]
    stored = fake_es.docs("logs-accuknox.alert-default")
    (doc,) = stored.values()
    assert "@timestamp" in doc
    if pipelines_are_rendered():
        assert doc.get("event", {}).get("kind") != "pipeline_error", doc.get("error")
        assert "message" not in doc or doc["message"] != raw
        assert fake_es.data_stream("logs-accuknox.alert-default").dynamic_fields == set()
    assert fake_es.violations == []


# -- CLI ---------------------------------------------------------------------------------


def run_cli(args: List[str], monkeypatch, capsys, key: str = API_KEY):
    monkeypatch.setenv("TEST_ES_KEY", key)
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_setup_twice_then_no_change(fake_es: FakeElasticsearch, cli_assets, monkeypatch, capsys) -> None:
    args = ["elastic", "setup", "--url", fake_es.url, "--api-key-env", "TEST_ES_KEY", "--create-data-streams"]
    code, out, err = run_cli(args, monkeypatch, capsys)
    assert code == 0, err
    assert "created        index_template      logs-accuknox.alert" in out
    code, out, err = run_cli(args, monkeypatch, capsys)
    assert code == 0, err
    assert "no change" in out and "created" not in out and "updated" not in out
    code, out, err = run_cli(args + ["--dry-run", "--retention-logs", "14"], monkeypatch, capsys)
    assert code == 0 and "would update   ilm_policy          logs-accuknox.log-default_policy" in out
    assert fake_es.state.ilm["logs-accuknox.log-default_policy"]["policy"]["phases"]["delete"]["min_age"] == "30d"
    assert fake_es.violations == []


def test_cli_errors_exit_2_with_a_message(fake_es: FakeElasticsearch, monkeypatch, capsys) -> None:
    code, _out, err = run_cli(["elastic", "setup", "--url", "http://es.example:9200", "--api-key-env",
                               "TEST_ES_KEY"], monkeypatch, capsys)
    assert code == 2 and "loopback" in err
    monkeypatch.delenv("NOPE_UNSET", raising=False)
    code, _out, err = run_cli(["elastic", "setup", "--url", fake_es.url, "--api-key-env", "NOPE_UNSET"],
                              monkeypatch, capsys)
    assert code == 2 and "NOPE_UNSET" in err
    code, _out, err = run_cli(["elastic", "setup", "--url", f"http://127.0.0.1:{_closed_port()}",
                               "--api-key-env", "TEST_ES_KEY", "--timeout", "5"], monkeypatch, capsys)
    assert code == 2 and "cannot connect" in err
    assert fake_es.writes() == []


def test_cli_insecure_warns(tls_es, cli_assets, monkeypatch, capsys, caplog) -> None:
    server, _bundle = tls_es
    code, out, err = run_cli(["elastic", "setup", "--url", server.url, "--api-key-env", "TEST_ES_KEY",
                              "--insecure"], monkeypatch, capsys)
    assert code == 0, err
    assert "verification is OFF" in caplog.text


def test_cli_basic_auth_from_env(cli_assets, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ES_PW", "s3cret")
    with FakeElasticsearch(basic_auth=("setup", "s3cret")) as server:
        code, out, err = run_cli(["elastic", "setup", "--url", server.url, "--user", "setup", "--password-env",
                                  "ES_PW", "--dry-run"], monkeypatch, capsys)
    assert code == 0, err
    assert "would create" in out and "s3cret" not in out + err


def test_cli_kibana_import(fake_es: FakeElasticsearch, fake_kibana: FakeKibana, cli_assets, monkeypatch,
                           capsys) -> None:
    import elastic_ingest

    code, out, err = run_cli(["elastic", "setup", "--url", fake_es.url, "--api-key-env", "TEST_ES_KEY",
                              "--kibana-url", fake_kibana.url], monkeypatch, capsys)
    assert code == 0, err
    (content,) = fake_kibana.imported
    assert content == elastic_ingest.kibana_ndjson().rstrip(b"\r\n")
    (req,) = fake_kibana.requests
    assert req.param("overwrite") == "true" and req.path == "/api/saved_objects/_import"
    assert f"{len(content.splitlines())} saved objects" in out


def test_cli_kibana_dry_run_and_space(fake_es, fake_kibana, cli_assets, monkeypatch, capsys) -> None:
    base = ["elastic", "setup", "--url", fake_es.url, "--api-key-env", "TEST_ES_KEY", "--kibana-url", fake_kibana.url]
    code, out, _err = run_cli(base + ["--dry-run"], monkeypatch, capsys)
    assert code == 0 and "would import" in out and fake_kibana.requests == []
    code, _out, err = run_cli(base + ["--kibana-space", "secops"], monkeypatch, capsys)
    assert code == 0, err
    assert fake_kibana.requests[0].path == "/s/secops/api/saved_objects/_import"


def test_kibana_errors(fake_kibana: FakeKibana) -> None:
    from integrations.elastic.kibana import KibanaImportFailed, import_saved_objects

    with pytest.raises(AuthenticationFailed, match="401"):
        import_saved_objects(fake_kibana.url, b'{"id":"x","type":"dashboard"}\n', api_key="wrong")
    fake_kibana.refuse = [{"id": "x", "type": "dashboard", "title": "X",
                           "error": {"type": "missing_references"}}]
    with pytest.raises(KibanaImportFailed, match="missing_references"):
        import_saved_objects(fake_kibana.url, b'{"id":"x","type":"dashboard"}\n', api_key=API_KEY)
    with pytest.raises(ConnectionFailed, match="cannot reach Kibana"):
        import_saved_objects(f"http://127.0.0.1:{_closed_port()}", b"{}\n", api_key=API_KEY, timeout=5)


# -- roles -------------------------------------------------------------------------------


def test_roles_are_least_privilege(capsys) -> None:
    assert main(["elastic", "roles"]) == 0
    roles = json.loads(capsys.readouterr().out)
    setup_role = roles["setup_role"]["body"]
    assert sorted(setup_role["cluster"]) == ["manage_ilm", "manage_index_templates", "manage_pipeline", "monitor"]
    assert setup_role["indices"] == [{"names": ["logs-accuknox.*"], "privileges": ["manage"]}]
    key = roles["poller_api_key"]["body"]
    assert roles["poller_api_key"]["request"] == "POST /_security/api_key"
    (descriptor,) = key["role_descriptors"].values()
    assert descriptor == {"cluster": [],
                          "indices": [{"names": ["logs-accuknox.*"], "privileges": ["create_doc", "auto_configure"]}]}
    kibana = roles["kibana_role"]["body"]["kibana"][0]
    assert kibana["spaces"] == ["default"] and kibana["feature"]["savedObjectsManagement"] == ["all"]
