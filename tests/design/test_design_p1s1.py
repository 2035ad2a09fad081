"""The p1s1 variant: generated from the same code, current and ERC/DRC-clean, the P1 part still
connection-equivalent to the proven board, and the S1 rules live."""

import shutil

import pytest

from hwtools import generate, rules
from hwtools.variant import P1, P1S1
from hwtools.facts import load_facts
from hwtools.circuit import build_board
from design_paths import KICAD


P1S1_DIR = KICAD / "p1s1"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("p1s1")
    generate.generate(out, log=lambda m: None, variant=P1S1)
    return out


@pytest.mark.parametrize("rel", P1.project_files)
def test_committed_p1s1_file_is_current(regenerated, rel):
    assert (regenerated / rel).read_bytes() == (P1S1_DIR / rel).read_bytes(), f"kicad/p1s1/{rel} is stale"


def test_p1s1_board_is_drc_clean(tmp_path):
    shutil.copytree(P1S1_DIR, tmp_path / "k")
    report = generate.check_drc(tmp_path / "k")  # raises on any violation, unconnected item or parity error
    assert report["unconnected_items"] == [] and report["schematic_parity"] == []


def _s1(board):
    top = rules.Topology.of(board)
    return {r.check.__name__: r.check(board, load_facts(), top)[0] for r in rules.ALL if r.s1_only}


def test_s1_rules_pass_on_the_design():
    results = _s1(build_board(variant=P1S1))
    assert [str(r) for r in results.values() if not r.passed] == []


def test_s1_rules_only_on_the_s1_board():
    p1_ids = {r.id for r in rules.ALL if not r.s1_only}
    s1_ids = {r.id for r in rules.ALL if r.s1_only}
    assert s1_ids == {"s1-termination", "s1-receiver-supply", "s1-rx-pin"}
    circuit = {r.id for r in rules.ALL if rules.ROUTED_BOARD not in r.needs}
    assert {r.rule for r in rules.check(build_board(), circuit_only=True)} == p1_ids & circuit
    assert {r.rule for r in rules.check(build_board(variant=P1S1), circuit_only=True)} == (p1_ids | s1_ids) & circuit


def test_missing_or_wrong_termination_fails():
    result = _s1(build_board({"R7": "1 kOhm"}, variant=P1S1))["s1_termination"]
    assert not result.passed and "R7 1 kOhm" in str(result) and "100-130 Ohm" in str(result)
    assert result.figure == 1000


def test_receiver_on_the_5v_rail_fails():
    board = build_board(variant=P1S1)
    vcc = board.parts["U3"]["VCC"]
    vcc.disconnect()
    board.nets["P1_5V"] += vcc
    result = _s1(board)["s1_receiver_supply"]
    assert not result.passed and "U3 VCC on P1_5V" in str(result)


def test_receiver_on_a_strapping_pin_fails():
    board = build_board(variant=P1S1)
    m1 = board.parts["M1"]
    m1["GPIO4"].disconnect()
    m1["GPIO2"].disconnect()
    board.nets["S1_RX"] += m1["GPIO2"]
    result = _s1(board)["s1_rx_pin"]
    assert not result.passed and "GPIO2" in str(result) and "none of GPIO0, GPIO2" in str(result)
    assert "U3 RO" in str(result)
