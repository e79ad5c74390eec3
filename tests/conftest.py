"""Shared fixtures: the reference folder, the corpus, the bundled mapper, a network guard."""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path
from typing import Iterator, List, NamedTuple, Tuple

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ACCUKNOX_SHARED_DIR", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "corpus"
REFERENCE = SHARED / "reference"

#: every JSON-lines corpus file the suites must run over
CORPUS_JSONL: List[Path] = sorted(
    [p for p in (CORPUS / "real").glob("*.jsonl") if p.name != "provenance.jsonl"]
    + [CORPUS / "synthetic" / "synthetic-edge-cases.jsonl"]
)


def corpus_lines() -> List[Tuple[str, bytes]]:
    """``("file.jsonl:N", line_bytes)`` for every line of every JSON corpus file."""
    out = []
    for path in CORPUS_JSONL:
        for n, line in enumerate(path.read_bytes().splitlines(), 1):
            if line.strip():
                out.append((f"{path.parent.name}/{path.name}:{n}", line))
    return out


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    assert SHARED.is_dir(), f"shared folder not found at {SHARED} (set ACCUKNOX_SHARED_DIR)"
    return SHARED


@pytest.fixture(scope="session")
def mapper():
    from integrations.mapping import Mapper, load_definition

    return Mapper(load_definition(), clock=lambda: ("2026-01-01T00:00:00.000000Z", 1767225600.0))


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that opens a socket to a non-loopback address."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address):  # type: ignore[no-untyped-def]
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                raise AssertionError(f"test tried to connect to non-loopback address {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


class ServerTls(NamedTuple):
    """A server-side TLS context for 127.0.0.1 and the PEM bundle of the throw-away CA that signed it."""

    context: ssl.SSLContext
    ca_bundle: str


@pytest.fixture
def server_tls(tmp_path) -> ServerTls:
    """A throw-away CA (trustme) with a certificate for 127.0.0.1; skips the test without trustme."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return ServerTls(ctx, str(bundle))
