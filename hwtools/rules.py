"""P1-specific design rules — what no generic ERC knows about reading a Fluvius meter.

Every figure is computed from the circuit's own part values (`Board.value`) and the part facts in
`parts.toml`; nothing here repeats a resistor value. Each rule returns one `RuleResult` that names the
parts involved, the figure and its limit.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .circuit import Board

PARTS_FILE = Path(__file__).with_name("parts.toml")


def load_facts(path: Path = PARTS_FILE) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


@dataclass
class RuleResult:
    name: str
    passed: bool
    figure: str  # the computed value, with unit
    limit: str  # what it must satisfy
    parts: str  # the parts that decide it

    def __str__(self):
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict}  {self.name}: {self.figure} (limit {self.limit}; {self.parts})"


def _pins(board, net):
    return board.pins_on(net) if net else set()


def rj12_pinout(board: Board, facts) -> RuleResult:
    """Pin 1 feeds the regulator, 2 is driven only through the opto path, 3/6 ground, 4 open, 5 pulled up."""
    j2 = {n: board.net_of("J2", n) for n in range(1, 7)}
    problems = []
    if not any(ref == "U1" for ref, _ in _pins(board, j2[1])):
        problems.append("pin 1 (+5 V) does not reach the regulator U1")
    if not any(ref == "R5" for ref, _ in _pins(board, j2[2])) or j2[2] in (j2[1], j2[3], j2[6]):
        problems.append("pin 2 (Data Request) is not fed through R5 from the optocoupler")
    if not (j2[3] and j2[3] == j2[6] and ("U1", "1") in _pins(board, j2[3])):
        problems.append("pins 3 and 6 are not both on the board's ground")
    if j2[4] is not None:
        problems.append(f"pin 4 (n.c.) is connected to {j2[4]}")
    data_parts = {ref for ref, _ in _pins(board, j2[5])}
    if not {"R2", "R1"} <= data_parts:
        problems.append("pin 5 (data) does not have the pull-up R2 and base resistor R1")
    return RuleResult("RJ12 pinout (1 +5V, 2 DRQ, 3 GND, 4 n.c., 5 data, 6 GND)", not problems,
                      "; ".join(problems) or "as specified", "DSMR P1 pinout", "J2")


def data_line_current(board: Board, facts) -> RuleResult:
    """When the meter pulls the line low, R2 sinks (Vsupply_max - Vlow) into it."""
    p1 = facts["p1_port"]
    ma = (p1["supply_max_v"] - 0.0) / board.value("R2") * 1e3
    return RuleResult("current into the P1 data line", ma <= p1["data_sink_max_ma"], f"{ma:.2f} mA",
                      f"≤ {p1['data_sink_max_ma']} mA", f"R2 = {board.parts['R2'].value} from {p1['supply_max_v']} V")


def q1_saturation(board: Board, facts) -> RuleResult:
    """Line released (SPACE): base current via R2 + R1 must saturate Q1 against R3 with the minimum gain."""
    p1, q, esp = facts["p1_port"], facts["bc547"], facts["esp32"]
    ib = (p1["supply_min_v"] - q["vbe_on_max_v"]) / (board.value("R2") + board.value("R1"))
    ic = (esp["vdd_v"] * (1 + facts["lm1085_3v3"]["vout_tol_frac"]) - q["vce_sat_max_v"]) / board.value("R3")
    needed = ic / q["hfe_min"] * q["saturation_overdrive"]
    return RuleResult("Q1 saturates with minimum BC547 gain", ib >= needed,
                      f"IB {ib * 1e3:.3f} mA for IC {ic * 1e3:.2f} mA",
                      f"IB ≥ {q['saturation_overdrive']} × IC / hFEmin {q['hfe_min']} = {needed * 1e3:.3f} mA",
                      f"R2 {board.parts['R2'].value} + R1 {board.parts['R1'].value}, R3 {board.parts['R3'].value}")


def rx_levels(board: Board, facts) -> RuleResult:
    """RX LOW (line released, Q1 on) ≤ VIL and RX HIGH (meter pulling low, Q1 off) ≥ VIH at the ESP32 pin.

    LOW is VCE(sat) when the minimum gain can sink R3's current, else what the base current can pull.
    HIGH is the rail minus the worst-case (hot) collector leakage and the ESP32's input leakage across R3.
    With the meter's typical LOW of 0.2 V the base stays below VBE(on), so Q1 is off.
    """
    p1, q, esp, ldo = facts["p1_port"], facts["bc547"], facts["esp32"], facts["lm1085_3v3"]
    vdd_min = ldo["vout_v"] * (1 - ldo["vout_tol_frac"])
    vil, vih = esp["vil_max_frac"] * vdd_min, esp["vih_min_frac"] * vdd_min
    r1, r2, r3 = board.value("R1"), board.value("R2"), board.value("R3")
    ib = (p1["supply_min_v"] - q["vbe_on_max_v"]) / (r2 + r1)
    ic_wanted = (vdd_min - q["vce_sat_max_v"]) / r3
    low = q["vce_sat_max_v"] if q["hfe_min"] * ib >= ic_wanted else vdd_min - q["hfe_min"] * ib * r3
    base_v = p1["data_low_typ_v"]
    leakage = (q["icbo_max_ua"] + esp["input_leakage_ua"]) * 1e-6
    high = vdd_min - leakage * r3 if base_v < q["vbe_on_min_v"] else low
    ok = low <= vil and high >= vih
    return RuleResult("RX levels at the ESP32 (GPIO16)", ok,
                      f"LOW {low:.2f} V, HIGH {high:.2f} V (base {base_v:.2f} V with the meter low)",
                      f"LOW ≤ VIL {vil:.2f} V, HIGH ≥ VIH {vih:.2f} V",
                      f"Q1, R1 {board.parts['R1'].value}, R3 {board.parts['R3'].value}")


def data_request(board: Board, facts) -> RuleResult:
    """GPIO12 HIGH → R4 → 4N35 LED; its transistor (minimum CTR) feeds pin 2 through R5 into the meter's input.

    The meter's input is modelled as a resistance drawing its typical 5 mA at 5 V.
    """
    p1, opto, esp, ldo = facts["p1_port"], facts["cny_4n35"], facts["esp32"], facts["lm1085_3v3"]
    voh = esp["voh_min_frac"] * ldo["vout_v"] * (1 - ldo["vout_tol_frac"])
    i_led = max(0.0, (voh - opto["led_vf_max_v"]) / board.value("R4"))
    i_available = opto["ctr_min"] * i_led
    r_load = 5.0 / (p1["drq_current_typ_ma"] * 1e-3)
    r5 = board.value("R5")
    # saturated: V = supply - VCEsat - I*R5; otherwise current-limited by the CTR
    v_sat = (p1["supply_min_v"] - opto["vce_sat_max_v"]) * r_load / (r_load + r5)
    i = min(v_sat / r_load, i_available)
    v = i * r_load
    ok = (p1["drq_high_min_v"] <= v <= p1["drq_high_max_v"]
          and p1["drq_current_min_ma"] <= i * 1e3 <= p1["drq_current_max_ma"]
          and i_led * 1e3 <= opto["if_max_ma"])
    return RuleResult("Data Request through the 4N35 at minimum CTR", ok,
                      f"{v:.2f} V at {i * 1e3:.2f} mA (LED {i_led * 1e3:.2f} mA, CTR {opto['ctr_min']:.0%})",
                      f"{p1['drq_high_min_v']}-{p1['drq_high_max_v']} V at "
                      f"{p1['drq_current_min_ma']}-{p1['drq_current_max_ma']} mA",
                      f"R4 {board.parts['R4'].value}, U2 4N35, R5 {board.parts['R5'].value}")


def _steady_loads_ma(board: Board, facts):
    """Steady current from pin 1, by consumer (mA)."""
    p1, esp, ldo, led = facts["p1_port"], facts["esp32"], facts["lm1085_3v3"], facts["led_green_5mm"]
    v3 = ldo["vout_v"]
    opto = facts["cny_4n35"]
    return {
        "ESP32 Wi-Fi listening": esp["wifi_rx_listen_ma"],
        "D32 module overhead": esp["module_overhead_ma"],
        "LM1085 quiescent": ldo["quiescent_max_ma"],
        "power LED D1/R6": (v3 - led["vf_min_v"]) / board.value("R6") * 1e3,
        "RX pull-up R3": v3 / board.value("R3") * 1e3,
        "Data Request LED R4": (v3 - opto["led_vf_typ_v"]) / board.value("R4") * 1e3,
        "P1 data pull-up R2": p1["supply_max_v"] / board.value("R2") * 1e3,
        "Data Request output": p1["drq_current_max_ma"],
        "I2C display on J1": facts["i2c_display"]["supply_ma"],
    }


def supply_budget(board: Board, facts) -> RuleResult:
    loads = _steady_loads_ma(board, facts)
    total = sum(loads.values())
    limit = facts["p1_port"]["supply_continuous_max_ma"]
    biggest = ", ".join(f"{k} {v:.1f}" for k, v in sorted(loads.items(), key=lambda kv: -kv[1])[:3])
    return RuleResult("steady draw from P1 pin 1", total <= limit, f"{total:.1f} mA", f"≤ {limit} mA",
                      f"largest: {biggest} mA")


def ldo_headroom(board: Board, facts) -> RuleResult:
    p1, ldo = facts["p1_port"], facts["lm1085_3v3"]
    headroom = p1["supply_min_v"] - ldo["vout_v"]
    return RuleResult("LM1085 headroom from a 4.9 V P1 supply", headroom >= ldo["dropout_max_v"],
                      f"{headroom:.2f} V", f"≥ dropout {ldo['dropout_max_v']} V", f"U1 {board.parts['U1'].value}")


def _net_parts(board, net):
    return {ref for ref, _ in _pins(board, net)}


def s1_termination(board: Board, facts) -> RuleResult:
    """The reader terminates the RS-422 pair: a resistor across the receiver's A/B matching the cable."""
    s1 = facts["s1_port"]
    a, b = board.net_of("J4", 5), board.net_of("J4", 4)
    across = sorted(ref for ref in _net_parts(board, a) & _net_parts(board, b) if ref.startswith("R"))
    ohms = [board.value(ref) for ref in across]
    ok = len(ohms) == 1 and s1["termination_min_ohm"] <= ohms[0] <= s1["termination_max_ohm"]
    figure = ", ".join(f"{ref} {board.parts[ref].value}" for ref in across) or "no resistor across A/B"
    return RuleResult("S1 line termination", ok, figure,
                      f"one resistor of {s1['termination_min_ohm']}-{s1['termination_max_ohm']} Ohm across pins 5/4",
                      "J4, U3")


