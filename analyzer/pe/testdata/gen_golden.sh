#!/bin/sh
# Regenerates the oracle outputs the tests compare against, from the shared
# test images (Debian llvm 14: llvm-readobj, llvm-objdump).
# Run from analyzer/pe: sh testdata/gen_golden.sh
set -eu
T=../../../shared/testdata/wine/dumps
out=testdata/golden
for f in $T/_wine_dlls/x64/*.dll $T/*/*.exe; do
	b=$(basename "$f")
	llvm-readobj --file-headers --coff-debug-directory --coff-exports --sections "$f" |
		grep -v "^File: " | gzip -9n >"$out/$b.readobj.txt.gz"
	# llvm-readobj 14 does not print forwarders; llvm-objdump -p does.
	llvm-objdump -p "$f" | awk '/^Export Table:/{p=1} p' | gzip -9n >"$out/$b.exports.txt.gz"
done
