"""Proof by mutation on the staged fixture (the generated rev 1.3 project, tests/data/rev-1.3): each scripted
single edit (tests/review/edits.py says how each is made: netlist and schematic text as the generate step
writes them, or the board with pcbnew) is reviewed against the unedited project, and the review lists exactly
that change on both variants: precision and recall 1.0."""

from __future__ import annotations

import pytest

from edits import EDITS
from hwtools.review import run
from hwtools.variant import VARIANTS

from review_helpers import REV13, copy_side, listed, validated


@pytest.mark.parametrize("name", sorted(EDITS))
def test_a_single_edit_is_listed_exactly(name, tmp_path, review_cache):
    head = copy_side(REV13, tmp_path / "head")
    expected = {}
    for variant in VARIANTS.values():
        expected[variant.name] = EDITS[name](head / variant.kicad_rel)
    run.review(str(REV13), str(head), tmp_path / "out", repo=tmp_path, force="dir", pictures=False,
               cache=review_cache, log=lambda m: None)
    data = validated(tmp_path / "out")
    for variant, want in expected.items():
        got = listed(data, variant)
        true = got & want
        precision = len(true) / len(got) if got else 1.0
        recall = len(true) / len(want) if want else 1.0
        assert (precision, recall) == (1.0, 1.0), f"{variant}: listed {sorted(got, key=str)}, made {sorted(want, key=str)}"


def test_routing_is_listed_under_the_change_that_caused_it(tmp_path, review_cache):
    """Two nets merged: the tracks of both nets changed, and both appear only as consequences of the merge."""
    head = copy_side(REV13, tmp_path / "head")
    EDITS["nets_merged"](head / "kicad")
    run.review(str(REV13), str(head), tmp_path / "out", repo=tmp_path, force="dir", pictures=False,
               cache=review_cache, log=lambda m: None)
    p1 = next(v for v in validated(tmp_path / "out")["variants"] if v["variant"] == "p1")
    (merge,) = p1["changes"]
    assert {r["net"] for r in p1["routing"]} == {"/I2C_SCL", "/I2C_SDA"}
    assert all(r["caused_by"] == merge["id"] for r in p1["routing"])
    assert p1["routing"][0]["before"] != p1["routing"][0]["after"]


def test_the_same_project_gives_an_empty_review(tmp_path, review_cache):
    run.review(str(REV13), str(copy_side(REV13, tmp_path / "same")), tmp_path / "out", repo=tmp_path,
               force="dir", pictures=False, cache=review_cache, log=lambda m: None)
    result = validated(tmp_path / "out")
    assert [v["variant"] for v in result["variants"]] == list(VARIANTS)
    assert all(v["changes"] == [] and v["routing"] == [] for v in result["variants"])
