"""The committed board: DRC-clean with schematic parity, nets as the circuit says (read back with kiutils,
an independent reader), the outline and the placement habits of the proven board kept."""

import shutil

import pytest
from kiutils.board import Board as KiBoard

from hwtools import kicad_cli, layout, pcb, project
from hwtools.schematic.blocks import POWER_SYMBOLS
from hwtools.circuit import build_board
from pcb_paths import KICAD


@pytest.fixture(scope="module")
def drc_report(tmp_path_factory):
    copy = tmp_path_factory.mktemp("drc") / "kicad"
    shutil.copytree(KICAD, copy)
    return kicad_cli.drc(copy / "p1reader.kicad_pcb", copy / "drc.json")


@pytest.fixture(scope="module")
def kiboard():
    return KiBoard.from_file(str(KICAD / "p1reader.kicad_pcb"))


def test_drc_has_no_violations(drc_report):
    assert kicad_cli.active_violations(drc_report, ("error", "warning")) == []


def test_drc_has_no_unconnected_items(drc_report):
    assert drc_report["unconnected_items"] == []


def test_drc_schematic_parity_holds(drc_report):
    assert drc_report["schematic_parity"] == []


def test_every_pad_is_on_the_circuits_net(kiboard):
    """One board net per circuit net, named as the schematic names it: supplies by their power symbols,
    nets between blocks by their labels ("/RX"); a net drawn only with wires inside one block carries
    KiCad's own name ("Net-(Q1-B)")."""
    board = build_board()
    checked, board_nets = 0, {}
    for fp in kiboard.footprints:
        ref = fp.properties["Reference"]
        for pad in fp.pads:
            if pad.type == "np_thru_hole":
                continue
            if board.parts[ref][pad.number] is None:  # a pad the symbol has no pin for (U5's TO-92 pin 1: NC)
                assert pad.net is None or pad.net.name.startswith("unconnected-") or not pad.net.name, (ref, pad.number)
                continue
            want = board.net_of(ref, pad.number)
            got = pad.net.name if pad.net else ""
            if want is None:
                assert got == "" or got.startswith("unconnected-"), (ref, pad.number, got)
            else:
                assert got == (want if want in POWER_SYMBOLS else f"/{want}") or got.startswith("Net-("), \
                    (ref, pad.number, got, want)
                board_nets.setdefault(want, set()).add(got)
            checked += 1
    assert checked == sum(len(part.pins) for part in board.parts.values())
    assert all(len(names) == 1 for names in board_nets.values()), board_nets
    assert len({min(names) for names in board_nets.values()}) == len(board_nets), "two circuit nets merged"
    supplies = [n for n in POWER_SYMBOLS if n in board_nets]
    assert supplies and {n: board_nets[n] for n in supplies} == {n: {n} for n in supplies}


def test_outline_no_larger_than_the_original(kiboard):
    xs, ys = [], []
    for item in kiboard.graphicItems:
        if getattr(item, "layer", None) == "Edge.Cuts":
            xs += [item.start.X, item.end.X]
            ys += [item.start.Y, item.end.Y]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    assert (round(width, 3), round(height, 3)) == (layout.WIDTH, layout.HEIGHT)
    # the original's 114.9 × 60 mm, but for the current limit's band (rev 1.4, docs/rev-1.4.md: p1-peak-current)
    assert width <= 114.9 and height - layout.LIMIT_BAND_MM <= 60.0


LIMIT_PARTS = {"C1", "Q5", "U4", "U5", "R19", "R21", "R22", "R23", "R24", "R25", "R26", "C13", "C14"}


def test_the_band_the_outline_grew_by_holds_the_current_limit_and_nothing_else():
    """The reason the board is taller than rev 1.3: the band holds the limit's parts (and the bottom corner holes),
    and every one of them sits in it."""
    top = layout.HEIGHT - layout.LIMIT_BAND_MM
    in_band = {p.ref for p in layout.for_variant().all_places() if p.y > top}
    assert in_band == LIMIT_PARTS | {"H3", "H4"}
    assert LIMIT_PARTS <= set(build_board().parts)


