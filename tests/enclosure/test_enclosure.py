"""The case (hwtools/enclosure, `p1reader enclosure`): built from the committed board, it passes the fit check; a
case made for one board and checked against a changed one fails naming the part and the figure (the four
mutations of issue 29); a footprint without a [[body]] row stops the build; the files regenerate byte for byte.

The CAD work runs in child processes, as in `make fab`: OCCT (OCP) and KiCad's pcbnew never share a process, and
this test process imports neither.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hwtools import project
from hwtools.facts import load_facts
from hwtools.variant import P1

REPO = project.ROOT
PCB = P1.kicad_dir / f"{project.NAME}.kicad_pcb"


@pytest.fixture(scope="session")
def board_json(tmp_path_factory) -> Path:
    """The committed p1 board as the pcbnew child reads it."""
    out = tmp_path_factory.mktemp("enclosure") / "board.json"
    result = subprocess.run([sys.executable, "-m", "hwtools.enclosure.board_read", str(PCB)], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out.write_text(result.stdout, encoding="utf-8")
    return out


def write_json(data: dict, path: Path) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def footprint(data: dict, ref: str) -> dict:
    return next(f for f in data["footprints"] if f["ref"] == ref)


def shift(fp: dict, dx: float):
    """A footprint moved along KiCad x: its position, outline and pads."""
    fp["x"] += dx
    fp["outline"] = [[x + dx, y] for x, y in fp["outline"]]
    for pad in fp["pads"]:
        pad["x"] += dx


def rj12_into_the_wall(data: dict) -> dict:
    """J2 moved along its axis until it stands 1 mm into the case's inner wall (an edge gap off the board's edge)."""
    wall = min(p[0] for p in data["outline"]) - load_facts()["enclosure"]["edge_gap_mm"]
    j2 = footprint(data, "J2")
    shift(j2, wall - min(p[0] for p in j2["outline"]) - 1.0)
    return data


def hole_deleted(data: dict) -> dict:
    data["footprints"].remove(footprint(data, "H2"))
    return data


def outline_shrunk(data: dict) -> dict:
    """The board's outline 1 mm smaller on every side (a rectangle: each corner 1 mm towards the centre)."""
    xs, ys = [p[0] for p in data["outline"]], [p[1] for p in data["outline"]]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    data["outline"] = [[x - (x > cx) + (x < cx), y - (y > cy) + (y < cy)] for x, y in data["outline"]]
    return data


def can_raised(text: str) -> str:
    """parts.toml with C1's can 0.7 mm taller (the tallest body since rev 1.4: its top is what meets the lid, 1.0 mm under it)."""
    row = 'footprint = "Capacitor_THT:CP_Radial_D16.0mm_P7.50mm"\nheight_mm = '
    height = float(re.search(re.escape(row) + r"([\d.]+)", text)[1])
    return text.replace(f"{row}{height}", f"{row}{height + 0.7}")


# One CAD process for the unchanged case and the four mutations (each a process would cost its OCCT start-up):
# for each, the argv of `python -m hwtools.enclosure.build`; then which of OCP and pcbnew that process had loaded.
DRIVER = """
import json, sys
from hwtools.enclosure import build
for name, argv in json.loads(sys.argv[1]).items():
    print(f"=== {name}", flush=True)
    print(f"exit {build.main(argv)}", flush=True)
print("=== modules", flush=True)
print("OCP", "OCP" in sys.modules, "pcbnew", "pcbnew" in sys.modules)
"""


