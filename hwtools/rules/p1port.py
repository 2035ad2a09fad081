"""P1 port rules: pinout, the data line and its inverter, Data Request, the strapping pin, ESD, a crossed cable.

Datasheets guarantee most limits only at their test point; a rule moves such a limit to its operating point
with the ratio of the datasheet's typical curve (kept in `parts.toml`) and says so.
"""

from __future__ import annotations

import math

from ..facts import bc547_models, opto_ctr, part_facts
from ..si.model import speedup_parts
from .base import Rule, Result, _board_supply, _grid, _judge, _net_parts, _r, _regulator, _vout_range, _wire_ohm
from .loads import supply_loads_ma
from .supply import burst_train


def p1_pinout(board, facts, top):
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

def p1_data_current(board, facts, top):
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

def q1_saturation(board, facts, top):
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
                   "VBE(on) max +2 mV/°C below 25 °C, hFE min × 0.8 at 0 °C (typical curves)"),
            _stored_charge_bound(board, facts, top, ic, parts)]

def _speedup_farads(board, top):
    """The speed-up capacitor across the base resistor (C9), 0 if there is none."""
    base_net = next(n for n in (board.net_of(top.base_r, 1), board.net_of(top.base_r, 2)) if n != top.data)
    cap, _ = speedup_parts(board, top.data, base_net)  # directly across R1, or through R13 (rev 1.4)
    return board.value(cap) if cap else 0.0

def _stored_charge_bound(board, facts, top, ic, parts):
    """Upper bound: the charge Q1 stores at its highest overdrive (the largest BR × TR of the models × the excess base
    current) must not exceed what C9 pulls out of the base when the meter pulls the line LOW (C9 × the fall from
    the released line's lowest level to DSMR's 1.0 V LOW). The bound is that charge as an overdrive."""
    q, p1 = facts["bc547"], facts["p1_port"]
    tau = max(m.get("params", facts["bc547_spice"]["params"])["BR"] * m["tr_s"] for m in bc547_models(facts).values())
    r1, r2 = board.value(top.base_r), board.value(top.pullup)
    vbe_hot = q["vbe_on_min_v"] + q["vbe_tempco_mv_per_c"] * 1e-3 * (facts["operating"]["ambient_max_c"] - 25)
    fall = vbe_hot + (p1["supply_min_v"] - vbe_hot) * r1 / (r1 + r2) - p1["data_low_max_v"]
    hfe = q["hfe_min"]
    worst = None
    for c in _grid(facts, cable_m=0.0):
        vbe = q["vbe_on_min_v"] + q["vbe_tempco_mv_per_c"] * 1e-3 * (c["temp_c"] - 25)
        i1 = (c["supply_v"] - vbe) / (_r(board, facts, top.pullup, -1) + _r(board, facts, top.base_r, -1))
        ib = i1 - (vbe / _r(board, facts, top.base_pulldown, 1) if top.base_pulldown else 0.0)
        if worst is None or ib > worst[0]:
            worst = (ib, c)
    ib, c = worst
    cap = _speedup_farads(board, top)
    bound = (cap * fall * q["storage_charge_max_ratio"] / tau + ic / hfe) * hfe / ic
    od = ib * hfe / ic
    return Result("q1-saturation", od, "×", None, bound, c, _judge(od, hi=bound),
                  f"highest base overdrive IB·hFEmin/IC (IB {ib * 1e3:.3f} mA) against the stored charge C9 pulls out",
                  parts + f", C9 {cap * 1e12:.0f} pF",
                  f"stored {tau * 1e9:.0f} ns × IB (largest BR × TR of the models) ≤ C9 × {fall:.2f} V (released line at "
                  f"{p1['supply_min_v']:g} V, VBE(on) min hot, to the 1.0 V LOW)")

def rx_levels(board, facts, top):
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
            vbe_min = q["vbe_on_min_v"] + q["vbe_tempco_mv_per_c"] * 1e-3 * (t - 25)
            decades = (vbase - vbe_min) / (q["vbe_slope_mv_per_decade"] * 1e-3 * (t + 273.15) / 298.15)
            ic = q["vbe_test_ma"] * 1e-3 * 10 ** min(decades, 3)
            leak = q["icbo_25c_max_na"] * 1e-9 * (q["icbo_max_ua"] * 1e3 / q["icbo_25c_max_na"]) ** ((t - 25) / 125)
            high = max(vdd_min - (ic + leak + esp["input_leakage_ua"] * 1e-6) * r3, q["vce_sat_max_v"])
            if worst is None or high < worst[0]:
                worst = (high, {"line_low_v": low_v, "temp_c": t, "rail_v": round(vdd_min, 4),
                                top.base_r: "-1%", top.collector_r: "+1%"})
    high, c = worst
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

def _led_current(board, facts, top, vdd, vf, sign):
    voh = facts["esp32"]["voh_min_frac"] * vdd if sign < 0 else vdd
    return max(0.0, (voh - vf) / _r(board, facts, top.led_r, -sign))

def _drq_stage(board, facts, top, c, i_meter, v_board=None):
    """Voltage across the meter's input and the current the switch saturates at, at one corner; `v_board`: pin 1
    at the board when something else sets it (the burst train), else the steady draw through the cable."""
    p1, opto = facts["p1_port"], facts["cny_4n35"]
    vdd_min = _vout_range(_regulator(board, facts))[0]
    amps = sum(supply_loads_ma(board, facts, top).values()) * 1e-3
    rw = _wire_ohm(facts, c["cable_m"])
    v_board = _board_supply(facts, c, amps) if v_board is None else v_board
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

