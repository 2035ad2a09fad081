"""The layout rules (hwtools/rules/layout.py) on routed boards read by pcbnew: today's board passes them, the rev 1.3
board (its circuit in rev13_circuit.py, its committed routed file in tests/data/rev-1.3) fails each, and one
edit per failure mode — to the circuit, to a limit, or to a copy of the routed board's copper — fails its rule
with a message naming what is wrong."""

import copy
import dataclasses
import functools

import pytest

from hwtools import routed, rules
from hwtools.circuit import build_board
from hwtools.facts import load_facts
from design_paths import KICAD
from rev13_circuit import board_file, build_rev13

LAYOUT_IDS = {r.id for r in rules.ALL if rules.ROUTED_BOARD in r.needs}


@functools.cache
def committed():
    return routed.read(KICAD / "p1reader.kicad_pcb")


def results_of(board=None, facts=None, routed_board=None, only=LAYOUT_IDS):
    """The layout rules' results alone (the circuit rules have their own tests), or the rules in `only`.
    esd-placement's IEC 61000-4-2 pulse runs ngspice once per circuit (hwtools/si/esd.py keeps the last few decks'
    results)."""
    board = board or build_board()
    top = rules.Topology.of(board)
    top.routed = routed_board or committed()
    out = {}
    for rule in (r for r in rules.ALL if r.id in only):
        for r in rule.check(board, facts or load_facts(), top):
            out.setdefault(r.rule, []).append(r)
    return out


def failed(results, rule):
    bad = [str(r) for r in results[rule] if not r.passed]
    assert all(line.startswith("FAIL") for line in bad)
    return " ".join(bad)


def edited_copper(change):
    """A copy of the committed routed board with `change(copy)` applied to its copper."""
    board = dataclasses.replace(committed(), pads=copy.deepcopy(committed().pads),
                                tracks=copy.deepcopy(committed().tracks), vias=copy.deepcopy(committed().vias))
    change(board)
    return board


def test_layout_rules_are_the_issues():
    assert LAYOUT_IDS == {"esd-placement", "regulator-caps", "test-points"}


def test_todays_board_passes_the_layout_rules():
    results = results_of()
    assert set(results) == LAYOUT_IDS
    assert [str(r) for rs in results.values() for r in rs if not r.passed] == []
    pins = {r.worst_case["pin"]: r for r in results["esd-placement"] if r.unit == "mm"}
    assert set(pins) == {1, 2, 5} and all(0 < r.figure <= 10 for r in pins.values())


def test_the_rev13_board_fails_each_layout_rule():
    results = results_of(build_rev13(), routed_board=routed.read(board_file()))
    esd = failed(results, "esd-placement")
    assert "pin 1 has no clamp" in esd
    far = next(r for r in results["esd-placement"] if r.worst_case.get("pin") == 5 and r.unit == "mm")
    assert not far.passed and far.figure > 10 and far.worst_case["clamp"] == "D3"  # the 13.7 mm stub the review saw
    assert "no ceramic ≥ 1 µF on +3V3" in failed(results, "regulator-caps")
    assert "no ceramic ≥ 1 µF on +5V" in failed(results, "regulator-caps")
    assert "no test point on P1_5V, +5V, +3V3, GND, RX, P1_DATA, P1_DRQ" in failed(results, "test-points")


def _connect(board, ref, pin, net):
    p = board.parts[ref][pin]
    p.disconnect()
    board.nets[net] += p
    return board


def _with(section, key, value):
    facts = copy.deepcopy(load_facts())
    facts[section][key] = value
    return facts


def _pad_between(board, net, a, b):
    """An extra pad of `net` on the copper between pads a and b: a part placed across the pulse's path."""
    pa, pb = board.pad(*a), board.pad(*b)
    x, y = (pa["at"][0] + pb["at"][0]) / 2, (pa["at"][1] + pb["at"][1]) / 2
    track = min((t for t in board.tracks if t["net"] == net),
                key=lambda t: abs((t["a"][0] + t["b"][0]) / 2 - x) + abs((t["a"][1] + t["b"][1]) / 2 - y))
    cx, cy = (track["a"][0] + track["b"][0]) / 2, (track["a"][1] + track["b"][1]) / 2
    board.pads.append({"ref": "X1", "pad": "1", "net": net, "at": [cx, cy], "box": [cx - 0.8, cy - 0.8, cx + 0.8,
                                                                                    cy + 0.8],
                       "layers": ["F.Cu", "B.Cu"], "smd": False})


