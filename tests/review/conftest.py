"""The revision review's fixtures: the rev 1.3 board as the staged fixture (its generated kicad/ and gerbers/,
tests/data/rev-1.3), one review cache per session, and every review.json validated against
docs/review-schema.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hwtools import project

REPO = project.ROOT
REV13 = REPO / "tests" / "data" / "rev-1.3"
SCHEMA = json.loads((REPO / "docs" / "review-schema.json").read_text(encoding="utf-8"))


def validated(out: Path) -> dict:
    """review.json of a review in `out`, checked against the schema (every review the tests make)."""
    import jsonschema

    data = json.loads((out / "review.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, SCHEMA)
    assert (out / "review.md").is_file() and (out / "index.html").is_file()
    return data


def listed(data: dict, variant: str) -> set[tuple]:
    """The (kind, ref or net) of each change the review lists for `variant`."""
    v = next(x for x in data["variants"] if x["variant"] == variant)
    return {(c["kind"], c.get("ref") or c.get("net")) for c in v["changes"]}


def copy_side(src: Path, dst: Path) -> Path:
    """A side folder (kicad/ and gerbers/ of both variants) to edit."""
    for folder in ("kicad", "gerbers"):
        shutil.copytree(src / folder, dst / folder)
    return dst


@pytest.fixture(scope="session")
def review_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("review-cache")


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Debian's Chromium through Debian's chromedriver (never a downloaded driver), headless."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for exe in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not Path(exe).is_file():
            pytest.fail(f"{exe} missing: run `make setup` (it installs Debian's chromium and chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