def drq_level_v(board, facts, top):
    """Data Request at the meter's input: ≥ 4.0 V while it draws its maximum 10 mA, steady and while the Wi-Fi burst
    train pulls pin 1 down (_drq_level_burst); ≤ 5.5 V at its minimum 4 mA.

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
            _drq_level_burst(board, facts, top),
            Result("drq-level-v", hi_v, "V", None, p1["drq_high_max_v"],
                   {"supply_v": p1["supply_max_v"], "cable_m": 0.0, "drq_ma": p1["drq_current_min_ma"]},
                   _judge(hi_v, hi=p1["drq_high_max_v"]), "Data Request at the meter, highest", parts)]

def drq_lowest_during(board, facts, top, train):
    """Data Request's lowest at the meter, and its corner, over burst-train results (each with its meter, cable
    and pin 1's lowest) at the meters DSMR allows (≥ 4.9 V at 250 mA), 0 and 60 °C."""
    p1 = facts["p1_port"]
    amps = p1["drq_current_max_ma"] * 1e-3
    return min(((_drq_stage(board, facts, top, c, amps, v_board=r.lowest_pin1_v)[0],
                 {**r.corner(), "temp_c": c["temp_c"], "pin1_v": round(r.lowest_pin1_v, 4)})
                for r in train if r.meter.delivers_dsmr_minimum(p1)
                for c in _grid(facts, supply_v=r.meter.emf_v, cable_m=r.cable_m)), key=lambda x: x[0])

def _drq_level_burst(board, facts, top):
    """Data Request at the meter while the Wi-Fi burst train pulls pin 1 down (supply.burst_train): ≥ 4.0 V at
    every meter DSMR allows (the 4.9 V source behind DSMR's line gives 4.3 V at 250 mA: left out), 0 and 60 °C."""
    p1 = facts["p1_port"]
    volts, corner = drq_lowest_during(board, facts, top, burst_train(board, facts, top))
    return Result("drq-level-v", volts, "V", p1["drq_high_min_v"], None, {**corner, "drq_ma": p1["drq_current_max_ma"]},
                  _judge(volts, p1["drq_high_min_v"]), "Data Request at the meter, lowest during the burst",
                  _drq_parts(board, top), "pin 1's lowest in the burst-train transient (p1-peak-current's)")

def _drq_parts(board, top):
    refs = [top.led_r, top.opto, top.q2_base_r, top.q2_pullup_r, top.drq_switch if top.drq_switch != top.opto else None,
            top.drq_r]
    return ", ".join(f"{r} {board.parts[r].value}" for r in refs if r)

def drq_level_ma(board, facts, top):
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

def gpio12_strap(board, facts, top):
    """GPIO12 is a strapping pin (flash voltage): nothing on the board may pull it up at reset."""
    problems = [f"{ref} on GPIO12" for ref in sorted(_net_parts(board, top.gpio_drq) - {"M1", top.led_r})]
    other = next(n for n in (board.net_of(top.led_r, 1), board.net_of(top.led_r, 2)) if n != top.gpio_drq)
    if _net_parts(board, other) - {top.led_r, top.opto} or board.net_of(top.opto, 2) != top.gnd:
        problems.append(f"{top.led_r} does not end in the LED of {top.opto} to ground")
    return [Result("gpio12-strap", None, "", None, None, {}, not problems, "GPIO12 free of pull-ups at reset",
                   f"M1 GPIO12, {top.led_r}, {top.opto}", "; ".join(problems))]

def reverse_cable(board, facts, top):
    """A crossed 6P6C cable (1↔6, 2↔5, 3↔4) on a meter: an ngspice DC operating point of the whole board (its
    models: hwtools/si/reverse.py). The figure is the smallest margin to any absolute maximum rating."""
    from ..si.reverse import reverse_margins

    margins = reverse_margins(board, facts)
    worst = min(margins, key=lambda m: m.margin)
    return [Result("reverse-cable", worst.margin, "V", 0.0, None,
                   {"mapping": "1-6 2-5 3-4", "supply_v": facts["p1_port"]["supply_max_v"], "part": worst.ref,
                    "check": worst.what, "value_v": round(worst.value, 4)},
                   worst.margin >= 0, "smallest margin to an absolute maximum rating with a crossed cable",
                   f"{worst.ref}: {worst.what} {worst.value:.2f} V against {worst.limit:g} V",
                   "ngspice DC operating point; diodes for body/ESD paths, capacitor reverse voltage as a checked figure")]

def esd_p1_port(board, facts, top):
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


RULES = [
    Rule("p1-pinout", p1_pinout),
    Rule("p1-data-current", p1_data_current),
    Rule("q1-saturation", q1_saturation),
    Rule("rx-levels", rx_levels),
    Rule("drq-level-v", drq_level_v),
    Rule("drq-level-ma", drq_level_ma),
    Rule("gpio12-strap", gpio12_strap),
    Rule("reverse-cable", reverse_cable),
    Rule("esd-p1-port", esd_p1_port),
]

