"""P1 design rules at the P1 specification's worst case — what no generic ERC knows about reading a meter.

Every figure is computed from the circuit's own parts (`Board.value`, each part's MPN) and the guaranteed
limits in `parts.toml`, over the corners the board must survive: the meter's supply 4.9-5.5 V (DSMR), the
cable from 0 m to `[p1_cable] length_max_m` at its resistance, 0-60 °C, ±1 % resistors and each part's
spread. Datasheets guarantee most limits only at their test point; a rule moves such a limit to its
operating point with the ratio of the datasheet's typical curve (kept in `parts.toml`) and says so.

Each rule returns one or more `Result`s — one per figure — naming the figure, its limit, the corner that gave
the worst case and the parts that decide it. `check_json` prints them as one JSON object per line.
"""

from __future__ import annotations

import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .circuit import Board

PARTS_FILE = Path(__file__).with_name("parts.toml")
K_OVER_Q = 8.617e-5  # V/K


def load_facts(path: Path = PARTS_FILE) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


@dataclass
class Result:
    """One checked figure of one rule (a structural rule has figure None)."""

    rule: str
    figure: float | None
    unit: str
    limit_min: float | None
    limit_max: float | None
    worst_case: dict
    passed: bool
    what: str  # the figure in words
    parts: str  # the parts that decide it
    note: str = ""  # how the limit was moved to the operating point, or what is wrong

    @property
    def name(self):
        return self.rule

    def limit_text(self):
        lo, hi, u = self.limit_min, self.limit_max, self.unit
        if lo is not None and hi is not None:
            return f"{lo:g}-{hi:g} {u}"
        if lo is not None:
            return f"≥ {lo:g} {u}"
        if hi is not None:
            return f"≤ {hi:g} {u}"
        return "as specified"

    def __str__(self):
        verdict = "PASS" if self.passed else "FAIL"
        fig = "—" if self.figure is None else f"{self.figure:.3g} {self.unit}"
        corner = ", ".join(f"{k}={_fmt(v)}" for k, v in self.worst_case.items())
        text = f"{verdict}  {self.rule}: {self.what} {fig} (limit {self.limit_text()}; {self.parts}"
        text += f"; worst case {corner})" if corner else ")"
        return text + (f" — {self.note}" if self.note else "")

    def as_json(self, variant: str) -> dict:
        return {"variant": variant, "rule": self.rule, "figure": None if self.figure is None else round(self.figure, 6),
                "unit": self.unit, "limit": {"min": self.limit_min, "max": self.limit_max},
                "worst_case": self.worst_case, "pass": bool(self.passed)}


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _judge(value, lo=None, hi=None):
    return (lo is None or value >= lo - 1e-12) and (hi is None or value <= hi + 1e-12)


# --- the board, read by connection ------------------------------------------------------------------------

def _pins(board, net):
    return board.pins_on(net) if net else set()


def _net_parts(board, net):
    return {ref for ref, _ in _pins(board, net)}


def _mpn(board, ref):
    return board.parts[ref].fields.get("MPN", "")


def part_facts(board, facts, ref):
    """The parts.toml section whose `mpn` is this part's MPN."""
    mpn = _mpn(board, ref)
    for section in facts.values():
        if isinstance(section, dict) and section.get("mpn") == mpn:
            return section
    raise KeyError(f"{ref}: no facts for MPN {mpn!r} in parts.toml")


def _resistor_between(board, a, b):
    refs = [r for r in _net_parts(board, a) & _net_parts(board, b) if board.lib_ids[r] == "Device:R"]
    return sorted(refs)[0] if refs else None


