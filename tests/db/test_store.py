"""The results store on SQLite and on a live PostgreSQL: same rows, same yield and Pareto from the same
30 runs; import is idempotent; two writers at once lose nothing; run --db fills it from the record."""
from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

import pytest
from sqlalchemy import select

from bringup import store, yield_report
from hwtools.project import REVISION
from db_helpers import REPO, run_cli


def _summary(url: str):
    engine = store.connect(url)
    try:
        return store.counts(engine), yield_report.summarize(store.load_runs(engine))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def filled(batch, pg, tmp_path_factory):
    """The batch imported with the CLI into a fresh SQLite file and a fresh PostgreSQL database, twice."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'runs.db'}",
            "postgresql": pg.new_database("batch")}
    outputs = {}
    for kind, url in urls.items():
        first = run_cli("import", str(batch.records_dir), "--db", url)
        second = run_cli("import", str(batch.records_dir), "--db", url)
        assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
        outputs[kind] = (first.stdout, second.stdout)
    return urls, outputs


def test_import_twice_adds_nothing(batch, filled):
    urls, outputs = filled
    n = len(batch.files)
    for kind, (first, second) in outputs.items():
        # every record the batch made passes the record schema
        assert f"{n} records: {n} imported, 0 skipped as bad, 0 unfinished, 0 already stored" in first, (kind, first)
        assert f"{n} records: 0 imported, 0 skipped as bad, 0 unfinished, {n} already stored" in second, (kind, second)
        assert _summary(urls[kind])[0] == (n, batch.measurement_count()), kind


def test_sqlite_and_postgresql_give_the_same_counts_yield_and_pareto(batch, filled):
    urls, _ = filled
    (lite_counts, lite), (pg_counts, pg) = _summary(urls["sqlite"]), _summary(urls["postgresql"])
    assert lite_counts == pg_counts == (30, batch.measurement_count())
    first_pass, final, judged = batch.expected_yields()
    for s in (lite, pg):
        assert s.by_category == batch.expected_categories()
        assert len(s.with_verdict) == judged
        assert s.first_pass_yield == pytest.approx(first_pass)
        assert s.final_yield == pytest.approx(final)
        assert s.first_pass_yield < s.final_yield  # the retested boards
    assert lite.pareto == pg.pareto
    # the fault injected most often leads the Pareto: over-current, 4 boards
    assert lite.pareto[0][1] == sum(k == "over-current" for ks in batch.kinds.values() for k in ks)
    assert lite.pareto[0][0].startswith("power: ")
    assert [(h.name, h.values) for h in lite.histograms] == [(h.name, h.values) for h in pg.histograms]
    assert lite.per_station_day == pg.per_station_day


def test_run_rows_carry_identity_and_provenance(batch, filled):
    urls, _ = filled
    engine = store.connect(urls["postgresql"])
    try:
        with engine.connect() as conn:
            rows = {r.run_uuid: r for r in conn.execute(select(store.runs))}
    finally:
        engine.dispose()
    for p in batch.files:
        rec = json.loads(p.read_text())
        row = rows[store.run_uuid(rec)]
        assert (row.board_serial, row.station, row.outcome) == (rec["board_serial"], rec["station"], rec["outcome"])
        assert row.operator == "operator-" + rec["station"][-1]
        assert row.harness_version == metadata.version("p1reader")
        assert row.board_revision == REVISION and row.design_commit  # "unknown" for a local install
        assert row.record_path == str(p.resolve())
        assert row.started < row.finished


def test_run_uuid_is_taken_from_the_record_and_stable_without_one(batch):
    rec = json.loads(batch.files[0].read_text())
    assert store.run_uuid(rec) == rec["run_id"]
    old = {k: v for k, v in rec.items() if k != "run_id"}  # a record from before run ids
    fallback = store.run_uuid(old)
    assert fallback == store.run_uuid(dict(old)) and len(fallback) == 36 and fallback != rec["run_id"]
    assert store.run_uuid({**old, "started": "2026-01-01T00:00:00Z"}) != fallback


def test_unfinished_record_is_not_stored(tmp_path):
    rec = {"schema": 2, "board_serial": "X1", "station": "s", "started": "2026-01-01T00:00:00Z",
           "outcome": "RUNNING", "steps": []}
    (tmp_path / "X1").mkdir()
    (tmp_path / "X1" / "a.json").write_text(json.dumps(rec))
    (tmp_path / "X1" / "b.json").write_text("{not json")
    engine = store.connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    res = store.import_records(engine, store.record_files(tmp_path))
    assert (res.added, len(res.unfinished), len(res.bad)) == (0, 1, 1)
    assert store.counts(engine) == (0, 0)
    engine.dispose()


WRITER = """
import sys
from pathlib import Path
from bringup import store
files = [Path(p) for p in sys.argv[2:]]
engine = store.connect(sys.argv[1])
res = store.import_records(engine, files)
print(res.added, res.already, len(res.unfinished) + len(res.bad))
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_writers_at_once_lose_nothing(batch, pg, tmp_path, kind):
    """Two processes (two stations) start on an empty database at once — both create the schema — and
    write the same 30 runs in opposite orders: every run lands exactly once, with all its measurements."""
    url = f"sqlite:///{tmp_path / 'shared.db'}" if kind == "sqlite" else pg.new_database("concurrent")
    files = [str(p) for p in batch.files]
    env = {"PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, *order], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for order in (files, files[::-1])]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
    added, already, bad = (sum(int(out.split()[k]) for out, _ in results) for k in range(3))
    assert (added, already, bad) == (30, 30, 0)
    engine = store.connect(url)
    try:
        assert store.counts(engine) == (30, batch.measurement_count())
        with engine.connect() as conn:
            assert conn.scalar(select(store.schema_version.c.version)) == store.SCHEMA_VERSION
            assert len(conn.execute(select(store.schema_version)).all()) == 1
    finally:
        engine.dispose()


def test_run_stores_its_record_default_sqlite_and_postgresql(pg, tmp_path):
    """`run` writes the record first, then the store: by default SQLite next to the records."""
    station = tmp_path / "st.yaml"
    import yaml
    from db_helpers import station_dict

    station.write_text(yaml.safe_dump(station_dict("bench-c", s1=False)))
    records = tmp_path / "records"
    p = run_cli("run", "--station", str(station), "--board-serial", "R1", "--records", str(records),
                "--inject", "over-current", "--operator", "ann")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "results database: run stored" in p.stdout
    engine = store.connect(store.default_url(records))
    runs = store.load_runs(engine)
    engine.dispose()
    assert [(r.board_serial, r.operator, r.outcome) for r in runs] == [("R1", "ann", "FAIL")]
    record = json.loads(next(records.glob("R1/*.json")).read_text())
    assert runs[0].run_uuid == store.run_uuid(record)

    url = pg.new_database("station_c")
    p = run_cli("run", "--station", str(station), "--board-serial", "R2", "--records", str(records),
                "--inject", "over-current", "--db", url)
    assert p.returncode == 1, p.stdout + p.stderr
    engine = store.connect(url)
    assert [r.board_serial for r in store.load_runs(engine)] == ["R2"]
    engine.dispose()


def test_wrong_database_url_is_refused_before_the_run_and_an_unreachable_one_only_warns(pg, tmp_path):
    p = run_cli("run", "--station", "sim", "--board-serial", "R3", "--records", str(tmp_path), "--db", "mysql://x/y")
    assert p.returncode == 2 and "use sqlite:///FILE or postgresql://" in p.stderr
    assert "Traceback" not in p.stderr and not list(tmp_path.glob("R3"))

    import yaml
    from db_helpers import station_dict

    station = tmp_path / "st.yaml"
    station.write_text(yaml.safe_dump(station_dict("bench-d", s1=False)))
    down = "postgresql://nobody@127.0.0.1:1/none"
    p = run_cli("run", "--station", str(station), "--board-serial", "R4", "--records", str(tmp_path / "rec"),
                "--inject", "over-current", "--db", down)
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stdout + p.stderr
    assert "WARNING: database postgresql://nobody@127.0.0.1:1/none: OperationalError" in p.stdout
    assert p.stdout.splitlines()[-1].startswith("FAIL R4 ")
    # the record was written; once the server is there, import loads it
    url = pg.new_database("later")
    p = run_cli("import", str(tmp_path / "rec"), "--db", url)
    assert p.returncode == 0 and "1 imported" in p.stdout
