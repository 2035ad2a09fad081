"""The project's own KiCad library, generated with kiutils: the Lolin D32 module as a symbol and footprint, and a
dual op-amp drawn as one unit (`dual_opamp_symbol`).

The footprint reproduces the one the proven v1.1 board used (pauls-3d-things `LolinD32`) pad for pad and
adds what the original lacked: a fab outline and a courtyard around the whole module, USB end included.
"""

from pathlib import Path

from kiutils.footprint import DrillDefinition, Footprint, Pad
from kiutils.items.common import Effects, Font, Position, Property, Stroke
from kiutils.items.fpitems import FpLine, FpText
from kiutils.items.syitems import SyRect
from kiutils.symbol import Symbol, SymbolLib, SymbolPin

from .project import D32_NAME, OPAMP_LIB_ID

LIBRARY = "p1reader"
NAME = D32_NAME  # its home is project.py, where the fab pipeline reads it without loading kiutils

# (pad, name, KiCad electrical type). Row A is pads 1-16, row B pads 17-32 (Lolin D32 pinout).
PINS = [
    (1, "BAT", "passive"), (2, "USB", "passive"), (3, "EN", "input"), (4, "GPIO13", "bidirectional"),
    (5, "GPIO12", "bidirectional"), (6, "GPIO14", "bidirectional"), (7, "GPIO27", "bidirectional"),
    (8, "GPIO26", "bidirectional"), (9, "GPIO25", "bidirectional"), (10, "GPIO33", "bidirectional"),
    (11, "GPIO32", "bidirectional"), (12, "GPIO34", "input"), (13, "GPIO39", "input"),
    (14, "GPIO36", "input"), (15, "RST", "input"), (16, "3V", "passive"),
    (17, "GND", "power_in"), (18, "GPIO15", "bidirectional"), (19, "GPIO2", "bidirectional"),
    (20, "GPIO0", "bidirectional"), (21, "GPIO4", "bidirectional"), (22, "GPIO16", "bidirectional"),
    (23, "GPIO17", "bidirectional"), (24, "GPIO5", "bidirectional"), (25, "GPIO18", "bidirectional"),
    (26, "GPIO19", "bidirectional"), (27, "GPIO21", "bidirectional"), (28, "GPIO3", "bidirectional"),
    (29, "GPIO1", "bidirectional"), (30, "GPIO22", "bidirectional"), (31, "GPIO23", "bidirectional"),
    (32, "GND", "power_in"),
]
# The silkscreen labels of the original footprint (pin numbers of the module's own print), without its "RX"/"TX"
# on the module's own UART0 pins: a technician took them for the P1 data input (GPIO16). The board names every
# pin beside the module instead (layout.d32_pin_labels).
SILK_LABELS = {
    1: "BAT", 2: "USB", 3: "EN", 13: "VN", 14: "VP", 15: "RS", 16: "3V", 17: "GND", 32: "GND",
}

PITCH = 2.54
ROW_A_Y, ROW_B_Y, FIRST_X = -10.16, 12.70, -20.32
PAD_SIZE, DRILL = 2.0, 1.0
# Module body as printed by the original's silkscreen: 57.15 × 25.40 mm, the USB end at -x.
BODY = (-32.52, -11.43, 24.63, 13.97)
COURTYARD_MARGIN = 0.25  # IPC-7351 nominal for through-hole modules


def pad_position(number):
    """Centre of pad `number` in footprint coordinates (mm)."""
    if number <= 16:
        return round(FIRST_X + PITCH * (number - 1), 2), ROW_A_Y
    return round(FIRST_X + PITCH * (number - 17), 2), ROW_B_Y


def _font(size=1.0):
    return Effects(font=Font(height=size, width=size, thickness=0.15))


def _rect_lines(x0, y0, x1, y1, layer, width):
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return [FpLine(start=Position(*corners[i]), end=Position(*corners[(i + 1) % 4]), layer=layer,
                   stroke=Stroke(width=width, type="solid")) for i in range(4)]


