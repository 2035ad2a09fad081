"""Supply rules: the 3.3 V rail, the steady draw from the meter's pin 1, the plug-in inrush, and the meter's peak
current during the Wi-Fi burst train.

Dropout and the reverse diode's VF are guaranteed maxima moved from their test points with the typical curves.
"""

from __future__ import annotations

from ..facts import part_facts
from .base import (Rule, Result, _board_supply, _dropout, _grid, _judge, _net_parts, _r, _regulator, _vout_range,
                   _wire_ohm)
from .loads import LIMIT_LOAD, rail_loads_ma, supply_loads_ma


def _diode_drop(board, facts, top, amps, temp_c):
    """Guaranteed VF of the reverse-protection diode at its current and temperature (typical-curve ratio)."""
    if top.reverse_diode is None:
        return 0.0
    d = part_facts(board, facts, top.reverse_diode)
    frac = min(max(amps / d["vf_test_a"], 0.2), 1.0)
    ratio = d["vf_typ_ratio_200ma"] + (1 - d["vf_typ_ratio_200ma"]) * (frac - 0.2) / 0.8
    return d["vf_max_v"] * ratio + d["vf_tempco_mv_per_c"] * 1e-3 * (temp_c - 25)

def _limit_drop(board, facts, top, amps):
    from ..si.limiter import drop_v

    return drop_v(board, top, facts, amps)


def rail_3v3(board, facts, top):
    """The 3.3 V rail within the ESP32's 3.0-3.6 V: steady at the lowest supply, the longest cable and the worst
    load, and at its lowest in the Wi-Fi burst train (_rail_during_train).

    Dropout is the guaranteed maximum moved from its test current with the typical curve; the reverse diode's VF
    likewise (and +1.5 mV/°C towards 0 °C).
    """
    esp, reg = facts["esp32"], _regulator(board, facts)
    vlo, vhi = _vout_range(reg)
    amps_rail = sum(rail_loads_ma(board, facts, top).values()) * 1e-3
    amps_steady = sum(supply_loads_ma(board, facts, top).values()) * 1e-3
    worst = None
    for c in _grid(facts):
        v_in = _board_supply(facts, c, amps_steady) - _diode_drop(board, facts, top, amps_steady, c["temp_c"])
        if top.limiter_in:
            v_in -= _limit_drop(board, facts, top, amps_steady)
        headroom = v_in - _dropout(reg, amps_rail)
        v_out = min(vlo, headroom)
        if worst is None or (v_out, headroom) < worst[:2]:
            worst = (v_out, headroom, {**c, "load_ma": round(amps_rail * 1e3, 1)})
    parts = f"U1 {board.parts['U1'].value}" + (f", {top.reverse_diode}" if top.reverse_diode else "")
    note = f"dropout {reg['dropout_max_v']} V max @ {reg['dropout_test_a']} A moved to the load with the typical curve"
    return [Result("rail-3v3", worst[0], "V", esp["vdd_min_v"], esp["vdd_max_v"], worst[2],
                   _judge(worst[0], esp["vdd_min_v"], esp["vdd_max_v"]), "3.3 V rail, steady, lowest", parts, note),
            _rail_during_train(board, facts, top),
            Result("rail-3v3", vhi, "V", esp["vdd_min_v"], esp["vdd_max_v"], {"regulator": "+tolerance"},
                   _judge(vhi, esp["vdd_min_v"], esp["vdd_max_v"]), "3.3 V rail, highest",
                   f"U1 {board.parts['U1'].value}")]

def _rail_during_train(board, facts, top):
    """The meter carries what it can (behind a current limit, the limit) and the bulk capacitors the rest: the rail's
    lowest is U1's input at its lowest in the burst-train transient ([wifi_frame], every tolerance corner of the
    limit, the meters DSMR allows) less U1's guaranteed dropout at the burst's load."""
    esp, reg, frame = facts["esp32"], _regulator(board, facts), facts["wifi_frame"]
    amps = sum(rail_loads_ma(board, facts, top, frame["current_ma"]).values()) * 1e-3
    low = min((r for r in burst_train(board, facts, top) if r.meter.delivers_dsmr_minimum(facts["p1_port"])),
              key=lambda r: r.lowest_bulk_v)
    v_out = min(_vout_range(reg)[0], low.lowest_bulk_v - _dropout(reg, amps))
    bulk = sorted(r for r in _net_parts(board, top.regulator_in) if board.lib_ids[r] == "Device:C_Polarized")
    parts = ", ".join([f"U1 {board.parts['U1'].value}"] + ([top.reverse_diode] if top.reverse_diode else [])
                      + (["the current limit"] if top.limiter_in else [])
                      + [f"{r} {board.parts[r].value}" for r in bulk])
    return Result("rail-3v3", v_out, "V", esp["vdd_min_v"], esp["vdd_max_v"],
                  {**low.corner(), "bulk_v": round(low.lowest_bulk_v, 4), "load_ma": round(amps * 1e3, 1)},
                  _judge(v_out, esp["vdd_min_v"], esp["vdd_max_v"]), "3.3 V rail, burst, lowest", parts,
                  f"U1's input in the burst-train transient ({frame['current_ma']} mA for {frame['length_ms']} ms, "
                  f"electrolytics −20 %) less the dropout at {amps * 1e3:.0f} mA")


