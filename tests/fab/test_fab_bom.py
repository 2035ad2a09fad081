"""BOM and components.json from made-up parts: grouping, order, MPN rejection, AISLER's shape."""

import csv
import io
import json

import pytest

from hwtools.bom import BomError, Part, order_csv, bom_parts, bom_rows, components, components_json

R = "Resistor_THT:R_Axial_DIN0309_L9.0mm_D3.2mm_P12.70mm_Horizontal"


def part(ref, value="1 kOhm", footprint=R, mpn="MFR-50FBF52-1K", in_bom=True, **kw):
    fields = dict(manufacturer="Yageo", description="resistor", side="top", x_mm=1.0, y_mm=-2.0,
                  rotation=0.0, mount_type="tht")
    fields.update(kw)
    return Part(ref=ref, value=value, footprint=footprint, mpn=mpn, in_bom=in_bom, **fields)


def test_parts_are_grouped_by_value_footprint_and_mpn_in_natural_order():
    parts = [part("R10"), part("R2"), part("R3", value="2.2 kOhm", mpn="MFR-50FBF52-2K2"), part("C1", value="1 µF",
             footprint="Capacitor_THT:CP_Radial_D5.0mm_P2.50mm", mpn="UVR1H010MDD"), part("R1")]
    rows = bom_rows(parts)
    assert [(r["Qty"], r["Designators"]) for r in rows] == [(1, "C1"), (3, "R1 R2 R10"), (1, "R3")]
    text = order_csv(parts)
    back = list(csv.DictReader(io.StringIO(text)))
    assert back[1]["Designators"] == "R1 R2 R10" and back[1]["MPN"] == "MFR-50FBF52-1K"
    assert order_csv(list(reversed(parts))) == text, "input order must not matter"


def test_same_value_other_mpn_is_another_line():
    rows = bom_rows([part("R1"), part("R2", mpn="CFR-25JB-52-1K")])
    assert len(rows) == 2


@pytest.mark.parametrize("mpn", ["", "  ", "TBD", "~", "n/a", "?"])
def test_a_part_without_real_mpn_is_rejected_by_name(mpn):
    parts = [part("R1"), part("R7", mpn=mpn), part("C3", mpn="")]
    with pytest.raises(BomError) as e:
        bom_rows(parts)
    assert "R7" in str(e.value) and "C3" in str(e.value) and "R1" not in str(e.value)
    with pytest.raises(BomError):
        components_json(parts)


def test_excluded_from_bom_needs_no_mpn_and_is_left_out():
    parts = [part("H1", value="MountingHole_3.2mm_M3", mpn="", in_bom=False), part("R1")]
    assert [p.ref for p in bom_parts(parts)] == ["R1"]
    assert "H1" not in order_csv(parts)
    assert [c["designator"] for c in components(parts)] == ["R1"]


def test_components_json_shape():
    parts = [part("U1", footprint="Package_DIP:DIP-6_W7.62mm", value="4N35", mpn="4N35", side="bottom",
                  x_mm=32.0, y_mm=-42.0, rotation=-90.0, mount_type="tht")]
    entries = json.loads(components_json(parts))
    assert entries == [{"designator": "U1", "mpn": "4N35", "pack": "DIP-6_W7.62mm", "value": "4N35",
                        "side": "bottom", "pos_x": 32.0, "pos_y": -42.0, "rotation": -90.0, "mount_type": "tht",
                        "place": True}]


def test_do_not_place_footprints_are_not_placed():
    from hwtools.bom import _do_not_place

    board = ('(kicad_pcb\n\t(footprint "A"\n\t\t(property "Reference" "R1")\n\t\t(attr through_hole dnp)\n\t)'
             '\n\t(footprint "B"\n\t\t(property "Reference" "R2")\n\t\t(attr through_hole)\n\t)\n)')
    assert _do_not_place(board) == {"R1"}
    assert json.loads(components_json([part("R1", place=False)]))[0]["place"] is False


def test_read_parts_from_the_board_takes_the_aux_origin_and_y_up(tmp_path):
    """A two-footprint board written as KiCad writes it: positions from the aux origin, Y flipped,
    rotation folded into (-180, 180], the hole excluded from the BOM."""
    from hwtools.bom import read_parts

    pcb = tmp_path / "t.kicad_pcb"
    pcb.write_text("""(kicad_pcb (version 20241229) (generator "pcbnew") (generator_version "9.0")
  (general (thickness 1.6)) (paper "A4")
  (layers (0 "F.Cu" signal) (2 "B.Cu" signal) (25 "Edge.Cuts" user))
  (setup (aux_axis_origin 100 50))
  (footprint "Resistor_THT:R_Axial" (layer "B.Cu") (at 110.5 60 270)
    (property "Reference" "R1" (at 0 0 0) (layer "B.SilkS"))
    (property "Value" "1k" (at 0 0 0) (layer "B.Fab"))
    (property "MPN" "MFR-50FBF52-1K" (at 0 0 0) (layer "B.Fab") (hide yes))
    (property "Manufacturer" "Yageo" (at 0 0 0) (layer "B.Fab") (hide yes))
    (attr through_hole))
  (footprint "MountingHole:MountingHole_3.2mm_M3" (layer "F.Cu") (at 104 54)
    (property "Reference" "H1" (at 0 0 0) (layer "F.SilkS"))
    (property "Value" "hole" (at 0 0 0) (layer "F.Fab"))
    (attr exclude_from_pos_files exclude_from_bom)
    (pad "" np_thru_hole circle (at 0 0) (size 3.2 3.2) (drill 3.2) (layers "*.Cu" "*.Mask"))))
""")
    h1, r1 = read_parts(pcb)
    assert (r1.ref, r1.side, r1.x_mm, r1.y_mm, r1.rotation, r1.mount_type, r1.manufacturer) == \
        ("R1", "bottom", 10.5, -10.0, -90.0, "tht", "Yageo")
    assert (h1.ref, h1.in_bom, h1.mount_type) == ("H1", False, "tht")
    assert [c["designator"] for c in components([h1, r1])] == ["R1"]


@pytest.mark.parametrize("variant", ["p1", "p1s1"])
def test_parts_are_read_from_the_board_without_its_copper_and_footprint_drawings(variant):
    """read_parts skips tracks, vias, zones and the footprints' drawings and 3D models (two thirds of the
    file): the footprints' fields, pads and the setup read are the same."""
    import dataclasses

    from kiutils.board import Board
    from kiutils.utils.sexpr import parse_sexp

    from hwtools.bom import _parts_only
    from hwtools.variant import get

    pcb = get(variant).kicad_dir / "p1reader.kicad_pcb"
    full = Board.from_file(str(pcb))
    reduced = Board.from_sexpr(parse_sexp(_parts_only(pcb.read_text(encoding="utf-8"))))
    assert full.traceItems and full.zones, "the board has copper to skip"
    assert all(fp.graphicItems for fp in full.footprints) and any(fp.models for fp in full.footprints)
    assert reduced.traceItems == [] and reduced.zones == []
    assert reduced.footprints == [dataclasses.replace(fp, graphicItems=[], models=[]) for fp in full.footprints]
    assert reduced.setup == full.setup and reduced.graphicItems == full.graphicItems
