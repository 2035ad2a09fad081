"""Candidate input stages for p1-peak-current (docs/rev-1.4.md, "The meter's peak current"): an active current
limit between D2 and the bulk capacitor, simulated in the burst-train deck (hwtools/si/burst.py) at every meter
corner and at both ends of the limit's tolerance. A study: no board part yet.

The op-amp high-side limiter: a sense resistor after D2, a shunt reference (LM4040-1.2) hanging from D2's cathode
with a divider that sets the sense voltage, a rail-to-rail op-amp (LMC6482: its input range includes its supply
rail, where the sense voltage sits) integrating the error, a PNP pass (BC327) between the sense resistor and the
bulk capacitor. Below the limit the op-amp sits at its low rail and the PNP is saturated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..facts import load_facts
from . import burst, spice

# A single-pole op-amp with its slew rate and rail-to-rail output, its internal node clamped at the rails as a real
# stage saturates (behavioural: the LMC6482's datasheet figures, GBW 1.5 MHz, 0.9 V/µs — no vendor macro-model is
# stored here).
OPAMP = """.subckt RROPA inp inn vdd vss out
BGM 0 g I = max(min(1m*(V(inp)-V(inn)), {slew}), -{slew})
CP g 0 {cp}
RP g 0 1e8
DHI g vdd DCLAMP
DLO vss g DCLAMP
.model DCLAMP D(IS=1e-12 N=0.05)
BOUT o1 0 V = max(min(V(g), V(vdd)-0.02), V(vss)+0.02)
RO o1 out 50
.ends
"""
PNP = ".model QPASS PNP(IS=2e-14 BF=250 VAF=60 IKF=0.6 RB=5 RC=0.3 RE=0.1 CJE=60p CJC=25p TF=0.8n TR=50n BR=8)"


@dataclass(frozen=True)
class OpampLimiter:
    rs_ohm: float = 0.5        # sense resistor
    sense_mv: float = 91.5     # the limit (183 mA) sense voltage, set by the divider across the reference: the middle of
                               # the window between the average draw and Data Request's 4.0 V (docs/rev-1.4.md)
    vref_v: float = 1.225      # LM4040-1.2
    rb_ohm: float = 1200.0     # op-amp output to the PNP's base: ≥ 2.5 mA saturates it at the steady draw
    cc_f: float = 1e-9         # integrator, RI·CC = 1 µs: the burst's edge overshoots the limit by ≈ 5 mA, no ringing
    ri_ohm: float = 1e3
    vos_mv: float = 0.0        # the op-amp's offset (a tolerance corner)
    gbw_hz: float = 1.5e6
    slew_v_per_us: float = 0.9

    @property
    def limit_ma(self) -> float:
        return (self.sense_mv + self.vos_mv) / self.rs_ohm

    def fragment(self) -> str:
        cp = 1e-3 / (2 * math.pi * self.gbw_hz)
        rd1 = 10e3 * self.sense_mv * 1e-3 / self.vref_v
        return "\n".join([
            OPAMP.format(slew=f"{self.slew_v_per_us * 1e6 * cp:.6g}", cp=f"{cp:.6g}").strip(), PNP,
            f"RSENSE lim_in lim_s {self.rs_ohm:g}", "QPASS lim_out lim_b lim_s QPASS", "RBE lim_b lim_s 10k",
            f"RB lim_b lim_o {self.rb_ohm:g}",
            f"VREF lim_in lim_r {self.vref_v:g}", "RZ lim_r 0 33k",  # the shunt reference, biased to GND
            f"RD1 lim_in lim_x {rd1:.6g}", f"RD2 lim_x lim_r {10e3 - rd1:.6g}",
            f"VOS lim_x lim_xo {self.vos_mv * 1e-3:g}",  # the input sits vos below X: the limit is (sense + vos) / rs
            f"RI lim_s lim_n {self.ri_ohm:g}", f"CC lim_n lim_o {self.cc_f:g}",
            "XOP lim_xo lim_n lim_in 0 lim_o RROPA"])


def study(board, design: OpampLimiter, facts=None, esr_scales=burst.ESR_SCALES) -> list[burst.BurstResult]:
    """`design` between D2 and the bulk capacitor at every corner of hwtools.si.burst.study."""
    facts = facts or load_facts()
    return burst.study(board, facts, facts["wifi_frame"], esr_scales, design.fragment())


def tolerance_corners(design: OpampLimiter, frac: float, vos_max_mv: float):
    """The design at its lowest and highest limit: sense voltage ± `frac` (reference, divider, sense resistor
    together) and the op-amp's offset at ± its maximum."""
    return (replace(design, sense_mv=design.sense_mv * (1 - frac), vos_mv=-vos_max_mv),
            replace(design, sense_mv=design.sense_mv * (1 + frac), vos_mv=vos_max_mv))


def figures(board, design, facts, frac, vos_max_mv) -> list[str]:
    """One line per tolerance corner of `design` on `board`: the limit, the meter's peak, U1's input and Data
    Request at their lowest (the levels at the meters DSMR allows), each with its worst corner."""
    from ..rules.p1port import drq_lowest_during
    from ..rules.supply import bulk_min_v
    from ..rules.topology import Topology

    top, p1 = Topology.of(board), facts["p1_port"]
    need = bulk_min_v(board, facts, top, facts["wifi_frame"])
    lines = []
    for d in (design, *tolerance_corners(design, frac, vos_max_mv)):
        figs = study(board, d, facts)
        peak = max(figs, key=lambda f: f.peak_ma)
        bulk = min((f for f in figs if f.meter.delivers_dsmr_minimum(p1)), key=lambda f: f.lowest_bulk_v)
        drq, corner = drq_lowest_during(board, facts, top, figs)
        lines.append(f"limit {d.limit_ma:.1f} mA: peak {peak.peak_ma:.1f} mA ({_where(peak)}); U1 input lowest "
                     f"{bulk.lowest_bulk_v:.3f} V, needs {need:.3f} ({_where(bulk)}); Data Request lowest {drq:.3f} V "
                     f"({corner['meter']} {corner['supply_v']:g} V, {corner['cable_m']:g} m, {corner['temp_c']} °C)")
    return lines


def _where(f) -> str:
    return f"{f.meter.name} {f.meter.emf_v:g} V, {f.cable_m:g} m, ESR × {f.esr_scale:g}"


def main():
    """`python -m hwtools.si.limiter`: the candidate's figures as docs/rev-1.4.md gives them (C1 at −20 %)."""
    from ..circuit import build_board

    facts = load_facts()
    for c1 in ("4700 µF", "3300 µF"):
        low = f"{float(c1.split()[0]) * (1 - facts['electrolytic']['tolerance']):g} µF"
        print(f"op-amp limiter, C1 {c1} (−20 %: {low}), sense ±{SENSE_TOL:.1%}, offset ±{VOS_MAX_MV} mV")
        for line in figures(build_board({"C1": low}), OpampLimiter(), facts, SENSE_TOL, VOS_MAX_MV):
            print("  " + line)


# The limit's tolerance (docs/rev-1.4.md): LM4040A ±0.1 %, the divider's 0.1 % resistors ±0.2 %, the 0.5 Ω sense
# resistor ±1 % and ±100 ppm/°C over 25 ± 35 °C; the LMC6482A's offset 1.35 mV maximum over temperature.
SENSE_TOL = 0.017
VOS_MAX_MV = 1.35

if __name__ == "__main__":
    main()
