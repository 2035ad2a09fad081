"""P1 design rules: the proven design passes each one; changing one part value makes exactly the expected
rule fail with a message naming the part, the figure and the limit."""

import re

import pytest

from hwtools import rules
from hwtools.circuit import build_board


def results_by_name(board):
    return {f.__name__: r for f, r in zip(rules.RULES, rules.check(board))}


def test_proven_design_passes_every_rule(board):
    results = results_by_name(board)
    assert set(results) == {f.__name__ for f in rules.RULES}
    failed = [str(r) for r in results.values() if not r.passed]
    assert failed == []


def test_figures_come_from_the_circuit(board):
    """2.2 kΩ from 5.5 V is 2.50 mA; the figure must follow the board's own R2."""
    result = results_by_name(board)["data_line_current"]
    assert result.figure == "2.50 mA"
    assert "R2 = 2.2 kOhm" in result.parts


# (changed value, rule that must fail, words the message must contain)
CASES = [
    ({"R2": "470 Ohm"}, "data_line_current", ["R2 = 470 Ohm", "11.70 mA", "≤ 5.0 mA"]),
    ({"R1": "1 MOhm"}, "q1_saturation", ["R1 1 MOhm", "IB 0.004 mA", "IB ≥ 2 × IC / hFEmin 200"]),
    ({"R3": "220 kOhm"}, "rx_levels", ["R3 220 kOhm", "HIGH 2.12 V", "HIGH ≥ VIH 2.43 V"]),
    ({"R4": "1 kOhm"}, "data_request", ["R4 1 kOhm", "1.09 V at 1.09 mA", "4.0-5.5 V at 4.0-10.0 mA"]),
    ({"R5": "1 kOhm"}, "data_request", ["R5 1 kOhm", "2.30 V", "4.0-5.5 V"]),
    ({"R6": "10 Ohm"}, "supply_budget", ["power LED D1/R6 130.0", "298.1 mA", "≤ 250 mA"]),
]


@pytest.mark.parametrize("values, rule, words", CASES, ids=[c[1] + "-" + next(iter(c[0])) for c in CASES])
def test_one_changed_value_breaks_its_rule(values, rule, words):
    results = results_by_name(build_board(values))
    failed = {name for name, r in results.items() if not r.passed}
    assert rule in failed
    message = str(results[rule])
    assert message.startswith("FAIL")
    for word in words:
        assert word in message


def test_ldo_headroom_fails_with_a_higher_dropout(board):
    facts = rules.load_facts()
    facts["lm1085_3v3"]["dropout_max_v"] = 1.7  # e.g. an LM317-class regulator
    result = rules.ldo_headroom(board, facts)
    assert not result.passed and "1.60 V" in str(result) and "dropout 1.7 V" in str(result) and "U1" in str(result)


def test_rj12_pinout_catches_a_connected_pin_4():
    board = build_board()
    pin4 = board.parts["J2"]["4"]
    pin4.disconnect()
    board.nets["GND"] += pin4
    result = rules.rj12_pinout(board, rules.load_facts())
    assert not result.passed and "pin 4 (n.c.) is connected to GND" in str(result) and "J2" in str(result)


def test_every_fact_has_a_source():
    for section, facts in rules.load_facts().items():
        assert facts.get("source"), section
        assert all(re.fullmatch(r"[a-z0-9_]+", k) for k in facts), section
