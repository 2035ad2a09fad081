"""The revision review tests' helpers: the rev 1.3 board as the staged fixture (its generated kicad/ and
gerbers/, tests/data/rev-1.3), and every review.json validated against docs/review-schema.json. (A module of its
own: `conftest` is a name every test folder has, so tests cannot import it.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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
