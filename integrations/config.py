"""Settings of ``accuknox-siem pull`` from flags, ``ACCUKNOX_*`` variables and a TOML file.

Precedence: command-line flag > environment variable > config file > default.
Secrets are never settings: the config names the *environment variable* that
holds the token (``token_env``), so a config file can be shared and committed.

Consumes: parsed argparse flags, ``os.environ``, an optional TOML file.
Produces: a :class:`PullConfig` with validated values (errors name the setting
and where it came from).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Dict, List, Mapping, Optional, Tuple

from integrations.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10
    import tomli as tomllib

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any, setting: str) -> int:
    """``"24h"``, ``"10m"``, ``"90s"``, ``600`` -> seconds; ``ConfigError`` naming the setting otherwise."""
    if isinstance(value, bool):
        raise ConfigError(f"{setting}: expected a duration such as 10m, 24h or 600, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(f"{setting}: a duration cannot be negative")
        return value
    m = _DURATION.match(str(value))
    if not m:
        raise ConfigError(f"{setting}: expected a duration such as 10m, 24h or 600, got {value!r}")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def parse_filter(text: str) -> Dict[str, str]:
    """``Action=Block`` -> match filter; ``Action!=Audit`` -> ne; ``PodName~=nginx.*`` -> pattern."""
    for op, api_op in (("!=", "ne"), ("~=", "pattern"), ("=", "match")):
        if op in text:
            field, _, value = text.partition(op)
            if field.strip() and value.strip():
                return {"field": field.strip(), "value": value.strip(), "op": api_op}
    raise ConfigError(f"filter: expected FIELD=VALUE, FIELD!=VALUE or FIELD~=PATTERN, got {text!r}")


#: setting -> (type, default); the type drives parsing from env/TOML strings
SETTINGS: Dict[str, Tuple[str, Any]] = {
    "url": ("str", None),
    "tenant_id": ("str", None),
    "token_env": ("str", "ACCUKNOX_TOKEN"),
    "sink": ("str", "file:./accuknox-out"),
    "state": ("str", "./accuknox-state.json"),
    "interval": ("duration", None),
    "lookback": ("duration", 24 * 3600),
    "overlap": ("duration", 600),
    "lag": ("duration", 60),
    "max_window": ("duration", 3600),
    "page_size": ("int", 100),
    "batch_size": ("int", 1000),
    "cluster_id": ("list", []),
    "namespace": ("list", []),
    "filter": ("list", []),
    "log_type": ("str", "active"),
    "map": ("str", "ecs"),
    "dead_letter": ("str", None),
    "ca_bundle": ("str", None),
    "proxy": ("str", None),
    "insecure": ("bool", False),
    "rate_limit": ("float", None),
    "max_pages": ("int", None),
    "severity_preset": ("str", None),
    # sink options
    "hec_token_env": ("str", "SPLUNK_HEC_TOKEN"),
    "hec_index": ("str", None),
    "hec_ack": ("bool", False),
    "es_api_key_env": ("str", None),
    "es_user": ("str", None),
    "es_password_env": ("str", None),
    "es_namespace": ("str", "default"),
    "es_mode": ("str", None),
}


class PullConfig:
    """Resolved pull settings; attribute per :data:`SETTINGS` key, plus ``sources`` (where each came from)."""

    def __init__(self, values: Dict[str, Any], sources: Dict[str, str]) -> None:
        self.__dict__.update(values)
        self.sources = sources

    def token(self, environ: Mapping[str, str] | None = None) -> str:
        """The AccuKnox token from the variable named by ``token_env`` (never logged)."""
        env = os.environ if environ is None else environ
        name = self.token_env
        value = env.get(name, "")
        if not value.strip():
            raise ConfigError(f"token: the environment variable {name} is not set or empty "
                              f"(export {name}=<AccuKnox access token>, or choose another with --token-env)")
        return value.strip()


def _coerce(name: str, kind: str, value: Any, origin: str) -> Any:
    where = f"{name} (from {origin})"
    if value is None:
        return None
    try:
        if kind == "str":
            return str(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            low = str(value).strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off", ""):
                return False
            raise ValueError
        if kind == "duration":
            return parse_duration(value, where)
        if kind == "list":
            if isinstance(value, (list, tuple)):
                return [str(v) for v in value]
            return [v.strip() for v in str(value).split(",") if v.strip()]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: cannot read {value!r} as {kind}") from None
    raise ConfigError(f"{where}: unknown setting type {kind}")  # pragma: no cover


def load_toml(path: str) -> Dict[str, Any]:
    """Read a TOML config file; the settings live at top level or under ``[pull]``."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path} is not valid TOML: {exc}") from None
    section = data.get("pull", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config: {path}: [pull] must be a table")
    out = {}
    for key, value in section.items():
        name = key.replace("-", "_")
        if name in ("token", "password", "api_key"):
            raise ConfigError(f"config: {path}: secrets do not belong in config files; "
                              f"set {name}_env to the name of an environment variable instead")
        if name not in SETTINGS:
            raise ConfigError(f"config: {path}: unknown setting {key!r}; known: {', '.join(sorted(SETTINGS))}")
        out[name] = value
    return out


def resolve(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None,
            config_path: Optional[str] = None) -> PullConfig:
    """Merge flags > ``ACCUKNOX_<NAME>`` env > TOML file > defaults into a :class:`PullConfig`."""
    env = os.environ if environ is None else environ
    file_values = load_toml(config_path) if config_path else {}
    values: Dict[str, Any] = {}
    sources: Dict[str, str] = {}
    for name, (kind, default) in SETTINGS.items():
        flag = flags.get(name)
        env_name = f"ACCUKNOX_{name.upper()}"
        if flag not in (None, [], False):
            values[name], sources[name] = _coerce(name, kind, flag, f"--{name.replace('_', '-')}"), "flag"
        elif env.get(env_name, "") != "":
            values[name], sources[name] = _coerce(name, kind, env[env_name], env_name), "env"
        elif name in file_values:
            values[name], sources[name] = _coerce(name, kind, file_values[name], config_path or "config"), "config"
        else:
            values[name], sources[name] = default, "default"
    if values["map"] not in ("ecs", "cim", "raw"):
        raise ConfigError(f"map: expected ecs, cim or raw, got {values['map']!r}")
    if not values.get("url"):
        raise ConfigError("url: the AccuKnox API base URL is required (--url, ACCUKNOX_URL or the config file)")
    if not values.get("tenant_id"):
        raise ConfigError("tenant_id: the AccuKnox tenant id is required (--tenant-id, ACCUKNOX_TENANT_ID "
                          "or the config file)")
    values["filters"] = [parse_filter(f) for f in values.pop("filter")]
    return PullConfig(values, sources)


def proxies_for(proxy: Optional[str]) -> Optional[Dict[str, str]]:
    """``--proxy URL`` -> a requests proxies mapping for both schemes."""
    if not proxy:
        return None
    if "://" not in proxy:
        raise ConfigError(f"proxy: expected a URL such as http://proxy:3128, got {proxy!r}")
    return {"https": proxy, "http": proxy}


def list_settings() -> List[str]:
    """Setting names, for help texts."""
    return sorted(SETTINGS)
