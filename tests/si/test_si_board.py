"""The simulation of the real board: netlist from the circuit, a hand-checked edge, and what-if designs."""

import numpy as np
import pytest

from hwtools.circuit import build_board
from hwtools.facts import load_facts
from hwtools.si.model import Case, DataPath, data_deck
from hwtools.si.stimulus import Stimulus, worst_window
from hwtools.si.sweep import analyse, simulate

FACTS = load_facts()


@pytest.fixture(scope="module")
def board():
    return build_board()


@pytest.fixture(scope="module")
def nominal(board):
    """A small sweep of the proven board: Monte Carlo only, a handful of runs (the full sweep is the bench)."""
    return analyse(board, mc_runs=6, corners=False)


def test_data_path_found_by_connections(board):
    p = DataPath.from_board(board)
    assert (p.pullup.ref, p.base.ref, p.collector.ref, p.q_ref) == ("R2", "R1", "R3", "Q1")
    assert p.pullup.ohms == board.value("R2") and p.rx == "RX"
    assert (p.drq_led.ref, p.drq_out.ref, p.opto_ref) == ("R4", "R5", "U2")
    deck = data_deck(p, Case("t"), Stimulus(b"A", 115200).light(), 1e-4, 1e-8, FACTS)
    assert f"R2 P1_5V P1_DATA {board.value('R2'):g}" in deck
    assert "Q1 RX Q1_BASE 0 QBC547" in deck


def test_rx_rising_edge_matches_hand_calculation(board):
    """Q1 off → R3 charges the RX node: 10-90 % = ln 9 · R3 · C.

    C = ESP32 pad + board (parts.toml) + Q1's collector-base junction averaged over the swing
    (charge / swing of CJC / (1 + V/VJC)^MJC from VCB ≈ 0 to VDD).
    """
    p = DataPath.from_board(board)
    case = Case("hand", v33=3.3)
    run = simulate(p, case, Stimulus(worst_window(), 115200), FACTS)
    q = FACTS["bc547_spice"]["params"]
    cjc, vj, mj = q["CJC"], q["VJC"], q["MJC"]
    v2 = case.v33

    def charge(v):
        return cjc * vj / (1 - mj) * (1 + v / vj) ** (1 - mj)

    c_jc = (charge(v2) - charge(0.0)) / v2
    c = (FACTS["esp32"]["input_capacitance_pf"] + FACTS["rx_node"]["board_pf"]) * 1e-12 + c_jc
    hand = np.log(9) * p.collector.ohms * c
    assert run.metrics.rise_ns * 1e-9 == pytest.approx(hand, rel=0.2)


def test_proven_board_passes(nominal):
    assert nominal.passed, [str(r) for r in nominal.results if not r.passed]
    s = nominal.summary()
    assert s["max_baud"] >= 115200 and s["pass"] is True
    assert 0 < s["distortion_pct"] < 10 and s["eye_margin_v"] > 0.2
    assert 4.0 <= s["drq_volts"] <= 5.5 and 4.0 <= s["drq_ma"] <= 10


def test_every_result_states_figure_and_limit(nominal):
    texts = [str(r) for r in nominal.results]
    assert any("distortion" in t and "limit ≤ 10" in t for t in texts)
    assert all(t.startswith("PASS") for t in texts)


def test_47k_pullup_is_too_slow():
    report = analyse(build_board({"R2": "47 kOhm"}), mc_runs=4, corners=False)
    failed = {r.key for r in report.results if not r.passed}
    assert {"distortion_pct", "sample_margin_pct"} <= failed
    assert "line_ma" not in failed and not report.passed


def test_470_ohm_pullup_breaks_the_5_ma_rule():
    report = analyse(build_board({"R2": "470 Ohm"}), mc_runs=4, corners=False)
    line = next(r for r in report.results if r.key == "line_ma")
    assert not line.passed and line.value > 5.0
    assert "FAIL" in str(line) and "≤ 5" in str(line)


def test_summary_has_line_low_and_temperature(nominal):
    s = nominal.summary()
    assert s["line_low_max_v"] >= 1.0 and s["temp_c"] == [0.0, 60.0]
    assert s["cases"] == len(nominal.runs) and "line_low_max_v" in {r.key for r in nominal.results}


def test_weak_base_divider_reads_a_high_mark_wrong():
    """Without R10's pull-down the base follows the line: a 0.5 V MARK already turns Q1 on (the rev 1.2 fault)."""
    report = analyse(build_board({"R10": "1 MOhm", "R1": "1 kOhm"}), mc_runs=2, corners=False)
    low = next(r for r in report.results if r.key == "line_low_max_v")
    assert not low.passed and low.value < 1.0 and "FAIL" in str(low)


def test_esd_capacitance_and_speedup_are_in_the_deck(board):
    """The ESD array's capacitance, C9 through R13 (rev 1.4), and D6, the base's clamp diode with its capacitance."""
    p = DataPath.from_board(board)
    deck = data_deck(p, Case("t", temp_c=60.0, line_low_v=1.0), Stimulus(b"A", 115200).light(), 1e-4, 1e-8, FACTS)
    assert "CESD P1_DATA 0 3e-11" in deck and "CSPEED P1_DATA Q1_SPEEDUP 5.6e-10" in deck
    assert "R13 Q1_SPEEDUP Q1_BASE 220" in deck and "DD6 0 Q1_BASE D1N4148" in deck and "CJO=4e-12" in deck
    assert "temp=60" in deck and "VLOW mlow 0 1" in deck and "R10 Q1_BASE 0 5600" in deck


def test_data_request_deck_is_the_rev13_switch_and_its_label_says_so(board, nominal):
    """The deck simulates U2 sinking Q2's base through R12 (R11 holds Q2 off), Q2 feeding pin 2 from P1 +5 V
    through R5, at the board's jack; the report's Data Request lines name exactly that."""
    from hwtools.si.model import drq_deck, drq_scope
    from hwtools.si.sweep import simulate_drq

    p = DataPath.from_board(board)
    assert (p.switch_ref, p.switch_base.ref, p.switch_pullup.ref) == ("Q2", "R12", "R11")
    deck = drq_deck(p, Case("t", v5=4.75, v33=3.0, temp_c=60), FACTS)
    assert f"QQ2 {p.node(p.switch_nets[0])} {p.node(p.switch_nets[1])} {p.node(p.supply)} QSW" in deck
    assert f"R12 {p.node(p.switch_nets[1])} {p.node(p.opto_nets[5])} " in deck and "RMETER drqin 0 550" in deck
    # Q2 saturates: pin 2 is the jack's 4.75 V minus less than VCE(sat) max and R5's drop; the meter's 550 Ω
    # draws what that voltage drives through it
    _, volts, ma = simulate_drq(p, Case("t", v5=4.75, v33=3.0, temp_c=60), FACTS)
    assert 4.75 - FACTS["bc557"]["vce_sat_max_v"] - 0.01 * board.value("R5") < volts < 4.75
    assert ma == pytest.approx(volts / 550 * 1e3, rel=1e-3)
    label = drq_scope(p, FACTS)
    assert "U2 at worst CTR 38%" in label and "→ Q2" in label and "550 Ω" in label and "0 m" in label
    drq_lines = [r.name for r in nominal.results if r.key in ("drq_volts", "drq_ma")]
    assert len(drq_lines) == 2 and all(label in name for name in drq_lines)
