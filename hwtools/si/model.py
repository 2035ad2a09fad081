"""The SPICE netlists of the P1 data path and the Data Request stage, built from the circuit description.

`DataPath.from_board` finds the parts by what they connect (the pull-up is the resistor between RJ12 pin 5
and pin 1, the inverter is the transistor whose base R1 feeds...), so values and nets come from the same
`Board` as the KiCad netlist. Models come from `parts.toml`; a `Case` scales them for a corner or a Monte
Carlo draw. Everything here is plain data (picklable), so worker processes can build decks themselves.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..errors import HwtoolsError
from ..facts import load_facts, opto_ctr


DESIGN_MODEL = "nxp_tr100n"  # the BC547 storage-time model of every deck not swept over [bc547_models]
# 1N4148 (D6, Q1's base clamp): CJO is [diode_1n4148] capacitance_max_pf, the edge it adds to the base
D1N4148 = ".model D1N4148 D(IS=4e-9 N=1.9 RS=0.6 BV=100 IBV=5e-6 CJO=4e-12)"


class ModelError(HwtoolsError):
    """The circuit does not have the shape the simulation expects (no pull-up on pin 5, ...)."""


@dataclass(frozen=True)
class Resistor:
    ref: str
    ohms: float
    nets: tuple[str, str]


@dataclass(frozen=True)
class DataPath:
    """The parts of the P1 input and Data Request stages, with their nets, as the board has them."""

    pullup: Resistor          # R2: P1 +5 V → data
    base: Resistor            # R1: data → Q1 base
    collector: Resistor       # R3: +3V3 → RX
    q_ref: str                # Q1
    q_nets: tuple[str, str, str]  # (collector, base, emitter)
    drq_led: Resistor         # R4: GPIO12 → U2 LED anode
    drq_out: Resistor         # R5: the switch → RJ12 pin 2
    opto_ref: str             # U2
    opto_nets: dict = field(default_factory=dict)  # U2 pin number → net
    supply: str = ""          # P1 +5 V net (RJ12 pin 1)
    data: str = ""            # RJ12 pin 5
    drq: str = ""             # RJ12 pin 2
    rail: str = ""            # +3V3
    rx: str = ""              # ESP32 UART RX
    gpio: str = ""            # ESP32 Data Request GPIO
    gnd: str = ""
    base_pulldown: Resistor | None = None  # R10: Q1 base → ground (rev 1.3)
    esd_pf: float = 0.0                    # ESD array's capacitance on the data line (rev 1.3, D3)
    switch_ref: str = ""                   # Q2: PNP high-side switch for Data Request (rev 1.3)
    switch_nets: tuple = ()                # (collector, base, emitter)
    switch_base: Resistor | None = None    # R12: switch base → optocoupler collector
    switch_pullup: Resistor | None = None  # R11: switch base → emitter
    speedup_pf: float = 0.0                # C9: speed-up capacitor across the base resistor (rev 1.3)
    speedup_r: Resistor | None = None      # R13: in series with C9 (rev 1.4, ESD)
    base_clamp: str = ""                   # D6: diode from ground to the base (rev 1.4, ESD)

    @classmethod
    def from_board(cls, board) -> "DataPath":
        def nets(ref):
            return tuple(board.net_of(ref, n) for n in (1, 2))

        def res(ref):
            return Resistor(ref, board.value(ref), nets(ref))

        def only(what, refs):
            refs = sorted(refs)
            if len(refs) != 1:
                raise ModelError(f"{what}: expected one part, found {refs or 'none'}")
            return refs[0]

        resistors = [r for r, lib in board.lib_ids.items() if lib == "Device:R"]
        supply, drq, data = (board.net_of("J2", n) for n in (1, 2, 5))
        gnd = board.net_of("J2", 3)
        pullup = only("pull-up between RJ12 pin 5 and pin 1", [r for r in resistors if set(nets(r)) == {data, supply}])
        base_r = only("resistor from RJ12 pin 5 to a transistor base",
                      [r for r in resistors if data in nets(r) and r != pullup])
        base_net = next(n for n in nets(base_r) if n != data)
        q = only("inverter transistor", [r for r, _ in board.pins_on(base_net)
                                         if board.lib_ids[r].startswith("Transistor_BJT:")])
        qp = board.parts[q]
        q_nets = tuple(qp[name].net.name for name in ("C", "B", "E"))
        if q_nets[2] != gnd:
            raise ModelError(f"{q} emitter is on {q_nets[2]}, not on ground {gnd}")
        pulldown = [r for r in resistors if set(nets(r)) == {base_net, gnd}]
        cap, series = speedup_parts(board, data, base_net)
        extra = {"speedup_pf": board.value(cap) * 1e12} if cap else {}
        if series:
            extra["speedup_r"] = res(series)
        clamps = [r for r, lib in board.lib_ids.items() if lib.startswith("Diode:") and set(nets(r)) == {base_net, gnd}]
        if clamps:
            extra["base_clamp"] = only("diode from the base to ground", clamps)
        rx = q_nets[0]
        coll_r = only(f"pull-up on {q} collector", [r for r in resistors if rx in nets(r)])
        rail = next(n for n in nets(coll_r) if n != rx)
        facts = load_facts()
        esd = sum(sec["capacitance_max_pf"] for r, _ in board.pins_on(data)
                  for sec in facts.values() if isinstance(sec, dict) and "capacitance_max_pf" in sec
                  and sec.get("mpn") == board.parts[r].fields.get("MPN"))
        drq_out = only("resistor on RJ12 pin 2", [r for r in resistors if drq in nets(r)])
        switched = next(n for n in nets(drq_out) if n != drq)
        driver = only("Data Request driver", [r for r, _ in board.pins_on(switched)  # not C11, the ESD filter
                                              if r != drq_out and not board.lib_ids[r].startswith("Device:C")])
        opto = driver  # v1.1: the optocoupler's own transistor feeds pin 2
        if board.lib_ids[driver].startswith("Transistor_BJT:"):  # rev 1.3: PNP switch, the opto drives its base
            sp = board.parts[driver]
            s_nets = tuple(sp[name].net.name for name in ("C", "B", "E"))
            base_rs = [r for r in resistors if s_nets[1] in nets(r)]
            pull = only(f"{driver} base pull-up", [r for r in base_rs if s_nets[2] in nets(r)])
            feed = only(f"{driver} base resistor", [r for r in base_rs if r != pull])
            opto_c = next(n for n in nets(feed) if n != s_nets[1])
            opto = only("Data Request optocoupler", [r for r, _ in board.pins_on(opto_c) if r != feed])
            extra.update(switch_ref=driver, switch_nets=s_nets, switch_base=res(feed), switch_pullup=res(pull))
        opto_nets = {n: board.net_of(opto, n) for n in (1, 2, 4, 5)}
        drq_led = only("resistor to the optocoupler LED", [r for r in resistors if opto_nets[1] in nets(r)])
        gpio = next(n for n in nets(drq_led) if n != opto_nets[1])
        return cls(res(pullup), res(base_r), res(coll_r), q, q_nets, res(drq_led), res(drq_out), opto, opto_nets,
                   supply, data, drq, rail, rx, gpio, gnd, res(pulldown[0]) if pulldown else None, float(esd), **extra)

    def node(self, net: str) -> str:
        return spice_node(net, self.gnd)


def speedup_parts(board, data: str, base_net: str) -> tuple[str | None, str | None]:
    """The speed-up capacitor from the data line to the base (C9) and the resistor in series with it (R13, rev 1.4),
    by reference; (None, None) without one."""
    def nets(ref):
        return {board.net_of(ref, 1), board.net_of(ref, 2)}

    for cap in sorted(r for r, lib in board.lib_ids.items() if lib == "Device:C" and data in nets(r)):
        far = next(iter(nets(cap) - {data}))
        if far == base_net:
            return cap, None
        series = sorted(r for r, lib in board.lib_ids.items() if lib == "Device:R" and nets(r) == {far, base_net})
        if series:
            return cap, series[0]
    return None, None


def spice_node(net: str | None, gnd: str) -> str | None:
    """SPICE node name of a board net: ground is 0, others sanitised ("+3V3" → "N_3V3"); None for no net."""
    if net is None:
        return None
    if net == gnd:
        return "0"
    name = re.sub(r"[^A-Za-z0-9_]", "_", net)
    return name if name[0].isalpha() else "N" + name


@dataclass(frozen=True)
class Case:
    """One simulated variant: a corner or a Monte Carlo draw. Multipliers are relative to nominal."""

    name: str
    r_mult: tuple = (("R1", 1.0), ("R2", 1.0), ("R3", 1.0), ("R4", 1.0), ("R5", 1.0))
    v5: float = 5.0
    v33: float = 3.3
    hfe: float = 290.0        # BC547 gain at ~2 mA
    ic_sink_ma: float = 5.0   # what the meter's coupler can sink (CTR × IF)
    cable_m: float = 2.0
    temp_c: float = 25.0      # ambient: every model card at this temperature
    line_low_v: float = 0.0   # the meter's MARK level: its output transistor's emitter sits this far above ground
    model: str = DESIGN_MODEL  # the BC547 storage-time model ([bc547_models])

    def r(self, ref: str) -> float:
        return dict(self.r_mult).get(ref, 1.0)


def _card(name: str, kind: str, params: dict) -> str:
    body = " ".join(f"{k}={v:.6g}" for k, v in params.items())
    return f".model {name} {kind}({body})"


THERMAL_V = 0.02585  # kT/q at 25 °C


def nmos_lines(ref: str, f: dict, d: str, g: str, s: str, temp_c: float) -> list[str]:
    """An N-MOSFET (parts.toml facts `f`) from its guaranteed figures, between nodes d, g, s: level 1, threshold at
    its maximum moved to `temp_c`, transconductance from its maximum on-resistance at that threshold (W = L); its
    body diode fitted to the maximum VSD at its test current (IS 1e-14 A); IDSS as a resistance."""
    vto = f["vgs_th_max_v"] + f["vgs_th_tempco_mv_per_c"] * 1e-3 * (temp_c - 25)
    kp = 1 / (f["rds_on_max_ohm"] * (f["rds_on_vgs_v"] - f["vgs_th_max_v"]))
    rs = max(0.0, (f["vsd_max_v"] - THERMAL_V * math.log(f["vsd_test_a"] / 1e-14)) / f["vsd_test_a"])
    return [f".model NM{ref} NMOS(LEVEL=1 VTO={vto:.4g} KP={kp:.4g})", f".model DB{ref} D(IS=1e-14 N=1 RS={rs:.4g})",
            f"M{ref} {d} {g} {s} {s} NM{ref}", f"D{ref}body {s} {d} DB{ref}",
            f"R{ref}leak {d} {s} {f['idss_test_v'] / (f['idss_max_ua'] * 1e-6):.6g}"]


def bc547_card(facts: dict, hfe: float, model: str = DESIGN_MODEL) -> str:
    """The BC547B card of `model` in parts.toml [bc547_models] (its own `params`, else the NXP card's) with its
    storage time (TR), BF scaled by `hfe` over the datasheet's typical gain."""
    spice, spec = facts["bc547_spice"], facts["bc547_models"][model]
    p = dict(spec.get("params", spice["params"]))
    p["BF"] = p["BF"] * hfe / spice["hfe_typ"]
    p["TR"] = spec["tr_s"]
    return _card("QBC547", "NPN", p)


def meter_card(facts: dict) -> str:
    m = facts["meter_opto"]
    return _card("QMETER", "NPN", {"IS": 1e-15, "BF": m["bf"], "BR": 5, "CJC": m["ccb_pf"] * 1e-12,
                                   "CJE": m["cbe_pf"] * 1e-12, "TF": m["tf_s"], "TR": m["tr_s"], "VAF": 100})


def photocurrent(facts: dict, ic_sink_ma: float) -> float:
    """Base current that lets the meter's transistor sink `ic_sink_ma` (its CTR × IF)."""
    return ic_sink_ma * 1e-3 / facts["meter_opto"]["bf"]


def pwl(times_values) -> str:
    return "PWL(" + " ".join(f"{t:.6g} {v:.6g}" for t, v in times_values) + ")"


def data_deck(path: DataPath, case: Case, light, tstop: float, tmax: float, facts: dict | None = None) -> str:
    """Transient deck: meter coupler → cable → board (R2, R1, Q1, R3 from the circuit) → ESP32 pin.

    `light` is the meter LED as [(t, 0 or 1)] breakpoints (1 = LED on = line pulled LOW = MARK).
    """
    facts = facts or load_facts()
    n = path.node
    cable, rx_node, esp = facts["p1_cable"], facts["rx_node"], facts["esp32"]
    iph = photocurrent(facts, case.ic_sink_ma)
    c_cable = cable["c_pf_per_m"] * 1e-12 * case.cable_m
    r_cable = max(cable["r_ohm_per_m"] * case.cable_m, 1e-3)
    c_rx = (esp["input_capacitance_pf"] + rx_node["board_pf"]) * 1e-12
    lines = [
        f"* P1 data path, case {case.name} (generated by hwtools.si from hwtools.circuit + parts.toml)",
        bc547_card(facts, case.hfe, case.model),
        meter_card(facts),
        "* supplies: the meter's P1 +5 V and the board's 3V3 rail",
        f"VP1 {n(path.supply)} 0 {case.v5:.6g}",
        f"VRAIL {n(path.rail)} 0 {case.v33:.6g}",
        "* meter: coupler output transistor, open base driven by the photocurrent; VML measures the line current",
        f"IPH 0 mbase {pwl([(t, v * iph) for t, v in light])}",
        "QMETER mcoll mbase mlow QMETER",
        f"VLOW mlow 0 {case.line_low_v:.6g}",
        "VML mend mcoll 0",
        f"CMCE mend 0 {facts['meter_opto']['cce_pf'] * 1e-12:.6g}",
        f"* cable: {case.cable_m:.3g} m, lumped as a pi (C/2 - R - C/2)",
        f"CCAB1 mend 0 {c_cable / 2 + 1e-15:.6g}",
        f"RCAB mend {n(path.data)} {r_cable:.6g}",
        f"CCAB2 {n(path.data)} 0 {c_cable / 2 + 1e-15:.6g}",
        "* board: values and nets from the circuit description",
    ]
    lines += _inverter_lines(path, case) + _speedup_lines(path, case)
    lines += [
        f"* ESD array on the data line: {path.esd_pf:g} pF (its datasheet maximum)",
        f"CESD {n(path.data)} 0 {max(path.esd_pf, 1e-3) * 1e-12:.6g}",
        "* ESP32 GPIO16 pad + board capacitance",
        f"CRX {n(path.rx)} 0 {c_rx:.6g}",
        f".options reltol=1e-4 abstol=1e-12 temp={case.temp_c:g} tnom=25",
        f".tran {tmax:.6g} {tstop:.6g} 0 {tmax:.6g}",
        f".save v({n(path.rx)}) v({n(path.data)}) i(VML)",
        ".end",
    ]
    return "\n".join(lines) + "\n"


DRQ_LED_A = 5e-3  # the 4N35's LED current at the Data Request operating point (about 5 mA), for its CTR


def _drq_ctr(facts: dict) -> float:
    """The 4N35's worst CTR at the Data Request operating point, as the rules take it."""
    return opto_ctr(facts, DRQ_LED_A)


def _meter_ohms(facts: dict) -> float:
    """The meter's Data Request input as the heaviest resistance that draws no more than DSMR's 10 mA at 5.5 V."""
    p1 = facts["p1_port"]
    return p1["drq_high_max_v"] / (p1["drq_current_max_ma"] * 1e-3)


def drq_scope(path: DataPath, facts: dict | None = None) -> str:
    """What drq_deck simulates, for the report's labels: at the board's jack (no cable), the meter a resistor."""
    facts = facts or load_facts()
    switch = f"{path.opto_ref} at worst CTR {_drq_ctr(facts):.0%}"
    switch += f" → {path.switch_ref}" if path.switch_ref else ""
    return f"ngspice at the jack, 0 m: {switch}, meter as {_meter_ohms(facts):.0f} Ω"


def drq_deck(path: DataPath, case: Case, facts: dict | None = None) -> str:
    """Operating point: ESP32 GPIO12 HIGH (VOH min) → R4 → 4N35 at its worst CTR (`_drq_ctr`) → (Q2) → R5 → the
    meter's input (`_meter_ohms`). Rev 1.3's PNP switch is the BC547B card with PNP polarity and BF at the BC557B's
    minimum gain. Supply and meter sit at the jack (no cable): rule drq-level-v adds the 5 m cable and the meter's
    10 mA at the datasheet's saturation limits, so its figure is the lower one (docs/rev-1.3.md).
    """
    facts = facts or load_facts()
    n = path.node
    opto, spice, esp = facts["cny_4n35"], facts["cny_4n35_spice"], facts["esp32"]
    # LED fitted through the datasheet's VF max at 10 mA: IS = I / exp((VF - I·RS) / (N·Vt))
    vt, i_test = 0.025852, 10e-3
    led_is = i_test / math.exp((opto["led_vf_max_v"] - i_test * spice["led_rs_ohm"]) / (spice["led_n"] * vt))
    bf = spice["params"]["BF"]
    voh = esp["voh_min_frac"] * case.v33
    r_meter = _meter_ohms(facts)
    ctr = _drq_ctr(facts)
    u = path.opto_nets
    lines = [
        f"* Data Request stage, case {case.name} (generated by hwtools.si)",
        _card("Q4N35", "NPN", spice["params"]),
        _card("D4N35", "D", {"IS": led_is, "N": spice["led_n"], "RS": spice["led_rs_ohm"]}),
        f"VP1 {n(path.supply)} 0 {case.v5:.6g}",
        f"VGPIO {n(path.gpio)} 0 {voh:.6g}",
        f"{path.drq_led.ref} {n(path.drq_led.nets[0])} {n(path.drq_led.nets[1])} "
        f"{path.drq_led.ohms * case.r(path.drq_led.ref):.6g}",
        f"D{path.opto_ref} {n(u[1])} ledk D4N35",
        f"VLED ledk {n(u[2])} 0",
        f"* CTR {ctr:.3g} (worst at the operating point): base current = CTR × IF / BF",
        f"F{path.opto_ref} 0 obase VLED {ctr / bf:.6g}",
        f"Q{path.opto_ref} {n(u[5])} obase {n(u[4])} Q4N35",
        f"{path.drq_out.ref} {n(path.drq_out.nets[0])} {n(path.drq_out.nets[1])} "
        f"{path.drq_out.ohms * case.r(path.drq_out.ref):.6g}",
        f"VDRQ {n(path.drq)} drqin 0",
        f"RMETER drqin 0 {r_meter:.6g}",
    ]
    if path.switch_ref:
        sc, sb, se = (n(x) for x in path.switch_nets)
        lines.append(bc547_card(facts, facts["bc557"]["hfe_min"]).replace("QBC547 NPN", "QSW PNP"))
        lines.append(f"Q{path.switch_ref} {sc} {sb} {se} QSW")
        for res in (path.switch_base, path.switch_pullup):
            lines.append(f"{res.ref} {n(res.nets[0])} {n(res.nets[1])} {res.ohms * case.r(res.ref):.6g}")
    lines += [
        f".options temp={case.temp_c:g} tnom=25",
        ".op",
        ".end",
    ]
    return "\n".join(lines) + "\n"



def _speedup_lines(path: DataPath, case: Case) -> list[str]:
    """C9 from the data line to the base (through R13 where the board has it) and D6, the base's clamp diode."""
    n, c = path.node, max(path.speedup_pf, 1e-3) * 1e-12
    base_net = next(x for x in path.base.nets if x != path.data)
    data, base = n(path.data), n(base_net)
    if path.speedup_r is None:
        lines = [f"CSPEED {data} {base} {c:.6g}"]
    else:
        r = path.speedup_r
        mid = n(next(x for x in r.nets if x != base_net))
        lines = [f"CSPEED {data} {mid} {c:.6g}", f"{r.ref} {mid} {base} {r.ohms * case.r(r.ref):.6g}"]
    if path.base_clamp:
        lines += [D1N4148, f"D{path.base_clamp} 0 {base} D1N4148"]
    return lines


def _inverter_lines(path: DataPath, case: Case) -> list[str]:
    """The board's inverter as netlist lines: its resistors (at the case's tolerances) and Q1."""
    n = path.node
    lines = [f"{res.ref} {n(res.nets[0])} {n(res.nets[1])} {res.ohms * case.r(res.ref):.6g}"
             for res in (path.pullup, path.base, path.collector, path.base_pulldown) if res is not None]
    return lines + [f"{path.q_ref} {' '.join(n(x) for x in path.q_nets)} QBC547"]

def line_low_deck(path: DataPath, case: Case, low_max_v: float, step_v: float, facts: dict | None = None) -> str:
    """DC sweep of the meter's MARK level: the line held at 0 .. `low_max_v` (through the cable's resistance)
    while RX must stay above VIH — the static half of 'reads right for a line LOW anywhere in 0-1.0 V'."""
    facts = facts or load_facts()
    n = path.node
    r_cable = max(facts["p1_cable"]["r_ohm_per_m"] * case.cable_m, 1e-3)
    lines = [
        f"* P1 line LOW sweep, case {case.name} (generated by hwtools.si)",
        bc547_card(facts, case.hfe),
        f"VP1 {n(path.supply)} 0 {case.v5:.6g}",
        f"VRAIL {n(path.rail)} 0 {case.v33:.6g}",
        "* the meter holding the line at its MARK level",
        "VLINE mend 0 0",
        f"RCAB mend {n(path.data)} {r_cable:.6g}",
    ]
    lines += _inverter_lines(path, case)
    lines += [
        f".options temp={case.temp_c:g} tnom=25",
        f".dc VLINE 0 {low_max_v:.6g} {step_v:.6g}",
        ".end",
    ]
    return "\n".join(lines) + "\n"
