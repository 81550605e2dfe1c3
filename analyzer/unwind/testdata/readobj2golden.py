#!/usr/bin/env python3
"""Turn `llvm-readobj --unwind X` output into one line per RUNTIME_FUNCTION.

Used to make the *.unwind.golden.gz files (see gen_golden.sh). A line is:
  start end unwindinfo v<version> f<flags> p<prolog> fr<frame reg> fo<frame offset> h<handler> | code; code; ...
with addresses as llvm-readobj prints them (virtual addresses) and each code
in llvm-readobj's own words, spaces removed.
"""
import re, sys

def hexof(s):
    m = re.search(r'\((0x[0-9A-Fa-f]+)\)', s)
    return m.group(1).lower() if m else '-'

out = []
cur = None
codes = False
for line in sys.stdin:
    s = line.strip()
    if s.startswith('RuntimeFunction {'):
        cur = {'codes': [], 'h': '-', 'fr': '-', 'fo': '-'}
    elif cur is None:
        continue
    elif s.startswith('StartAddress:'):
        cur['start'] = hexof(s)
    elif s.startswith('EndAddress:'):
        cur['end'] = hexof(s)
    elif s.startswith('UnwindInfoAddress:'):
        cur['ui'] = hexof(s)
    elif s.startswith('Version:'):
        cur['v'] = s.split()[1]
    elif s.startswith('Flags ['):
        cur['f'] = hexof(s)
    elif s.startswith('PrologSize:'):
        cur['p'] = s.split()[1]
    elif s.startswith('FrameRegister:'):
        cur['fr'] = s.split()[1]
    elif s.startswith('FrameOffset:'):
        cur['fo'] = s.split()[1].lower()
    elif s.startswith('UnwindCodes ['):
        codes = True
    elif codes and s == ']':
        codes = False
    elif codes:
        cur['codes'].append(s.replace(' ', ''))
    elif s.startswith('Handler:'):
        cur['h'] = hexof(s)
    elif s == '}' and 'start' in cur and 'v' in cur and not codes:
        # closes UnwindInfo first, then RuntimeFunction; emit once
        if not cur.get('done'):
            out.append('%s %s %s v%s f%s p%s fr%s fo%s h%s | %s' % (
                cur['start'], cur['end'], cur['ui'], cur['v'], cur['f'], cur['p'],
                cur['fr'], cur['fo'], cur['h'], ';'.join(cur['codes'])))
            cur['done'] = True
sys.stdout.write('\n'.join(out) + '\n')
