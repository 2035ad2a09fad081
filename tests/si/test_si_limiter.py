"""The current limit between D2 and +5V (hwtools/circuit.py `current_limit`) read from the circuit by its
connections: its parts, the limit they set, its tolerance corners and the deck lines they become."""

import sys
from pathlib import Path

import pytest

from hwtools.circuit import build_board
from hwtools.facts import load_facts
from hwtools.rules.topology import Topology
from hwtools.si import limiter

FACTS = load_facts()
sys.path.insert(0, str(Path(__file__).parents[1] / "design"))
from rev13_circuit import build_rev13  # noqa: E402

LIMIT_REFS = ["C13", "C14", "Q5", "R19", "R21", "R22", "R23", "R24", "R25", "R26", "U4", "U5"]


@pytest.fixture(scope="module")
def limited():
    board = build_board()
    return board, Topology.of(board)


def test_the_limit_is_found_between_d2_and_the_regulator(limited):
    b, top = limited
    rev13 = build_rev13()
    assert top.reverse_diode == "D2" and top.limiter_in == "LIM_IN"
    assert limiter.limiter_parts(b, top) == LIMIT_REFS
    unlimited = Topology.of(rev13)
    assert unlimited.limiter_in is None and limiter.limiter_parts(rev13, unlimited) == []


def test_the_limit_is_what_the_reference_divider_and_sense_resistor_set(limited):
    b, top = limited
    r21, r22, r19 = (b.value(r) for r in ("R21", "R22", "R19"))
    expected = FACTS["lm4040a_1v2"]["vref_v"] * r21 / (r21 + r22) / r19 * 1e3
    assert limiter.limit_ma(b, top, FACTS) == pytest.approx(expected)
    higher = build_board({"R21": "3.16 kOhm"})
    assert limiter.limit_ma(higher, Topology.of(higher), FACTS) > expected + 10


def test_the_tolerance_corners_bracket_the_limit_by_every_part_s_spread(limited):
    """Reference ± 0.1 % and 100 ppm/°C, the divider's two 0.1 % / 25 ppm/°C resistors, the sense resistor's 1 % and
    100 ppm/°C over 25 ± 35 °C: ± 2.175 %; the op-amp's offset ± 1.35 mV on top."""
    b, top = limited
    assert limiter.sense_tolerance(FACTS) == pytest.approx(0.02175)
    nominal, low, high = (limiter.limit_ma(b, top, FACTS, c) for c in limiter.corners(FACTS))
    spread = nominal * 0.02175 + 1.35 / b.value("R19")
    assert low == pytest.approx(nominal - spread) and high == pytest.approx(nominal + spread)


def test_the_deck_holds_the_board_s_own_parts_and_the_corner_s_offset(limited):
    b, top = limited
    low = limiter.corners(FACTS)[1]
    text = limiter.fragment(b, top, FACTS, low)
    assert "RR19 LIM_IN LIM_S 1\n" in text and "RR21 LIM_IN LIM_X 2940\n" in text
    assert "QQ5 N_5V LIM_B LIM_S QPASS_Q5" in text and f"BF={FACTS['bd140']['hfe_min']}" in text
    assert "VOS_U4A LIM_X os_U4A -0.00135" in text  # the low corner's offset on U4A's + input
    vref = FACTS["lm4040a_1v2"]["vref_v"] * low.sense_scale
    assert f"BU5 LIM_IN LIM_REF I = max(V(LIM_IN,LIM_REF) - {vref:.6g}, 0)" in text
