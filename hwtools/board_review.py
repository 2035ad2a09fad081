"""What a reviewer checks on the copper and the silkscreen, measured on a board file read back with pcbnew.

`review(path)` returns figures, never a verdict (README.md's layout table lists them): the tests assert the
limits, `make bench` prints them. The socketed D32 sits high above the board: copper under it is no fault.
"""

import math
from collections import Counter
from pathlib import Path

from .geometry import (NM, box_circle_overlap, fab_hull, is_octilinear, is_through_hole,
                       length_inside, mm as _mm, silk_boxes, xy as _xy)
from .layout import SOCKETED
from .pcb import GND

MIN_JOG_MM = 0.5
SILK_WORD_GAP_MM = 0.5  # about a word space of the board's smallest (0.8 mm) text: closer texts read as one


def review(path: Path, d32_labels: dict | None = None) -> dict:
    """Figures of the board at `path`. `d32_labels`: {pad number: text expected beside that D32 pin}."""
    import pcbnew

    board = pcbnew.LoadBoard(str(path))
    tracks = [t for t in board.GetTracks() if t.GetClass() == "PCB_TRACK"]
    vias = [t for t in board.GetTracks() if t.GetClass() == "PCB_VIA"]
    fps = list(board.GetFootprints())
    pads = [p for fp in fps for p in fp.Pads()]
    segs = [(t, _xy(t.GetStart()), _xy(t.GetEnd())) for t in tracks]
    short = [t for t, a, b in segs if math.dist(a, b) < MIN_JOG_MM
             and not (_touches_pad(pads, t, t.GetStart()) or _touches_pad(pads, t, t.GetEnd()))]
    overlaps, unmerged = _overlaps(segs, vias, pads)
    via_in_yard, via_under_silk = _misplaced_vias(board, fps, vias)
    under_bodies = _under_bodies(fps, segs)
    length, widths = Counter(), {}
    for t, a, b in segs:
        length[GND if t.GetNetname() == GND else "other"] += math.dist(a, b)
        widths.setdefault(t.GetNetname(), set()).add(round(_mm(t.GetWidth()), 3))
    figures = {
        "segments": len(segs),
        "vias": len(vias),
        "non_gnd_length_mm": round(length["other"], 1),
        "gnd_track_length_mm": round(length[GND], 1),
        "gnd_track_pads": sorted({_pad_at(pads, t) for t, a, b in segs if t.GetNetname() == GND} - {"-"}),
        "off_45_segments": sum(not is_octilinear(a, b) for t, a, b in segs),
        "short_jogs": len(short),
        "overlapping_pairs": overlaps,
        "unmerged_collinear_pairs": unmerged,
        "vias_in_courtyards": len(via_in_yard),
        "vias_under_silk": len(via_under_silk),
        "fcu_under_foreign_bodies_mm": round(sum(under_bodies.values()), 2),
        "fcu_under_foreign_bodies": under_bodies,
        "track_widths_mm": {net: min(ws) for net, ws in sorted(widths.items())},
        "net_length_over_mst": _length_over_mst(segs, pads),
        **_silk_text_overlaps(board, pads),
    }
    if d32_labels is not None:
        figures["d32_pins_labelled"] = d32_pins_labelled(board, d32_labels)
    return figures


def _mst_mm(points) -> float:
    """Length of the minimum spanning tree of `points` (Prim's algorithm; a net has a few dozen pads at most)."""
    if len(points) < 2:
        return 0.0
    reach = {i: math.dist(points[0], p) for i, p in enumerate(points[1:], start=1)}
    total = 0.0
    while reach:
        i = min(reach, key=reach.get)
        total += reach.pop(i)
        for j in reach:
            reach[j] = min(reach[j], math.dist(points[i], points[j]))
    return total


def _length_over_mst(segs, pads) -> dict:
    """{net: routed track length / minimum spanning tree of its pad centres} for every routed net but GND (the
    pour carries it): a detour shows as a high ratio."""
    routed = Counter()
    for t, a, b in segs:
        if t.GetNetname() != GND:
            routed[t.GetNetname()] += math.dist(a, b)
    centres = {}
    for p in pads:
        centres.setdefault(p.GetNetname(), set()).add(_xy(p.GetPosition()))
    return {net: round(length / _mst_mm(sorted(centres[net])), 2) for net, length in sorted(routed.items())
            if _mst_mm(sorted(centres.get(net, ()))) > 0}


def _silk_texts(board) -> list:
    """(text, (x0, y0, x1, y1)) of every text printed on the silkscreen: board texts, references, values, the
    footprints' own words."""
    import pcbnew

    silk = (pcbnew.F_SilkS, pcbnew.B_SilkS)
    items = [d for d in board.GetDrawings() if d.GetLayer() in silk and d.GetClass() == "PCB_TEXT"]
    for fp in board.GetFootprints():
        items += [f for f in (fp.Reference(), fp.Value()) if f.GetLayer() in silk and f.IsVisible()]
        items += [g for g in fp.GraphicalItems() if g.GetLayer() in silk and g.GetClass() == "PCB_TEXT"]
    out = []
    for item in items:  # the box of the strokes as drawn (GetBoundingBox pads a text by its line spacing)
        box = item.GetEffectiveTextShape().BBox()
        (x0, y0), (x1, y1) = _xy(box.GetOrigin()), _xy(box.GetEnd())
        out.append((item.GetShownText(False), (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))))
    return out


