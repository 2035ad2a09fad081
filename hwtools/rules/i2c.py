"""`i2c-levels`: the 5 V display on J1 against the ESP32's I2C pins, as ngspice DC operating points of the I2C block.

The display is parts.toml [i2c_display]: a PCF8574 backpack on J1's supply pin, with its own pull-ups to that supply
(fitted, and removed), its SDA/SCL protection diodes to its supply and ground, and a load on its supply. The ESP32
is its two I2C pins with their protection diodes; an unpowered ESP32 is its rail's load. The board's parts between
them (pull-ups, level-shifter MOSFETs) come from the circuit. Each configuration: the ESP32 powered (at U1's output
tolerance) or not × the display powered (at its rail's lowest and highest) or not × each line released, pulled low
by the ESP32 (its VOL maximum) or by the display (its VOL at its IOL) — whichever is powered — × 0 and 60 °C.

Figures: no ESP32 pin above its VDD + 0.3 V (its absolute maximum: above it the pin's protection diode feeds the
ESP32 from the display's side), and with both powered: the display reads the released line as HIGH (≥ 0.7 × its
VDD) and the ESP32's LOW as LOW (≤ 0.3 × VDD), the ESP32 reads the display's LOW as LOW (≤ 0.25 × its VDD),
and the display sinks no more than its guaranteed IOL when it pulls low.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..errors import HwtoolsError
from ..facts import part_facts
from ..si.model import nmos_lines, spice_node
from .base import Result, Rule, _pin_named, _vout_range

LINES = {"SCL": ("GPIO22", "1"), "SDA": ("GPIO21", "2")}  # the line: its ESP32 pin, its J1 pin
DRIVES = ("released", "ESP32 low", "display low")


@dataclass(frozen=True)
class State:
    esp_v: float | None  # the ESP32's VDD; None: unpowered
    display_v: float | None  # the display's VDD; None: unpowered
    drive: str
    temp_c: float
    backpack_pullups: bool

    def corner(self, line) -> dict:
        volts = lambda v: "off" if v is None else f"{v:.4g} V"  # noqa: E731
        return {"line": line, "esp32": volts(self.esp_v), "display": volts(self.display_v), "drive": self.drive,
                "temp_c": self.temp_c, "backpack_pullups": "fitted" if self.backpack_pullups else "removed"}


@dataclass(frozen=True)
class Block:
    """Where the I2C block sits on the board: the rails' nets, each line's nets, the board's parts between them."""

    gnd: str
    esp_vdd: str
    display_vdd: str
    esp_net: dict  # line → net at the ESP32's pin
    display_net: dict  # line → net at J1's pin
    parts: tuple  # board parts on the lines (resistors, MOSFETs)
    supplies: dict  # supply net → whose: "esp" (on with the ESP32) or "display" (on with the display)


def block(board) -> Block:
    gnd = board.net_of("J2", 3)
    esp_net = {line: board.net_of("M1", _pin_named(board, "M1", pin)) for line, (pin, _) in LINES.items()}
    display_net = {line: board.net_of("J1", pin) for line, (_, pin) in LINES.items()}
    esp_vdd, display_vdd = board.net_of("M1", _pin_named(board, "M1", "3V")), board.net_of("J1", 3)
    supplies = {net: whose for net, whose in ((board.net_of("U1", _pin_named(board, "U1", "VI")), "display"),
                                              (board.net_of("U1", _pin_named(board, "U1", "VO")), "esp"),
                                              (display_vdd, "display"), (esp_vdd, "esp"))}
    rails = {gnd, *supplies}
    seen, todo, parts = set(), set(esp_net.values()) | set(display_net.values()), set()
    while todo:  # every part reachable along the lines without crossing a rail
        net = todo.pop()
        seen.add(net)
        for ref, _ in board.pins_on(net):
            if ref not in ("M1", "J1") and not board.lib_ids[ref].startswith("Device:C"):  # open at DC
                parts.add(ref)
                todo |= {p.net.name for p in board.parts[ref].pins if p.is_connected()} - rails - seen
    return Block(gnd, esp_vdd, display_vdd, esp_net, display_net, tuple(sorted(parts)), supplies)


