"""`Topology`: where the rules find each function on a board, by connection."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import HwtoolsError
from .base import _net_parts, _pin_named, _resistor_between


class TopologyError(HwtoolsError):
    """The rules cannot find a function of the P1 input on the board by its connections."""


@dataclass
class Topology:
    """Where the rules find each function on a board (the same code reads rev 1.2 and rev 1.3)."""

    supply: str
    gnd: str
    data: str
    drq: str
    regulator_in: str
    rail: str
    reverse_diode: str | None  # a diode in series between pin 1 and the regulator (or its current limit)
    pullup: str  # R2
    base_r: str  # R1
    base_pulldown: str | None  # R10
    q1: str
    collector_r: str  # R3
    drq_r: str  # R5
    drq_switch: str  # Q2 (PNP high side) or the optocoupler itself (v1.1)
    opto: str
    led_r: str  # R4
    q2_base_r: str | None = None  # R12
    q2_pullup_r: str | None = None  # R11
    gpio_drq: str = ""
    limiter_in: str | None = None  # the net between the reverse diode and a current limit before the regulator
    routed: object = None  # the routed board, for the layout rules (None: the circuit alone)
    burst: list | None = None  # the burst-train study's results, once a rule ran it (supply.burst_train)

    @classmethod
    def of(cls, board) -> "Topology":
        """Each function found by connection; one missing is named (a miswired circuit is an error the user can
        act on, not a crash in whichever rule reads it first)."""
        try:
            top = cls._find(board)
        except (StopIteration, KeyError) as e:
            raise TopologyError(f"the design rules cannot find the P1 input's parts by their connections "
                                f"(stopped at {e!r}): is the circuit wired as the rules expect?") from None
        missing = [f.name for f in fields(cls) if "None" not in str(f.type) and f.name not in ("routed", "burst")
                   and getattr(top, f.name) is None]
        if missing:
            raise TopologyError("the design rules cannot find " + ", ".join(missing) + " by their connections "
                                "(hwtools/rules/topology.py says where each is looked for): is the circuit wired "
                                "as the rules expect?")
        return top

    @classmethod
    def _find(cls, board) -> "Topology":
        supply, drq, gnd, data = (board.net_of("J2", n) for n in (1, 2, 3, 5))
        reg_in = board.net_of("U1", _pin_named(board, "U1", "VI"))
        rail = board.net_of("U1", _pin_named(board, "U1", "VO"))
        diode, limiter_in = None, None
        if reg_in != supply:
            diode = next((r for r in _net_parts(board, supply) & _net_parts(board, reg_in) if r.startswith("D")), None)
        if reg_in != supply and diode is None:  # a current limit between the diode's cathode and the regulator
            diode = next(r for r in sorted(_net_parts(board, supply)) if board.lib_ids[r].startswith("Diode:"))
            limiter_in = board.parts[diode]["K"].net.name
        pullup = _resistor_between(board, data, supply)
        base_r = next(r for r in sorted(_net_parts(board, data)) if board.lib_ids[r] == "Device:R" and r != pullup)
        base_net = next(n for n in (board.net_of(base_r, 1), board.net_of(base_r, 2)) if n != data)
        q1 = next(r for r in sorted(_net_parts(board, base_net)) if board.lib_ids[r].startswith("Transistor_BJT"))
        rx = board.parts[q1]["C"].net.name
        drq_r = next(r for r in sorted(_net_parts(board, drq)) if board.lib_ids[r] == "Device:R")
        sw_net = next(n for n in (board.net_of(drq_r, 1), board.net_of(drq_r, 2)) if n != drq)
        switch = next(r for r in sorted(_net_parts(board, sw_net))  # not C11, the ESD filter on the same net
                      if r != drq_r and not board.lib_ids[r].startswith("Device:C"))
        opto = next(r for r, lib in sorted(board.lib_ids.items()) if lib.startswith("Isolator:"))
        led_net = board.net_of(opto, 1)
        led_r = next(r for r in sorted(_net_parts(board, led_net)) if board.lib_ids[r] == "Device:R")
        gpio = next(n for n in (board.net_of(led_r, 1), board.net_of(led_r, 2)) if n != led_net)
        top = cls(supply, gnd, data, drq, reg_in, rail, diode, pullup, base_r, _resistor_between(board, base_net, gnd),
                  q1, _resistor_between(board, rx, rail), drq_r, switch, opto, led_r, gpio_drq=gpio,
                  limiter_in=limiter_in)
        if switch != opto:  # a transistor switch driven by the optocoupler
            b_net = board.parts[switch]["B"].net.name
            top.q2_pullup_r = _resistor_between(board, b_net, board.parts[switch]["E"].net.name)
            top.q2_base_r = _resistor_between(board, b_net, board.net_of(opto, 5))
        return top
