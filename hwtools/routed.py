"""The routed board as the layout rules read it: pads, tracks, vias and filled zones of a `kicad_pcb`, and the
length of copper between two pads.

`read(path)` runs `python -m hwtools.routed_job` (pcbnew in a child process) and keeps its JSON. Distances are
measured along the copper of one net, centre of one pad to centre of the other, on a 0.1 mm raster of both copper
layers joined at through-hole pads and vias: tracks at their width, pads at their size, the ground pour as filled.
The path's 8-neighbour steps make a slanted stretch at most 8 % longer than it is: on the safe side of a limit.
"""

from __future__ import annotations

import heapq
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import procs, project
from .errors import HwtoolsError

STEP_MM = 0.1
LAYERS = ("F.Cu", "B.Cu")


class RoutedBoardError(HwtoolsError):
    """The routed board cannot be read, or a pad a rule asks for is not on it."""


@dataclass(frozen=True)
class Copper:
    """The length of copper between two pads of one net, and the other pads that path crosses."""

    mm: float
    through: tuple[str, ...]  # "R1.2", … in the order the path meets them


@dataclass
class RoutedBoard:
    source: str
    pads: list
    tracks: list
    vias: list
    zones: list

    def pad(self, ref: str, number) -> dict:
        for p in self.pads:
            if p["ref"] == ref and p["pad"] == str(number):
                return p
        raise RoutedBoardError(f"{self.source}: no pad {ref}.{number} on the routed board")

    def copper(self, a: tuple, b: tuple) -> Copper | None:
        """Copper from pad `a` to pad `b` ((ref, number) each) along their net; None when they are not joined."""
        pa, pb = self.pad(*a), self.pad(*b)
        if pa["net"] != pb["net"] or not pa["net"]:
            return None
        grid = _Raster(self, pa["net"], pa, pb)
        found = grid.shortest(pa, pb)
        if found is None:
            return None
        length, cells = found
        return Copper(round(length, 2), grid.pads_on(cells, exclude=(pa, pb)))


def read(path: Path) -> RoutedBoard:
    """The copper of the board file at `path`, read by pcbnew in a child process."""
    proc = procs.run([sys.executable, "-m", "hwtools.routed_job", str(path)], capture_output=True, text=True,
                     cwd=project.ROOT)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and "Debug:" not in ln]
        raise RoutedBoardError(f"routed board {path}: " + (lines[-1] if lines else f"exit {proc.returncode}"))
    data = json.loads(proc.stdout)
    return RoutedBoard(str(path), data["pads"], data["tracks"], data["vias"], data["zones"])


