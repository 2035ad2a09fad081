"""The rev 1.3 table, derived: a review from a kicad/ generated once from the rev 1.2 fixture
(tests/design/rev12_circuit.py, the proven v1.1 topology) to the rev 1.3 board (tests/data/rev-1.3) lists exactly
the refs and changes of the ref/value/footprint/net columns of docs/rev-1.3.md's table. Reasons are not compared;
neither are what the table has no column for (MPN and other fields, positions, routing, silkscreen)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hwtools import generate
from hwtools.review import run
from hwtools.variant import P1

from review_helpers import REPO, REV13, validated

# Rows of the table whose difference already existed in rev 1.2 (so a rev 1.2 → 1.3 review cannot list them).
# None: rev12_circuit.py keeps v1.1's value, footprint and nets for every row of the table.
DATE_FROM_V11: set[str] = set()
NOT_IN_THE_TABLE = ("field", "moved", "rotated", "side", "silkscreen", "routing", "outline", "holes", "keepout")


def table_rows() -> list[list[str]]:
    text = (REPO / "docs" / "rev-1.3.md").read_text(encoding="utf-8")
    section = text.split("## Differences from the proven v1.1 board", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| ref")]
    return [r for r in rows if r[0] not in DATE_FROM_V11]


def from_table() -> set[tuple[str, str]]:
    """(ref, what changed: new, value, footprint, net) for each row's refs."""
    out = set()
    for ref_cell, now, then, _reason in table_rows():
        refs = re.findall(r"\b([A-Z]+\d+)\b", ref_cell)
        if "(new)" in ref_cell:
            out |= {(r, "new") for r in refs}
            continue
        footprint = bool(re.search(r"_P\d|footprint", now + then))
        kinds = {"footprint"} if footprint else set()
        if re.search(r"pin \d|→|\bon\b|\(\d \w+", now):
            kinds.add("net")
        if not footprint and now.split()[0] != then.split()[0]:
            kinds.add("value")
        out |= {(r, k) for r in refs for k in kinds}
    return out


def from_review(variant: dict) -> set[tuple[str, str]]:
    out = set()
    for c in variant["changes"]:
        if c["kind"] in ("value", "footprint"):
            out.add((c["ref"], c["kind"]))
        elif c["kind"] in ("part-added", "part-removed"):
            out.add((c["ref"], "new" if c["kind"] == "part-added" else "removed"))
        elif c["kind"].startswith("net-"):
            out |= {(m["pin"].split(".")[0], "net") for m in c["moves"]}
        else:
            assert c["kind"] in NOT_IN_THE_TABLE, c
    return out


@pytest.fixture(scope="module")
def rev12(tmp_path_factory) -> Path:
    """kicad/ generated once from the rev 1.2 fixture: the generator's project, netlist and board job."""
    sys.path.insert(0, str(REPO / "tests" / "design"))
    from rev12_circuit import build_rev12

    side = tmp_path_factory.mktemp("rev12")
    stage = side / "kicad"
    stage.mkdir()
    generate.stage_project(stage, lambda m: None, build=lambda lib_dir, variant: build_rev12(variant), variant=P1)
    generate.export_netlist(stage)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("rev12_board.py")), str(stage)],
                          capture_output=True, text=True, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return side


def test_the_rev13_table_is_what_the_review_of_rev12_lists(rev12, tmp_path, review_cache):
    run.review(str(rev12), str(REV13), tmp_path / "out", repo=REPO, force="dir", pictures=False,
               cache=review_cache, log=lambda m: None)
    data = validated(tmp_path / "out")
    p1 = next(v for v in data["variants"] if v["variant"] == "p1")
    expected = from_table()
    assert len(expected) > 15, "the table was not read"
    assert from_review(p1) == expected
    assert ("p1s1", "variant-added") in {(v["variant"], c["kind"]) for v in data["variants"] for c in v["changes"]}
