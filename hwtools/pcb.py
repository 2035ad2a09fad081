"""Build the KiCad 9 board with KiCad's own `pcbnew` module: footprints, nets, placement, outline, silk.

The board is made from the project's netlist (`kicad/p1reader.net`, KiCad's export of the generated
schematic), so footprints carry the same symbol links, values, fields and net names that DRC's schematic
parity compares against. Routing is a separate step (`routing.py`).
"""

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import sexpdata

from . import kicadlibs, layout, project
from .errors import HwtoolsError
from .fabrules import (DESIGN_VIA_DIAMETER_MM, DESIGN_VIA_DRILL_MM, POUR_CLEARANCE_MM, SILK_HEIGHT_MM,
                       SILK_STROKE_MM, TRACK_POWER_MM, TRACK_SIGNAL_MM)
from .sexpr import children, value

GND = "GND"
# Power symbols name global nets; USB_5V is a label. In the order they are routed (GND is the pour's).
POWER_NETS = ("P1_5V", "+5V", "+3V3", "/USB_5V", GND)

BOM_NOTE = "BOM note"  # a part's field (hwtools/circuit.py) that becomes its BOM line's description


class LayoutError(HwtoolsError):
    """Placement or board construction problem, naming the parts involved."""


@dataclass
class NetlistPart:
    ref: str
    value: str
    footprint: str
    uuid: str
    fields: dict


def read_netlist(path: Path):
    """Parts and {(ref, pad): net name} from a KiCad s-expression netlist."""
    tree = sexpdata.loads(path.read_text(encoding="utf-8"))
    parts = {}
    for comp in children(children(tree, "components")[0], "comp"):
        fields = {value(f, "name"): f[2] if len(f) > 2 else ""
                  for f in (children(children(comp, "fields")[0], "field") if children(comp, "fields") else [])}
        ref = value(comp, "ref")
        parts[ref] = NetlistPart(ref, value(comp, "value"), value(comp, "footprint"), value(comp, "tstamps"), fields)
    pad_nets = {}
    for net in children(children(tree, "nets")[0], "net"):
        name = value(net, "name")
        for node in children(net, "node"):
            pad_nets[(value(node, "ref"), str(value(node, "pin")))] = name
    return parts, pad_nets


def _mm(v):
    import pcbnew

    return pcbnew.FromMM(v)


def _point(x, y):
    import pcbnew

    return pcbnew.VECTOR2I(_mm(layout.ORIGIN[0] + x), _mm(layout.ORIGIN[1] + y))


def load_footprint(lib_id: str, lib_dir: Path):
    """The footprint `Lib:Name` parsed from its one file (FootprintLoad would read the whole library folder)."""
    import pcbnew

    path = kicadlibs.footprint_file(lib_id, {project.NAME: lib_dir / f"{project.NAME}.pretty"})
    item = pcbnew.PCB_IO_KICAD_SEXPR().Parse(path.read_text(encoding="utf-8"))
    fp = pcbnew.Cast_to_FOOTPRINT(item) if item is not None else None
    if fp is None:
        raise LayoutError(f"footprint {lib_id}: KiCad could not load {path}")
    return fp


