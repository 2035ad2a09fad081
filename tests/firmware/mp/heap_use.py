# Runs under MicroPython: bytes the firmware's start-up objects take from the heap (gc.mem_alloc).
import gc

import console
import p1frame
import s1frame

gc.collect()
before = gc.mem_alloc()
framer = p1frame.Framer()
counter = s1frame.Counter()
con = console.Console(lambda on: None, lambda: "", p1frame.FIRMWARE_VERSION, p1frame.PROTOCOL_VERSION, counter)
gc.collect()
print("heap bytes used by framer, S1 counter and console:", gc.mem_alloc() - before)
