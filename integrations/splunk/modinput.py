"""The ``accuknox_alerts`` modular input of the Splunk app, as plain Python.

The app's UCC-generated script ``bin/accuknox_alerts.py`` (a splunklib
``modularinput.Script``) calls ``bin/accuknox_alerts_helper.py``, which calls
:func:`validate_definition` and :func:`stream_events` here. This module is
vendored into the app's ``lib/`` by the build and imported directly by tests.

One run of one input stanza (``accuknox_alerts://<name>``):

1. logging: ``$SPLUNK_HOME/var/log/splunk/ta_accuknox_accuknox_alerts.log``
   plus ``LEVEL message`` lines on stderr (splunkd copies them into
   ``splunkd.log``), at the level of the app's Logging tab; every secret the
   run knows (session key, API token, proxy password) is replaced by ``***``
   in every record before it is written;
2. configuration: the stanza parameters → :class:`InputConfig` →
   :class:`~integrations.poller.runner.PollSettings` (``view="raw"``: each
   event is the AccuKnox row exactly as received); the account (API URL,
   tenant, token, TLS settings) and the proxy come from a
   :class:`ConfigSource` – in the app :class:`SplunkdConfigSource`, which reads
   the add-on's conf files and ``storage/passwords`` through splunkd's REST API
   (``server_uri`` and ``session_key`` of the input document) with solnlib's
   ``ConfManager``; tests inject a :class:`StaticConfigSource` or point
   ``server_uri`` at a fake splunkd;
3. :meth:`Poller.run_once <integrations.poller.runner.Poller.run_once>` with an
   :class:`~integrations.poller.client.AlertsClient` (proxy and CA bundle
   applied) and a :class:`ModInputSink`, the checkpoint in
   ``<checkpoint_dir>/<input name>.json``
   (:class:`~integrations.poller.checkpoint.CheckpointStore`);
4. a summary line (INFO when complete, ERROR when the run stopped early: the
   checkpoint then covers exactly what was written).

:class:`ModInputSink` writes each :class:`~integrations.model.Delivery` as one
``<event>`` of splunklib's XML stream: sourcetype ``accuknox:kubearmor:alert``
or ``accuknox:kubearmor:log`` (from ``Delivery.stream``), ``time`` =
``Delivery.time``, ``host`` = ``Delivery.host`` (the KubeArmor node), ``index``
from the stanza, ``source`` = ``accuknox:<input name>``, ``data`` = the event
JSON. ``send`` returns once every event was written and flushed to splunkd's
pipe, which is the confirmation the poller needs before it journals the batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import logging.handlers
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, TextIO
from urllib.parse import quote, urlsplit

from integrations.errors import ConfigError, IntegrationError, SinkError
from integrations.model import Delivery
from integrations.poller.checkpoint import CheckpointStore
from integrations.poller.client import LOG_TYPES, MAX_PAGE_SIZE, AlertsClient, _check_filters
from integrations.poller.runner import Poller, PollSettings, RunSummary
from integrations.poller.urlpolicy import check_url
from integrations.sinks.base import SendResult, Sink

__all__ = [
    "ACCOUNT_CONF",
    "ADDON",
    "KIND",
    "SETTINGS_CONF",
    "SOURCETYPES",
    "Account",
    "ConfigSource",
    "InputConfig",
    "ModInputSink",
    "ProxySettings",
    "SplunkdConfigSource",
    "StaticConfigSource",
    "checkpoint_path",
    "parse_filters",
    "run_input",
    "stream_events",
    "validate_definition",
]

#: App id, modular input kind, and the conf files UCC generates for them.
ADDON = "TA-accuknox"
KIND = "accuknox_alerts"
ACCOUNT_CONF = "ta_accuknox_account"
SETTINGS_CONF = "ta_accuknox_settings"
LOG_FILE = "ta_accuknox_accuknox_alerts.log"
#: ``Delivery.stream`` -> sourcetype (cim-mapping.md section 5).
SOURCETYPES = {"alert": "accuknox:kubearmor:alert", "log": "accuknox:kubearmor:log"}
#: What UCC stores in a conf file in place of an encrypted field (current, legacy).
ENCRYPTED_PLACEHOLDERS = frozenset({"******", "********"})

#: Stanza parameter -> (default, minimum, maximum); the same ranges as globalConfig.json.
INT_PARAMS = {
    "lookback": (86400, 0, 30 * 86400),
    "overlap": (600, 0, 86400),
    "lag": (60, 0, 3600),
    "page_size": (MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE),
}
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING, "WARNING": logging.WARNING,
           "ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL, "FATAL": logging.CRITICAL}
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off", ""})
_FILTER_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(!=|=~|=)\s*(.*?)\s*$")
_LIST_SPLIT = re.compile(r"[,\n]")
#: Characters XML 1.0 cannot carry (JSON already escapes the C0 controls).
_XML_UNSAFE = re.compile("[\ud800-\udfff\ufffe\uffff]")

log = logging.getLogger("integrations.splunk.modinput")


# --------------------------------------------------------------------------- parameters

def _bool(value: Any, name: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "":
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


def _int(params: Mapping[str, Any], name: str) -> int:
    default, low, high = INT_PARAMS[name]
    value = params.get(name)
    if value is None or str(value).strip() == "":
        return default
    text = str(value).strip()
    if not text.isdigit():
        raise ConfigError(f"{name}: expected a whole number from {low} to {high}, got {value!r}")
    number = int(text)
    if not low <= number <= high:
        raise ConfigError(f"{name}: expected a whole number from {low} to {high}, got {number}")
    return number


def _str_list(value: Any, name: str) -> List[str]:
    if value is None:
        return []
    out = []
    for item in _LIST_SPLIT.split(str(value)):
        item = item.strip()
        if not item:
            continue
        if any(c.isspace() for c in item):
            raise ConfigError(f"{name}: {item!r} contains a space; separate values with commas")
        out.append(item)
    return out


def parse_filters(text: Optional[str]) -> List[Dict[str, str]]:
    """``"Action=Block, Severity!=2, PolicyName=~ksp-*"`` -> the API's ``Filters`` list.

    ``Field=Value`` is ``match``, ``Field!=Value`` is ``ne``, ``Field=~Pattern``
    is ``pattern``; items are separated by commas or line breaks. The API's own
    rules apply (``Severity`` only with ``=`` and a value from 1 to 10).
    """
    out = []
    for item in _LIST_SPLIT.split(text or ""):
        if not item.strip():
            continue
        m = _FILTER_RE.match(item)
        if not m or not m.group(3):
            raise ConfigError(
                f"filters: {item.strip()!r} is not Field=Value, Field!=Value or Field=~Pattern "
                "(for example Action=Block)"
            )
        field, op, value = m.groups()
        out.append({"field": field, "value": value, "op": {"=": "match", "!=": "ne", "=~": "pattern"}[op]})
    try:
        return _check_filters(out)
    except ConfigError as exc:
        raise ConfigError(f"filters: {exc}") from None


class InputConfig:
    """The parameters of one ``accuknox_alerts://<name>`` stanza, checked."""

    __slots__ = ("name", "account", "index", "lookback", "overlap", "lag", "page_size", "cluster_ids",
                 "namespaces", "filters", "log_type")

    def __init__(self, name: str, account: str, *, index: Optional[str] = None, lookback: int = 86400,
                 overlap: int = 600, lag: int = 60, page_size: int = MAX_PAGE_SIZE,
                 cluster_ids: Sequence[str] = (), namespaces: Sequence[str] = (),
                 filters: Sequence[Dict[str, str]] = (), log_type: str = "active") -> None:
        self.name = name
        self.account = account
        self.index = index
        self.lookback = lookback
        self.overlap = overlap
        self.lag = lag
        self.page_size = page_size
        self.cluster_ids = tuple(cluster_ids)
        self.namespaces = tuple(namespaces)
        self.filters = tuple(filters)
        self.log_type = log_type

    @classmethod
    def from_params(cls, name: str, params: Mapping[str, Any]) -> InputConfig:
        """Check the stanza parameters; :class:`ConfigError` names the parameter at fault."""
        if not name or not str(name).strip():
            raise ConfigError("name: the input needs a name")
        account = str(params.get("account") or "").strip()
        if not account:
            raise ConfigError("account: choose the AccuKnox account this input polls with")
        index = str(params.get("index") or "").strip()
        log_type = str(params.get("log_type") or "active").strip().lower()
        if log_type not in LOG_TYPES:
            raise ConfigError(f"log_type: expected one of {', '.join(sorted(LOG_TYPES))}, got {log_type!r}")
        return cls(
            str(name).strip(), account,
            index=None if index in ("", "default") else index,
            lookback=_int(params, "lookback"), overlap=_int(params, "overlap"), lag=_int(params, "lag"),
            page_size=_int(params, "page_size"),
            cluster_ids=_str_list(params.get("cluster_ids"), "cluster_ids"),
            namespaces=_str_list(params.get("namespaces"), "namespaces"),
            filters=parse_filters(params.get("filters")), log_type=log_type,
        )

    def poll_settings(self) -> PollSettings:
        """The poller settings of this stanza (``view="raw"``: events are the rows as received)."""
        return PollSettings(
            lookback=self.lookback, overlap=self.overlap, lag=self.lag, page_size=self.page_size, view="raw",
            cluster_ids=self.cluster_ids, namespaces=self.namespaces, filters=self.filters, log_type=self.log_type,
        )

    def __repr__(self) -> str:
        return (f"InputConfig({self.name!r}, account={self.account!r}, index={self.index!r}, "
                f"lookback={self.lookback}, overlap={self.overlap}, lag={self.lag}, page_size={self.page_size}, "
                f"cluster_ids={list(self.cluster_ids)}, namespaces={list(self.namespaces)}, "
                f"filters={list(self.filters)}, log_type={self.log_type!r})")


