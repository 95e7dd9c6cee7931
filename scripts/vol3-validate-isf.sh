#!/usr/bin/env bash
# Converts PDBs with `vsm-forensics symbols convert` and has Volatility 3 judge the result:
#   1. `vol.py isfinfo.IsfInfo --validate --live` (the ISF schema check Volatility runs), with the
#      ISF placed where Volatility looks: DIR/windows/<pdb name>/<GUID>-<age>.json.xz;
#   2. scripts/vol3-check-isf.py: Volatility's symbol-table code instantiates every type and reads
#      every member, enumeration and symbol.
# Runs only where Volatility 3 is unpacked (VOL3, default /work/vol3). Default inputs: the LLVM
# fixture PDB and ../shared/data/real/exceptions-test.pdb (which Volatility's own converter rejects).
set -euo pipefail
cd "$(dirname "$0")/.."
VOL3=${VOL3:-/work/vol3}
PY=${PY:-/usr/bin/python3}
if [ ! -f "$VOL3/vol.py" ]; then echo "Volatility 3 not found at $VOL3 (set VOL3); skipping"; exit 0; fi
pdbs=("$@")
[ ${#pdbs[@]} -gt 0 ] || pdbs=(test/fixtures/pdb/ntkrnlmp.pdb ../shared/data/real/exceptions-test.pdb)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for pdb in "${pdbs[@]}"; do
  name=$(basename "$pdb")
  tmp="$out/tmp.json.xz"
  line=$(node bin/vsm-forensics.js symbols convert "$pdb" -o "$tmp")
  echo "$line" | head -1
  rel=$(echo "$line" | sed -n 's/^Volatility path: //p')
  mkdir -p "$out/symbols/$(dirname "$rel")"
  mv "$tmp" "$out/symbols/$rel"
done
echo "--- vol.py isfinfo.IsfInfo --validate --live"
"$PY" "$VOL3/vol.py" --offline -q -s "$out/symbols" isfinfo.IsfInfo --validate --live 2>&1 | grep -F "$out/symbols" | sed "s#file://$out/symbols/##"
bad=$("$PY" "$VOL3/vol.py" --offline -q -s "$out/symbols" isfinfo.IsfInfo --validate --live 2>&1 | grep -F "$out/symbols" | awk -F'\t' '$2 != "True"' | wc -l)
echo "--- Volatility 3 symbol table load"
rc=0
for f in $(find "$out/symbols" -name '*.json.xz' | sort); do
  "$PY" scripts/vol3-check-isf.py "$f" "$VOL3" || rc=1
done
[ "$bad" -eq 0 ] || { echo "$bad ISF(s) failed validation"; exit 1; }
exit $rc
