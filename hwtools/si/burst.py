"""The meter's current during a train of Wi-Fi bursts: an ngspice transient of the meter → the cable → pin 1 →
D2 → the board's current limit, if it has one (hwtools/si/limiter.py, from its own parts) → the +5V bulk capacitors
(electrolytics at −20 %, with their series resistance) → the regulator as a load (an LDO draws what its output
draws). `p1-peak-current` (hwtools/rules/supply.py) reads its figures.

The meter: DSMR guarantees ≥ 4.9 V at ≤ 250 mA and ≤ 5.5 V unloaded, nothing about its source resistance, so
both ends are legal: a stiff source (0 Ω, the worst case for the peak) and the DSMR line (2.4 Ω: 5.5 V unloaded,
4.9 V at 250 mA), each at 4.9 and 5.5 V. The cable's two power conductors are in series. Loads before D2 (the
data pull-up, Data Request, the clamp's leakage) draw from pin 1; the rest from +5V, the Wi-Fi part stepping up
for each burst of the declaration passed in (default `[wifi_frame]`, the issue's burst).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

from ..facts import load_facts
from ..rules.loads import LIMIT_LOAD, supply_loads_ma
from ..rules.topology import Topology
from . import spice
from .model import pwl, spice_node
from .reverse import MODELS

PIN_SIDE = ("pull-up", "Data Request output", "switch base", "leakage")  # loads on pin 1, before D2
BURSTS = 6  # behind a current limit the bulk capacitor settles into its periodic state within ≈ 5 bursts
ESR_SCALES = (0.5, 3.0)  # [bulk_esr] is an assumption: the study runs at half and three times it
# The transient's largest step. The burst's 1 µs edges are breakpoints ngspice steps onto whatever this is; at 50 µs
# every corner's figures are within 0.06 mA and 0.25 mV of a 5 µs step (tests/si/test_si_burst.py holds 0.1 mA and
# 1 mV at the worst corner), and the train runs 2.5 × faster than at 20 µs.
STEP_S = 50e-6


@dataclass(frozen=True)
class Meter:
    name: str  # "stiff" or "DSMR line"
    emf_v: float
    source_ohm: float

    def delivers_dsmr_minimum(self, p1) -> bool:
        """Inside DSMR's guarantee: at least 4.9 V at 250 mA (the 4.9 V source behind the line's 2.4 Ω is not)."""
        return self.emf_v - self.source_ohm * p1["supply_continuous_max_ma"] * 1e-3 >= p1["supply_min_v"] - 1e-9


@dataclass(frozen=True)
class BurstResult:
    meter: Meter
    cable_m: float
    esr_scale: float
    peak_ma: float        # the highest current out of the meter's pin 1 at any instant
    lowest_pin1_v: float  # pin 1 at the board during the train (Data Request's supply)
    lowest_bulk_v: float  # the regulator's input during the train
    limit: str = ""       # the tolerance corner of the board's current limit ("" without one)
    lowest_limit_in_v: float | None = None  # D2's cathode, the limit's op-amp supply (None without a limit)

    def corner(self) -> dict:
        return {"meter": self.meter.name, "supply_v": self.meter.emf_v, "source_ohm": round(self.meter.source_ohm, 3),
                "cable_m": self.cable_m, "esr_scale": self.esr_scale, **({"limit": self.limit} if self.limit else {})}


def meters(facts) -> list[Meter]:
    """Both legal ends of DSMR's supply at both voltages: stiff, and on DSMR's line (5.5 V open, 4.9 V at 250 mA)."""
    p1 = facts["p1_port"]
    line = (p1["supply_max_v"] - p1["supply_min_v"]) / (p1["supply_continuous_max_ma"] * 1e-3)
    return [Meter(name, v, r) for name, r in (("stiff", 0.0), ("DSMR line", line))
            for v in (p1["supply_min_v"], p1["supply_max_v"])]


def _train(burst, esp) -> str:
    extra = (burst["current_ma"] - esp["wifi_rx_listen_ma"]) * 1e-3
    period, length = burst["period_ms"] * 1e-3, burst["length_ms"] * 1e-3
    points = [(0, 0)]
    for k in range(BURSTS):
        t0 = period * (k + 0.5)
        points += [(t0, 0), (t0 + 1e-6, extra), (t0 + length, extra), (t0 + length + 1e-6, 0)]
    return pwl(points)


def deck(board, facts, burst, meter: Meter, cable_m: float, esr_scale: float = 1.0, corner=None,
         step_s: float = STEP_S) -> str:
    """One corner's transient; `burst` a burst declaration as parts.toml's [wifi_frame]; `corner`: the
    tolerance corner of the board's current limit, if it has one (hwtools/si/limiter.py)."""
    from . import limiter  # it reads the deck's node names: imported here

    top = Topology.of(board)
    n = lambda net: spice_node(net, top.gnd)  # noqa: E731
    loads = {k: v for k, v in supply_loads_ma(board, facts, top).items() if k != LIMIT_LOAD}
    pin_ma = sum(v for k, v in loads.items() if any(w in k for w in PIN_SIDE))
    rail_ma = sum(loads.values()) - pin_ma
    lines = [f"* burst train: {meter.name} meter {meter.emf_v:g} V, cable {cable_m:g} m, ESR x{esr_scale:g} "
             "(hwtools.si.burst)", MODELS, f"VEMF emf 0 {meter.emf_v:g}", "VIM emf m 0",
             f"RSRC m jack {max(meter.source_ohm, 1e-4):.6g}",
             f"RCAB jack {n(top.supply)} {max(2 * facts['p1_cable']['r_ohm_per_m'] * cable_m, 1e-4):.6g}",
             f"ILOADP1 {n(top.supply)} 0 {pin_ma * 1e-3:.6g}",
             f"D{top.reverse_diode} {n(top.supply)} {n(top.limiter_in or top.regulator_in)} DSCH",
             limiter.fragment(board, top, facts, corner or limiter.Corner("nominal")),
             f"ILOAD {n(top.regulator_in)} 0 {rail_ma * 1e-3:.6g}",
             f"IBURST {n(top.regulator_in)} 0 {_train(burst, facts['esp32'])}"]
    esr = facts["bulk_esr"]["esr_ohm"]
    for ref in sorted(r for r, lib in board.lib_ids.items() if lib.startswith("Device:C")):
        if {board.net_of(ref, 1), board.net_of(ref, 2)} == {top.regulator_in, top.gnd}:
            r = esr.get(board.parts[ref].fields.get("MPN"), 0.01) * esr_scale
            low = 1 - facts["electrolytic"]["tolerance"] if board.lib_ids[ref] == "Device:C_Polarized" else 1
            lines += [f"{ref} {n(top.regulator_in)} esr_{ref} {board.value(ref) * low:.6g}",
                      f"RESR_{ref} esr_{ref} 0 {r:.6g}"]
    period = burst["period_ms"] * 1e-3
    saved = " ".join(v for v in vectors(top) if v)
    lines += [f".tran {step_s:.6g} {period * (BURSTS + 0.5):.6g} 0 {step_s:.6g}", f".save i(VIM) {saved}", ".end"]
    return "\n".join(lines) + "\n"