class Account:
    """An AccuKnox account stanza of ``ta_accuknox_account.conf`` with its decrypted token."""

    __slots__ = ("name", "api_url", "tenant_id", "_token", "verify_ssl", "ca_bundle")

    def __init__(self, name: str, api_url: str, tenant_id: str, token: str, *, verify_ssl: bool = True,
                 ca_bundle: Optional[str] = None) -> None:
        self.name = name
        self.api_url = api_url
        self.tenant_id = tenant_id
        self._token = token
        self.verify_ssl = verify_ssl
        self.ca_bundle = ca_bundle

    @property
    def token(self) -> str:
        return self._token

    @classmethod
    def from_conf(cls, name: str, conf: Mapping[str, Any]) -> Account:
        """Check an account stanza (``api_url``, ``tenant_id``, ``api_token``, ``verify_ssl``, ``ca_bundle``)."""
        where = f"account {name!r}"
        url = str(conf.get("api_url") or "").strip()
        if not url:
            raise ConfigError(f"{where}: api_url is empty; set the AccuKnox API base URL (https://...)")
        scheme = urlsplit(url).scheme.lower()
        if scheme != "https":
            host = urlsplit(url).hostname or "?"
            raise ConfigError(
                f"{where}: api_url must start with https:// (got {scheme or 'no scheme'}:// for host {host}); "
                "plain http is not accepted"
            )
        url = check_url(url, setting=f"{where}: api_url")
        tenant = str(conf.get("tenant_id") or "").strip()
        if not tenant:
            raise ConfigError(f"{where}: tenant_id is empty; set the AccuKnox tenant (workspace) id")
        token = conf.get("api_token")
        if not isinstance(token, str) or not token.strip() or token.strip() in ENCRYPTED_PLACEHOLDERS:
            raise ConfigError(
                f"{where}: the API token is not in Splunk's password storage; edit the account and enter it again"
            )
        verify = _bool(conf.get("verify_ssl"), f"{where}: verify_ssl", True)
        ca_bundle = str(conf.get("ca_bundle") or "").strip() or None
        if ca_bundle is not None:
            ca_bundle = os.path.expandvars(ca_bundle)
            if not os.path.isabs(ca_bundle):
                raise ConfigError(f"{where}: ca_bundle must be an absolute path, got {ca_bundle!r}")
            if not verify:
                raise ConfigError(f"{where}: ca_bundle is set but verify_ssl is off; turn verification on")
            if not os.path.isfile(ca_bundle):
                raise ConfigError(f"{where}: ca_bundle {ca_bundle!r} is not a readable file on this Splunk server")
        return cls(name, url, tenant, token.strip(), verify_ssl=verify, ca_bundle=ca_bundle)

    def __repr__(self) -> str:
        return (f"Account({self.name!r}, api_url={self.api_url!r}, tenant_id={self.tenant_id!r}, "
                f"token=<redacted>, verify_ssl={self.verify_ssl}, ca_bundle={self.ca_bundle!r})")


