"""`python -m hwtools.routed_job BOARD`: the copper of a routed board as JSON on stdout (see hwtools/routed.py).

pcbnew reads the board in this child process, as the board job builds it (pcbnew's caches and a crash stay out of
the caller). Coordinates are board mm from the outline's top-left corner (hwtools/layout.py ORIGIN). Exit 0 with the
JSON, or 3 with one line on stderr.
"""

import json
import sys

from . import layout
from .geometry import mm, xy


def _board_xy(p):
    x, y = xy(p)
    return round(x - layout.ORIGIN[0], 4), round(y - layout.ORIGIN[1], 4)


def _net(item) -> str:
    """The item's net as the circuit names it: KiCad prefixes a net named by a root-sheet label with "/"."""
    name = item.GetNetname()
    return name[1:] if name.startswith("/") else name


def _layers(item):
    import pcbnew

    return [name for name, layer in (("F.Cu", pcbnew.F_Cu), ("B.Cu", pcbnew.B_Cu)) if item.IsOnLayer(layer)]


def _pads(board):
    import pcbnew

    out = []
    for fp in board.GetFootprints():
        for pad in fp.Pads():
            if pad.GetAttribute() == pcbnew.PAD_ATTRIB_NPTH:
                continue
            box = pad.GetBoundingBox()
            (x0, y0), (x1, y1) = _board_xy(box.GetOrigin()), _board_xy(box.GetEnd())
            out.append({"ref": fp.GetReference(), "pad": pad.GetNumber(), "net": _net(pad),
                        "at": _board_xy(pad.GetPosition()), "box": [x0, y0, x1, y1], "layers": _layers(pad),
                        "smd": pad.GetAttribute() == pcbnew.PAD_ATTRIB_SMD})
    return out


def _zones(board):
    out = []
    for zone in board.Zones():
        for layer in zone.GetLayerSet().Seq():
            polys = zone.GetFilledPolysList(layer)
            for i in range(polys.OutlineCount()):
                rings = [polys.Outline(i)] + [polys.Hole(i, h) for h in range(polys.HoleCount(i))]
                out.append({"net": _net(zone), "layer": board.GetLayerName(layer),
                            "rings": [[_board_xy(r.CPoint(k)) for k in range(r.PointCount())] for r in rings]})
    return out


def facts(path) -> dict:
    import pcbnew

    board = pcbnew.LoadBoard(str(path))
    tracks, vias = [], []
    for t in board.GetTracks():
        if t.GetClass() == "PCB_VIA":
            vias.append({"net": _net(t), "at": _board_xy(t.GetPosition()), "d": mm(t.GetWidth(pcbnew.F_Cu))})
        elif t.GetClass() == "PCB_TRACK":
            tracks.append({"net": _net(t), "layer": board.GetLayerName(t.GetLayer()), "a": _board_xy(t.GetStart()),
                           "b": _board_xy(t.GetEnd()), "w": mm(t.GetWidth())})
    return {"pads": _pads(board), "tracks": tracks, "vias": vias, "zones": _zones(board)}


def main(argv):
    if len(argv) != 1:
        print(f"usage: python -m hwtools.routed_job BOARD (got {len(argv)} argument(s))", file=sys.stderr)
        return 3
    try:
        data = facts(argv[0])
    except (OSError, RuntimeError) as e:
        print(f"{argv[0]}: {e}", file=sys.stderr)
        return 3
    json.dump(data, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
