"""The fit check on solids: the case against the board with every body, the plugs swept through their openings.

Each `Result` names the part and the figure. Exact on the B-rep (OCCT distances and boolean volumes), not on
meshes: interference volume 0 mm³, smallest clearance ≥ the limit, posts coplanar with the board's underside and
only under mounting holes, insert walls, plugs clear of the case by ≥ the plug limit, the parts a hand needs
reachable with the lid off, keyhole heads clear of the board.
"""

from __future__ import annotations

from . import solids as s
from .case import Design, plug_profile, swept
from .model import Board, Part
from .results import Result

TOUCH = 1e-4  # mm: closer than this is contact (then the overlap volume is measured)
NO_VOLUME = 1e-3  # mm³: OCCT's booleans leave slivers below this on touching faces


def part_solid(part: Part):
    return s.compound([s.prism(p.points, p.z0, p.z1) for p in part.prisms])


def _gap(solid, case) -> tuple[float, float]:
    """(clearance, interference volume) of `solid` to the case's solids."""
    gap = min(s.distance(solid, c) for c in case)
    overlap = sum(s.common_volume(solid, c) for c in case) if gap < TOUCH else 0.0
    return gap, overlap


def clearances(board: Board, d: Design, case, limit: float) -> list[Result]:
    """Each part's and the board's clearance and interference; the closest named."""
    posts = [s.cylinder(x, y, d.post_r + 0.01, d.floor_top, 0.1) for _, x, y in d.posts]
    plate = s.prism(board.outline, 0.0, board.thickness)
    figures = [("board", *_gap(plate, [s.cut(case[0], *posts), *case[1:]]))]  # the posts may touch it: see posts()
    figures += [(p.ref, *_gap(part_solid(p), case)) for p in board.parts]
    out = [Result("interference", overlap < NO_VOLUME, ref, round(overlap, 3), 0.0,
                  f"{ref} overlaps the case by {overlap:.3f} mm³") for ref, _, overlap in figures if overlap >= NO_VOLUME]
    whole = s.common_volume(plate, case[0])
    out.append(Result("interference", whole < NO_VOLUME, "board", round(whole, 3), 0.0,
                      f"board and bodies overlap the case by {sum(f[2] for f in figures) + whole:.3f} mm³ in all"))
    ref, gap, _ = min(figures, key=lambda f: f[1])
    body, body_gap, _ = min(figures[1:], key=lambda f: f[1])
    out.append(Result("clearance", gap >= limit, ref, round(gap, 3), limit,
                      f"smallest clearance {gap:.2f} mm (limit {limit} mm), closest part {ref}"
                      + (f"; closest body {body} {body_gap:.2f} mm" if ref == "board" else "")))
    return out


def _upward_faces_at(shape, z: float, tol: float) -> list[tuple]:
    """Bounding boxes (x0, y0, x1, y1) of the planar faces facing up whose plane is within `tol` of height z."""
    from OCP.Bnd import Bnd_Box
    from OCP.BRepAdaptor import BRepAdaptor_Surface
    from OCP.BRepBndLib import BRepBndLib
    from OCP.GeomAbs import GeomAbs_Plane
    from OCP.TopAbs import TopAbs_FACE, TopAbs_REVERSED
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    found, explorer = [], TopExp_Explorer(shape, TopAbs_FACE)
    while explorer.More():
        face = TopoDS.Face(explorer.Current())
        surface = BRepAdaptor_Surface(face)
        if surface.GetType() == GeomAbs_Plane:
            plane = surface.Plane()
            nz = plane.Axis().Direction().Z() * (-1 if face.Orientation() == TopAbs_REVERSED else 1)
            if nz > 0.999 and abs(plane.Location().Z() - z) <= tol:
                box = Bnd_Box()
                BRepBndLib.Add_s(face, box)
                (x0, y0), (x1, y1) = (box.CornerMin().X(), box.CornerMin().Y()), (box.CornerMax().X(), box.CornerMax().Y())
                found.append((x0, y0, x1, y1))
        explorer.Next()
    return found


def posts(board: Board, d: Design, base) -> list[Result]:
    """Faces of the base near the board's underside: each a post top under a mounting hole, one per hole."""
    cfg = board.config["enclosure"]
    tol, offset = cfg["post_coplanar_mm"], cfg["post_hole_offset_max_mm"]
    faces = _upward_faces_at(base, 0.0, tol)
    out = []
    for hole in board.holes:
        mine = [f for f in faces if abs((f[0] + f[2]) / 2 - hole.x) <= offset and abs((f[1] + f[3]) / 2 - hole.y) <= offset]
        ok = len(mine) == 1 and (mine[0][2] - mine[0][0]) / 2 <= hole.keepout
        out.append(Result("post", ok, hole.ref, len(mine), 1, f"{hole.ref}: {len(mine)} post top(s) coplanar with "
                          f"the board's underside (± {tol} mm) under the mounting hole, inside its keep-out"))
    strays = [f for f in faces if not any(abs((f[0] + f[2]) / 2 - h.x) <= offset and abs((f[1] + f[3]) / 2 - h.y)
                                          <= offset for h in board.holes)]
    for f in strays:
        out.append(Result("post", False, "board", 0, 0, f"a face of the base touches the board's underside at "
                          f"x {(f[0] + f[2]) / 2:.2f}, y {-(f[1] + f[3]) / 2:.2f} (KiCad) under no mounting hole"))
    return out


