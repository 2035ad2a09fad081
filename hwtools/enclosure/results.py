"""One figure of the case's checks (fit, printability): the check, the part it names, the value and its limit."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Result:
    check: str
    passed: bool
    part: str
    value: float
    limit: float
    text: str

    def __str__(self):
        return f"{'PASS' if self.passed else 'FAIL'} {self.check}: {self.text}"

    def as_json(self) -> dict:
        return asdict(self)
