"""The committed schematics read like hand-drawn ones: no text on text or on the drawing, wires inside
blocks, labels only between blocks, power symbols for the supplies, junction dots where nets branch.

Text boxes are KiCad's own (its SVG export); the geometry is read back from the .kicad_sch.
"""

import json
import shutil

import pytest

from hwtools import kicad_cli, pcb
from hwtools.circuit import build_board
from hwtools.schematic import blocks
from hwtools.variant import get as get_variant

import schematic_measures as m
from design_paths import KICAD

VARIANTS = {"p1": (KICAD, 30), "p1s1": (KICAD / "p1s1", 40)}  # project folder, most labels allowed


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def drawn(request, tmp_path_factory):
    variant = request.param
    folder, max_labels = VARIANTS[variant]
    out = tmp_path_factory.mktemp(f"svg-{variant}")
    kicad_cli.run("sch", "export", "svg", "-o", out, folder / "p1reader.kicad_sch")
    sheet = m.read_sheet(folder / "p1reader.kicad_sch")
    svg = m.svg_texts((out / "p1reader.svg").read_text(encoding="utf-8"))
    board = build_board(variant=get_variant(variant))
    return dict(variant=variant, folder=folder, max_labels=max_labels, sheet=sheet, svg=svg,
                matched=m.match_texts(sheet, svg), blocks=blocks.assign(board),
                pin_nets=m.netlist_pins(folder / "p1reader.net"))


def test_every_design_text_is_found_in_kicads_drawing(drawn):
    missing = [t for i, t in enumerate(drawn["sheet"].texts) if i not in drawn["matched"]]
    assert len(drawn["sheet"].texts) > 40 and not missing, missing


def test_no_text_overlaps_another(drawn):
    assert len(drawn["svg"]) > 100
    assert m.overlapping_texts(drawn["svg"]) == []


def test_no_text_on_a_wire_pin_or_body(drawn):
    assert m.texts_on_drawing(drawn["sheet"], drawn["matched"]) == []


def test_texts_are_readable_on_a3(drawn):
    small = [(t[2], t[4]) for t in drawn["sheet"].texts if t[4] < 1.27]
    assert small == []


def test_wires_keep_off_other_pins_and_bodies(drawn):
    assert len(drawn["sheet"].wires) > 30
    assert m.wires_over_pins_or_bodies(drawn["sheet"]) == []


def test_labels_only_between_blocks_and_wires_inside_them(drawn):
    sheet = drawn["sheet"]
    assert 0 < len(sheet.labels) <= drawn["max_labels"]
    assert m.block_problems(sheet, drawn["pin_nets"], drawn["blocks"], set(blocks.POWER_SYMBOLS)) == []


def test_supplies_are_power_symbols(drawn):
    nets = {net for _, net in drawn["sheet"].power_symbols}
    supplies = {n for n in pcb.POWER_NETS if not n.startswith("/")}  # "/USB_5V" is the one labelled rail
    assert len(drawn["sheet"].power_symbols) >= 8 and nets == supplies
    assert "USB_5V" in {net for net, _ in drawn["sheet"].labels}


def test_junctions_exactly_where_nets_branch(drawn):
    assert drawn["sheet"].junctions, "no junctions at all"
    assert m.junction_problems(drawn["sheet"]) == []


def test_erc_clean_without_exclusions(drawn, tmp_path):
    shutil.copytree(drawn["folder"], tmp_path / "kicad", ignore=shutil.ignore_patterns("p1s1"))
    report = kicad_cli.erc(tmp_path / "kicad" / "p1reader.kicad_sch", tmp_path / "erc.json")
    assert kicad_cli.active_violations(report) == []
    pro = json.loads((drawn["folder"] / "p1reader.kicad_pro").read_text(encoding="utf-8"))
    assert pro["erc"]["erc_exclusions"] == []


def test_the_measures_see_text_piled_on_text(tmp_path):
    """Guard against a blind measure: R1's value moved onto its reference is one overlapping pair."""
    text = (KICAD / "p1reader.kicad_sch").read_text(encoding="utf-8")
    sheet = m.read_sheet(KICAD / "p1reader.kicad_sch")
    (ref_at,) = [t[3] for t in sheet.texts if t[:3] == ("field", "R1", "R1")]
    ((value, value_at),) = [(t[2], t[3]) for t in sheet.texts if t[:2] == ("field", "R1") and t[2] != "R1"]
    old = f'(property "Value" "{value}" (at {value_at[0]:g} {value_at[1]:g}'
    assert old in text
    (tmp_path / "p1reader.kicad_sch").write_text(
        text.replace(old, f'(property "Value" "{value}" (at {ref_at[0]:g} {ref_at[1]:g}'), encoding="utf-8")
    kicad_cli.run("sch", "export", "svg", "-o", tmp_path, tmp_path / "p1reader.kicad_sch")
    svg = m.svg_texts((tmp_path / "p1reader.svg").read_text(encoding="utf-8"))
    assert m.overlapping_texts(svg) == [("R1", value)] or m.overlapping_texts(svg) == [(value, "R1")]
