"""``accuknox-siem render [--check]``: regenerate every artifact rendered from the mapping definition."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from integrations.mapping import check_references, load_definition
from integrations.render import all_artifacts


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``render``."""
    p.add_argument("--check", action="store_true", help="do not write; exit 1 naming the files that differ")
    p.add_argument("--root", default=None, help="repository root to write into (default: the current directory)")
    p.add_argument("--reference", default=None,
                   help="ECS/CIM reference folder to validate the definition against (default: ../shared/reference)")


def run(args: argparse.Namespace) -> int:
    """Render (or check) all artifacts; returns the exit status."""
    root = Path(args.root or ".").resolve()
    defn = load_definition()
    from integrations.mapping.reference import CimReference, EcsReference, default_reference_dir

    ref = Path(args.reference) if args.reference else default_reference_dir()
    if ref is not None and ref.is_dir():
        problems = check_references(defn, EcsReference.load(ref / "ecs" / "ecs_flat-8.17.0.yml"),
                                    CimReference.load(ref / "splunk-cim"))
        if problems:
            for p in problems:
                print(f"definition: {p}", file=sys.stderr)
            return 1
    else:
        print("render: reference folder not found; skipping the ECS/CIM checks of the definition", file=sys.stderr)
    stale = []
    for rel, fn in all_artifacts().items():
        content = fn(defn)
        path = root / rel
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == content:
            continue
        stale.append(rel)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    if args.check:
        if stale:
            print("render --check: out of date (run `accuknox-siem render`):", file=sys.stderr)
            for rel in stale:
                print(f"  {rel}", file=sys.stderr)
            return 1
        print(f"render --check: {len(all_artifacts())} artifacts current")
        return 0
    print(f"render: {len(stale)} of {len(all_artifacts())} artifacts written")
    return 0
