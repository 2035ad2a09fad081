"""Every check's verdict before and after: the comparison of two `checks.json` records (hwtools/review/record.py).

Each figure's change is judged: a regression (PASS → FAIL, a new failing figure, a higher ERC/DRC count, a lower
max baud rate, an SI figure past its limit) or a shrinking margin that still passes (`margin-shrunk`).
"""

from __future__ import annotations

import re

from .record import NOT_AVAILABLE



def _margin(figure, lo, hi) -> float | None:
    if figure is None:
        return None
    sides = [figure - lo if lo is not None else None, hi - figure if hi is not None else None]
    sides = [s for s in sides if s is not None]
    return min(sides) if sides else None


def _si_limit(text: str) -> tuple[float | None, float | None]:
    """The numbers of an SI limit text ("≤ 868 ns (…)", "≥ 0.2 V", "4-5.5 V")."""
    m = re.match(r"\s*([≤≥])\s*([-\d.]+)", text)
    if m:
        v = float(m.group(2))
        return (None, v) if m.group(1) == "≤" else (v, None)
    m = re.match(r"\s*([-\d.]+)\s*-\s*([-\d.]+)", text)
    return (float(m.group(1)), float(m.group(2))) if m else (None, None)


def _figures(checks) -> dict | None:
    """{name: (figure, lo, hi, pass)} of a checks record, or None when it is not available."""
    if not isinstance(checks, dict):
        return None
    out = {}
    for r in checks.get("rules", []):
        key = f"rule {r['rule']}"
        n = sum(1 for k in out if k == key or k.startswith(key + " #"))
        out[key if n == 0 else f"{key} #{n + 1}"] = (r["figure"], r["limit"]["min"], r["limit"]["max"], r["pass"])
    si = checks.get("si")
    if isinstance(si, dict):
        for f in si.get("figures", []):
            out[f"si {f['key']}"] = (f["value"], *_si_limit(f["limit"]), f["pass"])
        out["si max_baud"] = (si["summary"]["max_baud"], None, None, True)
    for tool in ("erc", "drc"):
        for name, n in (checks.get(tool) if isinstance(checks.get(tool), dict) else {}).items():
            if name != "excluded":
                out[f"{tool} {name}"] = (n, None, 0, n == 0)
    return out


def compare(before, after) -> list[dict]:
    """One entry per figure: before, after, verdict (same, better, changed, regression, margin-shrunk, new,
    gone, not available)."""
    a, b = _figures(before), _figures(after)
    if a is None or b is None:
        names = sorted((a or {}).keys() | (b or {}).keys())
        return [{"figure": n, "before": _value(a, n), "after": _value(b, n), "verdict": NOT_AVAILABLE} for n in names]
    missing = _unavailable(before) | _unavailable(after)
    return [{"figure": n, "before": _value(a, n), "after": _value(b, n),
             "verdict": NOT_AVAILABLE if n.split()[0] in missing else _verdict(n, a.get(n), b.get(n))}
            for n in sorted(a.keys() | b.keys())]


def _unavailable(checks: dict) -> set[str]:
    """The kinds of figure ("erc", "drc", "si") a record could not get (an older revision's own check)."""
    return {k for k in ("erc", "drc", "si") if not isinstance(checks.get(k), dict)}


def _value(figs, name):
    if figs is None or name not in figs:
        return NOT_AVAILABLE if figs is None else None
    fig, lo, hi, ok = figs[name]
    return {"figure": fig, "min": lo, "max": hi, "pass": ok}


def _verdict(name: str, old, new) -> str:
    if new is None:
        return "gone"
    if old is None:
        return "new" if new[3] else "regression"
    if old[3] and not new[3]:
        return "regression"
    if name.startswith(("erc ", "drc ")) and (new[0] or 0) > (old[0] or 0):
        return "regression"
    if name == "si max_baud" and new[0] < old[0]:
        return "regression"
    if old == new:
        return "same"
    m_old, m_new = _margin(old[0], old[1], old[2]), _margin(new[0], new[1], new[2])
    if new[3] and m_old is not None and m_new is not None and m_new < m_old - 1e-9 * max(1.0, abs(m_old)):
        return "margin-shrunk"
    return "better" if not old[3] and new[3] else "changed"


def failures(entries: list[dict], fail_on: str | None) -> list[dict]:
    """The entries that fail the review under `--fail-on` (regression, or margin: regressions and shrunk margins)."""
    kinds = {"regression": {"regression"}, "margin": {"regression", "margin-shrunk"}}.get(fail_on, set())
    return [e for e in entries if e["verdict"] in kinds]
