"""``accuknox-siem splunk package [--out DIR] [--inspect]``: build the Splunk app ``TA-accuknox``.

Builds with UCC 6.6.0 in its own virtualenv under ``.cache/venvs`` (created
from PyPI on first use), vendors ``integrations`` into the app's ``lib/``,
packages it and prints the package path as the **last line** of stdout.
Progress goes to stderr. Exit status 2 when the build tools cannot be
installed or a build step fails (the message names the step), 1 when
``--inspect`` finds AppInspect failures, errors or future failures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from integrations.errors import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``splunk``."""
    sub = p.add_subparsers(dest="splunk_command", metavar="ACTION")
    pkg = sub.add_parser("package", help="build and package the Splunk app (TA-accuknox-<version>.tar.gz)",
                         description="Build and package the Splunk app; prints the package path last.")
    pkg.add_argument("--out", default="dist", help="folder for the package (default: ./dist)")
    pkg.add_argument("--source", default=None, help="app source folder (default: splunk_app/ of this checkout)")
    pkg.add_argument("--work-dir", default=None,
                     help="folder for UCC's staging and output (default: splunk_app/output)")
    pkg.add_argument("--version", default=None, help="app version (default: the package version)")
    pkg.add_argument("--inspect", action="store_true",
                     help="also run AppInspect (precert, --included-tags cloud) and fail on failures/future failures")
    pkg.add_argument("--report", default=None, help="with --inspect: write the AppInspect JSON report here")


def run(args: argparse.Namespace) -> int:
    """Run the ``splunk`` action; returns the exit status."""
    if getattr(args, "splunk_command", None) != "package":
        print("usage: accuknox-siem splunk package [--out DIR] [--inspect]", file=sys.stderr)
        return 2
    from integrations.splunk import build as b

    source = Path(args.source) if args.source else b.default_source()
    if not (source / "globalConfig.json").is_file():
        raise ConfigError(f"--source: {source} holds no globalConfig.json "
                          "(the app source is splunk_app/ of a checkout)")
    try:
        package = b.build(source=source, out_dir=Path(args.out),
                          work_dir=Path(args.work_dir) if args.work_dir else None, version=args.version)
    except b.BuildError as exc:
        print(f"accuknox-siem splunk package: {exc}", file=sys.stderr)
        return 2
    status = 0
    if args.inspect:
        try:
            report = b.inspect(package, report=Path(args.report) if args.report else None)
        except b.BuildError as exc:
            print(f"accuknox-siem splunk package: {exc}", file=sys.stderr)
            return 2
        print(f"AppInspect: {b.summary_line(report)}", file=sys.stderr)
        for name, msg in b.findings(report, "failure") + b.findings(report, "error"):
            print(f"  FAILED {name}: {msg[:300]}", file=sys.stderr)
        for name, msg in b.future_findings(report):
            print(f"  FUTURE FAILURE {name}: {msg[:300]}", file=sys.stderr)
        if b.findings(report, "failure") or b.findings(report, "error") or b.future_findings(report):
            status = 1
    print(package)
    return status