@dataclass
class Topology:
    """Where the rules find each function on a board (the same code reads rev 1.2 and rev 1.3)."""

    supply: str
    gnd: str
    data: str
    drq: str
    regulator_in: str
    rail: str
    reverse_diode: str | None  # a diode in series between pin 1 and the regulator
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
    extra: dict = field(default_factory=dict)

    @classmethod
    def of(cls, board: Board) -> "Topology":
        supply, drq, gnd, data = (board.net_of("J2", n) for n in (1, 2, 3, 5))
        reg_in = board.net_of("U1", _pin_named(board, "U1", "VI"))
        rail = board.net_of("U1", _pin_named(board, "U1", "VO"))
        diode = None
        if reg_in != supply:
            diode = next((r for r in _net_parts(board, supply) & _net_parts(board, reg_in) if r.startswith("D")), None)
        pullup = _resistor_between(board, data, supply)
        base_r = next(r for r in sorted(_net_parts(board, data)) if board.lib_ids[r] == "Device:R" and r != pullup)
        base_net = next(n for n in (board.net_of(base_r, 1), board.net_of(base_r, 2)) if n != data)
        q1 = next(r for r in sorted(_net_parts(board, base_net)) if board.lib_ids[r].startswith("Transistor_BJT"))
        rx = board.parts[q1]["C"].net.name
        drq_r = next(r for r in sorted(_net_parts(board, drq)) if board.lib_ids[r] == "Device:R")
        sw_net = next(n for n in (board.net_of(drq_r, 1), board.net_of(drq_r, 2)) if n != drq)
        switch = next(r for r in sorted(_net_parts(board, sw_net)) if r != drq_r)
        opto = next(r for r, lib in sorted(board.lib_ids.items()) if lib.startswith("Isolator:"))
        led_net = board.net_of(opto, 1)
        led_r = next(r for r in sorted(_net_parts(board, led_net)) if board.lib_ids[r] == "Device:R")
        gpio = next(n for n in (board.net_of(led_r, 1), board.net_of(led_r, 2)) if n != led_net)
        top = cls(supply, gnd, data, drq, reg_in, rail, diode, pullup, base_r, _resistor_between(board, base_net, gnd),
                  q1, _resistor_between(board, rx, rail), drq_r, switch, opto, led_r, gpio_drq=gpio)
        if switch != opto:  # a transistor switch driven by the optocoupler
            b_net = board.parts[switch]["B"].net.name
            top.q2_pullup_r = _resistor_between(board, b_net, board.parts[switch]["E"].net.name)
            top.q2_base_r = _resistor_between(board, b_net, board.net_of(opto, 5))
        return top


def _pin_named(board, ref, name):
    return next(p.num for p in board.parts[ref].pins if p.name == name)


# --- operating conditions ---------------------------------------------------------------------------------

def _corners(facts):
    p1, cab, op = facts["p1_port"], facts["p1_cable"], facts["operating"]
    return {"supply_v": (p1["supply_min_v"], p1["supply_max_v"]), "cable_m": (cab["length_min_m"], cab["length_max_m"]),
            "temp_c": (op["ambient_min_c"], op["ambient_max_c"])}


def _grid(facts, **fixed):
    """Every combination of the operating corners (with some held fixed), as dicts."""
    axes = {k: v for k, v in _corners(facts).items() if k not in fixed}
    for combo in itertools.product(*axes.values()):
        yield {**dict(zip(axes, combo)), **fixed}


def _tol(facts):
    return facts["resistor_mfr50"]["tolerance"]


def _r(board, facts, ref, sign):
    """A resistor at the edge of its tolerance: sign +1 high, -1 low."""
    return board.value(ref) * (1 + sign * _tol(facts))


def _wire_ohm(facts, cable_m):
    return facts["p1_cable"]["r_ohm_per_m"] * cable_m


def _regulator(board, facts):
    return part_facts(board, facts, "U1")


def _vout_range(reg):
    return reg["vout_v"] * (1 - reg["vout_tol_frac"]), reg["vout_v"] * (1 + reg["vout_tol_frac"])


def _dropout(reg, amps):
    """Guaranteed dropout moved from its test current to `amps` with the typical curve's ratio."""
    if reg.get("dropout_proportional"):
        ratio = amps / reg["dropout_test_a"]
    else:
        typ = reg["dropout_typ_light_v"] + (reg["dropout_typ_at_test_v"] - reg["dropout_typ_light_v"]) * amps / reg[
            "dropout_test_a"]
        ratio = typ / reg["dropout_typ_at_test_v"]
    return reg["dropout_max_v"] * ratio


def _diode_drop(board, facts, top, amps, temp_c):
    """Guaranteed VF of the reverse-protection diode at its current and temperature (typical-curve ratio)."""
    if top.reverse_diode is None:
        return 0.0
    d = part_facts(board, facts, top.reverse_diode)
    frac = min(max(amps / d["vf_test_a"], 0.2), 1.0)
    ratio = d["vf_typ_ratio_200ma"] + (1 - d["vf_typ_ratio_200ma"]) * (frac - 0.2) / 0.8
    return d["vf_max_v"] * ratio + d["vf_tempco_mv_per_c"] * 1e-3 * (temp_c - 25)


def rail_loads_ma(board, facts, top, esp_ma=None):
    """What the 3.3 V rail feeds, by consumer (mA), at the highest steady draw."""
    esp, led, opto = facts["esp32"], facts["led_green_5mm"], facts["cny_4n35"]
    v3 = _vout_range(_regulator(board, facts))[1]
    loads = {
        "ESP32 Wi-Fi listening": esp["wifi_rx_listen_ma"] if esp_ma is None else esp_ma,
        "D32 module overhead": esp["module_overhead_ma"],
        "power LED D1/R6": (v3 - led["vf_min_v"]) / _r(board, facts, "R6", -1) * 1e3,
        f"RX pull-up {top.collector_r}": v3 / _r(board, facts, top.collector_r, -1) * 1e3,
        f"Data Request LED {top.led_r}": (v3 - opto["led_vf_min_v"]) / _r(board, facts, top.led_r, -1) * 1e3,
    }
    if "J4" in board.parts:  # S1 fail-safe bias across the termination
        loads["S1 bias R8/R7/R9"] = v3 / sum(_r(board, facts, r, -1) for r in ("R8", "R7", "R9")) * 1e3
    return loads


