#!/usr/bin/python3
"""Loads an ISF file with Volatility 3's own symbol-table code (run beside the project, never
copied into it) and touches everything in it: every user type is instantiated over a zero buffer
and every member read, every enumeration and symbol looked up. Prints counts; exits 1 on any error.
Usage: /usr/bin/python3 scripts/vol3-check-isf.py ISF_FILE [VOL3_DIR]"""
import os
import sys

isf = os.path.abspath(sys.argv[1])
sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else os.environ.get("VOL3", "/work/vol3"))

from volatility3.framework import contexts  # noqa: E402
from volatility3.framework.layers.physical import BufferDataLayer  # noqa: E402
from volatility3.framework.symbols import intermed  # noqa: E402

ctx = contexts.Context()
table = intermed.IntermediateSymbolTable(context=ctx, config_path="check", name="isf", isf_url="file://" + isf)
ctx.symbol_space.append(table)
biggest = max((table.get_type(n).size for n in table.types), default=0)
ctx.add_layer(BufferDataLayer(ctx, "check.layer", "zeros", bytes(biggest + 64)))

errors = []
types = members = 0
for name in sorted(table.types):
    try:
        tmpl = table.get_type(name)
        types += 1
        if not hasattr(tmpl.vol, "members"):
            continue
        obj = ctx.object("isf!" + name, "zeros", 0)
        for member in tmpl.vol.members:
            getattr(obj, member)
            members += 1
    except Exception as e:  # report every failure, keep going
        errors.append(f"type {name}: {type(e).__name__}: {e}")
enums = 0
for name in table.enumerations:
    try:
        table.get_enumeration(name).choices
        enums += 1
    except Exception as e:
        errors.append(f"enum {name}: {type(e).__name__}: {e}")
symbols = 0
for name in table.symbols:
    try:
        table.get_symbol(name).address
        symbols += 1
    except Exception as e:
        errors.append(f"symbol {name}: {type(e).__name__}: {e}")

print(f"{os.path.basename(isf)}: {types} types, {members} members read, {enums} enums, {symbols} symbols, {len(errors)} errors")
for e in errors[:20]:
    print("  " + e)
sys.exit(1 if errors else 0)
