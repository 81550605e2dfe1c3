#!/bin/sh
# Regenerates undname_golden.tsv: decorated names (from the public symbols of
# the test PDBs, from corpus.cpp compiled for MSVC targets, and from
# extra_names.txt) with llvm-undname 14's output. "<error>" marks names
# llvm-undname rejects. Needs clang, llvm-nm, llvm-pdbutil, llvm-undname.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$(cd ../../../.. && pwd)
for p in $(find "$root/../shared/testdata" -name '*.pdb' -type f | sort); do
	llvm-pdbutil dump -publics "$p" | sed -n 's/.*S_PUB32 \[size = [0-9]*\] `\(?.*\)`$/\1/p'
done >"$tmp/names"
for t in x86_64-pc-windows-msvc i686-pc-windows-msvc; do
	clang++ --target=$t -std=c++17 -fms-extensions -Wno-everything -c corpus.cpp -o "$tmp/corpus.o"
	llvm-nm --just-symbol-name "$tmp/corpus.o" | grep '^[?.]' >>"$tmp/names" || true
done
grep -v '^#' extra_names.txt | grep -v '^$' >>"$tmp/names"
sort -u "$tmp/names" | while IFS= read -r n; do
	out=$(llvm-undname "$n" 2>/dev/null | sed -n 2p)
	[ -n "$out" ] || out='<error>'
	printf '%s\t%s\n' "$n" "$out"
done >undname_golden.tsv
wc -l undname_golden.tsv
