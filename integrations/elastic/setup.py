"""Install the Elasticsearch assets: ILM policies, templates, ingest pipelines, data streams.

Consumes: the packaged assets (``elastic_ingest.load_assets()``, committed JSON -
no ECS reference or definition is needed at install time), a connected
``elasticsearch.Elasticsearch`` client (8.x client: it talks to 8.x and 9.x
servers; a 9.x client would fail against 8.x, ``ecs-mapping.md`` §9) and
:class:`SetupOptions`. Produces: a :class:`SetupResult` (one :class:`Action` per
asset: created / updated / unchanged / would create / would update ...). It never
writes files; the CLI prints the actions.

Order (``ecs-mapping.md`` §8): ILM policies -> component templates (our
``@package`` ones only; ``@custom`` templates are never read, created or
changed) -> ingest pipelines (common first) -> index templates -> data streams
(optional). Every asset is read first (``GET``) and only written when it
differs: each body carries ``_meta.managed_by``, ``_meta.version`` and
``_meta.content_sha256`` (a digest of the body as we send it, computed at
install time so ``--retention-*`` and ``--priority`` count as content), and the
digest of what the cluster holds is compared with ours. Elasticsearch normalises
what it stores (string settings, default ``data_stream`` flags, ``min_age``), so
comparing whole bodies would report changes that are not there. A second run
therefore answers "unchanged" for everything and sends no ``PUT``. An upgrade
creates the new versioned pipelines next to the old ones (running data streams
keep using the old ones until they roll over) and updates the templates.
Installed assets of a newer package version are not replaced unless
``allow_downgrade`` is set.

Server requirements (checked with ``GET /`` before anything else): Elasticsearch
(``X-Elastic-Product`` header; OpenSearch is refused with the reason),
version :data:`MIN_SERVER_VERSION` or later and below :data:`MAX_SERVER_MAJOR`
+ 1, not Serverless (no ILM there). Why 8.10: the index templates rely on
``ignore_missing_component_templates`` for the optional ``@custom`` hook, which the
Elasticsearch reference documents in 8.10 (``ecs-mapping.md`` §8: "documented at
least since Elasticsearch 8.10"); composable templates, data
streams and the ``match_only_text``/``wildcard``/``constant_keyword``/``flattened``
field types all predate it. Accepting only versions whose documentation covers
every feature the assets use beats discovering a half-installed set on an older
cluster. (The 8.x client itself needs an 8.x server: a 7.x node rejects its
``compatible-with=8`` header, reported as an unsupported server.)

Errors: :class:`ElasticSetupError` and its subclasses, each naming the host, the
request and what to do (TLS options, credentials, the missing privilege as
Elasticsearch names it, the version found).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TlsError, TransportError
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    Elasticsearch,
    NotFoundError,
    UnsupportedProductError,
)

from elastic_ingest import Asset
from integrations.errors import ConfigError, IntegrationError
from integrations.poller.urlpolicy import check_url

log = logging.getLogger(__name__)

__all__ = [
    "Action", "AssetRejected", "AuthenticationFailed", "ConnectionFailed", "DowngradeRefused", "ElasticSetupError",
    "MAX_SERVER_MAJOR", "MIN_SERVER_VERSION", "MissingPipeline", "MissingPrivilege", "SetupOptions", "SetupResult",
    "ServerInfo", "TlsFailed", "UnsupportedServer", "connect", "prepare_assets", "run_setup", "server_info",
]

MIN_SERVER_VERSION: Tuple[int, int, int] = (8, 10, 0)
MAX_SERVER_MAJOR = 9
MANAGED_BY = "accuknox-siem"
HASH_KEY = "content_sha256"
_NAMESPACE_RE = re.compile(r"^[a-z0-9_.]{1,100}$")
_GRANTED_BY = re.compile(r"this action is granted by the (cluster|index) privileges \[([^\]]*)\]")
_ACTION_RE = re.compile(r"action \[([^\]]+)\] is unauthorized")

#: What each request needs when Elasticsearch's 403 body does not say (ecs-mapping.md "Security privileges").
_PRIVILEGE_OF = {
    "info": ("cluster", "monitor"),
    "ilm_policy": ("cluster", "manage_ilm"),
    "component_template": ("cluster", "manage_index_templates"),
    "index_template": ("cluster", "manage_index_templates"),
    "ingest_pipeline": ("cluster", "manage_pipeline"),
    "data_stream": ("index", "manage"),
}

# --------------------------------------------------------------------------- errors


class ElasticSetupError(IntegrationError):
    """Root of the setup's errors; the message names the host, the request and the remedy."""