def _unroute(net):
    def change(board):
        board.tracks[:] = [t for t in board.tracks if t["net"] != net]
        board.vias[:] = [v for v in board.vias if v["net"] != net]
    return change


def _electrolytic(board, ref, value):
    """`ref` declared as an electrolytic of `value` (what a builder might fit in its place)."""
    board.lib_ids[ref] = "Device:C_Polarized"
    board.parts[ref].value = value
    return board


def _off_net(ref, net=""):
    def change(board):
        board.pad(ref, "1")["net"] = net
    return change


# (failure mode, circuit, facts, routed board's change, rule, words the message must contain)
CASES = [
    ("no clamp on pin 1", lambda: _connect(build_board(), "D4", "1", "GND"), None, None, "esd-placement",
     ["pin 1 has no clamp"]),
    ("stand-off at the meter's supply", None, lambda: _with("p6ke6v8ca", "standoff_v", 5.0), None, "esd-placement",
     ["stand-off of the clamp on pin 1", "5 V", "≥ 5.5 V", "D4"]),
    ("clamp beyond the limit", None, lambda: _with("esd", "copper_max_mm", 4.0), None, "esd-placement",
     ["copper from J2.1 to its clamp", "≤ 4 mm", "J2, D4"]),
    ("a pad on the way", None, None, lambda b: _pad_between(b, "P1_5V", ("J2", "1"), ("D4", "1")), "esd-placement",
     ["the pulse passes X1.1 before D4"]),
    ("clamp not joined by copper", None, None, _unroute("P1_DATA"), "esd-placement",
     ["no clamp joined to the pin by copper"]),
    ("output ceramic too small", lambda: build_board({"C7": "100 nF"}), None, None, "regulator-caps",
     ["no ceramic ≥ 1 µF on +3V3"]),
    ("an electrolytic in the output ceramic's place", lambda: _electrolytic(build_board(), "C7", "10 µF"), None, None,
     "regulator-caps", ["no ceramic ≥ 1 µF on +3V3", "C7 10 µF is Device:C_Polarized"]),
    ("ceramic beyond the limit", None, lambda: _with("mcp1825s_3v3", "caps_copper_max_mm", 3.0), None,
     "regulator-caps", ["output ceramic", "≤ 3 mm", "C7"]),
    ("ceramic not joined by copper", None, None, _unroute("+3V3"), "regulator-caps",
     ["C7 not joined to U1 by copper"]),
    ("a bench net without a test point", lambda: _connect(build_board(), "TP5", "1", "GND"), None, None,
     "test-points", ["no test point on RX"]),
    ("test point off its net on the board", None, None, _off_net("TP3"), "test-points", ["no test point on +3V3"]),
]


@pytest.mark.parametrize("what, make, facts, copper, rule, words", CASES, ids=[c[4] + ": " + c[0] for c in CASES])
def test_one_change_fails_its_layout_rule(what, make, facts, copper, rule, words):
    results = results_of(make() if make else None, facts() if facts else None,
                         edited_copper(copper) if copper else None, only={rule})  # the others: their own cases
    message = failed(results, rule)
    for word in words:
        assert word in message, (word, message)


def test_every_layout_rule_has_negative_cases():
    assert {c[4] for c in CASES} == LAYOUT_IDS


def test_an_unreadable_board_is_one_clear_error(tmp_path):
    bad = tmp_path / "p1reader.kicad_pcb"
    bad.write_text("(kicad_pcb (version 1) this is not a board")
    with pytest.raises(routed.RoutedBoardError, match="routed board .*p1reader.kicad_pcb"):
        routed.read(bad)
