"""Many decks in one ngspice process give exactly the figures of one process per deck."""

import pytest

from hwtools.facts import load_facts
from hwtools.si import spice, sweep
from hwtools.si.model import DataPath
from hwtools.si.stimulus import Stimulus, worst_window


@pytest.fixture(scope="module")
def setup():
    from hwtools.circuit import build_board

    facts = load_facts()
    return DataPath.from_board(build_board()), facts


def test_batched_runs_equal_single_runs(setup):
    path, facts = setup
    cases = sweep.corner_cases(facts, path)[::85] + sweep.mc_cases(facts, path, 3, facts["si_corners"]["mc_seed"])
    stims = [Stimulus(worst_window(), sweep.BAUD), Stimulus(worst_window(), 460800)]
    jobs = [(case, stim) for case in cases for stim in stims]
    assert len(jobs) >= 10
    batched = sweep.simulate_batch(path, jobs, facts)
    single = [sweep.simulate(path, case, stim, facts) for case, stim in jobs]
    assert [(r.case, r.baud, r.metrics) for r in batched] == [(r.case, r.baud, r.metrics) for r in single]


def test_batched_operating_points_equal_single_runs(setup):
    path, facts = setup
    cases = sweep.drq_cases(facts, path)[:5]
    assert sweep.simulate_drq_batch(path, cases, facts) == [sweep.simulate_drq(path, c, facts) for c in cases]


def test_batches_side_by_side_give_each_deck_its_own_result_in_order():
    decks = [f"* r{k}\nV1 a 0 {k}\nR1 a 0 1k\n.op\n.end\n" for k in range(1, 8)]
    together = spice.run_batch(decks)
    side_by_side = spice.run_batch(decks, jobs=3)
    assert [p[0]["v(a)"][0] for p in side_by_side] == [p[0]["v(a)"][0] for p in together] == list(range(1, 8))


def test_a_broken_deck_in_a_batch_is_reported_by_itself():
    good = "* ok\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n"
    bad = "* broken\nV1 a 0 1\nR1 a 0 1k\nQ9 a b\n.op\n.end\n"
    assert spice.run_batch([good])[0][0]["v(a)"][0] == 1.0
    with pytest.raises(spice.NgspiceError):
        spice.run_batch([good, bad, good])
    with pytest.raises(spice.NgspiceError, match="line 4"):  # the same, in a batch beside others
        spice.run_batch([good, good, bad, good], jobs=2)


@pytest.mark.parametrize("n, workers", [(456, 2), (9, 2), (1, 2), (16, 1)])
def test_batches_keep_every_item_in_order(n, workers):
    items = list(range(n))
    parts = spice.batches(items, workers, sweep.BATCHES_PER_WORKER)
    assert [i for b in parts for i in b] == items
    assert len(parts) <= workers * sweep.BATCHES_PER_WORKER and all(parts)
