#!/usr/bin/env bash
# Compares our synthetic dumps with Volatility 3 (see scripts/peer-vol3.ts). Skips cleanly where vol3 is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/peer-vol3.ts "$@"