def test_four_m3_holes_one_per_corner(kiboard):
    holes = [fp for fp in kiboard.footprints if fp.libId == "MountingHole:MountingHole_3.2mm_M3"]
    assert len(holes) == 4
    corners = {(fp.position.X < layout.ORIGIN[0] + layout.WIDTH / 2, fp.position.Y < layout.ORIGIN[1] + layout.HEIGHT / 2)
               for fp in holes}
    assert len(corners) == 4


def _courtyard_x(fp):
    xs = [c for g in fp.graphicItems if getattr(g, "layer", "") == "F.CrtYd" and hasattr(g, "start")
          for c in (g.start.X, g.end.X)]
    return min(xs), max(xs)


def test_jack_mouth_and_usb_end_on_their_edges(kiboard):
    """The RJ12 opens on the left edge, the D32's USB end (its -x end before rotation) on the right edge."""
    by_ref = {fp.properties["Reference"]: fp for fp in kiboard.footprints}
    j2, m1 = by_ref["J2"], by_ref["M1"]
    assert j2.position.angle % 360 == 270 and abs(j2.position.X - layout.ORIGIN[0] - 17.3) < 1e-6
    lo, hi = _courtyard_x(m1)  # footprint-local: the USB end is the low x end
    assert m1.position.angle % 360 == 180
    usb_end_x = m1.position.X - lo  # rotated by 180°: local -x becomes +x
    assert layout.ORIGIN[0] + layout.WIDTH - 1.0 < usb_end_x <= layout.ORIGIN[0] + layout.WIDTH + 0.5


def test_silkscreen_names_the_product_and_the_connectors(kiboard):
    texts = {t.text for t in kiboard.graphicItems if type(t).__name__ == "GrText" and t.layer == "F.SilkS"}
    assert {f"p1reader v{project.REVISION}", "P1", "PWR: P1, USB OR BOTH", "SCL SDA 5V GND", "1"} <= texts


def test_power_tracks_are_wide_and_signals_not_thin(kiboard):
    widths = {}
    for seg in kiboard.traceItems:
        if type(seg).__name__ == "Segment":
            widths.setdefault(kiboard.nets[seg.net].name if isinstance(seg.net, int) else seg.net, set()).add(seg.width)
    assert widths, "no tracks"
    for net, ws in widths.items():
        name = net if isinstance(net, str) else str(net)
        if name in pcb.POWER_NETS:
            assert min(ws) >= 0.5, name
        else:
            assert min(ws) >= 0.25, name


def test_j1_legend_starts_under_pin_1():
    """J1's "SCL SDA 5V GND" lies under its pins, its first letter under pin 1 (rev 1.3's started two pitches right of
    the pins); 0.8 mm text is wider than the three pitches, so only the first letter is aligned."""
    import pcbnew

    board = pcbnew.LoadBoard(str(KICAD / "p1reader.kicad_pcb"))
    (legend,) = [d for d in board.GetDrawings() if d.GetClass() == "PCB_TEXT" and d.GetText() == "SCL SDA 5V GND"]
    box = legend.GetBoundingBox()
    j1 = next(fp for fp in board.GetFootprints() if fp.GetReference() == "J1")
    pins = sorted(j1.Pads(), key=lambda p: int(p.GetNumber()))
    pin1, bottom = pins[0].GetPosition(), max(p.GetBoundingBox().GetBottom() for p in pins)
    char = box.GetWidth() / len(legend.GetText())
    assert box.GetLeft() <= pin1.x <= box.GetLeft() + char
    assert 0 < box.GetTop() - bottom <= pcbnew.FromMM(1.0)  # right under the pads, not on them
    assert {p.GetPosition().y for p in pins} == {pin1.y}  # the pins in a row above it
