# Runs under MicroPython: frames and decodes a file of telegrams as the reader does (p1frame, reading) and prints
# one JSON line per closed quarter ({"quarter": …}) and per new alert ({"alert": …, "seq": n}).
# Arguments: the telegram file, the 1.4.0 reading (capacity.ENERGY_OVER_QUARTER or ELAPSED_AVERAGE), the cap (W).
import json
import sys

import p1frame
import reading

framer = p1frame.Framer()
meter = reading.Reading(cap_w=int(sys.argv[3]), reading=sys.argv[2])
seq = 0
with open(sys.argv[1], "rb") as f:
    while True:
        chunk = f.read(4096)
        if not chunk:
            break
        for report in framer.feed(chunk):
            if report.verdict not in ("ok", "ok-nocrc"):
                continue
            seq += 1
            meter.take(bytes(report.telegram))
            for q in meter.closed:
                print(json.dumps({"quarter": q, "seq": seq}))
            for a in meter.events:
                print(json.dumps({"alert": json.loads(a), "seq": seq}))
            meter.closed, meter.events = [], []
print(json.dumps({"telegrams": seq, "state": meter.state}))
