"""Traceability: the generated p1 board is the proven v1.1 board (seed-board-v1.1-pads.csv) plus the listed changes
of each revision since (rev 1.3, rev 1.4) — nothing else — and p1s1 is p1 plus the S1 block.

Read from KiCad's own netlist export of the generated schematic — an independent reader of what was written.
One table of changes per revision, here; each revision's document (docs/rev-1.3.md, docs/rev-1.4.md) lists the
same parts in its table of changes (test_each_revision_document_lists_its_changes).
"""

import csv
import re
from collections import defaultdict

import pytest
import sexpdata

from design_paths import KICAD, REPO

AXIAL = "Resistor_THT:R_Axial_DIN0309_L9.0mm_D3.2mm_P12.70mm_Horizontal"
DISC = "Capacitor_THT:C_Disc_D3.8mm_W2.6mm_P2.50mm"
TO92 = "Package_TO_SOT_THT:TO-92_Inline_Wide"

# Footprints whose KiCad library name changed since the KiCad 5 original, the D32 that moved from
# "Paul's 3D Things" into the project library, and Q1's rev 1.2 change: the wide TO-92 variant, whose annular
# ring meets AISLER's 0.30 mm (the original's 0.15 mm does not). Same pads, same pinout.
RENAMED = {
    "Connector_RJ:RJ12_Amphenol_54601": "Connector_RJ:RJ12_Amphenol_54601-x06_Horizontal",
    "Paul's 3D Things:LolinD32": "p1reader:LolinD32",
    "Package_TO_SOT_THT:TO-92_Inline": TO92,
}

# Rev 1.3's differences from the proven board. A pad is placed on the reference net of an anchor pad ("J2.1":
# the original's 5 V) or on a new net ("+5V"). Parts: (value, footprint) changed or added.
PARTS = {
    "R1": (("6.8 kOhm", AXIAL), "with R10 a divider: a MARK up to DSMR's 1.0 V LOW keeps Q1 off at 60 °C"),
    "R2": (("1.2 kOhm", AXIAL), "a shallower saturation of the meter's coupler keeps duty-cycle distortion < 10 %"),
    "U1": (("MCP1825S-3.3", "Package_TO_SOT_THT:TO-220-3_Vertical"),
           "LM1085's 1.5 V dropout leaves no headroom behind the reverse diode and the cable"),
    "C2": (("1 µF", "Capacitor_THT:CP_Radial_D5.0mm_P2.00mm"), "a 5 mm can has 2.0 mm leads, not 2.5"),
    "C4": (("2.2 µF", "Capacitor_THT:CP_Radial_D5.0mm_P2.00mm"), "a 5 mm can has 2.0 mm leads, not 2.5"),
    "R10": (("4.7 kOhm", AXIAL), "Q1 base-emitter resistor: the divider's lower leg"),
    "C9": (("220 pF", DISC), "speed-up capacitor across R1"),
    "Q2": (("BC557", TO92), "PNP high-side switch: Data Request 4.0 V at 10 mA whatever the 4N35's CTR"),
    "R11": (("10 kOhm", AXIAL), "holds Q2 off while the 4N35 is dark"),
    "R12": (("4.7 kOhm", AXIAL), "Q2's base current, sunk by the 4N35"),
    "D2": (("1N5817", "Diode_THT:D_DO-41_SOD81_P10.16mm_Horizontal"), "a crossed cable reverses pin 1: blocks it"),
    "D3": (("NUP2105L", "Package_TO_SOT_SMD:SOT-23"), "ESD: ±30 kV contact on the data line and pin 2"),
    "C6": (("100 nF", DISC), "ceramic decoupling at U1's input pin"),
    "C7": (("100 nF", DISC), "ceramic decoupling at U1's output pin"),
    "C8": (("100 nF", DISC), "ceramic decoupling at the module's 3V pad"),
}
PADS = {  # (ref, pad) → anchor pad of the v1.1 board ("ref.pad") or a new net name
    ("R10", "1"): "Q1.2", ("R10", "2"): "J2.6",
    ("C9", "1"): "J2.5", ("C9", "2"): "Q1.2",
    # D2 in series with pin 1: everything but the pull-up and the Data Request switch moves behind it
    ("D2", "2"): "J2.1", ("D2", "1"): "+5V",
    ("U1", "1"): "+5V", ("U1", "2"): "J2.6", ("U1", "3"): "C3.1",  # MCP1825S pinout: 1 VIN, 2 GND, 3 VOUT
    ("C1", "1"): "+5V", ("C2", "1"): "+5V", ("J1", "3"): "+5V",
    ("C6", "1"): "+5V", ("C6", "2"): "J2.6", ("C7", "1"): "C3.1", ("C7", "2"): "J2.6",
    ("C8", "1"): "M1.16", ("C8", "2"): "J2.6",
    # Data Request: the 4N35 sinks Q2's base current; Q2 feeds R5 from pin 1
    ("U2", "4"): "J2.6", ("U2", "5"): "DRQ_OPTO", ("R12", "2"): "DRQ_OPTO", ("R12", "1"): "DRQ_Q2_BASE",
    ("R11", "2"): "DRQ_Q2_BASE", ("R11", "1"): "J2.1", ("Q2", "2"): "DRQ_Q2_BASE", ("Q2", "3"): "J2.1",
    ("Q2", "1"): "R5.1",
    ("D3", "1"): "J2.5", ("D3", "2"): "J2.2", ("D3", "3"): "J2.6",
}

