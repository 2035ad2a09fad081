"""One side of a review, one variant: what its KiCad project says, as plain data (JSON, cached by the files' hash).

Parts and nets come from KiCad's netlist export (`kicad/p1reader.net`: reference, value, footprint, fields, the
pins of every net); the layout from the board file read with pcbnew (footprint positions, tracks and vias per
net, pours, keep-outs, the outline, holes, silkscreen text); the schematic's symbol positions from the
`.kicad_sch` (where to crop a picture). Lengths are integer nanometres, KiCad's own unit, so that a value read
twice compares equal; angles are degrees.
"""

from __future__ import annotations

from pathlib import Path

import sexpdata

from .. import project
from ..sexpr import children, value
from . import ReviewError

NC_PREFIX = "unconnected-"  # KiCad's name for the net of a pin that is not connected
SILK_LAYERS = ("F.Silkscreen", "B.Silkscreen")
TEXT_RUN_NM = 10_160_000  # how far a reference or value text may run right of its anchor (eight grid steps)
SHEET_BOX_NM = 7_620_000  # half the box taken around a symbol's anchor (six grid steps) for a crop


def read(kicad_dir: Path) -> dict:
    """The model of the KiCad project in `kicad_dir` (one variant): parts, nets, board, schematic."""
    kicad_dir = Path(kicad_dir)
    files = {kind: kicad_dir / f"{project.NAME}.{kind}" for kind in ("net", "kicad_pcb", "kicad_sch")}
    for path in files.values():
        if not path.is_file():
            raise ReviewError(f"{path} missing: not a KiCad project made by `p1reader generate`")
    parts, nets = read_netlist(files["net"])
    return {"parts": parts, "nets": nets, "board": read_board(files["kicad_pcb"]),
            "schematic": read_schematic(files["kicad_sch"])}


# --- the netlist: parts, fields and the pins of every net --------------------------------------------------

def read_netlist(path: Path) -> tuple[dict, dict]:
    """({ref: {value, footprint, symbol, fields, pins: {pin: net or None}}}, {net: sorted ["REF.PIN", …]})."""
    try:
        tree = sexpdata.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, sexpdata.ExpectClosingBracket, sexpdata.ExpectNothing) as e:
        raise ReviewError(f"{path}: not a KiCad netlist ({e})") from e
    parts = {}
    for comp in children(children(tree, "components")[0], "comp"):
        fields = {}
        for f in (children(children(comp, "fields")[0], "field") if children(comp, "fields") else []):
            name = value(f, "name")
            if name != "Footprint":  # the footprint is a kind of its own
                fields[name] = str(f[2]) if len(f) > 2 else ""
        lib = children(comp, "libsource")
        symbol = f"{value(lib[0], 'lib')}:{value(lib[0], 'part')}" if lib else ""
        parts[str(value(comp, "ref"))] = {"value": str(value(comp, "value")), "footprint": str(value(comp, "footprint")),
                                          "symbol": symbol, "fields": fields, "pins": {}}
    nets = {}
    for net in children(children(tree, "nets")[0], "net"):
        name = str(value(net, "name"))
        pins = sorted(f"{value(n, 'ref')}.{value(n, 'pin')}" for n in children(net, "node"))
        for pin in pins:
            ref, _, number = pin.partition(".")
            if ref in parts:
                parts[ref]["pins"][number] = None if name.startswith(NC_PREFIX) else name
        if not name.startswith(NC_PREFIX):
            nets[name] = pins
    return parts, nets


# --- the board, read with pcbnew ---------------------------------------------------------------------------

def read_board(path: Path) -> dict:
    import pcbnew

    board = pcbnew.LoadBoard(str(path))
    if board is None:
        raise ReviewError(f"{path}: pcbnew cannot read it")
    tracks, vias = {}, {}
    for t in board.GetTracks():
        net = t.GetNetname()
        if t.GetClass() == "PCB_VIA":
            vias.setdefault(net, []).append([*_xy(t.GetPosition()), t.GetDrillValue(), t.GetWidth(pcbnew.F_Cu)])
        else:
            tracks.setdefault(net, []).append([t.GetLayerName(), *_xy(t.GetStart()), *_xy(t.GetEnd()), t.GetWidth()])
    zones, keepouts = [], []
    for z in board.Zones():
        layers = [board.GetLayerName(layer) for layer in z.GetLayerSet().Seq()]
        outline = [_xy(z.Outline().CVertex(i)) for i in range(z.Outline().TotalVertices())]
        if z.GetIsRuleArea():
            rules = {"tracks": z.GetDoNotAllowTracks(), "vias": z.GetDoNotAllowVias(), "pads": z.GetDoNotAllowPads(),
                     "pours": z.GetDoNotAllowCopperPour(), "footprints": z.GetDoNotAllowFootprints()}
            keepouts.append({"layers": layers, "outline": outline, "rules": rules})
        else:
            zones.append({"net": z.GetNetname(), "layers": layers, "outline": outline,
                          "filled_mm2": round(z.CalculateFilledArea() / 1e12, 2)})
    return {"footprints": {fp.GetReference(): _footprint(fp) for fp in board.GetFootprints()},
            "tracks": {net: sorted(ts) for net, ts in tracks.items()},
            "vias": {net: sorted(vs) for net, vs in vias.items()},
            "zones": sorted(zones, key=lambda z: (z["net"], z["layers"], z["outline"])),
            "keepouts": sorted(keepouts, key=lambda k: (k["layers"], k["outline"])),
            "outline": sorted(_shape(d) for d in board.GetDrawings() if d.GetLayerName() == "Edge.Cuts"
                              and d.GetClass() == "PCB_SHAPE"),
            "silkscreen": sorted(_silk(d) for d in board.GetDrawings() if d.GetLayerName() in SILK_LAYERS)}


