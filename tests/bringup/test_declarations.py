"""Declarations that own the code: each step declares its measurements beside itself and the limits table is
the loop over them; the runner checks every measurement a step returns against them; the bench is a context
manager whose "powered" state ends with the supply off; a run reads and frames its captures once and stores
the replay's per-telegram table in the database."""
from __future__ import annotations

import ast
import json
import os
import re
import signal
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest
from sqlalchemy import select

from bringup import cli, instruments, limits, plan, runner, station, steps, store
from bringup.bench import Bench
from bringup.measurement import Category, DeclarationError, Limits, Measurement, Outcome, Spec
from bringup.sim.bench import INSTRUMENTS_YAML
from bringup_helpers import REPO, TELEGRAM_DATA, fast_station_dict
from meter import capture

HUNGARIAN = TELEGRAM_DATA / "other-meters" / "dsmr_parser-v5_eon_hu.txt"  # BELGIUM_FLUVIUS cannot decode it


def _stations(tmp_path: Path) -> list:
    """Stations whose declarations differ: Data Request by DMM, CTS or not at all, several line-rate rounds,
    no slow telegrams, replayed captures."""
    caps = [str(TELEGRAM_DATA / "fluvius-1ph-gas-50217.txt"), str(HUNGARIAN)]
    return [station.from_dict(d, str(tmp_path / "st.yaml")) for d in (
        fast_station_dict(),
        fast_station_dict(s1=None, meter={"drq_via": "cts"}, loopback={"line_rate_rounds": 3}),
        fast_station_dict(meter={"drq_via": "none"}, loopback={"slow_count": 0}, telegrams=caps),
        fast_station_dict(s1=None, telegrams=caps))]


def test_the_limits_table_is_the_loop_over_the_steps_declarations(tmp_path):
    for st in _stations(tmp_path):
        captures = plan.check(st).captures
        assert (captures is None) == (not st.telegrams)
        table = limits.table(st, captures)
        assert table.specs == [replace(s, step=step.name) for step in steps.STEPS
                               for s in step.declares(st, captures)]
        lb = st.loopback
        labels = steps.line_rate_labels(lb) + ([steps.slow_label(lb)] if lb.slow_count else [])
        assert len(labels) == lb.line_rate_rounds + (lb.slow_count > 0)
        loopback = [s.name for s in table.specs if s.step == "loopback"]
        family = [steps.count_name(label, c) for label in labels for c in steps.LOOPBACK_COUNTS]
        assert [n for n in loopback if not n.startswith("replay: ")] == family
        assert any(n.startswith("replay: ") for n in loopback) == bool(st.telegrams)
        assert ("s1" in table.steps()) == (st.s1 is not None)


def test_a_label_formula_is_written_once():
    """The sub-step labels live in one function each (the table and the step used to spell them twice), and
    the garbage the negative step sends is the count it declares."""
    lines = [ln for p in sorted((REPO / "bringup").rglob("*.py")) for ln in p.read_text().splitlines()]
    for text in ('"line rate #', '"one every'):
        assert len([ln for ln in lines if text in ln]) == 1, text
    tree = ast.parse((REPO / "bringup" / "steps.py").read_text())
    negatives = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "negatives")
    assert "GARBAGE_BYTES" in {n.id for n in ast.walk(negatives) if isinstance(n, ast.Name)}
    spec = {s.name: s for s in steps.negatives_specs(station.resolve("sim"), None)}["garbage bytes counted"]
    assert spec.low == spec.high == steps.GARBAGE_BYTES


def test_a_name_declared_twice_is_refused():
    with pytest.raises(DeclarationError, match="declared twice: step power: 'idle_current_a'"):
        Limits({"power": [Spec("idle_current_a", "A"), Spec("idle_current_a", "mA")]})


