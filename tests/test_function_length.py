"""No function longer than 60 lines (from its `def` to its last line, docstring included) in the packages: a
function that long does two things. The router's loops (hwtools/routing_loops.py) are compiled with Cython
and kept flat on purpose; the firmware's vendored libraries (firmware/lib) are upstream's files, unchanged."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("hwtools", "meter", "firmware", "bringup", "p1reader")
EXEMPT = {REPO / "hwtools" / "routing_loops.py", *(REPO / "firmware" / "lib").rglob("*.py")}
MAX_LINES = 60


def long_functions(path: Path, root: Path = REPO, limit: int = MAX_LINES) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.relative_to(root)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > limit]


def test_no_function_over_60_lines():
    files = [f for pkg in PACKAGES for f in sorted((REPO / pkg).rglob("*.py")) if f not in EXEMPT]
    assert len(files) > 50
    assert [entry for f in files for entry in long_functions(f)] == []


def test_a_long_function_is_found(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("class A:\n    def long(self):\n" + "".join(f"        x{i} = {i}\n" for i in range(60))
                     + "\n\ndef short():\n    return 1\n")
    assert long_functions(probe, tmp_path) == ["probe.py:2 long (61 lines)"]
