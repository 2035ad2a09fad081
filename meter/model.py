"""A model of the meter's capacity-tariff registers, beside the telegram builder: a power profile, second by
second, becomes the import register, `1-0:1.4.0` (the running quarter), `1-0:1.6.0` (the month peak and its
time) and `0-0:98.1.0` (the history, written at each month's end) — the known answers for the reader firmware.

Quarters are fixed to the Belgian clock (:00, :15, :30, :45 local time, which are multiples of 900 s in UTC too:
the offsets are whole hours). What 1.4.0 holds during a quarter is one of the firmware's two readings
(firmware.capacity: energy so far ÷ 900 s, or ÷ the seconds elapsed); at the quarter's end both are the quarter's
average. Values are exact Decimals; the telegram shows them at the meter's resolution (1 Wh, 1 W).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal

from firmware.capacity import ELAPSED_AVERAGE, ENERGY_OVER_QUARTER, QUARTER_S

from .telegrams import BRUSSELS, TelegramSpec

MILLI = Decimal("0.001")


def local_clock(utc: datetime) -> datetime:
    """The naive local time the meter shows, `fold=1` in the hour that repeats in October (the builder's W)."""
    return utc.astimezone(BRUSSELS).replace(tzinfo=None)


@dataclass
class Quarter:
    start: datetime  # UTC
    energy_j: Decimal  # imported in the quarter (joules: exact, a second at a time)

    @property
    def average_w(self) -> Decimal:
        return self.energy_j / QUARTER_S


@dataclass
class MeterModel:
    t: datetime  # UTC, on a whole second
    import_j: Decimal = Decimal(1234567 * 3600)  # the import register, exact
    reading: str = ENERGY_OVER_QUARTER
    quarters: list[Quarter] = field(default_factory=list)  # closed quarters, oldest first
    month_peak: tuple[datetime, Decimal] | None = None  # (local quarter start, kW) of this month
    history: list[tuple[datetime, datetime, Decimal]] = field(default_factory=list)  # (month, peak time, kW)
    power_w: Decimal = Decimal(0)

    def __post_init__(self):
        self.quarter_start = self.t - timedelta(seconds=self.t.timestamp() % QUARTER_S)
        self.quarter_j = Decimal(0)

    @property
    def import_wh(self) -> Decimal:
        return self.import_j / 3600

    def step(self, power_w, seconds: int = 1) -> None:
        """`power_w` imported for `seconds`, second by second (quarters close on their boundary)."""
        self.power_w = Decimal(power_w)
        for _ in range(seconds):
            self.import_j += self.power_w
            self.quarter_j += self.power_w
            self.t += timedelta(seconds=1)
            if self.t.timestamp() % QUARTER_S == 0:
                self._close_quarter()

    def _close_quarter(self) -> None:
        q = Quarter(self.quarter_start, self.quarter_j)
        self.quarters.append(q)
        kw = (q.average_w / 1000).quantize(MILLI, ROUND_DOWN)
        if self.month_peak is None or kw > self.month_peak[1]:
            self.month_peak = (local_clock(q.start), kw)
        self.quarter_start, self.quarter_j = self.t, Decimal(0)
        month = local_clock(self.t)
        if month.day == 1 and month.hour == 0 and month.minute == 0:  # the month ended: into the history
            ended = (month - timedelta(days=1)).replace(day=1)
            self.history = (self.history + [(ended, *self.month_peak)])[-13:]
            self.month_peak = None

    def average_demand_kw(self) -> Decimal:
        """1-0:1.4.0 now, at the meter's resolution."""
        elapsed = Decimal(self.t.timestamp() % QUARTER_S)
        divisor = elapsed if self.reading == ELAPSED_AVERAGE else Decimal(QUARTER_S)
        w = self.quarter_j / divisor if divisor else Decimal(0)
        return (w / 1000).quantize(MILLI, ROUND_DOWN)

    def register_kwh(self) -> Decimal:
        return (self.import_wh / 1000).quantize(MILLI, ROUND_DOWN)

    def spec(self, name: str = "model") -> TelegramSpec:
        """The telegram the meter sends now (one phase, everything imported on tariff 1)."""
        peak_time, peak_kw = self.month_peak or (local_clock(self.t).replace(day=1, hour=0, minute=0, second=0),
                                                 Decimal("0.000"))
        return TelegramSpec(name=name, time=local_clock(self.t), used_t1=self.register_kwh(), used_t2=Decimal("0.000"),
                            avg_demand_kw=self.average_demand_kw(), max_demand_time=peak_time, max_demand_kw=peak_kw,
                            history=list(self.history),
                            power_used_kw=[(self.power_w / 1000).quantize(MILLI, ROUND_DOWN)])


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
