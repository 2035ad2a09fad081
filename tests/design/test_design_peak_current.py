"""p1-peak-current (the meter's current at any instant of the Wi-Fi burst train ≤ 250 mA) and drq-level-v's
lowest during that burst: both outside the gate while rev 1.4 fails them (hwtools.rules.OUTSIDE_GATE,
docs/rev-1.4.md "The meter's peak current"). The figures come from hwtools/si/burst.py's ngspice transient."""

import copy

import pytest

from hwtools import rules
from hwtools.circuit import build_board
from hwtools.cli import report_outside_gate
from hwtools.facts import load_facts
from hwtools.rules.p1port import drq_lowest_during
from hwtools.rules.loads import supply_loads_ma
from hwtools.rules.supply import RAIL_BURST, _limit_over_average, _reference_current, rail_3v3
from hwtools.rules.topology import Topology
from hwtools.si import burst, limiter
from hwtools.variant import P1, P1S1
from rev13_circuit import build_rev13

FACTS = load_facts()


def outside_gate(board, facts=None):
    out = {}
    for r in rules.check_outside_gate(board, facts):
        out.setdefault(r.rule, []).append(r)
    return out


@pytest.fixture(scope="module")
def rev14(board):
    return outside_gate(board)


@pytest.fixture(scope="module")
def listening(board):
    """The same rules with a burst no larger than the module's listening current."""
    facts = copy.deepcopy(FACTS)
    facts["wifi_frame"]["current_ma"] = facts["esp32"]["wifi_rx_listen_ma"]
    return facts, outside_gate(board, facts)


def test_rev14_fails_p1_peak_current_so_it_stays_outside_the_gate(rev14):
    """When this fails, the board passes: move p1-peak-current (supply.OUTSIDE_GATE) and the burst figure of
    drq-level-v (p1port.OUTSIDE_GATE) into the gate, and make [wifi_frame] rail-3v3's burst (supply.RAIL_BURST)."""
    (peak,) = rev14["p1-peak-current"]
    assert not peak.passed and peak.figure > FACTS["p1_port"]["supply_continuous_max_ma"]
    assert peak.worst_case["meter"] == "stiff"
    assert "p1-peak-current" not in {r.id for r in rules.ALL}
    assert {r.id for r in rules.OUTSIDE_GATE} == {"p1-peak-current", "drq-level-v"}


def test_the_stiff_meter_is_the_worst_corner_and_every_corner_is_run(board):
    """Meter stiff / DSMR line × 4.9 / 5.5 V × cable 0 / 5 m × ESR ½ / 3 ×: 16 transients; a stiff source draws
    more than one behind DSMR's 2.4 Ω at the same voltage and cable."""
    top = Topology.of(board)
    (peak,) = rules.supply.p1_peak_current(board, FACTS, top)
    train = top.burst
    assert len({(r.meter, r.cable_m, r.esr_scale) for r in train}) == 16
    assert peak.figure == max(r.peak_ma for r in train) and peak.worst_case["meter"] == "stiff"
    by = {(r.meter.name, r.meter.emf_v, r.cable_m, r.esr_scale): r.peak_ma for r in train}
    for (name, v, cable, esr), ma in by.items():
        if name == "stiff":
            assert ma > by[("DSMR line", v, cable, esr)], (v, cable, esr)


def test_without_a_burst_the_figure_is_the_steady_draw_and_passes(board, listening):
    """The rule can pass: with the module only listening the meter carries p1-supply-budget's steady draw."""
    facts, results = listening
    (peak,) = results["p1-peak-current"]
    steady = sum(supply_loads_ma(board, facts, Topology.of(board)).values())
    assert peak.passed and peak.figure == pytest.approx(steady, abs=1.0)


def test_rev13_fails_p1_peak_current():
    (peak,) = outside_gate(build_rev13())["p1-peak-current"]
    assert not peak.passed and peak.figure > FACTS["p1_port"]["supply_continuous_max_ma"]


def test_data_request_sags_below_4v_during_the_burst_at_a_legal_meter(rev14, listening):
    (low,) = rev14["drq-level-v"]
    assert not low.passed and low.figure < FACTS["p1_port"]["drq_high_min_v"] and low.worst_case["cable_m"] == 5.0
    assert "during the burst" in low.what
    # the 4.9 V source behind DSMR's 2.4 Ω gives 4.3 V at 250 mA: not a meter DSMR allows, not a corner here
    assert not (low.worst_case["meter"] == "DSMR line" and low.worst_case["supply_v"] == 4.9)
    (steady,) = listening[1]["drq-level-v"]
    assert steady.passed and steady.figure > low.figure  # without the burst the same corners pass


def test_rail_3v3_keeps_the_old_burst_because_c1_alone_cannot_carry_the_issues(board):
    """[wifi_frame] as rail-3v3's burst fails with C1 1000 µF (12.4 ms at 288 mA from C1 alone): rail-3v3 keeps
    [wifi_burst] until the design with the current limit lands (docs/rev-1.4.md)."""
    assert RAIL_BURST == "wifi_burst"
    facts = copy.deepcopy(FACTS)
    facts[RAIL_BURST] = facts["wifi_frame"]
    burst = next(r for r in rail_3v3(board, facts, Topology.of(board)) if "burst" in r.what)
    assert not burst.passed and burst.figure < FACTS["esp32"]["vdd_min_v"]


def test_check_reports_them_outside_the_gate(board):
    lines = []
    report_outside_gate(board, lines.append)
    assert any(line.startswith("  outside the gate: FAIL  p1-peak-current") for line in lines), lines
    assert any("drq-level-v: Data Request at the meter, lowest during the burst" in line for line in lines), lines


