# Runs under MicroPython (`make bench`): the S1 counter's cost per frame (firmware s1frame), on a synthetic
# stream fed in 1024-byte reads as the board's UART gives them. Prints one JSON line: frames, microseconds.
import json
import sys
import time

import s1frame

with open(sys.argv[1], "rb") as f:
    data = f.read()
counter = s1frame.Counter()
start = time.ticks_us()
for i in range(0, len(data), 1024):
    counter.feed(data[i:i + 1024])
us = time.ticks_diff(time.ticks_us(), start)
print(json.dumps({"frames": counter.frames, "us": us}))
