"""The built app package: layout, conf files, knowledge objects, secrets, ksconf and AppInspect."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Set

import pytest

from integrations import __version__
from integrations.splunk import build as b
from tests.conftest import REPO
from tests.splunk.conftest import APP_ID, BuiltApp
from tests.splunk.helpers import read_conf

SOURCE = REPO / "splunk_app"
DASHBOARDS = ["accuknox_alerts_overview", "accuknox_blocked_activity", "accuknox_file_integrity",
              "accuknox_network_egress", "accuknox_mitre_techniques"]
DETECTIONS = ["AccuKnox - Package manager run in a container", "AccuKnox - Write under /etc",
              "AccuKnox - Shell spawned by a web server"]


def test_command_prints_the_package_path_last(built_app: BuiltApp) -> None:
    assert built_app.stdout.strip().splitlines()[-1] == str(built_app.package)
    assert built_app.package.name == f"{APP_ID}-{__version__}.tar.gz"
    assert built_app.package.stat().st_size < 10 * 1024 * 1024
    with tarfile.open(built_app.package) as tar:
        names = tar.getnames()
    assert all(n == APP_ID or n.startswith(APP_ID + "/") for n in names)


def test_layout_and_forbidden_files(built_app: BuiltApp) -> None:
    app = built_app.app
    for rel in ["app.manifest", "README.txt", "LICENSES/Apache-2.0.txt", "bin/accuknox_alerts.py",
                "bin/accuknox_alerts_helper.py", "bin/import_declare_test.py", "default/app.conf",
                "default/inputs.conf", "default/macros.conf", "default/savedsearches.conf", "metadata/default.meta",
                "README/inputs.conf.spec", "lib/integrations/splunk/modinput.py", "lib/splunklib/__init__.py",
                "lib/solnlib/conf_manager.py", "static/appIcon.png"]:
        assert (app / rel).is_file(), rel
    files = [p for p in app.rglob("*") if p.is_file()]
    rels = [str(p.relative_to(app)) for p in files]
    assert not (app / "local").exists() and "metadata/local.meta" not in rels
    assert not [r for r in rels if r.endswith("passwords.conf")]
    assert not [r for r in rels if r.endswith((".so", ".pyd", ".dylib", ".dll", ".pyc", ".exe"))]
    assert not [r for r in rels if "__pycache__" in r]
    assert not (app / "lib" / "bin").exists()
    vendored = {str(p.relative_to(app / "lib" / "integrations")) for p in (app / "lib" / "integrations").rglob("*.py")}
    for excluded in b.VENDOR_EXCLUDE:
        assert not [v for v in vendored if v == excluded or v.startswith(excluded + "/")], excluded
    assert "splunk/modinput.py" in vendored and "poller/runner.py" in vendored


def test_versions_agree(built_app: BuiltApp) -> None:
    app_conf = read_conf(built_app.app / "default" / "app.conf")
    manifest = json.loads((built_app.app / "app.manifest").read_text())
    gc = json.loads((built_app.app / "appserver" / "static" / "js" / "build" / "globalConfig.json").read_text())
    assert app_conf["id"]["version"] == app_conf["launcher"]["version"] == __version__
    assert manifest["info"]["id"]["version"] == gc["meta"]["version"] == __version__
    assert app_conf["id"]["name"] == app_conf["package"]["id"] == manifest["info"]["id"]["name"] == APP_ID
    assert app_conf["ui"]["label"] == "AccuKnox Add-on for Splunk"
    assert app_conf["package"]["check_for_updates"] == "false"


def test_inputs_conf_defaults_and_python_versions(built_app: BuiltApp) -> None:
    inputs = read_conf(built_app.app / "default" / "inputs.conf")
    assert set(inputs) == {"accuknox_alerts"}
    assert inputs["accuknox_alerts"] == {
        "python.version": "python3", "python.required": "3.9, 3.13", "interval": "300", "index": "main",
        "lookback": "86400", "overlap": "600", "lag": "60", "page_size": "100", "log_type": "active",
    }
    restmap = read_conf(built_app.app / "default" / "restmap.conf")
    handlers = [s for s in restmap if s.startswith("admin_external:")]
    assert handlers and all(restmap[s]["python.required"] == "3.9, 3.13" for s in handlers)
    assert all(restmap[s]["python.version"] == "python3" for s in handlers)


def test_global_config_accounts_proxy_and_input() -> None:
    gc = json.loads((SOURCE / "globalConfig.json").read_text())
    assert gc["meta"]["name"] == APP_ID and gc["meta"]["displayName"] == "AccuKnox Add-on for Splunk"
    assert gc["meta"]["supportedPythonVersion"] == ["3.9", "3.13"]
    tabs = {t.get("name") or t["type"]: t for t in gc["pages"]["configuration"]["tabs"]}
    account = {e["field"]: e for e in tabs["account"]["entity"]}
    assert set(account) == {"name", "api_url", "tenant_id", "api_token", "verify_ssl", "ca_bundle"}
    assert account["api_token"]["encrypted"] is True
    assert account["verify_ssl"]["defaultValue"] is True
    (url_re,) = [v["pattern"] for v in account["api_url"]["validators"] if v["type"] == "regex"]
    assert url_re.startswith("^https://")
    for good in ["https://cwpp.demo.accuknox.com", "https://cwpp.example.com:8443/api"]:
        assert re.match(url_re, good), good
    for bad in ["http://cwpp.demo.accuknox.com", "ftp://x", "https://u:p@host", "https://host/?q=1", "https://"]:
        assert not re.match(url_re, bad), bad
    proxy = {e["field"]: e for e in tabs["proxy"]["entity"]}
    assert set(proxy) >= {"proxy_enabled", "proxy_type", "proxy_url", "proxy_port", "proxy_username",
                          "proxy_password"}
    assert proxy["proxy_password"]["encrypted"] is True
    assert [o["value"] for o in proxy["proxy_type"]["options"]["autoCompleteFields"]] == ["http", "socks5"]
    assert "loggingTab" in tabs
    encrypted = [e["field"] for t in tabs.values() for e in t.get("entity", []) if e.get("encrypted")]
    assert sorted(encrypted) == ["api_token", "proxy_password"]
    (service,) = gc["pages"]["inputs"]["services"]
    assert service["name"] == "accuknox_alerts" and service["inputHelperModule"] == "accuknox_alerts_helper"
    fields = {e["field"] for e in service["entity"]}
    assert fields == {"name", "interval", "index", "account", "lookback", "overlap", "lag", "page_size",
                      "cluster_ids", "namespaces", "filters", "log_type"}


def test_macro_saved_searches_and_dashboards(built_app: BuiltApp) -> None:
    app = built_app.app
    macros = read_conf(app / "default" / "macros.conf")
    assert macros["accuknox_index"]["definition"] == "index=main"
    # HEC with ack is at-least-once: every search counts one copy of an alert
    assert macros["accuknox_dedup"]["definition"] == "dedup id keepempty=true"
    saved = read_conf(app / "default" / "savedsearches.conf")
    assert sorted(saved) == sorted(DETECTIONS)
    searches: List[str] = []
    for name in DETECTIONS:
        stanza = saved[name]
        assert stanza["disabled"] == "1", name
        assert stanza["is_scheduled"] == "1" and stanza["cron_schedule"]
        searches.append(stanza["search"])
    views = app / "default" / "data" / "ui" / "views"
    for name in DASHBOARDS:
        root = ET.parse(views / f"{name}.xml").getroot()  # noqa: S314 - our own files
        assert root.tag in ("form", "dashboard") and root.get("version") == "1.1", name
        queries = [q.text or "" for q in root.iter("query")]
        assert len(queries) >= 4, name
        searches += queries
    for q in searches:
        assert q.startswith("`accuknox_index` sourcetype=accuknox:kubearmor:* "), q
        assert not re.search(r"\bindex\s*=", q), q
        # the dedup step comes first, before any stats/eval could count a copy twice
        assert re.match(r"[^|]*\| `accuknox_dedup`( \||$)", q), q
    nav = ET.parse(app / "default" / "data" / "ui" / "nav" / "default.xml").getroot()  # noqa: S314
    assert {v.get("name") for v in nav.iter("view")} >= set(DASHBOARDS) | {"inputs", "configuration", "search"}
    # the CIM fields the detections rely on, as the mapping produces them
    text = "\n".join(searches)
    for field in ["action", "process_name", "parent_process_name", "file_path", "dest", "signature", "severity",
                  "mitre_technique_id", "dest_ip", "dest_port", "direction"]:
        assert re.search(rf"\b{field}\b", text), field


def test_source_package_files_are_merged_unchanged(built_app: BuiltApp) -> None:
    """Everything in splunk_app/package/ (including conf files and lookups other generators write there)
    reaches the built app byte for byte; UCC only rewrites app.manifest (version)."""
    src = SOURCE / "package"
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or "__pycache__" in rel.parts or rel.parts[0] == "local":
            continue
        if str(rel) == "app.manifest":
            continue
        built = built_app.app / rel
        assert built.is_file(), f"{rel} missing from the built app"
        assert built.read_bytes() == path.read_bytes(), f"{rel} changed by the build"


def test_no_plain_text_secret_in_confs(built_app: BuiltApp) -> None:
    for path in list(built_app.app.rglob("*.conf")) + list((SOURCE / "package").rglob("*.conf")):
        for stanza, keys in read_conf(path).items():
            for key, value in keys.items():
                if re.search(r"pass(word)?|token|secret|api_key", key, re.I):
                    assert value in ("", "******"), f"{path}: [{stanza}] {key} has a value"


def test_requirements_are_pinned_and_lib_matches(built_app: BuiltApp) -> None:
    pins = b._pins(SOURCE / "package" / "lib" / "requirements.txt")
    assert pins["splunk-sdk"] == "2.1.1" and pins["solnlib"] == "8.2.0" and pins["pyyaml"]
    assert b._installed(built_app.app / "lib") == pins
    excludes = [ln.strip() for ln in (SOURCE / "package" / "lib" / "exclude.txt").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")]
    assert {"grpcio", "protobuf", "googleapis-common-protos", "opentelemetry-api"} <= set(excludes)


def test_ksconf_check_on_every_conf_file(built_app: BuiltApp) -> None:
    ksconf = b.tool_env("ksconf") / "ksconf"
    files = sorted(str(p) for p in list(built_app.app.glob("default/*.conf")) + list(built_app.app.glob("metadata/*.meta"))
                   + list((SOURCE / "package" / "default").glob("*.conf")))
    assert len(files) >= 10
    res = subprocess.run([str(ksconf), "check", *files], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


# --------------------------------------------------------------------------- AppInspect


def documented_warnings() -> Dict[str, str]:
    """The ``| `check_name` | justification |`` rows of splunk_app/README.md's AppInspect section."""
    text = (SOURCE / "README.md").read_text()
    section = text.split("## AppInspect", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|\s*`(check_[a-z0-9_]+)`\s*\|(.+)\|\s*$", section, re.M)
    return {name: why.strip() for name, why in rows}


@pytest.mark.slow
def test_appinspect_precert_cloud(built_app: BuiltApp, tmp_path: Path) -> None:
    report = b.inspect(built_app.package, mode="precert", tags=("cloud",), report=tmp_path / "appinspect.json")
    summary = report["summary"]
    problems = b.findings(report, "failure") + b.findings(report, "error") + b.future_findings(report)
    assert (summary["failure"], summary["error"], summary["future_failure"]) == (0, 0, 0), problems
    warnings: Set[str] = {name for name, _ in b.findings(report, "warning")}
    documented = documented_warnings()
    assert all(len(why) > 20 for why in documented.values())
    assert warnings == set(documented), (
        f"undocumented: {sorted(warnings - set(documented))}; no longer reported: {sorted(set(documented) - warnings)}"
    )
