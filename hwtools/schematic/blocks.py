"""Placement templates: where each block of `hwtools/circuit.py` sits on the A3 sheet and how its parts
are arranged, drawn the way an engineer draws it — signal flow left to right, supplies up, ground down.

Positions are symbol origins in mm (KiCad schematic coordinates, y down) on the 2.54 mm grid, with a
rotation (counter-clockwise) and an optional mirror. Wires, labels, power symbols and text are placed
by code (`drawing.py`); a part that no template names is placed in its block automatically, so a new
resistor or capacitor needs no edit here to draw cleanly.
"""

from dataclasses import dataclass, field

# Supply nets drawn as KiCad power symbols; the value of the symbol is the net name (KiCad 9 names the net
# after it), so the board and its checks see the same nets. USB_5V (the module's USB pad to D5) stays a label.
POWER_SYMBOLS = {"GND": "power:GND", "+3V3": "power:+3V3", "P1_5V": "power:+5V", "+5V": "power:+5V"}
# Nets fed by a connector (or through a diode) need a power flag so ERC knows they are driven; each is drawn
# in the power block when its net exists.
POWER_FLAGS = {"#FLG01": "P1_5V", "#FLG02": "GND", "#FLG03": "+5V", "#FLG04": "LIM_IN"}  # LIM_IN: D2 → the limit


@dataclass(frozen=True)
class Block:
    name: str
    title: str
    region: tuple  # (x0, y0, x1, y1) mm: the block's part of the sheet
    parts: dict = field(default_factory=dict)  # ref → (x, y, angle, mirror)
    rails: tuple = ()  # supplies drawn here as a wired rail with one power symbol, not a symbol per pin
    # A revision of the block, recognised by a part only it has: {that part: {ref: place}} replacing places
    # (a place of None: the part is drawn in another block from that revision on)
    revisions: dict = field(default_factory=dict)

    def places(self, refs):
        """{ref: (x, y, angle, mirror)} for the parts in `refs`, the revision's places where one applies."""
        found = dict(self.parts)
        for marker, places in self.revisions.items():
            if marker in refs:
                found.update(places)
        return {ref: place for ref, place in found.items() if ref in refs and place is not None}


