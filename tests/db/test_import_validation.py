"""`import` validates every record against the record schema before a row of it is written: a record
of the wrong shape is named with its file and key and skipped, the records after it are still
imported, and the summary counts each kind. Records of every schema the harness has written import."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bringup import store
from bringup.cli import main
from bringup.measurement import Category, Measurement, Outcome, StepResult
from bringup.record import RunRecord
from db_helpers import REPO

OLD_RECORDS = REPO / "tests" / "data" / "records"  # written by older harnesses (README there)
SCHEMA_1 = OLD_RECORDS / "schema1"


def _finished_record(records: Path, serial: str) -> Path:
    """A record as a run writes it (record.py's RunRecord): two steps, one failed."""
    rec = RunRecord(records, serial, "bench-v", {"operator": "ann", "inject": None})
    power = StepResult(2, "power", "Power", [Measurement("idle_current_a", 0.2498, "A", 0.02, 0.15),
                                              Measurement("output on", True, expect=True)], started="t")
    power.finish()
    rec.add_step(StepResult(1, "self_check", "Station self-check",
                            [Measurement("firmware version", "1.2.0", expect="1.2.0")], started="t"))
    rec.add_step(power)
    rec.finish(Outcome.FAIL, Category.FAIL, power, b"@H fw=1.2.0\r\n")
    return rec.path


def _write(records: Path, serial: str, content) -> Path:
    (records / serial).mkdir(parents=True)
    path = records / serial / "20260101T000000Z.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_bad_records_are_named_with_their_key_and_skipped_and_the_rest_imported(tmp_path, capsys):
    records = tmp_path / "records"
    good = [_finished_record(records, "G-1"), _finished_record(records, "G-2")]
    for old in sorted(OLD_RECORDS.glob("schema[12]/*/*.json")):  # no run_id, no operator; no category field
        (records / old.parent.name).mkdir()
        good.append(records / old.parent.name / old.name)
        good[-1].write_bytes(old.read_bytes())
    base = json.loads(good[0].read_text())

    def changed(edit) -> dict:
        rec = copy.deepcopy(base)
        edit(rec)
        return rec

    # Their serials sort before the good ones: the records after a bad one must still be imported.
    bad = {
        _write(records, "B-1", changed(lambda r: r.update(started=123))): "key 'started': must be a valid string",
        _write(records, "B-2", changed(lambda r: r.update(outcome={"verdict": "PASS"}))):
            "key 'outcome': must be 'RUNNING', 'PASS', 'FAIL' or 'ABORTED'",
        _write(records, "B-3", changed(lambda r: r["steps"][1]["measurements"][0].update(value={"A": 0.25}))):
            "key 'steps[1].measurements[0].value': must be a number, true/false, text or null, not dict",
        _write(records, "B-4", changed(lambda r: r["steps"][1]["measurements"][0].update(low="0.02"))):
            "key 'steps[1].measurements[0].low': must be a valid number",
        _write(records, "B-5", changed(lambda r: r.pop("board_serial"))): "key 'board_serial': missing",
        _write(records, "B-6", '{"schema": 2, "board_serial": '): "not valid JSON",
        _write(records, "B-7", [base]): "not a run record: a JSON object expected, got list",
    }
    unfinished = _write(records, "B-8", changed(lambda r: r.update(outcome="RUNNING")))
    url = f"sqlite:///{tmp_path / 'runs.db'}"

    assert main(["import", str(records), "--db", url]) == 0
    out, err = capsys.readouterr()
    for path, why in bad.items():
        assert f"skipped (bad record): {path}: {why}" in err, why
    assert f"skipped (run not finished): {unfinished}" in err
    assert "Traceback" not in err and "[SQL:" not in err
    assert out.strip() == (f"import: {len(good) + len(bad) + 1} records: {len(good)} imported, {len(bad)} skipped "
                           f"as bad, 1 unfinished, 0 already stored")

    engine = store.connect(url)
    try:
        stored = {r.record_path: r for r in store.load_runs(engine)}
        assert sorted(stored) == sorted(str(p.resolve()) for p in good)  # no row of a bad record
        for p in good:
            rec = json.loads(p.read_text())
            row = stored[str(p.resolve())]
            assert (row.run_uuid, row.outcome) == (store.run_uuid(rec), rec["outcome"])
            assert len(row.measurements) == sum(len(s["measurements"]) for s in rec["steps"])
        old = [stored[str(p.resolve())] for p in good if p.parent.name.startswith("OLD")]
        assert [(r.operator, r.outcome) for r in old] == [("unknown", "PASS"), ("unknown", "FAIL")]
        assert [(r.category, r.failed_step_index, r.failed_step_name) for r in old] == [
            ("pass", None, None), ("fail", 2, "power")]
    finally:
        engine.dispose()

    assert main(["import", str(records), "--db", url]) == 0  # again: nothing added, the same ones named
    out, _ = capsys.readouterr()
    assert out.strip().endswith(f"{len(good) + len(bad) + 1} records: 0 imported, {len(bad)} skipped as bad, "
                                f"1 unfinished, {len(good)} already stored")


GOOD = {"schema": 2, "board_serial": "S1", "station": "bench", "started": "2026-01-01T00:00:00Z",
        "outcome": "PASS", "steps": []}


@pytest.mark.parametrize("key, value, why", [
    ("station", "s" * 201, "must have at most 200 characters"),  # the runs.station column
    ("started", "yesterday", "Invalid isoformat string"),
    ("started", "", "Invalid isoformat string"),  # the column is NOT NULL
    ("schema", 4, "record schema 4 is not one this harness reads (1 … 3)"),
    ("run_id", "not-a-uuid", "badly formed hexadecimal UUID string"),
    ("board_serial", "../x", "board serial '../x'"),
    ("marginal", 1, "must be a valid boolean"),
])
def test_the_schema_names_the_key_that_is_wrong(key, value, why):
    assert store.check_record(GOOD).board_serial == "S1"
    with pytest.raises(store.RecordInvalid) as e:
        store.check_record({**GOOD, key: value})
    assert str(e.value).startswith(f"key '{key}': ") and why in str(e.value), str(e.value)