class ProxySettings:
    """The ``[proxy]`` stanza of ``ta_accuknox_settings.conf`` as requests' ``proxies``."""

    __slots__ = ("kind", "host", "port", "username", "_password", "rdns")

    SCHEMES = {"http": "http", "socks4": "socks4", "socks5": "socks5"}

    def __init__(self, kind: str, host: str, port: int, username: str = "", password: str = "",
                 rdns: bool = False) -> None:
        self.kind = kind
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.rdns = rdns

    @classmethod
    def from_conf(cls, conf: Mapping[str, Any]) -> Optional[ProxySettings]:
        """None when the proxy is disabled; :class:`ConfigError` when it is enabled but incomplete."""
        if not _bool(conf.get("proxy_enabled"), "proxy_enabled", False):
            return None
        kind = str(conf.get("proxy_type") or "http").strip().lower()
        if kind not in cls.SCHEMES:
            raise ConfigError(f"proxy: proxy_type must be one of {', '.join(cls.SCHEMES)}, got {kind!r}")
        host = str(conf.get("proxy_url") or "").strip()
        if not host:
            raise ConfigError("proxy: enabled, but the proxy host is empty")
        if "://" in host or "/" in host or "@" in host:
            raise ConfigError("proxy: the host must be a name or an IP address, without scheme, path or user")
        port_text = str(conf.get("proxy_port") or "").strip()
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ConfigError(f"proxy: proxy_port must be a number from 1 to 65535, got {port_text!r}")
        username = str(conf.get("proxy_username") or "")
        password = conf.get("proxy_password") or ""
        if password in ENCRYPTED_PLACEHOLDERS:
            raise ConfigError("proxy: the proxy password is not in Splunk's password storage; enter it again")
        return cls(kind, host.strip("[]"), int(port_text), username, str(password),
                   _bool(conf.get("proxy_rdns"), "proxy_rdns", False))

    def url(self) -> str:
        scheme = self.SCHEMES[self.kind]
        if self.rdns and scheme in ("socks4", "socks5"):
            scheme += "a" if scheme == "socks4" else "h"
        auth = ""
        if self.username:
            auth = quote(self.username, safe="")
            if self._password:
                auth += ":" + quote(self._password, safe="")
            auth += "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{auth}{host}:{self.port}"

    def proxies(self) -> Dict[str, str]:
        url = self.url()
        return {"http": url, "https": url}

    def describe(self) -> str:
        """For logs: scheme, host and port, never the password."""
        user = f" user={self.username}" if self.username else ""
        return f"{self.kind}://{self.host}:{self.port}{user}{' rdns' if self.rdns else ''}"

    def __repr__(self) -> str:
        return f"ProxySettings({self.describe()!r})"


