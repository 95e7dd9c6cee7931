#!/usr/bin/env bash
# Volatility 3 cmdline/envars/dlllist beside `vsm-forensics analyze` on generated dumps (scripts/compare-vol3-cmdline.ts).
# Skips cleanly where Volatility 3 is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/compare-vol3-cmdline.ts "$@"
