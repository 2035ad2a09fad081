"""The review's pictures and its page: crops only of what changed, before/after/overlay with a changed-pixel
count, flags for a picture change without a semantic change and the reverse; index.html read in headless
Chromium (selenium): the change list and the first crop from the DOM, a screenshot kept in
test-artifacts/review-page.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from edits import board, moved, net_set, value
from hwtools.review import run

from review_helpers import REPO, REV13, copy_side, listed, validated

ARTIFACTS = Path(os.environ.get("P1READER_TEST_ARTIFACTS", REPO / "test-artifacts"))


def _reference_text_moved(k: Path):
    """R2's reference text on the silkscreen moved 1 mm: a picture change the design does not have."""
    import pcbnew

    def shift(b, pn):
        text = b.FindFootprintByReference("R2").Reference()
        p = text.GetPosition()
        text.SetPosition(pcbnew.VECTOR2I(p.x, p.y + 1_000_000))
    board(k, shift)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """One review with pictures: R3's value, R1 moved 0.5 mm, D1's footprint in the netlist only (nothing
    drawn shows it), R2's reference text moved (p1 only)."""
    tmp = tmp_path_factory.mktemp("page")
    head = copy_side(REV13, tmp / "head")
    for edit in (value, moved):
        edit(head / "kicad")
    net_set(head / "kicad", "D1", "footprint", "LED_THT:LED_D3.0mm")
    _reference_text_moved(head / "kicad")
    run.review(str(REV13), str(head), tmp / "out", repo=tmp, force="dir", pictures=True,
               cache=tmp / "cache", log=lambda m: None)
    return tmp / "out"


def test_crops_only_where_something_changed(page):
    data = validated(page)
    assert listed(data, "p1") == {("value", "R3"), ("moved", "R1"), ("footprint", "D1")}
    p1, p1s1 = data["variants"]
    assert set(p1s1["pictures"]["layers"].values()) == {"unchanged"} and p1s1["pictures"]["crops"] == []
    layers = p1["pictures"]["layers"]
    assert layers["Edge.Cuts"] == layers["B.Silkscreen"] == "unchanged"
    assert all(layers[n].startswith("changed") for n in ("schematic", "F.Cu", "F.Silkscreen"))
    crops = {c["change"]: c["views"] for c in p1["pictures"]["crops"]}
    ids = {c["kind"]: c["id"] for c in p1["changes"]}
    assert "schematic" in {v["layer"] for v in crops[ids["value"]]}
    assert {"F.Cu", "B.Cu"} <= {v["layer"] for v in crops[ids["moved"]]}
    view = crops[ids["moved"]][0]
    assert view["changed_pixels"] > 0
    overlay = Image.open(page / view["overlay"]).convert("RGB")
    colours = {c for _, c in overlay.getcolors(1 << 20)}
    assert (220, 30, 30) in colours and (20, 160, 40) in colours, "removed red and added green"
    assert Image.open(page / view["before"]).size == overlay.size == Image.open(page / view["after"]).size


def test_a_picture_change_without_a_design_change_and_the_reverse_are_flagged(page):
    p1 = validated(page)["variants"][0]
    flags = p1["pictures"]["flags"]
    assert "no semantic change" in flags.get("F.Silkscreen", ""), flags  # R2's reference text
    footprint_id = next(c["id"] for c in p1["changes"] if c["kind"] == "footprint")
    assert [why for what, why in flags.items() if what.startswith(footprint_id + " ")] == \
        ["semantic change with no picture change"]


def test_the_page_in_chromium_lists_the_changes_and_shows_the_first_crop(page, browser):
    from selenium.webdriver.common.by import By

    browser.get((page / "index.html").as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "#variant-p1 tr.change")
    assert {(r.get_attribute("data-kind"), r.get_attribute("data-subject")) for r in rows} == \
        listed(validated(page), "p1")
    assert browser.find_elements(By.CSS_SELECTOR, "#variant-p1s1 .no-change")
    link = rows[0].find_element(By.CSS_SELECTOR, "a")
    target = link.get_attribute("href").split("#", 1)[1]
    crop = browser.find_element(By.ID, target).find_element(By.XPATH, "following-sibling::div[@class='crop']")
    images = crop.find_elements(By.TAG_NAME, "img")
    assert [i.get_attribute("class") for i in images] == ["before", "after", "overlay"]
    assert all(browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", i) > 0
               for i in images), "a crop did not load"
    assert int(crop.find_element(By.CLASS_NAME, "pixels").text) > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1280, 1400)
    assert browser.save_screenshot(str(ARTIFACTS / "review-page.png"))
