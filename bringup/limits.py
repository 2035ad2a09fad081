"""The limits table: every measurement each step records — name, unit, limits — known before a run, as the loop
over the steps' own declarations (``Step.declares``) for a station and the captures it replays;
``p1reader bringup limits`` prints it.
"""
from __future__ import annotations

from meter.capture import Capture

from .measurement import Limits
from .station import Station
from .steps import STEPS


def table(st: Station, captures: Capture | None = None) -> Limits:
    """The declared measurements of a run on `st` replaying `captures` (``plan.check`` frames them)."""
    return Limits({step.name: step.declares(st, captures) for step in STEPS})


def format_table(t: Limits, station_name: str) -> str:
    """The table as text, one line per measurement, in step order."""
    rows = [("step", "measurement", "unit", "limits", "note")]
    rows += [(s.step, s.name, s.unit, s.limits_text(), s.note) for s in t.specs]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    rows.insert(1, tuple("-" * w for w in widths))
    head = f"limits table for station {station_name}: {len(t.specs)} measurements in {len(t.steps())} steps"
    return "\n".join([head] + ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows])
