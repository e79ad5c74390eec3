"""Import the packaged Kibana saved objects (data view and dashboards).

Consumes: the ``.ndjson`` file shipped in ``elastic_ingest/kibana/`` (written by
``integrations.render.kibana``), a Kibana URL (https, or http to loopback) and
the same credential the Elasticsearch setup uses. Produces: the number of
objects Kibana imported, or a :class:`KibanaImportFailed` naming the objects it
refused and why.

``POST /api/saved_objects/_import?overwrite=true`` (multipart field ``file``,
header ``kbn-xsrf: true``); ``/s/<space>/...`` for a space other than the
default. ``overwrite`` makes a re-run replace our objects (stable ids) instead of
failing with conflicts. The objects are in the Kibana 8.8+ export format
(``coreMigrationVersion`` 8.8.0): Kibana 8.8 and later, 8.x and 9.x, migrate
them forward on import.
"""

from __future__ import annotations

import base64
from typing import Any, Dict, List, Optional, Tuple, Union

import requests

from integrations.elastic.setup import AuthenticationFailed, ConnectionFailed, ElasticSetupError, TlsFailed
from integrations.poller.urlpolicy import check_url

__all__ = ["KibanaImportFailed", "import_saved_objects", "object_count"]


class KibanaImportFailed(ElasticSetupError):
    """Kibana answered the import with an error or refused some objects."""


def object_count(ndjson: bytes) -> int:
    return sum(1 for line in ndjson.splitlines() if line.strip())


def _auth(api_key: Union[str, Tuple[str, str], None], basic_auth: Optional[Tuple[str, str]]
          ) -> Tuple[Dict[str, str], Optional[Tuple[str, str]]]:
    if api_key is not None:
        if isinstance(api_key, tuple):
            api_key = base64.b64encode(f"{api_key[0]}:{api_key[1]}".encode()).decode()
        return {"Authorization": f"ApiKey {api_key}"}, None
    return {}, basic_auth


def import_saved_objects(kibana_url: str, ndjson: bytes, *, api_key: Union[str, Tuple[str, str], None] = None,
                         basic_auth: Optional[Tuple[str, str]] = None, ca_certs: Optional[str] = None,
                         verify_certs: bool = True, space: Optional[str] = None, timeout: float = 60.0,
                         credential: str = "the credentials", session: Optional[requests.Session] = None) -> int:
    """Import ``ndjson`` into Kibana; returns the number of objects imported."""
    base = check_url(kibana_url, setting="--kibana-url")
    path = f"/s/{space}/api/saved_objects/_import" if space and space != "default" else "/api/saved_objects/_import"
    url = f"{base}{path}"
    headers, auth = _auth(api_key, basic_auth)
    headers["kbn-xsrf"] = "true"
    verify: Union[bool, str] = (ca_certs or True) if verify_certs else False
    http = session or requests.Session()
    try:
        resp = http.post(url, params={"overwrite": "true"}, headers=headers, auth=auth, verify=verify,
                         files={"file": ("accuknox.ndjson", ndjson, "application/ndjson")}, timeout=timeout)
    except requests.exceptions.SSLError as exc:
        raise TlsFailed(f"TLS handshake with {base} failed: {exc}. Pass the CA with --ca-cert PATH "
                        "(or, for a test system only, --insecure)") from None
    except requests.exceptions.RequestException as exc:
        raise ConnectionFailed(f"cannot reach Kibana at {base}: {type(exc).__name__}: {exc}") from None
    finally:
        if session is None:
            http.close()
    if resp.status_code == 401:
        raise AuthenticationFailed(f"Kibana at {base} refused {credential} (401)")
    if resp.status_code == 403:
        raise KibanaImportFailed(
            f"Kibana at {base} denied the import to {credential} (403): the role needs saved-object management "
            f"in the space {space or 'default'} (see `accuknox-siem elastic roles`): {_text(resp)}")
    if resp.status_code != 200:
        raise KibanaImportFailed(f"Kibana import at {url} failed: HTTP {resp.status_code}: {_text(resp)}")
    try:
        body: Dict[str, Any] = resp.json()
    except ValueError:
        raise KibanaImportFailed(f"Kibana import at {url}: the answer is not JSON: {_text(resp)}") from None
    errors: List[Dict[str, Any]] = body.get("errors") or []
    if not body.get("success", False) or errors:
        shown = "; ".join(
            f"{e.get('type')} {e.get('id')} ({e.get('title', '')}): {(e.get('error') or {}).get('type', '?')}"
            + (f" {(e.get('error') or {}).get('message')}" if (e.get("error") or {}).get("message") else "")
            for e in errors[:5])
        raise KibanaImportFailed(
            f"Kibana refused {len(errors)} of {object_count(ndjson)} objects at {url}: {shown or body}")
    return int(body.get("successCount", object_count(ndjson)))


def _text(resp: requests.Response) -> str:
    text = resp.text or ""
    return text if len(text) <= 500 else text[:500] + "..."