def p1_supply_budget(board, facts, top):
    loads = supply_loads_ma(board, facts, top)
    total = sum(loads.values())
    limit = facts["p1_port"]["supply_continuous_max_ma"]
    biggest = ", ".join(f"{k} {v:.1f}" for k, v in sorted(loads.items(), key=lambda kv: -kv[1])[:3])
    return [Result("p1-supply-budget", total, "mA", None, limit, {"load": "steady, Data Request on"},
                   _judge(total, hi=limit), "steady draw from pin 1", f"largest: {biggest} mA")]

def p1_inrush(board, facts, top):
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
    own_limit, own_drop = _inrush_own_limit(board, facts, top, boot_rail)
    worst = None
    for c in _grid(facts, supply_v=p1["supply_min_v"]):
        v_final = _board_supply(facts, c, boot_rail)
        for k in range(10, int(v_final * 100) + 1, 5):
            vb = k / 100
            v_rail = max(0.0, min(reg["vout_v"], vb - _diode_drop(board, facts, top, boot_rail, c["temp_c"])
                                  - own_drop - _dropout(reg, boot_rail)))
            load = boot_rail * v_rail / reg["vout_v"] + (reg["quiescent_max_ma"] * 1e-3 + others) * vb / p1["supply_nominal_v"]
            v_meter = vb + 2 * _wire_ohm(facts, c["cable_m"]) * load
            limit = min(slope * v_meter, p1["supply_trip_min_ma"] * 1e-3, own_limit)
            margin = (limit - load) * 1e3
            if worst is None or margin < worst[0]:
                worst = (margin, {**c, "board_v": vb})
    return [Result("p1-inrush", worst[0], "mA", 0.0, None, worst[1], worst[0] > 0,
                   "charging current left under the meter's fold-back, lowest",
                   f"C1 {board.parts['C1'].value}, U1, M1 booting", "fold-back line 0 mA @ 0 V .. 260 mA @ 4.9 V")]


def _inrush_own_limit(board, facts, top, amps):
    """The board's own current limit (A) and its drop (V) while C1 charges: its lowest corner, less what its pass
    transistor's base takes; none on a board without one. (Below the op-amp's 3 V supply minimum its output can
    only hold Q5 off or on: off, nothing loads D2's cathode and it rises to where U4 runs; on, C1 charges.)"""
    if not top.limiter_in:
        return float("inf"), 0.0
    from ..si import limiter

    low = min(limiter.limit_ma(board, top, facts, c) for c in limiter.corners(facts))
    return (low - limiter.pass_base_ma(board, top, facts, low)) * 1e-3, limiter.drop_v(board, top, facts, amps)


def bulk_min_v(board, facts, top, burst):
    """The lowest regulator input that still gives the ESP32 its minimum VDD during `burst` (the rail's load at the
    burst current through U1's guaranteed dropout)."""
    amps = sum(rail_loads_ma(board, facts, top, burst["current_ma"]).values()) * 1e-3
    return facts["esp32"]["vdd_min_v"] + _dropout(_regulator(board, facts), amps)


def burst_train(board, facts, top):
    """The burst-train study of the board (hwtools/si/burst.py), run once per check: the rules that read it share it.
    With a current limit on the board, at the lowest and highest corner of its tolerance (hwtools/si/limiter.py)."""
    if top.burst is None:
        from ..si import limiter  # they read this module's loads: imported here, not at the top
        from ..si.burst import study

        corners = limiter.extremes(facts) if top.limiter_in else [None]
        top.burst = [r for corner in corners for r in study(board, facts, corner=corner)]
    return top.burst