def _boxes_overlap(a, b, gap=0.0) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def _silk_text_overlaps(board, pads) -> dict:
    """Silkscreen texts closer than a word space to another text (they read as one phrase: "3-4 FROM REG" beside
    "p1reader v1.3"), and texts over a pad (solder hides them)."""
    texts = _silk_texts(board)
    pad_boxes = []
    for p in pads:
        box = p.GetBoundingBox()
        (x0, y0), (x1, y1) = _xy(box.GetOrigin()), _xy(box.GetEnd())
        pad_boxes.append((f"{p.GetParentFootprint().GetReference()}.{p.GetNumber()}", (x0, y0, x1, y1)))
    on_text = [f"{a} / {b}" for i, (a, ba) in enumerate(texts) for b, bb in texts[i + 1:]
               if _boxes_overlap(ba, bb, SILK_WORD_GAP_MM)]
    on_pads = [f"{t} / {name}" for t, bt in texts for name, bp in pad_boxes if _boxes_overlap(bt, bp)]
    return {"silk_text_over_text": on_text, "silk_text_over_pads": on_pads}


def _touches_pad(pads, track, point) -> bool:
    return any(p.GetNetCode() == track.GetNetCode() and p.IsOnLayer(track.GetLayer()) and p.HitTest(point)
               for p in pads)


def _overlaps(segs, vias, pads) -> tuple[int, int]:
    """(pairs of collinear tracks of a net and layer that overlap, pairs that meet end to end where nothing
    else joins: pieces that should have been one track)."""
    import pcbnew

    overlaps = unmerged = 0
    ends = Counter()
    for t, a, b in segs:
        for p in (a, b):
            ends[(t.GetLayer(), round(p[0], 4), round(p[1], 4))] += 1
    for v in vias:
        for layer in (pcbnew.F_Cu, pcbnew.B_Cu):
            ends[(layer, round(_mm(v.GetPosition().x), 4), round(_mm(v.GetPosition().y), 4))] += 1
    for i, (t, a, b) in enumerate(segs):
        for u, c, d in segs[i + 1:]:
            if t.GetLayer() != u.GetLayer() or t.GetNetCode() != u.GetNetCode():
                continue
            if not _collinear(a, b, c) or not _collinear(a, b, d):
                continue
            shared = _shared_length(a, b, c, d)
            if shared > 1e-4:
                overlaps += 1
            elif shared > -1e-4:  # meet end to end
                joint = next((p for p in (a, b) if math.dist(p, c) < 1e-4 or math.dist(p, d) < 1e-4), None)
                if joint is not None and ends[(t.GetLayer(), round(joint[0], 4), round(joint[1], 4))] == 2 \
                        and not _touches_pad(pads, t, pcbnew.VECTOR2I(int(joint[0] * NM), int(joint[1] * NM))):
                    unmerged += 1
    return overlaps, unmerged


def _misplaced_vias(board, fps, vias) -> tuple[list, list]:
    """(the courtyard of each via inside one, the centre of each via under a silkscreen item)."""
    import pcbnew

    yards = []
    for fp in fps:
        fp.BuildCourtyardCaches()
        for layer in (pcbnew.F_CrtYd, pcbnew.B_CrtYd):
            yard = fp.GetCourtyard(layer)
            if yard.OutlineCount():
                yards.append((fp.GetReference(), yard))
    silk = silk_boxes(board)
    via_in_yard, via_under_silk = [], []
    for v in vias:
        c, r = _xy(v.GetPosition()), _mm(v.GetWidth(pcbnew.F_Cu)) / 2
        via_in_yard += [ref for ref, yard in yards if yard.Collide(v.GetPosition(), int(r * NM))]
        if any(box_circle_overlap(box, c, r) for box in silk):
            via_under_silk.append(c)
    return via_in_yard, via_under_silk


def _under_bodies(fps, segs) -> dict:
    """{"<net> under <ref>": mm} of F.Cu track of a foreign net under a through-hole part's body (not socketed)."""
    import pcbnew

    under = {}
    for fp in fps:
        if fp.GetReference() in SOCKETED or not is_through_hole(fp):
            continue
        hull = fab_hull(fp)
        own = {p.GetNetCode() for p in fp.Pads()}
        for t, a, b in segs:
            if t.GetLayer() == pcbnew.F_Cu and t.GetNetCode() not in own:
                inside = length_inside(hull, a, b)
                if inside > 1e-3:
                    key = f"{t.GetNetname()} under {fp.GetReference()}"
                    under[key] = round(under.get(key, 0.0) + inside, 2)
    return under


def _pad_at(pads, track):
    """The GND pad a GND track touches (names where the pour could not reach), or '-'."""
    for p in pads:
        if p.GetNetCode() == track.GetNetCode() and (p.HitTest(track.GetStart()) or p.HitTest(track.GetEnd())):
            return f"{p.GetParentFootprint().GetReference()}.{p.GetNumber()}"
    return "-"


