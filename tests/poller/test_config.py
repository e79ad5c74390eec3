"""Pull settings: precedence flags > ACCUKNOX_* env > TOML > defaults, parsing, validation, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.config import parse_duration, parse_filter, proxies_for, resolve
from integrations.errors import ConfigError

BASE = {"url": "https://cwpp.example.com", "tenant_id": "11"}
MARKER = "SECRET-MARKER-c0ffee-1234"


def toml(tmp_path: Path, text: str) -> str:
    p = tmp_path / "pull.toml"
    p.write_text(text)
    return str(p)


# --------------------------------------------------------------------------- precedence

def test_defaults() -> None:
    cfg = resolve(dict(BASE), environ={})
    assert (cfg.lookback, cfg.overlap, cfg.lag, cfg.max_window) == (86400, 600, 60, 3600)
    assert (cfg.page_size, cfg.batch_size, cfg.max_pages) == (100, 1000, None)
    assert cfg.sink == "file:./accuknox-out" and cfg.token_env == "ACCUKNOX_TOKEN"
    assert cfg.filters == [] and cfg.cluster_id == [] and cfg.log_type == "active"
    assert cfg.sources["lookback"] == "default" and cfg.sources["url"] == "flag"


def test_precedence_flag_over_env_over_toml(tmp_path: Path) -> None:
    path = toml(tmp_path, 'url = "https://from-file.example.com"\ntenant_id = "7"\nlag = "5m"\n'
                          'overlap = 120\npage_size = 20\nsink = "stdout"\n')
    env = {"ACCUKNOX_LAG": "90s", "ACCUKNOX_PAGE_SIZE": "30", "ACCUKNOX_TENANT_ID": "8"}
    cfg = resolve({"page_size": 40}, environ=env, config_path=path)
    assert cfg.page_size == 40 and cfg.sources["page_size"] == "flag"
    assert cfg.lag == 90 and cfg.sources["lag"] == "env"
    assert cfg.tenant_id == "8" and cfg.sources["tenant_id"] == "env"
    assert cfg.overlap == 120 and cfg.sources["overlap"] == "config"
    assert cfg.url == "https://from-file.example.com" and cfg.sink == "stdout"
    assert cfg.lookback == 86400 and cfg.sources["lookback"] == "default"


def test_pull_section_of_toml(tmp_path: Path) -> None:
    path = toml(tmp_path, '[pull]\nurl = "https://x.example.com"\ntenant-id = "3"\nmax-window = "30m"\n')
    cfg = resolve({}, environ={}, config_path=path)
    assert (cfg.url, cfg.tenant_id, cfg.max_window) == ("https://x.example.com", "3", 1800)


def test_empty_env_value_does_not_override(tmp_path: Path) -> None:
    path = toml(tmp_path, 'lag = "2m"\n')
    cfg = resolve(dict(BASE), environ={"ACCUKNOX_LAG": ""}, config_path=path)
    assert cfg.lag == 120


def test_zero_flag_is_a_value_not_unset() -> None:
    # argparse gives ints: 0 == False in Python, but --max-pages 0 must not silently fall through
    with pytest.raises(ConfigError, match=r"max_pages \(from --max-pages\)"):
        resolve(dict(BASE, max_pages=0), environ={"ACCUKNOX_MAX_PAGES": "5"})
    cfg = resolve(dict(BASE, rate_limit=None, insecure=False), environ={"ACCUKNOX_INSECURE": "yes"})
    assert cfg.insecure is True  # a store_true flag left off does not override the environment


# --------------------------------------------------------------------------- parsing

@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("10m", 600), ("24h", 86400), ("2d", 172800), ("1w", 604800), ("600", 600), (600, 600),
    (" 5M ", 300), ("0", 0),
])
def test_durations(text, seconds) -> None:
    assert parse_duration(text, "lag") == seconds


@pytest.mark.parametrize("bad", ["1.5h", "ten minutes", "-5m", "5y", "", True, -3])
def test_bad_durations_name_the_setting(bad) -> None:
    with pytest.raises(ConfigError, match="^lag"):
        parse_duration(bad, "lag")


def test_duration_errors_say_where_they_came_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"overlap \(from ACCUKNOX_OVERLAP\)"):
        resolve(dict(BASE), environ={"ACCUKNOX_OVERLAP": "soon"})
    path = toml(tmp_path, 'lookback = "forever"\n')
    with pytest.raises(ConfigError, match=r"lookback \(from .*pull.toml\)"):
        resolve(dict(BASE), environ={}, config_path=path)
    with pytest.raises(ConfigError, match=r"max_window \(from --max-window\)"):
        resolve(dict(BASE, max_window="0"), environ={})


@pytest.mark.parametrize("text, expected", [
    ("Action=Block", {"field": "Action", "value": "Block", "op": "match"}),
    ("Action!=Audit", {"field": "Action", "value": "Audit", "op": "ne"}),
    ("PodName~=nginx.*", {"field": "PodName", "value": "nginx.*", "op": "pattern"}),
    (" Severity = 5 ", {"field": "Severity", "value": "5", "op": "match"}),
])
def test_filters(text, expected) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize("bad", ["Action", "=Block", "Action=", ""])
def test_bad_filter(bad) -> None:
    with pytest.raises(ConfigError, match="^filter"):
        parse_filter(bad)


def test_filters_and_lists_from_each_source(tmp_path: Path) -> None:
    path = toml(tmp_path, 'filter = ["Action=Block", "Severity=7"]\ncluster_id = ["1", "2"]\n')
    cfg = resolve(dict(BASE), environ={"ACCUKNOX_NAMESPACE": "a, b ,,c"}, config_path=path)
    assert cfg.filters == [{"field": "Action", "value": "Block", "op": "match"},
                           {"field": "Severity", "value": "7", "op": "match"}]
    assert cfg.cluster_id == ["1", "2"] and cfg.namespace == ["a", "b", "c"]
    cfg = resolve(dict(BASE, filter=["Action!=Audit"]), environ={}, config_path=path)
    assert cfg.filters == [{"field": "Action", "value": "Audit", "op": "ne"}]


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("env, setting", [
    ({"ACCUKNOX_PAGE_SIZE": "500"}, "page_size"),
    ({"ACCUKNOX_PAGE_SIZE": "0"}, "page_size"),
    ({"ACCUKNOX_BATCH_SIZE": "0"}, "batch_size"),
    ({"ACCUKNOX_BATCH_SIZE": "lots"}, "batch_size"),
    ({"ACCUKNOX_RATE_LIMIT": "0"}, "rate_limit"),
    ({"ACCUKNOX_LOG_TYPE": "everything"}, "log_type"),
    ({"ACCUKNOX_MAP": "splunk"}, "map"),
    ({"ACCUKNOX_ES_MODE": "fast"}, "es_mode"),
    ({"ACCUKNOX_SEVERITY_PRESET": "loud"}, "severity_preset"),
    ({"ACCUKNOX_INSECURE": "maybe"}, "insecure"),
])
def test_invalid_values_name_the_setting_and_source(env, setting) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(dict(BASE), environ=env)
    msg = str(info.value)
    assert msg.startswith(setting) and f"ACCUKNOX_{setting.upper()}" in msg


def test_required_settings() -> None:
    with pytest.raises(ConfigError, match="^url: .*ACCUKNOX_URL"):
        resolve({"tenant_id": "1"}, environ={})
    with pytest.raises(ConfigError, match="^tenant_id: .*--tenant-id"):
        resolve({"url": "https://x.example.com"}, environ={})


def test_unknown_toml_key_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting 'pagesize'"):
        resolve(dict(BASE), environ={}, config_path=toml(tmp_path, "pagesize = 5\n"))
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve(dict(BASE), environ={}, config_path=toml(tmp_path, "url = \n"))
    with pytest.raises(ConfigError, match="cannot read"):
        resolve(dict(BASE), environ={}, config_path=str(tmp_path / "missing.toml"))


def test_proxy() -> None:
    assert proxies_for("http://proxy:3128") == {"https": "http://proxy:3128", "http": "http://proxy:3128"}
    assert proxies_for(None) is None
    with pytest.raises(ConfigError, match="^proxy"):
        proxies_for("proxy:3128")


# --------------------------------------------------------------------------- secrets

@pytest.mark.parametrize("key", ["token", "password", "api_key", "hec_token", "es_password", "es_api_key",
                                 "accuknox_token", "secret"])
def test_secrets_are_refused_in_toml_without_echoing_them(tmp_path: Path, key: str) -> None:
    path = toml(tmp_path, f'url = "https://x.example.com"\ntenant_id = "1"\n{key} = "{MARKER}"\n')
    with pytest.raises(ConfigError) as info:
        resolve({}, environ={}, config_path=path)
    msg = str(info.value)
    assert "secrets do not belong in config files" in msg and f"{key}_env" in msg
    assert MARKER not in msg


@pytest.mark.parametrize("setting", ["token_env", "hec_token_env", "es_api_key_env", "es_password_env"])
def test_a_secret_pasted_where_a_variable_name_belongs_is_refused_silently(setting: str) -> None:
    pasted = "eyJhbGciOi." + MARKER + ".sig"
    for flags, env in ((dict(BASE, **{setting: pasted}), {}),
                       (dict(BASE), {f"ACCUKNOX_{setting.upper()}": pasted})):
        with pytest.raises(ConfigError) as info:
            resolve(flags, environ=env)
        assert str(info.value).startswith(setting)
        assert MARKER not in str(info.value)


def test_token_comes_from_the_named_variable_only() -> None:
    cfg = resolve(dict(BASE, token_env="MY_TOKEN"), environ={})
    assert cfg.token({"MY_TOKEN": f"  {MARKER}\n"}) == MARKER
    with pytest.raises(ConfigError) as info:
        cfg.token({"ACCUKNOX_TOKEN": MARKER})
    assert "MY_TOKEN" in str(info.value) and MARKER not in str(info.value)
    assert MARKER not in repr(cfg.__dict__)
