"""The manufacturing package, read back by an independent implementation (gerbonara) and checked against
the board itself (kiutils): layer set, outline, holes, copper inside the outline, apertures, parts,
reproducibility. One export (≈ 5 s) is shared by the module; a second proves byte-identical output.

The board is the committed kicad/ project; P1READER_FAB_KICAD_DIR points the tests at another copy.
"""

import csv
import io
import json
import os
import re
import shutil
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import required
from hwtools import bom, fab, outputs, project, variant

required.module("gerbonara")  # the independent Gerber reader: a failure naming `make setup` if missing
from gerbonara import LayerStack  # noqa: E402
from gerbonara.utils import MM  # noqa: E402

KICAD_DIR = Path(os.environ.get("P1READER_FAB_KICAD_DIR", project.KICAD_DIR))
P1, P1S1 = variant.get("p1"), variant.get("p1s1")
N = project.NAME
GERBERS = {  # gerbonara's (side, use) → the KiCad file
    ("top", "copper"): f"{N}-F_Cu.gtl", ("bottom", "copper"): f"{N}-B_Cu.gbl",
    ("top", "mask"): f"{N}-F_Mask.gts", ("bottom", "mask"): f"{N}-B_Mask.gbs",
    ("top", "silk"): f"{N}-F_Silkscreen.gto", ("bottom", "silk"): f"{N}-B_Silkscreen.gbo",
    ("top", "paste"): f"{N}-F_Paste.gtp", ("bottom", "paste"): f"{N}-B_Paste.gbp",
    ("mechanical", "outline"): f"{N}-Edge_Cuts.gm1",
}
OTHERS = [f"{N}-PTH.drl", f"{N}-NPTH.drl", f"{N}-job.gbrjob", f"{N}.d356", f"{N}-odb.zip", "components.json",
          f"{N}-bom.csv", f"{N}-placement.csv", f"{N}-schematic.pdf", f"{N}-top.png", f"{N}-bottom.png",
          f"{N}-ibom.html"]
MIN_TRACK_MM = 0.20      # AISLER 2-layer simple
MIN_PAD_MM = 0.20
MIN_EDGE_CLEARANCE_MM = 0.30
PTH_DRILL_MM = (0.3, 5.6)  # vias from 0.3, component holes from 0.5 (checked per tool below)
NPTH_DRILL_MM = (0.5, 5.6)
TOL = 1e-3
# gerbonara notes that KiCad writes G90 after the Excellon header; harmless for the reading
pytestmark = pytest.mark.filterwarnings("ignore:.*header statement found after end of header:SyntaxWarning")


@pytest.fixture(scope="module")
def board():
    from kiutils.board import Board

    return Board.from_file(str(KICAD_DIR / f"{N}.kicad_pcb"))


@pytest.fixture(scope="module")
def fab_out(tmp_path_factory):
    """One export into a folder it makes; every export runs."""
    out = tmp_path_factory.mktemp("export") / "gerbers"
    logged = []
    ran = fab.export(KICAD_DIR, out, log=logged.append)
    return out, ran, logged


@pytest.fixture(scope="module")
def stack(fab_out):
    return LayerStack.open(fab_out[0])


def _outline_mm(board):
    """Bounding box of the board's Edge.Cuts drawing (centre lines), in board coordinates."""
    xs, ys = [], []
    for item in board.graphicItems:
        if getattr(item, "layer", None) != "Edge.Cuts":
            continue
        for attr in ("start", "end", "mid", "center"):
            p = getattr(item, attr, None)
            if p is not None:
                xs.append(p.X)
                ys.append(p.Y)
        for p in getattr(getattr(item, "coordinates", None), "coordinates", None) or []:
            xs.append(p.X)
            ys.append(p.Y)
    assert xs, "the board has no Edge.Cuts outline"
    return min(xs), min(ys), max(xs), max(ys)


