"""The committed boards, read back with pcbnew, pass what a reviewer checks (hwtools/board_review.py) — with
figures — and each check catches the fault it is about when one track, via or text is moved on a copy."""

import functools
import json
import shutil
from collections import defaultdict

import pytest

from hwtools import board_review, fabrules, layout, pcb
from hwtools.variant import P1, get as get_variant
import required
from pcb_paths import KICAD, REPO

pcbnew = required.module("pcbnew")

BOARDS = {"p1": KICAD / "p1reader.kicad_pcb", "p1s1": KICAD / "p1s1" / "p1reader.kicad_pcb"}
FAB = {"p1": REPO / "gerbers", "p1s1": REPO / "gerbers" / "p1s1"}
# the longest a net may be routed against the minimum spanning tree of its pads (issue 26: a reviewer's "routed twice
# its spanning tree" is a detour)
MST_RATIO_MAX = 1.8
REV13 = REPO / "tests" / "data" / "rev-1.3" / "kicad" / "p1reader.kicad_pcb"
# GND pads whose track to the pour may be longer than 3 mm, and why: on rev 1.3's p1, J3.1 sits in a pocket of
# the pour closed by the Data Request tracks, and the nearest via spot clear of courtyards and silk is 6.5 mm away;
# rev 1.4's D3 (SMD, top) sits between the jack and R2/R3 to be within 10 mm of copper of pins 2 and 5: the nearest
# via spot clear of the courtyards around it is 4-5 mm from its GND pad; since rev 1.4's D5 (power-path) the router's
# bottom tracks around U2 close the pour's pocket at U2.2, whose track to the pour is 4.7 mm
LONGER_GND_TRACK_MM = {"J3.1": 7.0, "D3.3": 5.0, "U2.2": 5.0}


@pytest.fixture(scope="module", params=sorted(BOARDS))
def reviewed(request):
    variant = request.param
    return variant, board_review.review(BOARDS[variant], layout.d32_pin_labels(get_variant(variant)))


def test_tracks_are_octilinear_without_jogs_or_overlaps(reviewed):
    _, f = reviewed
    assert f["segments"] > 20
    assert (f["off_45_segments"], f["short_jogs"], f["overlapping_pairs"], f["unmerged_collinear_pairs"]) == (0, 0, 0, 0)


def test_no_via_in_a_courtyard_or_under_silk(reviewed):
    _, f = reviewed
    assert (f["vias_in_courtyards"], f["vias_under_silk"]) == (0, 0)


def test_no_top_copper_under_foreign_through_hole_bodies(reviewed):
    _, f = reviewed
    assert f["fcu_under_foreign_bodies_mm"] == 0, f["fcu_under_foreign_bodies"]


def added_copper_mm(path, base) -> float:
    """The least copper the parts `path` has and the board `base` had not add: the minimum spanning trees of every
    non-GND net's pads with them, less those without them — an I2C level shifter's MOSFET joining its drain's net to
    its source's (the base wired J1 straight to the ESP32). 0 for the base itself."""
    base_refs = {fp.GetReference() for fp in pcbnew.LoadBoard(str(base)).GetFootprints()}
    board = pcbnew.LoadBoard(str(path))
    joined = {}  # a new MOSFET's drain net → its source net
    for fp in board.GetFootprints():
        if fp.GetReference() not in base_refs and fp.GetValue() == "BSS138":
            pads = {p.GetNumber(): p.GetNetname() for p in fp.Pads()}
            joined[pads["3"]] = pads["2"]
    with_them, without = defaultdict(list), defaultdict(list)
    for pad in board.GetPads():
        net, ref = pad.GetNetname(), pad.GetParentFootprint().GetReference()
        if net and net.lstrip("/") != "GND":
            xy = (pcbnew.ToMM(pad.GetPosition().x), pcbnew.ToMM(pad.GetPosition().y))
            with_them[net].append(xy)
            if ref in base_refs:
                without[joined.get(net, net)].append(xy)
    return sum(board_review._mst_mm(sorted(v)) for v in with_them.values()) - sum(
        board_review._mst_mm(sorted(v)) for v in without.values())


def test_gnd_is_the_pour_and_tracks_are_short(reviewed):
    variant, f = reviewed
    # GND pads reach the B.Cu pour through thermal reliefs; only a pad the pour cannot reach (an SMD pad on top,
    # or one cut off by bottom tracks) gets a short track to a via in the pour
    allowed = sum(LONGER_GND_TRACK_MM.get(pad, 3.0) for pad in f["gnd_track_pads"])
    assert f["gnd_track_length_mm"] <= allowed, f["gnd_track_pads"]
    if variant == "p1":  # no detours: no longer than rev 1.3's routing plus the least copper rev 1.4's new parts need
        assert f["non_gnd_length_mm"] < rev13_length_mm() + added_copper_mm(BOARDS[variant], REV13)