@pytest.mark.parametrize("made, says", [
    (Measurement("supply_voltage", 5.0, "V"), "step power: measurement 'supply_voltage' is not declared"),
    (Measurement("current limit", 0.25, "A", 0.0, 0.3),
     "step power: measurement 'current limit' recorded with unit 'A' and limits 0 … 0.3, declared 'A' 0 … 0.26"),
])
def test_a_measurement_its_step_does_not_declare_so_is_an_error_naming_both(tmp_path, made, says):
    """A step that makes a measurement itself — a name it does not declare, or limits other than declared — is
    an ERROR naming the step and the measurement; a harness bug, so a station error, not a board FAIL."""
    def power(bench):
        return [made]

    sequence = [replace(s, run=power) if s.name == "power" else s for s in steps.STEPS]
    with mock.patch.object(runner, "STEPS", sequence):
        res = runner.run(station.from_dict(fast_station_dict(s1=None), "test"), "DECL-1", str(tmp_path))
    assert (res.failed.index, res.failed.name, res.failed.outcome) == (2, "power", Outcome.ERROR)
    assert says in res.failed.error and res.category == Category.STATION_ERROR
    rec = json.loads(Path(res.record_path).read_text())
    assert (rec["category"], rec["failed_step_index"], rec["failed_step_name"]) == ("station error", 2, "power")
    assert says in rec["reason"] and rec["supply_output_after"] == "OFF"


def test_leaving_the_bench_turns_the_supply_off_first_whatever_ends_the_block():
    st = station.from_dict(fast_station_dict(), "test")
    wired = st.model_copy(update={"supply": st.supply.model_copy(update={
        "visa_library": f"{INSTRUMENTS_YAML}@sim", "resource": "ASRL1::INSTR"})})
    with pytest.raises(RuntimeError, match="a step blew up"):
        with Bench(wired, limits.table(wired)) as bench:
            assert not bench.powered
            bench.open_supply()
            bench.power_on()
            assert bench.powered
            raise RuntimeError("a step blew up")
    assert not bench.powered and bench.supply_after == "OFF"
    assert bench.events == ["open supply", "supply off: OFF", "close supply"]
    res = instruments._resource_manager(wired.supply.visa_library).open_resource(wired.supply.resource)
    res.read_termination = res.write_termination = "\n"
    assert res.query("OUTP?").strip() == "OFF"  # the simulated instrument itself
    res.close()


def test_ctrl_c_while_the_simulated_bench_starts_leaves_no_child_running(tmp_path, signal_handlers):
    """Ctrl-C landing inside subprocess.Popen, once the child exists but before Popen returns it: the abort
    waits until the bench is on the stack, so the run ends ABORTED and every child it started is stopped."""
    from bringup.sim import bench as sim_bench

    children = []
    real_popen = sim_bench.subprocess.Popen

    def popen_then_ctrl_c(*args, **kwargs):
        children.append(real_popen(*args, **kwargs))
        if len(children) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # handled (or not) before Popen returns its child
        return children[-1]

    with mock.patch.object(sim_bench.subprocess, "Popen", popen_then_ctrl_c):
        res = runner.run(station.from_dict(fast_station_dict(s1=None), "test"), "INT-1", str(tmp_path))
    assert res.aborted and res.failed.error == "aborted by operator (Ctrl-C)"
    assert len(children) == 3  # the meter and console pty pairs, the simulated board
    assert [c.poll() is not None for c in children] == [True] * 3


@pytest.fixture
def signal_handlers():
    """`run` on the command line, and any run a signal aborted, ignores signals after the run: give them back (a
    SIGINT left ignored is inherited by every later child, e.g. the s1 synth that test_s1_stream.py stops with one)."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def test_a_run_frames_its_captures_once_and_stores_the_replay_table(tmp_path, fast_station, capsys,
                                                                     signal_handlers):
    loads = []
    real_load = capture.load
    with mock.patch.object(capture, "load", lambda paths: loads.append(paths) or real_load(paths)):
        replay_only = fast_station(s1=None, loopback={"line_rate_rounds": 0, "slow_count": 0})
        rc = cli.main(["run", "--station", str(replay_only), "--board-serial", "CAP-1", "--records", str(tmp_path),
                       "--telegrams", str(TELEGRAM_DATA / "fluvius-1ph-gas-50217.txt"), "--telegrams", str(HUNGARIAN),
                       "--profile", "BELGIUM_FLUVIUS"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert len(loads) == 1  # read and framed by the plan; the table and the replay step use that
    record = json.loads(Path(re.search(r"^PASS CAP-1 (\S+)$", out, re.M)[1]).read_text())
    rows = record["telegrams"]
    assert [(r["source"], r["decoder_limitation"]) for r in rows] == [
        ("fluvius-1ph-gas-50217.txt", False), ("dsmr_parser-v5_eon_hu.txt", True)]
    engine = store.connect(store.default_url(tmp_path))
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(store.telegrams).order_by(store.telegrams.c.position)).mappings().all()
    finally:
        engine.dispose()
    assert [{k: r[k] for k in rows[0]} for r in stored] == rows