def supply_loads_ma(board, facts, top, esp_ma=None):
    """Steady current from P1 pin 1, by consumer (mA)."""
    p1, reg = facts["p1_port"], _regulator(board, facts)
    rail = rail_loads_ma(board, facts, top, esp_ma)
    loads = {**{f"{k} (3.3 V)": v for k, v in rail.items()}, "U1 ground current": reg["quiescent_max_ma"],
             f"P1 data pull-up {top.pullup}": p1["supply_max_v"] / _r(board, facts, top.pullup, -1) * 1e3,
             "Data Request output": p1["drq_current_max_ma"],
             "I2C display on J1": facts["i2c_display"]["supply_ma"]}
    if top.q2_base_r:
        loads[f"Data Request switch base {top.q2_base_r}"] = p1["supply_max_v"] / _r(board, facts, top.q2_base_r, -1) * 1e3
    return loads


# --- the rules --------------------------------------------------------------------------------------------

def p1_pinout(board: Board, facts, top: Topology):
    """Pin 1 feeds the regulator (through the reverse diode), 2 only through R5, 3/6 ground, 4 open, 5 pulled up."""
    j2 = {n: board.net_of("J2", n) for n in range(1, 7)}
    problems = []
    if not ({"U1", top.reverse_diode} & _net_parts(board, j2[1])):
        problems.append("pin 1 (+5 V) does not reach the regulator U1")
    if top.drq_r not in _net_parts(board, j2[2]) or j2[2] in (j2[1], j2[3], j2[6]):
        problems.append("pin 2 (Data Request) is not fed through a resistor from a high-side switch")
    if not (j2[3] and j2[3] == j2[6] and "U1" in _net_parts(board, j2[3])):
        problems.append("pins 3 and 6 are not both on the board's ground")
    if j2[4] is not None:
        problems.append(f"pin 4 (n.c.) is connected to {j2[4]}")
    if not {top.pullup, top.base_r} <= _net_parts(board, j2[5]):
        problems.append("pin 5 (data) does not have the pull-up and the base resistor")
    return [Result("p1-pinout", None, "", None, None, {}, not problems,
                   "RJ12 pinout 1 +5V, 2 DRQ, 3 GND, 4 n.c., 5 data, 6 GND", "J2", "; ".join(problems))]


def p1_data_current(board: Board, facts, top: Topology):
    """The meter pulls the line to 0 V: the pull-up (low tolerance, supply max) and the ESD part's leakage flow in."""
    p1 = facts["p1_port"]
    leak = sum(part_facts(board, facts, r).get("leakage_max_ua", 0) for r in _net_parts(board, top.data)
               if board.lib_ids[r].startswith("Power_Protection")) * 1e-3
    ma = p1["supply_max_v"] / _r(board, facts, top.pullup, -1) * 1e3 + leak
    return [Result("p1-data-current", ma, "mA", None, p1["data_sink_max_ma"],
                   {"supply_v": p1["supply_max_v"], "line_low_v": 0.0, top.pullup: "-1%"},
                   _judge(ma, hi=p1["data_sink_max_ma"]), "current into the data line",
                   f"{top.pullup} = {board.parts[top.pullup].value}")]


def _vbe_max(facts, temp_c):
    q = facts["bc547"]
    return q["vbe_on_max_v"] + q["vbe_tempco_mv_per_c"] * 1e-3 * (temp_c - 25)


def _hfe_min(facts, temp_c):
    q = facts["bc547"]
    return q["hfe_min"] * (q["hfe_ratio_cold"] if temp_c < 25 else 1.0)


def _board_supply(facts, corner, amps):
    """P1 +5 V minus ground at the board: the meter's supply less the drop in both power conductors."""
    return corner["supply_v"] - 2 * _wire_ohm(facts, corner["cable_m"]) * amps


