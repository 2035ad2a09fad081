"""Write the board's KiCad 9 schematic from the skidl circuit.

skidl's own `generate_schematic()` fails on this board with KiCad 9 and kiutils drops KiCad 9's
`(hide yes)` flags when it saves a schematic (both tried), so the file is assembled here as
s-expressions with `sexpdata`: library symbols are copied verbatim from KiCad's libraries, each pin gets a
short wire and a net label (or a no-connect flag), and parts sit in blocks that read left to right:
P1 jack → inverter and Data Request → D32, power along the bottom. KiCad itself checks the result
(ERC, netlist export) in `make check` and the tests.
"""

import uuid

import sexpdata
from sexpdata import Symbol as S

from . import kicadlibs
from .circuit import Board
from .project import LIB_DIR, NAME
from .sexpr import children

KICAD_SCH_VERSION = 20250114  # KiCad 9.0
_NS = uuid.UUID("5d1b7a4e-3c1f-4a53-9f62-7c1a50d3e0b1")
GRID = 2.54
STUB = 2.54  # wire from a pin to its label

# Where each symbol sits on the A3 sheet (mm, KiCad schematic coordinates, y down), block by block.
PLACEMENT = {
    # P1 port
    "J2": (40.64, 101.6),
    # inverter
    "R2": (86.36, 63.5), "R1": (101.6, 86.36), "Q1": (124.46, 86.36), "R3": (142.24, 63.5),
    # Data Request
    "R4": (86.36, 134.62), "U2": (116.84, 139.7), "R5": (149.86, 134.62),
    # power
    "U1": (63.5, 213.36), "C1": (91.44, 218.44), "C2": (104.14, 218.44), "C3": (129.54, 218.44),
    "C4": (142.24, 218.44), "R6": (160.02, 213.36), "D1": (160.02, 236.22),
    # module, jumpers, display header
    "M1": (233.68, 110.49), "J3": (320.04, 88.9), "J1": (320.04, 134.62),
    # S1 port (p1s1 variant)
    "J4": (205.74, 223.52), "U3": (238.76, 223.52), "R7": (215.9, 246.38), "R8": (228.6, 246.38),
    "R9": (241.3, 246.38), "C5": (254.0, 246.38),
    # mechanics
    "H1": (284.48, 213.36), "H2": (309.88, 213.36), "H3": (335.28, 213.36), "H4": (360.68, 213.36),
}
BLOCK_TITLES = [
    ((27.94, 45.72), "P1 port (RJ12 from the meter)"),
    ((78.74, 45.72), "Inverter: open-collector P1 data → 3.3 V UART RX"),
    ((78.74, 119.38), "Data Request: GPIO12 → 4N35 → pin 2"),
    ((50.8, 193.04), "Power: P1 +5 V → LM1085 → +3V3"),
    ((203.2, 45.72), "Lolin D32 (ESP32)"),
    ((302.26, 68.58), "ESP32 PWR jumpers / I2C display"),
    ((281.94, 198.12), "Mounting holes"),
    ((195.58, 198.12), "S1 port: RS-422 in, 120 Ω terminated and biased → GPIO4 (p1s1 variant)"),
]
# Nets fed by a connector (P1 supply) need a power flag so ERC knows they are driven.
POWER_FLAGS = {"#FLG01": ("P1_5V", (27.94, 139.7)), "#FLG02": ("GND", (43.18, 139.7))}


def _uuid(*key):
    return str(uuid.uuid5(_NS, "/".join(map(str, key))))


def _extract(text, name):
    """The s-expression text of `(symbol "name" ...)` at the top level of a .kicad_sym file."""
    start = text.find(f'(symbol "{name}"')
    if start < 0:
        return None
    depth, in_str, i = 0, False, start
    while True:
        c = text[i]
        if c == '"' and text[i - 1] != "\\":
            in_str = not in_str
        elif not in_str and c == "(":
            depth += 1
        elif not in_str and c == ")":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
        i += 1


