"""Readability measures of a KiCad schematic, read back from what KiCad itself draws.

Text boxes come from `kicad-cli sch export svg`: every text is a `<g class="stroked-text">` group whose
`<desc>` is the text and whose paths are its strokes, so their extent is the glyph box as printed.
Wires, pins, symbol bodies, labels and junctions come from the `.kicad_sch` geometry. Nothing here uses the
generator's own geometry code, so the measures check it rather than repeat it.
"""

import html
import math
import re
from dataclasses import dataclass, field

import sexpdata

S = sexpdata.Symbol
# A3 drawing area inside KiCad's frame, and its title block (texts there are KiCad's, not the design's).
FRAME = (12.0, 12.0, 408.0, 285.0)
TITLE_BLOCK = (300.0, 253.0, 408.0, 285.0)
EPS = 0.05


def _kids(node, head):
    return [x for x in node if isinstance(x, list) and x and x[0] == S(head)]


def _one(node, head):
    found = _kids(node, head)
    return found[0] if found else None


@dataclass
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, o):
        return self.x0 < o.x1 - EPS and o.x0 < self.x1 - EPS and self.y0 < o.y1 - EPS and o.y0 < self.y1 - EPS

    def crossed_by(self, a, b):
        """Does the segment a-b (horizontal or vertical) pass through the inside of the box?"""
        (x0, y0), (x1, y1) = sorted([a, b])
        inner = Box(self.x0 + EPS, self.y0 + EPS, self.x1 - EPS, self.y1 - EPS)
        if abs(y0 - y1) < 1e-6:
            return inner.y0 < y0 < inner.y1 and x0 < inner.x1 and x1 > inner.x0
        lo, hi = min(y0, y1), max(y0, y1)
        return inner.x0 < x0 < inner.x1 and lo < inner.y1 and hi > inner.y0


@dataclass
class Pin:
    ref: str
    number: str
    end: tuple
    inner: tuple


@dataclass
class Sheet:
    wires: list = field(default_factory=list)  # [((x, y), (x, y))]
    labels: list = field(default_factory=list)  # [(net, (x, y))]
    junctions: list = field(default_factory=list)
    pins: list = field(default_factory=list)
    bodies: list = field(default_factory=list)  # [(ref, Box)], one box per drawn item of a symbol
    texts: list = field(default_factory=list)  # [(kind, owner, text, (x, y), size)] for every visible text
    power_symbols: list = field(default_factory=list)  # [(ref, net)]


def _place(at, angle, mirror, lx, ly):
    """Library point (y up) → sheet point (y down) for a symbol at `at`, rotated and mirrored."""
    x, y = lx, -ly
    c, s = round(math.cos(math.radians(angle))), round(math.sin(math.radians(angle)))
    x, y = x * c + y * s, -x * s + y * c
    if mirror == "x":
        y = -y
    elif mirror == "y":
        x = -x
    return round(at[0] + x, 3), round(at[1] + y, 3)


def _graphic_items(lib):
    """The drawing of a library symbol as one point list per item (rectangle, polyline, circle, arc)."""
    items = []
    for unit in _kids(lib, "symbol"):
        for item in unit:
            if not (isinstance(item, list) and item and isinstance(item[0], S)):
                continue
            kind = item[0].value()
            if kind in ("rectangle", "arc"):
                items.append([tuple(c[1:3]) for c in item if isinstance(c, list) and c[0] in (S("start"), S("end"), S("mid"))])
            elif kind == "polyline":
                items.append([tuple(xy[1:3]) for xy in _kids(_one(item, "pts"), "xy")])
            elif kind == "circle":
                (cx, cy), r = _one(item, "center")[1:3], _one(item, "radius")[1]
                items.append([(cx - r, cy - r), (cx + r, cy + r)])
    return items


def _hidden(node):
    eff = _one(node, "effects")
    return eff is not None and (_one(eff, "hide") is not None and _one(eff, "hide")[1] == S("yes") or S("hide") in eff)


def _size(node):
    return _one(_one(_one(node, "effects"), "font"), "size")[1]


