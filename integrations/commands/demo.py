"""``accuknox-siem demo``: the emulator, one pull into the file sink, the summary — no external service.

It starts the AccuKnox API emulator on 127.0.0.1 with generated alerts, runs the
real poller against it twice (the second run shows that nothing is delivered
twice) and prints where the ECS documents are.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import time
from pathlib import Path

from integrations.config import resolve
from integrations.jsoncodec import loads

#: what a demo folder holds (besides state.json*)
_DEMO_ENTRIES = frozenset({"events"})


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``demo``."""
    p.add_argument("--dir", default="accuknox-demo", help="output folder (default ./accuknox-demo, recreated)")
    p.add_argument("--events", type=int, default=2000, help="alerts to emulate (default 2000)")
    p.add_argument("--map", choices=["ecs", "cim", "raw"], default="ecs", help="document to write (default ecs)")
    p.add_argument("--faults", default="429=0.05,500=0.05,dup=0.1,retry_after=0,seed=1",
                   help="faults the emulator injects (default: some 429/500 and duplicate rows)")


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns 0 when every emulated alert was delivered exactly once."""
    # imported here, not at the top: ``accuknox-siem pull`` imports this module for its
    # arguments and should not pay for the emulator on every start
    from integrations.commands.pull import build_poller
    from integrations.emulator import AlertsEmulator, FaultSpec, generate_events

    out = Path(args.dir)
    if out.exists():
        # Recreate only a folder an earlier demo made (or an empty one): --dir . or a
        # typo must never wipe unrelated files.
        extra = sorted(p.name for p in out.iterdir()) if out.is_dir() else [out.name]
        if any(name not in _DEMO_ENTRIES and not name.startswith("state.json") for name in extra):
            print(f"accuknox-siem demo: {out} exists and holds files the demo did not make; "
                  "choose another --dir or remove it", file=sys.stderr)
            return 2
        shutil.rmtree(out)
    out.mkdir(parents=True)
    token = secrets.token_urlsafe(24)
    token_env = "ACCUKNOX_DEMO_TOKEN"  # noqa: S105 - the name of a variable, not a secret
    now = time.time()
    span = 6 * 3600
    events = list(generate_events(args.events, seed=7, start=now - span - 300, rate=args.events / span, regular=True))
    faults = FaultSpec.parse(args.faults) if args.faults else None
    with AlertsEmulator(events, tenant_id="11", token=token, faults=faults, seed=7) as emu:
        cfg = resolve({
            "url": emu.url, "tenant_id": "11", "token_env": token_env, "sink": f"file:{out / 'events'}",
            "state": str(out / "state.json"), "map": args.map, "lookback": "8h",
        }, environ={})
        print(f"emulator: {emu.url} serving {len(events)} alerts over the last 6 h (faults: {args.faults})")
        totals = []
        for label in ("first run ", "second run"):
            # short back-off: the demo's injected 429/500 should not make it slow
            poller = build_poller(cfg, environ={token_env: token}, backoff_base=0.05, max_backoff=0.2)
            summary = poller.run_once()
            poller.sink.close()
            poller.client.close()
            print(f"{label}: {summary.line()}")
            totals.append(summary)
    files = sorted((out / "events").glob("*.ndjson"))
    lines = sum(1 for f in files for _ in f.open("rb"))
    ids = {loads(line)["event"]["id"] for f in files for line in f.open("rb")} if args.map == "ecs" else set()
    print(f"files: {', '.join(str(f) for f in files)}")
    print(f"{lines} documents written for {len(events)} emulated alerts"
          + (f"; {len(ids)} distinct event.id" if ids else ""))
    if files:
        first = files[0].open("rb").readline()
        print("first document:")
        print(first.decode("utf-8").rstrip()[:1500])
    ok = all(s.complete for s in totals) and lines == len(events) and (not ids or len(ids) == lines)
    if not ok:
        print("demo: delivery check FAILED", file=sys.stderr)
    return 0 if ok else 1
