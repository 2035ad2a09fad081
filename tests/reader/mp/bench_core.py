# Runs under MicroPython (`make bench`): the reader's per-telegram work — framing, decoding, the capacity tariff,
# the state topics (firmware p1frame and reading) — on a file of telegrams, unpaced. Prints one JSON line: the
# telegrams, the milliseconds, and gc.mem_alloc() after gc.collect() every `per_hour` telegrams (a simulated hour).
# Arguments: the telegram file, telegrams per simulated hour, a scratch folder for the register file.
import gc
import json
import sys
import time

import p1frame
import reading

framer = p1frame.Framer()
meter = reading.Reading(registers_path=sys.argv[3] + "/registers.json")
per_hour = int(sys.argv[2])
seq = 0
heap = []
buf = bytearray(2048)  # one buffer, as the board's UART reads: no chunk of the file on the heap
view = memoryview(buf)


def chunk(n):
    """The telegrams that end in the next n bytes; True when a simulated hour has passed. A function, so its
    temporaries are off the stack MicroPython's collector scans when the heap is sampled."""
    global seq
    due = False
    for report in framer.feed(view[:n]):
        if report.verdict in ("ok", "ok-nocrc"):
            meter.take(report.telegram)
            meter.closed, meter.events = [], []
            seq += 1
            due = due or seq % per_hour == 0
    return due


start = time.ticks_ms()
with open(sys.argv[1], "rb") as f:
    while True:
        n = f.readinto(buf)
        if not n:
            break
        if chunk(n):
            gc.collect()
            heap.append(gc.mem_alloc())
ms = time.ticks_diff(time.ticks_ms(), start)
print(json.dumps({"telegrams": seq, "ms": ms, "heap": heap}))
