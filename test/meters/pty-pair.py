"""Two pseudo-terminals joined back to back: a serial line for Modbus RTU tests without hardware.

Prints the two device paths as a JSON list, then copies bytes between them until stdin closes.
"""
import json
import os
import pty
import select
import sys
import tty

m1, s1 = pty.openpty()
m2, s2 = pty.openpty()
for fd in (s1, s2):
    tty.setraw(fd)
print(json.dumps([os.ttyname(s1), os.ttyname(s2)]), flush=True)
while True:
    ready, _, _ = select.select([m1, m2, sys.stdin], [], [])
    if sys.stdin in ready and not sys.stdin.read(1):
        break
    for src, dst in ((m1, m2), (m2, m1)):
        if src in ready:
            try:
                data = os.read(src, 4096)
            except OSError:
                data = b''
            if data:
                os.write(dst, data)
