"""The AISLER rules file is live: a small board that breaks each rule once gets each break reported by
kicad-cli's DRC, named after the rule — and the same board without the rules file does not."""

import json

import pytest

import required
from hwtools import fabrules, kicad_cli

pcbnew = required.module("pcbnew")


def mm(v):
    return pcbnew.FromMM(v)


def pt(x, y):
    return pcbnew.VECTOR2I(mm(x), mm(y))


def _net(board, name):
    net = pcbnew.NETINFO_ITEM(board, name)
    board.Add(net)
    return net


def _pad(board, x, y, size, drill, plated=True, net=None):
    fp = pcbnew.FOOTPRINT(board)
    fp.SetPosition(pt(x, y))
    board.Add(fp)
    pad = pcbnew.PAD(fp)
    pad.SetAttribute(pcbnew.PAD_ATTRIB_PTH if plated else pcbnew.PAD_ATTRIB_NPTH)
    pad.SetShape(pcbnew.PAD_SHAPE_CIRCLE)
    pad.SetSize(pcbnew.F_Cu, pcbnew.VECTOR2I(mm(size), mm(size)))
    pad.SetDrillSize(pcbnew.VECTOR2I(mm(drill), mm(drill)))
    pad.SetLayerSet(pad.PTHMask() if plated else pad.UnplatedHoleMask())
    pad.SetNumber("1" if plated else "")
    pad.SetPosition(pt(x, y))
    if net is not None:
        pad.SetNet(net)
    fp.Add(pad)
    return pad


def _track(board, a, b, width, net, layer=pcbnew.F_Cu):
    t = pcbnew.PCB_TRACK(board)
    t.SetStart(pt(*a))
    t.SetEnd(pt(*b))
    t.SetWidth(mm(width))
    t.SetLayer(layer)
    t.SetNet(net)
    board.Add(t)


def _via(board, x, y, size, drill, net):
    v = pcbnew.PCB_VIA(board)
    v.SetPosition(pt(x, y))
    v.SetWidth(mm(size))
    v.SetDrill(mm(drill))
    v.SetNet(net)
    board.Add(v)


def _text(board, x, y, height, thickness, words):
    t = pcbnew.PCB_TEXT(board)
    t.SetText(words)
    t.SetLayer(pcbnew.F_SilkS)
    t.SetPosition(pt(x, y))
    t.SetTextSize(pcbnew.VECTOR2I(mm(height), mm(height)))
    t.SetTextThickness(mm(thickness))
    board.Add(t)


def rule_breaking_board(path):
    """One break per rule, each in its own corner of a 60 × 60 mm board, far from the others."""
    board = pcbnew.NewBoard(str(path))
    for a, b in [((0, 0), (60, 0)), ((60, 0), (60, 60)), ((60, 60), (0, 60)), ((0, 60), (0, 0))]:
        edge = pcbnew.PCB_SHAPE(board, pcbnew.SHAPE_T_SEGMENT)
        edge.SetStart(pt(*a))
        edge.SetEnd(pt(*b))
        edge.SetLayer(pcbnew.Edge_Cuts)
        edge.SetWidth(mm(0.1))
        board.Add(edge)
    a, b = _net(board, "A"), _net(board, "B")
    _track(board, (5, 5), (15, 5), 0.15, a)                      # track width < 0.20
    _track(board, (5, 10), (15, 10), 0.25, a)                    # clearance < 0.15 between A and B
    _track(board, (5, 10.35), (15, 10.35), 0.25, b)
    _track(board, (20, 0.3), (30, 0.3), 0.25, a)                 # copper 0.175 mm from the edge
    _pad(board, 40, 10, 3.0, 3.0, plated=False)                  # NPTH with a track 0.1 mm away
    _track(board, (41.7, 5), (41.7, 15), 0.2, b)
    _pad(board, 10, 25, 1.2, 0.4, net=a)                         # PTH drill < 0.5
    _pad(board, 20, 25, 1.2, 0.8, net=a)                         # PTH annular ring 0.2 < 0.3
    _pad(board, 30, 25, 0.4, 0.4, plated=False)                  # NPTH drill < 0.5
    _via(board, 40, 25, 0.8, 0.25, a)                            # via drill < 0.3
    _via(board, 50, 25, 0.7, 0.45, b)                            # via annular ring 0.125 < 0.2
    _pad(board, 10, 40, 1.6, 0.8, net=a)                         # two holes 0.3 mm apart
    _pad(board, 11.1, 40, 1.6, 0.8, net=b)
    _text(board, 30, 40, 1.0, 0.1, "THIN")                       # silk stroke < 0.15
    _text(board, 45, 40, 0.6, 0.15, "LOW")                       # silk height < 0.8
    board.Save(str(path))


# Board-level minimums and the default net class at zero, so that only the rules file can object.
PERMISSIVE_PROJECT = {
    "meta": {"filename": "t.kicad_pro", "version": 3},
    "board": {"design_settings": {"meta": {"version": 2}, "rules": {
        "min_clearance": 0.0, "min_track_width": 0.0, "min_copper_edge_clearance": 0.0, "min_hole_clearance": 0.0,
        "min_hole_to_hole": 0.0, "min_through_hole_diameter": 0.0, "min_via_annular_width": 0.0,
        "min_via_diameter": 0.0, "min_text_height": 0.0, "min_text_thickness": 0.0, "min_silk_clearance": 0.0}}},
    "net_settings": {"meta": {"version": 4}, "classes": [
        {"name": "Default", "clearance": 0.0, "track_width": 0.1, "via_diameter": 0.6, "via_drill": 0.3,
         "priority": 2147483647}]},
}


def _drc(tmp_path, with_rules):
    board = tmp_path / "t.kicad_pcb"
    rule_breaking_board(board)
    (tmp_path / "t.kicad_pro").write_text(json.dumps(PERMISSIVE_PROJECT), encoding="utf-8")
    if with_rules:
        (tmp_path / "t.kicad_dru").write_text(fabrules.dru_text(), encoding="utf-8")
    kicad_cli.run("pcb", "drc", "--format", "json", "--severity-all", "-o", tmp_path / "drc.json", board)
    report = json.loads((tmp_path / "drc.json").read_text(encoding="utf-8"))
    return " ".join(v["description"] for v in report["violations"])


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    return _drc(tmp_path_factory.mktemp("with"), True), _drc(tmp_path_factory.mktemp("without"), False)


# kicad-cli 9.0.8 reports these two breaks as "board setup constraints" although only the rules file sets
# them (the board's own minimums are zero here); recognise them by the measured value instead.
SIGNATURE = {
    "AISLER track width >= 0.20 mm": "Track width (board setup constraints min width 0.2000 mm; actual 0.1500 mm)",
    "AISLER via drill 0.3-0.5 mm": "Hole size out of range (board setup constraints min hole 0.3000 mm; actual 0.2500 mm)",
}


@pytest.mark.parametrize("rule", [r[0] for r in fabrules.RULES])
def test_each_rule_is_reported(reported, rule):
    with_rules, without_rules = reported
    signature = SIGNATURE.get(rule, f"rule '{rule}'")
    assert signature in with_rules
    assert signature not in without_rules