BLOCKS = [
    Block("p1_jack", "P1 port (RJ12 from the meter)", (20.32, 35.56, 81.28, 106.68), {
        # mirrored so pin 1 (+5 V) is on top and pin 6 (GND) at the bottom
        "J2": (40.64, 66.04, 0, "x"),
        "D3": (58.42, 87.63, 0, None),  # rev 1.3 ESD array: its two lines up to the data and Data Request lines
        "D4": (66.04, 53.34, 270, None),  # rev 1.4: pin 1's TVS and ceramic, from the +5 V pin down to GND
        "C10": (76.2, 53.34, 0, None),
    }),
    Block("inverter", "Inverter: open-collector P1 data → 3.3 V UART RX", (99.06, 35.56, 185.42, 96.52), {
        "R2": (109.22, 68.58, 0, None),  # pull-up of the meter's open collector
        "R1": (119.38, 76.2, 90, None),  # base resistor, in the signal path
        "Q1": (132.08, 76.2, 0, None),
        "R3": (134.62, 62.23, 0, None),  # collector pull-up to 3.3 V: RX
        "C9": (119.38, 68.58, 90, None),  # rev 1.3 speed-up capacitor, across R1
        "R10": (125.73, 85.09, 0, None),  # rev 1.3 base-emitter resistor, from the base node down to GND
    }),
    Block("data_request", "Data Request: GPIO12 → 4N35 → pin 2", (99.06, 101.6, 185.42, 149.86), {
        "R4": (124.46, 121.92, 270, None),  # pin 2 (GPIO12 side) on the left
        "U2": (142.24, 124.46, 0, None),
        "R5": (162.56, 127.0, 90, None),
    }, revisions={"Q2": {  # rev 1.3: the 4N35 switches a PNP high-side switch that feeds pin 2
        "R12": (157.48, 124.46, 270, None),
        "R11": (162.56, 116.84, 0, None),
        "Q2": (170.18, 124.46, 0, "x"),  # flipped: emitter up to the supply, collector down to R5
        "R5": (180.34, 132.08, 90, None),
    }}),
    Block("power", "Power: P1 +5 V → 3.3 V regulator → +3V3", (20.32, 157.48, 180.34, 236.22), {
        "#FLG01": (27.94, 182.88, 180, None), "#FLG02": (27.94, 195.58, 0, None),
        # the capacitors' + pins on the regulator's input and output rails
        "C1": (50.8, 186.69, 0, None), "C2": (66.04, 186.69, 0, None),
        "U1": (91.44, 182.88, 0, None),
        "C3": (116.84, 186.69, 0, None), "C4": (132.08, 186.69, 0, None),
        "R6": (147.32, 186.69, 0, None), "D1": (147.32, 199.39, 90, None),
    }, rails=("P1_5V", "+5V", "+3V3"), revisions={"D2": {  # rev 1.3: reverse diode, +5V rail, ceramics
        "#FLG01": (27.94, 182.88, 180, None), "D2": (38.1, 182.88, 180, None), "#FLG03": (45.72, 177.8, 0, None),
        "C1": (53.34, 186.69, 0, None), "C2": (66.04, 186.69, 0, None), "C6": (78.74, 186.69, 0, None),
        "U1": (101.6, 182.88, 0, None),
        "C3": (121.92, 186.69, 0, None), "C4": (134.62, 186.69, 0, None), "C7": (147.32, 186.69, 0, None),
        "R6": (160.02, 186.69, 0, None), "D1": (160.02, 199.39, 90, None),
    }, "Q5": {"D2": None}}),  # rev 1.4: D2 feeds the current limit, drawn with it
    # rev 1.4: the meter's current limit between D2 and +5V — the current path along the top (D2, R19 senses, Q5 passes,
    # its base down to the integrator's output), the reference and its divider (U5, R21..R23) on the left feeding U4's
    # + input, the integrator (U4, R26 from the sense node, C13) in the middle
    Block("current_limit", "Current limit: D2 → R19, Q5 → +5V", (20.32, 241.3, 190.5, 281.94), {
        "D2": (27.94, 251.46, 180, None), "#FLG04": (40.64, 248.92, 0, None), "R19": (53.34, 251.46, 90, None),
        "U5": (38.1, 265.43, 90, None), "R21": (48.26, 261.62, 0, None), "R22": (48.26, 273.05, 0, None),
        "R23": (38.1, 275.59, 0, None),
        "R26": (66.04, 259.08, 0, None), "U4": (83.82, 267.97, 0, None), "C13": (83.82, 256.54, 90, None),
        "C14": (142.24, 267.97, 0, None),
        "Q5": (127.0, 251.46, 90, "y"), "R25": (116.84, 256.54, 0, None), "R24": (127.0, 262.89, 0, None),
    }),
    Block("d32", "Lolin D32 (ESP32)", (190.5, 35.56, 281.94, 142.24), {
        "M1": (236.22, 88.9, 0, None),
        "C8": (261.62, 62.23, 0, None),  # rev 1.3 decoupling at the module's 3V pad
    }),
    Block("jumpers", "USB 5 V into the diode-OR / I2C level shifter and display", (289.56, 35.56, 406.4, 142.24), {
        "D5": (322.58, 71.12, 180, None),  # rev 1.4: the module's USB pad (anode, right) → +5V (cathode, left)
        "J1": (327.66, 104.14, 0, None),
    }, revisions={"Q3": {  # rev 1.4: the I2C level shifter (AN10441), each line left to right: the ESP32's side with
        # its pull-up to +3V3, the MOSFET (gate up to +3V3, source left, drain right), the display's side with its
        # pull-up to +5V, J1
        "R15": (337.82, 92.71, 0, None), "Q3": (345.44, 93.98, 270, None), "R17": (353.06, 92.71, 0, None),
        "R16": (337.82, 113.03, 0, None), "Q4": (345.44, 114.3, 270, None), "R18": (353.06, 113.03, 0, None),
        "J1": (375.92, 99.06, 0, None),
    }}),
    Block("s1", "S1 port: RS-422 in, 120 Ω terminated and biased → GPIO4 (p1s1 variant)",
          (190.5, 165.1, 299.72, 248.92), {
              "J4": (205.74, 205.74, 0, None),
              "R8": (228.6, 193.04, 0, None), "R7": (236.22, 204.47, 0, None), "R9": (243.84, 215.9, 0, None),
              "U3": (266.7, 208.28, 0, "y"),  # mirrored: the bus arrives on the left, RO leaves on the right
              "C5": (284.48, 193.04, 0, None),
          }),
    Block("test_points", "Test points (bring-up DMM and scope)", (302.26, 165.1, 406.4, 195.58), {
        # the signals' first, nearest the labels their wires come from; then the supplies' with their symbols
        f"TP{n}": (314.96 + 12.7 * i, 180.34, 0, None) for i, n in enumerate((7, 6, 5, 1, 2, 3, 4))
    }),
    Block("holes", "Mounting holes", (302.26, 203.2, 406.4, 243.84), {
        "H1": (330.2, 215.9, 0, None), "H2": (358.14, 215.9, 0, None), "H3": (330.2, 233.68, 0, None),
        "H4": (358.14, 233.68, 0, None),
    }),
]
BY_NAME = {b.name: b for b in BLOCKS}
# A new part joined only to supplies (a decoupling capacitor) is drawn with the power block.
SUPPLY_BLOCK = "power"


def assign(board) -> dict:
    """{ref: block name} for every part: its template's block, or the block it is most joined to."""
    home = {ref: b.name for b in BLOCKS for ref in b.places(board.parts)}
    for ref in sorted(set(board.parts) - set(home), key=lambda r: (r.rstrip("0123456789"), len(r), r)):
        votes = {}
        for pin in board.parts[ref].pins:
            if not pin.is_connected() or pin.net.name in POWER_SYMBOLS:
                continue
            for other in pin.net.pins:
                block = home.get(other.part.ref)
                if other.part.ref != ref and block:
                    votes[block] = votes.get(block, 0) + 1
        home[ref] = max(sorted(votes), key=votes.get) if votes else SUPPLY_BLOCK
    return home
