"""The AccuKnox API emulator as a separate process, for the crash tests.

    python -m tests.reliability.emulator_proc --events N --ids-file PATH [--faults SPEC] [--seed S]

Serves ``N`` generated alerts, evenly spread over the two hours that end 20
minutes ago (so every one is inside a closed window of any later poll), on
127.0.0.1 with the token from ``$ACCUKNOX_TOKEN``. Writes the ``HashID`` of
every alert to ``--ids-file`` (one per line), then prints ``URL <url>`` on
stdout and serves until its standard input is closed (or SIGTERM).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.servers import wait_until_released
from integrations.emulator import AlertsEmulator, generate_events


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, required=True)
    p.add_argument("--ids-file", required=True)
    p.add_argument("--faults", default=None)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    token = os.environ["ACCUKNOX_TOKEN"]
    span = 2 * 3600
    start = time.time() - span - 20 * 60
    events = list(generate_events(args.events, seed=args.seed, start=start, rate=args.events / span,
                                  regular=True))
    with open(args.ids_file, "w", encoding="utf-8") as fh:
        fh.write("".join(e["HashID"] + "\n" for e in events))
    with AlertsEmulator(events, tenant_id="11", token=token, faults=args.faults, seed=args.seed) as emu:
        print(f"URL {emu.url}", flush=True)
        wait_until_released(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
