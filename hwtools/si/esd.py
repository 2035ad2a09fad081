"""An IEC 61000-4-2 contact discharge into each live jack pin, as an ngspice transient of the whole board: the
highest voltage each part behind the clamp sees, against its absolute maximum (parts.toml).

The generator is the standard's discharge network (`[iec61000_4_2]`): 150 pF charged to ±8 kV, discharged through
330 Ω, with a series inductance that gives the standard's 0.8 ns rise. It peaks at 24 A into the standard's 2 Ω
target, below the standard's 30 A first peak (a real generator's return path makes that spike): each discharge also
runs charged to `first_peak_kv`, where its peak is 30 A — more charge than the standard's, on the safe side.

The board is off the meter (every capacitor discharged: a charged hand on the jack or on a cable being plugged in).
Parts are the crossed-cable deck's (hwtools/si/reverse.py: BJTs, diodes, the module's and the regulator's
substrate diodes, loads) plus every capacitor, and each clamp as a breakdown diode fitted to its datasheet's
breakdown voltage and its clamping voltage at its peak pulse current (`reverse.clamp_model`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..facts import part_facts
from ..project import OPAMP_LIB_ID
from ..rules.topology import Topology
from . import spice
from .model import bc547_card, spice_node
from .reverse import MODELS, board_lines, clamp_model, part_lines

PINS = {1: "+5 V", 2: "Data Request", 5: "data"}
STOP_S, STEP_S = 400e-9, 0.05e-9  # eight of the generator's 49.5 ns time constants


@dataclass(frozen=True)
class Stress:
    """The highest voltage one rating of one part saw in one discharge."""

    ref: str
    what: str      # the rating, in words ("emitter-base reverse")
    volts: float   # the highest value of that voltage during the discharge
    limit: float   # the part's absolute maximum
    pin: int
    kv: float      # the generator's charge voltage, signed


def discharges(facts) -> list[tuple[int, float]]:
    """(pin, signed kV) of every discharge: each pin, each polarity, at the test level and at the level whose RC
    peak is the standard's first-peak current."""
    g = facts["iec61000_4_2"]
    return [(pin, sign * kv) for pin in PINS for kv in (g["level_kv"], g["first_peak_kv"]) for sign in (1, -1)]


def deck(board, facts, pin: int, kv: float) -> tuple[str, dict]:
    """The netlist of one discharge into J2 `pin` and {ref: {pin: node}} of every part."""
    gnd = board.net_of("J2", 3)
    pins = {ref: {p.num: spice_node(p.net.name if p.is_connected() else None, gnd) for p in part.pins}
            for ref, part in board.parts.items()}
    card = bc547_card(facts, facts["bc547_spice"]["hfe_typ"])
    lines = [f"* IEC 61000-4-2 contact discharge {kv:+g} kV into J2 pin {pin} (hwtools.si.esd)", MODELS.strip(),
             card, card.replace("QBC547 NPN", "QBC557 PNP"), *generator_lines(facts, kv, pins["J2"][str(pin)])]
    lines += board_lines(board, facts, pins, lines_of=_esd_lines)
    # the capacitance the SI deck gives RX: the ESP32's pad and the board's tracks (Q1's collector-base capacitance
    # couples the base's dip into it)
    q1 = Topology.of(board).q1
    rx = pins[q1][next(p.num for p in board.parts[q1].pins if p.name == "C")]
    c_rx = (facts["esp32"]["input_capacitance_pf"] + facts["rx_node"]["board_pf"]) * 1e-12
    lines.append(f"CRX {rx} 0 {c_rx:.6g}")
    nodes = sorted({n for p in pins.values() for n in p.values() if n and n != "0"})
    lines += [f"RLEAK{i} {n} 0 1G" for i, n in enumerate(nodes)]
    lines += [".options gmin=1e-12 reltol=1e-4", f".tran {STEP_S:.3g} {STOP_S:.3g} 0 {STEP_S:.3g} uic", ".end"]
    return "\n".join(lines) + "\n", pins


def generator_lines(facts, kv: float, node: str) -> list[str]:
    """The discharge network: 150 pF charged to `kv`, 330 Ω, and the inductance of the standard's 0.8 ns rise
    (10-90 % of an L-R step is 2.2 L / R), discharging into `node` from t = 0."""
    g = facts["iec61000_4_2"]
    return [f"CESD gen 0 {g['c_pf'] * 1e-12:.6g} IC={kv * 1e3:.6g}", f"RESD gen gl {g['r_ohm']:.6g}",
            f"LESD gl {node} {g['rise_ns'] * 1e-9 * g['r_ohm'] / 2.2:.6g}"]


def _esd_lines(board, facts, ref, part, p) -> list[str]:
    """One part's netlist lines: capacitors (electrolytics with their series resistance) and the ESD arrays fitted to
    their datasheets here, everything else as the crossed-cable deck has it (the TVS's model: `board_lines`)."""
    lib = board.lib_ids[ref]
    if lib.startswith("Device:C"):
        mpn = part.fields.get("MPN", "")
        esr = facts["bulk_esr"]["esr_ohm"].get(mpn, 0.0) if lib == "Device:C_Polarized" else 0.0
        if esr:
            return [f"C{ref} {p['1']} {ref}esr {board.value(ref):.6g}", f"R{ref}esr {ref}esr {p['2']} {esr:.6g}"]
        return [f"C{ref} {p['1']} {p['2']} {board.value(ref):.6g}"]
    if lib.startswith("Power_Protection:"):  # two lines to a common pin, each bidirectional
        out = [clamp_model(f"DTVS{ref}", part_facts(board, facts, ref))]
        for line in ("1", "2"):
            out += [f"D{ref}a{line} {p[line]} {ref}m{line} DTVS{ref}", f"D{ref}b{line} {p['3']} {ref}m{line} DTVS{ref}"]
        return out
    return part_lines(board, facts, ref, part, p)