def vectors(top) -> tuple[str | None, str | None, str | None]:
    """The voltages the deck saves: pin 1 at the board, the regulator's input, the limit's supply (None without)."""
    return tuple(f"v({spice_node(net, top.gnd)})" if net else None
                 for net in (top.supply, top.regulator_in, top.limiter_in))


@functools.lru_cache(maxsize=64)
def _figures(decks: tuple[str, ...], saved: tuple) -> list[tuple]:
    """Each deck's (peak current out of pin 1 mA, then the lowest of each of `saved`, None for a missing one); the
    same decks (one board checked by each test and each variant's rules in one process) run once."""
    plots = spice.run_batch(list(decks), jobs=spice.JOBS)
    return [(float(max(p[0]["i(vim)"])) * 1e3, *(float(min(p[0][v.lower()])) if v else None for v in saved))
            for p in plots]


def study(board, facts=None, burst=None, esr_scales=ESR_SCALES, corner=None) -> list[BurstResult]:
    """Every corner of meter (stiff / DSMR line × 4.9 / 5.5 V) × cable (0 / 5 m) × ESR scale, one ngspice process
    per core. `burst`: the declaration (default the issue's, [wifi_frame]); `corner`: as `deck` takes it."""
    facts = facts or load_facts()
    burst = burst or facts["wifi_frame"]
    top = Topology.of(board)
    cab = facts["p1_cable"]
    corners = list(itertools.product(meters(facts), (cab["length_min_m"], cab["length_max_m"]), esr_scales))
    figures = _figures(tuple(deck(board, facts, burst, *c, corner=corner) for c in corners), vectors(top))
    return [BurstResult(m, cable, scale, peak, pin, bulk, corner.name if corner else "", lim)
            for (m, cable, scale), (peak, pin, bulk, lim) in zip(corners, figures)]
