"""Build, package and inspect the Splunk app ``TA-accuknox`` (standard library only).

Consumes the app source in ``splunk_app/`` (``globalConfig.json``,
``package/``) and this repository's ``integrations`` package; produces
``<out>/TA-accuknox-<version>.tar.gz`` and, on request, an AppInspect report.
Used by ``accuknox-siem splunk package``, ``splunk_app/build.sh`` and the tests.

The build tools never share an environment with the project (their pins
conflict, see docs/splunk-tooling.md): each gets a virtualenv under
``<repo>/.cache/venvs/<name>`` (git-ignored), created on first use from PyPI
and reused while its stamp file matches the pinned requirement and interpreter:

* ``ucc``        – ``splunk-add-on-ucc-framework==6.6.0`` (``ucc-gen``)
* ``appinspect`` – ``splunk-appinspect==4.3.1`` (needs libmagic)
* ``ksconf``     – ``ksconf==0.13.10`` (conf file linting in the tests)
* ``psa``        – ``pytest-splunk-addon==6.4.0`` with pytest 7.4.4 and splunk-sdk 2.1.1 (its offline
  test-plan and requirement-sample checks in the tests; 7.x/8.x fail at plugin load without the
  private ``splunk_cim_models`` module; its ``pytest<8`` and ``urllib3<2`` clash with the project's env)

Build steps:

1. copy ``globalConfig.json`` and ``package/`` to a staging folder (``ucc-gen``
   rewrites the globalConfig it reads; the committed file stays untouched);
2. ``ucc-gen build --pip-version 26.2 --python-binary-name <python ≥ 3.10>``:
   UCC generates the REST handlers, input script, UI and conf files, merges
   ``package/`` over them and pip-installs ``package/lib/requirements.txt``
   (every distribution pinned to releases that support Python 3.9 *and*
   3.13) into ``lib/``, then drops ``package/lib/exclude.txt``;
3. post-processing: native extension files are deleted from ``lib/`` (the
   remaining pure-Python code runs on Splunk 9.3+'s Python 3.9 and 10.x's 3.13
   on any CPU); the distributions left in ``lib/`` must be exactly the pinned
   ones; ``integrations`` is copied in without its command-line, emulator,
   rendering, build and non-Splunk sink modules; no ``local/``, ``local.meta``
   or ``passwords.conf`` may exist;
4. ``ucc-gen package``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from integrations import __version__
from integrations.errors import IntegrationError

APP_ID = "TA-accuknox"
UCC_VERSION = "6.6.0"
APPINSPECT_VERSION = "4.3.1"
KSCONF_VERSION = "0.13.10"
#: pytest-splunk-addon: 6.4.0 is the last release that loads without the private ``splunk_cim_models``
#: module (docs/splunk-tooling.md, section 3). It needs pytest < 8 (7.4.4 is the last 7.x) and takes any
#: splunk-sdk; 2.1.1 is pinned because 3.x only installs on Python >= 3.13, so the environment is the
#: same whichever interpreter creates it.
PSA_VERSION = "6.4.0"
#: pip that UCC installs into the build interpreter: 26.3 breaks ``ucc-gen build``
#: (docs/splunk-tooling.md, fix 1); 26.2 needs Python >= 3.10.
PIP_VERSION = "26.2"
TOOLS: Dict[str, Tuple[str, ...]] = {
    "ucc": (f"splunk-add-on-ucc-framework=={UCC_VERSION}",),
    "appinspect": (f"splunk-appinspect=={APPINSPECT_VERSION}",),
    "ksconf": (f"ksconf=={KSCONF_VERSION}",),
    "psa": (f"pytest-splunk-addon=={PSA_VERSION}", "pytest==7.4.4", "splunk-sdk==2.1.1"),
}
TOOL_EXE = {"ucc": "ucc-gen", "appinspect": "splunk-appinspect", "ksconf": "ksconf", "psa": "pytest"}

#: Parts of ``integrations/`` the app does not ship (paths relative to the package).
VENDOR_EXCLUDE = frozenset({
    "cli.py", "commands", "emulator", "render", "elastic", "splunk/build.py",
    "sinks/elasticsearch.py", "sinks/hec.py", "sinks/file.py", "sinks/stdout.py", "sinks/compression.py",
    "sinks/retry.py",
})
NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
FORBIDDEN = ("local", "metadata/local.meta", "default/passwords.conf", "local/passwords.conf")

Log = Callable[[str], None]


class BuildError(IntegrationError):
    """The app could not be built, packaged or inspected; the message says which step and why."""


def repo_root() -> Path:
    """The checkout holding ``integrations/`` and ``splunk_app/``."""
    return Path(__file__).resolve().parents[2]


def default_source() -> Path:
    return repo_root() / "splunk_app"


def cache_dir() -> Path:
    return Path(os.environ.get("ACCUKNOX_CACHE_DIR") or (repo_root() / ".cache"))


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- tool environments

@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not on POSIX
            pass
        yield


def _run(cmd: Sequence[str], *, what: str, log: Log, cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None,
         timeout: float = 1200) -> subprocess.CompletedProcess:
    try:
        # argv lists of our own tool paths and arguments, never a shell string
        res = subprocess.run(list(cmd), cwd=str(cwd) if cwd else None, env=env,  # noqa: S603
                             capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise BuildError(f"{what}: cannot run {cmd[0]}: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{what}: still running after {timeout:.0f}s; stopped") from None
    if res.returncode != 0:
        tail = "\n".join((res.stdout + "\n" + res.stderr).strip().splitlines()[-40:])
        raise BuildError(f"{what} failed (exit status {res.returncode}):\n{tail}")
    return res


def tool_env(name: str, *, log: Log = _stderr, python: Optional[str] = None) -> Path:
    """The ``bin/`` folder of the tool virtualenv ``name`` (a key of :data:`TOOLS`), created if needed.

    Idempotent: an existing environment is reused while its stamp (pinned
    requirements + interpreter version) matches; otherwise it is rebuilt.
    """
    if name not in TOOLS:
        raise BuildError(f"unknown tool environment {name!r}; known: {', '.join(TOOLS)}")
    python = python or sys.executable
    venv = cache_dir() / "venvs" / name
    exe = venv / "bin" / TOOL_EXE[name]
    stamp = venv / ".accuknox-stamp"
    spec = json.dumps({"requirements": TOOLS[name], "python": _python_version(python)}, sort_keys=True)
    with _locked(cache_dir() / "venvs" / f".{name}.lock"):
        if exe.exists() and stamp.exists() and stamp.read_text() == spec:
            return venv / "bin"
        log(f"creating the {name} tool environment in {venv} ({', '.join(TOOLS[name])})")
        shutil.rmtree(venv, ignore_errors=True)
        _run([python, "-m", "venv", str(venv)], what=f"creating the {name} virtualenv", log=log)
        env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
        try:
            _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *TOOLS[name]],
                 what=f"installing {' '.join(TOOLS[name])} from PyPI", log=log, env=env)
        except BuildError as exc:
            shutil.rmtree(venv, ignore_errors=True)
            raise BuildError(f"{exc}\nThe {name} tools could not be installed; check access to PyPI.") from None
        if not exe.exists():
            raise BuildError(f"{TOOLS[name][0]} installed, but {exe} is missing")
        stamp.write_text(spec)
    return venv / "bin"


def _python_version(python: str) -> str:
    res = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],  # noqa: S603
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise BuildError(f"cannot run the interpreter {python}")
    return res.stdout.strip()


def build_python(log: Log = _stderr) -> str:
    """The interpreter UCC installs ``lib/`` with: ``ACCUKNOX_SPLUNK_BUILD_PYTHON``, else Python 3.13
    (Splunk 10's), else the UCC environment's own interpreter. Any Python >= 3.10 gives the same
    ``lib/``: every distribution is pinned and native extensions are removed afterwards."""
    candidates = []
    if os.environ.get("ACCUKNOX_SPLUNK_BUILD_PYTHON"):
        candidates.append(os.environ["ACCUKNOX_SPLUNK_BUILD_PYTHON"])
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p) for p in pyenv.glob("3.13.*/bin/python3.13"))
    if shutil.which("python3.13"):
        candidates.append(str(shutil.which("python3.13")))
    candidates.append(str(tool_env("ucc", log=log) / "python"))
    for c in candidates:
        try:
            version = tuple(int(x) for x in _python_version(c).split("."))
        except (BuildError, ValueError, OSError):
            continue
        if version >= (3, 10):
            return c
    raise BuildError("no Python >= 3.10 found for UCC's pip step; set ACCUKNOX_SPLUNK_BUILD_PYTHON")


# --------------------------------------------------------------------------- build

def _stage(source: Path, stage: Path) -> None:
    if not (source / "globalConfig.json").is_file() or not (source / "package" / "app.manifest").is_file():
        raise BuildError(f"{source} is not the app source (globalConfig.json and package/app.manifest expected)")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    shutil.copy2(source / "globalConfig.json", stage / "globalConfig.json")
    shutil.copytree(source / "package", stage / "package",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "local", "local.meta", ".*"))


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(requirements: Path) -> Dict[str, str]:
    pins = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)", line)
        if not m:
            raise BuildError(f"{requirements}: {line!r} is not pinned as name==version")
        pins[_norm(m.group(1))] = m.group(2)
    return pins


def _installed(lib: Path) -> Dict[str, str]:
    out = {}
    for d in lib.glob("*.dist-info"):
        meta = d / "METADATA"
        name = version = None
        if meta.is_file():
            for line in meta.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("Name:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("Version:"):
                    version = line.split(":", 1)[1].strip()
                if name and version:
                    break
        if name:
            out[_norm(name)] = version or "?"
    return out


def _vendor_integrations(lib: Path, log: Log) -> int:
    src = repo_root() / "integrations"
    dest = lib / "integrations"
    shutil.rmtree(dest, ignore_errors=True)
    count = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        parts = rel.parts
        if "__pycache__" in parts or path.suffix in (".pyc", ".pyo"):
            continue
        if any("/".join(parts[: i + 1]) in VENDOR_EXCLUDE for i in range(len(parts))):
            continue
        if path.is_dir():
            continue
        if path.suffix not in (".py", ".yaml", ".yml", ".json", ".csv", ".md", ".txt") and rel.parts[0] != "data":
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        os.chmod(target, 0o644)
        count += 1
    log(f"vendored integrations/ into lib/ ({count} files)")
    return count


def _postprocess(app: Path, source: Path, log: Log) -> None:
    lib = app / "lib"
    removed = []
    for path in sorted(lib.rglob("*")):
        if path.is_file() and (path.suffix in NATIVE_SUFFIXES or ".so." in path.name):
            removed.append(str(path.relative_to(lib)))
            path.unlink()
    for cache in sorted(lib.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)
    # console scripts pip writes for the vendored distributions (idna, normalizer): not used in Splunk
    shutil.rmtree(lib / "bin", ignore_errors=True)
    if removed:
        log(f"removed native extensions from lib/ (pure-Python fallbacks are used): {', '.join(removed)}")
    pins = _pins(source / "package" / "lib" / "requirements.txt")
    installed = _installed(lib)
    extra = sorted(set(installed) - set(pins))
    missing = sorted(set(pins) - set(installed))
    wrong = sorted(f"{n} {installed[n]} (pinned {pins[n]})" for n in set(pins) & set(installed)
                   if installed[n] != pins[n])
    if extra or missing or wrong:
        raise BuildError(
            "lib/ does not match splunk_app/package/lib/requirements.txt: "
            + "; ".join(filter(None, [
                f"not pinned: {', '.join(f'{n}=={installed[n]}' for n in extra)} (pin it, or add it to exclude.txt)"
                if extra else "",
                f"missing: {', '.join(missing)}" if missing else "",
                f"other version: {', '.join(wrong)}" if wrong else "",
            ]))
        )
    _vendor_integrations(lib, log)
    for rel in FORBIDDEN:
        if (app / rel).exists():
            raise BuildError(f"the built app contains {rel}; AppInspect and Splunk Cloud refuse it")


def build(
    *,
    source: Optional[Path] = None,
    out_dir: Optional[Path] = None,
    work_dir: Optional[Path] = None,
    version: Optional[str] = None,
    log: Log = _stderr,
) -> Path:
    """Build and package the app; returns the path of ``TA-accuknox-<version>.tar.gz`` in ``out_dir``.

    ``work_dir`` keeps the staging copy and UCC's output (``<work_dir>/output/TA-accuknox``,
    default ``splunk_app/output``); ``out_dir`` defaults to ``./dist``.
    """
    source = Path(source or default_source()).resolve()
    out_dir = Path(out_dir or "dist").resolve()
    work_dir = Path(work_dir or (source / "output")).resolve()
    version = version or __version__
    ucc_bin = tool_env("ucc", log=log)
    python = build_python(log)
    stage = work_dir / "src"
    output = work_dir / "output"
    _stage(source, stage)
    shutil.rmtree(output, ignore_errors=True)
    log(f"ucc-gen build {APP_ID} {version} (lib/ via {python}, pip {PIP_VERSION})")
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")
    _run([str(ucc_bin / "ucc-gen"), "build", "--source", str(stage / "package"), "--config",
          str(stage / "globalConfig.json"), "--output", str(output), "--ta-version", version,
          "--pip-version", PIP_VERSION, "--python-binary-name", python],
         what="ucc-gen build", log=log, cwd=stage, env=env)
    app = output / APP_ID
    if not (app / "default" / "app.conf").is_file():
        raise BuildError(f"ucc-gen build produced no {app}/default/app.conf")
    _postprocess(app, source, log)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{APP_ID}-{version}.tar.gz"
    if target.exists():
        target.unlink()
    _run([str(ucc_bin / "ucc-gen"), "package", "--path", str(app), "-o", str(out_dir)],
         what="ucc-gen package", log=log, cwd=work_dir, env=env)
    if not target.is_file():
        found = sorted(out_dir.glob(f"{APP_ID}-*.tar.gz"))
        raise BuildError(f"ucc-gen package did not write {target.name} (found: {[p.name for p in found]})")
    _check_archive(target)
    log(f"package: {target} ({target.stat().st_size / 1e6:.1f} MB)")
    return target


def _check_archive(path: Path) -> None:
    with tarfile.open(path) as tar:
        names = tar.getnames()
    bad = [n for n in names if not (n == APP_ID or n.startswith(APP_ID + "/"))]
    if bad:
        raise BuildError(f"{path.name}: entries outside {APP_ID}/: {bad[:5]}")
    for rel in FORBIDDEN:
        if f"{APP_ID}/{rel}" in names:
            raise BuildError(f"{path.name} contains {rel}")


# --------------------------------------------------------------------------- inspection

def inspect(
    package: Path,
    *,
    mode: str = "precert",
    tags: Sequence[str] = ("cloud",),
    report: Optional[Path] = None,
    log: Log = _stderr,
) -> dict:
    """Run ``splunk-appinspect inspect`` and return its JSON report (``summary``, ``reports``…)."""
    bin_dir = tool_env("appinspect", log=log)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(report) if report else Path(tmp) / "appinspect.json"
        cmd = [str(bin_dir / "splunk-appinspect"), "inspect", str(package), "--mode", mode,
               "--data-format", "json", "--output-file", str(out)]
        for tag in tags:
            cmd += ["--included-tags", tag]
        log(f"splunk-appinspect inspect {package.name} --mode {mode} {' '.join('--included-tags ' + t for t in tags)}")
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)  # noqa: S603
        if not out.is_file():
            tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-30:])
            raise BuildError(f"splunk-appinspect wrote no report (exit status {res.returncode}):\n{tail}")
        return json.loads(out.read_text())


def findings(report: dict, result: str) -> List[Tuple[str, str]]:
    """``(check name, first message)`` of every check with ``result`` (``failure``, ``warning``…)."""
    out = []
    for rep in report.get("reports", []):
        for group in rep.get("groups", []):
            for check in group.get("checks", []):
                if check.get("result") == result:
                    messages = check.get("messages") or [{}]
                    out.append((check.get("name", "?"), str(messages[0].get("message", "")).strip()))
    return sorted(out)


def future_findings(report: dict) -> List[Tuple[str, str]]:
    """Checks AppInspect reports as ``future_failure`` (failures from a coming AppInspect release on)."""
    return findings(report, "future_failure")


def summary_line(report: dict) -> str:
    """AppInspect's own summary counts on one line."""
    return ", ".join(f"{k}: {v}" for k, v in report.get("summary", {}).items())


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- command line