def q1_saturation(board: Board, facts, top: Topology):
    """Line released (SPACE): the base current through R2 + R1, less what R10 takes, must saturate Q1.

    VBE(on) max and hFE min are 25 °C limits: moved to 0 °C with the typical -2 mV/°C and the cold hFE ratio.
    """
    q, reg = facts["bc547"], _regulator(board, facts)
    amps = sum(supply_loads_ma(board, facts, top).values()) * 1e-3
    worst = None
    for c in _grid(facts):
        vb = _board_supply(facts, c, amps)
        vbe = _vbe_max(facts, c["temp_c"])
        i1 = (vb - vbe) / (_r(board, facts, top.pullup, 1) + _r(board, facts, top.base_r, 1))
        ib = i1 - (vbe / _r(board, facts, top.base_pulldown, -1) if top.base_pulldown else 0.0)
        ic = (_vout_range(reg)[1] - q["vce_sat_max_v"]) / _r(board, facts, top.collector_r, -1)
        overdrive = ib * _hfe_min(facts, c["temp_c"]) / ic
        if worst is None or overdrive < worst[0]:
            worst = (overdrive, c, ib, ic)
    od, c, ib, ic = worst
    parts = f"{top.pullup} {board.parts[top.pullup].value} + {top.base_r} {board.parts[top.base_r].value}" + (
        f", {top.base_pulldown} {board.parts[top.base_pulldown].value}" if top.base_pulldown else "") + (
        f", {top.collector_r} {board.parts[top.collector_r].value}")
    return [Result("q1-saturation", od, "×", q["saturation_overdrive"], None, c, _judge(od, q["saturation_overdrive"]),
                   f"base overdrive IB·hFEmin/IC (IB {ib * 1e3:.3f} mA, IC {ic * 1e3:.2f} mA)", parts,
                   "VBE(on) max +2 mV/°C below 25 °C, hFE min × 0.8 at 0 °C (typical curves)")]


def rx_levels(board: Board, facts, top: Topology):
    """RX HIGH while the meter holds the line LOW anywhere in 0-1.0 V, and RX LOW while Q1 is saturated.

    HIGH: the base sees the line through R1/R10 (base current ignored: it only lowers the base); Q1's collector
    current follows from VBE(on) min (0.58 V at 2 mA, 25 °C) moved along the typical curve: -2 mV/°C and
    60 mV per decade of current; plus the hot collector leakage. LOW: VCE(sat) max, × 1.1 hot (typical curve).
    """
    q, esp, p1 = facts["bc547"], facts["esp32"], facts["p1_port"]
    vdd_min = _vout_range(_regulator(board, facts))[0]
    vil, vih = esp["vil_max_frac"] * vdd_min, esp["vih_min_frac"] * vdd_min
    r3 = _r(board, facts, top.collector_r, 1)
    worst = None
    t_max = facts["operating"]["ambient_max_c"]
    for low_v in [round(0.05 * k, 2) for k in range(int(p1["data_low_max_v"] / 0.05) + 1)]:
        for t in (facts["operating"]["ambient_min_c"], t_max):
            r1, r10 = _r(board, facts, top.base_r, -1), (_r(board, facts, top.base_pulldown, 1) if top.base_pulldown
                                                         else math.inf)
            vbase = low_v * (r10 / (r1 + r10) if math.isfinite(r10) else 1.0)
            vt = K_OVER_Q * (t + 273.15)
            vbe_min = q["vbe_on_min_v"] + q["vbe_tempco_mv_per_c"] * 1e-3 * (t - 25)
            decades = (vbase - vbe_min) / (q["vbe_slope_mv_per_decade"] * 1e-3 * (t + 273.15) / 298.15)
            ic = q["vbe_test_ma"] * 1e-3 * 10 ** min(decades, 3)
            leak = q["icbo_25c_max_na"] * 1e-9 * (q["icbo_max_ua"] * 1e3 / q["icbo_25c_max_na"]) ** ((t - 25) / 125)
            high = max(vdd_min - (ic + leak + esp["input_leakage_ua"] * 1e-6) * r3, q["vce_sat_max_v"])
            if worst is None or high < worst[0]:
                worst = (high, {"line_low_v": low_v, "temp_c": t, "rail_v": round(vdd_min, 4),
                                top.base_r: "-1%", top.collector_r: "+1%"}, vt)
    high, c, _ = worst
    low = q["vce_sat_max_v"] * q["vce_sat_ratio_hot"]
    parts = f"{top.q1}, {top.base_r} {board.parts[top.base_r].value}" + (
        f", {top.base_pulldown} {board.parts[top.base_pulldown].value}" if top.base_pulldown else ", no base-emitter resistor"
    ) + f", {top.collector_r} {board.parts[top.collector_r].value}"
    return [
        Result("rx-levels", high, "V", vih, None, c, _judge(high, vih),
               "RX HIGH with the meter's line LOW", parts,
               "VBE(on) min 0.58 V @ 2 mA, 25 °C moved by -2 mV/°C and 60 mV/decade (typical curves)"),
        Result("rx-levels", low, "V", None, vil, {"temp_c": t_max, "rail_v": round(vdd_min, 4)}, _judge(low, hi=vil),
               "RX LOW with the line released", parts, "VCE(sat) max × 1.1 at 60 °C (typical curve)"),
    ]


def opto_ctr(facts, i_led):
    """The 4N35's worst CTR at LED current `i_led`: its 100 % minimum (IF 10 mA, VCE 10 V) times the typical
    curves' ratios for a lower LED current, saturation and 0-60 °C."""
    o = facts["cny_4n35"]
    ratio_if = o["ctr_ratio_if_5ma"] if i_led < 10e-3 else 1.0
    return o["ctr_min"] * ratio_if * o["ctr_ratio_saturated"] * o["ctr_ratio_temp"]