# Rev 1.4's differences from rev 1.3, in the same form (anchors are v1.1 pads or the nets rev 1.3 added).
RECT = "Capacitor_THT:C_Rect_L4.6mm_W3.8mm_P2.50mm_MKS02_FKP02"
REMOVED = (None, None)  # a part the revision takes off the board, with its pads
TEST_POINT = "TestPoint:TestPoint_Keystone_5005-5009_Compact"
DO35 = "Diode_THT:D_DO-35_SOD27_P7.62mm_Horizontal"
TEST_POINT_WHY = "a test point where the bench DMM and a scope probe (test-points rule)"
SHIFTER_WHY = ("the display's 5 V I2C behind a level shifter: never above the ESP32's VDD + 0.3 V, a HIGH the PCF8574 "
               "reads (i2c-levels)")
PARTS_14 = {
    "C6": (("1 µF", RECT), "the regulator's datasheet ceramic (≥ 1 µF) within 5 mm of VIN (regulator-caps)"),
    "C7": (("1 µF", RECT), "the MCP1825S's ≥ 1 µF output ceramic (DS22056B) within 5 mm of VOUT and GND"),
    "D4": (("P6KE6.8CA", "Diode_THT:D_DO-15_P12.70mm_Horizontal"),
           "pin 1 clamped at the jack: a TVS with a 5.8 V stand-off above the meter's 5.5 V (esd-placement)"),
    "C10": (("100 nF", DISC), "pin 1's ceramic at the jack, beside its clamp"),
    "D5": (("1N5817", "Diode_THT:D_DO-41_SOD81_P10.16mm_Horizontal"),
           "USB's side of the 5 V diode-OR: USB alone runs U1 and the module, and no supply feeds another (power-path)"),
    "J3": (REMOVED, "no jumper: every setting of rev 1.3's J3 either back-fed U1, left the module unpowered on USB or fed "
                    "GPIO16 while unpowered (power-path)"),
    "C9": (("560 pF", DISC), "pulls Q1's stored charge out: every BC547 storage-time model reads right (SI)"),
    "R10": (("5.6 kOhm", AXIAL), "a higher base at the line's LOW: Q1 turns on sooner when the meter releases (SI)"),
    "R13": (("220 Ohm", AXIAL), "in series with C9: limits the clamped pin 5's edge into Q1's base (the ESD pulse)"),
    "D6": (("1N4148", DO35), "Q1's base clamp: keeps its emitter-base reverse voltage under 6 V (the ESD pulse)"),
    "C11": (("1 µF", RECT), "with R5 keeps the clamped pin 2 off Q2's collector (the ESD pulse)"),
    "D7": (("1N4148", DO35), "across Q2's emitter-base: pin 1 struck negative stays within its 5 V VEBO (the ESD pulse)"),
    **{f"TP{n}": ((net, TEST_POINT), TEST_POINT_WHY) for n, net in
       enumerate(("P1_5V", "+5V", "+3V3", "GND", "RX", "P1_DATA", "P1_DRQ"), start=1)},
    **{q: (("BSS138", "Package_TO_SOT_SMD:SOT-23"), SHIFTER_WHY) for q in ("Q3", "Q4")},
    **{r: (("10 kOhm", AXIAL), SHIFTER_WHY) for r in ("R15", "R16", "R17", "R18")},
    # the current limit between D2 and +5V (p1-peak-current, docs/rev-1.4.md "The meter's peak current")
    "C1": (("4700 µF", "Capacitor_THT:CP_Radial_D16.0mm_P7.50mm"),
           "carries the burst above the limit: U1's input holds through a 12.4 ms frame (rail-3v3), a ø16 mm can"),
    "R19": (("1 Ohm", AXIAL), "the limit's sense resistor after D2 (1 Ω: the op-amp's offset a small share of the limit)"),
    "R21": (("2.94 kOhm", AXIAL), "0.1 % divider, upper leg: U4A's + input 185 mV below D2's cathode sets the limit"),
    "R22": (("16.5 kOhm", AXIAL), "0.1 % divider, lower leg, across the reference U5"),
    "R23": (("10 kOhm", AXIAL), "U5's bias: its 60 µA minimum left at the op-amp's 3 V minimum supply"),
    "R24": (("1.2 kOhm", AXIAL), "U4A's output into the pass transistor Q5's base"),
    "R25": (("10 kOhm", AXIAL), "Q5's base to its emitter: Q5 off when U4A's output lets go"),
    "R26": (("1 kOhm", AXIAL), "with C13 the limit's integrator: U4A's − input from the sense node"),
    "C13": (("1 nF", DISC), "the integrator's capacitor (U4A's output to its − input): the loop around Q5 settles"),
    "C14": (("100 nF", DISC), "U4's supply decoupling on D2's cathode"),
    "U4": (("LMC6482A", "Package_DIP:DIP-8_W7.62mm"),
           "rail-to-rail input op-amp from D2's cathode: senses 0.2 V under its own supply; U4B a follower at 0 V"),
    "U5": (("LM4040A-1.2", TO92), "the limit's 1.225 V shunt reference, 0.1 %"),
    "Q5": (("BD140-16", "Package_TO_SOT_THT:TO-126-3_Vertical"),
           "the limit's PNP pass: up to 5 V across it at the limit while C1 charges at plug-in"),
}
LIMIT_NETS = {  # the current limit's pads by net (GND: J2.6); D2's cathode moves from +5V to LIM_IN
    "LIM_IN": "D2.1 R19.1 R21.1 C14.1 U4.8 U5.2", "LIM_S": "R19.2 Q5.1 R25.1 R26.1", "LIM_X": "R21.2 R22.1 U4.3",
    "LIM_REF": "R22.2 U5.3 R23.1", "LIM_N": "R26.2 C13.1 U4.2", "LIM_O": "C13.2 U4.1 R24.1", "LIM_B": "R24.2 Q5.3 R25.2",
    "LIM_SPARE": "U4.6 U4.7", "+5V": "Q5.2", "J2.6": "R23.2 U4.4 U4.5 C14.2",
}
PADS_14 = {
    # power-path: no jumper — EN on GND (the module's own regulator always off), its 3V pad on U1's +3V3; the USB pad's
    # 5 V into +5V through D5 (the diode-OR with D2)
    ("M1", "3"): "J2.6", ("M1", "16"): "C3.1", ("C8", "1"): "C3.1", ("M1", "2"): "USB_5V",
    ("D5", "1"): "+5V", ("D5", "2"): "USB_5V",
    ("D4", "1"): "J2.1", ("D4", "2"): "J2.6", ("C10", "1"): "J2.1", ("C10", "2"): "J2.6",
    ("TP1", "1"): "J2.1", ("TP2", "1"): "+5V", ("TP3", "1"): "C3.1", ("TP4", "1"): "J2.6", ("TP5", "1"): "Q1.1",
    ("TP6", "1"): "J2.5", ("TP7", "1"): "J2.2",
    # i2c-levels: the display's SCL/SDA (J1.1/J1.2) behind Q3/Q4 (gate +3V3, source the ESP32's line, drain the
    # display's), 10 kΩ to +3V3 on the ESP32's side (R15/R16) and to +5V on the display's (R17/R18)
    **{pad: net for line, m1_pad, q, r_low, r_high, j1_pad in (("SCL", "30", "Q3", "R15", "R17", "1"),
                                                               ("SDA", "27", "Q4", "R16", "R18", "2"))
       for pad, net in (((q, "1"), "C3.1"), ((q, "2"), f"M1.{m1_pad}"), ((q, "3"), f"I2C_{line}_5V"),
                        ((r_low, "1"), "C3.1"), ((r_low, "2"), f"M1.{m1_pad}"), ((r_high, "1"), "+5V"),
                        ((r_high, "2"), f"I2C_{line}_5V"), (("J1", j1_pad), f"I2C_{line}_5V"))},
    # the ESD pulse: C9 reaches the base through R13; D6 base → GND; D7 Q2's base → pin 1; C11 Q2's collector → GND
    ("C9", "2"): "Q1_SPEEDUP", ("R13", "1"): "Q1_SPEEDUP", ("R13", "2"): "Q1.2", ("D6", "1"): "Q1.2",
    ("D6", "2"): "J2.6", ("D7", "1"): "J2.1", ("D7", "2"): "DRQ_Q2_BASE", ("C11", "1"): "R5.1", ("C11", "2"): "J2.6",
    **{tuple(pad.split(".")): net for net, pads in LIMIT_NETS.items() for pad in pads.split()},
}
REVISIONS = [("1.3", PARTS, PADS), ("1.4", PARTS_14, PADS_14)]
S1_BLOCK = {"J4", "U3", "R7", "R8", "R9", "C5"}


