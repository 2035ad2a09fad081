"""Drawing the sheet: symbols from the block templates, then labels, power symbols, wires, junctions and
text, each placed where nothing else is.

Order matters and is deliberate: parts first (templates, then automatic places for parts no template
names), then the things that hang off one pin (net labels where a signal leaves its block, power symbols,
no-connect flags), then the wires inside each block, and last the reference and value texts, which go
wherever the drawing left room beside their symbol.
"""

from collections import Counter
from dataclasses import dataclass, field
from functools import reduce

from ..errors import HwtoolsError
from .blocks import BLOCKS, BY_NAME, POWER_FLAGS, POWER_SYMBOLS, assign
from .geometry import (GRID, TEXT_HALF_HEIGHT, TEXT_SIZE, TITLE_SIZE, Box, Orientation, label_box, mm, segment_box,
                       snap, text_box)
from .router import WireGrid, _expand, route_net

CLEAR = 0.3  # mm kept between a text and anything else
LINE = 2.2  # mm between the centres of stacked field lines
TITLE_CHAR_WIDTH = 0.92  # bold 2 mm titles: 1.6-1.8 mm a character in KiCad's SVG export


class SchematicLayoutError(HwtoolsError):
    """The drawing has no room for something (names the part or net)."""


@dataclass
class Pin:
    number: str
    net: str | None
    end: tuple  # grid point where wires connect
    out: tuple  # unit step pointing away from the body
    line: list  # grid points along the pin, its end excluded
    solid: object = None  # the pin's box among the drawing's solids


@dataclass
class Placed:
    ref: str
    lib_id: str
    value: str
    at: tuple  # mm
    orient: Orientation
    block: str
    pins: dict
    body: Box | None
    kind: str = "part"  # "part", "flag" (PWR_FLAG) or "power" (a power symbol)
    fields: list = field(default_factory=list)  # [(name, value, (x, y) or None when hidden)]


def _add(p, d, k=1):
    return p[0] + d[0] * k, p[1] + d[1] * k