class ConnectionFailed(ElasticSetupError):
    """No HTTP conversation with the host (refused, unreachable, DNS, timeout)."""


class TlsFailed(ConnectionFailed):
    """The TLS handshake failed (unknown CA, wrong host name, plain HTTP port)."""


class AuthenticationFailed(ElasticSetupError):
    """401: the credentials were refused."""


class MissingPrivilege(ElasticSetupError):
    """403: the user or API key lacks a privilege; ``privilege`` is the least one that grants it."""

    def __init__(self, message: str, scope: str, privilege: str, alternatives: Sequence[str]) -> None:
        self.scope = scope
        self.privilege = privilege
        self.alternatives = list(alternatives)
        super().__init__(message)


class UnsupportedServer(ElasticSetupError):
    """Not Elasticsearch (OpenSearch ...), too old or too new a version, or Serverless."""


class AssetRejected(ElasticSetupError):
    """Elasticsearch refused an asset (400 with its own reason)."""


class MissingPipeline(ElasticSetupError):
    """A component template names a default pipeline that is neither packaged nor installed."""


class DowngradeRefused(ElasticSetupError):
    """The cluster holds assets of a newer package version."""


# --------------------------------------------------------------------------- data


class SetupOptions:
    """What ``accuknox-siem elastic setup`` can change at install time."""

    def __init__(self, *, namespace: str = "default", retention: Optional[Mapping[str, int]] = None,
                 priority: Optional[int] = None, create_data_streams: bool = False, rollover: bool = False,
                 dry_run: bool = False, allow_downgrade: bool = False) -> None:
        if not _NAMESPACE_RE.match(namespace or ""):
            raise ConfigError(f"--namespace {namespace!r}: lower case letters, digits, '_' or '.' (no '-'), "
                              "at most 100 characters")
        for stream, days in (retention or {}).items():
            if not isinstance(days, int) or days < 1:
                raise ConfigError(f"--retention-{stream}s: a positive number of days, got {days!r}")
        if priority is not None and not (0 <= int(priority) <= 2_147_483_647):
            raise ConfigError(f"--priority {priority}: a non-negative integer")
        self.namespace = namespace
        self.retention = dict(retention or {})
        self.priority = priority
        self.create_data_streams = create_data_streams
        self.rollover = rollover
        self.dry_run = dry_run
        self.allow_downgrade = allow_downgrade


class Action:
    """What happened (or would happen) to one asset."""

    __slots__ = ("kind", "name", "status", "detail")

    def __init__(self, kind: str, name: str, status: str, detail: str = "") -> None:
        self.kind = kind
        self.name = name
        self.status = status  # created | updated | unchanged | would create | would update | rolled over ...
        self.detail = detail

    @property
    def changed(self) -> bool:
        return self.status not in ("unchanged", "exists")

    def __repr__(self) -> str:
        return f"Action({self.kind}, {self.name}, {self.status})"

    def line(self) -> str:
        return f"{self.status:<14} {self.kind:<19} {self.name}" + (f"  ({self.detail})" if self.detail else "")


class ServerInfo:
    """``GET /``: version and flavour."""

    def __init__(self, number: str, flavor: str, name: str = "") -> None:
        self.number = number
        self.flavor = flavor
        self.name = name
        self.version = _version_tuple(number)

    def __repr__(self) -> str:
        return f"ServerInfo({self.number}, {self.flavor})"


class SetupResult:
    def __init__(self, server: ServerInfo, actions: List[Action], dry_run: bool) -> None:
        self.server = server
        self.actions = actions
        self.dry_run = dry_run

    @property
    def changed(self) -> bool:
        return any(a.changed for a in self.actions)


