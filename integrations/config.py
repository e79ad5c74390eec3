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
    "prefetch_pages": ("int", 1),
    "severity_preset": ("str", None),
    # sink options
    "hec_token_env": ("str", "SPLUNK_HEC_TOKEN"),
    "hec_index": ("str", None),
    "hec_ack": ("bool", False),
    "hec_ack_timeout": ("duration", 300),
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
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf) from a TOML float
        raise ConfigError(f"{where}: cannot read {value!r} as {kind}") from None
    raise ConfigError(f"{where}: unknown setting type {kind}")  # pragma: no cover


#: settings naming an environment variable that holds a secret (never the secret itself)
SECRET_ENV_SETTINGS = ("token_env", "hec_token_env", "es_api_key_env", "es_password_env")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: keys that would put a secret itself into a config file
_SECRET_KEY = re.compile(r"(^|_)(token|password|passwd|secret|api_key|apikey)$")
#: settings with a fixed set of values
CHOICES: Dict[str, Tuple[str, ...]] = {
    "map": ("ecs", "cim", "raw"),
    "log_type": ("active", "suppressed", "all"),
    "es_mode": ("pipeline", "ecs"),
    "severity_preset": ("higher_is_worse", "accuknox_ui"),
}
#: whole-number settings: (lowest, highest or None)
INT_RANGES: Dict[str, Tuple[int, Optional[int]]] = {
    "page_size": (1, 100),
    "batch_size": (1, None),
    "max_pages": (1, None),
    "prefetch_pages": (0, 8),
}


def load_toml(path: str) -> Dict[str, Any]:
    """Read a TOML config file; the settings live at top level or under ``[pull]``."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # tomllib decodes the whole file as UTF-8 first
        raise ConfigError(f"config: {path} is not valid TOML: not UTF-8 text (byte {exc.start})") from None
    section = data.get("pull", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config: {path}: [pull] must be a table")
    out = {}
    for key, value in section.items():
        name = key.replace("-", "_")
        if _SECRET_KEY.search(name.lower()):
            # never echo the value: it is a secret
            raise ConfigError(f"config: {path}: {key!r}: secrets do not belong in config files; "
                              f"set {name}_env to the name of an environment variable holding it instead")
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
        # "not set" is None, an empty list (repeatable flags) or False (store_true
        # flags); 0 is a value (``0 in (None, [], False)`` would be True).
        if flag is not None and flag is not False and not (isinstance(flag, list) and not flag):
            values[name], sources[name] = _coerce(name, kind, flag, f"--{name.replace('_', '-')}"), "flag"
        elif env.get(env_name, "") != "":
            values[name], sources[name] = _coerce(name, kind, env[env_name], env_name), "env"
        elif name in file_values:
            values[name], sources[name] = _coerce(name, kind, file_values[name], config_path or "config"), "config"
        else:
            values[name], sources[name] = default, "default"
    for name, allowed in CHOICES.items():
        value = values.get(name)
        if value is not None and value not in allowed:
            raise ConfigError(f"{name} (from {_origin(name, sources, config_path)}): expected one of "
                              f"{', '.join(allowed)}, got {value!r}")
    for name, (low, high) in INT_RANGES.items():
        value = values.get(name)
        if value is not None and (value < low or (high is not None and value > high)):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ConfigError(f"{name} (from {_origin(name, sources, config_path)}): expected a whole number "
                              f"{bound}, got {value}")
    if values.get("max_window") is not None and values["max_window"] < 1:
        raise ConfigError(f"max_window (from {_origin('max_window', sources, config_path)}): must be at least 1s")
    if values.get("rate_limit") is not None and not values["rate_limit"] > 0:
        raise ConfigError(f"rate_limit (from {_origin('rate_limit', sources, config_path)}): expected a positive "
                          f"number of requests per second, got {values['rate_limit']}")
    for name in SECRET_ENV_SETTINGS:
        value = values.get(name)
        if value is not None and not _ENV_NAME.match(value):
            # Never echo it: a token pasted here by mistake must not reach the terminal or logs.
            raise ConfigError(f"{name} (from {_origin(name, sources, config_path)}): expected the NAME of an "
                              "environment variable (letters, digits and _), not its value; did you paste the "
                              "secret itself? Export it and give the variable's name instead")
    if not values.get("url"):
        raise ConfigError("url: the AccuKnox API base URL is required (--url, ACCUKNOX_URL or the config file)")
    if not values.get("tenant_id"):
        raise ConfigError("tenant_id: the AccuKnox tenant id is required (--tenant-id, ACCUKNOX_TENANT_ID "
                          "or the config file)")
    values["filters"] = [parse_filter(f) for f in values.pop("filter")]
    return PullConfig(values, sources)


def _origin(name: str, sources: Mapping[str, str], config_path: Optional[str]) -> str:
    """Where a setting came from, for messages: ``--page-size``, ``ACCUKNOX_PAGE_SIZE``, the file, default."""
    src = sources.get(name)
    if src == "flag":
        return f"--{name.replace('_', '-')}"
    if src == "env":
        return f"ACCUKNOX_{name.upper()}"
    if src == "config":
        return config_path or "config"
    return "default"


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
