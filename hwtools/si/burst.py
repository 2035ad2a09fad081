"""The meter's current during a train of Wi-Fi bursts: an ngspice transient of pin 1 → D2 → the +5V bulk
capacitors (with their series resistance) → the regulator as a load (an LDO draws what its output draws).

Not a rule yet (docs/rev-1.4.md, "the meter's peak current"): rev 1.4 does not pass DSMR's 250 mA here.
The meter is a Thevenin source on DSMR's line (5.5 V unloaded, 4.9 V at 250 mA: 2.4 Ω), or 4.9 V behind the
same resistance; the cable's two power conductors in series. Loads before D2 (the data pull-up, Data Request,
the clamp's leakage) draw from pin 1; the rest from +5V, the Wi-Fi part stepping up for each burst.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..facts import load_facts
from ..rules.supply import supply_loads_ma
from ..rules.topology import Topology
from . import spice
from .model import pwl, spice_node
from .reverse import MODELS

PIN_SIDE = ("pull-up", "Data Request output", "switch base", "leakage")  # loads on pin 1, before D2
BURSTS = 3


@dataclass(frozen=True)
class BurstResult:
    emf_v: float
    cable_m: float
    esr_scale: float
    peak_ma: float        # the highest current out of the meter's pin 1 at any instant
    lowest_pin1_v: float  # pin 1 at the board during the train (Data Request's supply)


def _source_ohm(p1) -> float:
    return (p1["supply_max_v"] - p1["supply_min_v"]) / (p1["supply_continuous_max_ma"] * 1e-3)


def deck(board, facts, emf_v: float, cable_m: float, esr_scale: float = 1.0) -> str:
    top = Topology.of(board)
    n = lambda net: spice_node(net, top.gnd)  # noqa: E731
    p1, burst, esp = facts["p1_port"], facts["wifi_burst"], facts["esp32"]
    loads = supply_loads_ma(board, facts, top)
    pin_ma = sum(v for k, v in loads.items() if any(w in k for w in PIN_SIDE))
    rail_ma = sum(loads.values()) - pin_ma
    extra = (burst["current_ma"] - esp["wifi_rx_listen_ma"]) * 1e-3
    period, length = burst["period_ms"] * 1e-3, burst["length_ms"] * 1e-3
    points = [(0, 0)]
    for k in range(BURSTS):
        t0 = period * (k + 0.5)
        points += [(t0, 0), (t0 + 1e-6, extra), (t0 + length, extra), (t0 + length + 1e-6, 0)]
    lines = [f"* burst train: meter {emf_v:g} V, cable {cable_m:g} m, ESR x{esr_scale:g} (hwtools.si.burst)",
             MODELS, f"VEMF emf 0 {emf_v:g}", "VIM emf m 0", f"RSRC m jack {_source_ohm(p1):.6g}",
             f"RCAB jack {n(top.supply)} {max(2 * facts['p1_cable']['r_ohm_per_m'] * cable_m, 1e-4):.6g}",
             f"ILOADP1 {n(top.supply)} 0 {pin_ma * 1e-3:.6g}",
             f"D{top.reverse_diode} {n(top.supply)} {n(top.regulator_in)} DSCH",
             f"ILOAD {n(top.regulator_in)} 0 {rail_ma * 1e-3:.6g}",
             f"IBURST {n(top.regulator_in)} 0 {pwl(points)}"]
    esr = facts["bulk_esr"]["esr_ohm"]
    for ref in sorted(r for r, lib in board.lib_ids.items() if lib.startswith("Device:C")):
        if {board.net_of(ref, 1), board.net_of(ref, 2)} == {top.regulator_in, top.gnd}:
            r = esr.get(board.parts[ref].fields.get("MPN"), 0.01) * esr_scale
            lines += [f"{ref} {n(top.regulator_in)} esr_{ref} {board.value(ref):.6g}", f"RESR_{ref} esr_{ref} 0 {r:.6g}"]
    lines += [f".tran 20u {period * (BURSTS + 0.5):.6g} 0 20u", f".save i(VIM) v({n(top.supply)})", ".end"]
    return "\n".join(lines) + "\n"


def study(board, facts=None, esr_scales=(1.0,)) -> list[BurstResult]:
    """Every corner of meter EMF (4.9 / 5.5 V) × cable (0 / 5 m) × ESR scale, one ngspice run each."""
    facts = facts or load_facts()
    top = Topology.of(board)
    p1, cab = facts["p1_port"], facts["p1_cable"]
    out = []
    for emf, cable, scale in itertools.product((p1["supply_min_v"], p1["supply_max_v"]),
                                               (cab["length_min_m"], cab["length_max_m"]), esr_scales):
        plot = spice.run(deck(board, facts, emf, cable, scale))[0]
        amps, pin = plot["i(vim)"], plot[f"v({spice_node(top.supply, top.gnd).lower()})"]
        out.append(BurstResult(emf, cable, scale, float(max(amps)) * 1e3, float(min(pin))))
    return out
