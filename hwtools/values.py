"""Strict part values for resistors, capacitors and inductors: a typo must stop the build, not reach the BOM.

Accepted: a number, an optional space, an optional SI prefix (`µ` or `u` for micro) and the unit of the part
kind — Ω or Ohm for R, F for C, H for L ("2.2 kOhm", "100 nF", "10 µH") — or the RKM form with the prefix as
the decimal point ("2k2", "4R7", "220R", "4n7", "10u"). Other parts carry part numbers (BC547, LM1085-3.3,
an LED colour) and are not checked here.
"""

from __future__ import annotations

import re

from .errors import HwtoolsError

PREFIXES = {"p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6,
            "G": 1e9}
UNITS = {"R": ("Ω", "Ohm", "ohm"), "C": ("F",), "L": ("H",)}
KIND_NAMES = {"R": "resistor", "C": "capacitor", "L": "inductor"}
# RKM letters per kind; "R" in a resistor value is the decimal point of a plain ohm value (4R7 = 4.7 Ω)
RKM_LETTERS = {"R": "RkKMG", "C": "pnuµμm", "L": "pnuµμm"}
_SYMBOL = re.compile(r"^Device:(R|C|L)(_\w+)?$")  # Device:R, Device:C_Polarized, Device:L (not Device:LED)
_NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"


class BadValue(HwtoolsError, ValueError):
    pass


def parse(kind: str, text: str) -> float:
    """The value in Ω, F or H; BadValue saying what is wrong and what is accepted."""
    units = "|".join(map(re.escape, UNITS[kind]))
    prefixes = "".join(p for p in PREFIXES if p)
    m = re.fullmatch(rf"{_NUMBER} ?([{prefixes}]?)(?:{units})", text)
    if m:
        return float(m.group(1)) * PREFIXES[m.group(2)]
    m = re.fullmatch(rf"(\d+)([{RKM_LETTERS[kind]}])(\d*)", text)
    if m:
        scale = 1.0 if m.group(2) == "R" else PREFIXES[m.group(2).replace("K", "k")]
        return float(f"{m.group(1)}.{m.group(3) or 0}") * scale
    examples = {"R": '"2.2 kOhm", "220 Ω", "2k2"', "C": '"100 nF", "1 µF", "4n7"', "L": '"10 µH", "4u7"'}[kind]
    raise BadValue(f"{KIND_NAMES[kind]} value {text!r} is not a number, an optional SI prefix and "
                   f"{' or '.join(UNITS[kind][:2])} (e.g. {examples})")


def check(symbol: str, text: str) -> float | None:
    """Parse a part's value when its symbol is a resistor, capacitor or inductor; None for a part known by its part
    number."""
    kind = _SYMBOL.match(symbol)
    return None if kind is None else parse(kind.group(1), str(text))
