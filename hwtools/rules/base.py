"""What every rule shares: the result of one checked figure, the operating corners, parts at their tolerance.

Every figure is computed from the circuit's own parts (`Board.value`, each part's MPN) and the guaranteed
limits in `parts.toml` (hwtools/facts.py), over the corners the board must survive: the meter's supply
4.9-5.5 V (DSMR), the cable from 0 m to `[p1_cable] length_max_m` at its resistance, 0-60 °C, ±1 % resistors
and each part's spread.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

from ..facts import limit_text, part_facts

CIRCUIT, ROUTED_BOARD = "circuit", "routed board"  # what a rule reads


@dataclass(frozen=True)
class Rule:
    """One design rule: its id (as `check --json` prints it), the function that computes its figures, what it
    reads (the circuit, the routed board, or both) and whether only a board with the S1 port has it.

    `check(board, facts, top)` returns one `Result` per figure; a rule that reads the routed board gets it as
    `top.routed` (hwtools/rules/layout.py)."""

    id: str
    check: Callable
    needs: tuple[str, ...] = (CIRCUIT,)
    s1_only: bool = False


@dataclass
class Result:
    """One checked figure of one rule (a structural rule has figure None)."""

    rule: str
    figure: float | None
    unit: str
    limit_min: float | None
    limit_max: float | None
    worst_case: dict
    passed: bool
    what: str  # the figure in words
    parts: str  # the parts that decide it
    note: str = ""  # how the limit was moved to the operating point, or what is wrong

    def __str__(self):
        verdict = "PASS" if self.passed else "FAIL"
        fig = "—" if self.figure is None else f"{self.figure:.3g} {self.unit}"
        corner = ", ".join(f"{k}={_fmt(v)}" for k, v in self.worst_case.items())
        limit = limit_text(self.limit_min, self.limit_max, self.unit)
        text = f"{verdict}  {self.rule}: {self.what} {fig} (limit {limit}; {self.parts}"
        text += f"; worst case {corner})" if corner else ")"
        return text + (f" — {self.note}" if self.note else "")

    def as_json(self, variant: str) -> dict:
        return {"variant": variant, "rule": self.rule, "figure": None if self.figure is None else round(self.figure, 6),
                "unit": self.unit, "limit": {"min": self.limit_min, "max": self.limit_max},
                "worst_case": self.worst_case, "pass": bool(self.passed)}

def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)

def _judge(value, lo=None, hi=None):
    return (lo is None or value >= lo - 1e-12) and (hi is None or value <= hi + 1e-12)


# --- the board, read by connection ------------------------------------------------------------------------

def _pins(board, net):
    return board.pins_on(net) if net else set()

def _net_parts(board, net):
    return {ref for ref, _ in _pins(board, net)}

def _resistor_between(board, a, b):
    refs = [r for r in _net_parts(board, a) & _net_parts(board, b) if board.lib_ids[r] == "Device:R"]
    return sorted(refs)[0] if refs else None

def _pin_named(board, ref, name):
    return next(p.num for p in board.parts[ref].pins if p.name == name)


# --- operating conditions ---------------------------------------------------------------------------------

def _grid(facts, **fixed):
    """Every combination of the operating corners (with some held fixed), as dicts."""
    p1, cab, op = facts["p1_port"], facts["p1_cable"], facts["operating"]
    corners = {"supply_v": (p1["supply_min_v"], p1["supply_max_v"]), "cable_m": (cab["length_min_m"], cab["length_max_m"]),
               "temp_c": (op["ambient_min_c"], op["ambient_max_c"])}
    axes = {k: v for k, v in corners.items() if k not in fixed}
    for combo in itertools.product(*axes.values()):
        yield {**dict(zip(axes, combo)), **fixed}

def _r(board, facts, ref, sign):
    """A resistor at the edge of its tolerance: sign +1 high, -1 low."""
    return board.value(ref) * (1 + sign * facts["resistor_mfr50"]["tolerance"])

def _wire_ohm(facts, cable_m):
    return facts["p1_cable"]["r_ohm_per_m"] * cable_m

def _regulator(board, facts):
    return part_facts(board, facts, "U1")

def _vout_range(reg):
    return reg["vout_v"] * (1 - reg["vout_tol_frac"]), reg["vout_v"] * (1 + reg["vout_tol_frac"])

def _dropout(reg, amps):
    """Guaranteed dropout moved from its test current to `amps` with the typical curve's ratio."""
    if reg.get("dropout_proportional"):
        ratio = amps / reg["dropout_test_a"]
    else:
        typ = reg["dropout_typ_light_v"] + (reg["dropout_typ_at_test_v"] - reg["dropout_typ_light_v"]) * amps / reg[
            "dropout_test_a"]
        ratio = typ / reg["dropout_typ_at_test_v"]
    return reg["dropout_max_v"] * ratio

def _board_supply(facts, corner, amps):
    """P1 +5 V minus ground at the board: the meter's supply less the drop in both power conductors."""
    return corner["supply_v"] - 2 * _wire_ohm(facts, corner["cable_m"]) * amps