class Drawing:
    def __init__(self, board, libs):
        self.board, self.libs = board, libs
        self.grid = WireGrid()
        self.solids = []  # (Box, block): everything a text must keep clear of
        self.symbols = {}  # ref → Placed (parts, flags and power symbols)
        self.wires = []  # (net, [grid corner points])
        self.labels = []  # (net, grid point, angle)
        self.no_connects = []  # grid points
        self.junctions = []
        self.titles = []  # ((x, y) mm, words)
        self.home = assign(board)
        self.flags = {ref: net for ref, net in POWER_FLAGS.items() if net in board.nets}
        # a flag belongs to the block whose template places it (LIM_IN's: the current limit's), else the power block
        self.home.update({ref: next((b.name for b in BLOCKS if ref in b.places(self.flags)), "power")
                          for ref in self.flags})

    # --- parts -------------------------------------------------------------------------------------------
    def pin_nets(self, ref):
        if ref in self.flags:
            return {"1": self.flags[ref]}
        return {pin.num: (pin.net.name if pin.is_connected() else None) for pin in self.board.parts[ref].pins}

    def lib_id(self, ref):
        return "power:PWR_FLAG" if ref in self.flags else self.board.lib_ids[ref]

    def geometry(self, ref, lib_id, at, orient, nets):
        pins = {}
        for number, _, (lx, ly), angle, length in self.libs.pin_table(lib_id):
            ex, ey = orient.point(at, lx, ly)
            end = (snap(ex), snap(ey))
            inward = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[int(angle) % 360]
            ix, iy = orient.vector(*inward)
            step = (round(ix), round(iy))
            line = [_add(end, step, k) for k in range(1, snap(length) + 1)]
            pins[number] = Pin(number, nets.get(number), end, (-step[0], -step[1]), line)
        body = self.libs.body(lib_id)
        if body is not None:
            corners = [orient.point(at, x, y) for x in (body.x0, body.x1) for y in (body.y0, body.y1)]
            body = Box.around(corners)
        return pins, body

    def place_parts(self):
        for block in BLOCKS:
            for ref, (x, y, angle, mirror) in block.places(set(self.board.parts) | set(self.flags)).items():
                self._put(ref, (x, y), Orientation(angle, mirror))
        for ref in sorted(set(self.board.parts) - set(self.symbols), key=lambda r: (r.rstrip("0123456789"), len(r), r)):
            self._place_new(ref)

    def _put(self, ref, at, orient):
        lib_id = self.lib_id(ref)
        nets = self.pin_nets(ref)
        pins, body = self.geometry(ref, lib_id, at, orient, nets)
        value = "PWR_FLAG" if ref in self.flags else self.board.parts[ref].value
        kind = "flag" if ref in self.flags else "part"
        placed = Placed(ref, lib_id, value, at, orient, self.home[ref], pins, body, kind)
        self.symbols[ref] = placed
        self._occupy(placed)

    def _occupy(self, placed):
        if placed.body is not None:
            self._block_mm(placed.body)
            self.solids.append((placed.body, placed.block))
        numbers_shown = self.libs.shows_pin_numbers(placed.lib_id)
        for pin in placed.pins.values():
            self.grid.pin_end[pin.end] = pin.net
            self.grid.pin_line.update(pin.line)
            if pin.line:
                half = 2.0 if numbers_shown else 0.6
                pin.solid = segment_box(_mm(pin.end), _mm(pin.line[-1]), half)
                self.solids.append((pin.solid, placed.block))

    def footprint(self, placed):
        """Body and pin ends of a placed symbol (mm)."""
        points = [_mm(p.end) for p in placed.pins.values()]
        box = Box.around(points) if points else None
        if placed.body is not None:
            box = placed.body if box is None else box.union(placed.body)
        return box

    def _place_new(self, ref):
        """A part no template names: the free spot in its block nearest to what it connects to."""
        block = BY_NAME[self.home[ref]]
        nets = self.pin_nets(ref)
        orient = Orientation(_two_pin_angle(nets), None) if len(nets) == 2 else Orientation()
        near = [_mm(p.end) for s in self.symbols.values() if s.block == block.name for p in s.pins.values()
                if p.net is not None and p.net in nets.values()]
        if not near:
            near = [_mm(p.end) for s in self.symbols.values() if s.block == block.name for p in s.pins.values()]
        cx, cy = (sum(p[0] for p in near) / len(near), sum(p[1] for p in near) / len(near))
        taken = [self.footprint(s).grow(1.27) for s in self.symbols.values() if self.footprint(s) is not None]
        x0, y0, x1, y1 = block.region
        best = None
        for gx in range(round(x0 / 2.54) + 2, round(x1 / 2.54) - 1):
            for gy in range(round(y0 / 2.54) + 2, round(y1 / 2.54) - 1):
                at = (round(gx * 2.54, 4), round(gy * 2.54, 4))
                pins, body = self.geometry(ref, self.lib_id(ref), at, orient, nets)
                box = Box.around([_mm(p.end) for p in pins.values()])
                box = (box.union(body) if body else box).grow(5.08)
                if box.x0 < x0 or box.x1 > x1 or box.y0 < y0 or box.y1 > y1:
                    continue
                if any(box.hits(t) for t in taken):
                    continue
                score = (abs(at[0] - cx) + abs(at[1] - cy), at[1], at[0])
                if best is None or score < best[0]:
                    best = (score, at)
        if best is None:
            raise SchematicLayoutError(f"schematic: no room for {ref} in block '{block.name}' ({block.title})")
        self._put(ref, best[1], orient)

    # --- things hanging off one pin ----------------------------------------------------------------------
    def mark_no_connects(self):
        for s in self._parts():
            for pin in s.pins.values():
                if pin.net is None:
                    self.no_connects.append(pin.end)
                    self.solids.append((Box.around([_mm(pin.end)], 0.8), s.block))

    def place_labels(self):
        """One label per block for each net that joins two blocks, outside the block, facing the other."""
        by_net = {}
        for s in self._parts():
            for pin in s.pins.values():
                if pin.net is not None and pin.net not in POWER_SYMBOLS:
                    by_net.setdefault(pin.net, {}).setdefault(s.block, []).append(pin)
        for net in sorted(by_net):
            blocks = by_net[net]
            if len(blocks) < 2:
                continue
            for block, pins in sorted(blocks.items()):
                others = [_centre(BY_NAME[b].region)[0] for b in blocks if b != block]
                toward = 1 if sum(others) / len(others) > _centre(BY_NAME[block].region)[0] else -1
                self._label(net, block, pins, toward)

    def _label(self, net, block, pins, toward):
        content = self._block_extent(block)
        facing = {p.out[0] for p in pins}
        if len(facing) == 1 and facing != {0}:
            toward = facing.pop()  # every pin of the net points that way: no wire around the part
        for side in (toward, -toward):
            edge = snap(content.x1 if side > 0 else content.x0) + 3 * side
            for pin in sorted(pins, key=lambda p: (-p.end[0] * side, p.end[1])):
                for dy in (0, -2, 2, -4, 4, -6, 6):
                    point = (edge, pin.end[1] + dy)
                    angle = 0 if side > 0 else 180
                    box = label_box(net, *_mm(point), angle)
                    if self._point_taken(point) or self._box_taken(box, skip=()):
                        continue
                    along = [(point[0] + side * k, point[1]) for k in range(1, snap(box.x1 - box.x0) + 2)]
                    if any(self._point_taken(p) for p in along):
                        continue
                    self.grid.pin_end[point] = net
                    self.grid.blocked.update(along)
                    self._block_mm(box)
                    self.solids.append((box, block))
                    self.labels.append((net, point, angle, block))
                    return
        raise SchematicLayoutError(f"schematic: no room for the label of net {net} in block '{block}'")

    def place_power_symbols(self):
        """A power symbol on every supply pin, except on a block's rails: one symbol, the rest wired."""
        count = 0
        rail_symbol = {}  # (block, net) → the pin that carries the rail's symbol
        for s in self._parts():
            for pin in s.pins.values():
                if pin.net in BY_NAME[s.block].rails:
                    key = (s.block, pin.net)
                    rank = (pin.out != (0, -1), pin.end[0], pin.end[1])
                    if key not in rail_symbol or rank < rail_symbol[key][0]:
                        rail_symbol[key] = (rank, pin)
        for s in self._parts():
            for number in sorted(s.pins, key=lambda n: (len(n), n)):
                pin = s.pins[number]
                if pin.net not in POWER_SYMBOLS:
                    continue
                rail = rail_symbol.get((s.block, pin.net))
                if rail and rail[1] is not pin:
                    continue
                count += 1
                self._power_symbol(f"#PWR{count:02d}", pin, s.block)

    def _power_symbol(self, ref, pin, block):
        net, lib_id = pin.net, POWER_SYMBOLS[pin.net]
        toward = (0, 1) if net == "GND" else (0, -1)  # ground hangs down, supplies point up
        e, d = pin.end, pin.out
        upright = 0
        candidates = []
        if d == toward:
            candidates += [([e, _add(e, d, k)] if k else [e], upright) for k in (0, 2, 4)]
        elif d[0] * toward[0] + d[1] * toward[1] == 0:
            candidates += [([e, _add(e, d, k)], upright) for k in (2, 3, 4, 6, 8)]
        else:
            for side in ((1, 0), (-1, 0)):
                candidates += [([e, _add(e, d, 2), _add(_add(e, d, 2), side, m)], upright) for m in (3, 4, 6)]
        candidates += [([e, _add(e, d, k)], _pointing(net, d)) for k in (2, 4, 6)]
        for path, angle in candidates:
            if self._try_power(ref, lib_id, net, block, path, Orientation(angle), pin.solid):
                return
        raise SchematicLayoutError(f"schematic: no room for the {net} symbol on pin {pin.number} at {_mm(e)} mm")

    def _try_power(self, ref, lib_id, net, block, path, orient, own_pin):
        cells = _expand(path)
        for prev, p in zip(cells, cells[1:]):
            ok, crossing = self.grid.free_for(net, p, "h" if prev[1] == p[1] else "v")
            if not ok or crossing or (p in self.grid.pin_end and p != cells[-1]) or p in self.grid.wire:
                return False
        tip = cells[-1]
        if len(cells) == 1 and tip in self.grid.wire:
            return False
        at = _mm(tip)
        pins, body = self.geometry(ref, lib_id, at, orient, {"1": net})
        value_at = _beyond(body, at, net)
        value_box = text_box(net, *value_at)
        for box in (body.grow(0.2), value_box):
            if self._box_taken(box, skip=(tip,), ignore=own_pin):
                return False
        if len(cells) > 1:
            self.grid.add_path(net, cells)
            self.wires.append((net, path, block))
            for a, b in zip(path, path[1:]):
                self.solids.append((segment_box(_mm(a), _mm(b), 0.2), block))
        else:
            self.grid.wire.setdefault(tip, {}).setdefault(net, set()).update("hv")
        self._block_mm(body, keep=tip)
        self._block_mm(value_box)
        self.solids += [(body, block), (value_box, block)]
        placed = Placed(ref, lib_id, net, at, orient, block, pins, body, "power",
                        [("Reference", ref, None), ("Value", net, value_at)])
        self.symbols[ref] = placed
        return True

    # --- wires -------------------------------------------------------------------------------------------
    def route(self):
        for block in BLOCKS:
            by_net = {}
            for s in self._parts():
                if s.block != block.name:
                    continue
                for pin in s.pins.values():
                    if pin.net is not None and (pin.net not in POWER_SYMBOLS or pin.net in block.rails):
                        by_net.setdefault(pin.net, []).append(pin.end)
            for net, point, _, label_block in self.labels:
                if label_block == block.name:
                    by_net.setdefault(net, []).insert(0, point)
            x0, y0, x1, y1 = block.region
            bounds = (snap(x0) - 2, snap(y0) - 2, snap(x1) + 2, snap(y1) + 2)
            for net in sorted(by_net, key=lambda n: (-len(by_net[n]), n)):
                terminals = by_net[net]
                if len(terminals) < 2:
                    continue
                start = terminals[0]
                rest = sorted(terminals[1:], key=lambda t: (abs(t[0] - start[0]) + abs(t[1] - start[1]), t))
                for path in route_net(self.grid, net, [start] + rest, bounds):
                    self.wires.append((net, path, block.name))
                    for a, b in zip(path, path[1:]):
                        self.solids.append((segment_box(_mm(a), _mm(b), 0.2), block.name))

    def place_junctions(self):
        """A dot wherever three or more wire ends, wire runs and pins meet on one net."""
        arms = Counter()
        for net, path, _ in self.wires:
            for a, b in zip(path, path[1:]):
                arms.update([(net, a), (net, b)])
        for s in self.symbols.values():
            arms.update((pin.net, pin.end) for pin in s.pins.values() if pin.net is not None)
        arms.update((net, point) for net, point, _, _ in self.labels)
        nodes = list(arms)
        for net, path, _ in self.wires:  # a node in the middle of a run adds the run's two arms
            for a, b in zip(path, path[1:]):
                for n, p in nodes:
                    if n == net and p not in (a, b) and _between(p, a, b):
                        arms[(n, p)] += 2
        self.junctions = sorted({p for (n, p), count in arms.items() if count >= 3})
        for p in self.junctions:
            self.solids.append((Box.around([_mm(p)], 0.6), None))
        # Break wires at their junctions, as KiCad's editor does: kicad-cli 9.0.8 leaves the pin at the far
        # end of a wire unconnected when another wire tees into the wire's middle.
        dots = set(self.junctions)
        self.wires = [(net, _break_at(path, dots), block) for net, path, block in self.wires]

    # --- text --------------------------------------------------------------------------------------------
    def place_fields(self):
        for s in self._parts():
            texts = ([("Reference", s.ref)] if s.kind == "part" else []) + [("Value", s.value)]
            anchors = self._field_spot(s, [t for _, t in texts])
            s.fields = [(name, value, at) for (name, value), at in zip(texts, anchors)]
            if s.kind == "flag":
                s.fields.insert(0, ("Reference", s.ref, None))

    def _field_spot(self, s, texts):
        body = s.body or Box.around([_mm(p.end) for p in s.pins.values()])
        widths = [text_box(t, 0, 0).x1 * 2 for t in texts]
        vertical = {p.out for p in s.pins.values()} <= {(0, 1), (0, -1)} and len(s.pins) == 2
        horizontal = {p.out for p in s.pins.values()} <= {(1, 0), (-1, 0)} and len(s.pins) == 2
        order = (["right", "left", "split", "above", "below"] if vertical else
                 ["split", "above", "below", "right", "left"] if horizontal else
                 ["above", "below", "right", "left", "split"])
        cx, cy = (body.x0 + body.x1) / 2, (body.y0 + body.y1) / 2
        n = len(texts)
        for shift_i in range(0, 9):
            shift = (shift_i + 1) // 2 * GRID * (1 if shift_i % 2 else -1)
            for side in order:
                if side == "split" and n != 2:
                    continue
                for gap in (0.8, 2.0, 3.3, 4.6, 6.0):
                    anchors = []
                    for i, w in enumerate(widths):
                        if side == "right":
                            anchors.append((body.x1 + gap + w / 2, cy + (i - (n - 1) / 2) * LINE + shift))
                        elif side == "left":
                            anchors.append((body.x0 - gap - w / 2, cy + (i - (n - 1) / 2) * LINE + shift))
                        elif side == "above":
                            anchors.append((cx + shift, body.y0 - gap - TEXT_HALF_HEIGHT * TEXT_SIZE
                                            - (n - 1 - i) * LINE))
                        elif side == "below":
                            anchors.append((cx + shift, body.y1 + gap + TEXT_HALF_HEIGHT * TEXT_SIZE + i * LINE))
                        else:
                            y = (body.y0 - gap - TEXT_HALF_HEIGHT * TEXT_SIZE if i == 0
                                 else body.y1 + gap + TEXT_HALF_HEIGHT * TEXT_SIZE)
                            anchors.append((cx + shift, y))
                    anchors = [(round(x, 2), round(y, 2)) for x, y in anchors]
                    boxes = [text_box(t, *a) for t, a in zip(texts, anchors)]
                    if not any(self._box_taken(b, skip=()) for b in boxes):
                        for b in boxes:
                            self.solids.append((b, s.block))
                        return anchors
        raise SchematicLayoutError(f"schematic: no room beside {s.ref} for its reference and value")

    def place_titles(self):
        """Each block's title above its drawing; blocks that start on the same row share the title line."""
        tops = {}
        for block in BLOCKS:
            if not any(s.block == block.name and s.kind == "part" for s in self.symbols.values()):
                continue
            content = reduce(Box.union, [b for b, owner in self.solids if owner == block.name])
            tops[block.name] = (content.x0, content.y0 - 3.0)
        row_y = {}
        for name, (_, y) in tops.items():
            row = BY_NAME[name].region[1]
            row_y[row] = min(y, row_y.get(row, y))
        self.titles = []
        for name, (x, _) in tops.items():
            title, y = BY_NAME[name].title, row_y[BY_NAME[name].region[1]]
            while True:
                box = text_box(title, x, y, TITLE_SIZE, "left", TITLE_CHAR_WIDTH)
                if not self._box_taken(box, skip=()):
                    break
                y -= GRID
            self.solids.append((box, None))
            self.titles.append(((round(x, 2), round(y + TEXT_HALF_HEIGHT * TITLE_SIZE, 2)), title))

    # --- helpers -----------------------------------------------------------------------------------------
    def _parts(self):
        return [s for ref, s in sorted(self.symbols.items()) if s.kind != "power"]

    def _block_extent(self, block):
        boxes = [self.footprint(s) for s in self.symbols.values() if s.block == block and s.kind != "power"]
        return reduce(Box.union, [b for b in boxes if b is not None])

    def _point_taken(self, p):
        return p in self.grid.blocked or p in self.grid.pin_line or p in self.grid.pin_end or p in self.grid.wire

    def _box_taken(self, box, skip, ignore=None):
        """Does `box` come within CLEAR of anything drawn (but `ignore`, the pin a power symbol sits on)?"""
        if any(box.hits(other, CLEAR) for other, _ in self.solids if other is not ignore):
            return True
        x0, y0, x1, y1 = snap(box.x0 - 0.6), snap(box.y0 - 0.6), snap(box.x1 + 0.6), snap(box.y1 + 0.6)
        for gx in range(x0, x1 + 1):
            for gy in range(y0, y1 + 1):
                p = (gx, gy)
                if p in skip or not (p in self.grid.pin_end or p in self.grid.wire or p in self.grid.pin_line):
                    continue
                if box.hits(Box.around([_mm(p)], 0.0), CLEAR):
                    return True
        return False

    def _block_mm(self, box, keep=None):
        self.grid.block_box(box.x0 / GRID, box.y0 / GRID, box.x1 / GRID, box.y1 / GRID, keep)

    def draw(self):
        self.place_parts()
        self.mark_no_connects()
        self.place_labels()
        self.place_power_symbols()
        self.route()
        self.place_junctions()
        self.place_fields()
        self.place_titles()
        return self


