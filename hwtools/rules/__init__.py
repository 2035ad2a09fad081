"""P1 and S1 design rules at the P1 specification's worst case — what no generic ERC knows about reading a meter.

One module per block of the board (README.md's layout table); each declares its rules (`base.Rule`: id, what it
reads), and each rule returns one `Result` per figure — its limit, the worst corner and the parts that decide it.
"""

from __future__ import annotations

from ..facts import load_facts
from . import i2c, layout, p1port, power_path, s1, supply
from .base import CIRCUIT, ROUTED_BOARD, Result, Rule
from .topology import Topology

ALL: list[Rule] = p1port.RULES + supply.RULES + power_path.RULES + i2c.RULES + s1.RULES + layout.RULES

__all__ = ["ALL", "CIRCUIT", "ROUTED_BOARD", "Result", "Rule", "Topology", "check", "rules_for"]


def rules_for(variant) -> list[Rule]:
    """The rules a variant has: every rule, less the S1 ones on a board without the S1 port."""
    return [r for r in ALL if variant.has_s1 or not r.s1_only]


def check(board, facts=None, routed=None, circuit_only=False) -> list[Result]:
    """Every figure of every rule of the board's variant. `routed`: the routed board (hwtools/routed.py), for the
    layout rules; `circuit_only`: leave the layout rules out (a circuit that was never routed)."""
    facts = facts or load_facts()
    top = Topology.of(board)
    top.routed = routed
    results = []
    for rule in rules_for(board.variant):
        if ROUTED_BOARD in rule.needs and circuit_only:
            continue
        if ROUTED_BOARD in rule.needs and routed is None:
            raise ValueError(f"rule {rule.id} reads the routed board: pass routed=")
        results += rule.check(board, facts, top)
    return results

