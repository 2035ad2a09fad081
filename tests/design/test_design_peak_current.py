"""p1-peak-current (the meter's current at any instant of the Wi-Fi burst train ≤ 250 mA) and drq-level-v's
lowest during that burst, in the gate: rev 1.4 passes them behind its current limit on both variants, rev 1.3 (no
limit) fails them, and a limit set wrong fails where it should. The figures come from hwtools/si/burst.py's ngspice
transient; docs/rev-1.4.md "The meter's peak current" gives them."""

import copy

import pytest

from hwtools import rules
from hwtools.circuit import build_board
from hwtools.facts import load_facts
from hwtools.rules.loads import supply_loads_ma
from hwtools.rules.p1port import drq_lowest_during
from hwtools.rules.supply import _limit_over_average, _reference_current
from hwtools.rules.topology import Topology
from hwtools.si import burst, limiter
from hwtools.variant import P1, P1S1
from rev13_circuit import build_rev13

FACTS = load_facts()
P1_PORT = FACTS["p1_port"]
BURST_RULES = ("p1-peak-current", "drq-level-v", "rail-3v3")  # the rules that read the burst train


def burst_rules(board, facts=FACTS):
    """The rules that read the burst train, by rule, sharing one train (32 transients behind the limit, 16 without);
    returns them and the topology that holds the train."""
    top = Topology.of(board)
    out = {}
    for rule in (r for r in rules.ALL if r.id in BURST_RULES):
        for r in rule.check(board, facts, top):
            out.setdefault(r.rule, []).append(r)
    return out, top


def during_burst(results):
    """drq-level-v's and rail-3v3's burst figures."""
    (drq,) = [r for r in results["drq-level-v"] if "during the burst" in r.what]
    (rail,) = [r for r in results["rail-3v3"] if "burst" in r.what]
    return drq, rail


@pytest.fixture(scope="module")
def rev14(board, board_p1s1):
    return {"p1": burst_rules(board), "p1s1": burst_rules(board_p1s1)}


@pytest.fixture(scope="module")
def rev13():
    return burst_rules(build_rev13())


def test_both_rules_are_in_the_gate_on_both_variants():
    for variant in (P1, P1S1):
        ids = {r.id for r in rules.rules_for(variant)}
        assert {"p1-peak-current", "drq-level-v"} <= ids, variant


@pytest.mark.parametrize("variant", ["p1", "p1s1"])
def test_rev14_holds_the_meter_under_250ma_at_every_tolerance_corner(rev14, variant):
    results, top = rev14[variant]
    peak, average, reference, op_supply = results["p1-peak-current"]
    assert {r.limit for r in top.burst} == {"limit low", "limit high"} and len(top.burst) == 32
    assert peak.passed and peak.figure <= P1_PORT["supply_continuous_max_ma"]
    assert peak.figure == max(r.peak_ma for r in top.burst)
    assert peak.worst_case["meter"] == "stiff" and peak.worst_case["limit"] in ("limit low", "limit high")
    assert average.passed and average.worst_case == {"limit": "limit low"} and average.figure >= average.limit_min
    assert reference.passed and reference.worst_case == {"supply_v": FACTS["lmc6482a"]["supply_min_v"]}
    legal = [r for r in top.burst if r.meter.delivers_dsmr_minimum(P1_PORT)]
    assert op_supply.passed and op_supply.figure == min(r.lowest_limit_in_v for r in legal)
    assert op_supply.figure < min(r.lowest_pin1_v for r in legal)  # D2's drop: the cathode, not pin 1


@pytest.mark.parametrize("variant", ["p1", "p1s1"])
def test_rev14_holds_data_request_and_the_rail_during_the_burst(rev14, variant):
    """Data Request ≥ 4.0 V at the meter through the burst, its worst corner the stiff meter at 4.9 V over 5 m at the
    limit's high corner (the meter gives most); the 3.3 V rail's burst figure reads the same transient."""
    results, _ = rev14[variant]
    drq, rail = during_burst(results)
    assert drq.passed and drq.figure >= P1_PORT["drq_high_min_v"]
    assert {k: drq.worst_case[k] for k in ("meter", "supply_v", "cable_m", "limit")} == {
        "meter": "stiff", "supply_v": P1_PORT["supply_min_v"], "cable_m": 5.0, "limit": "limit high"}
    assert rail.passed and rail.figure >= FACTS["esp32"]["vdd_min_v"]
    assert "288 mA for 12.4 ms" in rail.note and rail.worst_case["limit"] == "limit low"  # C1 carries the most


