"""``accuknox-siem emulate``: serve the AccuKnox alerts API emulator on loopback until stopped."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
import time
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``emulate``."""
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    p.add_argument("--events", type=int, default=1000, help="alerts spread over the last --span (default 1000)")
    p.add_argument("--span", type=int, default=6 * 3600, help="seconds of history to spread them over (default 6h)")
    p.add_argument("--rate", type=float, default=0.0, help="also generate this many new alerts per second, live")
    p.add_argument("--late", type=float, default=0.0, help="make events visible up to SECONDS after their time")
    p.add_argument("--faults", default=None, help="fault spec, e.g. latency=0.05,429=0.1,retry_after=1,500=0.05,"
                   "truncate=0.02,dup=0.05,reset=0.02,seed=7")
    p.add_argument("--tenant-id", default="11")
    p.add_argument("--token-env", default="ACCUKNOX_TOKEN", metavar="VAR",
                   help="variable holding the token clients must send (a random one is generated if unset)")
    p.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM."""
    # imported here: every ``accuknox-siem`` command imports this module for its arguments
    from integrations.emulator import AlertsEmulator, FaultSpec, generate_events

    token = os.environ.get(args.token_env) or secrets.token_urlsafe(24)
    faults = FaultSpec.parse(args.faults) if args.faults else None
    if args.rate > 0:
        # live mode: alerts at --rate per second, with --span seconds of history
        emu = AlertsEmulator.live(args.rate, backfill=float(args.span), tenant_id=args.tenant_id, token=token,
                                  late_seconds=args.late, faults=faults, seed=args.seed, port=args.port)
        events: list = []
    else:
        now = time.time()
        events = list(generate_events(args.events, seed=args.seed, start=now - args.span,
                                      rate=max(args.events / max(args.span, 1), 1e-6)))
        emu = AlertsEmulator(events, tenant_id=args.tenant_id, token=token, late_seconds=args.late,
                             faults=faults, seed=args.seed, port=args.port)
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    with emu:
        what = f"{args.rate:g} alerts/s live" if args.rate > 0 else f"{len(events)} alerts"
        print(f"AccuKnox API emulator on {emu.url} (tenant {args.tenant_id}, {what})", flush=True)
        if not os.environ.get(args.token_env):
            print(f"clients must send the token from {args.token_env}; set it before starting "
                  "(a random token is in use)", file=sys.stderr)
        stop.wait()
    return 0
