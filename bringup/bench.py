"""The bench of one run: ``with Bench(station, limits) as bench:`` (after labgrid's activate/deactivate). A step
asks for what it needs (``open_supply()``, …) and the bench opens it and remembers the order; leaving the
block — a normal end, an exception, Ctrl-C — turns the supply output off and reads it back, then closes
everything in reverse, each close bounded. "Powered" is the bench's state: only :meth:`Bench.power_on`
turns the output on. Steps make every measurement from the run's declarations (:meth:`Bench.measure`).
"""
from __future__ import annotations

import time
from typing import Any, Callable

from meter.capture import Capture
from meter.simulator import MeterPort

from .console import BoardConsole
from .instruments import InstrumentError, Multimeter, PowerSupply, open_instrument
from .measurement import Limits, Measurement
from .replay import TelegramRow
from .station import Station


class Bench:
    def __init__(self, station: Station, limits: Limits | None = None, captures: Capture | None = None):
        self.station = station
        self.limits = limits or Limits()  # the run's declared measurements (bringup.limits.table)
        self.captures = captures  # what step 4 replays, read and framed once (plan.check)
        self.supply: PowerSupply | None = None
        self.dmm: Multimeter | None = None
        self.meter: MeterPort | None = None
        self.console: BoardConsole | None = None
        self.s1: MeterPort | None = None  # the S1 jig's adapter
        self.powered = False  # the supply output may be on: from power_on() until it reads back off
        self.supply_after = "not opened"  # the supply state read back when the bench closed
        # What the run learned about the board beyond its measurements, for the record and the database:
        self.firmware = ""  # the version the board answered in step 1
        self.telegrams: list[TelegramRow] = []  # the replay's per-telegram table (step 4)
        self.note: Callable[[str], None] = lambda text: None  # a long step's progress line (runner → operator)
        self.events: list[str] = []  # "open supply", …, "supply off", "close …": the order, for tests and logs
        self._opened: list[tuple[str, Any]] = []

    def __enter__(self) -> "Bench":
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    def measure(self, step: str, name: str, value, note: str = "") -> Measurement:
        """A measurement with the unit and limits its step declares (an undeclared name raises
        :class:`~bringup.measurement.DeclarationError`)."""
        return self.limits.spec(step, name).measure(value, note)

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

    def power_on(self) -> None:
        """The one way the output goes on: off, voltage and current limit set and read back (the error
        queue drained), confirmed off, then on — powered from the moment it is asked to go on."""
        psu, cfg = self.supply, self.station.supply
        psu.output(False)
        psu.configure(cfg.voltage_v, cfg.current_limit_a)
        if psu.output_state():
            raise InstrumentError("supply output is on before configuration finished; refusing to continue")
        self.powered = True
        psu.output(True)

    def open_dmm(self) -> Multimeter:
        self.dmm = self._opening("dmm", open_instrument(self.station.dmm))
        return self.dmm

    def open_meter(self) -> MeterPort:
        m = self.station.meter
        self.meter = self._opening("meter port", MeterPort(m.url, m.baud, write_timeout=m.write_timeout_s,
                                                           on_burst=_line_state(m.line_state)))
        return self.meter

    def open_console(self) -> BoardConsole:
        c = self.station.console
        self.console = self._opening("console", BoardConsole(c.url, c.baud, c.timeout_s))
        return self.console

    def open_s1(self, bytes_per_s: float | None) -> MeterPort:
        c = self.station.s1
        self.s1 = self._opening("S1 port", MeterPort(c.url, c.baud, write_timeout=c.write_timeout_s, chunk=900,
                                                     bytes_per_s=bytes_per_s, label="S1 port",
                                                     on_burst=_line_state(c.line_state)))
        return self.s1

    # --- deactivation
    def supply_off(self) -> str:
        """Turn the output off (three tries) and read back the state: 'OFF', 'ON' or 'UNKNOWN: …'."""
        if self.supply is None:
            return "not opened"
        last = ""
        for _ in range(3):
            try:
                self.supply.output(False)
                state = "ON" if self.supply.output_state() else "OFF"
                self.events.append(f"supply off: {state}")
                self.powered = state != "OFF"
                return state
            except Exception as e:  # keep trying: this is the one thing that must happen
                last = str(e)
                time.sleep(0.1)
        self.events.append(f"supply off: UNKNOWN: {last}")
        return f"UNKNOWN: {last}"

    def close(self) -> str:
        """Supply output off first, then close everything in reverse order of opening; returns the
        supply state read back (also kept in :attr:`supply_after`). A failing close does not stop the others."""
        self.supply_after = self.supply_off()
        for name, part in reversed(self._opened):
            try:
                part.close()
            except Exception:
                pass
            self.events.append(f"close {name}")
        self._opened.clear()
        return self.supply_after


def _line_state(path: str | None):
    """On a simulated bench, the sender's bursts told to the simulated board (bringup/sim/line_state.py)."""
    if path is None:
        return None
    from .sim.line_state import LineState

    return LineState(path).mark
