"""The drawing survives a change to the circuit: a resistor in series with R1 and a ceramic capacitor on
+3V3, which no template names, still give a clean schematic by every readability measure."""

import pytest

from hwtools import circuit, generate, kicad_cli
from hwtools.schematic import blocks
from hwtools.variant import P1, get as get_variant

import schematic_measures as m


def with_two_new_parts(lib_dir, variant=P1):
    board = circuit.build_board(lib_dir=lib_dir, variant=variant)
    b = circuit._Builder({}, lib_dir)
    b.ckt, b.board = board.circuit, board
    r1 = board.parts["R1"]
    r1[2].disconnect()
    r90 = b.part("R90", "Device:R", "100 Ohm", circuit.AXIAL, "MFR-50FBF52-100R", "Yageo")
    link = b.net("R1_R90")
    link += r1[2], r90[1]
    board.nets["Q1_BASE"] += r90[2]
    c90 = b.part("C90", "Device:C", "100 nF", circuit.DISC, "C315C104K5R5TA", "KEMET")
    board.nets["+3V3"] += c90[1]
    board.nets["GND"] += c90[2]
    circuit.check_connected(board)
    return board


@pytest.mark.parametrize("variant", ["p1", "p1s1"])
def test_added_parts_draw_cleanly(tmp_path, variant):
    stage = tmp_path / "kicad"
    stage.mkdir()
    board = generate.stage_project(stage, log=lambda msg: None, build=with_two_new_parts, variant=get_variant(variant))
    sch = stage / "p1reader.kicad_sch"
    assert kicad_cli.active_violations(kicad_cli.erc(sch, tmp_path / "erc.json")) == []
    kicad_cli.run("sch", "export", "svg", "-o", tmp_path, sch)
    kicad_cli.export_netlist(sch, tmp_path / "p1reader.net")
    pin_nets = m.netlist_pins(tmp_path / "p1reader.net")
    assert pin_nets[("R90", "1")] == pin_nets[("R1", "2")] and pin_nets[("R90", "2")] == pin_nets[("Q1", "2")]
    assert pin_nets[("C90", "1")] == "+3V3" and pin_nets[("C90", "2")] == "GND"

    block_of = blocks.assign(board)
    assert block_of["R90"] == "inverter" and block_of["C90"] == "power"
    sheet = m.read_sheet(sch)
    svg = m.svg_texts((tmp_path / "p1reader.svg").read_text(encoding="utf-8"))
    problems = m.all_problems(sheet, svg, pin_nets, block_of, set(blocks.POWER_SYMBOLS))
    assert {k: v for k, v in problems.items() if v} == {}
    assert {"R90", "C90"} <= {ref for ref, _ in sheet.bodies}