def rail_range(board, facts, net) -> tuple[float, float]:
    """The lowest and highest voltage of a supply rail: U1's output (its tolerance) or its input (the lowest supply
    less an OR diode's maximum VF, the highest supply)."""
    reg = part_facts(board, facts, "U1")
    if net == board.net_of("U1", _pin_named(board, "U1", "VO")):
        return _vout_range(reg)
    p1, usb, diode = facts["p1_port"], facts["usb_vbus"], facts["schottky_1n5817"]
    return min(p1["supply_min_v"], usb["vbus_min_v"]) - diode["vf_max_v"], max(p1["supply_max_v"], usb["vbus_max_v"])


def states(board, facts, blk) -> list[State]:
    """Every configuration; one rail for both when the display is on the ESP32's own rail."""
    shared = blk.display_vdd == blk.esp_vdd
    esp = (None, *_vout_range(part_facts(board, facts, "U1")))
    display = (None, *rail_range(board, facts, blk.display_vdd))
    temps = (facts["operating"]["ambient_min_c"], facts["operating"]["ambient_max_c"])
    out = []
    for e, d, drive, t, pullups in itertools.product(esp, display, DRIVES, temps, (True, False)):
        if shared and e != d:
            continue
        powered = {"ESP32 low": e, "display low": d}.get(drive, 0.0)
        if powered is not None:  # only a powered side pulls a line low
            out.append(State(e, d, drive, t, pullups))
    return out


def deck(board, facts, blk, state) -> tuple[str, dict]:
    """The netlist of one configuration and {name: node} of what is measured."""

    node = lambda net: spice_node(net, blk.gnd)  # noqa: E731
    esp, disp, shown = node(blk.esp_vdd), node(blk.display_vdd), facts["i2c_display"]
    lines = [f"* i2c-levels {state.corner('both')} (generated by hwtools.rules.i2c)", ".model DSI D(IS=1e-14 N=1)"]
    loads = {"esp": facts["esp32"]["vdd_v"] / _esp_load_a(facts),
             "display": facts["p1_port"]["supply_nominal_v"] / (shown["supply_ma"] * 1e-3)}
    volts = {"esp": state.esp_v, "display": state.display_v}
    for i, (net, whose) in enumerate(sorted(blk.supplies.items())):
        lines += _rail_lines(f"{whose}{i}", node(net), volts[whose], loads[whose])
    for line in LINES:
        e, d = node(blk.esp_net[line]), node(blk.display_net[line])
        lines += [f"DESPh{line} {e} {esp} DSI", f"DESPl{line} 0 {e} DSI", f"DDISh{line} {d} {disp} DSI",
                  f"DDISl{line} 0 {d} DSI"]
        lines += [f"RBACKPACK{line} {d} {disp} {shown['pullup_ohm']}"] if state.backpack_pullups else []
        if state.drive == "ESP32 low":
            lines.append(f"VESPLOW{line} {e} 0 {facts['esp32']['vol_max_frac'] * state.esp_v:.6g}")
        elif state.drive == "display low":
            lines.append(f"VDISLOW{line} {d} 0 {shown['vol_v']}")
    for ref in blk.parts:
        lines += _part_lines(board, facts, ref, node, state.temp_c)
    nets = {p.net.name for ref in blk.parts for p in board.parts[ref].pins if p.is_connected()}
    nodes = sorted({node(n) for n in (*nets, *blk.esp_net.values(), *blk.display_net.values(), *blk.supplies)} - {"0"})
    lines += [f"RLEAK{i} {n} 0 1G" for i, n in enumerate(nodes)]  # a DC path for every node; changes no figure
    return "\n".join(lines + [".options gmin=1e-12", ".op", ".end"]) + "\n", {"esp": esp, "display": disp}


def _esp_load_a(facts):
    esp = facts["esp32"]
    return (esp["wifi_rx_listen_ma"] + esp["module_overhead_ma"]) * 1e-3


def _rail_lines(name, node, volts, load_ohm) -> list[str]:
    """A powered rail as its source; an unpowered one as its load and its chips' substrate diode."""
    if volts is not None:
        return [f"V{name.upper()} {node} 0 {volts:.6g}"]
    return [f"R{name.upper()}load {node} 0 {load_ohm:.6g}", f"D{name.upper()}sub 0 {node} DSI"]


def _part_lines(board, facts, ref, node, temp_c) -> list[str]:
    lib, part = board.lib_ids[ref], board.parts[ref]
    pins = {p.name: node(p.net.name) for p in part.pins if p.is_connected()}
    nums = {p.num: node(p.net.name) for p in part.pins if p.is_connected()}
    if lib == "Device:R":
        return [f"R{ref} {nums['1']} {nums['2']} {board.value(ref):.6g}"]
    if lib.startswith("Transistor_FET:"):
        return nmos_lines(ref, part_facts(board, facts, ref), pins["D"], pins["G"], pins["S"], temp_c)
    raise I2cModelError(f"i2c-levels: {ref} ({lib}) on the I2C lines has no model (hwtools/rules/i2c.py models "
                        "resistors and N-MOSFETs)")