def footprint():
    """The D32 footprint: 32 THT pads (2.0 mm, drill 1.0 mm), silk, fab outline and courtyard."""
    fp = Footprint.create_new(f"{NAME}", value=NAME, type="through_hole", reference="REF**")
    fp.tedit = "0"  # kiutils stamps the current time otherwise; a fixed value keeps the file reproducible
    fp.description = ("Wemos/LOLIN D32 (ESP32-WROOM-32) module, not the D32 Pro (its WROVER module uses GPIO16, the "
                      "P1 RX pin), 2 × 16 pins 2.54 mm, rows 22.86 mm apart, USB end at -x")
    fp.tags = "ESP32 Lolin Wemos D32 module"
    fp.graphicItems = [
        FpText(type="reference", text="REF**", layer="F.SilkS", effects=_font(), position=Position(X=0, Y=0)),
        FpText(type="value", text=NAME, layer="F.Fab", effects=_font(), position=Position(X=0, Y=-2.54)),
        FpText(type="user", text="${REFERENCE}", layer="F.Fab", effects=_font(), position=Position(X=0, Y=2.54)),
    ]
    for number, label in sorted(SILK_LABELS.items()):
        x, y = pad_position(number)
        fp.graphicItems.append(FpText(type="user", text=label, layer="F.SilkS", effects=_font(),
                                      position=Position(X=x, Y=y + (2.54 if number <= 16 else -2.54), angle=90)))
    x0, y0, x1, y1 = BODY
    fp.graphicItems += _rect_lines(x0, y0, x1, y1, "F.SilkS", 0.15)
    fp.graphicItems += _rect_lines(x0, y0, x1, y1, "F.Fab", 0.1)
    m = COURTYARD_MARGIN
    fp.graphicItems += _rect_lines(x0 - m, y0 - m, x1 + m, y1 + m, "F.CrtYd", 0.05)
    for number, _, _ in PINS:
        x, y = pad_position(number)
        fp.pads.append(Pad(number=str(number), type="thru_hole", shape="circle", position=Position(X=x, Y=y),
                           size=Position(X=PAD_SIZE, Y=PAD_SIZE), drill=DrillDefinition(diameter=DRILL),
                           layers=["*.Cu", "*.Mask"]))
    return fp


# Where each pad's pin sits on the symbol (pad numbers as on the module; only the drawing order differs):
# the signals from the P1 side arrive on the left in the order their blocks sit on the sheet (UART RX from
# the inverter, Data Request, S1), the jumper and display header leave on the right, GND at the bottom.
SYMBOL_LEFT = [22, 5, 21, 1, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14]
SYMBOL_RIGHT = [16, 30, 27, 3, 15, 18, 19, 20, 23, 24, 25, 26, 28, 29, 31]
SYMBOL_BOTTOM = [17, 32]


def symbol():
    """The D32 symbol: P1-side signals on the left, jumper and I2C on the right, GND at the bottom."""
    top, bottom = 8 * PITCH, -11 * PITCH  # room under the side pins for the GND pin names
    sym = Symbol.create_new(NAME, "M", NAME, footprint=f"{LIBRARY}:{NAME}",
                            datasheet="https://www.wemos.cc/en/latest/d32/d32.html")
    sym.properties.append(Property(key="Description", value="Wemos/LOLIN D32 ESP32 module", id=4,
                                   effects=Effects(font=Font(width=1.27, height=1.27), hide=True)))
    sym.properties[0].position = Position(X=0, Y=top + 1.27, angle=0)
    sym.properties[1].position = Position(X=0, Y=bottom - 1.27, angle=0)
    body = Symbol.create_new(f"{NAME}_0_1", "", "")
    body.libId, body.properties, body.inBom, body.onBoard = f"{NAME}_0_1", [], None, None
    body.graphicItems.append(SyRect(start=Position(X=-10.16, Y=top), end=Position(X=10.16, Y=bottom),
                                    stroke=Stroke(width=0.254, type="default")))
    body.graphicItems[0].fill.type = "background"
    pins = Symbol.create_new(f"{NAME}_1_1", "", "")
    pins.libId, pins.properties, pins.inBom, pins.onBoard = f"{NAME}_1_1", [], None, None
    names = {number: (name, kind) for number, name, kind in PINS}
    places = [(n, -12.7, 7 * PITCH - PITCH * row, 0) for row, n in enumerate(SYMBOL_LEFT)]
    places += [(n, 12.7, 7 * PITCH - PITCH * row, 180) for row, n in enumerate(SYMBOL_RIGHT)]
    places += [(n, PITCH * (2 * i - 1), bottom - PITCH, 90) for i, n in enumerate(SYMBOL_BOTTOM)]
    for number, x, y, angle in places:
        name, kind = names[number]
        pins.pins.append(SymbolPin(electricalType=kind, graphicalStyle="line", name=name, number=str(number),
                                   position=Position(X=x, Y=round(y, 2), angle=angle), length=2.54))
    sym.units = [body, pins]
    return sym


