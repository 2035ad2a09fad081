"""What the board draws, by consumer: from the 3.3 V rail and from the meter's pin 1 (the supply rules' budget, the
burst-train deck's steady loads). Below both, so the deck (hwtools/si/burst.py) and the rules that run it
(hwtools/rules/supply.py) import it without a circle."""

from __future__ import annotations

from ..facts import part_facts
from .base import _net_parts, _r, _regulator, _vout_range

# The current limit's own draw in supply_loads_ma: the burst-train deck leaves it out, the limit's parts being in the deck
LIMIT_LOAD = "current limit op-amp and reference"


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
    if board.variant.has_s1:  # S1 fail-safe bias across the termination
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
    if top.limiter_in:  # the current limit's op-amp and reference, from D2's cathode (hwtools/si/limiter.py)
        loads[LIMIT_LOAD] = _limit_quiescent_ma(board, facts, top)
    for ref in sorted(_net_parts(board, top.supply) & _net_parts(board, top.gnd)):
        leak = _facts_or_none(board, facts, ref)
        if leak and "leakage_max_ua" in leak:  # a clamp on pin 1: its maximum leakage (specified at its stand-off)
            loads[f"{ref} leakage"] = leak["leakage_max_ua"] * 1e-3
    return loads


def _limit_quiescent_ma(board, facts, top):
    """The op-amp's supply current and the reference's branch (through its bias resistor to GND) at the highest supply."""
    from ..si.limiter import divider, opamp_facts

    op = opamp_facts(board, top, facts)
    bias = divider(board, top)[1]
    return op["supply_current_max_ma"] + facts["p1_port"]["supply_max_v"] / _r(board, facts, bias, -1) * 1e3


def _facts_or_none(board, facts, ref):
    try:
        return part_facts(board, facts, ref)
    except KeyError:  # a part without a parts.toml section (a resistor, a connector)
        return None
