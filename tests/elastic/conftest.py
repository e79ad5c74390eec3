"""Fixtures for the setup tests: packaged assets (with stand-in pipelines while none are rendered), fakes."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional

import pytest

import elastic_ingest
from elastic_ingest import Asset
from integrations import __version__
from tests.support.fake_es import FakeElasticsearch
from tests.support.fake_http import FakeHTTPServer, Request, Response

API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
_LOAD_ASSETS = elastic_ingest.load_assets  # the real loader, even while a test patches the module


def stand_in_pipeline(name: str) -> Dict[str, Any]:
    """A minimal pipeline used while ``elastic_ingest/ingest_pipelines/`` is empty."""
    return {"description": f"test stand-in for {name}", "processors": [
        {"set": {"tag": "stand-in-ts", "field": "@timestamp", "value": "{{{_ingest.timestamp}}}"}},
    ]}


def packaged_assets(version: Optional[str] = None) -> List[Asset]:
    """``load_assets()``, plus stand-in pipelines for the names the templates use but the package lacks."""
    assets = _LOAD_ASSETS()
    have = {a.name for a in assets if a.kind == "ingest_pipeline"}
    manifest = elastic_ingest.load_manifest()
    missing = [e for e in manifest["assets"] if e["kind"] == "ingest_pipeline" and e["name"] not in have]
    stand_ins = [Asset("ingest_pipeline", e["name"], stand_in_pipeline(e["name"]), e.get("stream")) for e in missing]
    out = [a for a in assets if a.kind in ("ilm_policy", "component_template")]
    out += sorted([a for a in assets if a.kind == "ingest_pipeline"] + stand_ins,
                  key=lambda a: (".common-" not in a.name, a.name))
    out += [a for a in assets if a.kind == "index_template"]
    if version is not None and version != __version__:
        out = [bump(a, __version__, version) for a in out]
    return out


def bump(asset: Asset, old: str, new: str) -> Asset:
    """The same asset as a later package version would ship it (pipeline names and references renamed)."""
    import json

    text = json.dumps(asset.body).replace(f"-{old}", f"-{new}").replace(f'"version": "{old}"', f'"version": "{new}"')
    return asset._replace(name=asset.name.replace(f"-{old}", f"-{new}"), body=json.loads(text))


def pipelines_are_rendered() -> bool:
    names = {a.name for a in _LOAD_ASSETS() if a.kind == "ingest_pipeline"}
    expected = {e["name"] for e in elastic_ingest.load_manifest()["assets"] if e["kind"] == "ingest_pipeline"}
    return expected <= names


@pytest.fixture
def assets() -> List[Asset]:
    return packaged_assets()


@pytest.fixture
def cli_assets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the CLI install :func:`packaged_assets` (stand-in pipelines while none are rendered)."""
    monkeypatch.setattr(elastic_ingest, "load_assets", lambda version=None: packaged_assets(version))


@pytest.fixture
def fake_es() -> Iterator[FakeElasticsearch]:
    with FakeElasticsearch() as server:
        yield server


@pytest.fixture
def tls_es(server_tls):
    with FakeElasticsearch(ssl_context=server_tls.context) as server:
        yield server, server_tls.ca_bundle


class FakeKibana(FakeHTTPServer):
    """``POST /api/saved_objects/_import``: checks ``kbn-xsrf``, the multipart ``file`` and the credential."""

    def __init__(self, api_key: Optional[str] = None, refuse: Optional[List[Dict[str, Any]]] = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.refuse = refuse or []
        self.imported: List[bytes] = []
        for path in (r"/api/saved_objects/_import", r"/s/(?P<space>[^/]+)/api/saved_objects/_import"):
            self.route("POST", path, self._import)

    def _import(self, req: Request) -> Response:
        if self.api_key is not None and req.headers.get("authorization") != f"ApiKey {self.api_key}":
            return Response(401, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"})
        if req.headers.get("kbn-xsrf") != "true":
            return Response(400, {"statusCode": 400, "error": "Bad Request",
                                  "message": 'Request must contain a kbn-xsrf header.'})
        ctype = req.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data; boundary="):
            return Response(415, {"statusCode": 415, "message": "Unsupported Media Type"})
        boundary = ctype.split("boundary=", 1)[1].encode()
        parts = [p for p in req.body.split(b"--" + boundary) if b'name="file"' in p]
        if len(parts) != 1:
            return Response(400, {"statusCode": 400, "message": "[request body.file]: expected value of type [Stream]"})
        head, _, content = parts[0].partition(b"\r\n\r\n")
        content = content.rstrip(b"\r\n")
        self.imported.append(content)
        n = sum(1 for line in content.splitlines() if line.strip())
        if self.refuse:
            return Response(200, {"success": False, "successCount": n - len(self.refuse), "errors": self.refuse})
        return Response(200, {"success": True, "successCount": n, "successResults": []})


@pytest.fixture
def fake_kibana() -> Iterator[FakeKibana]:
    with FakeKibana(api_key=API_KEY) as server:
        yield server