def _children(node, head):
    return [x for x in node if isinstance(x, list) and x and x[0] == sexpdata.Symbol(head)]


def _field(node, head):
    found = _children(node, head)
    return found[0][1] if found else None


def load_generated(netlist=KICAD / "p1reader.net"):
    """Parts and net pad groups from a KiCad netlist export."""
    tree = sexpdata.loads(netlist.read_text(encoding="utf-8"))
    parts = {}
    for comp in _children(_children(tree, "components")[0], "comp"):
        parts[_field(comp, "ref")] = (_field(comp, "value"), _field(comp, "footprint"))
    groups = []
    for net in _children(_children(tree, "nets")[0], "net"):
        pads = frozenset((_field(n, "ref"), str(_field(n, "pin"))) for n in _children(net, "node"))
        groups.append(pads)
    return parts, groups


def load_reference(reference_dir):
    """Parts {ref: (value, footprint)} and pad → net of the proven board."""
    parts, pad_net = {}, {}
    with open(reference_dir / "seed-board-v1.1-pads.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            parts[row["ref"]] = (row["value"], RENAMED.get(row["footprint"], row["footprint"]))
            if row["net"]:
                pad_net[(row["ref"], row["pad"])] = row["net"]
    return parts, pad_net


def groups_of(pad_net):
    nets = defaultdict(set)
    for pad, net in pad_net.items():
        nets[net].add(pad)
    return [frozenset(p) for p in nets.values()]


def applied(reference_dir, revisions):
    """Parts {ref: (value, footprint)} and pad → net of the proven board with the revisions' changes applied."""
    parts, pad_net = load_reference(reference_dir)
    parts, original = dict(parts), dict(pad_net)
    for _, parts_table, pads_table in revisions:
        for ref, ((value, footprint), _reason) in parts_table.items():
            parts[ref] = (value, footprint)
            if (value, footprint) == REMOVED:
                del parts[ref]
                pad_net = {pad: net for pad, net in pad_net.items() if pad[0] != ref}
        for pad, target in pads_table.items():
            ref, _, num = target.partition(".")
            pad_net[pad] = original[(ref, num)] if num else f"new:{target}"
    return parts, pad_net


def expected_rev13(reference_dir, parts_table=PARTS, pads_table=PADS):
    """The proven board with every revision's differences applied (rev 1.3's tables replaceable, for the tests)."""
    parts, pad_net = applied(reference_dir, [("1.3", parts_table, pads_table)] + REVISIONS[1:])
    return parts, groups_of(pad_net)


def joined(groups):
    """Only groups that join two or more pads say something about connectivity."""
    return {g for g in groups if len(g) > 1}


def test_same_parts_values_and_footprints(reference_dir):
    generated, _ = load_generated()
    expected, _ = expected_rev13(reference_dir)
    assert generated == expected


def test_same_pads_joined(reference_dir):
    _, generated = load_generated()
    _, expected = expected_rev13(reference_dir)
    assert joined(generated) == joined(expected)


@pytest.mark.parametrize("index", range(len(REVISIONS)), ids=[r[0] for r in REVISIONS])
def test_every_listed_difference_is_a_real_difference(reference_dir, index):
    """Each revision's table lists nothing that was already so before it (no padding of the list)."""
    parts, pad_net = applied(reference_dir, REVISIONS[:index])
    original = load_reference(reference_dir)[1]
    _, parts_table, pads_table = REVISIONS[index]
    for ref, ((value, footprint), _) in parts_table.items():
        assert parts.get(ref) != (value, footprint), ref
    for pad, target in pads_table.items():
        ref, _, num = target.partition(".")
        assert pad not in pad_net or not num or pad_net[pad] != original[(ref, num)], pad


def test_an_unlisted_difference_fails(reference_dir):
    """Dropping one row of the table makes the comparison fail: nothing differs silently."""
    _, generated = load_generated()
    pads = dict(PADS)
    del pads[("U2", "4")]
    _, expected = expected_rev13(reference_dir, pads_table=pads)
    assert joined(generated) != joined(expected)
    parts = dict(PARTS)
    del parts["R2"]
    assert load_generated()[0] != expected_rev13(reference_dir, parts_table=parts)[0]


def test_equivalence_check_notices_a_swapped_pad(reference_dir):
    _, generated = load_generated()
    _, expected = expected_rev13(reference_dir)
    swapped = [g - {("R2", "2")} | {("R2", "1")} if ("R2", "2") in g else g - {("R2", "1")} | {("R2", "2")}
               if ("R2", "1") in g else g for g in generated]
    assert joined(swapped) != joined(expected)


@pytest.mark.parametrize("ref, reason", [(ref, why) for _, table, _ in REVISIONS for ref, (_, why) in table.items()])
def test_every_difference_has_a_reason(ref, reason):
    assert len(reason) > 20


def _document_refs(version):
    """The references in the first column of a revision document's table of changes ("| ref | rev … |")."""
    text = (REPO / "docs" / f"rev-{version}.md").read_text(encoding="utf-8")
    table = text.split(f"| ref | rev {version} |", 1)[1].split("\n\n", 1)[0]
    refs = set()
    for row in table.splitlines()[2:]:
        cell = row.split("|")[1]
        for prefix, first, last in re.findall(r"\b([A-Z]+)(\d+)[–-][A-Z]*(\d+)", cell):  # a range: "TP1–TP7"
            refs |= {f"{prefix}{n}" for n in range(int(first), int(last) + 1)}
        refs |= set(re.findall(r"\b[A-Z]{1,2}\d+\b", cell))
    return refs


@pytest.mark.parametrize("version, parts_table, pads_table", REVISIONS, ids=[r[0] for r in REVISIONS])
def test_each_revision_document_lists_its_changes(version, parts_table, pads_table):
    """The document's table of changes names exactly the parts this revision's tables change."""
    changed = set(parts_table) | {ref for ref, _ in pads_table}
    assert _document_refs(version) == changed


def test_p1s1_is_p1_plus_the_s1_block():
    """Every p1 net is inside one p1s1 net, no two were merged, and only S1 parts were added."""
    p1_parts, p1 = load_generated()
    s1_parts, p1s1 = load_generated(KICAD / "p1s1" / "p1reader.net")
    assert {r: v for r, v in s1_parts.items() if r not in S1_BLOCK} == p1_parts
    assert set(s1_parts) - set(p1_parts) == S1_BLOCK
    for group in joined(p1):
        holders = [g for g in p1s1 if group & g]
        assert len(holders) == 1 and group <= holders[0], sorted(group)
        assert {ref for ref, _ in holders[0] - group} <= S1_BLOCK, sorted(holders[0] - group)
    merged = [g for g in p1s1 if sum(1 for r in joined(p1) if r & g) > 1]
    assert merged == []
