"""The part and port facts every check reads: `parts.toml`, each figure with its source.

One loader for the rules, the signal-integrity model and the bench, and the few figures derived from the
datasheets that more than one of them uses (the optocoupler's worst CTR).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

PARTS_FILE = Path(__file__).with_name("parts.toml")


def load_facts(path: Path = PARTS_FILE) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def part_facts(board, facts, ref):
    """The parts.toml section whose `mpn` is this part's MPN."""
    mpn = board.parts[ref].fields.get("MPN", "")
    for section in facts.values():
        if isinstance(section, dict) and section.get("mpn") == mpn:
            return section
    raise KeyError(f"{ref}: no facts for MPN {mpn!r} in parts.toml")


def bc547_models(facts) -> dict:
    """The BC547 storage-time models of parts.toml [bc547_models], by name (each with tr_s and source)."""
    return {name: m for name, m in facts["bc547_models"].items() if isinstance(m, dict)}


def opto_ctr(facts, i_led):
    """The 4N35's worst CTR at LED current `i_led`: its 100 % minimum (IF 10 mA, VCE 10 V) times the typical
    curves' ratios for a lower LED current, saturation and 0-60 °C."""
    o = facts["cny_4n35"]
    ratio_if = o["ctr_ratio_if_5ma"] if i_led < 10e-3 else 1.0
    return o["ctr_min"] * ratio_if * o["ctr_ratio_saturated"] * o["ctr_ratio_temp"]


def limit_text(low: float | None, high: float | None, unit: str) -> str:
    """A limit as the reports write it: "4-5.5 V", "≥ 4 V", "≤ 10 mA", or "as specified" (a structural check)."""
    if low is not None and high is not None:
        return f"{low:g}-{high:g} {unit}"
    if low is not None:
        return f"≥ {low:g} {unit}"
    return f"≤ {high:g} {unit}" if high is not None else "as specified"