def _gerber_outline_mm(stack):
    xs, ys = [], []
    for obj in stack.outline.objects:
        obj = obj.converted(MM)
        for attr in ("x1", "x2", "cx"):
            if hasattr(obj, attr):
                xs.append(getattr(obj, attr))
        for attr in ("y1", "y2", "cy"):
            if hasattr(obj, attr):
                ys.append(getattr(obj, attr))
    return min(xs), min(ys), max(xs), max(ys)


def test_every_file_is_there_and_in_the_zip(fab_out):
    out, ran, logged = fab_out
    expected = set(GERBERS.values()) | set(OTHERS)
    present = {p.name for p in out.iterdir()}
    assert present == expected | {P1.zip_name, outputs.MANIFEST}
    assert present == set(outputs.files(P1)), "the fixed list of outputs is what the export writes"
    with zipfile.ZipFile(out / P1.zip_name) as z:
        names = set(z.namelist())
        assert z.testzip() is None
    # exactly what AISLER's own KiCad plugin uploads; the rest stays beside the zip
    upload = set(GERBERS.values()) - {f"{N}-job.gbrjob"} | {f"{N}-PTH.drl", f"{N}-NPTH.drl", f"{N}.d356",
                                                           f"{N}-odb.zip", "components.json"}
    assert names == upload
    assert {info.date_time for info in zipfile.ZipFile(out / P1.zip_name).infolist()} == {outputs.ZIP_TIME}
    assert [e.title for e in ran] == [e.title for e in fab.EXPORTS]
    assert any(line.strip().startswith("Gerber X2") for line in logged), logged


def test_interactive_bom_names_its_release_not_our_commit(fab_out):
    """InteractiveHtmlBom stamps `git describe` of its install folder; in a venv inside this checkout that
    was this repository's commit (a new iBoM on every commit) until export() hid git from it."""
    from importlib.metadata import version

    html = (fab_out[0] / f"{N}-ibom.html").read_text(encoding="utf-8")
    stamped = re.findall(r'"ibom_version": "([^"]*)"', html)
    assert stamped == [f"v{version('InteractiveHtmlBom')}"]


def test_manifest_lists_every_generated_file_with_its_hash(fab_out):
    import hashlib

    out = fab_out[0]
    lines = (out / outputs.MANIFEST).read_text().splitlines()
    listed = dict(reversed(line.split("  ", 1)) for line in lines)
    assert set(listed) == set(GERBERS.values()) | set(OTHERS) | {P1.zip_name}
    for name, digest in listed.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name


def test_gerbonara_finds_the_complete_layer_set(stack):
    found = {key: Path(layer.original_path).name for key, layer in stack.graphic_layers.items()}
    assert found == GERBERS
    assert Path(stack.drill_pth.original_path).name == f"{N}-PTH.drl"
    assert Path(stack.drill_npth.original_path).name == f"{N}-NPTH.drl"


def test_outline_size_equals_the_board_and_starts_at_the_aux_origin(stack, board):
    bx0, by0, bx1, by1 = _outline_mm(board)
    gx0, gy0, gx1, gy1 = _gerber_outline_mm(stack)
    assert gx1 - gx0 == pytest.approx(bx1 - bx0, abs=TOL)
    assert gy1 - gy0 == pytest.approx(by1 - by0, abs=TOL)
    assert 10 < bx1 - bx0 <= 400 and 10 < by1 - by0 <= 400, "AISLER: every side > 10 mm, at most 400 mm"
    # coordinates are from the aux origin = the board's top-left corner (Gerber Y up)
    assert (gx0, gy1) == (pytest.approx(0, abs=TOL), pytest.approx(0, abs=TOL))
    origin = board.setup.auxAxisOrigin
    assert (origin.X, origin.Y) == (pytest.approx(bx0, abs=TOL), pytest.approx(by0, abs=TOL))


