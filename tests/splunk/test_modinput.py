"""The modular input's logic (integrations.splunk.modinput) in process, without Splunk.

Configuration comes from a StaticConfigSource; the AccuKnox API is the
emulator on https://127.0.0.1 with a throw-away CA given as the account's CA
bundle; events go to splunklib's EventWriter on a StringIO.
"""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List

import pytest
from splunklib.modularinput import EventWriter

from integrations.emulator import AlertsEmulator, Scripted
from integrations.errors import ConfigError, SinkError
from integrations.model import Delivery
from integrations.splunk import modinput as mi
from tests.splunk.helpers import (
    TENANT,
    expected_events,
    make_rows,
    make_token,
    parse_stream,
    row_id,
    secret_fragments,
)

# --------------------------------------------------------------------------- parameters


def test_filters_syntax() -> None:
    got = mi.parse_filters("Action=Block, Severity=8,\nPolicyName=~ksp-*, Operation!=File")
    assert got == [
        {"field": "Action", "value": "Block", "op": "match"},
        {"field": "Severity", "value": "8", "op": "match"},
        {"field": "PolicyName", "value": "ksp-*", "op": "pattern"},
        {"field": "Operation", "value": "File", "op": "ne"},
    ]
    assert mi.parse_filters("") == [] and mi.parse_filters(None) == []
    with pytest.raises(ConfigError, match=r"filters: 'Action' is not Field=Value"):
        mi.parse_filters("Action")
    with pytest.raises(ConfigError, match=r"filters: .*Severity accepts only op 'match'"):
        mi.parse_filters("Severity!=3")


def test_input_config_defaults_and_poll_settings() -> None:
    cfg = mi.InputConfig.from_params("prod", {"account": "acct", "index": "default", "interval": "300"})
    assert (cfg.lookback, cfg.overlap, cfg.lag, cfg.page_size, cfg.log_type, cfg.index) == \
        (86400, 600, 60, 100, "active", None)
    s = mi.InputConfig.from_params("prod", {
        "account": "acct", "index": "security", "lookback": "7200", "overlap": "0", "lag": "30", "page_size": "25",
        "cluster_ids": "3896, 4291", "namespaces": "default,\nkube-system", "filters": "Action=Block",
        "log_type": "ALL"}).poll_settings()
    assert s.view == "raw"
    assert (s.lookback, s.overlap, s.lag, s.page_size, s.log_type) == (7200, 0, 30, 25, "all")
    assert s.cluster_ids == ("3896", "4291") and s.namespaces == ("default", "kube-system")
    assert s.filters == ({"field": "Action", "value": "Block", "op": "match"},)


