"""Where everything sits on the board — the placement table, read like a drawing.

Board coordinates are mm from the board's top-left corner (x right, y down, as KiCad draws); `ORIGIN`
shifts the board to a tidy spot on KiCad's sheet. Rotation is KiCad's (degrees, counter-clockwise).

What made the proven board usable, kept here: the RJ12 on the left edge so the cable plugs straight in,
the D32's USB end on the right edge for programming, the I2C header at the
top edge where fingers reach them, and an M3 hole in each corner.
"""

from dataclasses import dataclass

from . import project
from .variant import P1, Variant

ORIGIN = (100.0, 100.0)  # the board's top-left corner on KiCad's sheet (also the aux/drill origin)
# Rev 1.3's 114 × 56 mm (within the original 114.9 × 60.0; it took 8 mm more width for its parts) plus, from rev 1.4, a
# band along the bottom for the meter's current limit (p1-peak-current): its 4700 µF can and twelve parts had no room
LIMIT_BAND_MM = 22.0
WIDTH, HEIGHT = 114.0, 56.0 + LIMIT_BAND_MM
CORNER_HOLE_INSET = 4.0  # hole centre from both edges: an M3 washer (7 mm) stays on the board
SOCKETED = {"M1"}  # the D32 module sits on sockets, ~10 mm above the board: tracks may run under it


@dataclass(frozen=True)
class Place:
    ref: str
    x: float
    y: float
    rotation: float = 0.0
    side: str = "top"


PLACEMENT = [
    # P1 side: the jack's mouth flush with the left edge, the regulator and its capacitors above it.
    Place("J2", 17.3, 19.0, 270),
    Place("U1", 24.0, 6.5, 0),
    Place("C2", 24.5, 15.5, 0),   # at U1's input pin
    Place("C3", 47.0, 7.5, 0),
    Place("C4", 31.0, 15.5, 0),   # at U1's output pin
    Place("C6", 24.0, 10.3, 180),  # ceramic 1 µF, U1 input: its +5V pad under VIN
    Place("C7", 29.58, 10.3, 180),  # ceramic 1 µF, U1 output: its pads under VOUT and GND
    # rev 1.4: every live jack pin clamped at the jack — D4 (pin 1) above it, D3 (pins 2, 5) beside it, C10 pin 1's
    # ceramic beside D4
    Place("D4", 17.3, 11.9, 180),
    Place("C10", 20.7, 17.6, 90),
    Place("D3", 21.2, 22.0, 180),
    # inverter, between the jack's data pin and the D32
    Place("R3", 26.5, 21.0, 0),
    Place("R2", 26.5, 26.0, 0),
    Place("R1", 25.5, 31.0, 0),
    Place("Q1", 41.0, 31.0, 0),
    Place("C9", 42.0, 20.7, 0),   # speed-up capacitor from the data line (R2's end), through R13 to the base
    # rev 1.4, the ESD pulse: R13 in series with C9 beside the module, D6 (Q1's base clamp) below Q1, D7 (across Q2's
    # emitter-base) beside it, C11 (Data Request's filter) where C9 was
    Place("R13", 54.2, 19.5, 270),
    Place("D6", 43.3, 42.12, 90),
    Place("D7", 46.6, 42.9, 90),
    Place("C11", 37.8, 35.6, 0),
    # Data Request
    Place("R5", 20.5, 36.5, 0),
    Place("U2", 32.0, 42.0, 0),
    Place("R4", 34.0, 52.0, 0),
    # power LED
    Place("R6", 28.2, 44.5, 180),
    Place("D1", 11.5, 50.5, 0),
    # rev 1.3: Q1's base-emitter resistor beside Q1, the Data Request switch beside U2, the reverse diode
    # above the module, the module's ceramic by the jumpers
    Place("R10", 50.0, 37.0, 90),
    Place("Q2", 42.0, 47.5, 0),
    Place("R11", 50.1, 54.3, 90),
    Place("R12", 53.95, 54.3, 90),
    Place("C8", 54.05, 39.0, 90),
    # the module, USB end on the right edge; jumpers and display header within reach
    # (the module low enough, the jumpers left of its pins and the display header high enough that every
    # D32 pin's name fits on the silkscreen beside the module)
    Place("M1", 81.2, 33.5, 180),
    # rev 1.4: D5, the USB side of the 5 V diode-OR, where rev 1.3's J3 jumpers were (its anode towards the USB pad)
    Place("D5", 57.6, 53.0, 0),
    Place("J1", 68.75, 10.9, 90),
    # rev 1.4: test points — the P1 side's below the jack, the supplies' and RX along the top edge
    Place("TP1", 5.0, 37.0),
    Place("TP6", 9.2, 37.0),
    Place("TP7", 13.4, 37.0),
    Place("TP4", 5.0, 47.5),
    Place("TP2", 55.0, 3.5),
    Place("TP3", 59.2, 3.5),
    Place("TP5", 24.0, 52.5),  # RX beside R4, its pull-up: RX runs no detour to the top edge
    # rev 1.4: the I2C level shifter (i2c-levels) — Q3/Q4 between the test points and the module's pin names, their
    # drains towards J1; the 3.3 V side's pull-ups R15/R16 below C3, the 5 V side's R17/R18 right of D2
    Place("Q3", 64.4, 13.4, 0),
    Place("Q4", 63.0, 9.5, 0),
    Place("R15", 41.6, 13.45, 0),
    Place("R16", 38.5, 17.2, 0),
    Place("R17", 106.1, 12.6, 180),  # its pad right of "IO4 S1 RX" (p1s1)
    Place("R18", 105.6, 8.0, 180),
    # rev 1.4: D2 under the jack (P1_5V stays short), its cathode down the left edge to the current limit's band:
    # R19 senses, U5/R21..R23 set the limit, U4 integrates (R26, C13), Q5 passes it to +5V and C1
    Place("D2", 3.0, 32.0, 0),
    Place("R19", 6.0, 58.0, 0),
    Place("U5", 6.5, 65.5, 0),
    Place("R23", 15.5, 74.0, 90),
    Place("R21", 24.5, 72.7, 90),
    Place("R22", 28.5, 72.7, 90),
    Place("U4", 33.0, 61.0, 0),
    Place("C13", 33.0, 73.0, 0),
    Place("C14", 44.0, 68.0, 90),
    Place("R26", 48.0, 72.7, 90),
    Place("R24", 52.0, 72.7, 90),
    Place("R25", 56.0, 72.7, 90),
    Place("Q5", 61.0, 62.0, 0),
    Place("C1", 73.0, 67.0, 0),
]