def inserts(board: Board, d: Design) -> list[Result]:
    ins = board.config["enclosure"]["insert"]
    walls = {"post": d.post_r - ins["hole_mm"] / 2, "lid pillar": d.pillar_r - ins["hole_mm"] / 2}
    out = [Result("insert wall", w >= ins["wall_min_mm"], where, round(w, 2), ins["wall_min_mm"],
                  f"{ins['name']} in each {where}: hole Ø {ins['hole_mm']} mm, {w:.2f} mm of wall "
                  f"(≥ {ins['wall_min_mm']} mm)") for where, w in walls.items()]
    solid = -d.floor_bottom  # post and floor under the insert hole
    ok = ins["length_mm"] <= ins["hole_depth_mm"] < solid - ins["wall_min_mm"]
    out.append(Result("insert depth", ok, "post", ins["hole_depth_mm"], ins["length_mm"],
                      f"insert hole {ins['hole_depth_mm']} mm deep for the {ins['length_mm']} mm insert, in "
                      f"{solid:.1f} mm of post and floor"))
    return out


def plugs(board: Board, d: Design, case) -> list[Result]:
    """Each plug, latch included, swept from far outside to seated: its clearance to base and lid."""
    limit = board.config["enclosure"]["plug_clearance_min_mm"]
    back = (d.outer[2] - d.outer[0]) + (d.outer[3] - d.outer[1])
    out = []
    for plug in board.plugs:
        sweep = s.compound([swept(plug, profile, back) for profile in plug_profile(plug)])
        gap, overlap = _gap(sweep, case)
        out.append(Result("plug", gap >= limit, plug.ref, round(gap, 3), limit,
                          f"{plug.name} into {plug.ref}, swept along its axis with the lid on"
                          f"{' (latch included)' if plug.latch else ''}: clears the case by "
                          f"{gap:.2f} mm (≥ {limit} mm a side)" + (f", overlaps {overlap:.2f} mm³" if overlap else "")))
    return out


def reach(board: Board, d: Design, base) -> list[Result]:
    """With the lid off, a column over each part a hand needs (plus a margin) meets nothing of the base."""
    m = board.config["enclosure"]["reach_margin_mm"]
    out = []
    for name, poly in board.reach:
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
        column = s.box(min(xs) - m, min(ys) - m, board.thickness, max(xs) + m, max(ys) + m, d.lid_top + 50)
        blocked = s.common_volume(column, base)
        out.append(Result("reach", blocked < NO_VOLUME, name, round(blocked, 3), 0.0,
                          f"{name} reachable from above with the lid off ({m} mm around it free: "
                          f"{blocked:.2f} mm³ of the base in the way)"))
    return out


def keyhole_heads(board: Board, d: Design) -> list[Result]:
    """The wall screws' heads, slid from entry to the slot's end: clear of the board and the solder joints."""
    kh, limit = board.config["enclosure"]["keyhole"], board.config["enclosure"]["clearance_min_mm"]
    if len(d.keyholes) < 2:
        return [Result("keyhole", False, "floor", len(d.keyholes), 2, "no room in the floor for two keyholes clear "
                       "of the solder joints and posts")]
    holds = kh["shank_mm"] < kh["slot_mm"] < kh["head_min_mm"] and kh["entry_mm"] > kh["head_mm"]
    out = [Result("keyhole", holds, "floor", kh["slot_mm"], kh["head_min_mm"],
                  f"keyholes: entry Ø {kh['entry_mm']} mm passes a {kh['head_mm']} mm head, the {kh['slot_mm']} mm slot "
                  f"takes a {kh['shank_mm']} mm shank and holds a {kh['head_min_mm']} mm head")]
    r, top = kh["head_mm"] / 2, d.floor_top + kh["head_height_mm"] + kh["head_slack_mm"]
    plate = s.prism(board.outline, 0.0, board.thickness)
    below = s.compound([s.prism(p.points, p.z0, p.z1) for part in board.parts for p in part.prisms if p.z1 <= 0])
    for x, y in d.keyholes:
        head = s.fuse(s.cylinder(x, y, r, d.floor_top, top), s.cylinder(x, y + kh["slot_length_mm"], r, d.floor_top,
                                                                       top),
                      s.box(x - r, y, d.floor_top, x + r, y + kh["slot_length_mm"], top))
        to_board, to_joints = s.distance(head, plate), s.distance(head, below)
        ok = to_board >= kh["board_clearance_min_mm"] and to_joints >= limit
        out.append(Result("keyhole", ok, f"keyhole x {x:.1f}", round(to_board, 2), kh["board_clearance_min_mm"],
                          f"keyhole at x {x:.1f}, y {-y:.1f} (KiCad): a {kh['head_mm']} mm head clears the board by "
                          f"{to_board:.2f} mm (≥ {kh['board_clearance_min_mm']}), the solder joints by {to_joints:.2f} mm"))
    return out