class _Raster:
    """One net's copper on both layers, in a window around two pads (margin: what a detour may take)."""

    MARGIN_MM = 12.0

    def __init__(self, board: RoutedBoard, net: str, pa: dict, pb: dict):
        x0 = min(pa["box"][0], pb["box"][0]) - self.MARGIN_MM
        y0 = min(pa["box"][1], pb["box"][1]) - self.MARGIN_MM
        x1 = max(pa["box"][2], pb["box"][2]) + self.MARGIN_MM
        y1 = max(pa["box"][3], pb["box"][3]) + self.MARGIN_MM
        self.x0, self.y0 = x0, y0
        nx, ny = int((x1 - x0) / STEP_MM) + 1, int((y1 - y0) / STEP_MM) + 1
        xs, ys = np.meshgrid(x0 + np.arange(nx) * STEP_MM, y0 + np.arange(ny) * STEP_MM)
        self.X, self.Y = xs, ys
        self.copper = np.zeros((2, ny, nx), dtype=bool)
        self.board, self.net = board, net
        for p in board.pads:
            if p["net"] == net:
                for layer in p["layers"]:
                    self.copper[LAYERS.index(layer)] |= self._in_box(p["box"])
        for t in board.tracks:
            if t["net"] == net and t["layer"] in LAYERS:
                self.copper[LAYERS.index(t["layer"])] |= self._near_segment(t["a"], t["b"], t["w"] / 2)
        for v in board.vias:
            if v["net"] == net:
                disc = np.hypot(xs - v["at"][0], ys - v["at"][1]) <= v["d"] / 2
                self.copper |= disc
        for z in board.zones:
            if z["net"] == net and z["layer"] in LAYERS:
                inside = self._in_ring(z["rings"][0])
                for hole in z["rings"][1:]:  # a pour has a hole round every foreign pad: test each in its box
                    inside &= ~self._in_ring(hole)
                self.copper[LAYERS.index(z["layer"])] |= inside
        # where the layers join: through-hole pads and vias
        self.join = np.zeros(xs.shape, dtype=bool)
        for p in board.pads:
            if p["net"] == net and len(p["layers"]) == 2:
                self.join |= self._in_box(p["box"])
        for v in board.vias:
            if v["net"] == net:
                self.join |= np.hypot(xs - v["at"][0], ys - v["at"][1]) <= v["d"] / 2

    def _in_ring(self, ring):
        """Raster cells whose centre is inside a closed ring (even-odd rule), row by row within its bounding box."""
        out = np.zeros(self.X.shape, dtype=bool)
        a = np.asarray(ring, dtype=float)
        b = np.roll(a, -1, axis=0)
        ny, nx = out.shape
        r0 = max(0, math.ceil((a[:, 1].min() - self.y0) / STEP_MM))
        r1 = min(ny - 1, math.floor((a[:, 1].max() - self.y0) / STEP_MM))
        for row in range(r0, r1 + 1):
            y = self.y0 + row * STEP_MM
            cross = (a[:, 1] <= y) != (b[:, 1] <= y)
            xs = np.sort(a[cross, 0] + (y - a[cross, 1]) * (b[cross, 0] - a[cross, 0]) / (b[cross, 1] - a[cross, 1]))
            for x_in, x_out in zip(xs[::2], xs[1::2]):
                c0, c1 = max(0, math.ceil((x_in - self.x0) / STEP_MM)), min(nx - 1, math.floor((x_out - self.x0) / STEP_MM))
                out[row, c0:c1 + 1] = True
        return out

    def _in_box(self, box):
        return (self.X >= box[0]) & (self.X <= box[2]) & (self.Y >= box[1]) & (self.Y <= box[3])

    def _near_segment(self, a, b, r):
        dx, dy = b[0] - a[0], b[1] - a[1]
        n2 = dx * dx + dy * dy
        t = 0.0 if n2 == 0 else np.clip(((self.X - a[0]) * dx + (self.Y - a[1]) * dy) / n2, 0, 1)
        return np.hypot(self.X - a[0] - t * dx, self.Y - a[1] - t * dy) <= r + 1e-9

    def _cell(self, xy):
        return int(round((xy[1] - self.y0) / STEP_MM)), int(round((xy[0] - self.x0) / STEP_MM))

    def shortest(self, pa: dict, pb: dict):
        """(length mm, [cells]) of the shortest copper path from pad a's centre to pad b's, or None."""
        ny, nx = self.join.shape
        start = (LAYERS.index(pa["layers"][0]), *self._cell(pa["at"]))
        goals = {(LAYERS.index(layer), *self._cell(pb["at"])) for layer in pb["layers"]}
        gy, gx = self._cell(pb["at"])

        def h(y, x):  # octile distance to the goal: exact on an open raster, so A* stays exact and explores little
            dy, dx = abs(y - gy), abs(x - gx)
            return STEP_MM * (max(dy, dx) + (math.sqrt(2) - 1) * min(dy, dx))

        dist, before = {start: 0.0}, {}
        heap = [(h(*start[1:]), 0.0, start)]
        steps = [(dy, dx, STEP_MM * math.hypot(dy, dx)) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
        while heap:
            _, d, cell = heapq.heappop(heap)
            if cell in goals:
                path = [cell]
                while path[-1] in before:
                    path.append(before[path[-1]])
                return d, path
            if d > dist.get(cell, math.inf):
                continue
            layer, y, x = cell
            moves = [((layer, y + dy, x + dx), cost) for dy, dx, cost in steps]
            if self.join[y, x]:
                moves.append(((1 - layer, y, x), 0.0))
            for nxt, cost in moves:
                ly, yy, xx = nxt
                if 0 <= yy < ny and 0 <= xx < nx and self.copper[ly, yy, xx] and d + cost < dist.get(nxt, math.inf):
                    dist[nxt] = d + cost
                    before[nxt] = cell
                    heapq.heappush(heap, (d + cost + h(yy, xx), d + cost, nxt))
        return None

    def pads_on(self, cells, exclude) -> tuple[str, ...]:
        """The pads of this net (other than `exclude`) whose copper the path crosses, in path order."""
        seen = []
        for layer, y, x in reversed(cells):
            px, py = self.x0 + x * STEP_MM, self.y0 + y * STEP_MM
            for p in self.board.pads:
                if p["net"] != self.net or any(p is e for e in exclude) or LAYERS[layer] not in p["layers"]:
                    continue
                box = p["box"]
                name = f"{p['ref']}.{p['pad']}"
                if box[0] <= px <= box[2] and box[1] <= py <= box[3] and name not in seen:
                    seen.append(name)
        return tuple(seen)
