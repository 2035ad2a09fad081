"""The offline ring: per-quarter aggregates kept in the flash folder until they are published, in order.

A fixed byte budget: when a new record does not fit, the oldest are dropped and counted. The file is one JSON
record per line, rewritten whole on each change (a quarter at most every 15 minutes on the meter's clock), so a
reset loses nothing that was written.
"""

import json


class Ring:
    def __init__(self, path, budget):
        self.path = path
        self.budget = budget
        self.records = []  # JSON lines, oldest first
        self.dropped = 0
        try:
            with open(path) as f:
                self.records = [line.strip() for line in f if line.strip()]
        except OSError:
            pass  # no ring yet

    def size(self):
        return sum(len(r) + 1 for r in self.records)

    def push(self, record):
        line = json.dumps(record)
        self.records.append(line)
        while self.size() > self.budget and len(self.records) > 1:
            self.records.pop(0)
            self.dropped += 1
        self._save()

    def first(self):
        return self.records[0] if self.records else None

    def pop(self):
        """The oldest record was published: forget it."""
        self.records.pop(0)
        self._save()

    def _save(self):
        with open(self.path, "w") as f:
            for line in self.records:
                f.write(line + "\n")
