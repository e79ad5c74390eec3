"""``accuknox-siem elastic setup|roles``: install the Elasticsearch (and Kibana) assets; print roles.

``setup`` installs what ``elastic_ingest/`` holds (ILM policies, ``@package``
component templates, ingest pipelines, index templates, optionally data streams
and the Kibana objects) through :mod:`integrations.elastic.setup` and prints one
line per asset: created / updated / unchanged / would create / would update.
A second run prints "unchanged" for everything. ``--dry-run`` only reads
(``GET``) and prints the plan. The elasticsearch 8.x client used here talks to
Elasticsearch 8.x and 9.x servers (the 9.x client would not talk to 8.x).

``roles`` prints least-privilege role definitions as JSON (setup user, poller
API key, Kibana import).

Exit status: 0 done (or nothing to do), 2 usage or setup error (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Dict, Optional, Tuple, Union

from integrations import __version__
from integrations.errors import ConfigError

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``elastic``."""
    sub = p.add_subparsers(dest="elastic_command", metavar="ACTION")
    s = sub.add_parser("setup", help="install ILM policies, templates, ingest pipelines (and data streams, Kibana "
                       "objects) into Elasticsearch", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--url", required=True, help="Elasticsearch URL (https://; http:// only for loopback)")
    auth = s.add_mutually_exclusive_group(required=True)
    auth.add_argument("--api-key-env", metavar="VAR",
                      help="environment variable holding the API key (encoded, or id:key)")
    auth.add_argument("--user", metavar="NAME", help="user for basic authentication (password from --password-env)")
    s.add_argument("--password-env", metavar="VAR", default="ELASTICSEARCH_PASSWORD",
                   help="environment variable holding the password (default ELASTICSEARCH_PASSWORD)")
    s.add_argument("--ca-cert", metavar="PATH", help="CA certificate (PEM) to verify the server with")
    s.add_argument("--insecure", action="store_true",
                   help="do not verify TLS certificates (test clusters only; logs a warning)")
    s.add_argument("--namespace", default="default",
                   help="data stream namespace for --create-data-streams / --rollover (default: default)")
    s.add_argument("--retention-alerts", type=int, metavar="DAYS", help="delete alert indices DAYS after rollover "
                   "(default 90)")
    s.add_argument("--retention-logs", type=int, metavar="DAYS", help="delete log indices DAYS after rollover "
                   "(default 30)")
    s.add_argument("--priority", type=int, metavar="N", help="index template priority (default 200; must differ "
                   "from any other template matching logs-accuknox.*-*)")
    s.add_argument("--create-data-streams", action="store_true",
                   help="create logs-accuknox.{alert,log}-<namespace> now (otherwise the first write creates them)")
    s.add_argument("--rollover", action="store_true",
                   help="roll over existing data streams of the namespace whose templates changed, so the new "
                        "pipeline applies at once")
    s.add_argument("--allow-downgrade", action="store_true",
                   help="replace assets that a newer package version installed")
    s.add_argument("--kibana-url", metavar="URL", help="also import the data view and dashboards into this Kibana")
    s.add_argument("--kibana-space", metavar="SPACE", help="Kibana space (default: the default space)")
    s.add_argument("--dry-run", action="store_true", help="read only: print what would be done")
    s.add_argument("--timeout", type=float, default=30.0, help="request timeout in seconds (default 30)")
    s.set_defaults(_elastic=_setup)

    r = sub.add_parser("roles", help="print least-privilege role definitions (JSON)")
    r.add_argument("--kibana-space", metavar="SPACE", default="default", help="space for the Kibana role")
    r.set_defaults(_elastic=_roles)


def run(args: argparse.Namespace) -> int:
    fn = getattr(args, "_elastic", None)
    if fn is None:
        print("accuknox-siem elastic: choose an action: setup or roles", file=sys.stderr)
        return 2
    return int(fn(args) or 0)


# --------------------------------------------------------------------------- helpers


def _credentials(args: argparse.Namespace, env: Optional[Dict[str, str]] = None
                 ) -> Tuple[Union[str, Tuple[str, str], None], Optional[Tuple[str, str]], str]:
    """``(api_key, basic_auth, description)``; the description never contains the secret."""
    env = dict(os.environ) if env is None else env
    if args.api_key_env:
        key = (env.get(args.api_key_env) or "").strip()
        if not key:
            raise ConfigError(f"--api-key-env: environment variable {args.api_key_env} is not set or empty")
        api_key: Union[str, Tuple[str, str]] = key
        if ":" in key:
            ident, secret = key.split(":", 1)
            api_key = (ident, secret)
        return api_key, None, f"the API key from {args.api_key_env}"
    password = env.get(args.password_env) or ""
    if not password:
        raise ConfigError(f"--password-env: environment variable {args.password_env} is not set or empty")
    return None, (args.user, password), f"user {args.user!r} (password from {args.password_env})"


def _retention(args: argparse.Namespace) -> Dict[str, int]:
    out = {}
    if args.retention_alerts is not None:
        out["alert"] = args.retention_alerts
    if args.retention_logs is not None:
        out["log"] = args.retention_logs
    return out


# --------------------------------------------------------------------------- actions


def _setup(args: argparse.Namespace) -> int:
    import elastic_ingest
    from integrations.elastic.setup import ElasticSetupError, SetupOptions, connect, run_setup

    api_key, basic_auth, credential = _credentials(args)
    if args.ca_cert and not os.path.isfile(args.ca_cert):
        raise ConfigError(f"--ca-cert: {args.ca_cert} is not a file")
    if args.insecure:
        log.warning("elastic setup: TLS certificate verification is OFF (--insecure); use only with test clusters")
    options = SetupOptions(namespace=args.namespace, retention=_retention(args), priority=args.priority,
                           create_data_streams=args.create_data_streams, rollover=args.rollover,
                           dry_run=args.dry_run, allow_downgrade=args.allow_downgrade)
    try:
        assets = elastic_ingest.load_assets()
        manifest = elastic_ingest.load_manifest()
    except elastic_ingest.AssetError as exc:
        raise ElasticSetupError(str(exc)) from None
    version = str(manifest.get("version") or __version__)
    client = connect(args.url, api_key=api_key, basic_auth=basic_auth, ca_certs=args.ca_cert,
                     verify_certs=not args.insecure, request_timeout=args.timeout)
    prefix = "elastic setup (dry run)" if args.dry_run else "elastic setup"
    try:
        result = run_setup(client, assets, options, url=args.url, version=version, credential=credential,
                           on_action=lambda a: print(a.line(), flush=True))
    finally:
        client.close()
    print(f"{prefix}: Elasticsearch {result.server.number} at {args.url}, assets version {version}")
    if not result.changed:
        print(f"{prefix}: no change ({len(result.actions)} assets unchanged)")
    else:
        counts: Dict[str, int] = {}
        for a in result.actions:
            counts[a.status] = counts.get(a.status, 0) + 1
        print(f"{prefix}: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
        if not args.rollover and any(a.kind in ("component_template", "index_template")
                                     and a.status in ("updated", "would update") for a in result.actions):
            print(f"{prefix}: existing data streams keep their settings until they roll over "
                  "(--rollover, or POST <data stream>/_rollover)")
    if args.kibana_url:
        _kibana(args, api_key, basic_auth, credential, prefix)
    return 0


def _kibana(args: argparse.Namespace, api_key: Any, basic_auth: Any, credential: str, prefix: str) -> None:
    import elastic_ingest
    from integrations.elastic.kibana import import_saved_objects, object_count
    from integrations.poller.urlpolicy import check_url

    ndjson = elastic_ingest.kibana_ndjson()
    if args.dry_run:
        check_url(args.kibana_url, setting="--kibana-url")
        print(f"{'would import':<14} {'kibana_objects':<19} {object_count(ndjson)} saved objects "
              f"into {args.kibana_url}")
        return
    n = import_saved_objects(args.kibana_url, ndjson, api_key=api_key, basic_auth=basic_auth,
                             ca_certs=args.ca_cert, verify_certs=not args.insecure, space=args.kibana_space,
                             timeout=max(args.timeout, 60.0), credential=credential)
    print(f"{'imported':<14} {'kibana_objects':<19} {n} saved objects into {args.kibana_url} (overwrite)")
    print(f"{prefix}: Kibana data view and dashboards imported")


def _roles(args: argparse.Namespace) -> int:
    import elastic_ingest
    from integrations.elastic.roles import role_definitions

    try:
        pattern = str(elastic_ingest.load_manifest()["privilege_pattern"])
    except (elastic_ingest.AssetError, KeyError) as exc:
        raise ConfigError(f"elastic roles: cannot read the packaged manifest: {exc}") from None
    print(json.dumps(role_definitions(pattern, args.kibana_space), indent=2, sort_keys=True))
    return 0
