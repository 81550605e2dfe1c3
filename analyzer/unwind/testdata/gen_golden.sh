#!/bin/sh
# Regenerate the llvm-readobj goldens for the .pdata/.xdata decoder test.
# Needs Debian's llvm (llvm-readobj) and ../../../../shared/testdata.
set -e
cd "$(dirname "$0")"
T=../../../../shared/testdata/wine/dumps
for f in $T/_wine_dlls/x64/ntdll.dll $T/_wine_dlls/x64/kernelbase.dll $T/_wine_dlls/x64/ucrtbase.dll \
	$T/_wine_dlls/x64/msvcp140.dll $T/*/*_x64_*.exe; do
	llvm-readobj --unwind "$f" | python3 readobj2golden.py | gzip -9n > "$(basename "$f").unwind.golden.gz"
done
