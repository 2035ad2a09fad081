"""A deterministic orthogonal wire router on the 1.27 mm grid (whole grid steps, y down).

Rules a reader relies on: a wire never runs over a pin it does not connect to (it would connect it) or
through a symbol body; two nets never share a stretch of wire or a wire end; where they must cross, the
crossing is straight through (no corner, so KiCad does not join them) and costs dearly, so routes go
around when they can. A net is grown as a tree: each new branch runs from the nearest point already
drawn to the nearest pin not yet reached (A* with a cost for every bend).
"""

import heapq
import math

from ..errors import HwtoolsError

STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1))
BEND_COST = 4
CROSS_COST = 25


class WireRoutingError(HwtoolsError):
    """A schematic wire that cannot be drawn (names the net and the pin)."""


class WireGrid:
    """The schematic's 1.27 mm grid: what occupies each grid point: bodies and texts (blocked), pins, and the wires drawn so far."""

    def __init__(self):
        self.blocked = set()
        self.pin_end = {}  # point → net, None for a no-connect pin
        self.pin_line = set()  # points along a pin, its end excluded
        self.wire = {}  # point → {net: set of "h"/"v"}; a wire end or corner holds both

    def block_box(self, x0, y0, x1, y1, keep=None):
        """Block every grid point inside a box given in grid units (floats allowed), but `keep`."""
        for x in range(math.ceil(x0 - 1e-6), math.floor(x1 + 1e-6) + 1):
            for y in range(math.ceil(y0 - 1e-6), math.floor(y1 + 1e-6) + 1):
                if (x, y) != keep:
                    self.blocked.add((x, y))

    def add_path(self, net, points):
        """Record a polyline (grid points, consecutive ones adjacent or collinear) as wire of `net`."""
        cells = _expand(points)
        for i, p in enumerate(cells):
            kinds = self.wire.setdefault(p, {}).setdefault(net, set())
            if i in (0, len(cells) - 1):
                kinds.update("hv")
                continue
            before, after = cells[i - 1], cells[i + 1]
            if before[0] == after[0]:
                kinds.add("v")
            elif before[1] == after[1]:
                kinds.add("h")
            else:
                kinds.update("hv")

    def free_for(self, net, p, axis):
        """Can `net` run through p along `axis` ("h"/"v")? Returns (ok, crossing)."""
        if p in self.blocked or p in self.pin_line:
            return False, False
        if p in self.pin_end and self.pin_end[p] != net:
            return False, False
        crossing = False
        for other, kinds in self.wire.get(p, {}).items():
            if other == net:
                continue
            if axis in kinds or len(kinds) == 2:
                return False, False
            crossing = True
        return True, crossing

def _expand(points):
    """Every grid point along a polyline."""
    cells = [points[0]]
    for a, b in zip(points, points[1:]):
        dx, dy = (b[0] > a[0]) - (b[0] < a[0]), (b[1] > a[1]) - (b[1] < a[1])
        p = a
        while p != b:
            p = (p[0] + dx, p[1] + dy)
            cells.append(p)
    return cells


def corners(cells):
    """A path of adjacent grid points reduced to its end points and corners."""
    out = [cells[0]]
    for i in range(1, len(cells) - 1):
        a, b, c = cells[i - 1], cells[i], cells[i + 1]
        if (b[0] - a[0], b[1] - a[1]) != (c[0] - b[0], c[1] - b[1]):
            out.append(b)
    if len(cells) > 1:
        out.append(cells[-1])
    return out


def route_net(grid, net, terminals, bounds):
    """Join `terminals` (grid points; the first may already be drawn) into one tree; return its paths.

    `bounds` (x0, y0, x1, y1 in grid units) keeps the search inside the block's neighbourhood.
    """
    tree = {terminals[0]}
    todo = [t for t in terminals[1:] if t not in tree]
    paths = []
    while todo:
        path = _search(grid, net, tree, set(todo), bounds)
        if path is None:
            raise WireRoutingError(f"schematic: cannot draw a wire for net {net} to the pin at "
                               f"({todo[0][0] * 1.27:.2f}, {todo[0][1] * 1.27:.2f}) mm: the block is too crowded")
        grid.add_path(net, path)
        tree |= set(path)
        todo = [t for t in todo if t not in tree]
        paths.append(corners(path))
    return paths


def _search(grid, net, sources, targets, bounds):
    x0, y0, x1, y1 = bounds

    def h(p):
        return min(abs(p[0] - t[0]) + abs(p[1] - t[1]) for t in targets)

    counter = 0
    heap, best, parent = [], {}, {}
    for s in sorted(sources):
        for d in STEPS:
            state = (s, d)
            best[state] = 0
            parent[state] = None
            heapq.heappush(heap, (h(s), 0, counter, state))
            counter += 1
    while heap:
        _, cost, _, state = heapq.heappop(heap)
        if cost > best.get(state, 1e18):
            continue
        p, d_in = state
        if p in targets and parent[state] is not None:
            cells = []
            while state is not None:
                cells.append(state[0])
                state = parent[state]
            return cells[::-1]
        crossing_here = parent[state] is not None and p in grid.wire and any(n != net for n in grid.wire[p])
        for d in STEPS:
            if parent[state] is not None and d == (-d_in[0], -d_in[1]):
                continue
            if crossing_here and d != d_in:
                continue  # a crossing goes straight through
            q = (p[0] + d[0], p[1] + d[1])
            if not (x0 <= q[0] <= x1 and y0 <= q[1] <= y1):
                continue
            if q in sources:
                continue
            axis = "h" if d[1] == 0 else "v"
            if q in targets:
                if grid.pin_end.get(q, net) != net:
                    continue
                ok, crossing = True, False
            else:
                ok, crossing = grid.free_for(net, q, axis)
            if not ok:
                continue
            step = 1 + (BEND_COST if parent[state] is not None and d != d_in else 0) + (CROSS_COST if crossing else 0)
            nstate = (q, d)
            ncost = cost + step
            if ncost < best.get(nstate, 1e18):
                best[nstate] = ncost
                parent[nstate] = state
                heapq.heappush(heap, (ncost + h(q), ncost, counter, nstate))
                counter += 1
    return None