def build(netlist: Path, lib_dir: Path, board_path: Path, lay: "layout.Layout | None" = None):
    """A new BOARD for `board_path` with every part placed and every pad on its net (unrouted).

    pcbnew's NewBoard writes an empty board (and project) at the path it is given: pass the file this board
    will be saved to, never a committed one.
    """
    import pcbnew

    lay = lay or layout.for_variant()
    parts, pad_nets = read_netlist(netlist)
    places = {p.ref: p for p in lay.all_places()}
    missing = sorted(set(parts) - set(places))
    extra = sorted(set(places) - set(parts))
    if missing or extra:
        raise LayoutError("placement table and circuit differ: "
                          + "; ".join(filter(None, [missing and f"not placed: {', '.join(missing)}",
                                                    extra and f"placed but not in the circuit: {', '.join(extra)}"])))
    board = pcbnew.NewBoard(str(board_path))
    nets = {}
    for name in sorted(set(pad_nets.values())):
        nets[name] = pcbnew.NETINFO_ITEM(board, name)
        board.Add(nets[name])
    for ref in sorted(parts, key=lambda r: (r.rstrip("0123456789"), int(r[len(r.rstrip('0123456789')):]))):
        part, place = parts[ref], places[ref]
        fp = load_footprint(part.footprint, lib_dir)
        fp.SetFPIDAsString(part.footprint)
        fp.SetReference(ref)
        fp.SetValue(part.value)
        fp.SetPath(pcbnew.KIID_PATH(f"/{part.uuid}"))
        for key in ("MPN", "Manufacturer"):
            if part.fields.get(key):
                field = pcbnew.PCB_FIELD(fp, fp.GetNextFieldId(), key)
                field.SetText(part.fields[key])
                field.SetVisible(False)
                field.SetLayer(pcbnew.F_Fab)
                fp.AddField(field)
        if part.fields.get(BOM_NOTE):  # what the BOM line says instead of the footprint's own description
            fp.GetFieldByName("Description").SetText(part.fields[BOM_NOTE])
        if part.fields.get("exclude_from_bom") == "yes" or ref.startswith("H"):
            fp.SetExcludedFromBOM(True)
        board.Add(fp)
        if place.side == "bottom":
            fp.Flip(fp.GetPosition(), pcbnew.FLIP_DIRECTION_LEFT_RIGHT)
        fp.SetPosition(_point(place.x, place.y))
        fp.SetOrientationDegrees(place.rotation)
        for pad in fp.Pads():
            name = pad_nets.get((ref, pad.GetNumber()))
            if name:
                pad.SetNet(nets[name])
    _outline(board, lay)
    title = board.GetTitleBlock()  # read by the Gerber job file and the interactive BOM
    title.SetTitle(f"{project.NAME} - P1 readout board")
    title.SetRevision(project.REVISION)
    title.SetCompany(project.NAME)
    board.SetCopperLayerCount(2)
    settings = board.GetDesignSettings()
    settings.SetAuxOrigin(_point(0, 0))
    settings.SetGridOrigin(_point(0, 0))
    return board


def _outline(board, lay):
    import pcbnew

    corners = [(0, 0), (lay.width, 0), (lay.width, lay.height), (0, lay.height)]
    for i, (x, y) in enumerate(corners):
        seg = pcbnew.PCB_SHAPE(board, pcbnew.SHAPE_T_SEGMENT)
        seg.SetStart(_point(x, y))
        seg.SetEnd(_point(*corners[(i + 1) % 4]))
        seg.SetLayer(pcbnew.Edge_Cuts)
        seg.SetWidth(_mm(0.1))
        board.Add(seg)


def check_placement(board, lay=None):
    """Courtyards must not overlap each other nor leave the outline; names every offending part."""
    import pcbnew

    lay = lay or layout.for_variant()
    problems = []
    outline = pcbnew.BOX2I(_point(0, 0), pcbnew.VECTOR2L(_mm(lay.width), _mm(lay.height)))
    fps = sorted(board.GetFootprints(), key=lambda f: f.GetReference())
    yards = {}
    for fp in fps:
        fp.BuildCourtyardCaches()
        yard = fp.GetCourtyard(pcbnew.F_CrtYd if not fp.IsFlipped() else pcbnew.B_CrtYd)
        yards[fp.GetReference()] = yard
        # the jacks' mouths and the USB end sit on their edges on purpose
        if not outline.Contains(yard.BBox()) and fp.GetReference() not in ("J2", "J4", "M1"):
            problems.append(f"{fp.GetReference()} leaves the board outline")
    for a, b in combinations(yards, 2):
        if yards[a].OutlineCount() and yards[b].OutlineCount() and yards[a].Collide(yards[b].Outline(0)):
            problems.append(f"{a} overlaps {b}")
    return problems


