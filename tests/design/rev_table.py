"""`python tests/design/rev_table.py`: the rules table of docs/rev-1.4.md — every figure of rev 1.3 beside rev 1.4's.

Rev 1.4 is `p1reader check --json` on the committed boards (p1); rev 1.3 is the same rules on the rev 1.3 fixture
(tests/design/rev13_circuit.py with its committed routed board in tests/data/rev-1.3), as JSON rows of the same
form. Rows are matched by rule and by the worst-case keys that name a figure (pin, side, …).
"""

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NAMING_KEYS = ("pin", "side")  # worst-case keys that tell two figures of one rule apart (else: their order)


def rev14_rows() -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "p1reader", "check", "--json", "--variant", "p1"],
                          capture_output=True, text=True, cwd=REPO)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def rev13_rows() -> list[dict]:
    sys.path.insert(0, str(HERE))
    from hwtools import routed, rules
    from rev13_circuit import board_file, build_rev13

    return [r.as_json("p1") for r in rules.check(build_rev13(), routed=routed.read(board_file()))]


def _cell(row) -> str:
    if row is None:
        return "—"
    fig = "" if row["figure"] is None else f"{row['figure']:.4g} {row['unit']} "
    return fig + ("PASS" if row["pass"] else "FAIL")


def _limit(row) -> str:
    low, high, unit = row["limit"]["min"], row["limit"]["max"], row["unit"]
    if low is not None and high is not None:
        return f"{low:g}–{high:g} {unit}"
    return f"≥ {low:g} {unit}" if low is not None else (f"≤ {high:g} {unit}" if high is not None else "as specified")


def table(old: list[dict], new: list[dict]) -> str:
    lines = ["| rule | figure | limit | rev 1.3 | rev 1.4 |", "|---|---|---|---|---|"]
    seen = {}
    for row in new:
        key = (row["rule"], *(str(row["worst_case"].get(k, "")) for k in NAMING_KEYS))
        seen[key] = seen.get(key, -1) + 1
        matches = [r for r in old if (r["rule"], *(str(r["worst_case"].get(k, "")) for k in NAMING_KEYS)) == key]
        before = matches[seen[key]] if seen[key] < len(matches) else None
        name = ", ".join(f"{k} {row['worst_case'][k]}" for k in NAMING_KEYS if k in row["worst_case"])
        lines.append(f"| {row['rule']} | {name or '—'} | {_limit(row)} | {_cell(before)} | {_cell(row)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(rev13_rows(), rev14_rows()))