def read_sheet(path):
    tree = sexpdata.loads(path.read_text(encoding="utf-8"))
    libs = {lib[1]: lib for lib in _kids(_one(tree, "lib_symbols"), "symbol")}
    sheet = Sheet()
    for w in _kids(tree, "wire"):
        a, b = [tuple(xy[1:3]) for xy in _kids(_one(w, "pts"), "xy")]
        sheet.wires.append((a, b))
    for lab in _kids(tree, "label"):
        sheet.labels.append((lab[1], tuple(_one(lab, "at")[1:3])))
        sheet.texts.append(("label", lab[1], lab[1], tuple(_one(lab, "at")[1:3]), _size(lab)))
    for j in _kids(tree, "junction"):
        sheet.junctions.append(tuple(_one(j, "at")[1:3]))
    for t in _kids(tree, "text"):
        sheet.texts.append(("title", None, t[1], tuple(_one(t, "at")[1:3]), _size(t)))
    for sym in _kids(tree, "symbol"):
        lib_id = _one(sym, "lib_id")[1]
        lib = libs[lib_id]
        at = _one(sym, "at")
        pos, angle = (at[1], at[2]), at[3]
        mirror = _one(sym, "mirror")[1].value() if _one(sym, "mirror") else None
        props = {p[1]: p for p in _kids(sym, "property")}
        ref = props["Reference"][2]
        if _one(lib, "power") is not None and lib_id != "power:PWR_FLAG":
            sheet.power_symbols.append((ref, props["Value"][2]))
        for name, p in props.items():
            if not _hidden(p):
                sheet.texts.append(("field", ref, p[2], tuple(_one(p, "at")[1:3]), _size(p)))
        for item in _graphic_items(lib):
            points = [_place(pos, angle, mirror, x, y) for x, y in item]
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            sheet.bodies.append((ref, Box(min(xs), min(ys), max(xs), max(ys))))
        for unit in _kids(lib, "symbol"):
            for pin in _kids(unit, "pin"):
                (px, py, pa), length = _one(pin, "at")[1:4], _one(pin, "length")[1]
                ix, iy = px + length * round(math.cos(math.radians(pa))), py + length * round(math.sin(math.radians(pa)))
                sheet.pins.append(Pin(ref, str(_one(pin, "number")[1]), _place(pos, angle, mirror, px, py),
                                      _place(pos, angle, mirror, ix, iy)))
    return sheet


def svg_texts(svg_text):
    """[(text, Box)] for every stroked text inside the drawing area, outside the title block.

    KiCad's SVG plotter draws each schematic item twice (two passes); the identical copy is dropped."""
    found, seen = [], set()
    for m in re.finditer(r'<g class="stroked-text"><desc>(.*?)</desc>(.*?)</g>', svg_text, re.S):
        nums = [float(v) for v in re.findall(r"-?\d+\.?\d*", " ".join(re.findall(r'd="([^"]*)"', m.group(2))))]
        xs, ys = nums[0::2], nums[1::2]
        if not xs:
            continue
        box = Box(min(xs), min(ys), max(xs), max(ys))
        inside = FRAME[0] < box.x0 and box.x1 < FRAME[2] and FRAME[1] < box.y0 and box.y1 < FRAME[3]
        in_title = box.x0 > TITLE_BLOCK[0] and box.y0 > TITLE_BLOCK[1]
        key = (m.group(1), round(box.x0, 2), round(box.y0, 2), round(box.x1, 2), round(box.y1, 2))
        if inside and not in_title and key not in seen:
            seen.add(key)
            found.append((html.unescape(m.group(1)), box))
    return found


def match_texts(sheet, svg):
    """Pair each visible sheet text with its glyph box in the SVG: {index in sheet.texts: Box}."""
    taken, matched = set(), {}
    for i, (_, _, text, (x, y), _) in enumerate(sheet.texts):
        best = None
        for j, (words, box) in enumerate(svg):
            if j in taken or words != text:
                continue
            d = max(0.0, box.x0 - x, x - box.x1) + max(0.0, box.y0 - y, y - box.y1)
            if d < 6 and (best is None or d < best[0]):
                best = (d, j)
        if best:
            taken.add(best[1])
            matched[i] = svg[best[1]][1]
    return matched


def overlapping_texts(svg):
    boxes = [(t, b) for t, b in svg]
    return [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a[1].overlaps(b[1])]


def texts_on_drawing(sheet, matched):
    """Design texts (fields, labels, power values, titles) crossing a wire, a pin or a symbol body."""
    problems = []
    for i, box in matched.items():
        kind, owner, text, _, _ = sheet.texts[i]
        for a, b in sheet.wires:
            if box.crossed_by(a, b):
                problems.append(f"{kind} {text!r} ({owner}) crosses the wire {a}-{b}")
        for pin in sheet.pins:
            if box.crossed_by(pin.end, pin.inner):
                problems.append(f"{kind} {text!r} ({owner}) crosses pin {pin.ref}.{pin.number}")
        for ref in sorted({ref for ref, body in sheet.bodies if box.overlaps(body)}):
            problems.append(f"{kind} {text!r} ({owner}) lies on the body of {ref}")
    return problems


def _on(p, a, b):
    """Is p on the segment a-b (ends included)?"""
    if abs(a[0] - b[0]) < 1e-6:
        return abs(p[0] - a[0]) < 1e-6 and min(a[1], b[1]) - 1e-6 <= p[1] <= max(a[1], b[1]) + 1e-6
    return abs(p[1] - a[1]) < 1e-6 and min(a[0], b[0]) - 1e-6 <= p[0] <= max(a[0], b[0]) + 1e-6