class SymbolLibraries:
    """Library symbols by lib id, flattened (`extends` resolved) the way a schematic embeds them."""

    def __init__(self, project_lib_dir=LIB_DIR):
        self.project_lib_dir = project_lib_dir
        self._texts, self._cache = {}, {}

    def _library_text(self, nickname):
        if nickname not in self._texts:
            path = (self.project_lib_dir / f"{NAME}.kicad_sym" if nickname == NAME
                    else kicadlibs.symbol_library(nickname))
            self._texts[nickname] = path.read_text(encoding="utf-8")
        return self._texts[nickname]

    def _raw(self, nickname, name):
        text = _extract(self._library_text(nickname), name)
        if text is None:
            raise kicadlibs.LibraryError(f"symbol '{nickname}:{name}' not found in library '{nickname}'")
        return sexpdata.loads(text)

    def get(self, lib_id):
        if lib_id not in self._cache:
            nickname, _, name = lib_id.partition(":")
            sym = self._raw(nickname, name)
            parent = children(sym, "extends")
            if parent:
                sym = self._flatten(sym, self._raw(nickname, parent[0][1]), name)
            sym[1] = lib_id
            self._cache[lib_id] = sym
        return self._cache[lib_id]

    @staticmethod
    def _flatten(child, parent, name):
        """A derived symbol = the parent's drawing and pins with the child's properties."""
        pname = parent[1]
        flat = [S("symbol"), name]
        child_props = {p[1]: p for p in children(child, "property")}
        for item in parent[2:]:
            if isinstance(item, list) and item and item[0] == S("property"):
                flat.append(child_props.pop(item[1], item))
            elif isinstance(item, list) and item and item[0] == S("symbol"):
                flat.append([S("symbol"), item[1].replace(pname, name, 1)] + item[2:])
            else:
                flat.append(item)
        for prop in child_props.values():
            flat.insert(len(flat) - len(children(flat, "symbol")), prop)
        return flat

    def pins(self, lib_id):
        """{pin number: (x, y, angle)} in symbol coordinates (y up), for unit 1 and common units."""
        found = {}
        for unit in children(self.get(lib_id), "symbol"):
            for pin in children(unit, "pin"):
                at = children(pin, "at")[0]
                number = children(pin, "number")[0][1]
                found[number] = (at[1], at[2], at[3] if len(at) > 3 else 0)
        return found

    def property_positions(self, lib_id):
        return {p[1]: children(p, "at")[0][1:] for p in children(self.get(lib_id), "property")}


def _font(hide=False, justify=None):
    effects = [S("effects"), [S("font"), [S("size"), 1.27, 1.27]]]
    if justify:
        effects.append([S("justify")] + [S(j) for j in justify])
    if hide:
        effects.append([S("hide"), S("yes")])
    return effects


def _r(v):
    return round(v, 4)


def _property(key, value, x, y, hide, angle=0):
    return [S("property"), key, value, [S("at"), _r(x), _r(y), angle], _font(hide)]


def _label_angle(pin_angle):
    """Direction away from the body for a pin whose lib angle points into the body → label angle."""
    return {0: 180, 180: 0, 90: 270, 270: 90}[int(pin_angle) % 360]


_STEP = {0: (1, 0), 180: (-1, 0), 90: (0, -1), 270: (0, 1)}  # label angle → unit step on the sheet


class _Sheet:
    def __init__(self, libs):
        self.libs = libs
        self.items = []
        self.used_lib_ids = set()

    def symbol(self, lib_id, ref, value, at, fields, pin_nets, in_bom=True, on_board=True):
        """Place one symbol at `at` (rotation 0) and wire each pin to its net label or a no-connect."""
        self.used_lib_ids.add(lib_id)
        x0, y0 = at
        props = self.libs.property_positions(lib_id)
        rx, ry = props.get("Reference", (0, 0))[:2]
        vx, vy = props.get("Value", (0, 0))[:2]
        node = [S("symbol"), [S("lib_id"), lib_id], [S("at"), _r(x0), _r(y0), 0], [S("unit"), 1],
                [S("exclude_from_sim"), S("no")], [S("in_bom"), S("yes" if in_bom else "no")],
                [S("on_board"), S("yes" if on_board else "no")], [S("dnp"), S("no")],
                [S("uuid"), _uuid("symbol", ref)],
                _property("Reference", ref, x0 + rx, y0 - ry, False),
                _property("Value", value, x0 + vx, y0 - vy, False)]
        for key, val in fields:
            node.append(_property(key, val, x0, y0, True))
        pins = self.libs.pins(lib_id)
        for number in sorted(pins, key=lambda n: (len(n), n)):
            node.append([S("pin"), number, [S("uuid"), _uuid("pin", ref, number)]])
        node.append([S("instances"), [S("project"), NAME, [S("path"), "/" + _uuid("root"),
                                                            [S("reference"), ref], [S("unit"), 1]]]])
        self.items.append(node)
        for number in sorted(pins, key=lambda n: (len(n), n)):
            px, py, angle = pins[number]
            end = (x0 + px, y0 - py)
            net = pin_nets.get(number)
            if net is None:
                self.items.append([S("no_connect"), [S("at"), _r(end[0]), _r(end[1])],
                                   [S("uuid"), _uuid("nc", ref, number)]])
            else:
                self.label(net, end, _label_angle(angle), key=(ref, number))

    def label(self, net, end, angle, key):
        dx, dy = _STEP[angle]
        tip = (end[0] + dx * STUB, end[1] + dy * STUB)
        self.items.append([S("wire"), [S("pts"), [S("xy"), _r(end[0]), _r(end[1])], [S("xy"), _r(tip[0]), _r(tip[1])]],
                           [S("stroke"), [S("width"), 0], [S("type"), S("default")]], [S("uuid"), _uuid("wire", *key)]])
        justify = ["left", "bottom"] if angle in (0, 90) else ["right", "bottom"]
        self.items.append([S("label"), net, [S("at"), _r(tip[0]), _r(tip[1]), angle],
                           [S("fields_autoplaced"), S("yes")], _font(justify=justify), [S("uuid"), _uuid("label", *key)]])

    def text(self, at, words):
        self.items.append([S("text"), words, [S("exclude_from_sim"), S("no")], [S("at"), at[0], at[1], 0],
                           [S("effects"), [S("font"), [S("size"), 2.0, 2.0], [S("bold"), S("yes")]],
                            [S("justify"), S("left"), S("bottom")]], [S("uuid"), _uuid("text", words)]])