@pytest.fixture(scope="module")
def runs(board_json, tmp_path_factory) -> dict[str, str]:
    """Each run's output: "committed" (the case for the committed board), and the four mutations — a case made for
    one board (or parts table), checked against the changed one."""
    tmp = tmp_path_factory.mktemp("mutations")
    original = json.loads(board_json.read_text(encoding="utf-8"))
    facts = tmp / "parts.toml"
    facts.write_text(can_raised((REPO / "hwtools/parts.toml").read_text(encoding="utf-8")), encoding="utf-8")
    thin = tmp / "thin.toml"
    thin.write_text(re.sub(r"^wall_mm = [\d.]+", "wall_mm = 1.0", (REPO / "hwtools/parts.toml").read_text(encoding="utf-8"),
                           flags=re.M),
                    encoding="utf-8")
    case = [str(board_json), str(tmp / "out"), "--no-files"]
    argvs = {
        "committed": case,
        "rj12": case + ["--check-board", str(write_json(rj12_into_the_wall(json.loads(json.dumps(original))),
                                                        tmp / "rj12.json"))],
        "can": case + ["--check-facts", str(facts)],
        "thin": case + ["--facts", str(thin)],
        "hole": [str(write_json(hole_deleted(json.loads(json.dumps(original))), tmp / "hole.json")), str(tmp / "out"),
                 "--no-files", "--check-board", str(board_json)],
        "outline": [str(write_json(outline_shrunk(json.loads(json.dumps(original))), tmp / "outline.json")),
                    str(tmp / "out"), "--no-files", "--check-board", str(board_json)],
    }
    result = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(argvs)], cwd=REPO, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    sections = re.split(r"^=== (\w+)\n", result.stdout, flags=re.M)[1:]
    return dict(zip(sections[::2], sections[1::2]))


def failures(out: str) -> list[str]:
    assert out.rstrip().endswith("exit 1"), out
    return [line for line in out.splitlines() if line.startswith("FAIL ")]


def test_the_case_for_the_committed_board_passes_every_check(runs):
    out = runs["committed"]
    assert out.rstrip().endswith("exit 0") and "FAIL" not in out, out
    assert re.search(r"PASS interference: .* 0\.000 mm³ in all", out)
    assert re.search(r"PASS clearance: smallest clearance [\d.]+ mm \(limit 0\.5 mm\), closest part \S+", out)
    assert len(re.findall(r"^PASS post: H\d", out, re.M)) == 4
    assert re.findall(r"^PASS plug: (.*?) into (\w+)", out, re.M) == [
        ("RJ12 6P6C plug with latch", "J2"), ("micro-USB plug overmold", "M1"),
        ("display cable: 1x4 Dupont housing", "J1")]
    assert len(re.findall(r"^PASS keyhole: keyhole at x [\d.]+, y [\d.]+ \(KiCad\): a 7.5 mm head clears the board",
                          out, re.M)) == 2
    # rev 1.4 has no jumper (J3 went with the diode-OR): the D32's reset is the one part to reach with the lid off
    assert re.findall(r"^PASS reach: (.*?) reachable", out, re.M) == ["M1 reset button"]


def test_rj12_moved_1_mm_into_the_wall_fails_naming_it_and_the_volume(runs):
    failed = failures(runs["rj12"])
    assert any(re.match(r"FAIL interference: J2 overlaps the case by [\d.]+ mm³", f) for f in failed), failed


def test_the_tallest_can_raised_0_7_mm_fails_naming_it_and_its_clearance(runs):
    failed = failures(runs["can"])
    assert any(re.match(r"FAIL clearance: smallest clearance 0\.\d\d mm \(limit 0\.5 mm\), closest part C1$", f)
               for f in failed), failed


def test_a_mounting_hole_deleted_fails_naming_the_hole(runs):
    failed = failures(runs["hole"])
    assert "FAIL post: H2: 0 post top(s) coplanar with the board's underside (± 0.05 mm) under the mounting hole, " \
           "inside its keep-out" in failed, failed


def test_the_outline_shrunk_fails_naming_the_part_and_the_figure(runs):
    failed = failures(runs["outline"])
    assert any(re.match(r"FAIL (interference: \S+ overlaps the case by [\d.]+ mm³|clearance: smallest clearance "
                        r"[\d.]+ mm \(limit 0\.5 mm\), closest part \S+)", f) for f in failed), failed


def test_walls_thinner_than_the_limit_fail_measured_on_the_solid(runs):
    assert re.search(r"^PASS wall: base: thinnest wall measured on the solid 1\.[2-9]\d mm", runs["committed"], re.M)
    failed = failures(runs["thin"])
    assert "FAIL wall: side walls 1.00 mm (≥ 1.2 mm)" in failed, failed
    assert any(re.match(r"FAIL wall: base: thinnest wall measured on the solid 1\.0\d mm \(≥ 1\.2 mm\), at x ", f)
               for f in failed), failed