# Silkscreen words: (text, x, y, height mm, angle). Kept clear of pads; DRC checks it.
SILKSCREEN = [
    ("P1", 4.0, 8.9, 2.0, 0),
    ("1", 17.3, 17.2, 1.0, 0),  # RJ12 pin 1 (+5 V), above the square pad
    (f"p1reader v{project.REVISION}", 97.5, 3.5, 1.5, 0),  # top right, clear of every part's words
]
# Words that belong to a part, placed relative to it (its pin 1 / origin) so they move with it:
# (text, ref, dx, dy, height mm, angle).
PART_SILKSCREEN = [
    # D5: the three ways the board is powered (power-path), all safe; no jumper to set
    ("PWR: P1, USB OR BOTH", "D5", 18.9, 0.0, 0.8, 0),
    # J1's pins 1-4 left to right, under them: the first letter under pin 1 (the 0.8 mm text is 10.5 mm long, wider
    # than the three pitches); the module's IO22/IO21 names below carry no function words, so there is room
    ("SCL SDA 5V GND", "J1", 4.9, 2.0, 0.8, 0),
]

# What the board uses each D32 pin for, printed after the pin's name beside the module (layout.d32_pin_labels).
# (rev 1.4: IO21/IO22 without "SDA"/"SCL": the words reached up under J1, whose legend now names the display's lines)
D32_FUNCTIONS = {22: "P1 RX", 5: "DATA REQ"}
S1_D32_FUNCTIONS = {21: "S1 RX"}