def test_hole_count_equals_pads_plus_vias(stack, board):
    from kiutils.items.brditems import Via

    pth_pads = sum(1 for fp in board.footprints for p in fp.pads if p.type == "thru_hole")
    npth_pads = sum(1 for fp in board.footprints for p in fp.pads if p.type == "np_thru_hole")
    vias = sum(1 for t in board.traceItems if isinstance(t, Via))
    assert pth_pads > 0
    assert len(stack.drill_pth.objects) == pth_pads + vias
    assert len(stack.drill_npth.objects) == npth_pads


def test_drill_hits_sit_on_copper_pads_so_both_use_the_same_origin(stack):
    """A drill file offset from the Gerbers (wrong --drill-origin) would put holes beside their pads."""
    from gerbonara.graphic_objects import Flash

    def key(obj):
        obj = obj.converted(MM)
        return round(obj.x, 2), round(obj.y, 2)

    pads = {key(o) for side in ("top", "bottom") for o in stack[side, "copper"].objects if isinstance(o, Flash)}
    holes = [key(o) for o in stack.drill_pth.objects]
    assert holes and not [h for h in holes if h not in pads]


def test_drill_sizes_are_in_the_process_range(stack, board):
    from kiutils.items.brditems import Via

    for drills, (lo, hi) in ((stack.drill_pth, PTH_DRILL_MM), (stack.drill_npth, NPTH_DRILL_MM)):
        for obj in drills.objects:
            tool = obj.aperture
            d = MM(tool.diameter, tool.unit)
            assert lo - TOL <= d <= hi + TOL, f"{drills.original_path}: drill {d} mm outside {lo}…{hi}"
    component_drills = [p.drill.diameter for fp in board.footprints for p in fp.pads
                        if p.type == "thru_hole" and p.drill]
    assert min(component_drills) >= 0.5 - TOL, "component holes start at 0.5 mm"
    for via in (t for t in board.traceItems if isinstance(t, Via)):
        assert 0.3 - TOL <= via.drill <= 0.5 + TOL


def test_copper_is_inside_the_outline_with_edge_clearance(stack):
    x0, y0, x1, y1 = _gerber_outline_mm(stack)
    for side in ("top", "bottom"):
        layer = stack[side, "copper"]
        assert layer.objects, f"{side} copper is empty"
        for obj in layer.objects:
            (ox0, oy0), (ox1, oy1) = obj.bounding_box(MM)
            assert ox0 >= x0 + MIN_EDGE_CLEARANCE_MM - TOL and ox1 <= x1 - MIN_EDGE_CLEARANCE_MM + TOL, obj
            assert oy0 >= y0 + MIN_EDGE_CLEARANCE_MM - TOL and oy1 <= y1 - MIN_EDGE_CLEARANCE_MM + TOL, obj


def test_copper_apertures_respect_the_minimum_track_and_pad(stack):
    from gerbonara.graphic_objects import Arc, Flash, Line

    for side in ("top", "bottom"):
        for obj in stack[side, "copper"].objects:
            if isinstance(obj, (Line, Arc)):
                width = obj.aperture.equivalent_width(MM)
                assert width >= MIN_TRACK_MM - TOL, f"{side} copper track {width} mm < {MIN_TRACK_MM} mm"
            elif isinstance(obj, Flash):
                (ax0, ay0), (ax1, ay1) = obj.bounding_box(MM)
                assert min(ax1 - ax0, ay1 - ay0) >= MIN_PAD_MM - TOL, f"{side} pad smaller than {MIN_PAD_MM} mm"


def test_pads_in_copper_match_the_board(stack, board):
    """Every copper pad flash carries its X2 `.P` (ref, pad); the set equals the board's top-side pads (THT and
    rev 1.3's one SMD part)."""
    from gerbonara.graphic_objects import Flash

    in_gerber = {obj.attrs[".P"][:2] for obj in stack["top", "copper"].objects
                 if isinstance(obj, Flash) and ".P" in obj.attrs}
    on_board = {(fp.properties["Reference"], p.number) for fp in board.footprints for p in fp.pads
                if p.type in ("thru_hole", "smd") and p.number}
    assert in_gerber == on_board


