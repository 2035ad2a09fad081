"""Results stop travelling as text: a schema-1 database (made by the harness before the category and the failed
step were fields) migrates once, on SQLite and PostgreSQL, its rows' text read one last time; older records
still import; the yield page counts by the fields, whatever a reason's wording says."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, create_engine, insert, inspect, select

from bringup import store, yield_report
from bringup.measurement import Category, Measurement, Outcome, StepResult
from bringup.record import RunRecord
from db_helpers import REPO

OLD = REPO / "tests" / "data" / "records"  # README there: who wrote these, and when
# What the old rows' text says, as fields: (serial, outcome, category, failed step index, name)
OLD_RUNS = [
    ("OLD-1", "PASS", "pass", None, None),
    ("OLD-2", "FAIL", "fail", 2, "power"),
    ("NEW-1", "PASS", "pass", None, None),
    ("NEW-2", "FAIL", "fail", 2, "power"),
    ("NEW-3", "ABORTED", "aborted", 4, "loopback"),
    ("NEW-4", "FAIL", "station error", 3, "rails"),  # an internal error
    ("NEW-5", "FAIL", "station error", 0, "setup"),
]


def _schema_1_sqlite(path: Path) -> str:
    """The schema-1 database file, as that harness wrote it (its sqlite3 dump)."""
    con = sqlite3.connect(path)
    con.executescript((OLD / "results-db-schema1.sql").read_text(encoding="utf-8"))
    con.close()
    return f"sqlite:///{path}"


def _runs(url: str) -> list[tuple]:
    engine = store.connect(url, read_only=True)
    try:
        return [(r.board_serial, r.outcome, r.category, r.failed_step_index, r.failed_step_name)
                for r in store.load_runs(engine)]
    finally:
        engine.dispose()


def _check_migrated(url: str, measurements: int) -> None:
    """The rows of OLD_RUNS with their fields; the text column gone; migrating again finds nothing to do."""
    assert _runs(url) == OLD_RUNS
    engine = store.connect(url)
    try:
        assert store.migrate(engine) == store.SCHEMA_VERSION  # the version found: nothing more to migrate
        columns = {c["name"] for c in inspect(engine).get_columns("runs")}
        assert "failed_step" not in columns and {"category", "failed_step_index", "failed_step_name"} <= columns
        assert store.counts(engine) == (len(OLD_RUNS), measurements)
        with engine.connect() as conn:  # nothing left for a later reading of the text to fill
            assert conn.scalar(select(store.runs.c.id).where(store.runs.c.category.is_(None))) is None
    finally:
        engine.dispose()


def test_a_schema_1_sqlite_database_migrates_once_and_its_records_still_import(tmp_path):
    url = _schema_1_sqlite(tmp_path / "p1reader.db")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(select(store.schema_version.c.version)) == 1
        measurements = conn.exec_driver_sql("SELECT count(*) FROM measurements").scalar()
    assert store.migrate(engine) == 1  # the version found
    engine.dispose()
    _check_migrated(url, measurements)

    # every older record imports into it (already there: adds nothing; NEW-6: its replay table stored)
    files = sorted(OLD.glob("schema[12]/*/*.json"))
    engine = store.connect(url)
    try:
        res = store.import_records(engine, files)
        assert (res.added, res.already, res.bad, res.unfinished) == (1, len(OLD_RUNS), [], [])
        with engine.connect() as conn:
            rows = conn.execute(select(store.telegrams).order_by(store.telegrams.c.position)).mappings().all()
    finally:
        engine.dispose()
    assert [(r["source"], r["decoder_limitation"]) for r in rows] == [("eon-hu.txt", True), ("fluvius.txt", False)]
    engine = store.connect(url, read_only=True)
    try:
        summary = yield_report.summarize(store.load_runs(engine))
    finally:
        engine.dispose()
    assert summary.by_category == {"pass": 3, "fail": 2, "aborted": 1, "station error": 2}


def test_a_schema_1_postgresql_database_migrates_once(pg, tmp_path):
    """The same rows in a PostgreSQL database at schema 1 (its ALTER TABLE is not SQLite's)."""
    old = create_engine(_schema_1_sqlite(tmp_path / "old.db"))
    url = pg.new_database("schema_one")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with old.connect() as src, engine.begin() as dst:
        store._v1(dst)  # schema 1's tables, as that harness made them
        store.schema_version.create(dst)
        dst.execute(insert(store.schema_version), [{"version": 1}])
        for name in ("runs", "measurements"):
            rows = src.exec_driver_sql(f"SELECT * FROM {name} ORDER BY id").mappings().all()
            dst.execute(insert(Table(name, MetaData(), autoload_with=dst)), [dict(r) for r in rows])
        dst.exec_driver_sql("SELECT setval('runs_id_seq', (SELECT max(id) FROM runs))")
        measurements = dst.exec_driver_sql("SELECT count(*) FROM measurements").scalar()
    old.dispose()
    assert store.migrate(engine) == 1  # the version found
    engine.dispose()
    _check_migrated(url, measurements)


def test_the_yield_page_counts_by_the_fields_not_by_the_reason_text(tmp_path):
    """Two schema-3 records whose text says otherwise: a board FAIL in step 4 whose reason begins 'aborted' and
    names an internal error, and a station error (an undeclared measurement) whose reason says neither."""
    records = tmp_path / "records"
    failed = StepResult(4, "loopback", "Telegram loopback", outcome=Outcome.FAIL,
                        error="aborted mid-telegram: internal error on the line (the board's words)")
    harness = StepResult(2, "power", "Power", [Measurement("made up", 1.0)], outcome=Outcome.ERROR,
                         error="step power: measurement 'made up' is not declared", station_fault=True)
    for serial, step, category in (("T-1", failed, Category.FAIL), ("T-2", harness, Category.STATION_ERROR)):
        rec = RunRecord(records, serial, "bench-t")
        rec.add_step(step)
        rec.finish(step.outcome, category, step)
        rec.data["failed_step"] = "1 self_check"  # text for people, which no code may read
        rec.save()
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    engine = store.connect(url)
    try:
        assert store.import_records(engine, store.record_files(records)).added == 2
        summary = yield_report.summarize(store.load_runs(engine))
    finally:
        engine.dispose()
    assert summary.by_category == {"fail": 1, "station error": 1}
    assert summary.pareto == [("loopback: step failed", 1)]
    assert [(s.serial, s.first_verdict) for s in summary.serials] == [("T-1", "fail"), ("T-2", None)]


def test_a_category_that_does_not_go_with_the_outcome_is_refused():
    rec = json.loads(next(OLD.glob("schema2/NEW-2/*.json")).read_text())
    rec.update(schema=3, category="pass", failed_step_index=2, failed_step_name="power")
    with pytest.raises(store.RecordInvalid) as e:
        store.rows_from_record(rec, "x.json")
    assert str(e.value) == "key 'category': must be 'fail' or 'station error' for outcome FAIL, not 'pass'"
    old = dict(rec, schema=2, failed_step="2 " + "p" * 65)  # read from the text: no longer than its column
    with pytest.raises(store.RecordInvalid, match="key 'failed_step': its step name has more than 64 characters"):
        store.rows_from_record(old, "x.json")