def _led_current(board, facts, top, vdd, vf, sign):
    voh = facts["esp32"]["voh_min_frac"] * vdd if sign < 0 else vdd
    return max(0.0, (voh - vf) / _r(board, facts, top.led_r, -sign))


def _drq_stage(board, facts, top, c, i_meter):
    """Voltage across the meter's input and the current the switch saturates at, at one corner."""
    p1, opto = facts["p1_port"], facts["cny_4n35"]
    vdd_min = _vout_range(_regulator(board, facts))[0]
    amps = sum(supply_loads_ma(board, facts, top).values()) * 1e-3
    rw = _wire_ohm(facts, c["cable_m"])
    v_board = c["supply_v"] - 2 * rw * amps  # P1 +5 V to ground at the board
    i_led = _led_current(board, facts, top, vdd_min, opto["led_vf_max_v"], -1)
    ctr = opto_ctr(facts, i_led)
    r5 = _r(board, facts, top.drq_r, 1)
    if top.q2_base_r:  # PNP high-side switch: the opto only sinks its base current
        pnp = facts["bc557"]
        veb = pnp["vbe_on_max_v"] - 2e-3 * (c["temp_c"] - 25)
        want = (v_board - veb - opto["vce_sat_max_v"]) / _r(board, facts, top.q2_base_r, 1)
        ib = min(want, ctr * i_led) - veb / _r(board, facts, top.q2_pullup_r, -1)
        deliverable = ib * pnp["vce_sat_test_forced_gain"]
        vce = pnp["vce_sat_max_v"] * (pnp["vce_sat_ratio_hot"] if c["temp_c"] > 25 else 1.0)
    else:  # the opto's own transistor feeds pin 2 (v1.1)
        deliverable = ctr * i_led
        vce = opto["vce_sat_max_v"]
    v_open = v_board - vce - i_meter * (r5 + 2 * rw)
    if deliverable >= i_meter:
        volts = v_open
    else:  # current-limited: the meter's input, as its heaviest resistance, sees what the switch can give
        volts = min(v_open, deliverable * p1["drq_high_min_v"] / (p1["drq_current_max_ma"] * 1e-3))
    return volts, deliverable, i_led, ctr


def drq_level_v(board: Board, facts, top: Topology):
    """Data Request at the meter's input: ≥ 4.0 V while it draws its maximum 10 mA, ≤ 5.5 V at its minimum 4 mA.

    The drop counts both power conductors (the supply current returns through pin 6) and pins 2 and 3.
    """
    p1 = facts["p1_port"]
    worst = min(((_drq_stage(board, facts, top, c, p1["drq_current_max_ma"] * 1e-3)[0], c) for c in _grid(facts)),
                key=lambda x: x[0])
    hi_v = p1["supply_max_v"]  # nothing on the board raises pin 2 above the supply
    parts = _drq_parts(board, top)
    note = "4N35 CTR min 100 % @ IF 10 mA, VCE 10 V × IF, saturation and temperature ratios of the typical curves"
    return [Result("drq-level-v", worst[0], "V", p1["drq_high_min_v"], None, {**worst[1], "drq_ma": p1["drq_current_max_ma"]},
                   _judge(worst[0], p1["drq_high_min_v"]), "Data Request at the meter, lowest", parts, note),
            Result("drq-level-v", hi_v, "V", None, p1["drq_high_max_v"],
                   {"supply_v": p1["supply_max_v"], "cable_m": 0.0, "drq_ma": p1["drq_current_min_ma"]},
                   _judge(hi_v, hi=p1["drq_high_max_v"]), "Data Request at the meter, highest", parts)]


def _drq_parts(board, top):
    refs = [top.led_r, top.opto, top.q2_base_r, top.q2_pullup_r, top.drq_switch if top.drq_switch != top.opto else None,
            top.drq_r]
    return ", ".join(f"{r} {board.parts[r].value}" for r in refs if r)


def drq_level_ma(board: Board, facts, top: Topology):
    """The switch saturates at the meter's 10 mA (at the datasheet's forced gain), and the LED and GPIO stay in range."""
    p1, opto, esp = facts["p1_port"], facts["cny_4n35"], facts["esp32"]
    worst = min(((_drq_stage(board, facts, top, c, p1["drq_current_max_ma"] * 1e-3)[1], c) for c in _grid(facts)),
                key=lambda x: x[0])
    vdd_max = _vout_range(_regulator(board, facts))[1]
    i_led_max = _led_current(board, facts, top, vdd_max, opto["led_vf_min_v"], 1) * 1e3
    led_limit = min(opto["if_max_ma"], esp["gpio_drive_ma"])
    return [Result("drq-level-ma", worst[0] * 1e3, "mA", p1["drq_current_max_ma"], None, worst[1],
                   _judge(worst[0] * 1e3, p1["drq_current_max_ma"]), "current the Data Request switch saturates at",
                   _drq_parts(board, top), "forced gain of the VCE(sat) test; 4N35 CTR moved to IF, VCE(sat), 0-60 °C"),
            Result("drq-level-ma", i_led_max, "mA", None, led_limit, {"rail_v": round(vdd_max, 4), "led_vf_v": opto["led_vf_min_v"],
                                                                      top.led_r: "-1%"},
                   _judge(i_led_max, hi=led_limit), f"GPIO12 / {top.opto} LED current, highest",
                   f"{top.led_r} {board.parts[top.led_r].value}, {top.opto}")]