# --------------------------------------------------------------------------- configuration sources

class ConfigSource:
    """Where a run reads its account and the add-on settings (a small interface for tests)."""

    def account(self, name: str) -> Dict[str, Any]:
        """The account stanza with encrypted fields decrypted; :class:`ConfigError` if it does not exist."""
        raise NotImplementedError

    def settings(self, stanza: str) -> Dict[str, Any]:
        """A stanza of ``ta_accuknox_settings.conf`` (``logging``, ``proxy``); ``{}`` if absent."""
        raise NotImplementedError


class StaticConfigSource(ConfigSource):
    """Accounts and settings given as dicts (tests, and running the input outside Splunk)."""

    def __init__(self, accounts: Optional[Mapping[str, Mapping[str, Any]]] = None,
                 settings: Optional[Mapping[str, Mapping[str, Any]]] = None) -> None:
        self._accounts = {k: dict(v) for k, v in (accounts or {}).items()}
        self._settings = {k: dict(v) for k, v in (settings or {}).items()}

    def account(self, name: str) -> Dict[str, Any]:
        try:
            return dict(self._accounts[name])
        except KeyError:
            raise ConfigError(f"account {name!r} does not exist; add it on the add-on's Configuration page") from None

    def settings(self, stanza: str) -> Dict[str, Any]:
        return dict(self._settings.get(stanza, {}))