def test_components_json_has_aislers_shape_and_matches_kicads_placement(fab_out, stack, board):
    out = fab_out[0]
    entries = json.loads((out / "components.json").read_text(encoding="utf-8"))
    keys = {"designator", "mpn", "pack", "value", "side", "pos_x", "pos_y", "rotation", "mount_type", "place"}
    in_bom = {fp.properties["Reference"] for fp in board.footprints
              if not (fp.attributes and fp.attributes.excludeFromBom)}
    assert sorted(e["designator"] for e in entries) == sorted(in_bom)
    assert not any(e["designator"].startswith("H") for e in entries), "mounting holes are not parts"
    x0, y0, x1, y1 = _gerber_outline_mm(stack)
    for e in entries:
        assert set(e) == keys
        assert e["side"] in ("top", "bottom") and e["mount_type"] in ("smt", "tht")
        assert e["mpn"].strip() and e["pack"] and ":" not in e["pack"]
        assert x0 <= e["pos_x"] <= x1 and y0 <= e["pos_y"] <= y1, e
    # independent: KiCad's own position file (same origin, Y up) agrees on every placed part
    with open(out / f"{N}-placement.csv", encoding="utf-8") as f:
        placed = {row["Ref"]: row for row in csv.DictReader(f)}
    for e in entries:
        row = placed[e["designator"]]
        assert float(row["PosX"]) == pytest.approx(e["pos_x"], abs=1e-3)
        assert float(row["PosY"]) == pytest.approx(e["pos_y"], abs=1e-3)
        assert float(row["Rot"]) % 360 == pytest.approx(e["rotation"] % 360, abs=1e-3)
        assert row["Side"] == e["side"]


def test_bom_csv_groups_parts_and_counts_them_all(fab_out, board):
    rows = list(csv.DictReader(io.StringIO((fab_out[0] / f"{N}-bom.csv").read_text(encoding="utf-8"))))
    rows = [row for row in rows if row["Footprint"]]  # BOM-only lines (sockets, shunts) have no footprint
    assert list(rows[0]) == ["Qty", "Designators", "Value", "Footprint", "Manufacturer", "MPN", "Description"]
    refs = [r for row in rows for r in row["Designators"].split()]
    in_bom = [fp for fp in board.footprints if not (fp.attributes and fp.attributes.excludeFromBom)]
    assert sorted(refs) == sorted(fp.properties["Reference"] for fp in in_bom)
    assert sum(int(row["Qty"]) for row in rows) == len(in_bom)
    assert all(int(row["Qty"]) == len(row["Designators"].split()) for row in rows)
    keys = [(row["Value"], row["Footprint"], row["MPN"]) for row in rows]
    assert len(keys) == len(set(keys)), "one row per part"
    assert all(row["MPN"].strip() for row in rows)


def _dates_near_now():
    now = datetime.now(timezone.utc)
    days = {(now + timedelta(days=d)).date() for d in (-1, 0, 1)} | {datetime.now().date()}
    return [f for day in days for f in (day.strftime("%Y-%m-%d"), day.strftime("%Y%m%d"))]


def _contents(path: Path):
    """(name, bytes) of the file, and of every member if it is a zip."""
    data = path.read_bytes()
    yield path.name, data
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.is_dir():
                    yield f"{path.name}:{info.filename}", z.read(info)


def test_no_date_and_no_machine_path_in_any_file(fab_out):
    out = fab_out[0]
    dates = [d.encode() for d in _dates_near_now()]
    paths = [str(p).encode() for p in {out, KICAD_DIR.resolve(), project.ROOT, Path.home(), Path("/tmp")}]
    for path in sorted(out.iterdir()):
        for name, data in _contents(path):
            for d in dates:
                assert d not in data, f"{name} carries today's date {d.decode()}"
            for p in paths:
                assert p not in data, f"{name} carries the machine path {p.decode()}"


