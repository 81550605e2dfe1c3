#!/usr/bin/env python3
"""Regenerates *.golden.tsv from llvm-pdbutil 14 (the oracle).

For every procedure record (S_GPROC32, S_LPROC32 and the _ID kinds) it
samples the first, middle and last byte and records the name, start, size
and the source line that llvm-pdbutil's line tables give for the address.
For function publics that no procedure covers it records the public.
Columns: rva, raw name, start rva, size, file, line, kind (proc|public).
"""
import gzip, os, re, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.normpath(os.path.join(here, "../../../../../shared/testdata"))

PDBS = {
    "crash": "public/getsentry__symbolic/symbolic-testutils/fixtures/windows/crash.pdb",
    "sigsegv": "public/llvm-mirror__lldb/test/Shell/Minidump/Windows/Sigsegv/Inputs/sigsegv.pdb",
    "av_threads_x64": "wine/dumps/av_threads/av_threads_x64_pdb.pdb",
    "av_threads_x86": "wine/dumps/av_threads/av_threads_x86_pdb.pdb",
    "heap_nomem_x64": "wine/dumps/heap_nomem/heap_nomem_x64_pdb.pdb",
    "stack_overflow_x64": "wine/dumps/stack_overflow/stack_overflow_x64_pdb.pdb",
    "stack_overflow_x86": "wine/dumps/stack_overflow/stack_overflow_x86_pdb.pdb",
    "va_commit_x64": "wine/dumps/va_commit/va_commit_x64_pdb.pdb",
    "oom_vector_x64": None,  # testdata/oom_vector_x64_pdb.pdb.gz
}


def pdbutil(path, *args):
    return subprocess.run(["llvm-pdbutil", "dump", *args, path], check=True,
                          capture_output=True, text=True, errors="replace").stdout


def generate(name, path):
    secs = [int(m, 16) for m in re.findall(r"^\s+([0-9A-F]+) virtual address$", pdbutil(path, "-section-headers"), re.M)]

    def rva(seg, off):
        return secs[seg - 1] + off

    procs = []
    cur = None
    for line in pdbutil(path, "-symbols").splitlines():
        m = re.match(r"\s*\d+ \| (S_[GL]PROC32(?:_ID)?) \[size = \d+\] `(.*)`$", line)
        if m:
            cur = m.group(2)
            continue
        m = re.match(r"\s*parent = \d+, end = \d+, addr = (\d+):(\d+), code size = (\d+)", line)
        if m and cur is not None:
            procs.append((rva(int(m.group(1)), int(m.group(2))), int(m.group(3)), cur))
        cur = None

    pubs = []
    cur = None
    for line in pdbutil(path, "-publics").splitlines():
        m = re.match(r"\s*\d+ \| S_PUB32 \[size = \d+\] `(.*)`$", line)
        if m:
            cur = m.group(1)
            continue
        m = re.match(r"\s*flags = (.*), addr = (\d+):(\d+)$", line)
        if m and cur is not None and ("function" in m.group(1) or "code" in m.group(1)):
            pubs.append((rva(int(m.group(2)), int(m.group(3))), cur))
        cur = None

    # Line blocks: (start, end, file, [(off, line)]), merged per range.
    # llvm-pdbutil 14 repeats the previous module's blocks (with unknown file
    # names) for modules without a symbol stream: the first module wins.
    blocks = {}
    owner = {}
    fname = ""
    blk = None
    mod = None
    for line in pdbutil(path, "-l").splitlines():
        if line.startswith("Mod "):
            fname = ""
            mod = line
            blk = None
            continue
        m = re.match(r"^(\S.*) \((?:MD5|SHA1|SHA256|None)[^)]*\)$", line)
        if m:
            fname = m.group(1)
            continue
        m = re.match(r"^\s+(\d+):([0-9A-F]+)-([0-9A-F]+), line/addr entries = \d+", line)
        if m:
            seg = int(m.group(1))
            key = (rva(seg, int(m.group(2), 16)), rva(seg, int(m.group(3), 16)))
            if owner.setdefault(key, mod) != mod:
                blk = None
                continue
            blk = blocks.setdefault(key, [])
            base = secs[seg - 1]
            continue
        if blk is not None:
            # NSI: a hidden-code marker (0xF00F00 / 0xFEEFEE), reported as no line.
            for lm in re.finditer(r"(\d+|NSI) ([0-9A-F]{8})", line):
                ln = 0 if lm.group(1) == "NSI" else int(lm.group(1))
                if ln in (0xFEEFEE, 0xF00F00):
                    ln = 0
                blk.append((base + int(lm.group(2), 16), ln, fname))

    def line_for(a):
        for (s, e), ents in blocks.items():
            if s <= a < e:
                best = None
                for off, ln, fn in sorted(ents, key=lambda x: x[0]):
                    if off <= a:
                        best = (fn, ln)
                if best:
                    return best
        return ("", 0)

    rows = []
    for start, size, pname in procs:
        if size == 0:
            continue
        for a in sorted({start, start + size // 2, start + size - 1}):
            covering = [p for p in procs if p[0] <= a < p[0] + p[1]]
            if len(covering) != 1:
                continue
            fn, ln = line_for(a)
            rows.append((a, pname, start, size, fn, ln, "proc"))
    pub_at = {}
    for a, n in pubs:
        pub_at.setdefault(a, []).append(n)
    for a, names in sorted(pub_at.items()):
        if len(names) != 1 or any(p[0] <= a < p[0] + p[1] for p in procs):
            continue
        rows.append((a, names[0], a, 0, "", 0, "public"))
    rows.sort()
    with open(os.path.join(here, name + ".golden.tsv"), "w") as out:
        for a, n, s, z, fn, ln, k in rows:
            out.write("%x\t%s\t%x\t%d\t%s\t%d\t%s\n" % (a, n, s, z, fn, ln, k))
    print(name, len(rows), "rows")


for name, rel in PDBS.items():
    if rel is None:
        with tempfile.NamedTemporaryFile(suffix=".pdb") as tmp:
            tmp.write(gzip.open(os.path.join(here, "oom_vector_x64_pdb.pdb.gz")).read())
            tmp.flush()
            generate(name, tmp.name)
    else:
        generate(name, os.path.join(shared, rel))
