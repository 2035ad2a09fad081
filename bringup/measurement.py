"""Measurements that carry their limits, the declarations they are made from, and the outcome of judging them:
a step declares its :class:`Spec` list, a run's declarations make one :class:`Limits` table, a
:class:`Measurement` made from a spec judges itself (:class:`Outcome`), and a run ends in one :class:`Category`.
"""
from __future__ import annotations

import enum
import math
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable

from .errors import BringupError


class Outcome(str, enum.Enum):
    PASS = "PASS"
    MARGINAL = "MARGINAL"
    FAIL = "FAIL"
    ERROR = "ERROR"  # the step could not measure (exception, lost port, timeout)
    SKIPPED = "SKIPPED"  # not run because an earlier step failed

    @staticmethod
    def worst(outcomes) -> "Outcome":
        order = [Outcome.PASS, Outcome.SKIPPED, Outcome.MARGINAL, Outcome.FAIL, Outcome.ERROR]
        return max(outcomes, key=order.index, default=Outcome.PASS)


class Category(enum.StrEnum):
    """What a finished run means for the yield: the board got a verdict (pass, fail), or it was not judged
    — the operator stopped the run (aborted) or the station could not test (station error: the bench
    could not start, its self-check failed, or the harness failed)."""

    PASS = "pass"
    FAIL = "fail"
    ABORTED = "aborted"
    STATION_ERROR = "station error"


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
    outcome: Outcome = field(default=Outcome.PASS)  # judged from the rest when made
    note: str = ""

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

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        value = f"{self.value:.4g}" if isinstance(self.value, float) else str(self.value)
        text = f"{self.name} = {value}{unit} (limits {self.limits_text()}{unit})"
        return text + (f": {self.note}" if self.note else "")

    def to_dict(self) -> dict:
        return {**asdict(self), "marginal": self.marginal or None, "outcome": self.outcome.value}


class DeclarationError(BringupError):
    """A step's measurements and its declarations disagree (a harness bug): a measurement recorded that is
    not declared, or not with the declared unit and limits, or a name declared twice."""


@dataclass(frozen=True)
class Spec:
    """One declared measurement. ``expect`` for exact (non-numeric) ones; ``low``/``high`` inclusive,
    None = unbounded; ``marginal`` the MARGINAL band inside each limit. A step declares its specs without
    its own name: the table sets ``step``."""

    name: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    expect: Any = None
    marginal: float = 0.0
    note: str = ""  # what the limit means, for the printed table
    step: str = ""

    def measure(self, value: Any, note: str = "") -> Measurement:
        return Measurement(self.name, value, self.unit, self.low, self.high, self.marginal, self.expect, note=note)

    def limits_text(self) -> str:
        return self.measure(None).limits_text()


class Limits:
    """The declared measurements of one run, in step order: ``{step name: its specs}``."""

    def __init__(self, declared: dict[str, Iterable[Spec]] | None = None):
        self.specs = [replace(s, step=step) for step, specs in (declared or {}).items() for s in specs]
        self._by_key = {(s.step, s.name): s for s in self.specs}
        twice = [f"step {step}: {name!r}" for (step, name), n in Counter((s.step, s.name) for s in self.specs).items()
                 if n > 1]
        if twice:
            raise DeclarationError(f"declared twice: {', '.join(twice)}")

    def spec(self, step: str, name: str) -> Spec:
        try:
            return self._by_key[(step, name)]
        except KeyError:
            raise DeclarationError(f"step {step}: measurement {name!r} is not declared") from None

    def check(self, step: str, measurements: list[Measurement]) -> None:
        """Every measurement a step returned must be declared, with the declared unit and limits."""
        for m in measurements:
            s = self.spec(step, m.name)
            if (m.name, m.unit, m.low, m.high, m.expect, m.marginal or 0.0) != (
                    s.name, s.unit, s.low, s.high, s.expect, s.marginal or 0.0):
                raise DeclarationError(
                    f"step {step}: measurement {m.name!r} recorded with unit {m.unit!r} and limits "
                    f"{m.limits_text()}, declared {s.unit!r} {s.limits_text()}")

    def steps(self) -> list[str]:
        return list(dict.fromkeys(s.step for s in self.specs))


@dataclass
class StepResult:
    """What one step measured and how it ended. ``station_fault``: the station, not the board, could not
    do the step (the bench could not start, its self-check failed, the harness failed)."""

    index: int
    name: str
    title: str
    measurements: list[Measurement] = field(default_factory=list)
    outcome: Outcome = Outcome.PASS
    error: str = ""
    started: str = ""
    duration_s: float = 0.0
    station_fault: bool = False

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
        """The step as the record keeps it, in this key order (``station_fault`` is the record's category)."""
        keys = ("index", "name", "title", "outcome", "error", "started", "duration_s", "measurements")
        return {**{k: getattr(self, k) for k in keys}, "outcome": self.outcome.value,
                "duration_s": round(self.duration_s, 3), "measurements": [m.to_dict() for m in self.measurements]}