@functools.cache
def rev13_length_mm() -> float:
    return board_review.review(REV13)["non_gnd_length_mm"]


def test_the_allowance_is_the_new_parts_copper_only():
    """The allowance is what rev 1.4's new parts (test points, ESD parts, D5, the shifter) add to the spanning trees:
    0 against the board itself; more than a few parts need, less than rev 1.3's whole routing."""
    assert added_copper_mm(REV13, REV13) == 0
    assert 100 < added_copper_mm(BOARDS["p1"], REV13) < rev13_length_mm()


def test_every_net_is_routed_within_its_spanning_tree_ratio(reviewed):
    _, f = reviewed
    ratios = f["net_length_over_mst"]
    assert len(ratios) > 10 and "P1_5V" in ratios
    assert {net: r for net, r in ratios.items() if r > MST_RATIO_MAX} == {}


def test_no_silkscreen_text_on_text_or_pads(reviewed):
    _, f = reviewed
    assert (f["silk_text_over_text"], f["silk_text_over_pads"]) == ([], [])


def test_the_rev13_board_fails_the_detour_and_text_figures():
    """What the rev 1.4 review saw on rev 1.3: Net-(Q2-B) routed ~2× its spanning tree, "3-4 FROM REG" run into
    "p1reader v1.3"."""
    f = board_review.review(REV13)
    assert f["net_length_over_mst"]["Net-(Q2-B)"] > MST_RATIO_MAX
    assert "3-4 FROM REG / p1reader v1.3" in f["silk_text_over_text"]


def test_a_text_moved_onto_a_pad_is_counted(copy):
    path, board = copy
    text = next(d for d in board.GetDrawings() if isinstance(d, pcbnew.PCB_TEXT) and d.GetText() == "P1")
    text.SetPosition(_footprint(board, "R1").Pads()[0].GetPosition())
    assert any(entry.startswith("P1 / R1.") for entry in _review(path, board)["silk_text_over_pads"])


def test_a_detour_is_counted(copy):
    path, board = copy
    track = max(_tracks(board, "/RX"), key=lambda t: t.GetLength())
    detour = pcbnew.PCB_TRACK(board)
    detour.SetStart(track.GetEnd())
    detour.SetEnd(track.GetEnd() + _mm(0, 150))
    detour.SetLayer(track.GetLayer())
    detour.SetNet(track.GetNet())
    board.Add(detour)
    assert _review(path, board)["net_length_over_mst"]["/RX"] > MST_RATIO_MAX


def test_power_is_wide_and_signals_are_not_thin(reviewed):
    _, f = reviewed
    for net, width in f["track_widths_mm"].items():
        assert width >= (fabrules.TRACK_POWER_MM if net in pcb.POWER_NETS else fabrules.TRACK_SIGNAL_MM), net
    assert {"P1_5V", "+3V3"} <= set(f["track_widths_mm"])


def test_every_d32_pin_is_named_beside_the_module(reviewed):
    variant, f = reviewed
    labels = layout.d32_pin_labels(get_variant(variant))
    assert f["d32_pins_labelled"] == list(range(1, 33))
    assert labels[22] == "IO16 P1 RX" and labels[5] == "IO12 DATA REQ"


def test_power_legend_says_every_supply_works(reviewed):
    """Rev 1.4 has no power jumper (power-path): the legend names the three ways the board is powered, and none of
    rev 1.3's shunt legends is left."""
    variant, _ = reviewed
    board = pcbnew.LoadBoard(str(BOARDS[variant]))
    texts = {d.GetText(): d for d in board.GetDrawings() if isinstance(d, pcbnew.PCB_TEXT)}
    assert {"PWR: P1, USB OR BOTH", "1"} <= set(texts)
    assert not {"1-2 D32 REG OFF", "3-4 FROM REG", "NEVER 1-3", "ESP32 PWR"} & set(texts)
    for t in board.GetDrawings():
        if isinstance(t, pcbnew.PCB_TEXT) and t.GetLayer() == pcbnew.F_SilkS:
            assert pcbnew.ToMM(t.GetTextHeight()) >= 0.8, t.GetText()


def test_silkscreen_under_a_quarter_of_each_side():
    for variant, out in FAB.items():
        for side in ("F_Silkscreen.gto", "B_Silkscreen.gbo"):
            share = board_review.silk_coverage(out / f"p1reader-{side}", out / "p1reader-Edge_Cuts.gm1")
            assert share < 0.25, (variant, side, share)
        assert board_review.silk_coverage(out / "p1reader-F_Silkscreen.gto", out / "p1reader-Edge_Cuts.gm1") > 0.01