def p1_peak_current(board, facts, top):
    """The current out of the meter's pin 1 at any instant of the Wi-Fi burst train ([wifi_frame]), bulk charged
    and the module running: ≤ DSMR's 250 mA. An ngspice transient per corner: the meter stiff and on DSMR's line at
    4.9 and 5.5 V, the cable 0 and 5 m, the bulk capacitors' series resistance at ½ and 3 × [bulk_esr]."""
    from ..si.burst import BURSTS, ESR_SCALES

    limit, frame = facts["p1_port"]["supply_continuous_max_ma"], facts["wifi_frame"]
    worst = max(burst_train(board, facts, top), key=lambda r: r.peak_ma)
    bulk = sorted(r for r in _net_parts(board, top.regulator_in) & _net_parts(board, top.gnd)
                  if board.lib_ids[r].startswith("Device:C"))
    parts = ", ".join(([top.reverse_diode] if top.reverse_diode else []) + [f"{r} {board.parts[r].value}" for r in bulk])
    note = (f"ngspice transient: {BURSTS} bursts of {frame['current_ma']} mA for {frame['length_ms']} ms every "
            f"{frame['period_ms']} ms; [bulk_esr] × {ESR_SCALES[0]:g} … {ESR_SCALES[-1]:g}")
    results = [Result("p1-peak-current", worst.peak_ma, "mA", None, limit, worst.corner(), _judge(worst.peak_ma, hi=limit),
                      "current out of the meter's pin 1 during the Wi-Fi burst train, highest", parts, note)]
    if top.limiter_in:
        results += [_limit_over_average(board, facts, top), _reference_current(board, facts, top),
                    _limit_supply(board, facts, top)]
    return results


def _reference_current(board, facts, top):
    """The limit's shunt reference keeps regulating down to the op-amp's lowest supply (below it the op-amp does
    not hold the limit either): its bias resistor's current at the resistor's highest, less the divider's across it."""
    from ..si.limiter import divider, opamp_facts

    shunt, bias, upper, lower = divider(board, top)
    op = opamp_facts(board, top, facts)
    ref, v = part_facts(board, facts, shunt), op["supply_min_v"]
    ma = ((v - ref["vref_v"]) / _r(board, facts, bias, +1) - ref["vref_v"] / (board.value(upper) + board.value(lower))) * 1e3
    return Result("p1-peak-current", ma, "mA", ref["i_min_ma"], None, {"supply_v": v}, _judge(ma, lo=ref["i_min_ma"]),
                  f"current limit's reference {shunt}: its current at the op-amp's lowest supply", f"{shunt}, {bias}",
                  "the bias resistor at its highest, the divider across the reference")


def _limit_supply(board, facts, top):
    """The limit's op-amp runs from D2's cathode: at its lowest in the burst train (the meters DSMR allows, every
    tolerance corner of the limit) it stays within the op-amp's supply range (its inputs, 0.2 V under that supply,
    are inside its rail-to-rail common-mode range at any supply)."""
    from ..si.limiter import opamp_facts

    op = opamp_facts(board, top, facts)
    low = min((r for r in burst_train(board, facts, top) if r.meter.delivers_dsmr_minimum(facts["p1_port"])),
              key=lambda r: r.lowest_limit_in_v)
    return Result("p1-peak-current", low.lowest_limit_in_v, "V", op["supply_min_v"], op["supply_max_v"], low.corner(),
                  _judge(low.lowest_limit_in_v, op["supply_min_v"], op["supply_max_v"]),
                  "current limit's op-amp supply (D2's cathode) during the burst train, lowest", top.reverse_diode,
                  "ngspice burst-train transient")


def _limit_over_average(board, facts, top):
    """The current limit at its lowest must carry +5V's average draw through the burst train (the steady draw
    and each burst's extra over its period) and the pass transistor's base current, or the bulk capacitor never
    recovers and U1's input runs down burst after burst — slower than the six-burst transient shows."""
    from ..si import limiter
    from ..si.burst import PIN_SIDE

    frame, esp = facts["wifi_frame"], facts["esp32"]
    rail = sum(v for k, v in supply_loads_ma(board, facts, top).items()
               if k != LIMIT_LOAD and not any(w in k for w in PIN_SIDE))
    average = rail + (frame["current_ma"] - esp["wifi_rx_listen_ma"]) * frame["length_ms"] / frame["period_ms"]
    low = min(limiter.corners(facts), key=lambda c: limiter.limit_ma(board, top, facts, c))
    lowest = limiter.limit_ma(board, top, facts, low)
    need = average + limiter.pass_base_ma(board, top, facts, lowest)
    return Result("p1-peak-current", lowest, "mA", need, None, {"limit": low.name}, _judge(lowest, lo=need),
                  "current limit at its lowest, against +5V's average draw in the burst train and the pass's base",
                  ", ".join(limiter.limiter_parts(board, top)),
                  f"+5V average {average:.1f} mA + base current at the minimum hFE; sense ±"
                  f"{limiter.sense_tolerance(facts):.2%}, offset ±{facts['lmc6482a']['vos_max_temp_mv']} mV")


RULES = [
    Rule("rail-3v3", rail_3v3),
    Rule("p1-supply-budget", p1_supply_budget),
    Rule("p1-inrush", p1_inrush),
    Rule("p1-peak-current", p1_peak_current),
]