def schematic(board: Board, revision: str, libs: SymbolLibraries | None = None) -> str:
    """The complete `.kicad_sch` text for `board`."""
    libs = libs or SymbolLibraries()
    sheet = _Sheet(libs)
    for at, words in BLOCK_TITLES:
        if "S1 port" not in words or board.variant.has_s1:
            sheet.text(at, words)
    for ref in sorted(board.parts, key=lambda r: (r[0], int(r[1:]))):
        part = board.parts[ref]
        if ref not in PLACEMENT:
            raise ValueError(f"schematic: no place for {ref} in hwtools/schematic.py PLACEMENT")
        pin_nets = {pin.num: (pin.net.name if pin.is_connected() else None) for pin in part.pins}
        fields = [("Footprint", part.footprint), ("Datasheet", part.datasheet or "~"),
                  ("Description", part.description or "")]
        fields += [(k, v) for k, v in sorted(part.fields.items()) if k not in ("Footprint", "Datasheet", "Description",
                                                                              "exclude_from_bom")]
        in_bom = part.fields.get("exclude_from_bom") != "yes"
        sheet.symbol(board.lib_ids[ref], ref, part.value, PLACEMENT[ref], fields, pin_nets, in_bom=in_bom)
    for ref, (net, at) in sorted(POWER_FLAGS.items()):
        sheet.symbol("power:PWR_FLAG", ref, "PWR_FLAG", at, [("Footprint", ""), ("Datasheet", "~")],
                     {"1": net}, in_bom=False, on_board=False)

    root = [S("kicad_sch"), [S("version"), KICAD_SCH_VERSION], [S("generator"), "p1reader"],
            [S("generator_version"), "9.0"], [S("uuid"), _uuid("root")], [S("paper"), "A3"],
            [S("title_block"), [S("title"), "p1reader — P1 readout board"], [S("rev"), revision],
             [S("company"), "p1reader"], [S("comment"), 1, "Generated by hwtools from hwtools/circuit.py — do not edit"]],
            [S("lib_symbols")] + [libs.get(lib_id) for lib_id in sorted(sheet.used_lib_ids)]]
    root += sheet.items
    root += [[S("sheet_instances"), [S("path"), "/", [S("page"), "1"]]], [S("embedded_fonts"), S("no")]]
    return format_sexpr(root) + "\n"


# Lists with these heads start on their own line; everything else stays inline (KiCad's own style, roughly).
_BLOCKS = {"kicad_sch", "lib_symbols", "symbol", "property", "pin", "instances", "project", "path", "wire", "label",
           "no_connect", "text", "title_block", "sheet_instances", "rectangle", "polyline", "circle", "arc",
           "effects", "stroke", "fill", "pts", "uuid", "at", "lib_id", "unit", "in_bom", "on_board", "dnp",
           "exclude_from_sim", "version", "generator", "generator_version", "paper", "embedded_fonts",
           "pin_names", "pin_numbers", "name", "number", "length", "reference", "page", "comment", "rev", "title",
           "company", "fields_autoplaced", "text_box"}


def format_sexpr(node, indent=0):
    """Indented s-expression text: one structural item per line so diffs of the file stay readable."""
    if not isinstance(node, list):
        return sexpdata.dumps(node)
    head, *rest = node
    parts = [sexpdata.dumps(head)]
    inline = []
    lines = []
    for item in rest:
        if isinstance(item, list) and item and isinstance(item[0], S) and item[0].value() in _BLOCKS \
                and _has_block(item):
            lines.append("\t" * (indent + 1) + format_sexpr(item, indent + 1))
        else:
            inline.append(format_sexpr(item, indent + 1) if isinstance(item, list) else sexpdata.dumps(item))
    text = "(" + " ".join(parts + inline)
    if lines:
        text += "\n" + "\n".join(lines) + "\n" + "\t" * indent
    return text + ")"


def _has_block(item):
    """Put a child list on its own line only when it is a 'big' item (it has list children)."""
    return any(isinstance(x, list) for x in item[1:])