def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m integrations.splunk.build [--out DIR] [--inspect]`` (used by splunk_app/build.sh)."""
    p = argparse.ArgumentParser(prog="splunk_app/build.sh", description="Build (and optionally inspect) TA-accuknox.")
    p.add_argument("--out", default="dist", help="folder for the .tar.gz (default ./dist)")
    p.add_argument("--version", default=None, help=f"app version (default {__version__})")
    p.add_argument("--tools-only", action="store_true",
                   help="only create the tool environments (ucc, appinspect, ksconf, psa)")
    p.add_argument("--inspect", action="store_true", help="also run AppInspect (precert, cloud tag)")
    args = p.parse_args(argv)
    try:
        if args.tools_only:
            for name in TOOLS:
                print(tool_env(name))
            return 0
        package = build(out_dir=Path(args.out), version=args.version)
        if args.inspect:
            report = inspect(package)
            _stderr("AppInspect: " + summary_line(report))
            for name, msg in findings(report, "warning"):
                _stderr(f"  warning {name}: {msg[:200]}")
            if findings(report, "failure") or findings(report, "error") or future_findings(report):
                _stderr("AppInspect found failures, errors or future failures")
                print(package)
                return 1
        print(package)
        return 0
    except BuildError as exc:
        _stderr(f"build failed: {exc}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
