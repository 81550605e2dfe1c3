#!/usr/bin/env bash
# Regenerates stackwalk.golden: Breakpad's minidump_stackwalk (npm package
# `minidump`, pinned below) run without symbols or images over every real
# Windows dump in shared/testdata, keeping the crashing thread's frames.
# Per dump: a "dump PATH THREAD" line (THREAD: Breakpad's crashing thread
# index), then one "ADDRESS MODULE" line per frame, ADDRESS being what
# Breakpad prints (the PC for frame 0, return address - 1 for callers) made
# absolute. Run from the repository root: analyzer/testdata/breakpad/gen.sh
set -euo pipefail
VERSION=0.26.0
root=$(pwd)
shared=${SHARED_TESTDATA:-$root/../shared/testdata}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/dumptriage/minidump-$VERSION
sw=$cache/package/bin/linux-x64/minidump_stackwalk
if [ ! -x "$sw" ]; then
  mkdir -p "$cache"
  (cd "$cache" && npm pack "minidump@$VERSION" >/dev/null 2>&1 && tar xzf "minidump-$VERSION.tgz")
fi
python3 - "$sw" "$shared" "$root/analyzer/testdata/breakpad/stackwalk.golden" "$VERSION" <<'PY'
import glob, json, os, subprocess, sys
sw, shared, out, version = sys.argv[1:]
pf = json.load(open(os.path.join(shared, "public", "facts.json")))
rels = ["public/" + r for r, f in pf.items() if f.get("os", "").startswith("Windows") and not f.get("errors")]
rels += [os.path.relpath(p, shared) for p in glob.glob(os.path.join(shared, "wine", "dumps", "*", "*.dmp"))]
lines = ["# minidump_stackwalk -m (npm minidump@%s), no symbols: crashing-thread frames" % version]
for rel in sorted(rels):
    r = subprocess.run([sw, "-m", os.path.join(shared, rel)], capture_output=True, text=True, errors="replace")
    base, crash, frames = {}, None, []
    for l in r.stdout.splitlines():
        f = l.split("|")
        if f[0] == "Module" and len(f) > 5:
            base[f[1]] = int(f[5], 16)
        elif f[0] == "Crash" and len(f) > 3 and f[3] != "":
            crash = f[3]
        elif crash is not None and f[0] == crash and len(f) > 6:
            a = int(f[6], 16) + (base.get(f[2], 0) if f[2] else 0)
            frames.append("%#x %s" % (a, f[2]))
    if crash is None:
        continue
    lines.append("dump %s %s" % (rel, crash))
    lines += frames
open(out, "w").write("\n".join(lines) + "\n")
print("wrote", out)
PY
