"""``accuknox-siem map``: events from files or stdin -> one ECS/CIM JSON document per line.

Exit status: 0 all mapped, 1 some rejected (the rest still mapped), 2 usage
error or unreadable file. Rejections go to stderr (file, line, reason) and,
with ``--dead-letter``, to a JSON-lines file.
"""

from __future__ import annotations

import argparse
import sys
from typing import IO, Iterator, List, Optional

from integrations.errors import IntegrationError, MappingError, ParseError
from integrations.events import iter_parse, iter_parse_path
from integrations.jsoncodec import dumps
from integrations.mapping import Mapper, load_definition
from integrations.model import ParsedEvent, ParseResult, Rejected
from integrations.views import VIEWS, get_view


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``map``."""
    p.add_argument("files", nargs="*", metavar="FILE", help="input files (JSON, JSON array, NDJSON, API pages, "
                   "karmor text); standard input when none")
    p.add_argument("--to", choices=sorted(VIEWS), default="ecs", help="output view (default ecs)")
    p.add_argument("--dead-letter", metavar="PATH", help="write rejected inputs here as JSON lines "
                   '{"reason", "location", "original"}')
    p.add_argument("--severity-preset", choices=["higher_is_worse", "accuknox_ui"],
                   help="severity scale (default from the mapping definition)")
    p.add_argument("--definition", metavar="PATH", help="mapping definition file (default: the bundled one)")
    p.add_argument("--warnings", action="store_true", help="print per-event warnings on stderr")


def _inputs(files: List[str]) -> Iterator[ParseResult]:
    if not files:
        yield from iter_parse(sys.stdin.buffer, "<stdin>")
        return
    for path in files:
        yield from iter_parse_path(path)


def run(args: argparse.Namespace) -> int:
    """Map every input event; returns the exit status."""
    for path in args.files:
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            print(f"accuknox-siem map: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    mapper = Mapper(load_definition(args.definition), severity_preset=args.severity_preset)
    view = get_view(args.to, mapper)
    out = sys.stdout.buffer
    dead: Optional[IO[bytes]] = open(args.dead_letter, "ab") if args.dead_letter else None  # noqa: SIM115
    mapped = rejected = 0
    try:
        for item in _inputs(args.files):
            if isinstance(item, ParsedEvent):
                try:
                    doc = view(item)
                except MappingError as exc:
                    item = Rejected(str(exc), item.location, item.original)
                else:
                    out.write(dumps(doc) + b"\n")
                    mapped += 1
                    if args.warnings:
                        for w in item.warnings:
                            print(f"{item.location}: warning: {w}", file=sys.stderr)
                    continue
            rejected += 1
            print(f"{item.location}: rejected: {item.reason}", file=sys.stderr)
            if dead is not None:
                dead.write(dumps(item.to_dead_letter()) + b"\n")
    except ParseError as exc:
        print(f"accuknox-siem map: {exc}", file=sys.stderr)
        return 2
    except IntegrationError as exc:
        print(f"accuknox-siem map: error: {exc}", file=sys.stderr)
        return 2
    finally:
        out.flush()
        if dead is not None:
            dead.close()
    print(f"accuknox-siem map: {mapped} mapped, {rejected} rejected", file=sys.stderr)
    return 1 if rejected else 0
