#!/usr/bin/env bash
# build.sh - rebuild the inline-frame fixtures and their goldens, the way
# ../../../../shared/testdata/wine/src/make_dumps.sh builds its programs,
# but at -O2:
#   inline_pdb.exe + inline_pdb.pdb   clang -gcodeview, lld-link PDB (Debian clang/lld 14)
#   inline_mingw.exe                  x86_64-w64-mingw32-gcc -gdwarf-4 (DWARF in the image)
# Goldens, from the independent LLVM tools (LLVM 16: llvm-symbolizer 14 puts
# PDB inline-site line changes one byte late):
#   *.symbolizer.txt  llvm-symbolizer --inlining --output-style=GNU at every byte of outer()
#   inline_pdb.inlinesites.txt  the S_INLINESITE records of llvm-pdbutil dump --symbols
# Packages: clang lld llvm llvm-16 gcc-mingw-w64-x86-64. The tests read the
# committed outputs and need none of them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
T=x86_64-w64-mingw32
PREFIX="-ffile-prefix-map=$PWD=C:/inline/src"

NOCRT=(-nostdlib -nostartfiles -Wl,-e,mainCRTStartup)

x86_64-w64-mingw32-gcc -O2 -gdwarf-4 $PREFIX "${NOCRT[@]}" -o inline_mingw.exe inline.c

clang --target=$T -O2 -g -gcodeview $PREFIX -fdebug-compilation-dir=C:/inline/src -c inline.c -o inline_pdb.o
clang --target=$T -fuse-ld=lld "${NOCRT[@]}" -o inline_pdb.exe inline_pdb.o \
    -Wl,--pdb=inline_pdb.pdb -Wl,--Xlink=/pdbaltpath:%_PDB% -Wl,--Xlink=/pdbsourcepath:C:/inline/src
rm -f inline_pdb.o

LLVM=${LLVM:-/usr/lib/llvm-16/bin}
# Goldens. Every byte of outer(), as virtual addresses (ImageBase 0x140000000).
addrs() { local lo=$1 hi=$2; for ((a = lo; a < hi; a++)); do printf '0x%x\n' "$a"; done; }
read -r seg off size < <(llvm-pdbutil dump --symbols inline_pdb.pdb |
    grep -A1 'S_GPROC32 .*`outer`' | sed -n 's/.*addr = \([0-9A-Fa-f]*\):\([0-9]*\), code size = \([0-9]*\).*/\1 \2 \3/p')
[ "$seg" = 0001 ] || { echo "outer not in section 1" >&2; exit 1; }
lo=$((0x140001000 + 10#$off))
addrs $lo $((lo + size)) | "$LLVM/llvm-symbolizer" --obj=inline_pdb.exe --inlining --output-style=GNU --addresses >inline_pdb.symbolizer.txt
lo=$(llvm-dwarfdump --name=outer inline_mingw.exe | sed -n 's/.*DW_AT_low_pc.*(\(0x[0-9a-f]*\)).*/\1/p' | tail -1)
hi=$(llvm-dwarfdump --name=outer inline_mingw.exe | sed -n 's/.*DW_AT_high_pc.*(\(0x[0-9a-f]*\)).*/\1/p' | tail -1)
addrs $((lo)) $((hi)) | "$LLVM/llvm-symbolizer" --obj=inline_mingw.exe --inlining --output-style=GNU --addresses >inline_mingw.symbolizer.txt
"$LLVM/llvm-pdbutil" dump --symbols inline_pdb.pdb >inline_pdb.symbols.txt