@pytest.mark.parametrize("params, message", [
    ({}, r"account: choose the AccuKnox account"),
    ({"account": "a", "page_size": "500"}, r"page_size: expected a whole number from 1 to 100, got 500"),
    ({"account": "a", "page_size": "0"}, r"page_size: expected a whole number from 1 to 100, got 0"),
    ({"account": "a", "page_size": "ten"}, r"page_size: expected a whole number from 1 to 100, got 'ten'"),
    ({"account": "a", "lookback": "-5"}, r"lookback: expected a whole number"),
    ({"account": "a", "lag": "7200"}, r"lag: expected a whole number from 0 to 3600"),
    ({"account": "a", "log_type": "deleted"}, r"log_type: expected one of active, all, suppressed"),
    ({"account": "a", "namespaces": "a b"}, r"namespaces: 'a b' contains a space"),
])
def test_input_config_errors_name_the_parameter(params: Dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        mi.InputConfig.from_params("prod", params)


def test_account_checks(tmp_path: Path) -> None:
    ok = mi.Account.from_conf("prod", {"api_url": "HTTPS://CWPP.Example.com/", "tenant_id": " 167 ",
                                        "api_token": "tok-123456", "verify_ssl": "1"})
    assert (ok.api_url, ok.tenant_id, ok.token, ok.verify_ssl, ok.ca_bundle) == \
        ("https://cwpp.example.com", "167", "tok-123456", True, None)
    assert "tok-123456" not in repr(ok)
    base = {"api_url": "https://cwpp.example.com", "tenant_id": "1", "api_token": "tok-123456"}
    cases = [
        (dict(base, api_url="http://cwpp.example.com"), r"api_url must start with https:// \(got http:// for host"),
        (dict(base, api_url="http://127.0.0.1:8080"), r"api_url must start with https://"),
        (dict(base, api_url="https://user:pw@cwpp.example.com"), r"credentials in the URL are not allowed"),
        (dict(base, api_url=""), r"api_url is empty"),
        (dict(base, tenant_id=""), r"tenant_id is empty"),
        (dict(base, api_token="******"), r"the API token is not in Splunk's password storage"),
        (dict(base, api_token="********"), r"the API token is not in Splunk's password storage"),
        ({k: v for k, v in base.items() if k != "api_token"}, r"the API token is not in Splunk's password storage"),
        (dict(base, ca_bundle="certs/ca.pem"), r"ca_bundle must be an absolute path"),
        (dict(base, ca_bundle=str(tmp_path / "missing.pem")), r"is not a readable file"),
        (dict(base, ca_bundle=str(tmp_path), verify_ssl="0"), r"ca_bundle is set but verify_ssl is off"),
        (dict(base, verify_ssl="maybe"), r"verify_ssl: expected true or false"),
    ]
    for conf, message in cases:
        with pytest.raises(ConfigError, match=message):
            mi.Account.from_conf("prod", conf)


def test_account_ca_bundle_expands_splunk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "etc" / "auth").mkdir(parents=True)
    (tmp_path / "etc" / "auth" / "ca.pem").write_text("pem")
    monkeypatch.setenv("SPLUNK_HOME", str(tmp_path))
    acct = mi.Account.from_conf("prod", {"api_url": "https://x.example.com", "tenant_id": "1", "api_token": "tok-1",
                                         "ca_bundle": "$SPLUNK_HOME/etc/auth/ca.pem"})
    assert acct.ca_bundle == str(tmp_path / "etc" / "auth" / "ca.pem")


def test_proxy_settings() -> None:
    assert mi.ProxySettings.from_conf({}) is None
    assert mi.ProxySettings.from_conf({"proxy_enabled": "0", "proxy_url": "p"}) is None
    p = mi.ProxySettings.from_conf({"proxy_enabled": "1", "proxy_type": "http", "proxy_url": "proxy.corp",
                                    "proxy_port": "3128", "proxy_username": "svc@corp", "proxy_password": "p@ss:w/rd"})
    assert p is not None
    assert p.proxies() == {"http": "http://svc%40corp:p%40ss%3Aw%2Frd@proxy.corp:3128",
                           "https": "http://svc%40corp:p%40ss%3Aw%2Frd@proxy.corp:3128"}
    assert "p@ss" not in p.describe() and "p@ss" not in repr(p)
    s = mi.ProxySettings.from_conf({"proxy_enabled": "true", "proxy_type": "socks5", "proxy_url": "::1",
                                    "proxy_port": "1080", "proxy_rdns": "1"})
    assert s is not None and s.url() == "socks5h://[::1]:1080"
    for conf, message in [
        ({"proxy_enabled": "1", "proxy_port": "3128"}, r"the proxy host is empty"),
        ({"proxy_enabled": "1", "proxy_url": "http://p", "proxy_port": "3128"}, r"without scheme"),
        ({"proxy_enabled": "1", "proxy_url": "p", "proxy_port": "99999"}, r"proxy_port must be a number"),
        ({"proxy_enabled": "1", "proxy_url": "p", "proxy_port": "1", "proxy_type": "ftp"}, r"proxy_type must be"),
    ]:
        with pytest.raises(ConfigError, match=message):
            mi.ProxySettings.from_conf(conf)