def router_inputs(board):
    """Pads (with nets and shapes), NPTH holes, through-hole bodies and via keep-outs of a placed board,
    in board mm (what routing.Router takes)."""
    import pcbnew

    from .geometry import convex_hull, fab_hull, is_through_hole, silk_boxes
    from .routing import Body, Pad

    pads, holes, bodies, keepouts = [], [], [], []
    for fp in sorted(board.GetFootprints(), key=lambda f: f.GetReference()):
        nets = set()
        for pad in fp.Pads():
            pos = pad.GetPosition()
            x, y = pcbnew.ToMM(pos.x) - layout.ORIGIN[0], pcbnew.ToMM(pos.y) - layout.ORIGIN[1]
            if pad.GetAttribute() == pcbnew.PAD_ATTRIB_NPTH:
                holes.append((x, y, pcbnew.ToMM(pad.GetDrillSize().x)))
                continue
            sx, sy = pcbnew.ToMM(pad.GetSize(pcbnew.F_Cu).x), pcbnew.ToMM(pad.GetSize(pcbnew.F_Cu).y)
            if round(pad.GetOrientationDegrees()) % 180 == 90:
                sx, sy = sy, sx
            net = pad.GetNetname() or f"~{fp.GetReference()}.{pad.GetNumber()}"
            nets.add(net)
            round_shape = pad.GetShape(pcbnew.F_Cu) == pcbnew.PAD_SHAPE_CIRCLE
            layers = tuple(i for i, layer in enumerate((pcbnew.F_Cu, pcbnew.B_Cu)) if pad.IsOnLayer(layer))
            pads.append(Pad(fp.GetReference(), pad.GetNumber(), net, x, y, sx, sy, round_shape, layers))
        if fp.GetReference() not in layout.SOCKETED and is_through_hole(fp):
            hull = _board_mm(fab_hull(fp))
            if len(hull) >= 3:
                bodies.append(Body(fp.GetReference(), hull, frozenset(nets)))
        fp.BuildCourtyardCaches()
        for layer in (pcbnew.F_CrtYd, pcbnew.B_CrtYd):
            yard = fp.GetCourtyard(layer)
            for i in range(yard.OutlineCount()):
                outline = yard.Outline(i)
                pts = [(pcbnew.ToMM(outline.CPoint(j).x), pcbnew.ToMM(outline.CPoint(j).y))
                       for j in range(outline.PointCount())]
                keepouts.append(_board_mm(convex_hull(pts)))
    for x0, y0, x1, y1 in silk_boxes(board):
        keepouts.append(_board_mm([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))
    return pads, holes, bodies, keepouts


def _board_mm(points):
    return [(x - layout.ORIGIN[0], y - layout.ORIGIN[1]) for x, y in points]


def track_width(net):
    return TRACK_POWER_MM if net in POWER_NETS else TRACK_SIGNAL_MM


def route(board, lay):
    """Route every net with the grid router and add the tracks and vias to the board; GND gets tracks only
    to pads the B.Cu pour cannot reach (listed in the returned routes' `pour_tracks`)."""
    import pcbnew

    from .routing import Router

    pads, holes, bodies, keepouts = router_inputs(board)
    router = Router(lay.width, lay.height, pads, holes, track_width, bodies, keepouts)
    nets = {p.net for p in pads}
    # power first (widest, most pads), then signals by name; GND is the pour's (routing.route_to_pour)
    for net in [n for n in POWER_NETS if n in nets and n != GND]:
        router.route_net(net)
    for net in sorted(n for n in nets if n not in POWER_NETS and not n.startswith(("unconnected", "~"))):
        router.route_net(net)
    if GND in nets:
        router.route_to_pour(GND)
    nets = board.GetNetsByName()
    layer_ids = {"F.Cu": pcbnew.F_Cu, "B.Cu": pcbnew.B_Cu}
    for seg in router.routes.segments:
        track = pcbnew.PCB_TRACK(board)
        track.SetStart(_point(*seg.start))
        track.SetEnd(_point(*seg.end))
        track.SetWidth(_mm(seg.width))
        track.SetLayer(layer_ids[seg.layer])
        track.SetNet(nets[seg.net])
        board.Add(track)
    for via in router.routes.vias:
        v = pcbnew.PCB_VIA(board)
        v.SetPosition(_point(*via.at))
        v.SetWidth(_mm(DESIGN_VIA_DIAMETER_MM))
        v.SetDrill(_mm(DESIGN_VIA_DRILL_MM))
        v.SetLayerPair(pcbnew.F_Cu, pcbnew.B_Cu)
        v.SetNet(nets[via.net])
        board.Add(v)
    return router.routes


def add_ground_pours(board, lay):
    """A GND zone on B.Cu over the whole board with thermal reliefs on pads (filled after reloading)."""
    import pcbnew

    gnd = board.GetNetsByName()[GND]
    inset = 0.5
    corners = [(inset, inset), (lay.width - inset, inset), (lay.width - inset, lay.height - inset),
               (inset, lay.height - inset)]
    zone = pcbnew.ZONE(board)  # one pour, on B.Cu: on F.Cu the tracks would cut it into islands
    zone.SetLayer(pcbnew.B_Cu)
    zone.SetNet(gnd)
    outline = zone.Outline()
    outline.NewOutline()
    for x, y in corners:
        p = _point(x, y)
        outline.Append(p.x, p.y)
    zone.SetLocalClearance(_mm(POUR_CLEARANCE_MM))
    zone.SetMinThickness(_mm(0.25))
    zone.SetPadConnection(pcbnew.ZONE_CONNECTION_THERMAL)
    zone.SetThermalReliefGap(_mm(0.5))
    zone.SetThermalReliefSpokeWidth(_mm(0.5))
    zone.SetIslandRemovalMode(pcbnew.ISLAND_REMOVAL_MODE_ALWAYS)
    board.Add(zone)


def add_silkscreen(board, lay):
    """Product name and revision, the P1 mark at the jack, jumper and I2C labels, every D32 pin's name
    (never on pads); references on the parts' bodies, where they cannot collide with a neighbour's."""
    import pcbnew

    for fp in board.GetFootprints():
        ref = fp.Reference()
        if fp.GetReference().startswith("H"):
            ref.SetVisible(False)  # mounting holes need no name on the board
            continue
        if fp.GetReference() in lay.reference_at:
            ref.SetPosition(_point(*lay.reference_at[fp.GetReference()]))
        else:
            ref.SetPosition(fp.GetCourtyard(pcbnew.F_CrtYd).BBox().Centre())
        ref.SetTextAngleDegrees(0)

    for text, x, y, size, angle in lay.silkscreen:
        _silk_text(board, text, _point(x, y), size, angle)
    _d32_labels(board, lay.d32_labels)


D32_LABEL_GAP_MM = 0.3  # from the module's courtyard


def _d32_labels(board, labels):
    """Each D32 pin's name beside the module's outline, in line with the pin, where a fitted module does
    not hide it: the row nearer the top reads upward from above the outline, the other from below it."""
    import pcbnew

    m1 = next((fp for fp in board.GetFootprints() if fp.GetReference() == "M1"), None)
    if m1 is None:
        return
    m1.BuildCourtyardCaches()
    yard = m1.GetCourtyard(pcbnew.F_CrtYd).BBox()
    gap = _mm(D32_LABEL_GAP_MM)
    for pad in sorted(m1.Pads(), key=lambda p: int(p.GetNumber())):
        text = labels.get(int(pad.GetNumber()))
        if not text:
            continue
        above = pad.GetPosition().y < yard.Centre().y
        at = pcbnew.VECTOR2I(pad.GetPosition().x, yard.GetTop() - gap if above else yard.GetBottom() + gap)
        t = _silk_text(board, text, at, SILK_HEIGHT_MM, 90)  # the smallest text AISLER prints
        t.SetHorizJustify(pcbnew.GR_TEXT_H_ALIGN_LEFT if above else pcbnew.GR_TEXT_H_ALIGN_RIGHT)


def _silk_text(board, text, at, size, angle):
    import pcbnew

    t = pcbnew.PCB_TEXT(board)
    t.SetText(text)
    t.SetLayer(pcbnew.F_SilkS)
    t.SetPosition(at)
    t.SetTextSize(pcbnew.VECTOR2I(_mm(size), _mm(size)))
    t.SetTextThickness(_mm(max(SILK_STROKE_MM, size * 0.15)))
    t.SetTextAngleDegrees(angle)
    board.Add(t)
    return t
