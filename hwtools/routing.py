"""Deterministic two-layer maze routing: every track written by code, the same every run.

Why not an autorouter package: the Python FreeRouting port (`freeroute`) left shorts and clearance
violations on this board with every engine (tried more than once), and no Java router is
reachable. A grid router is enough for a through-hole board with fifteen nets, and every segment it
writes is checked by KiCad's own DRC afterwards.

How it works: the board is a grid of cells on F.Cu and B.Cu. Copper of a net (pads, tracks, vias)
claims the cells within `copper + clearance + widest track/2` for itself, so another net's track
centre line can never come closer than the clearance. Nets are routed one after another (power first),
each pad joined to the growing tree by an A* search with costs for length, turns and vias.
"""

import heapq
import math
from dataclasses import dataclass, field

from . import fabrules

GRID_MM = 0.3175  # 1/8 of 2.54 mm: pads on the 2.54 mm grid sit on cell centres
CLEARANCE_MM = 0.2  # our own, above AISLER's 0.15 mm
EDGE_CLEARANCE_MM = fabrules.EDGE_CLEARANCE_MM
NPTH_CLEARANCE_MM = fabrules.NPTH_CLEARANCE_MM
WIDEST_TRACK_MM = 0.5
VIA_DIAMETER_MM, VIA_DRILL_MM = 0.8, 0.4
VIA_COST, TURN_COST = 25.0, 2.0
LAYERS = ("F.Cu", "B.Cu")

BLOCKED = -1  # a cell no net may use (board edge, holes, two nets' keep-outs overlapping)


class RoutingError(Exception):
    pass


@dataclass
class Pad:
    ref: str
    number: str
    net: str
    x: float  # mm, board coordinates
    y: float
    shape: object  # callable (x, y) -> distance in mm from the pad's copper (<= 0 inside)


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


_DIRS = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)]


class Grid:
    def __init__(self, width_mm, height_mm):
        self.nx = int(width_mm / GRID_MM) + 1
        self.ny = int(height_mm / GRID_MM) + 1
        self.width, self.height = width_mm, height_mm
        # owner per layer: 0 free, BLOCKED, or a net id > 0
        self.owner = [[0] * (self.nx * self.ny) for _ in LAYERS]

    def cell(self, x, y):
        return min(self.nx - 1, max(0, round(x / GRID_MM))), min(self.ny - 1, max(0, round(y / GRID_MM)))

    def centre(self, ix, iy):
        return ix * GRID_MM, iy * GRID_MM

    def claim(self, layer, net_id, distance, box, radius):
        """Give every cell within `radius` of some copper (distance function) to `net_id`."""
        x0, y0, x1, y1 = box
        ix0, iy0 = self.cell(x0 - radius, y0 - radius)
        ix1, iy1 = self.cell(x1 + radius, y1 + radius)
        owner = self.owner[layer]
        for iy in range(iy0, iy1 + 1):
            for ix in range(ix0, ix1 + 1):
                if distance(ix * GRID_MM, iy * GRID_MM) <= radius:
                    k = iy * self.nx + ix
                    current = owner[k]
                    if current == 0:
                        owner[k] = net_id
                    elif current != net_id:
                        owner[k] = BLOCKED

    def block_edges(self, margin):
        for layer in range(len(LAYERS)):
            owner = self.owner[layer]
            for iy in range(self.ny):
                for ix in range(self.nx):
                    x, y = ix * GRID_MM, iy * GRID_MM
                    if x < margin or y < margin or x > self.width - margin or y > self.height - margin:
                        owner[iy * self.nx + ix] = BLOCKED


def segment_distance(ax, ay, bx, by):
    """Distance function of a straight segment (its centre line)."""
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy

    def distance(x, y):
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length2))
        return math.hypot(x - ax - t * dx, y - ay - t * dy)

    return distance


