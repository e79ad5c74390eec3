"""The build helper's own rules (no UCC run): pins, vendoring, lib/ post-processing, tool failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.splunk import build as b
from tests.conftest import REPO


def _dist(lib: Path, name: str, version: str) -> None:
    d = lib / f"{name.replace('-', '_')}-{version}.dist-info"
    d.mkdir(parents=True)
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_pins_must_be_exact(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("# comment\nrequests==2.32.5  # why\nPyYAML == 6.0.3\n")
    assert b._pins(req) == {"requests": "2.32.5", "pyyaml": "6.0.3"}
    req.write_text("requests>=2\n")
    with pytest.raises(b.BuildError, match=r"'requests>=2' is not pinned as name==version"):
        b._pins(req)


def _source_with(tmp_path: Path, requirements: str) -> Path:
    source = tmp_path / "src"
    (source / "package" / "lib").mkdir(parents=True)
    (source / "package" / "lib" / "requirements.txt").write_text(requirements)
    return source


def test_postprocess_strips_native_code_vendors_and_checks_the_lock(tmp_path: Path) -> None:
    app = tmp_path / "app"
    lib = app / "lib"
    _dist(lib, "PyYAML", "6.0.3")
    (lib / "yaml").mkdir()
    (lib / "yaml" / "__init__.py").write_text("")
    (lib / "yaml" / "_yaml.cpython-313-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    (lib / "bin").mkdir()
    (lib / "bin" / "normalizer").write_text("#!/usr/bin/python\n")
    (lib / "yaml" / "__pycache__").mkdir()
    logs = []
    b._postprocess(app, _source_with(tmp_path, "PyYAML==6.0.3\n"), logs.append)
    assert not list(lib.rglob("*.so")) and not (lib / "bin").exists() and not list(lib.rglob("__pycache__"))
    assert (lib / "integrations" / "splunk" / "modinput.py").is_file()
    assert not (lib / "integrations" / "splunk" / "build.py").exists()
    assert not (lib / "integrations" / "emulator").exists() and not (lib / "integrations" / "cli.py").exists()
    assert (lib / "integrations" / "mapping" / "definition.yaml").is_file()
    assert any("yaml/_yaml.cpython-313" in line for line in logs)


@pytest.mark.parametrize("requirements, installed, message", [
    ("PyYAML==6.0.3\n", [("PyYAML", "6.0.3"), ("six", "1.0")], r"not pinned: six==1.0"),
    ("PyYAML==6.0.3\nrequests==2.32.5\n", [("PyYAML", "6.0.3")], r"missing: requests"),
    ("PyYAML==6.0.3\n", [("PyYAML", "6.0.4")], r"other version: pyyaml 6.0.4 \(pinned 6.0.3\)"),
])
def test_postprocess_refuses_a_lib_that_differs_from_the_lock(tmp_path: Path, requirements: str,
                                                              installed: list, message: str) -> None:
    app = tmp_path / "app"
    for name, version in installed:
        _dist(app / "lib", name, version)
    with pytest.raises(b.BuildError, match=message):
        b._postprocess(app, _source_with(tmp_path, requirements), lambda m: None)


def test_postprocess_refuses_local_folder(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "lib").mkdir(parents=True)
    (app / "local").mkdir()
    with pytest.raises(b.BuildError, match=r"contains local"):
        b._postprocess(app, _source_with(tmp_path, ""), lambda m: None)


def test_command_fails_clearly_when_the_tools_cannot_be_installed(tmp_path: Path) -> None:
    """No package index reachable (pip told to use none): exit status 2 and a message naming the step."""
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO), ACCUKNOX_CACHE_DIR=str(tmp_path / "cache"), PIP_NO_INDEX="1",
               PIP_FIND_LINKS=str(empty), PIP_DISABLE_PIP_VERSION_CHECK="1")
    res = subprocess.run([sys.executable, "-m", "integrations.cli", "splunk", "package", "--out",
                          str(tmp_path / "dist"), "--work-dir", str(tmp_path / "work")],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "installing splunk-add-on-ucc-framework==6.6.0 from PyPI failed" in res.stderr
    assert "The ucc tools could not be installed; check access to PyPI." in res.stderr
    assert res.stdout == ""
    assert not (tmp_path / "cache" / "venvs" / "ucc").exists()  # no half-made environment left behind


def test_splunk_command_without_action_shows_usage() -> None:
    res = subprocess.run([sys.executable, "-m", "integrations.cli", "splunk"], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(REPO)), cwd=REPO, timeout=120)
    assert res.returncode == 2 and "accuknox-siem splunk package" in res.stderr