class SplunkdConfigSource(ConfigSource):
    """Reads the add-on's conf files and ``storage/passwords`` through splunkd's REST API.

    Uses solnlib's ``ConfManager`` (as UCC add-ons do) with the scheme, host
    and port of the input's ``server_uri`` and its ``session_key``, so the same
    code runs inside splunkd and against a fake splunkd in tests (solnlib only
    needs a Splunk installation when no address is given). ``ConfManager``
    decrypts the fields UCC stored encrypted (the API token, the proxy
    password) and reassembles values UCC split into several password entries.
    """

    def __init__(self, server_uri: str, session_key: str, app: str = ADDON) -> None:
        parts = urlsplit(server_uri or "")
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError(f"server_uri: expected splunkd's https://host:port, got {server_uri!r}")
        if not session_key:
            raise ConfigError("session_key: splunkd passed no session key")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._session_key = session_key
        self._app = app
        self._confs: Dict[str, Any] = {}

    def _conf(self, conf_name: str) -> Any:
        if conf_name not in self._confs:
            from solnlib import conf_manager

            cfm = conf_manager.ConfManager(
                self._session_key, self._app, scheme=self._scheme, host=self._host, port=self._port,
                realm=f"__REST_CREDENTIAL__#{self._app}#configs/conf-{conf_name}",
            )
            try:
                self._confs[conf_name] = cfm.get_conf(conf_name)
            except conf_manager.ConfManagerException:
                self._confs[conf_name] = None
        return self._confs[conf_name]

    def _stanza(self, conf_name: str, stanza: str) -> Optional[Dict[str, Any]]:
        from solnlib import conf_manager

        try:
            conf = self._conf(conf_name)
            if conf is None:
                return None
            data = conf.get(stanza)
        except conf_manager.ConfStanzaNotExistException:
            return None
        except Exception as exc:  # noqa: BLE001 - splunklib/requests/solnlib errors: one clear message
            raise ConfigError(
                f"cannot read {conf_name}.conf [{stanza}] from splunkd at {self._scheme}://{self._host}:{self._port}: "
                f"{_describe(exc)}"
            ) from None
        return {k: v for k, v in dict(data).items() if not k.startswith("eai:") and k != "disabled"}

    def account(self, name: str) -> Dict[str, Any]:
        data = self._stanza(ACCOUNT_CONF, name)
        if data is None:
            raise ConfigError(f"account {name!r} does not exist; add it on the add-on's Configuration page")
        return data

    def settings(self, stanza: str) -> Dict[str, Any]:
        return self._stanza(SETTINGS_CONF, stanza) or {}


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    if status == 401:
        return "HTTP 401: splunkd rejected the session key"
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------- events

def _xml_safe_json(body: Any) -> str:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    return _XML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class ModInputSink(Sink):
    """Writes deliveries as events of splunklib's XML stream (``EventWriter``).

    ``send`` returns when every event of the batch was written and flushed to
    stdout (splunkd's pipe); a closed pipe raises ``SinkError`` (not
    retryable: splunkd is gone, the next run resends from the checkpoint).
    """

    name = "splunk-modinput"

    def __init__(self, event_writer: Any, *, stanza: str, index: Optional[str] = None,
                 source: Optional[str] = None) -> None:
        from splunklib.modularinput import Event

        self._event = Event
        self._writer = event_writer
        self._stanza = stanza
        self._index = index or None
        self._source = source
        self.written = 0

    def send(self, batch: Sequence[Delivery]) -> SendResult:
        Event = self._event
        write = self._writer.write_event
        try:
            for d in batch:
                write(Event(
                    data=_xml_safe_json(d.body), stanza=self._stanza, time=f"{d.time:.3f}",
                    host=d.host or None, index=self._index, source=self._source,
                    sourcetype=SOURCETYPES[d.stream], done=True, unbroken=True,
                ))
                self.written += 1
            out = getattr(self._writer, "_out", None)
            if out is not None:
                out.flush()
        except BrokenPipeError as exc:
            raise SinkError("splunkd closed the modular input's stdout", retryable=False) from exc
        except (OSError, ValueError) as exc:
            raise SinkError(f"writing events to splunkd failed: {exc}", retryable=False) from exc
        return SendResult(delivered=len(batch))

    def __repr__(self) -> str:
        return f"ModInputSink({self._stanza!r}, index={self._index!r}, source={self._source!r})"


