"""The meter's current during the Wi-Fi burst train (hwtools/si/burst.py, an ngspice transient). Not a rule yet:
rev 1.4 draws just over DSMR's 250 mA at 0 m of cable (docs/rev-1.4.md); these tests hold the figure honest."""

import pytest

from hwtools.circuit import build_board
from hwtools.facts import load_facts
from hwtools.rules.supply import supply_loads_ma
from hwtools.rules.topology import Topology
from hwtools.si.burst import study

FACTS = load_facts()


@pytest.fixture(scope="module")
def rev14():
    return study(build_board())


def test_the_meter_carries_the_steady_load_and_part_of_each_burst(rev14):
    board = build_board()
    steady = sum(supply_loads_ma(board, FACTS, Topology.of(board)).values())
    extra = FACTS["wifi_burst"]["current_ma"] - FACTS["esp32"]["wifi_rx_listen_ma"]
    assert len(rev14) == 4
    for r in rev14:
        assert steady < r.peak_ma < steady + extra, r  # C1 carries some of the burst, never all of it


def test_a_longer_cable_and_a_bigger_bulk_capacitor_lower_the_peak(rev14):
    by = {(r.emf_v, r.cable_m): r.peak_ma for r in rev14}
    assert by[(4.9, 5.0)] < by[(4.9, 0.0)] - 10
    bigger = max(r.peak_ma for r in study(build_board({"C1": "2200 µF"})))
    assert bigger < max(by.values()) - 20


def test_rev14_is_above_dsmr_250_ma_at_0_m_so_the_rule_stays_out_of_the_gate(rev14):
    """When this fails, the board passes: add `p1-peak-current` to the rules (issue 26 item 2)."""
    worst = max(rev14, key=lambda r: r.peak_ma)
    assert worst.cable_m == 0.0 and worst.peak_ma > FACTS["p1_port"]["supply_continuous_max_ma"]
