"""The bench of one run: instruments and ports opened in order, closed in reverse, supply off first.

Modelled on labgrid's activate/deactivate: a step asks for what it needs (``open_supply()``, …), the
bench opens it, remembers the order, and :meth:`Bench.close` undoes everything in reverse — after
turning the supply output off and reading it back, whatever state the run ended in. The steps talk
to instruments only through the :class:`~bringup.instruments.PowerSupply` and
:class:`~bringup.instruments.Multimeter` protocols. The station is only read, never changed.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

from .instruments import Multimeter, PowerSupply, open_instrument
from meter.simulator import MeterPort

from .console import BoardConsole
from .station import Station

if TYPE_CHECKING:
    from .limits import Limits
    from .measurement import Measurement


class Bench:
    def __init__(self, station: Station):
        self.station = station
        self.supply: PowerSupply | None = None
        self.dmm: Multimeter | None = None
        self.meter: MeterPort | None = None
        self.console: BoardConsole | None = None
        self.s1: MeterPort | None = None  # the S1 jig's adapter
        self.supply_on = False  # the power step turned the output on: close() must turn it off
        self.firmware = ""
        self.extra: dict[str, Any] = {}  # what steps hand to the runner (replay table, sim, rates)
        self.note: Callable[[str], None] = lambda text: None  # a long step's progress line (runner → operator)
        self.events: list[str] = []  # "open supply", …, "supply off", "close …": the order, for tests and logs
        self._opened: list[tuple[str, Any]] = []
        self.limits: Limits | None = None  # the declared measurements (bringup.limits), built on first use

    def band(self, low: float, high: float) -> float:
        return (high - low) * self.station.limits.marginal_fraction

    def measure(self, step: str, name: str, value, note: str = "") -> Measurement:
        """A measurement with the unit and limits the limits table declares for it (an undeclared
        name raises ``UndeclaredMeasurement``)."""
        if self.limits is None:
            from .limits import table

            self.limits = table(self.station)
        return self.limits.measure(step, name, value, note)

    def _opening(self, name: str, part):
        self._opened.append((name, part))
        self.events.append(f"open {name}")
        return part

    # --- activation, in the order the steps need them
    def open_supply(self) -> PowerSupply:
        """Open the supply and force its output off before anything else happens."""
        psu = self._opening("supply", open_instrument(self.station.supply))
        self.supply = psu
        psu.output(False)
        return psu

    def open_dmm(self) -> Multimeter:
        self.dmm = self._opening("dmm", open_instrument(self.station.dmm))
        return self.dmm

    def open_meter(self) -> MeterPort:
        m = self.station.meter
        self.meter = self._opening("meter port", MeterPort(m.url, m.baud, write_timeout=m.write_timeout_s,
                                                           line_state=m.line_state))
        return self.meter

    def open_console(self) -> BoardConsole:
        c = self.station.console
        self.console = self._opening("console", BoardConsole(c.url, c.baud, c.timeout_s))
        return self.console

    def open_s1(self, bytes_per_s: float | None) -> MeterPort:
        c = self.station.s1
        self.s1 = self._opening("S1 port", MeterPort(c.url, c.baud, write_timeout=c.write_timeout_s, chunk=900,
                                                     bytes_per_s=bytes_per_s, label="S1 port",
                                                     line_state=c.line_state))
        return self.s1

    # --- deactivation
    def supply_off(self) -> str:
        """Turn the output off (retrying) and read back the state: 'OFF', 'ON' or 'UNKNOWN: …'."""
        if self.supply is None:
            return "not opened"
        last = ""
        for _ in range(3):
            try:
                self.supply.output(False)
                state = "ON" if self.supply.output_state() else "OFF"
                self.events.append(f"supply off: {state}")
                return state
            except Exception as e:  # keep trying: this is the one thing that must happen
                last = str(e)
                time.sleep(0.1)
        self.events.append(f"supply off: UNKNOWN: {last}")
        return f"UNKNOWN: {last}"

    def close(self) -> str:
        """Supply output off first, then close everything in reverse order of opening; returns the
        supply state read back. Each close is bounded and its failure does not stop the others."""
        state = self.supply_off()
        for name, part in reversed(self._opened):
            try:
                part.close()
            except Exception:
                pass
            self.events.append(f"close {name}")
        self._opened.clear()
        return state