def test_second_export_from_another_place_is_byte_identical(fab_out, tmp_path):
    """Copy the project elsewhere (other absolute path, fresh file times) and export into another folder: the
    same bytes, every file."""
    first = {p.name: p.read_bytes() for p in fab_out[0].iterdir()}
    copy = tmp_path / "elsewhere" / "kicad"
    shutil.copytree(KICAD_DIR, copy)
    fab.export(copy, tmp_path / "out", log=lambda _m: None)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == first


def test_missing_board_is_reported_before_anything_is_written(tmp_path):
    out = tmp_path / "gerbers"
    with pytest.raises(fab.FabError, match="missing"):
        fab.export(tmp_path / "nothing-here", out, log=lambda _m: None)
    assert not out.exists()


def test_board_without_an_mpn_stops_the_export(tmp_path, board):
    """A board copy with one MPN blanked (written by KiCad's own pcbnew) is rejected, naming the part,
    before kicad-cli runs and before the output folder is touched."""
    pcbnew = required.module("pcbnew")
    copy = tmp_path / "kicad"
    shutil.copytree(KICAD_DIR, copy)
    pcb = copy / f"{N}.kicad_pcb"
    b = pcbnew.LoadBoard(str(pcb))
    victim = next(fp for fp in b.GetFootprints() if fp.HasFieldByName("MPN") and not fp.IsExcludedFromBOM())
    ref = victim.GetReference()
    victim.GetFieldByName("MPN").SetText("")
    assert b.Save(str(pcb)) is not False
    out = tmp_path / "gerbers"
    with pytest.raises(bom.BomError, match=rf"\b{re.escape(ref)}\b"):
        fab.export(copy, out, log=lambda _m: None)
    assert not out.exists()


def _committed(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def test_committed_gerbers_are_current(fab_out):
    """gerbers/ as committed is what the committed kicad/ exports to: a stale package fails here. Besides the
    package, it holds only the signal-integrity plot, table and figures, the check results and the README."""
    if KICAD_DIR != project.KICAD_DIR:
        pytest.skip("compares the committed kicad/ with the committed gerbers/")
    out = fab_out[0]
    fresh = sorted(p.name for p in out.iterdir())
    assert _committed(project.FAB_DIR) == sorted([*fresh, *outputs.files(P1, outputs.SI), *outputs.files(P1, outputs.CHECKS),
                                                "README.md"])
    stale = [name for name in fresh if (out / name).read_bytes() != (project.FAB_DIR / name).read_bytes()]
    assert stale == [], f"gerbers/ is stale ({', '.join(stale)}): run `make fab` and commit the result"


def test_committed_p1s1_package_is_current(tmp_path):
    """The S1 variant's package in gerbers/p1s1/ is what kicad/p1s1/ exports to (beside it: its check results)."""
    if KICAD_DIR != project.KICAD_DIR:
        pytest.skip("compares the committed kicad/p1s1/ with the committed gerbers/p1s1/")
    kicad_dir, fab_dir = P1S1.kicad_dir, P1S1.gerbers_dir
    out = tmp_path / "p1s1"
    fab.export(kicad_dir, out, log=lambda m: None, variant=P1S1)
    fresh = sorted(p.name for p in out.iterdir())
    assert _committed(fab_dir) == sorted([*fresh, *outputs.files(P1S1, outputs.CHECKS), "README.md"])
    assert P1S1.zip_name in fresh and set(fresh) == set(outputs.files(P1S1))
    stale = [n for n in fresh if (out / n).read_bytes() != (fab_dir / n).read_bytes()]
    assert stale == [], f"gerbers/p1s1/ is stale ({', '.join(stale)}): run `make fab` and commit the result"