def stresses(board, facts) -> list[Stress]:
    """The highest voltage of every checked rating of every part in every discharge (`discharges`), simulated in
    one ngspice process."""
    runs = discharges(facts)
    decks = [deck(board, facts, pin, kv) for pin, kv in runs]
    plots = _simulate(tuple(text for text, _ in decks))
    out = []
    for (pin, kv), (_, pins), plot in zip(runs, decks, plots):
        zero = plot[0]["time"] * 0

        def v(ref, num, plot=plot[0], pins=pins):
            node = pins[ref].get(num)
            return zero if node in (None, "0") else plot[f"v({node.lower()})"]

        out += [Stress(ref, what, float(volts.max()), limit, pin, kv) for ref, what, volts, limit in _ratings(board, facts, v)]
    return out


@functools.lru_cache(maxsize=2)  # a board's twelve plots take about 22 MB
def _simulate(decks: tuple[str, ...]):
    """The decks' plots; the same netlists (one board, checked by several callers in one process) run once."""
    return spice.run_batch(list(decks), timeout=120, jobs=spice.JOBS)


def worst_by_pin(board, facts) -> dict[int, Stress]:
    """For each struck pin, the rating closest to (or beyond) its absolute maximum over every discharge into it."""
    worst = {}
    for s in stresses(board, facts):
        if s.pin not in worst or s.volts / s.limit > worst[s.pin].volts / worst[s.pin].limit:
            worst[s.pin] = s
    return worst


def _ratings(board, facts, v):
    """(ref, rating, voltage waveform, absolute maximum) of every part with a rating in parts.toml."""
    esp, caps = facts["esp32"], facts["capacitor_rated_v"]["by_mpn"]
    for ref, part in sorted(board.parts.items()):
        lib = board.lib_ids[ref]
        n = {pin.name: pin.num for pin in part.pins}
        if lib.startswith("Transistor_BJT:"):
            f = part_facts(board, facts, ref)
            sign = -1 if f["polarity"] == "pnp" else 1  # a PNP's emitter-base junction is reversed by its base
            yield ref, "emitter-base reverse", sign * (v(ref, n["E"]) - v(ref, n["B"])), f["vebo_v"]
            yield ref, "collector-emitter", sign * (v(ref, n["C"]) - v(ref, n["E"])), f["vceo_v"]
        elif lib.startswith("Isolator:"):
            o = facts["cny_4n35"]
            yield ref, "LED reverse", v(ref, "2") - v(ref, "1"), o["led_vr_max_v"]
            yield ref, "emitter-collector", v(ref, "4") - v(ref, "5"), o["veco_v"]
        elif lib == "Diode:1N4148":
            yield ref, "reverse", v(ref, n["K"]) - v(ref, n["A"]), facts["diode_1n4148"]["vr_max_v"]
        elif lib.startswith("Diode:"):
            yield ref, "reverse", v(ref, n["K"]) - v(ref, n["A"]), facts["schottky_1n5817"]["vrrm_v"]
        elif lib == "Device:LED":
            yield ref, "reverse", v(ref, n["K"]) - v(ref, n["A"]), facts["led_green_5mm"]["vr_max_v"]
        elif lib == OPAMP_LIB_ID:
            op, vdd, vss = part_facts(board, facts, ref), v(ref, "8"), v(ref, "4")
            yield ref, "supply", vdd - vss, op["supply_abs_max_v"]
            for pin in ("2", "3", "5", "6"):
                yield ref, f"input {pin} over V+", v(ref, pin) - vdd, op["input_abs_beyond_rail_v"]
                yield ref, f"input {pin} under V-", vss - v(ref, pin), op["input_abs_beyond_rail_v"]
        elif lib.startswith("Regulator_Linear:"):
            yield ref, "VIN to GND", v(ref, n["VI"]) - v(ref, n["GND"]), part_facts(board, facts, ref)["vin_max_v"]
        elif lib.startswith("Device:C") and part.fields.get("MPN") in caps:
            yield ref, "voltage, either way", abs(v(ref, "1") - v(ref, "2")), caps[part.fields["MPN"]]
        elif ref == "M1":
            gnd = v(ref, "17")
            yield ref, "3V pad to GND", v(ref, n["3V"]) - gnd, esp["vdd_max_v"]
            for pin in part.pins:
                if pin.is_connected() and pin.name.startswith("GPIO"):
                    yield ref, f"{pin.name} to GND", v(ref, pin.num) - gnd, esp["vdd_max_v"] + esp["pin_abs_above_vdd_v"]
                    yield ref, f"{pin.name} below GND", gnd - v(ref, pin.num), esp["pin_abs_below_gnd_v"]