# --- behind the current limit (hwtools/circuit.py current_limit: not on the board until it is laid out) ----------

@pytest.fixture(scope="module")
def limited_board():
    return build_board(limiter.LIMITED_VALUES, limited=True)


@pytest.fixture(scope="module")
def limited(limited_board):
    """The outside-gate rules and rail-3v3 on the limited board, sharing one burst train (48 transients)."""
    top = Topology.of(limited_board)
    out = {}
    for rule in rules.OUTSIDE_GATE:
        for r in rule.check(limited_board, FACTS, top):
            out.setdefault(r.rule, []).append(r)
    out["rail-3v3"] = rail_3v3(limited_board, FACTS, top)
    return out, top


def test_behind_the_limit_the_meter_stays_under_250ma_at_every_tolerance_corner(limited):
    results, top = limited
    peak, average, reference, op_supply = results["p1-peak-current"]
    assert {r.limit for r in top.burst} == {"nominal", "limit low", "limit high"} and len(top.burst) == 48
    assert peak.passed and peak.figure < FACTS["p1_port"]["supply_continuous_max_ma"]
    assert peak.figure == max(r.peak_ma for r in top.burst) and peak.worst_case["meter"] == "stiff"
    assert average.passed and average.worst_case == {"limit": "limit low"} and average.figure >= average.limit_min
    assert reference.passed and reference.worst_case == {"supply_v": FACTS["lmc6482a"]["supply_min_v"]}
    legal = [r for r in top.burst if r.meter.delivers_dsmr_minimum(FACTS["p1_port"])]
    assert op_supply.passed and op_supply.figure == min(r.lowest_limit_in_v for r in legal)
    assert op_supply.figure < min(r.lowest_pin1_v for r in legal)  # D2's drop: the cathode, not pin 1


def test_a_starved_reference_fails():
    """R23 22 kΩ: at the op-amp's 3 V minimum the divider takes most of the bias current and U5 gets less than its
    60 µA (the 33 kΩ of the first study would leave it nothing)."""
    board = build_board({**limiter.LIMITED_VALUES, "R23": "22 kOhm"}, limited=True)
    low = _reference_current(board, FACTS, Topology.of(board))
    assert not low.passed and low.figure < FACTS["lm4040a_1v2"]["i_min_ma"]


def test_behind_the_limit_data_request_holds_4v_during_the_burst(limited):
    (low,) = limited[0]["drq-level-v"]
    assert low.passed and low.figure >= FACTS["p1_port"]["drq_high_min_v"]
    assert low.worst_case["limit"] == "limit high" and low.worst_case["cable_m"] == 5.0


def test_behind_the_limit_rail_3v3_carries_the_issue_s_burst(limited):
    """rail-3v3's burst figure comes from the same transient ([wifi_frame], U1's input at its lowest): C1 carries
    only what the limit does not."""
    burst = next(r for r in limited[0]["rail-3v3"] if "burst" in r.what)
    assert burst.passed and "288 mA for 12.4 ms" in burst.note and "limit" in burst.worst_case


def test_a_limit_set_too_high_lets_data_request_sag_under_4v():
    """R21 3.16 kΩ: the limit at ≈ 199 mA — the meter carries more, pin 1 sags further at a stiff 4.9 V meter, 5 m."""
    board = build_board({**limiter.LIMITED_VALUES, "R21": "3.16 kOhm"}, limited=True)
    top = Topology.of(board)
    volts, corner = drq_lowest_during(board, FACTS, top, burst.study(board, FACTS, corner=limiter.Corner("nominal")))
    assert volts < FACTS["p1_port"]["drq_high_min_v"] and corner["meter"] == "stiff" and corner["cable_m"] == 5.0


@pytest.mark.parametrize("variant", [P1, P1S1])
def test_a_limit_set_too_low_cannot_carry_the_average_draw(variant):
    """The limit at its lowest must carry +5V's average through the train, or C1 runs down burst after burst; the
    design carries it on both variants (p1s1 draws the S1 bias too), 2.84 kΩ for R21 does not."""
    ok = build_board(limiter.LIMITED_VALUES, limited=True, variant=variant)
    low = build_board({**limiter.LIMITED_VALUES, "R21": "2.84 kOhm"}, limited=True, variant=variant)
    passed, failed = (_limit_over_average(b, FACTS, Topology.of(b)) for b in (ok, low))
    assert passed.passed and not failed.passed and failed.figure < failed.limit_min


def test_the_power_path_and_the_crossed_cable_pass_behind_the_limit(limited_board):
    """USB joins after the limit (not limited by it); USB only, P1 only, both, and a crossed cable still pass."""
    top = Topology.of(limited_board)
    for rule in (r for r in rules.ALL if r.id in ("power-path", "reverse-cable")):
        results = rule.check(limited_board, FACTS, top)
        assert results and all(r.passed for r in results), [str(r) for r in results if not r.passed]


def test_p1_inrush_counts_the_limit_while_c1_charges():
    """The board must come up behind its own limit: the design's passes; a limit under the booting module's draw
    (R21 1 kΩ: ≈ 66 mA) leaves C1 nothing to charge from."""
    p1_inrush = rules.supply.p1_inrush
    ok = build_board(limiter.LIMITED_VALUES, limited=True)
    starved = build_board({**limiter.LIMITED_VALUES, "R21": "1 kOhm"}, limited=True)
    (good,), (bad,) = (p1_inrush(b, FACTS, Topology.of(b)) for b in (ok, starved))
    assert good.passed and not bad.passed and bad.figure < 0