def s1_receiver_supply(board: Board, facts) -> RuleResult:
    """The RS-422 receiver runs from the 3.3 V rail, so its output suits the ESP32's input directly."""
    supply = board.net_of("U3", 1)
    ok = supply == "+3V3"
    return RuleResult("S1 receiver supply", ok, f"U3 VCC on {supply}", "on +3V3 (ESP32 levels)", "U3")


def s1_rx_pin(board: Board, facts) -> RuleResult:
    """The receiver output must reach a D32 pin that is a plain input at boot, not a strapping pin."""
    s1 = facts["s1_port"]
    pins = [num for ref, num in _pins(board, board.net_of("U3", 2)) if ref == "M1"]
    names = [board.parts["M1"][num].name for num in pins]
    ok = len(names) == 1 and names[0] not in s1["strapping_pins"]
    return RuleResult("S1 receiver output on a non-strapping D32 pin", ok, ", ".join(names) or "not on the D32",
                      f"one pin, none of {', '.join(s1['strapping_pins'])}", "U3 RO, M1")


RULES = [rj12_pinout, data_line_current, q1_saturation, rx_levels, data_request, ldo_headroom, supply_budget]
S1_RULES = [s1_termination, s1_receiver_supply, s1_rx_pin]


def rules_for(board: Board):
    """The P1 rules, plus the S1 rules on a board with the S1 port."""
    return RULES + (S1_RULES if board.variant.has_s1 else [])


def check(board: Board, facts=None) -> list[RuleResult]:
    facts = facts or load_facts()
    return [rule(board, facts) for rule in rules_for(board)]
