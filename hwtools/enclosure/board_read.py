"""`python -m hwtools.enclosure.board_read BOARD.kicad_pcb`: what the case is built around, read with KiCad's pcbnew.

Prints one JSON object on stdout: the board's outline and thickness, and per footprint its reference, library
footprint, position, rotation, side, F.Fab outline (convex hull; the courtyard's where a footprint has no F.Fab
drawing) and pads. Runs in a process of its own: the CAD process must never load pcbnew (KiCad's OCCT and the
CAD wheel's own would clash), and a crash in KiCad cannot take the build down. Exit 0, or 3 with one line on
stderr.
"""

from __future__ import annotations

import json
import sys

from ..geometry import convex_hull, fab_hull, mm, xy


def _hull(fp, layers) -> list:
    import pcbnew

    points = []
    for item in fp.GraphicalItems():
        if item.GetLayer() in layers and isinstance(item, pcbnew.PCB_SHAPE):
            box = item.GetBoundingBox()
            points += [xy(box.GetOrigin()), xy(box.GetEnd())]
            points += [(xy(box.GetOrigin())[0], xy(box.GetEnd())[1]), (xy(box.GetEnd())[0], xy(box.GetOrigin())[1])]
    return convex_hull(points)


def _pads(fp) -> list[dict]:
    import pcbnew

    pads = []
    for pad in fp.Pads():
        size = pad.GetSize(pcbnew.F_Cu)
        pads.append({"number": pad.GetNumber(), "x": xy(pad.GetPosition())[0], "y": xy(pad.GetPosition())[1],
                     "drill": mm(pad.GetDrillSize().x), "size": max(mm(size.x), mm(size.y)),
                     "plated": pad.GetAttribute() == pcbnew.PAD_ATTRIB_PTH,
                     "hole": pad.GetAttribute() in (pcbnew.PAD_ATTRIB_PTH, pcbnew.PAD_ATTRIB_NPTH)})
    return pads


def _footprint(fp) -> dict:
    import pcbnew

    outline, source = fab_hull(fp), "F.Fab"
    if len(outline) < 3:
        outline, source = _hull(fp, (pcbnew.F_CrtYd, pcbnew.B_CrtYd)), "courtyard"
    return {"ref": fp.GetReference(), "footprint": fp.GetFPIDAsString(), "x": xy(fp.GetPosition())[0],
            "y": xy(fp.GetPosition())[1], "rotation": fp.GetOrientationDegrees(),
            "side": "bottom" if fp.IsFlipped() else "top", "outline": [list(p) for p in outline],
            "outline_from": source if len(outline) >= 3 else "", "pads": _pads(fp)}


def read(path: str) -> dict:
    import pcbnew

    board = pcbnew.LoadBoard(path)
    polys = pcbnew.SHAPE_POLY_SET()
    if not board.GetBoardPolygonOutlines(polys) or polys.OutlineCount() != 1:
        raise ValueError(f"{path}: the Edge.Cuts outline is not one closed polygon")
    chain = polys.Outline(0)
    outline = [list(xy(chain.CPoint(i))) for i in range(chain.PointCount())]
    footprints = sorted((_footprint(fp) for fp in board.GetFootprints()), key=lambda f: f["ref"])
    return {"thickness": mm(board.GetDesignSettings().GetBoardThickness()), "outline": outline,
            "footprints": footprints}


def main(argv) -> int:
    if len(argv) != 1:
        print(f"usage: python -m hwtools.enclosure.board_read BOARD.kicad_pcb (got {len(argv)} argument(s))",
              file=sys.stderr)
        return 3
    try:
        data = read(argv[0])
    except (OSError, ValueError) as e:
        print(e, file=sys.stderr)
        return 3
    json.dump(data, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