def _xy(p) -> list[int]:
    return [int(p.x), int(p.y)]


def _box(box) -> list[int]:
    return [int(box.GetLeft()), int(box.GetTop()), int(box.GetRight()), int(box.GetBottom())]


def _footprint(fp) -> dict:
    import pcbnew

    fp.BuildCourtyardCaches()
    yard = fp.GetCourtyard(pcbnew.B_CrtYd if fp.IsFlipped() else pcbnew.F_CrtYd)
    box = yard.BBox() if yard.OutlineCount() else fp.GetBoundingBox(False, False)
    pads = {}
    for pad in fp.Pads():
        npth = pad.GetAttribute() == pcbnew.PAD_ATTRIB_NPTH
        pads[pad.GetNumber() or f"~{len(pads)}"] = {"at": _xy(pad.GetPosition()), "net": pad.GetNetname() or None,
                                                    "drill": int(pad.GetDrillSize().x), "npth": npth}
    return {"footprint": fp.GetFPIDAsString(), "at": _xy(fp.GetPosition()),
            "rotation": round(fp.GetOrientationDegrees(), 3) % 360, "side": "bottom" if fp.IsFlipped() else "top",
            "box": _box(box), "pads": pads}


def _shape(d) -> list:
    """An outline drawing as comparable data: its kind and points (start, end; arcs their middle too)."""
    import pcbnew

    kind = d.GetShapeStr() if hasattr(d, "GetShapeStr") else str(d.GetShape())
    points = [*_xy(d.GetStart()), *_xy(d.GetEnd())]
    if d.GetShape() == pcbnew.SHAPE_T_ARC:
        points += _xy(d.GetArcMid())
    elif d.GetShape() == pcbnew.SHAPE_T_CIRCLE:
        points = [*_xy(d.GetCenter()), int(d.GetRadius())]
    elif d.GetShape() == pcbnew.SHAPE_T_POLY:
        poly = d.GetPolyShape()
        points = [c for i in range(poly.TotalVertices()) for c in _xy(poly.CVertex(i))]
    return [kind, *points]


def _silk(d) -> list:
    """A board-level silkscreen item: [layer, text or shape kind, x, y, angle, bounding box]."""
    box = _box(d.GetBoundingBox())
    if d.GetClass() == "PCB_TEXT":
        return [d.GetLayerName(), d.GetText(), *_xy(d.GetPosition()), round(d.GetTextAngleDegrees(), 3), box]
    return [d.GetLayerName(), f"<{_shape(d)[0]}>", *_xy(d.GetStart()), 0.0, box]


# --- the schematic: where each symbol is drawn (for crops) ---------------------------------------------------

def read_schematic(path: Path) -> dict:
    """{"symbols": {ref: {"at": [x, y], "box": [x0, y0, x1, y1]}}} in nm of the sheet (KiCad's mm × 1e6)."""
    try:
        tree = sexpdata.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, sexpdata.ExpectClosingBracket, sexpdata.ExpectNothing) as e:
        raise ReviewError(f"{path}: not a KiCad schematic ({e})") from e
    symbols = {}
    for sym in children(tree, "symbol"):
        props = {str(p[1]): p for p in children(sym, "property")}
        ref = props.get("Reference")
        if ref is None or str(ref[2]).startswith("#"):  # power symbols and flags carry #PWR…, #FLG…
            continue
        x, y = (round(float(v) * 1e6) for v in children(sym, "at")[0][1:3])
        xs, ys = [x - SHEET_BOX_NM, x + SHEET_BOX_NM], [y - SHEET_BOX_NM, y + SHEET_BOX_NM]
        for name in ("Reference", "Value"):
            at = children(props[name], "at") if name in props else []
            if at:  # the text runs right from its anchor
                xs += [round(float(at[0][1]) * 1e6), round(float(at[0][1]) * 1e6) + TEXT_RUN_NM]
                ys.append(round(float(at[0][2]) * 1e6))
        symbols[str(ref[2])] = {"at": [x, y], "box": [min(xs), min(ys), max(xs), max(ys)]}
    return {"symbols": symbols}
