# Runs under CPython and MicroPython alike: feeds stdin to a Console and writes the replies and the
# DRQ changes it asked for.
import sys

import console

out = sys.stdout.buffer


def set_drq(on):
    out.write(b"drq->" + (b"1" if on else b"0") + b"\n")


con = console.Console(set_drq, lambda: "@H stub", "9.9.9", 7)
data = sys.stdin.buffer.read()
for i in range(0, len(data), 3):  # 3-byte reads split commands and CR LF pairs
    for line in con.feed(data[i:i + 3]):
        out.write(line.encode() + b"\n")
