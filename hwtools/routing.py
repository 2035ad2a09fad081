"""Deterministic two-layer maze routing: every track written by code, the same every run.

Why not an autorouter package: the Python FreeRouting port (`freeroute`) left shorts and clearance
violations on this board with every engine (tried more than once), and no Java router is
reachable. A grid router is enough for a through-hole board with fifteen nets, and every segment it
writes is checked by KiCad's own DRC afterwards.

How it works: the board is a grid of cells on F.Cu and B.Cu. Copper of a net (pads, tracks, vias)
claims the cells within `copper + clearance + widest track/2` for itself, so another net's track
centre line can never come closer than the clearance. Nets are routed one after another (power first),
each pad joined to the growing tree by an A* search with costs for length, turns, vias and the bottom
layer (B.Cu belongs to the GND pour). What a careful person lays, the search lays by construction:
- only 0°/45°/90° segments: tracks start and end on cell centres inside the pads' copper, never on an
  off-grid pad centre, and move in the eight grid directions;
- no jog shorter than two cells (≥ 0.5 mm ... 0.64 mm) except the first and last piece, which touch a pad;
  no turn sharper than 90°;
- no track along its own net's tree (cells of the tree are sources only), so nothing overlaps;
- on F.Cu, no track under a through-hole part's body unless the net has a pad on that part (`bodies`);
- vias only where a precomputed per-net map allows them: off foreign copper, outside every courtyard and
  silkscreen item (`via_keepouts`).
GND is not routed as tracks: `ground_islands()` finds the GND pads the B.Cu pour cannot reach, and only those
get a track (`route_to_pour()`).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from . import routing_loops
from .errors import HwtoolsError
from .fabrules import (DESIGN_CLEARANCE_MM, DESIGN_VIA_DIAMETER_MM, EDGE_CLEARANCE_MM, NPTH_CLEARANCE_MM,
                       POUR_CLEARANCE_MM, TRACK_POWER_MM, TRACK_SIGNAL_MM)

GRID_MM = 0.3175  # 1/8 of 2.54 mm
WIDEST_TRACK_MM = max(TRACK_SIGNAL_MM, TRACK_POWER_MM)  # every keep-out is sized for it
VIA_COST = 12.0  # in cells of length
TURN_COST = 1.5  # per 45° of turn
BOTTOM_COST = 1.6  # a cell on B.Cu costs this much more than on F.Cu: the bottom is the GND pour's
LAYERS = ("F.Cu", "B.Cu")
INSIDE_PAD_MM = 0.05  # a track ends this far inside its pad's copper, at least

BLOCKED = -1  # a cell no net may use (board edge, holes, two nets' keep-outs overlapping)
_DIRS = [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)]  # 45° apart, in order
NO_DIR, AT_PAD = 8, 9  # modes of a search state at a source: on a track or via, or in a pad


class RoutingError(HwtoolsError):
    pass


@dataclass
class Pad:
    ref: str
    number: str
    net: str
    x: float  # mm, board coordinates
    y: float
    width: float  # copper extent along x and y (mm)
    height: float
    round: bool = True
    layers: tuple = (0, 1)  # indices into LAYERS the pad's copper is on: both for through-hole, (0,) for SMD

    def distance(self, X, Y):
        """Distance (mm) of points from the pad's copper, <= 0 inside (rectangles: conservatively their box)."""
        if self.round:
            return np.hypot(X - self.x, Y - self.y) - self.width / 2
        dx = np.maximum(np.abs(X - self.x) - self.width / 2, 0.0)
        dy = np.maximum(np.abs(Y - self.y) - self.height / 2, 0.0)
        inside = np.minimum(self.width / 2 - np.abs(X - self.x), self.height / 2 - np.abs(Y - self.y))
        return np.where((dx == 0) & (dy == 0), -inside, np.hypot(dx, dy))

    def box(self, margin=0.0):
        return (self.x - self.width / 2 - margin, self.y - self.height / 2 - margin,
                self.x + self.width / 2 + margin, self.y + self.height / 2 + margin)


@dataclass
class Body:
    """A through-hole part's body (convex polygon, board mm): F.Cu of nets without a pad on it stays out."""
    ref: str
    hull: list
    nets: frozenset


@dataclass
class Segment:
    net: str
    layer: str
    start: tuple
    end: tuple
    width: float


@dataclass
class Via:
    net: str
    at: tuple


