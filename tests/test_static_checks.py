"""Static checks that run with the test suite: ruff (incl. bandit's S rules) and vermin (Python 3.9+)."""

from __future__ import annotations

import shutil
import subprocess
import sys

from tests.conftest import REPO


def test_ruff_is_clean() -> None:
    res = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "integrations", "tests", "bench"],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]


def test_vermin_minimum_version_is_39() -> None:
    exe = shutil.which("vermin")
    cmd = [exe] if exe else [sys.executable, "-m", "vermin"]
    res = subprocess.run([*cmd, "-t=3.9-", "--no-tips", "--violations", "--eval-annotations",
                          "--backport", "typing_extensions", "integrations"],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
