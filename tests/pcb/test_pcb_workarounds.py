"""Each tool workaround in one small function, with the bug it works around shown here."""

import json
import subprocess
import sys
from pathlib import Path

import required
from hwtools import kicad_cli
from hwtools.board_job import fill_zones
from hwtools.kicadlibs import FOOTPRINT_DIR

pcbnew = required.module("pcbnew")


def _board_with_hole_under_a_zone(path):
    board = pcbnew.NewBoard(str(path))
    mm = pcbnew.FromMM
    for a, b in [((0, 0), (30, 0)), ((30, 0), (30, 30)), ((30, 30), (0, 30)), ((0, 30), (0, 0))]:
        edge = pcbnew.PCB_SHAPE(board, pcbnew.SHAPE_T_SEGMENT)
        edge.SetStart(pcbnew.VECTOR2I(mm(a[0]), mm(a[1])))
        edge.SetEnd(pcbnew.VECTOR2I(mm(b[0]), mm(b[1])))
        edge.SetLayer(pcbnew.Edge_Cuts)
        board.Add(edge)
    fp = pcbnew.FootprintLoad(str(FOOTPRINT_DIR / "MountingHole.pretty"), "MountingHole_3.2mm_M3")
    fp.SetPosition(pcbnew.VECTOR2I(mm(15), mm(15)))
    board.Add(fp)
    gnd = pcbnew.NETINFO_ITEM(board, "GND")
    board.Add(gnd)
    zone = pcbnew.ZONE(board)
    zone.SetLayer(pcbnew.B_Cu)
    zone.SetNet(gnd)
    outline = zone.Outline()
    outline.NewOutline()
    for x, y in [(1, 1), (29, 1), (29, 29), (1, 29)]:
        outline.Append(mm(x), mm(y))
    board.Add(zone)
    return board


def _hole_violations(path):
    (path.parent / "z.kicad_pro").write_text(json.dumps({"meta": {"filename": "z.kicad_pro", "version": 3}}))
    report = path.parent / "drc.json"
    kicad_cli.run("pcb", "drc", "--format", "json", "-o", report, path)
    return [v for v in json.loads(report.read_text())["violations"] if v["type"] == "hole_clearance"]


def test_zone_fill_in_memory_pours_over_holes(tmp_path):
    """The bug: fill a freshly built board in memory, and the pour covers the NPTH hole."""
    code = f"""
import sys, pcbnew
sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(Path(__file__).parents[1])!r}]  # the test and tests/required.py
from test_pcb_workarounds import _board_with_hole_under_a_zone
b = _board_with_hole_under_a_zone({str(tmp_path / 'z.kicad_pcb')!r})
pcbnew.ZONE_FILLER(b).Fill(b.Zones())
b.Save({str(tmp_path / 'z.kicad_pcb')!r})
"""
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert _hole_violations(tmp_path / "z.kicad_pcb"), "pcbnew fixed the bug: fill_zones() can go"


def test_fill_zones_knocks_the_hole_out(tmp_path):
    board = _board_with_hole_under_a_zone(tmp_path / "z.kicad_pcb")
    board.Save(str(tmp_path / "z.kicad_pcb"))
    fill_zones(tmp_path / "z.kicad_pcb")
    assert _hole_violations(tmp_path / "z.kicad_pcb") == []
    assert "filled_polygon" in (tmp_path / "z.kicad_pcb").read_text()


def test_odb_export_builds_in_a_fixed_folder_under_tmpdir(tmp_path):
    """The bug: kicad-cli writes every ODB++ export through `$TMPDIR/kicad/odb`, whoever runs it."""
    board = tmp_path / "z.kicad_pcb"
    _board_with_hole_under_a_zone(board).Save(str(board))
    env = dict(__import__("os").environ, TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    kicad_cli.run("pcb", "export", "odb", "-o", tmp_path / "z.zip", board, env=env)
    assert (tmp_path / "tmp" / "kicad").is_dir(), "kicad-cli no longer uses $TMPDIR/kicad: export_odb's TMPDIR can go"


def test_export_odb_builds_in_a_folder_of_its_own(tmp_path, monkeypatch):
    """The workaround: export_odb gives kicad-cli a private TMPDIR, so the shared one stays untouched (and a
    parallel export elsewhere on the machine cannot mix its board into ours)."""
    board = tmp_path / "z.kicad_pcb"
    _board_with_hole_under_a_zone(board).Save(str(board))
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv("TMPDIR", str(shared))
    kicad_cli.export_odb(board, tmp_path / "z.zip")
    assert (tmp_path / "z.zip").stat().st_size > 0
    assert not (shared / "kicad").exists()
