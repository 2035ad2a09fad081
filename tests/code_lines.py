"""Non-blank, non-comment lines of the product's Python (every tracked .py outside tests/), at git revisions:

    python -m tests.code_lines 7dfd72d HEAD

A line counts when a token other than a comment or a line break is on it (docstrings count: they are code a
reader reads). With no revision, the work tree's tracked files."""

from __future__ import annotations

import io
import subprocess
import sys
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def code_lines(text: str) -> int:
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type not in SKIP:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines)


def _git(*args) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout


def count(rev: str | None = None) -> int:
    names = _git("ls-tree", "-r", "--name-only", rev).split() if rev else _git("ls-files").split()
    names = [n for n in names if n.endswith(".py") and not n.startswith("tests/")]
    return sum(code_lines(_git("show", f"{rev}:{n}") if rev else (REPO / n).read_text(encoding="utf-8"))
               for n in names)


if __name__ == "__main__":
    for rev in sys.argv[1:] or [None]:
        print(f"{rev or 'work tree'}: {count(rev):,} lines")