def test_checkpoint_path(tmp_path: Path) -> None:
    assert mi.checkpoint_path(str(tmp_path), "prod") == tmp_path / "prod.json"
    odd = mi.checkpoint_path(str(tmp_path), "../x y")
    assert odd.parent == tmp_path and odd.name.startswith("_x_y-") and odd.suffix == ".json"


# --------------------------------------------------------------------------- the sink


def _writer() -> EventWriter:
    return EventWriter(output=io.StringIO(), error=io.StringIO())


def test_sink_writes_one_xml_event_per_delivery() -> None:
    ew = _writer()
    sink = mi.ModInputSink(ew, stanza="accuknox_alerts://prod", index="security", source="accuknox:prod")
    body = {"Type": "MatchedPolicy", "Message": "a <b> & \"c\"", "Bad": "\ufffe\ud800x", "Ctl": "\x01\x1f"}
    result = sink.send([
        Delivery("id1", 1700000000.5, "node-1", "alert", body, body),
        Delivery("id2", 1700000001.25, None, "log", {"Type": "ContainerLog"}, {}),
    ])
    assert result.delivered == 2 and sink.written == 2
    ew.close()
    events = parse_stream(ew._out.getvalue())
    assert [e["sourcetype"] for e in events] == ["accuknox:kubearmor:alert", "accuknox:kubearmor:log"]
    assert [e["time"] for e in events] == ["1700000000.500", "1700000001.250"]
    assert events[0]["host"] == "node-1" and "host" not in events[1]
    assert {e["index"] for e in events} == {"security"} and {e["source"] for e in events} == {"accuknox:prod"}
    assert {e["stanza"] for e in events} == {"accuknox_alerts://prod"}
    assert all(e["unbroken"] == "1" and e["done"] for e in events)
    decoded = json.loads(events[0]["data"])
    assert decoded["Message"] == body["Message"] and decoded["Ctl"] == body["Ctl"]
    assert decoded["Bad"] == "\ufffe\ud800x"  # escaped as \ufffe / \ud800 in the XML, same JSON value


def test_sink_without_index_leaves_it_to_the_stanza() -> None:
    ew = _writer()
    mi.ModInputSink(ew, stanza="accuknox_alerts://p", index=None, source="accuknox:p").send(
        [Delivery("i", 1.0, "h", "alert", {}, {})])
    ew.close()
    assert "index" not in parse_stream(ew._out.getvalue())[0]


