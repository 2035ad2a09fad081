"""The layout tables match the tree: README.md's (the repository) and bringup/README.md's (the bench). Every path
a table names exists, and every module of a package is named — by its file, or by its folder when the table
describes a sub-package as one row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def table_paths(readme: Path, heading: str, base: Path) -> set[Path]:
    text = readme.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    paths = set()
    for row in (ln for ln in section.splitlines() if ln.startswith("| `")):
        first = row.split("|")[1]
        for name in re.findall(r"`([^`]+)`", first):
            paths.add(base / name)
    return paths


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")
                  and "__pycache__" not in p.parts)


def named(path: Path, listed: set[Path]) -> bool:
    return any(path == p or path.is_relative_to(p) and p.is_dir() and p != p.parent for p in listed)


@pytest.mark.parametrize("readme, heading, base, packages", [
    (REPO / "README.md", "## Layout", REPO, ["hwtools", "meter", "firmware", "p1reader"]),
    (REPO / "bringup" / "README.md", "The layout follows the bench:", REPO / "bringup", ["bringup"]),
])
def test_the_layout_table_matches_the_tree(readme, heading, base, packages):
    listed = table_paths(readme, heading, base)
    assert listed, f"{readme}: no layout table under {heading!r}"
    missing = sorted(str(p.relative_to(REPO)) for p in listed if not p.exists())
    assert missing == [], f"{readme.name} names paths that do not exist"
    unnamed = sorted(str(m.relative_to(REPO)) for pkg in packages for m in modules(REPO / pkg)
                     if not named(m, listed - {REPO / pkg, REPO / "bringup"}))
    assert unnamed == [], f"{readme.name}'s layout table does not name these modules"