def wires_over_pins_or_bodies(sheet):
    problems = []
    for a, b in sheet.wires:
        for pin in sheet.pins:
            if _on(pin.end, a, b) and pin.end not in (a, b):
                problems.append(f"wire {a}-{b} runs over the end of pin {pin.ref}.{pin.number}")
            mid = ((pin.end[0] + pin.inner[0]) / 2, (pin.end[1] + pin.inner[1]) / 2)
            if pin.end != pin.inner and (_on(mid, a, b) or _on(pin.inner, a, b)):
                problems.append(f"wire {a}-{b} runs along pin {pin.ref}.{pin.number}")
        for ref in sorted({ref for ref, body in sheet.bodies if body.crossed_by(a, b)}):
            problems.append(f"wire {a}-{b} runs through the body of {ref}")
    return problems


def wire_groups(sheet):
    """Point → group id, joining points that wires connect (ends, and points lying on a wire)."""
    parent = {}

    def find(p):
        parent.setdefault(p, p)
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    nodes = {p for w in sheet.wires for p in w} | {pin.end for pin in sheet.pins} | {p for _, p in sheet.labels}
    for a, b in sheet.wires:
        for p in nodes:
            if _on(p, a, b):
                parent[find(p)] = find(a)
    return {p: find(p) for p in nodes}


def arms(sheet):
    """Point → how many wire ends, wire runs (two arms), pins and labels meet there."""
    count = {}
    nodes = {p for w in sheet.wires for p in w} | {pin.end for pin in sheet.pins} | {p for _, p in sheet.labels}
    for p in nodes:
        n = sum(1 for pin in sheet.pins if pin.end == p) + sum(1 for _, q in sheet.labels if q == p)
        for a, b in sheet.wires:
            if p in (a, b):
                n += 1
            elif _on(p, a, b):
                n += 2
        count[p] = n
    return count


def junction_problems(sheet):
    branch = {p for p, n in arms(sheet).items() if n >= 3}
    dots = set(sheet.junctions)
    # KiCad's editor breaks a wire at a junction; kicad-cli 9.0.8 does not connect the far end of a wire
    # that another wire tees into without that break.
    unbroken = [f"wire {a}-{b} runs through the junction at {p}" for a, b in sheet.wires for p in dots
                if _on(p, a, b) and p not in (a, b)]
    return ([f"a net branches at {p} without a junction" for p in sorted(branch - dots)]
            + [f"junction at {p} where nothing branches" for p in sorted(dots - branch)] + unbroken)


def netlist_pins(netlist_path):
    """{(ref, pin): net name} from a KiCad netlist export."""
    tree = sexpdata.loads(netlist_path.read_text(encoding="utf-8"))
    found = {}
    for net in _kids(_one(tree, "nets"), "net"):
        name = _one(net, "name")[1]
        for node in _kids(net, "node"):
            found[(_one(node, "ref")[1], str(_one(node, "pin")[1]))] = name
    return found


def block_problems(sheet, pin_nets, block_of, power_nets):
    """Labels only on nets joining two blocks, at most one per block; every net inside a block drawn with
    wires (its pins there, and its label there, in one wire-connected group)."""
    problems = []
    groups = wire_groups(sheet)
    by_net = {}
    for pin in sheet.pins:
        net = pin_nets.get((pin.ref, pin.number))
        if net is None or pin.ref.startswith("#"):
            continue
        name = net.lstrip("/")
        if name in power_nets:
            continue
        by_net.setdefault(name, {}).setdefault(block_of[pin.ref], []).append(pin.end)
    labels = {}
    for net, p in sheet.labels:
        labels.setdefault(net, []).append(p)
        if net in power_nets:
            problems.append(f"supply net {net} drawn with a label")
    for net, points in sorted(labels.items()):
        blocks = by_net.get(net, {})
        if len(blocks) < 2:
            problems.append(f"label {net} on a net that stays inside one block")
        if len(points) > len(blocks):
            problems.append(f"net {net} has {len(points)} labels for {len(blocks)} blocks")
    for net, blocks in sorted(by_net.items()):
        for block, ends in sorted(blocks.items()):
            members = list(ends) + [p for p in labels.get(net, []) if _nearest_block(p, by_net[net]) == block]
            if len({groups[p] for p in members}) > 1:
                problems.append(f"net {net} is not drawn with wires inside block {block}")
    return problems


def _nearest_block(p, blocks):
    return min(blocks, key=lambda b: min(abs(p[0] - q[0]) + abs(p[1] - q[1]) for q in blocks[b]))


def all_problems(sheet, svg, pin_nets, block_of, power_nets):
    """Every readability measure at once: {measure: [problems]} (all lists empty on a clean sheet)."""
    matched = match_texts(sheet, svg)
    return {
        "texts KiCad did not draw": [t for i, t in enumerate(sheet.texts) if i not in matched],
        "overlapping texts": overlapping_texts(svg),
        "texts on the drawing": texts_on_drawing(sheet, matched),
        "small texts": [(t[2], t[4]) for t in sheet.texts if t[4] < 1.27],
        "wires over pins or bodies": wires_over_pins_or_bodies(sheet),
        "labels and wires by block": block_problems(sheet, pin_nets, block_of, power_nets),
        "junctions": junction_problems(sheet),
    }