def test_the_cad_process_never_loads_pcbnew(runs):
    assert runs["modules"].split() == ["OCP", "True", "pcbnew", "False"]


def test_the_command_regenerates_the_committed_files_byte_for_byte(tmp_path):
    """`p1reader enclosure --out`: the pcbnew child, the CAD child, SHA256SUMS — the same bytes as mech/ (STEP header
    normalised, STL meshed single-threaded, PNG without dates); a difference means mech/ is stale."""
    result = subprocess.run([sys.executable, "-m", "p1reader", "enclosure", "--variant", "p1", "--out", str(tmp_path)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^case fit \(p1\): smallest clearance [\d.]+ mm \(limit 0\.5 mm\), closest part \S+.*; plugs clear "
                     r"the case by J2 [\d.]+ mm, M1 [\d.]+ mm, J1 [\d.]+ mm", result.stdout, re.M), result.stdout
    out, committed = tmp_path / "p1", REPO / P1.mech_rel
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in committed.iterdir() if p.is_file() and p.name != "README.md")
    differ = [n for n in names if (out / n).read_bytes() != (committed / n).read_bytes()]
    assert differ == [], "stale or irreproducible: run `make fab`"
    sums = (committed / "SHA256SUMS").read_text(encoding="utf-8").split()
    assert sorted(sums[1::2]) == [n for n in names if n != "SHA256SUMS"]


def test_the_cad_packages_pinned_in_pyproject_are_in_the_step_input_hash(monkeypatch):
    from hwtools import enclosure, pipeline

    pins = re.findall(r'"(cadquery-ocp-novtk|trimesh|manifold3d)==([\d.]+)"', (REPO / "pyproject.toml").read_text())
    assert len(pins) == 3
    installed = enclosure.cad_versions()
    assert all(f"{name.replace('-', '_')}-{version}" in installed for name, version in pins), (pins, installed)
    before = pipeline.input_digests([P1])
    monkeypatch.setattr(enclosure, "cad_versions", lambda: [*installed[:-1], "numpy-0"])
    after = pipeline.input_digests([P1])
    assert {step for step in before if before[step] != after[step]} == {"p1/enclosure"}


def test_the_command_stops_on_a_footprint_without_a_row_and_writes_nothing(tmp_path):
    """`p1reader enclosure` on a board whose U2 has a footprint parts.toml does not know: one line naming the board,
    the ref and the footprint, exit 2, the output folder as it was."""
    text = PCB.read_text(encoding="utf-8").replace('(footprint "Package_DIP:DIP-6_W7.62mm"',
                                                   '(footprint "Package_DIP:DIP-6_W7.62mm_Unknown"')
    assert "DIP-6_W7.62mm_Unknown" in text
    board = tmp_path / "doctored.kicad_pcb"
    board.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    (out / "p1").mkdir(parents=True)
    (out / "p1" / "p1reader-base.stl").write_bytes(b"kept")
    result = subprocess.run([sys.executable, "-m", "p1reader", "enclosure", "--variant", "p1", "--board", str(board),
                             "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"p1reader enclosure: error: {board}: U2 (Package_DIP:DIP-6_W7.62mm_Unknown): no [[body]] row in "
        "hwtools/parts.toml — add its datasheet height with the source"]
    assert sorted(p.name for p in out.rglob("*")) == ["p1", "p1reader-base.stl"]
    assert (out / "p1" / "p1reader-base.stl").read_bytes() == b"kept"


def test_the_case_is_never_in_the_aisler_upload():
    from hwtools.outputs import ENCLOSURE_OUTPUTS

    assert ENCLOSURE_OUTPUTS and not any(o.upload for o in ENCLOSURE_OUTPUTS)
    with zipfile.ZipFile(P1.gerbers_dir / P1.zip_name) as z:
        uploaded = set(z.namelist())
    assert {o.file(P1) for o in ENCLOSURE_OUTPUTS} & uploaded == set()
    assert sorted(p.name for p in (REPO / P1.mech_rel).glob("*") if p.is_file() and p.name != "README.md") == \
        sorted(o.file(P1) for o in ENCLOSURE_OUTPUTS)
