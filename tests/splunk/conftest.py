"""Fixtures of the Splunk app tests: the built app, TLS material, the fake splunkd, the emulator.

The app is built once per session through the real command
(``accuknox-siem splunk package``) into a temporary folder; the tool
virtualenvs it needs live in ``.cache/venvs`` and are created on first use.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest

from tests.conftest import REPO

APP_ID = "TA-accuknox"
PY_VERSIONS = {"3.9": "3.9.18", "3.13": "3.13.0"}


class BuiltApp(NamedTuple):
    package: Path      # TA-accuknox-<version>.tar.gz
    root: Path         # the package unpacked: <root>/TA-accuknox
    stdout: str        # what the build command printed

    @property
    def app(self) -> Path:
        return self.root / APP_ID


@pytest.fixture(scope="session")
def built_app(tmp_path_factory: pytest.TempPathFactory) -> BuiltApp:
    """``accuknox-siem splunk package --out <tmp>`` once per session, unpacked."""
    tmp = tmp_path_factory.mktemp("splunk-build")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-m", "integrations.cli", "splunk", "package", "--out", str(tmp / "dist"),
                          "--work-dir", str(tmp / "work")], capture_output=True, text=True, cwd=REPO, env=env,
                         timeout=1500)
    assert res.returncode == 0, f"build failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}"
    package = Path(res.stdout.strip().splitlines()[-1])
    root = tmp / "unpacked"
    root.mkdir()
    with tarfile.open(package) as tar:
        tar.extractall(root)  # noqa: S202 - our own freshly built package
    return BuiltApp(package, root, res.stdout)


class Tls(NamedTuple):
    server_context: ssl.SSLContext
    ca_path: Path


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A throw-away CA and a certificate for 127.0.0.1 (trustme); the CA bundle as a PEM file."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    path = tmp_path_factory.mktemp("tls") / "accuknox-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return Tls(ctx, path)


def interpreter(version: str) -> Path | None:
    """pyenv's python<version> (Splunk 9.x: 3.9, Splunk 10.x: 3.13), or None."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions" / PY_VERSIONS[version] / "bin"
    exe = root / f"python{version}"
    return exe if exe.exists() else None


def require_interpreter(version: str) -> Path:
    exe = interpreter(version)
    if exe is None:
        if os.environ.get("REQUIRE_PY_VERSIONS"):
            pytest.fail(f"Python {version} ({PY_VERSIONS[version]}) is required in CI but not installed under pyenv")
        pytest.skip(f"Python {version} not installed under pyenv")
    return exe


@pytest.fixture()
def fake_splunkd_factory(tls: Tls) -> Iterator:
    """``make(session_key)`` -> a started FakeSplunkd on https://127.0.0.1 (stopped after the test)."""
    from tests.splunk.fake_splunkd import FakeSplunkd

    started = []

    def make(session_key: str) -> FakeSplunkd:
        server = FakeSplunkd(session_key, ssl_context=tls.server_context).start()
        started.append(server)
        return server

    yield make
    for s in started:
        s.stop()