@dataclass
class Routes:
    segments: list = field(default_factory=list)
    vias: list = field(default_factory=list)
    pour_tracks: list = field(default_factory=list)  # "ref.pad" of GND pads joined to the pour by a track


def segment_distance(X, Y, a, b):
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else np.clip(((X - ax) * dx + (Y - ay) * dy) / length2, 0.0, 1.0)
    return np.hypot(X - ax - t * dx, Y - ay - t * dy)


def polygon_distance(X, Y, hull):
    """Signed distance from a convex polygon: negative inside (compiled: hwtools/routing_loops.py)."""
    return routing_loops.polygon_distance(X, Y, np.asarray(hull, dtype=np.float64))


class Grid:
    def __init__(self, width_mm, height_mm):
        self.nx = int(width_mm / GRID_MM) + 1
        self.ny = int(height_mm / GRID_MM) + 1
        # owner per layer: 0 free, BLOCKED, or a net id > 0
        self.owner = np.zeros((len(LAYERS), self.ny, self.nx), dtype=np.int32)
        # every cell's centre, made once: windows are slices
        self.X, self.Y = np.meshgrid(np.arange(self.nx) * GRID_MM, np.arange(self.ny) * GRID_MM)
        self.X.flags.writeable = self.Y.flags.writeable = False

    def cell(self, x, y):
        return min(self.nx - 1, max(0, round(x / GRID_MM))), min(self.ny - 1, max(0, round(y / GRID_MM)))

    def centre(self, ix, iy):
        return ix * GRID_MM, iy * GRID_MM

    def window(self, box, margin):
        """Slices and coordinate arrays of the cells within `margin` of box (x0, y0, x1, y1)."""
        ix0, iy0 = self.cell(box[0] - margin, box[1] - margin)
        ix1, iy1 = self.cell(box[2] + margin, box[3] + margin)
        sl = (slice(iy0, iy1 + 1), slice(ix0, ix1 + 1))
        return sl, self.X[sl], self.Y[sl]

    def claim(self, layer, net_id, distance, box, radius):
        """Give every cell within `radius` of some copper (distance(X, Y) in mm) to `net_id`."""
        sl, X, Y = self.window(box, radius)
        near = distance(X, Y) <= radius
        owner = self.owner[layer][sl]
        owner[near & (owner == 0)] = net_id
        owner[near & (owner != net_id)] = BLOCKED



def _dilate(mask, r):
    """Cells within a (2r+1)² square of a True cell."""
    out = mask.copy()
    ny, nx = mask.shape
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx or dy:
                out[max(dy, 0):ny + min(dy, 0), max(dx, 0):nx + min(dx, 0)] |= \
                    mask[max(-dy, 0):ny + min(-dy, 0), max(-dx, 0):nx + min(-dx, 0)]
    return out