def _collinear(a, b, p):
    return abs((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])) < 1e-6 * max(1.0, math.dist(a, b))


def _shared_length(a, b, c, d):
    """Length two collinear segments share (negative: the gap between them)."""
    ux, uy = b[0] - a[0], b[1] - a[1]
    n = math.hypot(ux, uy)
    if n < 1e-9:
        return -1.0
    ux, uy = ux / n, uy / n

    def proj(p):
        return (p[0] - a[0]) * ux + (p[1] - a[1]) * uy

    lo, hi = sorted((proj(c), proj(d)))
    return min(n, hi) - max(0.0, lo)


def d32_pins_labelled(board, labels: dict) -> list:
    """The D32 pad numbers whose expected label is printed on F.SilkS beside the pad, outside the module's
    outline (where a fitted module does not hide it)."""
    import pcbnew

    m1 = next(fp for fp in board.GetFootprints() if fp.GetReference() == "M1")
    body = m1.GetCourtyard(pcbnew.F_CrtYd).BBox()
    by0, by1 = _xy(body.GetOrigin())[1], _xy(body.GetEnd())[1]
    texts = [d for d in board.GetDrawings() if d.GetLayer() == pcbnew.F_SilkS and isinstance(d, pcbnew.PCB_TEXT)]
    found = []
    for pad in m1.Pads():
        want = labels.get(int(pad.GetNumber()))
        px, py = _xy(pad.GetPosition())
        for t in texts:
            box = t.GetBoundingBox()
            (x0, y0), (x1, y1) = _xy(box.GetOrigin()), _xy(box.GetEnd())
            outside = y1 <= by0 + 1e-3 or y0 >= by1 - 1e-3
            if want and t.GetText() == want and outside and x0 - 0.1 <= px <= x1 + 0.1 \
                    and abs((y0 + y1) / 2 - py) < 8.0:
                found.append(int(pad.GetNumber()))
                break
    return sorted(found)


SILK_RASTER_MM = 0.05


def silk_coverage(silk_gerber: Path, outline_gerber: Path) -> float:
    """Share of the board's area a silkscreen Gerber prints (0..1), as AISLER measures it: every stroke,
    arc and region drawn (gerbonara reads the file) on a 0.05 mm raster, divided by the outline's box."""
    import numpy as np
    from gerbonara import GerberFile
    from gerbonara.graphic_objects import Arc, Line, Region

    (bx0, by0), (bx1, by1) = GerberFile.open(str(outline_gerber)).bounding_box()
    nx, ny = int((bx1 - bx0) / SILK_RASTER_MM) + 1, int((by1 - by0) / SILK_RASTER_MM) + 1
    ink = np.zeros((ny, nx), dtype=bool)

    def window(x0, y0, x1, y1):
        i0, j0 = max(0, int((x0 - bx0) / SILK_RASTER_MM)), max(0, int((y0 - by0) / SILK_RASTER_MM))
        i1, j1 = min(nx, int((x1 - bx0) / SILK_RASTER_MM) + 2), min(ny, int((y1 - by0) / SILK_RASTER_MM) + 2)
        X, Y = np.meshgrid(bx0 + np.arange(i0, i1) * SILK_RASTER_MM, by0 + np.arange(j0, j1) * SILK_RASTER_MM)
        return (slice(j0, j1), slice(i0, i1)), X, Y

    def stroke(a, b, r):
        sl, X, Y = window(min(a[0], b[0]) - r, min(a[1], b[1]) - r, max(a[0], b[0]) + r, max(a[1], b[1]) + r)
        dx, dy = b[0] - a[0], b[1] - a[1]
        n2 = dx * dx + dy * dy
        t = 0.0 if n2 == 0 else np.clip(((X - a[0]) * dx + (Y - a[1]) * dy) / n2, 0, 1)
        ink[sl] |= np.hypot(X - a[0] - t * dx, Y - a[1] - t * dy) <= r

    for obj in GerberFile.open(str(silk_gerber)).objects:
        if isinstance(obj, Line):
            stroke((obj.x1, obj.y1), (obj.x2, obj.y2), obj.aperture.equivalent_width() / 2
                   if hasattr(obj.aperture, "equivalent_width") else obj.aperture.diameter / 2)
        elif isinstance(obj, Arc):
            r = obj.aperture.diameter / 2
            for seg in obj.approximate(max_error=0.01):
                stroke((seg.x1, seg.y1), (seg.x2, seg.y2), r)
        elif isinstance(obj, Region):
            pts = list(obj.outline)
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            sl, X, Y = window(min(xs), min(ys), max(xs), max(ys))
            inside = np.zeros(X.shape, dtype=bool)
            for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):  # even-odd rule
                crosses = ((y0 > Y) != (y1 > Y)) & (X < (x1 - x0) * (Y - y0) / ((y1 - y0) or 1e-12) + x0)
                inside ^= crosses
            ink[sl] |= inside
    return float(ink.mean())