# Reference designators sit in the middle of each part's courtyard (on its body) unless listed here:
# parts whose middle is between pads or whose body is drawn full of silk. Board mm.
REFERENCE_AT = {
    "J1": (65.2, 10.9),
    "U1": (26.5, 1.8),
    "C2": (21.5, 13.4),
    "C3": (48.25, 2.4),
    "C4": (36.3, 15.5),
    "D1": (12.0, 46.0),
    "Q1": (44.5, 26.9),  # rev 1.4: above it, D6 takes the space below
    "C11": (39.05, 38.9),
    "Q2": (40.4, 49.4),  # rev 1.4: below-left of it, clear of D7's cathode mark
    "C9": (47.2, 22.0),
    "C6": (19.2, 9.0),
    "C7": (33.0, 10.3),
    "C8": (54.05, 34.6),
    "C5": (37.4, HEIGHT + 17.5),
    "D3": (21.2, 24.9),
    "C10": (20.7, 19.5),
    "TP1": (5.0, 39.9), "TP6": (9.2, 39.9), "TP7": (13.4, 39.9), "TP4": (5.0, 44.6),
    "TP2": (55.0, 6.4), "TP3": (59.2, 6.4), "TP5": (24.0, 49.6),
    "Q3": (61.7, 13.4), "Q4": (60.2, 9.5),  # left of each SOT-23, clear of its pads and of "J1"
    # rev 1.4, the current limit's band: beside the bodies their silk fills (Q5, C1's can, C13's disc, U5)
    "Q5": (63.3, 65.0), "C1": (86.0, 67.0), "C13": (34.25, 75.8), "U5": (9.0, 62.2), "C14": (44.0, 63.2),
}


# The p1s1 variant: the same board with a 20 mm band along the bottom for the S1 port (J4 on the left edge
# beside the P1 jack, the RS-422 receiver and its termination next to it).
S1_BAND_MM = 20.0
S1_PLACEMENT = [
    Place("J4", 17.3, HEIGHT + 2.0, 270),
    Place("U3", 34.0, HEIGHT + 13.0, 180),
    Place("R7", 40.0, HEIGHT + 4.0, 0),
    Place("R8", 40.0, HEIGHT + 8.5, 0),
    Place("R9", 40.0, HEIGHT + 13.0, 0),
    Place("C5", 40.0, HEIGHT + 17.5, 0),
]
S1_SILKSCREEN = [
    ("S1", 10.0, HEIGHT + 15.5, 2.0, 0),
    ("1", 19.8, HEIGHT + 0.6, 1.0, 0),  # RJ12 pin 1 of the S1 jack
]


def d32_pin_labels(variant: Variant = P1) -> dict:
    """{D32 pad number: silkscreen label}, e.g. 22: "IO16 P1 RX" — every pin, named as the ESP32 knows it."""
    from .d32lib import PINS

    functions = {**D32_FUNCTIONS, **(S1_D32_FUNCTIONS if variant.has_s1 else {})}
    return {number: " ".join(filter(None, (name.replace("GPIO", "IO"), functions.get(number))))
            for number, name, _ in PINS}


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    places: list
    silkscreen: list
    reference_at: dict
    d32_labels: dict

    def all_places(self):
        """The placement table and the four corner holes, H1..H4 clockwise from top-left."""
        i, w, h = CORNER_HOLE_INSET, self.width, self.height
        return self.places + [Place("H1", i, i), Place("H2", w - i, i), Place("H3", w - i, h - i), Place("H4", i, h - i)]


def _part_silkscreen(places):
    at = {p.ref: (p.x, p.y) for p in places}
    return [(text, round(at[ref][0] + dx, 3), round(at[ref][1] + dy, 3), size, angle)
            for text, ref, dx, dy, size, angle in PART_SILKSCREEN if ref in at]


def for_variant(variant: Variant = P1) -> Layout:
    """The layout of a board variant (read at call time, so a test can change the tables)."""
    s1 = variant.has_s1
    places = PLACEMENT + (S1_PLACEMENT if s1 else [])
    silkscreen = SILKSCREEN + _part_silkscreen(places) + (S1_SILKSCREEN if s1 else [])
    return Layout(WIDTH, HEIGHT + (S1_BAND_MM if s1 else 0.0), places, silkscreen, REFERENCE_AT, d32_pin_labels(variant))