def test_every_corner_is_run_and_the_stiff_meter_draws_more(rev13):
    """Meter stiff / DSMR line × 4.9 / 5.5 V × cable 0 / 5 m × ESR ½ / 3 ×: 16 transients on a board without a
    limit; a stiff source draws more than one behind DSMR's 2.4 Ω at the same voltage and cable."""
    train = rev13[1].burst
    assert len({(r.meter, r.cable_m, r.esr_scale) for r in train}) == 16
    by = {(r.meter.name, r.meter.emf_v, r.cable_m, r.esr_scale): r.peak_ma for r in train}
    for (name, v, cable, esr), ma in by.items():
        if name == "stiff":
            assert ma > by[("DSMR line", v, cable, esr)], (v, cable, esr)


def test_rev13_fails_both(rev13):
    """No limit: the meter carries the burst (tests/si/test_si_burst.py) and pin 1 sags under it."""
    results, _ = rev13
    (peak,) = results["p1-peak-current"]
    drq, _ = during_burst(results)
    assert not peak.passed and peak.figure > P1_PORT["supply_continuous_max_ma"] and peak.worst_case["meter"] == "stiff"
    assert not drq.passed and drq.figure < P1_PORT["drq_high_min_v"]
    # the 4.9 V source behind DSMR's 2.4 Ω gives 4.3 V at 250 mA: not a meter DSMR allows, not a corner here
    assert not (drq.worst_case["meter"] == "DSMR line" and drq.worst_case["supply_v"] == P1_PORT["supply_min_v"])


def test_without_a_burst_the_figure_is_the_steady_draw_and_passes():
    """The rule can pass without a limit: with the module only listening the meter carries p1-supply-budget's
    steady draw, and Data Request holds."""
    board = build_rev13()
    facts = copy.deepcopy(FACTS)
    facts["wifi_frame"]["current_ma"] = facts["esp32"]["wifi_rx_listen_ma"]
    results, top = burst_rules(board, facts)
    (peak,) = results["p1-peak-current"]
    steady = sum(supply_loads_ma(board, facts, top).values())
    assert peak.passed and peak.figure == pytest.approx(steady, abs=1.0)
    assert during_burst(results)[0].passed


def test_a_starved_reference_fails():
    """R23 22 kΩ: at the op-amp's 3 V minimum the divider takes most of the bias current and U5 gets less than its
    60 µA (the 33 kΩ of the first study would leave it nothing)."""
    board = build_board({"R23": "22 kOhm"})
    low = _reference_current(board, FACTS, Topology.of(board))
    assert not low.passed and low.figure < FACTS["lm4040a_1v2"]["i_min_ma"]


def test_a_limit_set_too_high_lets_data_request_sag_under_4v():
    """R21 3.16 kΩ: the limit at ≈ 199 mA — the meter carries more, pin 1 sags further at a stiff 4.9 V meter,
    5 m."""
    board = build_board({"R21": "3.16 kOhm"})
    top = Topology.of(board)
    volts, corner = drq_lowest_during(board, FACTS, top, burst.study(board, FACTS, corner=limiter.Corner("nominal")))
    assert volts < P1_PORT["drq_high_min_v"] and corner["meter"] == "stiff" and corner["cable_m"] == 5.0


@pytest.mark.parametrize("variant", [P1, P1S1])
def test_a_limit_set_too_low_cannot_carry_the_average_draw(variant):
    """The limit at its lowest must carry +5V's average through the train, or C1 runs down burst after burst; the
    design carries it on both variants (p1s1 draws the S1 bias too), 2.84 kΩ for R21 does not."""
    ok = build_board(variant=variant)
    low = build_board({"R21": "2.84 kOhm"}, variant=variant)
    passed, failed = (_limit_over_average(b, FACTS, Topology.of(b)) for b in (ok, low))
    assert passed.passed and not failed.passed and failed.figure < failed.limit_min


def test_p1_inrush_counts_the_limit_while_c1_charges(board):
    """The board must come up behind its own limit: the design's passes; a limit under the booting module's draw
    (R21 1 kΩ: ≈ 66 mA) leaves C1 nothing to charge from."""
    p1_inrush = rules.supply.p1_inrush
    starved = build_board({"R21": "1 kOhm"})
    (good,), (bad,) = (p1_inrush(b, FACTS, Topology.of(b)) for b in (board, starved))
    assert good.passed and not bad.passed and bad.figure < 0