class Router:
    def __init__(self, width_mm, height_mm, pads, holes, track_width, bodies=(), via_keepouts=()):
        """`pads`: list of Pad; `holes`: list of (x, y, diameter) NPTH; `track_width`: net → mm;
        `bodies`: Body list; `via_keepouts`: convex polygons (courtyards, silk boxes) no via may touch."""
        if problem := routing_loops.not_compiled():
            raise RoutingError(problem)
        self.grid = g = Grid(width_mm, height_mm)
        self.pads = pads
        self.track_width = track_width
        self.bodies = list(bodies)
        self.net_ids = {name: i + 1 for i, name in enumerate(sorted({p.net for p in pads}))}
        self.routes = Routes()
        edge = EDGE_CLEARANCE_MM + WIDEST_TRACK_MM / 2
        g.owner[:, (g.X < edge) | (g.Y < edge) | (g.X > width_mm - edge) | (g.Y > height_mm - edge)] = BLOCKED
        for x, y, diameter in holes:
            for layer in range(len(LAYERS)):
                r = diameter / 2
                g.claim(layer, BLOCKED, lambda X, Y, x=x, y=y, r=r: np.hypot(X - x, Y - y) - r,
                        (x - r, y - r, x + r, y + r), NPTH_CLEARANCE_MM + WIDEST_TRACK_MM / 2)
        keep = DESIGN_CLEARANCE_MM + WIDEST_TRACK_MM / 2
        for pad in pads:
            for layer in pad.layers:
                g.claim(layer, self.net_ids[pad.net], pad.distance, pad.box(), keep)
        # where a via's copper may sit at all, whatever the net: off pads, courtyards and silkscreen
        via_r = DESIGN_VIA_DIAMETER_MM / 2
        self.via_static = np.ones((g.ny, g.nx), dtype=bool)
        for pad in pads:
            sl, X, Y = g.window(pad.box(), via_r + DESIGN_CLEARANCE_MM)
            self.via_static[sl] &= pad.distance(X, Y) > via_r + DESIGN_CLEARANCE_MM
        for hull in via_keepouts:
            xs, ys = [p[0] for p in hull], [p[1] for p in hull]
            sl, X, Y = g.window((min(xs), min(ys), max(xs), max(ys)), via_r + 0.05)
            self.via_static[sl] &= polygon_distance(X, Y, hull) > via_r + 0.05
        self._move_arrays = routing_loops.move_arrays(self._moves())
        self._scratch = routing_loops.scratch(2 * g.nx * g.ny * (AT_PAD + 1))
        self._body_cache = {}

    # --- claims -----------------------------------------------------------------------------------
    def _claim_segment(self, net_id, layer, a, b, width):
        keep = width / 2 + DESIGN_CLEARANCE_MM + WIDEST_TRACK_MM / 2
        box = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
        self.grid.claim(layer, net_id, lambda X, Y: segment_distance(X, Y, a, b), box, keep)

    def _claim_via(self, net_id, at):
        keep = DESIGN_VIA_DIAMETER_MM / 2 + DESIGN_CLEARANCE_MM + WIDEST_TRACK_MM / 2
        for layer in range(len(LAYERS)):
            self.grid.claim(layer, net_id, lambda X, Y: np.hypot(X - at[0], Y - at[1]), (*at, *at), keep)

    # --- per-net maps -----------------------------------------------------------------------------
    def _passable(self, net_id, net, width):
        """Per layer, a bytes map: 1 where this net's centre line may go."""
        g = self.grid
        free = (g.owner == 0) | (g.owner == net_id)
        front = free[0] & self._body_free(net, width)
        return [bytearray(front.astype(np.uint8).tobytes()), bytearray(free[1].astype(np.uint8).tobytes())]

    def _body_free(self, net, width):
        """F.Cu cells outside the bodies of through-hole parts this net has no pad on (cached per net)."""
        key = (net, width)
        if key not in self._body_cache:
            g = self.grid
            ok = np.ones((g.ny, g.nx), dtype=bool)
            margin = width / 2 + 0.05
            for body in self.bodies:
                if net in body.nets:
                    continue
                xs, ys = [p[0] for p in body.hull], [p[1] for p in body.hull]
                sl, X, Y = g.window((min(xs), min(ys), max(xs), max(ys)), margin)
                ok[sl] &= polygon_distance(X, Y, body.hull) > margin
            self._body_cache[key] = ok
        return self._body_cache[key]

    def _via_allowed(self, net_id):
        """Cells where this net may drop a via: the static map, minus foreign copper on either layer nearby."""
        g = self.grid
        foreign = ((g.owner != 0) & (g.owner != net_id)).any(axis=0)
        r = math.ceil((DESIGN_VIA_DIAMETER_MM / 2) / GRID_MM)
        return bytearray((self.via_static & ~_dilate(foreign, r)).astype(np.uint8).tobytes())

    def _pad_keys(self, pad):
        """(layer, k) of the cells whose centre lies inside the pad's copper (where a track may end in it), on each
        of the pad's layers."""
        g = self.grid
        sl, X, Y = g.window(pad.box(), 0.0)
        iys, ixs = np.nonzero(pad.distance(X, Y) <= -INSIDE_PAD_MM)
        cells = [(int(ix + sl[1].start), int(iy + sl[0].start)) for iy, ix in zip(iys, ixs)]
        if not cells:
            cells = [g.cell(pad.x, pad.y)]
        return [(layer, iy * g.nx + ix) for ix, iy in cells for layer in pad.layers]

    # --- search -----------------------------------------------------------------------------------
    def _moves(self):
        """Per layer and per mode (the direction of the last step, or NO_DIR / AT_PAD at a source): the
        moves allowed next as (cell offset, double, diagonal side offsets or 0, cost, next mode).

        A new direction always starts with a double step, so every segment that ends in a turn or a via spans
        at least two cells; only a piece leaving a pad (AT_PAD) or entering its target may be shorter."""
        nx = self.grid.nx
        tables = []
        for layer_cost in (1.0, BOTTOM_COST):
            table = []
            for d in range(AT_PAD + 1):
                moves = []
                for nd, (dx, dy) in enumerate(_DIRS):
                    if d == AT_PAD or nd == d:
                        turn, double = 0, False
                    elif d == NO_DIR:
                        turn, double = 0, True
                    else:
                        turn, double = min((nd - d) % 8, (d - nd) % 8), True
                        if turn > 2:
                            continue  # no acute corner
                    step = (math.sqrt(2) if dx and dy else 1.0) * layer_cost
                    sides = (dx, dy * nx) if dx and dy else (0, 0)
                    moves.append((dy * nx + dx, double, sides[0], sides[1],
                                  step * (2 if double else 1) + turn * TURN_COST, step + turn * TURN_COST, nd))
                table.append(moves)
            tables.append(table)
        return tables

    def _target_mask(self, cells=(), layer=None, mask=None):
        """The search's targets, one flag per (layer, cell): the (layer, k) of `cells`, and every cell of `layer`
        where the 2-D boolean `mask` is set."""
        n_cells = self.grid.nx * self.grid.ny
        is_target = np.zeros(2 * n_cells, dtype=np.uint8)
        for lay, k in cells:
            is_target[lay * n_cells + k] = 1
        if mask is not None:
            is_target[layer * n_cells + np.flatnonzero(mask)] = 1
        return is_target

    def _search(self, net_id, passable, via_ok, sources, is_target, h):
        """A* over states (layer, cell, mode), each one int (compiled: hwtools/routing_loops.py).
        `sources`: {(layer, k): at_pad}; `is_target`: `_target_mask()`. Returns [(layer, k), ...] or None."""
        n_cells = self.grid.nx * self.grid.ny
        modes = AT_PAD + 1
        states = np.array([(layer * n_cells + k) * modes + (AT_PAD if at_pad else NO_DIR)
                           for (layer, k), at_pad in sorted(sources.items())], dtype=np.int64)
        pas = np.stack([np.frombuffer(passable[0], dtype=np.uint8), np.frombuffer(passable[1], dtype=np.uint8)])
        states = routing_loops.search(n_cells, modes, NO_DIR, VIA_COST, *self._move_arrays, pas,
                              np.frombuffer(via_ok, dtype=np.uint8), states, is_target,
                              np.asarray(h, dtype=np.float64), *self._scratch)
        return self._cells(states.tolist(), modes, n_cells) if len(states) else None

    def _cells(self, states, modes, n_cells):
        """The path's states as [(layer, k)], the middle cell of each double step filled in."""
        bases = [s // modes for s in states]
        path = [divmod(bases[0], n_cells)]
        for prev, cur in zip(bases, bases[1:]):
            layer, k = divmod(cur, n_cells)
            a, nx = prev % n_cells, self.grid.nx
            if layer == path[-1][0] and not (abs(a % nx - k % nx) <= 1 and abs(a // nx - k // nx) <= 1):
                path.append((layer, (prev % n_cells + k) // 2))
            path.append((layer, k))
        return path

    def route_net(self, net):
        pads = sorted((p for p in self.pads if p.net == net), key=lambda p: (p.ref, p.number))
        if len(pads) < 2:
            return
        net_id, width = self.net_ids[net], self.track_width(net)
        g = self.grid
        via_ok = self._via_allowed(net_id)
        sources = dict.fromkeys(self._pad_keys(pads[0]), True)  # (layer, k) -> at a pad
        tracks = set()  # (layer, k) of this net's track cells: sources, never stepped on again
        remaining = pads[1:]
        while remaining:
            target_of = {key: p for p in remaining for key in self._pad_keys(p)}
            passable = self._passable(net_id, net, width)
            for layer, k in tracks:
                passable[layer][k] = 0
            # admissible: octile distance (cells) to the nearest target pad's box, ignoring obstacles
            targets = np.array([p.box(-INSIDE_PAD_MM) for p in remaining], dtype=np.float64)
            h = routing_loops.octile_heuristic(g.X, g.Y, targets, GRID_MM)
            path = self._search(net_id, passable, via_ok, sources, self._target_mask(target_of), h)
            if path is None:
                names = ", ".join(f"{p.ref}.{p.number}" for p in remaining)
                raise RoutingError(f"net {net}: no route to {names} — move parts apart or widen the board")
            reached = target_of[path[-1]]
            remaining.remove(reached)
            self._commit(net, net_id, path, width)
            for layer, k in path:
                if (layer, k) not in sources:
                    tracks.add((layer, k))
                    sources[(layer, k)] = False
            sources.update(dict.fromkeys(self._pad_keys(reached), True))

    def _commit(self, net, net_id, path, width):
        """Turn cell steps into straight segments and vias, claim their keep-outs."""
        nx = self.grid.nx
        pts = [(layer, self.grid.centre(k % nx, k // nx)) for layer, k in path]
        run = 0
        for i in range(1, len(pts)):
            if pts[i][0] != pts[i - 1][0]:
                self._add_segment(net, net_id, pts[run][0], pts[run][1], pts[i - 1][1], width)
                self.routes.vias.append(Via(net, pts[i][1]))
                self._claim_via(net_id, pts[i][1])
                run = i
            elif i >= run + 2 and _direction(pts[i - 2][1], pts[i - 1][1]) != _direction(pts[i - 1][1], pts[i][1]):
                self._add_segment(net, net_id, pts[run][0], pts[run][1], pts[i - 1][1], width)
                run = i - 1
        self._add_segment(net, net_id, pts[run][0], pts[run][1], pts[-1][1], width)

    def _add_segment(self, net, net_id, layer, a, b, width):
        if math.dist(a, b) < 1e-6:
            return
        self.routes.segments.append(Segment(net, LAYERS[layer], (round(a[0], 4), round(a[1], 4)),
                                            (round(b[0], 4), round(b[1], 4)), width))
        self._claim_segment(net_id, layer, a, b, width)

    # --- ground: the pour, and tracks only where it cannot reach -----------------------------------
    def pour_region(self, net):
        """Cells of the B.Cu pour (approximated on the grid) that connect to the largest piece of it."""
        g = self.grid
        net_id = self.net_ids[net]
        # the pour keeps POUR_CLEARANCE from foreign copper; owner cells mark DESIGN_CLEARANCE + WIDEST/2 around it
        free = (g.owner[1] == 0) | (g.owner[1] == net_id)
        free = ~_dilate(~free, max(0, math.ceil((POUR_CLEARANCE_MM - DESIGN_CLEARANCE_MM) / GRID_MM)))
        labels = routing_loops.components(free)
        if labels.max() == 0:
            return np.zeros_like(free)
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        return labels == int(sizes.argmax())

    def ground_islands(self, net):
        """The net's pads the B.Cu pour does not reach (sorted): cut off by other nets' B.Cu copper, or not
        on B.Cu at all (SMD pads on the top)."""
        region = self.pour_region(net)
        g = self.grid
        cut = []
        for pad in sorted((p for p in self.pads if p.net == net), key=lambda p: (p.ref, p.number)):
            sl, X, Y = g.window(pad.box(), 2 * GRID_MM)
            ring = (pad.distance(X, Y) > 0) & (pad.distance(X, Y) <= 2 * GRID_MM)
            if 1 not in pad.layers or int((region[sl] & ring).sum()) < 4:  # thermal spokes need pour around
                cut.append(pad)
        return cut

    def route_to_pour(self, net):
        """Join every pad the pour cannot reach to it with a track (and a via onto B.Cu where needed)."""
        net_id, width = self.net_ids[net], self.track_width(net)
        g = self.grid
        for pad in self.ground_islands(net):
            targets = self._target_mask(layer=1, mask=~_dilate(~self.pour_region(net), 2))  # eroded by 2 cells
            passable = self._passable(net_id, net, width)
            sources = dict.fromkeys(self._pad_keys(pad), True)
            h = np.zeros(g.nx * g.ny)  # many scattered targets: plain Dijkstra, admissible by definition
            path = self._search(net_id, passable, self._via_allowed(net_id), sources, targets, h)
            if path is None:
                raise RoutingError(f"net {net}: the pour cannot reach {pad.ref}.{pad.number} and no track can")
            self._commit(net, net_id, path, width)
            self.routes.pour_tracks.append(f"{pad.ref}.{pad.number}")


def _direction(a, b):
    dx, dy = b[0] - a[0], b[1] - a[1]
    return (round(math.copysign(1, dx)) if abs(dx) > 1e-9 else 0, round(math.copysign(1, dy)) if abs(dy) > 1e-9 else 0)
