#!/usr/bin/env bash
# Converts each PDB with Volatility 3's own converter (pdbconv) and with `vsm-forensics symbols
# convert`, then compares the two ISFs section by section (user_types, enums, base_types,
# symbols). Volatility's converter fails on many real PDBs (LF_NESTTYPE, C++ member functions,
# IPI records); those are reported as such. Runs only where Volatility 3 is unpacked (VOL3).
# Usage: scripts/pdb-vs-volatility.sh X.pdb [Y.pdb …]
set -uo pipefail
cd "$(dirname "$0")/.."
VOL3=${VOL3:-/work/vol3}
PY=${PY:-/usr/bin/python3}
[ -f "$VOL3/vol.py" ] || { echo "Volatility 3 not found at $VOL3; skipping"; exit 0; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for pdb in "$@"; do
  abs=$(realpath "$pdb")
  name=$(basename "$pdb")
  echo "== $name"
  if ! (cd "$VOL3" && "$PY" -m volatility3.framework.symbols.windows.pdbconv -f "$abs" -p "$name" -o "$out/vol.json" >"$out/vol.log" 2>&1); then
    echo "Volatility's pdbconv failed: $(tr '\r' '\n' < "$out/vol.log" | grep -v Progress | tail -1)"
    continue
  fi
  node bin/vsm-forensics.js symbols convert "$pdb" -o "$out/ours.json" >/dev/null || { echo "ours failed"; continue; }
  "$PY" - "$out/vol.json" "$out/ours.json" <<'PYEOF'
import json, sys
vol, ours = (json.load(open(p)) for p in sys.argv[1:3])
for section in ("user_types", "enums", "base_types", "symbols"):
    a, b = vol[section], ours[section]
    same = [k for k in a if k in b and a[k] == b[k]]
    diff = [k for k in a if k in b and a[k] != b[k]]
    print(f"{section}: volatility {len(a)}, ours {len(b)}, identical {len(same)}, different {len(diff)}, "
          f"only volatility {len(set(a) - set(b))}, only ours {len(set(b) - set(a))}")
    for k in diff[:3]:
        print(f"  {k}: volatility {json.dumps(a[k])[:200]}\n  {' ' * len(k)}  ours       {json.dumps(b[k])[:200]}")
    for k in sorted(set(b) - set(a))[:3]:
        print(f"  only ours: {k} {json.dumps(b[k])[:120]}")
PYEOF
done