class Router:
    def __init__(self, width_mm, height_mm, pads, holes, track_width):
        """`pads`: list of Pad; `holes`: list of (x, y, diameter) NPTH; `track_width`: net → mm."""
        self.grid = Grid(width_mm, height_mm)
        self.pads = pads
        self.track_width = track_width
        self.net_ids = {name: i + 1 for i, name in enumerate(sorted({p.net for p in pads}))}
        self.routes = Routes()
        self.grid.block_edges(EDGE_CLEARANCE_MM + WIDEST_TRACK_MM / 2)
        keep = CLEARANCE_MM + WIDEST_TRACK_MM / 2
        for x, y, diameter in holes:
            for layer in range(len(LAYERS)):
                self.grid.claim(layer, BLOCKED, lambda px, py, x=x, y=y, r=diameter / 2: math.hypot(px - x, py - y) - r,
                                (x, y, x, y), NPTH_CLEARANCE_MM + WIDEST_TRACK_MM / 2 + diameter / 2)
        for pad in pads:
            net_id = self.net_ids[pad.net]
            for layer in range(len(LAYERS)):
                self.grid.claim(layer, net_id, pad.shape, (pad.x - 2.5, pad.y - 2.5, pad.x + 2.5, pad.y + 2.5), keep)

    def _claim_segment(self, net, layer, a, b, width):
        keep = width / 2 + CLEARANCE_MM + WIDEST_TRACK_MM / 2
        box = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
        self.grid.claim(layer, self.net_ids[net], segment_distance(*a, *b), box, keep)

    def _claim_via(self, net, at):
        keep = VIA_DIAMETER_MM / 2 + CLEARANCE_MM + WIDEST_TRACK_MM / 2
        for layer in range(len(LAYERS)):
            self.grid.claim(layer, self.net_ids[net], lambda x, y: math.hypot(x - at[0], y - at[1]),
                            (at[0], at[1], at[0], at[1]), keep)

    def _search(self, net_id, sources, targets):
        """A* from any source state to any target cell; returns the list of (layer, ix, iy)."""
        g = self.grid
        nx = g.nx
        owner = g.owner

        def free(layer, ix, iy):
            if not (0 <= ix < nx and 0 <= iy < g.ny):
                return False
            o = owner[layer][iy * nx + ix]
            return o == 0 or o == net_id

        target_cells = list(targets)

        def heuristic(ix, iy):
            best = math.inf
            for tx, ty in target_cells:
                dx, dy = abs(ix - tx), abs(iy - ty)
                best = min(best, max(dx, dy) + 0.41421356 * min(dx, dy))
            return best

        open_heap, counter = [], 0
        best_cost, parent = {}, {}
        for layer, ix, iy in sources:
            state = (layer, ix, iy, -1)
            best_cost[state] = 0.0
            parent[state] = None
            heapq.heappush(open_heap, (heuristic(ix, iy), counter, 0.0, state))
            counter += 1
        targets = set(targets)
        while open_heap:
            _, _, cost, state = heapq.heappop(open_heap)
            if cost > best_cost.get(state, math.inf):
                continue
            layer, ix, iy, d = state
            if (ix, iy) in targets:
                path = []
                while state is not None:
                    path.append(state[:3])
                    state = parent[state]
                return path[::-1]
            moves = []
            for nd, (dx, dy) in enumerate(_DIRS):
                jx, jy = ix + dx, iy + dy
                if not free(layer, jx, jy):
                    continue
                if dx and dy and not (free(layer, ix + dx, iy) and free(layer, ix, iy + dy)):
                    continue  # no corner cutting: the diagonal's midpoint keeps its clearance
                step = 1.41421356 if dx and dy else 1.0
                turn = TURN_COST if d not in (-1, nd) else 0.0
                moves.append((layer, jx, jy, nd, step + turn))
            other = 1 - layer
            if self._via_fits(net_id, ix, iy):
                moves.append((other, ix, iy, -1, VIA_COST))
            for nl, jx, jy, nd, step in moves:
                nstate = (nl, jx, jy, nd)
                ncost = cost + step
                if ncost < best_cost.get(nstate, math.inf):
                    best_cost[nstate] = ncost
                    parent[nstate] = state
                    heapq.heappush(open_heap, (ncost + heuristic(jx, jy), counter, ncost, nstate))
                    counter += 1
        return None

    def _via_fits(self, net_id, ix, iy):
        """A via needs its whole pad's keep-out free on both layers."""
        r = math.ceil((VIA_DIAMETER_MM / 2) / GRID_MM)
        g = self.grid
        for layer in range(len(LAYERS)):
            for jy in range(iy - r, iy + r + 1):
                for jx in range(ix - r, ix + r + 1):
                    if not (0 <= jx < g.nx and 0 <= jy < g.ny):
                        return False
                    o = g.owner[layer][jy * g.nx + jx]
                    if o != 0 and o != net_id:
                        return False
        return True

    def route_net(self, net):
        pads = sorted((p for p in self.pads if p.net == net), key=lambda p: (p.ref, p.number))
        if len(pads) < 2:
            return
        net_id, width = self.net_ids[net], self.track_width(net)
        pad_at = {self.grid.cell(pads[0].x, pads[0].y): pads[0]}
        tree = {(layer, *self.grid.cell(pads[0].x, pads[0].y)) for layer in range(len(LAYERS))}
        remaining = pads[1:]
        while remaining:
            targets = {self.grid.cell(p.x, p.y): p for p in remaining}
            path = self._search(net_id, sorted(tree), sorted(targets))
            if path is None:
                names = ", ".join(f"{p.ref}.{p.number}" for p in remaining)
                raise RoutingError(f"net {net}: no route to {names} — move parts apart or widen the board")
            reached = targets[path[-1][1:]]
            remaining.remove(reached)
            self._commit(net, path, width, pad_at.get(path[0][1:]), reached)
            pad_at[path[-1][1:]] = reached
            tree.update(path)
            tree.update((layer, *path[-1][1:]) for layer in range(len(LAYERS)))

    def _commit(self, net, path, width, start_pad, end_pad):
        """Turn cell steps into straight segments and vias, claim their keep-outs."""
        pts = [(layer, self.grid.centre(ix, iy)) for layer, ix, iy in path]
        # a pad's centre may sit beside its cell's centre: join them (inside the pad's copper)
        if start_pad is not None:
            self._add_segment(net, pts[0][0], (start_pad.x, start_pad.y), pts[0][1], width)
        run = 0
        for i in range(1, len(pts)):
            if pts[i][0] != pts[i - 1][0]:
                self._add_segment(net, pts[run][0], pts[run][1], pts[i - 1][1], width)
                self.routes.vias.append(Via(net, pts[i][1]))
                self._claim_via(net, pts[i][1])
                run = i
            elif i >= run + 2 and _direction(pts[i - 2][1], pts[i - 1][1]) != _direction(pts[i - 1][1], pts[i][1]):
                self._add_segment(net, pts[run][0], pts[run][1], pts[i - 1][1], width)
                run = i - 1
        self._add_segment(net, pts[run][0], pts[run][1], pts[-1][1], width)
        self._add_segment(net, pts[-1][0], pts[-1][1], (end_pad.x, end_pad.y), width)

    def _add_segment(self, net, layer, a, b, width):
        if math.dist(a, b) < 1e-6:
            return
        self.routes.segments.append(Segment(net, LAYERS[layer], (round(a[0], 4), round(a[1], 4)),
                                            (round(b[0], 4), round(b[1], 4)), width))
        self._claim_segment(net, layer, a, b, width)


def _direction(a, b):
    dx, dy = b[0] - a[0], b[1] - a[1]
    return (round(math.copysign(1, dx)) if abs(dx) > 1e-9 else 0, round(math.copysign(1, dy)) if abs(dy) > 1e-9 else 0)