def test_job_file_states_the_stackup_ordered():
    for out in FAB.values():
        job = json.loads((out / "p1reader-job.gbrjob").read_text(encoding="utf-8"))
        specs = job["GeneralSpecs"]
        assert specs["Finish"] == "HAL lead-free"
        assert specs["BoardThickness"] == pytest.approx(1.6)
        copper = [layer for layer in job["MaterialStackup"] if layer["Type"] == "Copper"]
        assert [c["Thickness"] for c in copper] == [pytest.approx(0.035)] * 2


# --- each check catches its fault: one item moved on a copy of the p1 board --------------------------

@pytest.fixture
def copy(tmp_path):
    path = tmp_path / "p1reader.kicad_pcb"
    shutil.copyfile(BOARDS["p1"], path)
    board = pcbnew.LoadBoard(str(path))
    return path, board


def _mm(x, y):
    return pcbnew.VECTOR2I(pcbnew.FromMM(x), pcbnew.FromMM(y))


def _tracks(board, net=None, layer=None):
    return [t for t in board.GetTracks() if t.GetClass() == "PCB_TRACK" and (net is None or t.GetNetname() == net)
            and (layer is None or t.GetLayer() == layer)]


def _footprint(board, ref):
    return next(fp for fp in board.GetFootprints() if fp.GetReference() == ref)


def _review(path, board):
    board.Save(str(path))
    return board_review.review(path, layout.d32_pin_labels(P1))


def test_a_track_bent_off_45_degrees_is_counted(copy):
    path, board = copy
    t = max(_tracks(board), key=lambda t: t.GetLength())
    t.SetEnd(t.GetEnd() + _mm(0.3, 0.1))
    assert _review(path, board)["off_45_segments"] >= 1


def test_a_short_jog_away_from_pads_is_counted(copy):
    path, board = copy
    t = _tracks(board)[0]
    t.SetStart(_mm(100 + 60, 100 + 30))  # under the module, away from every pad
    t.SetEnd(_mm(100 + 60.3, 100 + 30))
    assert _review(path, board)["short_jogs"] == 1


def test_a_track_moved_onto_its_neighbour_is_an_overlap(copy):
    path, board = copy
    a, b = sorted(_tracks(board, layer=pcbnew.F_Cu), key=lambda t: -t.GetLength())[:2]
    b.SetNet(a.GetNet())
    b.SetStart(a.GetStart())
    b.SetEnd(a.GetStart() + (a.GetEnd() - a.GetStart()) / 2)
    assert _review(path, board)["overlapping_pairs"] >= 1


def test_a_via_moved_into_a_courtyard_and_onto_silk_is_counted(copy):
    path, board = copy
    via = next(t for t in board.GetTracks() if t.GetClass() == "PCB_VIA")
    via.SetPosition(_footprint(board, "R1").Reference().GetPosition())
    f = _review(path, board)
    assert f["vias_in_courtyards"] >= 1 and f["vias_under_silk"] == 1


def test_a_top_track_moved_under_a_resistor_body_is_measured(copy):
    # R5: no copper of its own under its body (KiCad re-nets a loose track lying on another net's copper when it
    # reads the board back, as it would under R1, whose data track runs between its pads)
    path, board = copy
    r1 = _footprint(board, "R5")
    t = next(t for t in _tracks(board, layer=pcbnew.F_Cu)
             if t.GetNetCode() not in {p.GetNetCode() for p in r1.Pads()})
    centre = r1.GetBoundingBox(False).Centre()
    t.SetStart(centre - _mm(2, 0))
    t.SetEnd(centre + _mm(2, 0))
    f = _review(path, board)
    assert f["fcu_under_foreign_bodies_mm"] >= 3.9
    assert any(key.endswith("under R5") for key in f["fcu_under_foreign_bodies"])


def test_a_track_moved_to_gnd_is_gnd_track(copy):
    path, board = copy
    before = _review(path, board)["gnd_track_length_mm"]
    t = next(t for t in _tracks(board) if t.GetNetname() != pcb.GND)
    t.SetStart(_mm(100 + 60, 100 + 30))  # on its own (pcbnew gives a track touching a pad that pad's net)
    t.SetEnd(_mm(100 + 62, 100 + 30))
    t.SetNet(board.GetNetsByName()[pcb.GND])
    assert _review(path, board)["gnd_track_length_mm"] == pytest.approx(before + 2.0)


def test_a_pin_label_moved_onto_the_module_no_longer_counts(copy):
    path, board = copy
    label = next(d for d in board.GetDrawings() if isinstance(d, pcbnew.PCB_TEXT) and d.GetText() == "IO16 P1 RX")
    label.SetPosition(_footprint(board, "M1").GetPosition())
    assert 22 not in _review(path, board)["d32_pins_labelled"]
