"""The burst-train study (hwtools/si/burst.py, an ngspice transient) that p1-peak-current reads: what a bulk
capacitor behind D2 cannot do for the meter on its own (the rev 1.3 fixture, no limit) and what it does behind
rev 1.4's current limit (tests/design/test_design_peak_current.py judges the rules)."""

import sys
from pathlib import Path

from hwtools.circuit import build_board
from hwtools.facts import load_facts
from hwtools.rules.loads import LIMIT_LOAD, supply_loads_ma
from hwtools.rules.topology import Topology
from hwtools.si import burst, limiter, spice

sys.path.insert(0, str(Path(__file__).parents[1] / "design"))
from rev13_circuit import build_rev13  # noqa: E402

FACTS = load_facts()
EXTRA_MA = FACTS["wifi_frame"]["current_ma"] - FACTS["esp32"]["wifi_rx_listen_ma"]  # each burst's step


def _loads(board):
    return supply_loads_ma(board, FACTS, Topology.of(board))


def test_without_a_limit_the_meter_carries_the_issues_12_ms_frame_almost_whole():
    """[wifi_frame]: 12.4 ms is many times C1's time constant behind D2 — the meter supplies ≥ 90 % of the step at
    every corner, so no bulk capacitor alone meets 250 mA and the input needs a current limit (docs/rev-1.4.md)."""
    board = build_rev13()
    steady = sum(_loads(board).values())
    for r in burst.study(board, FACTS, esr_scales=(1.0,)):
        assert r.peak_ma > steady + 0.9 * EXTRA_MA, r


def test_behind_the_limit_the_meter_carries_the_limit_and_what_hangs_before_it():
    """Rev 1.4: the meter's peak is the limit (nominal corner) plus the loads on pin 1 and the limit's own supply,
    which sit before the sense resistor — at every meter and cable; C1 carries the rest of the burst."""
    board = build_board()
    top = Topology.of(board)
    loads = _loads(board)
    before = sum(v for k, v in loads.items() if k == LIMIT_LOAD or any(w in k for w in burst.PIN_SIDE))
    ceiling = limiter.limit_ma(board, top, FACTS) + before
    for r in burst.study(board, FACTS, esr_scales=(1.0,)):
        assert r.peak_ma <= ceiling + 2.0, r  # 2 mA: the integrator's overshoot at the burst's edge
        assert r.peak_ma < sum(loads.values()) + 0.25 * EXTRA_MA, r
        if r.meter.delivers_dsmr_minimum(FACTS["p1_port"]):
            assert r.peak_ma > ceiling - 2.0, r  # the limit does regulate: the meter gives what it allows


def test_the_trains_step_moves_no_figure():
    """burst.STEP_S against a step ten times finer, at the worst corners: the peak's (stiff 5.5 V, 0 m) and Data
    Request's (stiff 4.9 V, 5 m, 4 mV from its limit), the limit at its high corner."""
    board = build_board()
    meters = {(m.name, m.emf_v): m for m in burst.meters(FACTS)}
    high = limiter.extremes(FACTS)[-1]
    corners = [(meters["stiff", 5.5], 0.0, 0.5), (meters["stiff", 4.9], 5.0, 0.5)]
    steps = (burst.STEP_S, burst.STEP_S / 10)
    decks = [burst.deck(board, FACTS, FACTS["wifi_frame"], *c, corner=high, step_s=s) for c in corners for s in steps]
    plots = [p[0] for p in spice.run_batch(decks, jobs=spice.JOBS)]
    nodes = [v.lower() for v in burst.vectors(Topology.of(board))]
    for coarse, fine in zip(plots[::2], plots[1::2]):
        assert abs(max(coarse["i(vim)"]) - max(fine["i(vim)"])) <= 0.1e-3
        assert all(abs(min(coarse[n]) - min(fine[n])) <= 1e-3 for n in nodes)