def gpio12_strap(board: Board, facts, top: Topology):
    """GPIO12 is a strapping pin (flash voltage): nothing on the board may pull it up at reset."""
    problems = []
    for ref in sorted(_net_parts(board, top.gpio_drq) - {"M1"}):
        if ref != top.led_r:
            problems.append(f"{ref} on GPIO12")
    other = next(n for n in (board.net_of(top.led_r, 1), board.net_of(top.led_r, 2)) if n != top.gpio_drq)
    if _net_parts(board, other) - {top.led_r, top.opto} or board.net_of(top.opto, 2) != top.gnd:
        problems.append(f"{top.led_r} does not end in the LED of {top.opto} to ground")
    return [Result("gpio12-strap", None, "", None, None, {}, not problems, "GPIO12 free of pull-ups at reset",
                   f"M1 GPIO12, {top.led_r}, {top.opto}", "; ".join(problems))]


def rail_3v3(board: Board, facts, top: Topology):
    """The 3.3 V rail within the ESP32's 3.0-3.6 V: steady at the lowest supply, the longest cable and the worst
    load, and at the end of a Wi-Fi burst carried by C1.

    Dropout is the guaranteed maximum moved from its test current with the typical curve; the reverse diode's VF
    likewise (and +1.5 mV/°C towards 0 °C). Burst: [wifi_burst] current for its length, C1 at -20 %, no help
    from the cable (the cable's resistance only slows the meter's share).
    """
    esp, reg, burst = facts["esp32"], _regulator(board, facts), facts["wifi_burst"]
    vlo, vhi = _vout_range(reg)
    bulk = sorted(r for r in _net_parts(board, top.regulator_in) if board.lib_ids[r] == "Device:C_Polarized")
    c1 = sum(board.value(r) for r in bulk)
    bulk_text = " + ".join(f"{r} {board.parts[r].value}" for r in bulk)
    c1_min = c1 * (1 - facts["electrolytic"]["tolerance"])
    results = []
    for label, esp_ma in (("steady", None), ("burst", burst["current_ma"])):
        amps_rail = sum(rail_loads_ma(board, facts, top, esp_ma).values()) * 1e-3
        amps_steady = sum(supply_loads_ma(board, facts, top).values()) * 1e-3
        worst = None
        for c in _grid(facts):
            v_in = _board_supply(facts, c, amps_steady) - _diode_drop(board, facts, top, amps_steady, c["temp_c"])
            if label == "burst":
                extra = amps_rail - sum(rail_loads_ma(board, facts, top).values()) * 1e-3
                v_in -= extra * burst["length_ms"] * 1e-3 / c1_min
            headroom = v_in - _dropout(reg, amps_rail)
            v_out = min(vlo, headroom)
            if worst is None or (v_out, headroom) < worst[:2]:
                worst = (v_out, headroom, {**c, "load_ma": round(amps_rail * 1e3, 1)})
        note = (f"dropout {reg['dropout_max_v']} V max @ {reg['dropout_test_a']} A moved to the load with the typical "
                f"curve" + (f"; burst {burst['current_ma']} mA for {burst['length_ms']} ms from {bulk_text} -20 %"
                            if label == "burst" else ""))
        results.append(Result("rail-3v3", worst[0], "V", esp["vdd_min_v"], esp["vdd_max_v"], worst[2],
                              _judge(worst[0], esp["vdd_min_v"], esp["vdd_max_v"]), f"3.3 V rail, {label}, lowest",
                              f"U1 {board.parts['U1'].value}" + (f", {top.reverse_diode}" if top.reverse_diode else ""),
                              note))
    results.append(Result("rail-3v3", vhi, "V", esp["vdd_min_v"], esp["vdd_max_v"], {"regulator": "+tolerance"},
                          _judge(vhi, esp["vdd_min_v"], esp["vdd_max_v"]), "3.3 V rail, highest",
                          f"U1 {board.parts['U1'].value}"))
    return results


def p1_supply_budget(board: Board, facts, top: Topology):
    loads = supply_loads_ma(board, facts, top)
    total = sum(loads.values())
    limit = facts["p1_port"]["supply_continuous_max_ma"]
    biggest = ", ".join(f"{k} {v:.1f}" for k, v in sorted(loads.items(), key=lambda kv: -kv[1])[:3])
    return [Result("p1-supply-budget", total, "mA", None, limit, {"load": "steady, Data Request on"},
                   _judge(total, hi=limit), "steady draw from pin 1", f"largest: {biggest} mA")]