def test_sink_closed_pipe_is_a_non_retryable_sink_error() -> None:
    class Closed(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    sink = mi.ModInputSink(EventWriter(output=Closed(), error=io.StringIO()), stanza="accuknox_alerts://p")
    with pytest.raises(SinkError) as info:
        sink.send([Delivery("i", 1.0, "h", "alert", {}, {})])
    assert info.value.retryable is False


# --------------------------------------------------------------------------- whole runs


@pytest.fixture()
def api(tls: Any) -> Any:
    now = time.time()
    token = make_token()
    rows = make_rows(now)
    emu = AlertsEmulator(rows, tenant_id=TENANT, token=token, ssl_context=tls.server_context).start()
    yield SimpleNamespace(emu=emu, token=token, rows=rows, ca=str(tls.ca_path))
    emu.stop()


def _source(api: Any, *, token: str | None = None, loglevel: str = "INFO",
            proxy: Dict[str, str] | None = None) -> mi.StaticConfigSource:
    return mi.StaticConfigSource(
        {"prod": {"api_url": api.emu.url, "tenant_id": TENANT, "api_token": token or api.token, "verify_ssl": "1",
                  "ca_bundle": api.ca}},
        {"logging": {"loglevel": loglevel}, "proxy": proxy or {"proxy_enabled": "0"}},
    )


def _run(api: Any, tmp_path: Path, source: mi.ConfigSource, **kwargs: Any) -> SimpleNamespace:
    ew = _writer()
    err = io.StringIO()
    metadata = {"server_uri": "https://127.0.0.1:8089", "session_key": "session-key-0123456789",
                "checkpoint_dir": str(tmp_path / "checkpoints")}
    params = {"account": "prod", "index": "main", "lookback": "3600", "page_size": "10"}
    params.update(kwargs.pop("params", {}))
    summary = mi.run_input("prod", params, metadata, ew, source_factory=lambda md: source, stream=err,
                           log_dir=str(tmp_path / "logs"), **kwargs)
    ew.close()
    return SimpleNamespace(summary=summary, events=parse_stream(ew._out.getvalue()), stderr=err.getvalue(),
                           log=(tmp_path / "logs" / mi.LOG_FILE).read_text() if (tmp_path / "logs" / mi.LOG_FILE).exists()
                           else "")


def test_run_writes_every_event_once_then_nothing(api: Any, tmp_path: Path) -> None:
    expected = expected_events(api.rows)
    first = _run(api, tmp_path, _source(api, loglevel="DEBUG"))
    assert first.summary is not None and first.summary.complete, first.stderr
    written = {row_id(e["data"]): e for e in first.events}
    assert len(written) == len(first.events) == len(expected)
    assert set(written) == set(expected)
    for eid, e in written.items():
        want = expected[eid]
        assert (e["time"], e.get("host"), e["sourcetype"]) == (want["time"], want["host"], want["sourcetype"])
        assert json.loads(e["data"]) == want["raw"]  # the row exactly as the API returned it
        assert (e["index"], e["source"], e["stanza"]) == ("main", "accuknox:prod", "accuknox_alerts://prod")
    assert {e["sourcetype"] for e in first.events} == {"accuknox:kubearmor:alert", "accuknox:kubearmor:log"}
    state = json.loads((tmp_path / "checkpoints" / "prod.json").read_text())
    assert state["high_water"] is not None
    assert "run complete" in first.stderr and "run complete" in first.log
    second = _run(api, tmp_path, _source(api))
    assert second.summary is not None and second.summary.complete
    assert second.events == [] and second.summary.delivered == 0
    assert second.summary.duplicates_dropped > 0  # the overlap was re-read and dropped
    for text in (first.stderr, first.log, second.stderr, second.log,
                 (tmp_path / "checkpoints" / "prod.json").read_text()):
        assert api.token not in text and "session-key-0123456789" not in text
        assert not [f for f in secret_fragments(api.token) if f in text]


def test_run_with_a_rejected_token_logs_error_and_keeps_the_checkpoint(api: Any, tmp_path: Path) -> None:
    assert _run(api, tmp_path, _source(api)).summary.complete
    state_file = tmp_path / "checkpoints" / "prod.json"
    before = state_file.read_bytes()
    wrong = make_token()
    bad = _run(api, tmp_path, _source(api, token=wrong))
    assert bad.summary is not None and not bad.summary.complete
    assert bad.events == []
    assert any(line.startswith("ERROR ") and "HTTP 401" in line for line in bad.stderr.splitlines()), bad.stderr
    assert " ERROR " in bad.log and "HTTP 401" in bad.log
    assert state_file.read_bytes() == before
    assert not (tmp_path / "checkpoints" / "prod.json.journal").exists()
    assert wrong not in bad.stderr + bad.log and api.token not in bad.stderr + bad.log


def test_server_errors_mid_window_write_nothing_and_the_next_run_delivers_all(api: Any, tmp_path: Path) -> None:
    # page 1 answers, then HTTP 500 until the client gives up: the window's batch was never sent
    api.emu.script(Scripted(), Scripted(status=500, body={"error": "boom"}), *[Scripted(status=500)] * 5)
    run = _run(api, tmp_path, _source(api), sleep=lambda s: None)
    assert run.summary is not None and not run.summary.complete and run.summary.pulled == 10
    assert run.events == []
    assert "ERROR" in run.stderr and "giving up after 6 attempts" in run.stderr
    again = _run(api, tmp_path, _source(api))
    assert again.summary.complete
    ids = [row_id(e["data"]) for e in again.events]
    assert len(ids) == len(set(ids)) == len(expected_events(api.rows))


def test_configuration_errors_are_logged_not_raised(api: Any, tmp_path: Path) -> None:
    run = _run(api, tmp_path, mi.StaticConfigSource({}, {}))
    assert run.summary is None and run.events == []
    assert "ERROR" in run.stderr and "account 'prod' does not exist" in run.stderr
    run = _run(api, tmp_path, _source(api), params={"page_size": "500"})
    assert run.summary is None and "page_size: expected a whole number from 1 to 100" in run.stderr


def test_secrets_are_redacted_from_every_log_record(tmp_path: Path) -> None:
    token = make_token()
    err = io.StringIO()
    logs = mi.InputLogging("prod", stream=err, log_dir=str(tmp_path))
    try:
        logs.add_secret(token)
        logs.add_secret("proxy-p@ss")
        log = logging.getLogger("integrations.test")
        log.warning("token %s and %s in a message", token, "proxy-p%40ss")
        try:
            raise ValueError(f"bad {token}")
        except ValueError:
            log.exception("with a traceback")
    finally:
        logs.close()
    text = err.getvalue() + (tmp_path / mi.LOG_FILE).read_text()
    assert token not in text and "proxy-p@ss" not in text and "proxy-p%40ss" not in text
    assert text.count("***") >= 4
    assert err.getvalue().splitlines()[0].startswith("WARN input=prod ")
    assert len(err.getvalue().splitlines()) == 2  # tracebacks stay on one line for splunkd.log


def test_proxy_and_tls_settings_reach_the_client(api: Any, tmp_path: Path) -> None:
    seen: List[Dict[str, Any]] = []

    class Spy:
        stats = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            seen.append(dict(kwargs, args=args))

        def iter_pages(self, *a: Any, **k: Any) -> Any:
            return iter(())

        def close(self) -> None:
            pass

    proxy = {"proxy_enabled": "1", "proxy_type": "http", "proxy_url": "proxy.corp", "proxy_port": "3128",
             "proxy_username": "svc", "proxy_password": "s3cret-pw"}
    run = _run(api, tmp_path, _source(api, proxy=proxy), client_factory=Spy)
    assert run.summary is not None and run.summary.complete
    (call,) = seen
    assert call["args"] == (api.emu.url, TENANT, api.token)
    assert call["proxies"] == {"http": "http://svc:s3cret-pw@proxy.corp:3128",
                               "https": "http://svc:s3cret-pw@proxy.corp:3128"}
    assert call["ca_bundle"] == api.ca and call["verify"] is True
    assert "proxy=http://proxy.corp:3128 user=svc" in run.stderr
    assert "s3cret-pw" not in run.stderr + run.log


def test_validate_definition(api: Any) -> None:
    def definition(**params: str) -> SimpleNamespace:
        base = {"account": "prod", "interval": "300", "index": "main"}
        base.update(params)
        return SimpleNamespace(metadata={"name": "prod", "server_uri": "https://127.0.0.1:8089",
                                         "session_key": "k"}, parameters=base)

    good = _source(api)
    mi.validate_definition(definition(), source_factory=lambda md: good)
    with pytest.raises(ConfigError, match=r"page_size: expected a whole number from 1 to 100, got 500"):
        mi.validate_definition(definition(page_size="500"), source_factory=lambda md: good)
    plain = mi.StaticConfigSource({"prod": {"api_url": "http://cwpp.example.com", "tenant_id": "1", "api_token": "t1234"}})
    with pytest.raises(ConfigError, match=r"account 'prod': api_url must start with https://"):
        mi.validate_definition(definition(), source_factory=lambda md: plain)
