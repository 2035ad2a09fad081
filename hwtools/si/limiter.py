"""The board's current limit between D2 and +5V (hwtools/circuit.py `current_limit`) as an ngspice fragment for the
burst-train deck (hwtools/si/burst.py), built from the board's own parts by their connections, and its tolerance
corners. `python -m hwtools.si.limiter_report` prints the figures docs/rev-1.4.md gives.

The op-amp high-side limiter: a sense resistor after D2, a shunt reference hanging from D2's cathode with a divider
that sets the sense voltage, a rail-to-rail op-amp integrating the error, a PNP pass between the sense resistor and
the bulk capacitor. Below the limit the op-amp sits at its low rail and the PNP is saturated.

Models are stand-ins, every figure from parts.toml (no vendor macro-model of the LMC6482 or card of the BD140 with a
citable source was found): the op-amp a single pole at its typical GBW with its slew rate limit over temperature and
its guaranteed output swing; the PNP a Gummel-Poon card whose gain is the data sheet's minimum hFE; the reference a
shunt regulating at its voltage once it draws current (below that it lets go, as a starved shunt does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..facts import load_facts, part_facts
from ..project import OPAMP_LIB_ID
from .model import spice_node

# A single-pole op-amp: transconductance into CP (the dominant pole at the GBW), its current limited to the slew
# rate, the internal node clamped at the rails as a real stage saturates, the output within its guaranteed swing.
OPAMP = """.subckt RROPA inp inn vdd vss out
BGM 0 g I = max(min(1m*(V(inp)-V(inn)), {slew}), -{slew})
CP g 0 {cp}
RP g 0 1e8
DHI g vdd DCLAMP
DLO vss g DCLAMP
.model DCLAMP D(IS=1e-12 N=0.05)
BOUT o1 0 V = max(min(V(g), V(vdd)-{high_drop}), V(vss)+{low})
RO o1 out 50
.ends"""
# The dual op-amp's DIP-8 pinout (+, −, out per unit; V+ 8, V− 4): LM2904 / LMC6482
DUAL_UNITS = (("3", "2", "1"), ("5", "6", "7"))
DUAL_SUPPLY = ("8", "4")
SHUNT_OHM = 0.5  # the reference's dynamic impedance once it regulates (LM4040-1.2: 0.5 Ω typical)


@dataclass(frozen=True)
class Corner:
    """A tolerance corner of the limit: the sense voltage scaled by `sense_scale` (reference, divider, sense
    resistor and their drifts together) and the op-amp's offset `vos_mv` (the limit is (sense + vos) / R_sense)."""

    name: str
    sense_scale: float = 1.0
    vos_mv: float = 0.0


def limiter_parts(board, top) -> list[str]:
    """The parts between D2's cathode and the regulator's input: every part reached from D2's cathode net without
    crossing the regulator's input or GND (none on a board without a limit)."""
    if top.limiter_in is None:
        return []
    stop, seen, nets, todo = {top.regulator_in, top.gnd}, {top.reverse_diode}, set(), [top.limiter_in]
    while todo:
        net = todo.pop()
        nets.add(net)
        for pin in board.nets[net].pins:
            ref = pin.part.ref
            if ref in seen:
                continue
            seen.add(ref)
            todo += [p.net.name for p in board.parts[ref].pins if p.is_connected() and p.net.name not in stop | nets]
    return sorted(seen - {top.reverse_diode})


def sense_tolerance(facts) -> float:
    """The limit's spread from everything but the offset: the reference (initial and drift), the divider's two
    resistors and the sense resistor (each with its drift) over the operating range around 25 °C."""
    ref, res, op = facts["lm4040a_1v2"], facts["sense_resistor"], facts["operating"]
    dt = max(25 - op["ambient_min_c"], op["ambient_max_c"] - 25)
    return (ref["tolerance"] + ref["tempco_ppm_per_c"] * 1e-6 * dt
            + 2 * (res["divider_tolerance"] + res["divider_tempco_ppm_per_c"] * 1e-6 * dt)
            + res["tolerance"] + res["tempco_ppm_per_c"] * 1e-6 * dt)


def corners(facts) -> list[Corner]:
    """Nominal, and the limit at its lowest and highest."""
    frac, vos = sense_tolerance(facts), facts["lmc6482a"]["vos_max_temp_mv"]
    return [Corner("nominal"), Corner("limit low", 1 - frac, -vos), Corner("limit high", 1 + frac, vos)]


def extremes(facts) -> list[Corner]:
    """The limit at its lowest and highest: the corners a worst case needs (every figure of the burst train moves one
    way with the limit, so the nominal lies between them; `python -m hwtools.si.limiter_report` prints all three)."""
    return corners(facts)[1:]


def limit_ma(board, top, facts, corner: Corner = Corner("nominal")) -> float:
    """The limit the circuit sets, from its parts: (the reference × the divider's ratio + the offset) / R_sense."""
    shunt, _, upper, lower = divider(board, top)
    vref = part_facts(board, facts, shunt)["vref_v"] * corner.sense_scale
    ratio = board.value(upper) / (board.value(upper) + board.value(lower))
    return (vref * ratio + corner.vos_mv * 1e-3) / _sense_ohm(board, top) * 1e3


def divider(board, top) -> tuple[str, str, str, str]:
    """The shunt reference, its bias resistor (anode to GND) and the divider across it that sets the limit: the
    resistor from the anode up to the tap, and the one from the tap up to D2's cathode."""
    refs = limiter_parts(board, top)
    shunt = next(r for r in refs if board.lib_ids[r].startswith("Reference_Voltage:"))
    anode = board.parts[shunt]["A"].net.name
    bias = _resistors(board, refs, anode, top.gnd)[0]
    lower = next(r for r in refs if board.lib_ids[r] == "Device:R" and r != bias and anode in _nets(board, r))
    tap = next(n for n in _nets(board, lower) if n != anode)
    return shunt, bias, _resistors(board, refs, top.limiter_in, tap)[0], lower