# The dual op-amp in one unit: the schematic draws one symbol per part, and KiCad's own dual op-amps have three
# units whose pins share places. LMC6482 pinout (DIP-8): inputs left, outputs right, V+ up, V- down.
OPAMP_NAME = OPAMP_LIB_ID.split(":")[1]
OPAMP_PINS = {"left": [(2, "-INA"), (3, "+INA"), (6, "-INB"), (5, "+INB")], "right": [(1, "OUTA"), (7, "OUTB")],
              "top": [(8, "V+")], "bottom": [(4, "V-")]}


def dual_opamp_symbol():
    """A dual op-amp (8 pins) as one box, so each pin has its own place on the sheet."""
    sym = Symbol.create_new(OPAMP_NAME, "U", "OpAmp_Dual", footprint="Package_DIP:DIP-8_W7.62mm")
    sym.properties[0].position = Position(X=2.54, Y=8.89, angle=0)
    sym.properties[1].position = Position(X=2.54, Y=-8.89, angle=0)
    body = Symbol.create_new(f"{OPAMP_NAME}_0_1", "", "")
    body.libId, body.properties, body.inBom, body.onBoard = f"{OPAMP_NAME}_0_1", [], None, None
    body.graphicItems.append(SyRect(start=Position(X=-7.62, Y=6.35), end=Position(X=7.62, Y=-6.35),
                                    stroke=Stroke(width=0.254, type="default")))
    body.graphicItems[0].fill.type = "background"
    pins = Symbol.create_new(f"{OPAMP_NAME}_1_1", "", "")
    pins.libId, pins.properties, pins.inBom, pins.onBoard = f"{OPAMP_NAME}_1_1", [], None, None
    places = [(n, name, "input", -10.16, 3.81 - PITCH * i, 0) for i, (n, name) in enumerate(OPAMP_PINS["left"])]
    places += [(n, name, "output", 10.16, 2.54 - 2 * PITCH * i, 180) for i, (n, name) in enumerate(OPAMP_PINS["right"])]
    places += [(n, name, "power_in", 0, 8.89, 270) for n, name in OPAMP_PINS["top"]]
    places += [(n, name, "power_in", 0, -8.89, 90) for n, name in OPAMP_PINS["bottom"]]
    for number, name, kind, x, y, angle in places:
        pins.pins.append(SymbolPin(electricalType=kind, graphicalStyle="line", name=name, number=str(number),
                                   position=Position(X=x, Y=round(y, 2), angle=angle), length=2.54))
    sym.units = [body, pins]
    return sym


def write_library(lib_dir: Path):
    """Write `<lib_dir>/p1reader.kicad_sym` (the D32, the dual op-amp) and `<lib_dir>/p1reader.pretty/LolinD32.kicad_mod`."""
    pretty = lib_dir / f"{LIBRARY}.pretty"
    pretty.mkdir(parents=True, exist_ok=True)
    footprint().to_file(str(pretty / f"{NAME}.kicad_mod"), encoding="utf-8")
    lib = SymbolLib(version="20211014", generator="p1reader")
    lib.symbols += [symbol(), dual_opamp_symbol()]
    lib.to_file(str(lib_dir / f"{LIBRARY}.kicad_sym"), encoding="utf-8")
