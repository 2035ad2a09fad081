"""The op-amp current limit studied for p1-peak-current (hwtools/si/limiter.py, not on the board yet): behind it the
meter stays under 250 mA at every corner while U1 keeps its input; set too high, Data Request sags under 4.0 V."""

from dataclasses import replace

import pytest

from hwtools.circuit import build_board
from hwtools.facts import load_facts
from hwtools.rules.p1port import drq_lowest_during
from hwtools.rules.supply import bulk_min_v, supply_loads_ma
from hwtools.rules.topology import Topology
from hwtools.si import limiter
from hwtools.si.burst import PIN_SIDE

FACTS = load_facts()


@pytest.fixture(scope="module")
def board():
    return build_board({"C1": "3760 µF"})  # 4700 µF at −20 %


@pytest.fixture(scope="module")
def nominal(board):
    return limiter.study(board, limiter.OpampLimiter())


def test_the_limiter_holds_the_meter_at_its_limit_plus_the_pin_1_loads(board, nominal):
    design, figs = limiter.OpampLimiter(), nominal
    pin_side = sum(v for k, v in supply_loads_ma(board, FACTS, Topology.of(board)).items()
                   if any(w in k for w in PIN_SIDE))
    assert len(figs) == 16
    peak = max(f.peak_ma for f in figs)
    assert design.limit_ma + pin_side < peak < design.limit_ma + pin_side + 15  # limiting, ≤ 15 mA at the edge
    assert peak < FACTS["p1_port"]["supply_continuous_max_ma"]
    need = bulk_min_v(board, FACTS, Topology.of(board), FACTS["wifi_frame"])
    assert min(f.lowest_bulk_v for f in figs if f.meter.delivers_dsmr_minimum(FACTS["p1_port"])) > need


def test_a_limit_set_too_high_lets_data_request_sag_under_4v(board, nominal):
    top = Topology.of(board)
    ok = drq_lowest_during(board, FACTS, top, nominal)
    high = drq_lowest_during(board, FACTS, top, limiter.study(board, replace(limiter.OpampLimiter(), sense_mv=100.0)))
    assert ok[0] >= FACTS["p1_port"]["drq_high_min_v"] > high[0]
    assert high[1]["meter"] == "stiff" and high[1]["cable_m"] == 5.0