class I2cModelError(HwtoolsError):
    """A part on the I2C lines that the i2c-levels deck cannot model."""


def measure(board, facts) -> list[tuple[State, str, dict]]:
    """(state, line, figures) for every configuration and line: volts at the ESP32's pin and VDD, at the display's
    pin and VDD, and the current the display sinks (mA)."""
    from ..si import spice

    blk = block(board)
    node = lambda net: spice_node(net, blk.gnd)  # noqa: E731
    runs = states(board, facts, blk)
    decks = [deck(board, facts, blk, s) for s in runs]
    plots = spice.run_batch([text for text, _ in decks], jobs=spice.JOBS)
    out = []
    for state, (_, nodes), plot in zip(runs, decks, plots):
        v = {k[2:-1]: float(x[0]) for k, x in plot[0].items() if k.startswith("v(")}
        at = lambda n: 0.0 if n == "0" else v.get(n.lower(), 0.0)  # noqa: E731
        for line in LINES:
            sink = float(plot[0].get(f"i(vdislow{line.lower()})", [0.0])[0]) * 1e3
            out.append((state, line, {"esp": at(node(blk.esp_net[line])), "esp_vdd": at(nodes["esp"]),
                                      "display": at(node(blk.display_net[line])), "display_vdd": at(nodes["display"]),
                                      "sink_ma": sink}))
    return out


def i2c_levels(board, facts, top):
    return judge(board, facts, measure(board, facts))


def judge(board, facts, runs) -> list[Result]:
    """The rule's figures from `measure`'s; each limit that scales with a supply is given at the worst corner."""
    esp, shown = facts["esp32"], facts["i2c_display"]
    blk = block(board)
    parts = ", ".join(blk.parts) + (", " if blk.parts else "") + "J1 display"
    both = [r for r in runs if r[0].esp_v is not None and r[0].display_v is not None]
    drive = lambda name: [r for r in both if r[0].drive == name]  # noqa: E731
    checks = [  # (what, runs, figure, limit as a function of the run's figures, is it a maximum)
        ("ESP32 SDA/SCL over its VDD, highest", runs, lambda f: f["esp"] - f["esp_vdd"],
         lambda f: esp["pin_abs_above_vdd_v"], True),
        ("display's line released (HIGH ≥ 0.7 × its VDD), lowest", drive("released"), lambda f: f["display"],
         lambda f: shown["vih_frac"] * f["display_vdd"], False),
        ("display's line with the ESP32 pulling low (LOW ≤ 0.3 × its VDD), highest", drive("ESP32 low"),
         lambda f: f["display"], lambda f: shown["vil_frac"] * f["display_vdd"], True),
        ("ESP32's line with the display pulling low (LOW ≤ 0.25 × its VDD), highest", drive("display low"),
         lambda f: f["esp"], lambda f: esp["vil_max_frac"] * f["esp_vdd"], True),
        ("current the display sinks pulling low, highest", drive("display low"), lambda f: f["sink_ma"],
         lambda f: shown["iol_ma"], True),
    ]
    return [_worst(what, rs, figure, limit, is_max, parts, len(runs)) for what, rs, figure, limit, is_max in checks]


def _worst(what, runs, figure, limit, is_max, parts, n) -> Result:
    """The run with the least margin (figure against its limit at that run)."""
    unit = "mA" if "current" in what else "V"
    if not runs:  # no configuration has both sides powered: nothing can be read, which is a failure
        return Result("i2c-levels", None, unit, None, None, {}, False, what, parts,
                      "no configuration with both powered")
    margin = lambda r: (limit(r[2]) - figure(r[2])) if is_max else (figure(r[2]) - limit(r[2]))  # noqa: E731
    state, line, f = min(runs, key=margin)
    lim = round(limit(f), 6)
    return Result("i2c-levels", figure(f), unit, None if is_max else lim, lim if is_max else None, state.corner(line),
                  margin((state, line, f)) >= -1e-12, what, parts,
                  f"ngspice DC operating points: {n // len(LINES)} configurations × {len(LINES)} lines")


RULES = [Rule("i2c-levels", i2c_levels)]
