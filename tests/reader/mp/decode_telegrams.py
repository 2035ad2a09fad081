# Runs under MicroPython: decodes each telegram file named on the command line with the firmware's decoder and
# prints one JSON line per file: {"file": name, "objects": [[obis, [[value, unit], ...]], ...]}.
import json
import sys

import obis

for path in sys.argv[1:]:
    with open(path, "rb") as f:
        telegram = f.read()
    objects = [[code, [[v, u] for v, u in values]] for code, values, _ in obis.decode(telegram)]
    print(json.dumps({"file": path, "objects": objects}))
