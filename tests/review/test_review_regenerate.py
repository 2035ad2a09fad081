"""Proof by mutation through the generate step, on the real board: an edit of the circuit or the placement table
in a copy of the sources, regenerated with `p1reader generate`, reviewed against one regenerated p1 base; and one
edit with every check on both variants. The edits are found in today's code (a part's value, a net's name, a
part's coordinates), never typed in, so they follow the board as it changes. More edits, each through
`p1reader fab`: `make bench` (tests/bench_review.py)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hwtools.review import run

from review_helpers import REPO, listed, validated

IGNORE = shutil.ignore_patterns("__pycache__", ".fab", "*.egg-info")


def sources(dst: Path, outputs=False) -> Path:
    """A copy of the code (times kept: the compiled router checks them), with the committed outputs if asked."""
    for folder in ("hwtools", "p1reader") + (("kicad", "gerbers") if outputs else ()):
        shutil.copytree(REPO / folder, dst / folder, ignore=IGNORE)
    if outputs:
        shutil.copyfile(REPO / "fab-steps.json", dst / "fab-steps.json")
    return dst


def p1reader(code: Path, *args) -> None:
    proc = subprocess.run([sys.executable, "-m", "p1reader", *args], capture_output=True, text=True, cwd=code)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def edit(path: Path, pattern: str, replace) -> None:
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(pattern, replace, text, count=1)
    assert n == 1 and new != text, f"{pattern} not found in {path.name}"
    path.write_text(new, encoding="utf-8")


def r3_value(code: Path):
    edit(code / "hwtools/circuit.py", r'(b\.part\("R3", "Device:R", )"([^"]+)"',
         lambda m: f'{m.group(1)}"{"2.0 kOhm" if m.group(2) != "2.0 kOhm" else "2.7 kOhm"}"')
    return {("value", "R3")}


def scl_renamed(code: Path):  # make bench (tests/bench_review.py)
    edit(code / "hwtools/circuit.py", r'b\.net\("I2C_SCL"\)', 'b.net("I2C_CLK")')
    return {("net-renamed", "/I2C_CLK")}


def d1_moved(code: Path):
    edit(code / "hwtools/layout.py", r'Place\("D1", ([\d.]+),', lambda m: f'Place("D1", {float(m.group(1)) + 0.5},')
    return {("moved", "D1")}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """Today's p1 board regenerated once, shared by every edit."""
    tmp = tmp_path_factory.mktemp("regenerated")
    p1reader(sources(tmp / "code"), "generate", "--variant", "p1", "--out", str(tmp / "base"))
    return tmp / "base"


def test_a_regeneration_of_the_same_design_is_an_empty_review(base, tmp_path, review_cache):
    run.review(str(REPO), str(base), tmp_path / "out", repo=REPO, force="dir", pictures=False,
               cache=review_cache, log=lambda m: None)
    result = validated(tmp_path / "out")
    p1, p1s1 = result["variants"]
    assert p1["variant"] == "p1" and p1["changes"] == [] and p1["routing"] == []
    assert [c["kind"] for c in p1s1["changes"]] == ["variant-removed"]  # regenerated for p1 only


@pytest.mark.parametrize("make", [r3_value], ids=lambda f: f.__name__)
def test_an_edit_through_the_generate_step_is_listed_exactly(make, base, tmp_path, review_cache):
    code = sources(tmp_path / "code")
    want = make(code)
    p1reader(code, "generate", "--variant", "p1", "--out", str(tmp_path / "head"))
    run.review(str(base), str(tmp_path / "head"), tmp_path / "out", repo=REPO, force="dir", pictures=False,
               cache=review_cache, log=lambda m: None)
    data = validated(tmp_path / "out")
    assert [v["variant"] for v in data["variants"]] == ["p1"]  # both sides p1 only
    assert listed(data, "p1") == want


def write_checks(side: Path, tmp: Path):
    """Each variant's checks.json for a layout edit, by the functions of `make fab`'s checks step: ERC and DRC
    counts by kicad-cli on the side's project, the design rules of the circuit (a placement edit leaves it as it
    is) and of the side's routed board (the layout rules: the edit may move their figures), the SI figures the SI step recorded (its inputs do not include the placement, so `make fab` keeps them)."""
    from hwtools import project, routed
    from hwtools.circuit import build_board
    from hwtools.review import record
    from hwtools.rules import check
    from hwtools.variant import VARIANTS

    si = json.loads((REPO / "gerbers" / "p1-input-si.json").read_text(encoding="utf-8"))
    for v in VARIANTS.values():
        work = tmp / f"checks-{v.name}"
        work.mkdir()
        counts = record.kicad_counts(side / v.kicad_rel, work)
        (side / v.gerbers_rel).mkdir(parents=True, exist_ok=True)
        results = check(build_board(variant=v), routed=routed.read(side / v.kicad_rel / f"{project.NAME}.kicad_pcb"))
        (side / v.gerbers_rel / record.FILE).write_text(record.record(v, results, counts, si), encoding="utf-8")


def test_one_edit_with_every_check_on_both_variants(tmp_path, review_cache):
    """D1 moved 0.5 mm and both variants regenerated: both list exactly the move, and every check is compared
    before and after (the committed checks.json against the edit's), none "not available", none regressed."""
    code = sources(tmp_path / "code")
    want = d1_moved(code)
    p1reader(code, "generate", "--out", str(tmp_path / "head"))
    write_checks(tmp_path / "head", tmp_path)
    run.review(str(REPO), str(tmp_path / "head"), tmp_path / "out", repo=REPO, force="dir", pictures=False,
               cache=review_cache, log=lambda m: None)
    data = validated(tmp_path / "out")
    for v in data["variants"]:
        assert listed(data, v["variant"]) == want
        verdicts = {c["figure"]: c["verdict"] for c in v["checks"]}
        assert {"erc errors", "drc errors", "drc unconnected", "si max_baud"} <= verdicts.keys()
        assert any(f.startswith("rule ") for f in verdicts) and "not available" not in verdicts.values()
        assert not [f for f, verdict in verdicts.items() if verdict == "regression"]