# --------------------------------------------------------------------------- helpers


def _version_tuple(text: str) -> Tuple[int, ...]:
    nums = []
    for part in re.split(r"[.\-+]", str(text)):
        if not part.isdigit():
            break
        nums.append(int(part))
    return tuple(nums)


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _meta_holder(kind: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """Where ``_meta`` lives in a request body (inside ``policy`` for ILM)."""
    if kind == "ilm_policy":
        return body.setdefault("policy", {})
    return body


def content_hash(kind: str, body: Mapping[str, Any]) -> str:
    """sha256 of the body without its own ``_meta.content_sha256``."""
    clean = copy.deepcopy(dict(body))
    _meta_holder(kind, clean).get("_meta", {}).pop(HASH_KEY, None)
    return hashlib.sha256(_canonical(clean)).hexdigest()


def prepare_assets(assets: Iterable[Asset], options: SetupOptions, version: str) -> List[Asset]:
    """Apply the install-time options and stamp ``_meta`` (managed_by, version, content digest)."""
    out = []
    for asset in assets:
        body = copy.deepcopy(asset.body)
        if asset.kind == "ilm_policy" and asset.stream in options.retention:
            phases = body.setdefault("policy", {}).setdefault("phases", {})
            phases.setdefault("delete", {"actions": {"delete": {}}})["min_age"] = f"{options.retention[asset.stream]}d"
        if asset.kind == "index_template" and options.priority is not None:
            body["priority"] = int(options.priority)
        meta = _meta_holder(asset.kind, body).setdefault("_meta", {})
        meta["managed_by"] = MANAGED_BY
        meta.setdefault("version", version)
        meta.pop(HASH_KEY, None)
        meta[HASH_KEY] = content_hash(asset.kind, body)
        out.append(asset._replace(body=body))
    return out


def _err_reason(exc: ApiError) -> Tuple[str, str]:
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error")
    if isinstance(err, dict):
        root = (err.get("root_cause") or [err])[0]
        return str(root.get("type") or err.get("type") or "error"), str(root.get("reason") or err.get("reason") or "")
    return "error", str(err or exc.message or exc)


def _privilege_error(exc: ApiError, what: str, kind: str, credential: str) -> MissingPrivilege:
    _etype, reason = _err_reason(exc)
    m = _GRANTED_BY.search(reason)
    action = _ACTION_RE.search(reason)
    if m:
        scope = m.group(1)
        granted = [p.strip() for p in m.group(2).split(",") if p.strip()]
    else:
        scope, least = _PRIVILEGE_OF.get(kind, ("cluster", "?"))
        granted = [least]
    least = granted[0] if granted else "?"
    msg = (f"Elasticsearch denied {what} to {credential}: missing the {scope} privilege {least}"
           + (f" (any of {', '.join(granted)} grants it)" if len(granted) > 1 else "")
           + (f"; action {action.group(1)}" if action else "")
           + ". `accuknox-siem elastic roles` prints a role with everything the setup needs.")
    return MissingPrivilege(msg, scope, least, granted)


class _Caller:
    """Runs client calls and turns transport/API failures into setup errors."""

    def __init__(self, client: Elasticsearch, url: str, credential: str) -> None:
        self.client = client
        self.url = url
        self.credential = credential

    def __call__(self, what: str, kind: str, fn: Callable[[], Any], *, missing_ok: bool = False) -> Any:
        try:
            return fn()
        except NotFoundError:
            if missing_ok:
                return None
            raise AssetRejected(f"{what} on {self.url}: 404 not found") from None
        except UnsupportedProductError as exc:
            raise _unsupported_product(self.url, exc.body) from None
        except AuthenticationException:
            raise AuthenticationFailed(
                f"{self.url} refused {self.credential} (401) on {what}: check the credential and that it is "
                "not expired") from None
        except AuthorizationException as exc:
            raise _privilege_error(exc, what, kind, self.credential) from None
        except ApiError as exc:
            etype, reason = _err_reason(exc)
            if etype == "media_type_header_exception":
                raise UnsupportedServer(
                    f"{self.url} refused the client's compatibility header on {what} ({reason}); the elasticsearch "
                    f"8.x client this package uses talks to Elasticsearch 8.x and 9.x servers only") from None
            raise AssetRejected(f"{what} on {self.url} failed: {exc.meta.status} {etype}: {reason}") from None
        except TlsError as exc:
            raise TlsFailed(
                f"TLS handshake with {self.url} failed on {what}: {exc}. Pass the cluster's CA with --ca-cert PATH "
                "(or, for a test cluster only, --insecure)") from None
        except ConnectionTimeout as exc:
            raise ConnectionFailed(f"{self.url} did not answer {what} in time: {exc}") from None
        except TransportConnectionError as exc:
            raise ConnectionFailed(f"cannot connect to {self.url} ({what}): {exc}") from None
        except TransportError as exc:
            raise ConnectionFailed(f"{what} to {self.url} failed: {type(exc).__name__}: {exc}") from None


def _unsupported_product(url: str, body: Any) -> UnsupportedServer:
    version = body.get("version", {}) if isinstance(body, dict) else {}
    dist = str(version.get("distribution", "")) if isinstance(version, dict) else ""
    found = "a server that is not Elasticsearch"
    if dist == "opensearch":
        found = f"OpenSearch {version.get('number', '')}".strip()
    return UnsupportedServer(
        f"{url} is {found} (no `X-Elastic-Product: Elasticsearch` header). OpenSearch is not supported: the "
        "official elasticsearch client refuses it, and the assets need ILM (OpenSearch has ISM), and the "
        "match_only_text, wildcard, constant_keyword and flattened field types, which OpenSearch lacks "
        "(it has flat_object). Use an Elasticsearch 8.x or 9.x cluster.")


# --------------------------------------------------------------------------- client


def connect(url: str, *, api_key: Union[str, Tuple[str, str], None] = None,
            basic_auth: Optional[Tuple[str, str]] = None, ca_certs: Optional[str] = None,
            verify_certs: bool = True, request_timeout: float = 30.0) -> Elasticsearch:
    """An 8.x client for ``url`` (https, or http to loopback only)."""
    url = check_url(url, setting="--url")
    kw: Dict[str, Any] = {"request_timeout": request_timeout, "max_retries": 1, "retry_on_timeout": False}
    if api_key is not None:
        kw["api_key"] = api_key
    elif basic_auth is not None:
        kw["basic_auth"] = basic_auth
    if url.startswith("https://"):
        kw["verify_certs"] = verify_certs
        if ca_certs:
            kw["ca_certs"] = ca_certs
        if not verify_certs:
            kw["ssl_show_warn"] = False
    return Elasticsearch(url, **kw)


def server_info(client: Elasticsearch, url: str, credential: str = "the credentials") -> ServerInfo:
    """``GET /`` and the version / product checks."""
    call = _Caller(client, url, credential)
    resp = call("GET /", "info", client.info)
    body = resp.body if hasattr(resp, "body") else resp
    version = body.get("version", {}) if isinstance(body, dict) else {}
    info = ServerInfo(str(version.get("number", "0")), str(version.get("build_flavor", "default")),
                      str(body.get("cluster_name", "")))
    if version.get("distribution") == "opensearch":
        raise _unsupported_product(url, body)
    if info.flavor == "serverless":
        raise UnsupportedServer(
            f"{url} is Elastic Cloud Serverless: it has no ILM, which these assets use (a data stream lifecycle "
            "would be needed instead); use a hosted or self-managed Elasticsearch 8.x/9.x deployment")
    if info.version[:3] < MIN_SERVER_VERSION:
        raise UnsupportedServer(
            f"{url} runs Elasticsearch {info.number}; the assets need {'.'.join(map(str, MIN_SERVER_VERSION))} or "
            "later (index templates with ignore_missing_component_templates for the optional @custom hook)")
    if info.version and info.version[0] > MAX_SERVER_MAJOR:
        raise UnsupportedServer(
            f"{url} runs Elasticsearch {info.number}; the elasticsearch 8.x client talks to 8.x and 9.x servers only")
    return info


# --------------------------------------------------------------------------- reading and writing assets


def _get(client: Elasticsearch, call: _Caller, asset: Asset) -> Optional[Dict[str, Any]]:
    """The installed body's ``_meta`` holder (``None`` when the asset is not installed)."""
    kind, name = asset.kind, asset.name
    if kind == "ilm_policy":
        resp = call(f"GET _ilm/policy/{name}", kind, lambda: client.ilm.get_lifecycle(name=name), missing_ok=True)
        return None if resp is None else (resp.body.get(name) or {}).get("policy") or {}
    if kind == "component_template":
        resp = call(f"GET _component_template/{name}", kind,
                    lambda: client.cluster.get_component_template(name=name), missing_ok=True)
        items = [] if resp is None else resp.body.get("component_templates") or []
        return items[0].get("component_template") or {} if items else None
    if kind == "ingest_pipeline":
        resp = call(f"GET _ingest/pipeline/{name}", kind, lambda: client.ingest.get_pipeline(id=name),
                    missing_ok=True)
        return None if resp is None or name not in resp.body else resp.body[name]
    if kind == "index_template":
        resp = call(f"GET _index_template/{name}", kind, lambda: client.indices.get_index_template(name=name),
                    missing_ok=True)
        items = [] if resp is None else resp.body.get("index_templates") or []
        return items[0].get("index_template") or {} if items else None
    raise ValueError(f"unknown asset kind {kind!r}")


def _put(client: Elasticsearch, call: _Caller, asset: Asset) -> None:
    kind, name, body = asset.kind, asset.name, asset.body
    if kind == "ilm_policy":
        call(f"PUT _ilm/policy/{name}", kind, lambda: client.ilm.put_lifecycle(name=name, body=body))
    elif kind == "component_template":
        if name.endswith("@custom"):  # never, whatever the asset list says
            raise ValueError(f"refusing to write the user's {name}")
        call(f"PUT _component_template/{name}", kind,
             lambda: client.cluster.put_component_template(name=name, body=body))
    elif kind == "ingest_pipeline":
        call(f"PUT _ingest/pipeline/{name}", kind, lambda: client.ingest.put_pipeline(id=name, body=body))
    elif kind == "index_template":
        call(f"PUT _index_template/{name}", kind, lambda: client.indices.put_index_template(name=name, body=body))
    else:
        raise ValueError(f"unknown asset kind {kind!r}")


def _plan_one(asset: Asset, installed: Optional[Dict[str, Any]], version: str, allow_downgrade: bool
              ) -> Tuple[str, str]:
    """``(create|update|unchanged, detail)`` for one asset."""
    if installed is None:
        return "create", ""
    meta = installed.get("_meta") if isinstance(installed.get("_meta"), dict) else {}
    ours = _meta_holder(asset.kind, copy.deepcopy(asset.body))["_meta"]
    if meta.get(HASH_KEY) == ours[HASH_KEY]:
        return "unchanged", ""
    if meta.get("managed_by") != MANAGED_BY:
        return "update", "replacing an asset not managed by accuknox-siem"
    theirs = str(meta.get("version", ""))
    if theirs and _version_tuple(theirs) > _version_tuple(version):
        if not allow_downgrade:
            raise DowngradeRefused(
                f"{asset.kind} {asset.name} on the cluster is version {theirs}, newer than this package ({version}); "
                "upgrade accuknox-siem, or pass --allow-downgrade to replace it")
        return "update", f"downgrade {theirs} -> {version}"
    if theirs and theirs != version:
        return "update", f"{theirs} -> {version}"
    return "update", "content changed"


def _default_pipelines(assets: Sequence[Asset]) -> Dict[str, str]:
    out = {}
    for a in assets:
        if a.kind == "component_template":
            settings = a.body.get("template", {}).get("settings", {})
            idx = settings.get("index", {}) if isinstance(settings.get("index"), dict) else {}
            pipeline = idx.get("default_pipeline") or settings.get("index.default_pipeline")
            if pipeline:
                out[a.name] = str(pipeline)
    return out


def _data_stream_names(assets: Sequence[Asset], namespace: str) -> List[Tuple[str, Optional[str], str]]:
    """``(data stream, stream, index template)`` for each index template pattern ``<prefix>-*``."""
    out = []
    for a in assets:
        if a.kind == "index_template":
            for pattern in a.body.get("index_patterns", []):
                if pattern.endswith("-*"):
                    out.append((pattern[:-1] + namespace, a.stream, a.name))
    return out


_DONE = {"create": "created", "update": "updated", "unchanged": "unchanged"}
_WOULD = {"create": "would create", "update": "would update", "unchanged": "unchanged"}


def run_setup(client: Elasticsearch, assets: Sequence[Asset], options: SetupOptions, *, url: str, version: str,
              credential: str = "the credentials",
              on_action: Optional[Callable[[Action], None]] = None) -> SetupResult:
    """Check the server, then install ``assets`` (already in setup order) as ``options`` say."""
    report = on_action or (lambda a: None)
    call = _Caller(client, url, credential)
    info = server_info(client, url, credential)
    prepared = prepare_assets(assets, options, version)
    if any(a.kind == "component_template" and a.name.endswith("@custom") for a in prepared):
        raise ValueError("the asset list must not contain @custom templates")

    # plan: read everything first (a dry run stops after this)
    plan: List[Tuple[Asset, str, str]] = []
    for asset in prepared:
        step, detail = _plan_one(asset, _get(client, call, asset), version, options.allow_downgrade)
        plan.append((asset, step, detail))
    packaged = {a.name for a in prepared if a.kind == "ingest_pipeline"}
    for template, pipeline in _default_pipelines(prepared).items():
        if pipeline not in packaged and _get(client, call, Asset("ingest_pipeline", pipeline, {})) is None:
            raise MissingPipeline(
                f"component template {template} sets index.default_pipeline {pipeline}, which is neither in the "
                "package (elastic_ingest/ingest_pipelines/) nor on the cluster; render the ingest pipelines "
                "(`accuknox-siem render`) before installing")

    actions: List[Action] = []
    changed_streams = set()
    for asset, step, detail in plan:
        if step != "unchanged" and not options.dry_run:
            _put(client, call, asset)
        if step != "unchanged" and asset.kind in ("component_template", "index_template"):
            changed_streams.add(asset.stream)  # what a backing index takes at creation
        action = Action(asset.kind, asset.name, (_WOULD if options.dry_run else _DONE)[step], detail)
        actions.append(action)
        report(action)

    if options.create_data_streams or options.rollover:
        for name, stream, template in _data_stream_names(prepared, options.namespace):
            for action in _data_stream(client, call, name, template, options, stream in changed_streams):
                actions.append(action)
                report(action)
    return SetupResult(info, actions, options.dry_run)


def _data_stream(client: Elasticsearch, call: _Caller, name: str, template: str, options: SetupOptions,
                 template_changed: bool) -> List[Action]:
    kind = "data_stream"
    resp = call(f"GET _data_stream/{name}", kind, lambda: client.indices.get_data_stream(name=name), missing_ok=True)
    exists = resp is not None and bool(resp.body.get("data_streams"))
    if not exists:
        if not options.create_data_streams:
            return []
        if not options.dry_run:
            call(f"PUT _data_stream/{name}", kind, lambda: client.indices.create_data_stream(name=name))
        return [Action(kind, name, "would create" if options.dry_run else "created", f"index template {template}")]
    if options.rollover and template_changed:
        if not options.dry_run:
            call(f"POST {name}/_rollover", kind, lambda: client.indices.rollover(alias=name))
        return [Action(kind, name, "would roll over" if options.dry_run else "rolled over",
                       "the new write index uses the updated templates and pipeline")]
    detail = ("the updated templates apply at its next rollover; --rollover does it now"
              if template_changed else "")
    return [Action(kind, name, "exists", detail)]
