"""The limits table: declared before a run, used by every step; no step records an undeclared
measurement; ``p1reader-bringup limits`` lists every measurement a step records."""
from __future__ import annotations

import ast

import pytest

from bringup import limits, station
from bringup.bench import Bench
from bringup.measurement import DeclarationError, Measurement
from db_helpers import REPO, run_cli


def test_every_recorded_measurement_is_declared_with_its_unit_and_limits(batch):
    """All 30 runs (both stations, passes and every fault): each measurement in a record is in its
    station's table with the same unit, limits and expectation."""
    tables = {name: limits.table(station.load(p)) for name, p in batch.stations.items()}
    seen = set()
    for rec in batch.records():
        t = tables[rec["station"]]
        for step in rec["steps"]:
            for m in step["measurements"]:
                spec = t.spec(step["name"], m["name"])
                assert (m["unit"], m["low"], m["high"], m["expect"], m["marginal"] or 0.0) == (
                    spec.unit, spec.low, spec.high, spec.expect, spec.marginal or 0.0), (step["name"], m["name"])
                seen.add((rec["station"], step["name"], m["name"]))
    # the passing runs record every declared measurement: the table holds nothing a step never records
    for name, t in tables.items():
        assert {(name, s.step, s.name) for s in t.specs} <= seen, name


def test_steps_build_measurements_only_from_the_table():
    """No step constructs a Measurement itself: every one goes through Bench.measure (the table)."""
    tree = ast.parse((REPO / "bringup" / "steps.py").read_text())
    direct = [n.lineno for n in ast.walk(tree)
              if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "Measurement"]
    assert direct == []
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", None) == "measure"]
    assert len(calls) >= 25


def test_an_undeclared_measurement_is_refused():
    st = station.resolve("sim")
    t = limits.table(st)
    bench = Bench(st, t)
    assert bench.measure("power", "idle_current_a", 0.08).outcome.value == "PASS"
    with pytest.raises(DeclarationError, match="step power: measurement 'idle current' is not declared"):
        bench.measure("power", "idle current", 0.08)
    with pytest.raises(DeclarationError, match="declared 'A'"):
        t.check("power", [Measurement("idle_current_a", 0.08, "mA", 0.02, 0.15)])


def test_limits_command_lists_every_measurement_a_step_records(batch):
    for name, path in batch.stations.items():
        p = run_cli("limits", "--station", str(path))
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        recorded = {(s["name"], m["name"]) for rec in batch.records() if rec["station"] == name
                    for s in rec["steps"] for m in s["measurements"]}
        assert recorded
        for step, meas in recorded:
            assert any(ln.split()[0] == step and f"  {meas}  " in ln + "  " for ln in lines[3:]), (step, meas)
        st = station.load(path)
        assert (st.s1 is not None) == any(ln.startswith("s1 ") for ln in lines)
        assert f"{len(limits.table(st).specs)} measurements" in lines[0]


def test_limits_command_names_a_bad_station_file(tmp_path):
    bad = tmp_path / "st.yaml"
    bad.write_text("name: x\nkind: sim\nlimits: {rail_3v3: [3.2, 3.4]}\n")
    p = run_cli("limits", "--station", str(bad))
    assert p.returncode == 2 and "rail_3v3" in p.stderr and str(bad) in p.stderr
    assert "Traceback" not in p.stderr
