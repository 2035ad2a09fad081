"""The burst-train study (hwtools/si/burst.py, an ngspice transient) that p1-peak-current reads: what a bulk
capacitor behind D2 can and cannot do for the meter (tests/design/test_design_peak_current.py judges the rule)."""

import pytest

from hwtools.circuit import build_board
from hwtools.facts import load_facts
from hwtools.rules.loads import supply_loads_ma
from hwtools.rules.topology import Topology
from hwtools.si.burst import study

FACTS = load_facts()


def _steady_and_extra(board, burst):
    steady = sum(supply_loads_ma(board, FACTS, Topology.of(board)).values())
    return steady, burst["current_ma"] - FACTS["esp32"]["wifi_rx_listen_ma"]


@pytest.fixture(scope="module")
def short_burst():
    """rail-3v3's 2.2 ms burst ([wifi_burst]) on today's board, ESR as declared."""
    return study(build_board(), burst=FACTS["wifi_burst"], esr_scales=(1.0,))


def test_c1_carries_part_of_a_short_burst_but_next_to_nothing_from_a_stiff_meter_at_0_m(short_burst):
    steady, extra = _steady_and_extra(build_board(), FACTS["wifi_burst"])
    assert len(short_burst) == 8
    for r in short_burst:
        assert steady < r.peak_ma <= steady + extra + 0.5, r
        if r.meter.name == "stiff" and r.cable_m == 0.0:  # only D2's resistance to share the step with C1
            assert r.peak_ma > steady + 0.95 * extra, r
        else:
            assert r.peak_ma < steady + 0.9 * extra, r


def test_a_longer_cable_and_a_bigger_bulk_capacitor_lower_the_peak_behind_dsmrs_line(short_burst):
    line = {(r.meter.emf_v, r.cable_m): r.peak_ma for r in short_burst if r.meter.name == "DSMR line"}
    assert line[(4.9, 5.0)] < line[(4.9, 0.0)] - 10
    bigger = study(build_board({"C1": "2200 µF"}), burst=FACTS["wifi_burst"], esr_scales=(1.0,))
    assert max(r.peak_ma for r in bigger if r.meter.name == "DSMR line") < max(line.values()) - 20


def test_the_issues_12_ms_frame_is_carried_by_the_meter_almost_whole():
    """[wifi_frame]: 12.4 ms is many times C1's time constant behind D2 — the meter supplies ≥ 90 % of the
    step at every corner, so no bulk capacitor alone meets 250 mA and the input needs a current limit (docs/rev-1.4.md)."""
    board = build_board()
    steady, extra = _steady_and_extra(board, FACTS["wifi_frame"])
    for r in study(board, esr_scales=(1.0,)):
        assert r.peak_ma > steady + 0.9 * extra, r