RAY_START = 0.2  # mm: hits closer than this are the face itself (a mesh triangle's centre lies off a curved face)


def _largest_triangle(face):
    """(centre, outward unit normal) of the face's largest mesh triangle: a point on (or within a sagitta of) it."""
    import numpy as np
    from OCP.BRep import BRep_Tool
    from OCP.TopAbs import TopAbs_REVERSED
    from OCP.TopLoc import TopLoc_Location

    loc = TopLoc_Location()
    tri = BRep_Tool.Triangulation_s(face, loc)
    if tri is None:
        return None
    t, best = loc.Transformation(), (0.0, None, None)
    for i in range(1, tri.NbTriangles() + 1):
        p = [np.array(tri.Node(k).Transformed(t).Coord()) for k in tri.Triangle(i).Get()]
        n = np.cross(p[1] - p[0], p[2] - p[0])
        if np.linalg.norm(n) > best[0]:
            best = (np.linalg.norm(n), sum(p) / 3, n / np.linalg.norm(n))
    _, centre, normal = best
    return None if centre is None else (centre, -normal if face.Orientation() == TopAbs_REVERSED else normal)


def thinnest(shape) -> tuple[float, tuple]:
    """The thinnest wall measured on the solid: from each face, a ray into the material to the next face."""
    from OCP.BRepBuilderAPI import BRepBuilderAPI_Copy
    from OCP.BRepMesh import BRepMesh_IncrementalMesh
    from OCP.gp import gp_Dir, gp_Lin, gp_Pnt
    from OCP.IntCurvesFace import IntCurvesFace_ShapeIntersector
    from OCP.TopAbs import TopAbs_FACE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    shape = BRepBuilderAPI_Copy(shape).Shape()  # meshed here coarsely, the written STL's mesh untouched
    BRepMesh_IncrementalMesh(shape, 0.05, False, 0.5, False)
    rays = IntCurvesFace_ShapeIntersector()
    rays.Load(shape, 1e-6)
    found, explorer = (float("inf"), ()), TopExp_Explorer(shape, TopAbs_FACE)
    while explorer.More():
        sample = _largest_triangle(TopoDS.Face(explorer.Current()))
        explorer.Next()
        if sample is None:
            continue
        centre, normal = sample
        rays.Perform(gp_Lin(gp_Pnt(*centre), gp_Dir(*(-normal))), RAY_START, 1e4)
        hits = [rays.WParameter(i) for i in range(1, rays.NbPnt() + 1)] if rays.IsDone() else []
        if hits and min(hits) < found[0]:
            found = (min(hits), tuple(round(float(c), 1) for c in centre))
    return found


def walls(board: Board, d: Design, base, lid) -> list[Result]:
    cfg = board.config["enclosure"]
    figures = {"side walls": d.wall, "floor": d.floor_top - d.floor_bottom, "lid": d.lid_top - d.lid_bottom}
    out = [Result("wall", w >= cfg["wall_min_mm"], where, round(w, 2), cfg["wall_min_mm"],
                  f"{where} {w:.2f} mm (≥ {cfg['wall_min_mm']} mm)") for where, w in figures.items()]
    for name, shape in (("base", base), ("lid", lid)):
        w, (x, y, z) = thinnest(shape)
        out.append(Result("wall", w >= cfg["wall_min_mm"], name, round(w, 2), cfg["wall_min_mm"],
                          f"{name}: thinnest wall measured on the solid {w:.2f} mm (≥ {cfg['wall_min_mm']} mm), "
                          f"at x {x}, y {-y}, z {z} (KiCad x, y; z above the board's underside)"))
    if d.window:
        x0, y0, x1, y1 = d.window
        inside = all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in board.window)
        out.append(Result("light window", inside, cfg["window_ref"], round(x1 - x0, 2), 0.0,
                          f"light window {x1 - x0:.1f} × {y1 - y0:.1f} mm in the lid over {cfg['window_ref']}"))
    return out


def check(board: Board, d: Design, base, lid, limit: float | None = None) -> list[Result]:
    limit = board.config["enclosure"]["clearance_min_mm"] if limit is None else limit
    case = [base, lid]
    return (clearances(board, d, case, limit) + posts(board, d, base) + inserts(board, d) + plugs(board, d, case)
            + reach(board, d, base) + keyhole_heads(board, d) + walls(board, d, base, lid))