def _mm(p):
    return mm(p[0]), mm(p[1])


def _centre(region):
    return (region[0] + region[2]) / 2, (region[1] + region[3]) / 2


def _between(p, a, b):
    if a[0] == b[0] == p[0]:
        return min(a[1], b[1]) < p[1] < max(a[1], b[1])
    if a[1] == b[1] == p[1]:
        return min(a[0], b[0]) < p[0] < max(a[0], b[0])
    return False


def _break_at(path, points):
    """The polyline with every point of `points` that lies inside one of its segments made a vertex."""
    out = [path[0]]
    for a, b in zip(path, path[1:]):
        inside = sorted((p for p in points if _between(p, a, b)), key=lambda p: abs(p[0] - a[0]) + abs(p[1] - a[1]))
        out += inside + [b]
    return out


def _two_pin_angle(nets):
    """Two-pin parts: vertical with supply up and ground down; in series (no supply) horizontal."""
    n1, n2 = nets.get("1"), nets.get("2")
    if n1 == "GND" or (n2 in POWER_SYMBOLS and n2 != "GND"):
        return 180
    if n2 == "GND" or n1 in POWER_SYMBOLS:
        return 0
    return 90


def _pointing(net, d):
    """Rotation of a power symbol whose body points along `d` (ground's body points down unrotated)."""
    if net == "GND":
        return {(0, 1): 0, (1, 0): 90, (0, -1): 180, (-1, 0): 270}[d]
    return {(0, -1): 0, (-1, 0): 90, (0, 1): 180, (1, 0): 270}[d]


def _beyond(body, at, net):
    """Where a power symbol's value goes: past the tip of its body, away from the pin."""
    cx, cy = (body.x0 + body.x1) / 2, (body.y0 + body.y1) / 2
    dx, dy = cx - at[0], cy - at[1]
    half_h = TEXT_HALF_HEIGHT * TEXT_SIZE
    w = text_box(net, 0, 0).x1
    if abs(dy) >= abs(dx):
        y = body.y1 + 0.6 + half_h if dy > 0 else body.y0 - 0.6 - half_h
        return round(at[0], 2), round(y, 2)
    x = body.x1 + 0.6 + w if dx > 0 else body.x0 - 0.6 - w
    return round(x, 2), round(at[1], 2)
