"""The case around a `Board`: its figures (`design`, pure Python) and its two solids (`solids`, OCCT).

Base: a floor and four walls up to the lid, the board on four posts under its mounting holes (a heat-set insert
in each), a lid pillar with an insert in each corner, an opening per plug (a pointed roof: no bridge to print),
two keyholes in the floor. Lid: a plate on the walls with four screw holes and a light window over the power
LED. Everything is derived from the board and the [enclosure] figures of parts.toml: nothing is placed by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .model import Board, Plug


@dataclass(frozen=True)
class Design:
    inner: tuple  # x0, y0, x1, y1 of the cavity
    wall: float
    floor_bottom: float
    floor_top: float
    lid_bottom: float
    lid_top: float
    post_r: float
    posts: tuple  # ((ref, x, y), …)
    pillar_r: float
    pillars: tuple  # ((x, y), …)
    keyholes: tuple  # ((x, y entry centre), …): the slot runs +y (up on the wall)
    window: tuple  # x0, y0, x1, y1 or ()

    @property
    def outer(self) -> tuple:
        x0, y0, x1, y1 = self.inner
        return x0 - self.wall, y0 - self.wall, x1 + self.wall, y1 + self.wall


def _bbox(points):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def design(board: Board) -> Design:
    cfg, insert = board.config["enclosure"], board.config["enclosure"]["insert"]
    x0, y0, x1, y1 = _bbox(board.outline)  # parts past the edge go into the openings: the fit check sees them
    pillar_r = insert["hole_mm"] / 2 + insert["wall_min_mm"] + 0.4
    sunk = cfg["wall_mm"] / 2  # the pillars stand half a wall into the corner's walls: one solid, no tangent seam
    gx, gy = cfg["edge_gap_mm"], cfg["lid_pillar_gap_mm"] + 2 * pillar_r - sunk
    inner = (x0 - gx, y0 - gy, x1 + gx, y1 + gy)
    floor_top = -cfg["standoff_mm"]
    lid_bottom = max(p.top for p in board.parts) + cfg["lid_clearance_mm"]
    r = pillar_r - sunk
    pillars = ((inner[0] + r, inner[1] + r), (inner[2] - r, inner[1] + r), (inner[2] - r, inner[3] - r),
               (inner[0] + r, inner[3] - r))
    window = ()
    if board.window:
        wx0, wy0, wx1, wy1 = _bbox(board.window)
        m = cfg["window_margin_mm"]
        window = (wx0 - m, wy0 - m, wx1 + m, wy1 + m)
    d = Design(inner, cfg["wall_mm"], floor_top - cfg["floor_mm"], floor_top, lid_bottom,
               lid_bottom + cfg["lid_mm"], insert["hole_mm"] / 2 + insert["wall_min_mm"] + 0.2,
               tuple((h.ref, h.x, h.y) for h in board.holes), pillar_r, pillars, (), window)
    return Design(**{**d.__dict__, "keyholes": keyholes(board, d)})


def _segment_box_distance(a, b, box) -> float:
    """Distance from segment a-b (vertical: same x) to an axis-aligned box, in the plane."""
    x0, y0, x1, y1 = box
    dx = max(x0 - a[0], 0.0, a[0] - x1)
    lo, hi = min(a[1], b[1]), max(a[1], b[1])
    dy = max(y0 - hi, 0.0, lo - y1)
    return math.hypot(dx, dy)


def keyholes(board: Board, d: Design) -> tuple:
    """Two keyhole positions on one level, as far apart as the floor allows: each slot (entry to its top end) keeps
    the screw head clear of every solder joint and post by the clearance limit, and of the walls by a wall."""
    cfg, kh = board.config["enclosure"], board.config["enclosure"]["keyhole"]
    reach = kh["entry_mm"] / 2 + cfg["clearance_min_mm"] + 0.5
    below = [_bbox(p.points) for part in board.parts for p in part.prisms if p.z1 <= 0]
    below += [(x - d.post_r, y - d.post_r, x + d.post_r, y + d.post_r) for _, x, y in d.posts]
    below += [(x - d.pillar_r, y - d.pillar_r, x + d.pillar_r, y + d.pillar_r) for x, y in d.pillars]
    x0, y0, x1, y1 = d.inner
    edge = kh["entry_mm"] / 2 + d.wall
    best = None
    for y in _steps(y0 + edge, y1 - edge - kh["slot_length_mm"]):
        xs = [x for x in _steps(x0 + edge, x1 - edge)
              if all(_segment_box_distance((x, y), (x, y + kh["slot_length_mm"]), b) >= reach for b in below)]
        if len(xs) >= 2 and (best is None or xs[-1] - xs[0] > best[2] - best[1]):
            best = (y, xs[0], xs[-1])
    if best is None:
        return ()  # the fit check reports the missing keyholes
    return ((best[1], best[0]), (best[2], best[0]))


def _steps(lo: float, hi: float, step: float = 1.0) -> list[float]:
    n = int((hi - lo) // step)
    return [round(lo + i * step, 3) for i in range(n + 1)] if hi >= lo else []


def opening_profile(plug: Plug, cfg: dict, d: Design) -> list[tuple]:
    """The hole a plug passes through, across its axis: (u across, z) corners. A pointed roof when wider than a
    bridge may be; a notch open to the top (through the lid's edge) when that roof would reach the lid."""
    m = cfg["plug_opening_margin_mm"]
    half = plug.width / 2 + m
    lo = plug.z - plug.height / 2 - m
    hi = plug.z + plug.height / 2 + m
    if plug.latch and plug.latch["side"] == "down":
        lo -= plug.latch["height_mm"]
    elif plug.latch:
        hi += plug.latch["height_mm"]
    apex = hi + half * math.tan(math.radians(cfg["opening_roof_deg"])) if 2 * half > cfg["bridge_max_mm"] else hi
    if apex + cfg["wall_min_mm"] > d.lid_bottom:
        return [(-half, lo), (half, lo), (half, d.lid_top + 1), (-half, d.lid_top + 1)]
    return [(-half, lo), (half, lo), (half, hi)] + ([(0.0, apex)] if apex > hi else []) + [(-half, hi)]


def plug_profile(plug: Plug) -> list[list[tuple]]:
    """The plug's own section(s) across its axis: the body, and the latch beside it."""
    hw, hh = plug.width / 2, plug.height / 2
    body = [(-hw, plug.z - hh), (hw, plug.z - hh), (hw, plug.z + hh), (-hw, plug.z + hh)]
    if not plug.latch:
        return [body]
    lw, lh = plug.latch["width_mm"] / 2, plug.latch["height_mm"]
    z = plug.z - hh if plug.latch["side"] == "down" else plug.z + hh
    z2 = z - lh if plug.latch["side"] == "down" else z + lh
    return [body, [(-lw, min(z, z2)), (lw, min(z, z2)), (lw, max(z, z2)), (-lw, max(z, z2))]]


def swept(plug: Plug, profile, back: float, forward: float = 0.0):
    """`profile` (u, z) placed at the plug's mouth and extruded against the insertion axis for `back` mm
    (starting `forward` mm inside the mouth)."""
    from . import solids

    ax, ay = plug.axis
    nx, ny = -ay, ax
    sx, sy = plug.mouth[0] + ax * forward, plug.mouth[1] + ay * forward
    pts = [(sx + u * nx, sy + u * ny, z) for u, z in profile]
    return solids.polygon_prism(pts, (-ax * (back + forward), -ay * (back + forward), 0))


def solids(board: Board, d: Design):
    """(base, lid) as OCCT solids."""
    from . import solids as s

    cfg, insert, kh = board.config["enclosure"], board.config["enclosure"]["insert"], board.config["enclosure"]["keyhole"]
    ox0, oy0, ox1, oy1 = d.outer
    x0, y0, x1, y1 = d.inner
    shell = s.cut(s.box(ox0, oy0, d.floor_bottom, ox1, oy1, d.lid_bottom), s.box(x0, y0, d.floor_top, x1, y1,
                                                                                 d.lid_bottom + 1))
    posts = [s.cylinder(x, y, d.post_r, d.floor_top - 0.5, 0.0) for _, x, y in d.posts]
    pillars = [s.cylinder(x, y, d.pillar_r, d.floor_top - 0.5, d.lid_bottom) for x, y in d.pillars]
    base = s.fuse(shell, *posts, *pillars)
    hr, depth = insert["hole_mm"] / 2, insert["hole_depth_mm"]
    holes = [s.cylinder(x, y, hr, -depth, 0.1) for _, x, y in d.posts]
    holes += [s.cylinder(x, y, hr, d.lid_bottom - depth, d.lid_bottom + 0.1) for x, y in d.pillars]
    reach = (d.outer[2] - d.outer[0]) + (d.outer[3] - d.outer[1])
    openings = [swept(p, opening_profile(p, cfg, d), reach, 0.0) for p in board.plugs]
    keys = []
    for x, y in d.keyholes:
        keys.append(s.cylinder(x, y, kh["entry_mm"] / 2, d.floor_bottom - 1, d.floor_top + 0.1))
        w = kh["slot_mm"] / 2
        keys.append(s.box(x - w, y, d.floor_bottom - 1, x + w, y + kh["slot_length_mm"], d.floor_top + 0.1))
    base = s.cut(base, *holes, *openings, *keys)
    lid = s.box(ox0, oy0, d.lid_bottom, ox1, oy1, d.lid_top)
    lid_holes = [s.cylinder(x, y, board.config["enclosure"]["screws"]["lid_hole_mm"] / 2, d.lid_bottom - 1,
                            d.lid_top + 1) for x, y in d.pillars]
    if d.window:
        lid_holes.append(s.box(d.window[0], d.window[1], d.lid_bottom - 1, d.window[2], d.window[3], d.lid_top + 1))
    lid = s.cut(lid, *lid_holes, *openings)
    return base, lid