def p1_inrush(board: Board, facts, top: Topology):
    """At plug-in the bulk capacitors charge from the meter's fold-back limiter: the board must come up, not latch.

    The meter is modelled by the lowest fold-back line DSMR allows: from 0 mA into a short (≤ 50 mA guaranteed,
    0 taken) to the 260 mA trip minimum at 4.9 V (assumption: a straight fold-back). While the capacitors charge
    the ESP32 boots (CPU on, RF off, datasheet max) and its draw rises with the rail like a resistance; the
    display and pull-ups draw too. The figure is the smallest current left over to charge the capacitors.
    """
    p1, esp, reg = facts["p1_port"], facts["esp32"], _regulator(board, facts)
    boot_rail = sum(rail_loads_ma(board, facts, top, esp["cpu_active_ma"]).values()) * 1e-3
    others = (facts["i2c_display"]["supply_ma"] + p1["supply_max_v"] / _r(board, facts, top.pullup, -1) * 1e3) * 1e-3
    slope = p1["supply_trip_min_ma"] * 1e-3 / p1["supply_min_v"]
    worst = None
    for c in _grid(facts, supply_v=p1["supply_min_v"]):
        v_final = c["supply_v"] - 2 * _wire_ohm(facts, c["cable_m"]) * boot_rail
        for k in range(10, int(v_final * 100) + 1, 5):
            vb = k / 100
            v_rail = max(0.0, min(reg["vout_v"], vb - _diode_drop(board, facts, top, boot_rail, c["temp_c"])
                                  - _dropout(reg, boot_rail)))
            load = boot_rail * v_rail / reg["vout_v"] + (reg["quiescent_max_ma"] * 1e-3 + others) * vb / p1["supply_nominal_v"]
            v_meter = vb + 2 * _wire_ohm(facts, c["cable_m"]) * load
            limit = min(slope * v_meter, p1["supply_trip_min_ma"] * 1e-3)
            margin = (limit - load) * 1e3
            if worst is None or margin < worst[0]:
                worst = (margin, {**c, "board_v": vb})
    return [Result("p1-inrush", worst[0], "mA", 0.0, None, worst[1], worst[0] > 0,
                   "charging current left under the meter's fold-back, lowest",
                   f"C1 {board.parts['C1'].value}, U1, M1 booting", "fold-back line 0 mA @ 0 V .. 260 mA @ 4.9 V")]


def reverse_cable(board: Board, facts, top: Topology):
    """A crossed 6P6C cable (1↔6, 2↔5, 3↔4) on a meter: an ngspice DC operating point of the whole board.

    Models (hwtools/si/reverse.py): the meter's supply 5.5 V behind its 50 mA short-circuit limit, its data
    output an isolated open collector and its Data Request input an isolated LED, both returning to data GND,
    which lands on the reader's n.c. pin 4; diodes for every body, substrate and ESD path; BJTs with their
    SPICE cards. The figure is the smallest margin to any absolute maximum rating.
    """
    from .si.reverse import reverse_margins

    margins = reverse_margins(board, facts)
    worst = min(margins, key=lambda m: m.margin)
    return [Result("reverse-cable", worst.margin, "V", 0.0, None,
                   {"mapping": "1-6 2-5 3-4", "supply_v": facts["p1_port"]["supply_max_v"], "part": worst.ref,
                    "check": worst.what, "value_v": round(worst.value, 4)},
                   worst.margin >= 0, "smallest margin to an absolute maximum rating with a crossed cable",
                   f"{worst.ref}: {worst.what} {worst.value:.2f} V against {worst.limit:g} V",
                   "ngspice DC operating point; diodes for body/ESD paths, capacitor reverse voltage as a checked figure")]


