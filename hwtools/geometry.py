"""Board geometry read from a pcbnew board, in mm: what the board builder, the router's inputs and the review share.

Footprint bodies as convex hulls of their F.Fab drawing, silkscreen boxes, octilinear segments, a segment's
length inside a polygon. pcbnew is imported inside the functions that need it (a child process's job).
"""

from __future__ import annotations

import math

NM = 1e6  # pcbnew's internal unit per mm


def mm(v):
    return v / NM


def xy(p):
    return (p.x / NM, p.y / NM)


def is_octilinear(a, b, tolerance=1e-5):
    dx, dy = abs(b[0] - a[0]), abs(b[1] - a[1])
    return dx < tolerance or dy < tolerance or abs(dx - dy) < tolerance

def convex_hull(points):
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def chain(points):  # Andrew's monotone chain: one half of the hull, its last point left to the other half
        out = []
        for p in points:
            while len(out) >= 2 and cross(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out[:-1]

    return chain(pts) + chain(reversed(pts))

def length_inside(hull, a, b):
    """Length of segment a–b inside the convex polygon `hull` (counter-clockwise), Cyrus–Beck clipping."""
    t0, t1 = 0.0, 1.0
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = len(hull)
    if n < 3:
        return 0.0
    for i in range(n):
        p, q = hull[i], hull[(i + 1) % n]
        ex, ey = q[0] - p[0], q[1] - p[1]
        # inside: cross(e, point - p) >= 0
        num = ex * (a[1] - p[1]) - ey * (a[0] - p[0])
        den = ex * dy - ey * dx
        if abs(den) < 1e-12:
            if num < 0:
                return 0.0
            continue
        t = -num / den
        if den > 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 >= t1:
            return 0.0
    return (t1 - t0) * math.hypot(dx, dy)

def fab_hull(fp):
    """The F.Fab drawing of a footprint as a convex polygon in board mm (circles sampled)."""
    import pcbnew

    points = []
    for item in fp.GraphicalItems():
        if item.GetLayer() not in (pcbnew.F_Fab, pcbnew.B_Fab) or not isinstance(item, pcbnew.PCB_SHAPE):
            continue
        if item.GetShape() == pcbnew.SHAPE_T_CIRCLE:
            cx, cy = xy(item.GetCenter())
            r = mm(item.GetRadius())
            points += [(cx + r * math.cos(k * math.pi / 16), cy + r * math.sin(k * math.pi / 16)) for k in range(32)]
        elif item.GetShape() == pcbnew.SHAPE_T_ARC:
            points += [xy(item.GetStart()), xy(item.GetEnd()), xy(item.GetArcMid())]
        elif item.GetShape() == pcbnew.SHAPE_T_POLY:
            poly = item.GetPolyShape()
            points += [xy(poly.CVertex(i)) for i in range(poly.TotalVertices())]
        elif item.GetShape() == pcbnew.SHAPE_T_RECT:
            points += [xy(c) for c in item.GetRectCorners()]
        else:  # segment
            points += [xy(item.GetStart()), xy(item.GetEnd())]
    return convex_hull(points)

def is_through_hole(fp):
    import pcbnew

    return any(p.GetAttribute() == pcbnew.PAD_ATTRIB_PTH for p in fp.Pads())

def silk_boxes(board):
    """Bounding boxes (x0, y0, x1, y1) of everything printed on either silkscreen."""
    import pcbnew

    silk = (pcbnew.F_SilkS, pcbnew.B_SilkS)
    items = [d for d in board.GetDrawings() if d.GetLayer() in silk]
    for fp in board.GetFootprints():
        items += [g for g in fp.GraphicalItems() if g.GetLayer() in silk]
        items += [f for f in (fp.Reference(), fp.Value()) if f.GetLayer() in silk and f.IsVisible()]
    boxes = []
    for item in items:
        if hasattr(item, "IsVisible") and not item.IsVisible():
            continue
        box = item.GetBoundingBox()
        (x0, y0), (x1, y1) = xy(box.GetOrigin()), xy(box.GetEnd())
        boxes.append((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
    return boxes

def box_circle_overlap(box, c, r):
    x0, y0, x1, y1 = box
    dx = max(x0 - c[0], 0.0, c[0] - x1)
    dy = max(y0 - c[1], 0.0, c[1] - y1)
    return math.hypot(dx, dy) < r