def _nets(board, ref) -> set:
    return {board.net_of(ref, 1), board.net_of(ref, 2)}


def _resistors(board, refs, a, b) -> list[str]:
    return [r for r in refs if board.lib_ids[r] == "Device:R" and _nets(board, r) == {a, b}]


def opamp_facts(board, top, facts) -> dict:
    """The parts.toml section of the limit's op-amp."""
    return part_facts(board, facts, next(r for r in limiter_parts(board, top) if board.lib_ids[r] == OPAMP_LIB_ID))


def _pass(board, top):
    return next(r for r in limiter_parts(board, top) if board.lib_ids[r].startswith("Transistor_BJT:"))


def _sense_ohm(board, top):
    emitter = board.parts[_pass(board, top)]["E"].net.name
    return 1 / sum(1 / board.value(r) for r in _resistors(board, limiter_parts(board, top), top.limiter_in, emitter))


def pass_base_ma(board, top, facts, amps_ma: float) -> float:
    """What the sense resistor counts and +5V does not get at `amps_ma`: the pass transistor's base current at its
    minimum gain, and its base-emitter resistor's current at its highest VBE."""
    q = _pass(board, top)
    base, emitter = (board.parts[q][name].net.name for name in ("B", "E"))
    r_be = board.value(_resistors(board, limiter_parts(board, top), base, emitter)[0])
    qf = part_facts(board, facts, q)
    return amps_ma / qf["hfe_min"] + qf["vbe_on_max_v"] / r_be * 1e3


def drop_v(board, top, facts, amps: float) -> float:
    """The limit's drop below its limit: the sense resistor at its highest and the saturated pass transistor."""
    r = _sense_ohm(board, top) * (1 + facts["sense_resistor"]["tolerance"])
    return amps * r + part_facts(board, facts, _pass(board, top))["vce_sat_max_v"]


def fragment(board, top, facts=None, corner: Corner = Corner("nominal")) -> str:
    """The limit's parts as SPICE lines on the deck's nodes (node names from hwtools.si.model.spice_node)."""
    facts = facts or load_facts()
    n = lambda net: spice_node(net, top.gnd)  # noqa: E731
    lines = []
    for ref in limiter_parts(board, top):
        lib = board.lib_ids[ref]
        pins = {p.num: n(p.net.name) for p in board.parts[ref].pins if p.is_connected()}
        if lib.startswith("Device:R") or lib.startswith("Device:C"):
            lines.append(f"{'R' if lib.startswith('Device:R') else 'C'}{ref} {pins['1']} {pins['2']} "
                         f"{board.value(ref):.6g}")
        elif lib == OPAMP_LIB_ID:
            lines += _opamp(ref, pins, part_facts(board, facts, ref), corner)
        elif lib.startswith("Reference_Voltage:"):
            v = part_facts(board, facts, ref)["vref_v"] * corner.sense_scale
            k, a = (board.parts[ref][name].net.name for name in ("K", "A"))
            lines.append(f"B{ref} {n(k)} {n(a)} I = max(V({n(k)},{n(a)}) - {v:.6g}, 0) / {SHUNT_OHM}")
        elif lib.startswith("Transistor_BJT:"):
            lines += _pnp(board, ref, n, part_facts(board, facts, ref))
        else:
            raise ValueError(f"{ref} ({lib}): no model for it in the current limit's deck (hwtools/si/limiter.py)")
    return "\n".join(lines)


def dc_lines(board, facts) -> tuple[set, list[str]]:
    """The current limit's parts and their lines, for the whole-board DC decks (power-path, the crossed cable),
    which netlist every other part themselves."""
    from ..rules.topology import Topology  # the rules import this module: imported here

    top = Topology.of(board)
    refs = set(limiter_parts(board, top))
    return refs, [fragment(board, top, facts)] if refs else []


def _opamp(ref, pins, op, corner) -> list[str]:
    cp = 1e-3 / (2 * math.pi * op["gbw_mhz"] * 1e6)
    sub = OPAMP.format(slew=f"{op['slew_min_v_per_us'] * 1e6 * cp:.6g}", cp=f"{cp:.6g}",
                       high_drop=op["swing_high_min_drop_v"], low=op["swing_low_max_v"])
    vdd, vss = (pins[p] for p in DUAL_SUPPLY)
    lines = [sub.replace("RROPA", f"RROPA_{ref}"), f"IS_{ref} {vdd} {vss} {op['supply_current_max_ma'] * 1e-3:g}"]
    for k, (plus, minus, out) in enumerate(DUAL_UNITS):
        unit = f"{ref}{'AB'[k]}"
        # the offset as a source in series with the + input: the limit is (sense + vos) / R_sense
        lines += [f"VOS_{unit} {pins[plus]} os_{unit} {corner.vos_mv * 1e-3:g}",
                  f"X{unit} os_{unit} {pins[minus]} {vdd} {vss} {pins[out]} RROPA_{ref}"]
    return lines


def _pnp(board, ref, n, q) -> list[str]:
    """A stand-in Gummel-Poon card: the data sheet's minimum gain (the most base current the op-amp must give)."""
    c, b, e = (n(board.parts[ref][name].net.name) for name in ("C", "B", "E"))
    return [f".model QPASS_{ref} PNP(IS=1e-13 BF={q['hfe_min']} VAF=100 IKF=1 RB=2 RC=0.2 RE=0.1 CJE=100p "
            "CJC=50p TF=3n TR=100n BR=10)", f"Q{ref} {c} {b} {e} QPASS_{ref}"]