def esd_p1_port(board: Board, facts, top: Topology):
    """An ESD part rated ≥ ±8 kV contact (IEC 61000-4-2) from the data line and from pin 2 to ground, stand-off
    above 5.5 V, and little enough capacitance on the data line for the 115200 edge through the pull-up."""
    p1 = facts["p1_port"]
    kv, standoff, cap = [], [], None
    problems = []
    for label, net in (("data (pin 5)", top.data), ("Data Request (pin 2)", top.drq)):
        prot = [r for r in sorted(_net_parts(board, net)) if board.lib_ids[r].startswith("Power_Protection")]
        if not prot:
            problems.append(f"no ESD part on {label}")
            kv.append(0.0)
            continue
        f = part_facts(board, facts, prot[0])
        if top.gnd not in {board.net_of(prot[0], p.num) for p in board.parts[prot[0]].pins}:
            problems.append(f"{prot[0]} does not reach ground")
        kv.append(float(f["iec_contact_kv"]))
        standoff.append(float(f["standoff_v"]))
        if net == top.data:
            cap = float(f["capacitance_max_pf"])
    bit = 1 / 115200
    cap_limit = 0.02 * bit / _r(board, facts, top.pullup, 1) * 1e12  # RC ≤ 2 % of a bit
    ref = ", ".join(sorted({r for n in (top.data, top.drq) for r in _net_parts(board, n)
                            if board.lib_ids[r].startswith("Power_Protection")})) or "none"
    note = "; ".join(problems)
    return [Result("esd-p1-port", min(kv), "kV", 8.0, None, {"line": "weakest of data, Data Request"},
                   min(kv) >= 8.0 and not problems, "IEC 61000-4-2 contact rating", ref, note),
            Result("esd-p1-port", min(standoff) if standoff else 0.0, "V", p1["supply_max_v"], None, {},
                   bool(standoff) and min(standoff) > p1["supply_max_v"], "stand-off voltage", ref),
            Result("esd-p1-port", cap, "pF", None, round(cap_limit, 1),
                   {top.pullup: "+1%", "baud": 115200}, cap is not None and cap <= cap_limit,
                   "capacitance on the data line", ref, "its RC with the pull-up ≤ 2 % of a bit")]


def s1_termination(board: Board, facts, top: Topology):
    """The reader terminates the RS-422 pair: one resistor across the receiver's A/B matching the cable."""
    s1 = facts["s1_port"]
    a, b = board.net_of("J4", 5), board.net_of("J4", 4)
    across = sorted(ref for ref in _net_parts(board, a) & _net_parts(board, b) if ref.startswith("R"))
    ohms = [board.value(ref) for ref in across]
    ok = len(ohms) == 1 and s1["termination_min_ohm"] <= ohms[0] <= s1["termination_max_ohm"]
    figure = ", ".join(f"{ref} {board.parts[ref].value}" for ref in across) or "no resistor across A/B"
    return [Result("s1-termination", ohms[0] if len(ohms) == 1 else None, "Ohm", s1["termination_min_ohm"],
                   s1["termination_max_ohm"], {}, ok, "termination across pins 5/4", f"J4, U3: {figure}")]


def s1_receiver_supply(board: Board, facts, top: Topology):
    """The RS-422 receiver runs from the 3.3 V rail, so its output suits the ESP32's input directly."""
    supply = board.net_of("U3", 1)
    return [Result("s1-receiver-supply", None, "", None, None, {}, supply == top.rail, "receiver supply",
                   f"U3 VCC on {supply}", "" if supply == top.rail else f"must be on {top.rail} (ESP32 levels)")]


def s1_rx_pin(board: Board, facts, top: Topology):
    """The receiver output must reach a D32 pin that is a plain input at boot, not a strapping pin."""
    s1 = facts["s1_port"]
    pins = [num for ref, num in _pins(board, board.net_of("U3", 2)) if ref == "M1"]
    names = [board.parts["M1"][num].name for num in pins]
    ok = len(names) == 1 and names[0] not in s1["strapping_pins"]
    return [Result("s1-rx-pin", None, "", None, None, {}, ok, "receiver output pin",
                   f"U3 RO → {', '.join(names) or 'not on the D32'}",
                   "" if ok else f"one pin, none of {', '.join(s1['strapping_pins'])}")]


RULES = [p1_pinout, p1_data_current, q1_saturation, rx_levels, drq_level_v, drq_level_ma, gpio12_strap, rail_3v3,
         p1_supply_budget, p1_inrush, reverse_cable, esd_p1_port]
S1_RULES = [s1_termination, s1_receiver_supply, s1_rx_pin]
RULE_IDS = ["p1-pinout", "p1-data-current", "q1-saturation", "rx-levels", "drq-level-v", "drq-level-ma", "gpio12-strap",
            "rail-3v3", "p1-supply-budget", "p1-inrush", "reverse-cable", "esd-p1-port"]
S1_RULE_IDS = ["s1-termination", "s1-receiver-supply", "s1-rx-pin"]


def rules_for(board: Board):
    """The P1 rules, plus the S1 rules on a board with the S1 port."""
    return RULES + (S1_RULES if board.variant.has_s1 else [])


def check(board: Board, facts=None) -> list[Result]:
    facts = facts or load_facts()
    top = Topology.of(board)
    return [result for rule in rules_for(board) for result in rule(board, facts, top)]


def check_json(variants, out) -> bool:
    """`python -m hwtools check --json`: every figure of every rule, one JSON object per line; True if all pass."""
    from .circuit import build_board

    ok = True
    for variant in variants:
        name = getattr(variant, "name", variant)
        for result in check(build_board(variant=name)):
            out.write(json.dumps(result.as_json(name), ensure_ascii=False) + "\n")
            ok &= bool(result.passed)
    return ok
