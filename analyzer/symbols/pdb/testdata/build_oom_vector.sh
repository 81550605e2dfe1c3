#!/bin/sh
# Rebuilds oom_vector_x64_pdb.pdb.gz: the wine corpus's oom_vector program
# built the way ../../../../../shared/testdata/wine/src/make_dumps.sh builds
# its *_pdb variants (clang 14 --target=x86_64-w64-mingw32 -gcodeview, lld 14),
# whose PDB the corpus does not ship. Needs clang, lld, mingw-w64.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../../../../shared/testdata/wine/src" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src/oom_vector.cpp" "$src/crashkit.h" "$tmp/"
cd "$tmp"
t=x86_64-w64-mingw32
gl=$(ls -d /usr/lib/gcc/$t/*-win32 | head -1)
clang++ --target=$t -O0 -g -gcodeview -Wall -Wno-unused-function \
	-isystem "$gl/include/c++" -isystem "$gl/include/c++/$t" -isystem "$gl/include/c++/backward" \
	-ffile-prefix-map="$tmp=C:/crashlab/src" -fdebug-compilation-dir=C:/crashlab/src \
	-DCK_BUILD_TAG='"pdb"' -c oom_vector.cpp -o oom.o
clang++ --target=$t -fuse-ld=lld -L"$gl" -static -o oom_vector_x64_pdb.exe oom.o \
	-Wl,--pdb=oom_vector_x64_pdb.pdb -Wl,--Xlink=/pdbaltpath:%_PDB% -Wl,--Xlink=/pdbsourcepath:C:/crashlab/src -ldbghelp
gzip -9 -c oom_vector_x64_pdb.pdb >"$here/oom_vector_x64_pdb.pdb.gz"