def checkpoint_path(checkpoint_dir: str, input_name: str) -> Path:
    """``<checkpoint_dir>/<input name>.json`` (unsafe characters replaced, then a hash suffix added)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", input_name).lstrip(".") or "_"
    if safe != input_name:
        safe += "-" + hashlib.sha256(input_name.encode("utf-8")).hexdigest()[:10]
    return Path(checkpoint_dir) / f"{safe}.json"


# --------------------------------------------------------------------------- logging

class _Redact(logging.Filter):
    """Replaces every known secret in a record (message, arguments, traceback) by ``***``."""

    def __init__(self, input_name: str) -> None:
        super().__init__()
        self.input_name = input_name
        self.secrets: List[str] = []

    def add(self, secret: Any) -> None:
        if isinstance(secret, str) and len(secret.strip()) >= 4 and secret not in self.secrets:
            self.secrets.append(secret)
            stripped = secret.strip()
            if stripped != secret:
                self.secrets.append(stripped)
            quoted = quote(secret, safe="")
            if quoted != secret:
                self.secrets.append(quoted)

    def scrub(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.input_name = self.input_name
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        if record.stack_info:
            message += "\n" + record.stack_info
            record.stack_info = None
        record.msg = self.scrub(message)
        record.args = None
        return True


class _StderrFormatter(logging.Formatter):
    """``LEVEL message`` on one line: what splunkd expects from a modular input's stderr."""

    NAMES = {"WARNING": "WARN", "CRITICAL": "FATAL"}

    def format(self, record: logging.LogRecord) -> str:
        level = self.NAMES.get(record.levelname, record.levelname)
        text = " ".join(record.getMessage().split())
        return f"{level} input={getattr(record, 'input_name', '?')} {record.name}: {text}"


class InputLogging:
    """The logging of one run: stderr plus the add-on's log file, with secrets redacted.

    Handlers go on the root logger (the package, solnlib and urllib3 log
    there) and are removed by :meth:`close`. ``log_dir`` defaults to
    ``$SPLUNK_HOME/var/log/splunk``; without ``SPLUNK_HOME`` only stderr is used.
    """

    def __init__(self, input_name: str, *, stream: Optional[TextIO] = None, log_dir: Optional[str] = None,
                 level: int = logging.INFO) -> None:
        self.redact = _Redact(input_name)
        self.handlers: List[logging.Handler] = []
        err = logging.StreamHandler(stream if stream is not None else sys.stderr)
        err.setFormatter(_StderrFormatter())
        self.handlers.append(err)
        if log_dir is None and os.environ.get("SPLUNK_HOME"):
            log_dir = os.path.join(os.environ["SPLUNK_HOME"], "var", "log", "splunk")
        self.path: Optional[str] = None
        if log_dir:
            try:
                os.makedirs(log_dir, exist_ok=True)
                self.path = os.path.join(log_dir, LOG_FILE)
                fh = logging.handlers.RotatingFileHandler(self.path, maxBytes=25 * 1024 * 1024, backupCount=5,
                                                          encoding="utf-8", delay=True)
                fh.setFormatter(logging.Formatter(
                    "%(asctime)s %(levelname)s pid=%(process)d input=%(input_name)s %(name)s: %(message)s"))
                self.handlers.append(fh)
            except OSError as exc:
                err.handle(logging.makeLogRecord({"msg": f"cannot open the log file in {log_dir}: {exc}",
                                                  "levelno": logging.WARNING, "levelname": "WARNING",
                                                  "name": log.name, "input_name": input_name}))
        root = logging.getLogger()
        self._saved_level = root.level
        for h in self.handlers:
            h.addFilter(self.redact)
            root.addHandler(h)
        self.set_level(level)

    def set_level(self, level: Any) -> None:
        if isinstance(level, str):
            level = _LEVELS.get(level.strip().upper(), logging.INFO)
        logging.getLogger().setLevel(level)
        logging.getLogger("integrations").setLevel(level)

    def add_secret(self, secret: Any) -> None:
        self.redact.add(secret)

    def close(self) -> None:
        root = logging.getLogger()
        for h in self.handlers:
            root.removeHandler(h)
            try:
                h.flush()
                h.close()
            except (OSError, ValueError):
                pass
        root.setLevel(self._saved_level)
        logging.getLogger("integrations").setLevel(logging.NOTSET)


# --------------------------------------------------------------------------- entry points

SourceFactory = Callable[[Mapping[str, Any]], ConfigSource]


def _default_source(metadata: Mapping[str, Any]) -> ConfigSource:
    return SplunkdConfigSource(str(metadata.get("server_uri") or ""), str(metadata.get("session_key") or ""))


