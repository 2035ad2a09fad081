"""The limits table: every measurement each step records — name, unit, limits — declared before a run.

One table for a station (its ``limits:`` section, loopback sizes and S1 jig decide a few names and
limits). The steps build their measurements from it (:meth:`Limits.measure`), the runner refuses a
measurement the table does not declare, the record and the store keep the declared unit and limits
with every value, and ``p1reader-bringup limits`` prints it before a board is plugged in.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meter.lines import LINE_BYTES_PER_S, S1_LINE_FRAMES_PER_S

from .errors import BringupError
from .measurement import Measurement
from .plan import s1_expected, telegram_set
from .station import P1_TRIP_POINT_A, Station


class UndeclaredMeasurement(BringupError):
    """A step recorded a measurement the limits table does not declare (a harness bug)."""


@dataclass(frozen=True)
class Spec:
    """One declared measurement. ``expect`` for exact (non-numeric) ones; ``low``/``high`` inclusive,
    None = unbounded; ``marginal`` the MARGINAL band inside each limit."""

    step: str
    name: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    expect: Any = None
    marginal: float = 0.0
    note: str = ""  # what the limit means, for the printed table

    def measure(self, value: Any, note: str = "") -> Measurement:
        return Measurement(self.name, value, self.unit, self.low, self.high, self.marginal, self.expect, note=note)

    def matches(self, m: Measurement) -> bool:
        return (m.name, m.unit, m.low, m.high, m.expect, m.marginal or 0.0) == (
            self.name, self.unit, self.low, self.high, self.expect, self.marginal or 0.0)

    def limits_text(self) -> str:
        return self.measure(None).limits_text()


def loopback_labels(st: Station) -> list[str]:
    """Labels of the loopback sub-steps; each gets the five counts of :func:`loopback_specs`."""
    lb = st.loopback
    labels = [f"line rate #{k + 1}" if lb.line_rate_rounds > 1 else "line rate" for k in range(lb.line_rate_rounds)]
    if lb.slow_count:
        labels.append(f"one every {lb.slow_interval_s:g} s")
    return labels


def loopback_specs(step: str, label: str, n: int) -> list[Spec]:
    return [
        Spec(step, f"{label}: reports", "telegrams", n, n),
        Spec(step, f"{label}: echo byte-identical", "telegrams", n, n),
        Spec(step, f"{label}: board CRC verdict ok", "telegrams", n, n),
        Spec(step, f"{label}: dsmr_parser fields match", "telegrams", n, n),
        Spec(step, f"{label}: byte errors", "bytes", 0, 0),
    ]


def replay_specs(st: Station) -> list[Spec]:
    """The station's real telegram captures (``telegrams:``, ``--telegrams``), when it has any."""
    if not st.telegrams:
        return []
    from meter import capture

    complete = sum(e.complete for e in capture.load(st.telegrams).expected)
    return [
        Spec("loopback", "replay: complete telegrams reported as expected", "telegrams", complete, complete),
        Spec("loopback", "replay: errors (missing, extra or different reports)", "reports", 0, 0),
        Spec("loopback", "replay: decoder limitations", "telegrams", note="recorded; not a board fault"),
    ]


class Limits:
    """The table for one station, in step order; ``spec(step, name)`` finds one entry."""

    def __init__(self, specs: list[Spec]):
        self.specs = specs
        self._by_key = {(s.step, s.name): s for s in specs}

    def spec(self, step: str, name: str) -> Spec:
        try:
            return self._by_key[(step, name)]
        except KeyError:
            raise UndeclaredMeasurement(f"step {step}: measurement {name!r} is not in the limits table") from None

    def measure(self, step: str, name: str, value: Any, note: str = "") -> Measurement:
        return self.spec(step, name).measure(value, note)

    def check(self, step: str, measurements: list[Measurement]) -> None:
        """Every measurement a step returned must be declared, with the declared unit and limits."""
        for m in measurements:
            s = self.spec(step, m.name)
            if not s.matches(m):
                raise UndeclaredMeasurement(
                    f"step {step}: measurement {m.name!r} recorded with unit {m.unit!r} and limits "
                    f"{m.limits_text()}, declared {s.unit!r} {s.limits_text()}")

    def steps(self) -> list[str]:
        return list(dict.fromkeys(s.step for s in self.specs))


