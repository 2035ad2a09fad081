"""Measurements that carry their limits, and the outcome of judging them.

A step declares each measurement with a name, unit and low/high limits, optionally a marginal band
inside the limits; ``judge()`` turns the value into an :class:`Outcome`.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any


class Outcome(str, enum.Enum):
    PASS = "PASS"
    MARGINAL = "MARGINAL"
    FAIL = "FAIL"
    ERROR = "ERROR"  # the step could not measure (exception, lost port, timeout)
    SKIPPED = "SKIPPED"  # not run because an earlier step failed

    @staticmethod
    def worst(outcomes) -> "Outcome":
        order = [Outcome.PASS, Outcome.SKIPPED, Outcome.MARGINAL, Outcome.FAIL, Outcome.ERROR]
        outs = list(outcomes)
        return max(outs, key=order.index) if outs else Outcome.PASS


@dataclass
class Measurement:
    """One named value with unit and limits.

    ``low``/``high`` are inclusive limits (None = unbounded). ``marginal`` is the width of the band
    just inside each limit that is judged MARGINAL (same unit as the value). Non-numeric measurements
    (booleans, strings) compare against ``expect``.
    """

    name: str
    value: Any
    unit: str = ""
    low: float | None = None
    high: float | None = None
    marginal: float = 0.0
    expect: Any = None
    note: str = ""
    outcome: Outcome = field(default=Outcome.PASS)

    def __post_init__(self) -> None:
        self.outcome = self.judge()

    def judge(self) -> Outcome:
        v = self.value
        if v is None:
            return Outcome.ERROR
        if self.expect is not None or isinstance(v, (bool, str)):
            return Outcome.PASS if v == self.expect else Outcome.FAIL
        if isinstance(v, float) and math.isnan(v):
            return Outcome.FAIL
        if self.low is not None and v < self.low:
            return Outcome.FAIL
        if self.high is not None and v > self.high:
            return Outcome.FAIL
        m = self.marginal
        if m and ((self.low is not None and v < self.low + m) or (self.high is not None and v > self.high - m)):
            return Outcome.MARGINAL
        return Outcome.PASS

    def limits_text(self) -> str:
        if self.expect is not None:
            return f"= {self.expect}"
        lo = "" if self.low is None else f"{self.low:g}"
        hi = "" if self.high is None else f"{self.high:g}"
        if lo and hi:
            return f"{lo} … {hi}"
        if lo:
            return f"≥ {lo}"
        if hi:
            return f"≤ {hi}"
        return "(record only)"

    def value_text(self) -> str:
        if isinstance(self.value, float):
            return f"{self.value:.4g}"
        return str(self.value)

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        text = f"{self.name} = {self.value_text()}{unit} (limits {self.limits_text()}{unit})"
        return text + (f": {self.note}" if self.note else "")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "low": self.low,
            "high": self.high,
            "marginal": self.marginal or None,
            "expect": self.expect,
            "outcome": self.outcome.value,
            "note": self.note,
        }


@dataclass
class StepResult:
    """What one step measured and how it ended."""

    index: int
    name: str
    title: str
    measurements: list[Measurement] = field(default_factory=list)
    outcome: Outcome = Outcome.PASS
    error: str = ""
    started: str = ""
    duration_s: float = 0.0

    def finish(self) -> None:
        if self.outcome in (Outcome.ERROR, Outcome.SKIPPED):
            return
        self.outcome = Outcome.worst([m.outcome for m in self.measurements] + [self.outcome])

    def reason(self) -> str:
        """The first thing that went wrong, for the progress and final line."""
        if self.error:
            return self.error
        for m in self.measurements:
            if m.outcome in (Outcome.FAIL, Outcome.ERROR):
                return m.describe()
        return ""

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "name": self.name,
            "title": self.title,
            "outcome": self.outcome.value,
            "error": self.error,
            "started": self.started,
            "duration_s": round(self.duration_s, 3),
            "measurements": [m.to_dict() for m in self.measurements],
        }
