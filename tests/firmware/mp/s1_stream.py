# Runs under CPython and MicroPython alike: counts the S1 byte stream on stdin with s1frame.Counter
# and writes the '@S' line after every chunk group, the last frames as '@F' lines and the final
# counts. Chunk sizes cycle so frames split at many different places.
import sys

import s1frame

CHUNKS = (1, 44, 7, 45, 300, 2, 1000, 46, 3)

data = sys.stdin.buffer.read()
out = sys.stdout.buffer
counter = s1frame.Counter()
i = 0
k = 0
while i < len(data):
    n = CHUNKS[k % len(CHUNKS)]
    k += 1
    counter.feed(data[i:i + n])
    i += n
    if k % 50 == 0:
        out.write(s1frame.status_line(counter).encode() + b"\r\n")
for line in s1frame.frame_lines(counter, 20):
    out.write(line.encode() + b"\r\n")
counter.flush()
out.write(s1frame.status_line(counter, 3).encode() + b"\r\n")
