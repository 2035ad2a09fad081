# Runs under CPython and MicroPython alike: frames the byte stream on stdin and writes what the board
# would write for it (echo + '@T' lines, then a final '@H' line). Chunk sizes cycle so frames split
# at many different places.
import sys

import p1frame

CHUNKS = (1, 7, 64, 3, 300, 2, 1000)

data = sys.stdin.buffer.read()
out = sys.stdout.buffer
framer = p1frame.Framer(int(sys.argv[1]) if len(sys.argv) > 1 else p1frame.MAX_TELEGRAM)
i = 0
k = 0
while i < len(data):
    n = CHUNKS[k % len(CHUNKS)]
    k += 1
    for report in framer.feed(data[i:i + n]):
        out.write(p1frame.console_bytes(report))
    i += n
for report in framer.idle():
    out.write(p1frame.console_bytes(report))
out.write(p1frame.heartbeat_line(framer, 1234, 5).encode() + b"\r\n")