def validate_definition(definition: Any, *, source_factory: SourceFactory = _default_source) -> None:
    """``--validate-arguments``: check the stanza and the account it names.

    ``definition`` is splunklib's ``ValidationDefinition`` (``.metadata`` with
    ``name``, ``server_uri``, ``session_key``; ``.parameters``). Raises
    :class:`ConfigError` with a message splunkd shows to the user.
    """
    metadata = definition.metadata
    config = InputConfig.from_params(str(metadata.get("name") or ""), definition.parameters)
    source = source_factory(metadata)
    Account.from_conf(config.account, source.account(config.account))
    ProxySettings.from_conf(source.settings("proxy"))


def stream_events(inputs: Any, event_writer: Any, **kwargs: Any) -> Dict[str, Optional[RunSummary]]:
    """Run every stanza of splunklib's ``InputDefinition`` once (see :func:`run_input`)."""
    results = {}
    for stanza, params in inputs.inputs.items():
        _kind, _sep, name = stanza.partition("://")
        results[stanza] = run_input(name or stanza, params, inputs.metadata, event_writer, **kwargs)
    return results


def run_input(
    name: str,
    params: Mapping[str, Any],
    metadata: Mapping[str, Any],
    event_writer: Any,
    *,
    source_factory: SourceFactory = _default_source,
    client_factory: Callable[..., Any] = AlertsClient,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    stream: Optional[TextIO] = None,
    log_dir: Optional[str] = None,
) -> Optional[RunSummary]:
    """One poll of one stanza; returns the run summary, or None when the configuration is unusable.

    Never raises for configuration, API, sink or checkpoint trouble: it is
    logged at ERROR (stderr and the log file) and the checkpoint keeps what was
    confirmed before. ``metadata`` holds ``server_uri``, ``session_key`` and
    ``checkpoint_dir`` as splunkd sends them.
    """
    logs = InputLogging(name, stream=stream, log_dir=log_dir)
    logs.add_secret(metadata.get("session_key"))
    try:
        source = source_factory(metadata)
        try:
            level = source.settings("logging").get("loglevel") or "INFO"
        except IntegrationError as exc:
            log.warning("cannot read the log level (%s); using INFO", exc)
            level = "INFO"
        logs.set_level(level)
        config = InputConfig.from_params(name, params)
        account_conf = source.account(config.account)
        logs.add_secret(account_conf.get("api_token"))
        proxy_conf = source.settings("proxy")
        logs.add_secret(proxy_conf.get("proxy_password"))
        account = Account.from_conf(config.account, account_conf)
        proxy = ProxySettings.from_conf(proxy_conf)
        checkpoint_dir = str(metadata.get("checkpoint_dir") or "").strip()
        if not checkpoint_dir:
            raise ConfigError("checkpoint_dir: splunkd passed no checkpoint directory")
        store = CheckpointStore(checkpoint_path(checkpoint_dir, name))
        client = client_factory(
            account.api_url, account.tenant_id, account.token,
            proxies=proxy.proxies() if proxy else None, ca_bundle=account.ca_bundle, verify=account.verify_ssl,
            sleep=sleep,
        )
        sink = ModInputSink(event_writer, stanza=f"{KIND}://{name}", index=config.index, source=f"accuknox:{name}")
        log.info("start: api=%s tenant=%s account=%s proxy=%s index=%s checkpoint=%s settings=%r",
                 account.api_url, account.tenant_id, account.name, proxy.describe() if proxy else "none",
                 config.index or "(stanza default)", store.path, config)
        poller = Poller(client, sink, store, None, config.poll_settings(),  # type: ignore[arg-type]
                        dead_letter=_log_dead_letter, clock=clock, sleep=sleep)
        try:
            summary = poller.run_once()
        finally:
            close = getattr(client, "close", None)
            if callable(close):
                close()
        if summary.complete:
            log.info("%s; events_written=%d", summary.line(), sink.written)
        else:
            log.error("%s; events_written=%d; the checkpoint keeps the last confirmed position",
                      summary.line(), sink.written)
        return summary
    except IntegrationError as exc:
        log.error("run not started: %s", exc)
        return None
    except Exception:  # noqa: BLE001 - a bug must reach splunkd.log, redacted, without killing other stanzas
        log.exception("run failed with an unexpected error")
        return None
    finally:
        logs.close()


def _log_dead_letter(record: Dict[str, Any]) -> None:
    log.warning("event rejected at %s: %s", record.get("location"), record.get("reason"))
