#!/usr/bin/env python3
"""Regenerates golden_symbolizer.tsv from llvm-symbolizer (Debian llvm 14+).

Samples .text of each MinGW exe every STEP bytes and records what
llvm-symbolizer --no-inlines reports for addresses with DWARF line info:
exe, RVA, function (demangled), file, line. Run from this directory:
    python3 make_golden.py ../../../../../shared/testdata/wine/dumps > golden_symbolizer.tsv
"""
import json, subprocess, sys, glob, os, re

STEP = 0xd3
root = sys.argv[1]
for exe in sorted(glob.glob(os.path.join(root, "*", "*_mingw.exe"))):
    name = os.path.basename(exe)
    if "custom" in name:  # same code as the non-custom build
        continue
    hdr = subprocess.run(["llvm-objdump", "-h", exe], capture_output=True, text=True).stdout
    m = re.search(r"\.text\s+([0-9a-f]+)\s+([0-9a-f]+)", hdr)
    size, vma = int(m.group(1), 16), int(m.group(2), 16)
    base = vma & ~0xffff if vma < 0x100000000 else 0x140000000
    addrs = [vma + off for off in range(0, size, STEP)]
    out = subprocess.run(["llvm-symbolizer", "--obj=" + exe, "--no-inlines", "--output-style=JSON"],
                         input="\n".join(hex(a) for a in addrs), capture_output=True, text=True).stdout
    for line in out.splitlines():
        d = json.loads(line)
        s = d["Symbol"][0]
        if not s["FileName"] or s["Line"] == 0:
            continue
        print("\t".join([name, hex(int(d["Address"], 16) - base), s["FunctionName"], s["FileName"], str(s["Line"])]))
