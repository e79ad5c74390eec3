#!/usr/bin/env bash
# Build the Splunk app TA-accuknox into ./dist (or --out DIR) and print the
# package path on the last line. Creates, on first use and idempotently, the
# tool virtualenvs .cache/venvs/ucc (splunk-add-on-ucc-framework==6.6.0) and
# .cache/venvs/appinspect (splunk-appinspect==4.3.1) from PyPI.
#
#   splunk_app/build.sh [--out DIR] [--inspect] [--tools-only]
#
# Same as `accuknox-siem splunk package`; needs only a Python >= 3.9 with the
# standard library (the app's own dependencies are installed by UCC into lib/).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONPATH="${here}/..${PYTHONPATH:+:${PYTHONPATH}}"
exec "${PYTHON:-python3}" -m integrations.splunk.build "$@"
