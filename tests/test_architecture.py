"""The floors of the code, as docs/architecture.md draws them: no import circle between modules, and no package
importing one its row does not allow (an arrow that runs up). Function-local imports count: hiding an import
inside a function does not hide the arrow. Also: the wheel carries every package and every file in them."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "architecture.md"


def floors() -> dict[str, set[str]]:
    """{package: packages it may import} from the doc's floors table (first column the package, the column
    headed 'may import' the allowed ones, '—' for none)."""
    text = DOC.read_text(encoding="utf-8")
    rows = [ln for ln in text.split("## Floors", 1)[1].split("\n## ", 1)[0].splitlines() if ln.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    col = header.index("may import")
    table = {}
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        package = re.fullmatch(r"`([\w.]+)`", cells[0])
        assert package, f"docs/architecture.md: first cell {cells[0]!r} is not a `package`"
        table[package[1]] = set(re.findall(r"`([\w.]+)`", cells[col]))
    return table


def modules(packages) -> dict[str, Path]:
    found = {}
    for top in {p.split(".")[0] for p in packages}:
        for f in (REPO / top).rglob("*.py"):
            parts = list(f.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = f
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules `name` imports, anywhere in the file (a package's `from . import x` is module x)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def row_of(module: str, table) -> str | None:
    """The row a module is on: the longest package prefix; a package's `__main__` (an old entry point that
    hands over to `p1reader`) is on the command's floor."""
    if module.endswith(".__main__"):
        return "p1reader"
    rows = [p for p in table if module == p or module.startswith(p + ".")]
    return max(rows, key=len) if rows else None


def graph():
    table = floors()
    known = modules(table)
    return table, known, {m: imports(m, f, known) for m, f in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_the_floors_table_is_itself_a_stack():
    table = floors()
    assert {"hwtools", "meter", "firmware", "bringup", "p1reader"} <= set(table)
    for package, allowed in table.items():
        assert allowed <= set(table), f"{package} may import an unknown package: {allowed - set(table)}"
    assert cycles({p: a for p, a in table.items()}) == [], "the table's own arrows go round"


def test_no_import_circle_between_modules():
    _, _, edges = graph()
    assert cycles(edges) == []


def test_the_circle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def violations(table, edges) -> list[str]:
    wrong = []
    for src, targets in sorted(edges.items()):
        s = row_of(src, table)
        for dst in sorted(targets):
            d = row_of(dst, table)
            if d != s and d not in table[s]:
                wrong.append(f"{src} -> {dst} ({s} may import {sorted(table[s]) or 'nothing'})")
    return wrong


def test_every_arrow_runs_down_or_within_its_package():
    table, known, edges = graph()
    unlisted = sorted(m for m in known if row_of(m, table) is None)
    assert unlisted == [], f"modules in no row of docs/architecture.md: {unlisted}"
    assert violations(table, edges) == []


def test_an_upward_arrow_hidden_in_a_function_is_caught(tmp_path):
    table = floors()
    low = next(p for p, allowed in table.items() if not allowed)  # the bottom floor
    high = next(p for p in table if low in table[p])
    known = {f"{low}.x": tmp_path / "x.py", f"{high}.y": tmp_path / "y.py"}
    known[f"{low}.x"].write_text(f"def f():\n    from {high} import y\n")
    known[f"{high}.y"].write_text(f"from {low} import x\n")
    edges = {m: imports(m, f, known) for m, f in known.items()}
    assert violations(table, edges) == [f"{low}.x -> {high}.y ({low} may import nothing)"]


def test_the_wheel_carries_every_package_and_file(tmp_path):
    """Built from a copy of the tracked files (no build/ or egg-info in the checkout): every tracked file in a
    package folder is in the wheel, at the same path."""
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    tops = sorted({p.split(".")[0] for p in floors()})
    src = tmp_path / "src"
    for rel in tracked:
        if rel.split("/")[0] in tops or rel in ("pyproject.toml", "README.md"):
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, src / rel)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("p1reader-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {rel for rel in tracked if rel.split("/")[0] in tops}
    assert expected, "no package files found"
    assert sorted(expected - names) == []
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "p1reader = p1reader.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.parametrize("package", ["hwtools", "meter", "firmware", "bringup", "p1reader"])
def test_each_package_says_what_it_is(package):
    init = REPO / package / "__init__.py"
    assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{init} has no docstring"