def table(st: Station) -> Limits:
    """Build the limits table for a station."""
    from firmware import p1frame

    lim = st.limits

    def band(lo: float, hi: float) -> float:
        return (hi - lo) * lim.marginal_fraction

    def station_limit(step: str, key: str, unit: str, note: str, name: str = "", marginal_scale: float = 1.0) -> Spec:
        """A measurement judged against the station's ``limits.<key>`` (named after the key unless told)."""
        lo, hi = getattr(lim, key)
        return Spec(step, name or key, unit, lo, hi, marginal=band(lo, hi) * marginal_scale, note=note)

    specs = [
        Spec("self_check", "supply identifies", expect=True, note="*IDN? answered"),
        Spec("self_check", "dmm identifies", expect=True, note="*IDN? answered"),
        Spec("self_check", "meter port opens", expect=True),
        Spec("self_check", "console port opens", expect=True),
        Spec("self_check", "firmware version", expect=p1frame.FIRMWARE_VERSION),
        Spec("self_check", "console protocol", expect=str(p1frame.PROTOCOL_VERSION)),
        Spec("power", "current limit", "A", 0.0, P1_TRIP_POINT_A, note="supply limit set before output on"),
        station_limit("power", "inrush_current_a", "A", "peak after turn-on"),
        station_limit("power", "idle_current_a", "A", "mean of 3 readings"),
        station_limit("power", "supply_voltage_v", "V", "at the supply"),
        station_limit("rails", "rail_3v3_v", "V", "DMM on the D32's 3V3 pin"),
        Spec("rails", "firmware asserts Data Request", expect="DRQ 1"),
    ]
    if st.meter.drq_via == "dmm":
        specs.append(station_limit("rails", "drq_v", "V", "RJ12 pin 2 under 1 kΩ"))
    elif st.meter.drq_via == "cts":
        specs.append(Spec("rails", "Data Request high (adapter CTS)", expect=True, note="logic level only"))
    else:
        specs.append(Spec("rails", "Data Request voltage", expect="not measured"))

    n = len(telegram_set(st))
    for label in loopback_labels(st):
        if label.startswith("one every"):
            specs += replay_specs(st)  # the captures are replayed between the line-rate and slow sub-steps
            specs += loopback_specs("loopback", label, st.loopback.slow_count)
        else:
            specs += loopback_specs("loopback", label, n)
    if not st.loopback.slow_count:
        specs += replay_specs(st)

    specs += [
        Spec("negatives", "wrong CRC flagged", expect="crc-error"),
        Spec("negatives", "truncated telegram flagged", expect="truncated"),
        Spec("negatives", "garbage bytes counted", "bytes", 256, 256),
        Spec("negatives", "telegram after garbage", expect="ok"),
        Spec("negatives", "lower-case CRC accepted and reported", expect="ok/case=lower"),
        Spec("negatives", "over-long frame flagged", expect="overflow"),
        Spec("negatives", "non-inverted input diagnosed", expect=True, note="'polarity looks wrong'"),
    ]

    tp = st.loopback.throughput_count
    specs += [s for s in loopback_specs("throughput", "throughput run", tp)
              if s.name.endswith(("reports", "byte errors"))]
    specs += [
        Spec("throughput", "throughput", "bytes/s", note=f"recorded; line {LINE_BYTES_PER_S:.0f} bytes/s"),
        station_limit("throughput", "throughput_ratio", "", "to 11,520 bytes/s", name="ratio to line rate",
                      marginal_scale=0.5),
    ]

    if st.s1 is not None:
        s = s1_expected(st.s1.frames)
        sent = len(s.data)
        specs += [
            Spec("s1", "S1 bytes received", "bytes", sent, sent),
            Spec("s1", "S1 frames", "frames", s.frames, s.frames, note="host decoder's count"),
            Spec("s1", "S1 FCS errors", "frames", s.fcs_errors, s.fcs_errors),
            Spec("s1", "S1 sequence gaps", "gaps", s.seq_gaps, s.seq_gaps),
            Spec("s1", "S1 bytes skipped", "bytes", s.skipped, s.skipped),
            Spec("s1", "S1 UART errors", "", 0, 0),
            Spec("s1", "S1 last 3 frames byte-identical", "frames", 3, 3),
            Spec("s1", "S1 send rate", "frames/s", note=f"recorded; line rate {S1_LINE_FRAMES_PER_S:,.0f}"),
        ]
    return Limits(specs)


def format_table(t: Limits, station_name: str) -> str:
    """The table as text, one line per measurement, in step order."""
    rows = [("step", "measurement", "unit", "limits", "note")]
    rows += [(s.step, s.name, s.unit, s.limits_text(), s.note) for s in t.specs]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    rows.insert(1, tuple("-" * w for w in widths))
    head = f"limits table for station {station_name}: {len(t.specs)} measurements in {len(t.steps())} steps"
    return "\n".join([head] + ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows])
