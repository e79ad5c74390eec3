"""The ``accuknox-siem`` command: a table of subcommands, one module each.

This is the only layer that writes files (output documents, dead letters,
rendered artifacts); the library modules return data.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from typing import List, Optional, Sequence

from integrations import __version__
from integrations.errors import IntegrationError

#: subcommand name -> module under ``integrations.commands`` (imported lazily so
#: ``--help`` stays fast and a missing optional dependency only hurts its command).
COMMANDS = {
    "map": "map_events",
    "pull": "pull",
    "emulate": "emulate",
    "demo": "demo",
    "render": "render",
    "elastic": "elastic",
    "splunk": "splunk",
    "bench": "bench",
}

#: one-line help per subcommand (kept here so --help needs no imports)
HELP = {
    "map": "map KubeArmor/AccuKnox events (files or stdin) to ECS or CIM JSON lines",
    "pull": "poll the AccuKnox alerts API and deliver to a sink (file, stdout, hec, es)",
    "emulate": "serve an AccuKnox alerts API emulator on loopback",
    "demo": "run the emulator and pull into the file sink (no external service needed)",
    "render": "regenerate (or --check) every artifact rendered from the mapping definition",
    "elastic": "Elasticsearch setup (pipelines, templates, ILM) and role definitions",
    "splunk": "build the Splunk app package",
    "bench": "run the benchmark suite",
}


def _available() -> List[str]:
    out = []
    for name, module in COMMANDS.items():
        if importlib.util.find_spec(f"integrations.commands.{module}") is not None:
            out.append(name)
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="accuknox-siem",
        description="Bring AccuKnox / KubeArmor runtime-security events into Splunk (CIM) and Elastic (ECS).",
    )
    parser.add_argument("--version", action="version", version=f"accuknox-siem {__version__}")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="log level for messages on stderr (default WARNING)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _available():
        module = importlib.import_module(f"integrations.commands.{COMMANDS[name]}")
        p = sub.add_parser(name, help=HELP[name], description=HELP[name])
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except IntegrationError as exc:
        print(f"accuknox-siem {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"accuknox-siem {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
