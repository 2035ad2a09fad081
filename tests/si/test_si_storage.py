"""The P1 input reads right with any BC547 storage time: every corner with each model of parts.toml
[bc547_models] (the NXP card as published, with TR 100 ns and with TR 300 ns, and Qucs-S's BC547BP card), and rev
1.3's inverter does not."""

import json

import pytest

from hwtools.circuit import build_board
from hwtools.facts import bc547_models, load_facts
from hwtools.si.model import Case, DataPath, data_deck
from hwtools.si.sweep import analyse, corner_cases

FACTS = load_facts()
SPECS = bc547_models(FACTS)
MODELS = list(SPECS)
REV13_INVERTER = {"C9": "220 pF", "R10": "4.7 kOhm"}  # rev 1.3's values (tests/design/rev13_circuit.py)


def test_every_model_is_cited_and_swept_at_every_corner(model_sweep):
    assert len(MODELS) >= 4 and all(SPECS[m]["source"] for m in MODELS)
    corners = len(corner_cases(FACTS, model_sweep.path, MODELS[:1]))
    assert corners == 256
    assert {m: v["cases"] for m, v in model_sweep.models.items()} == {m: corners for m in MODELS}


def test_every_model_passes_every_corner(model_sweep):
    assert [str(r) for r in model_sweep.results if not r.passed] == []
    for name, figures in model_sweep.models.items():
        assert figures["pass"] and figures["distortion_pct"] < 10, (name, figures)


def test_summary_names_the_worst_model_and_lists_every_model(model_sweep):
    summary = json.loads(json.dumps(model_sweep.summary()))  # what `p1reader si --json` prints
    assert summary["worst_model"] in MODELS and summary["worst_case"].endswith(summary["worst_model"])
    assert set(summary["models"]) == set(MODELS)
    tr = {m: summary["models"][m]["tr_ns"] for m in MODELS}
    assert tr == {m: pytest.approx(SPECS[m]["tr_s"] * 1e9, abs=1e-3) for m in MODELS}
    worst = max(v["distortion_pct"] for v in summary["models"].values())
    assert summary["distortion_pct"] == pytest.approx(worst, abs=0.01)


def test_each_model_puts_its_own_storage_time_in_the_deck():
    path = DataPath.from_board(build_board())
    decks = {m: data_deck(path, Case("x", model=m), [(0, 0), (1e-6, 1)], 2e-6, 1e-8, FACTS) for m in MODELS}
    trs = {m: next(w.rstrip(")") for w in d.split() if w.startswith("TR=")) for m, d in decks.items()}
    assert trs == {m: f"TR={SPECS[m]['tr_s']:.6g}" for m in MODELS}


def test_a_model_with_its_own_card_puts_its_own_parameters_in_the_deck():
    """The fourth model is a different parameter set, not the NXP card again: its IS and BR reach the deck."""
    own = [m for m in MODELS if "params" in SPECS[m]]
    assert own, "no [bc547_models] entry with a card of its own"
    path = DataPath.from_board(build_board())
    for m in own:
        deck = data_deck(path, Case("x", model=m), [(0, 0), (1e-6, 1)], 2e-6, 1e-8, FACTS)
        card = next(line for line in deck.splitlines() if line.startswith(".model QBC547 "))
        assert f"IS={SPECS[m]['params']['IS']:.6g}" in card and f"BR={SPECS[m]['params']['BR']:.6g}" in card
        assert f"IS={FACTS['bc547_spice']['params']['IS']:.6g}" not in card


def test_rev13_inverter_fails_with_the_slowest_model():
    """220 pF and 4.7 kΩ: the TR 300 ns model's stored charge holds RX LOW a third of a bit too long."""
    slowest = max(MODELS, key=lambda m: SPECS[m]["tr_s"])
    report = analyse(build_board(REV13_INVERTER), mc_runs=0, models=[slowest])
    assert not report.passed and not report.models[slowest]["pass"]
    assert report.models[slowest]["distortion_pct"] > 20
    assert report.worst_case.model == slowest


def test_fab_table_lists_each_model_with_its_verdict(model_sweep):
    from hwtools.si.report import table

    text = table(model_sweep)
    assert f"worst: {model_sweep.worst_case.model}" in text
    for name in MODELS:
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        tr_ns = round(SPECS[name]["tr_s"] * 1e9, 3)  # as the summary holds it, then three figures as the table prints
        assert row.endswith("| PASS |") and f"| {float(f'{tr_ns:.3g}'):g} ns |" in row
