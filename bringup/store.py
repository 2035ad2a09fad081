"""The results store: every run and its measurements in one database behind a URL.

``sqlite:///records/p1reader.db`` (the default, next to the records) or ``postgresql://user@host/db``
when several stations share one server; the same SQLAlchemy Core code serves both (psycopg 3 is the
PostgreSQL driver). The JSON record stays the first thing written: the store is filled from it, one
transaction per run, idempotently by run UUID, so importing a record twice adds nothing.

The schema is versioned: ``schema_version`` holds the version and :data:`MIGRATIONS` the steps that
bring an older database up to date, applied under a lock (PostgreSQL advisory lock, SQLite ``BEGIN
IMMEDIATE``) so two stations starting at once do not race.
"""
from __future__ import annotations

import json
import math
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from sqlalchemy import (Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table, Text, create_engine,
                        event, func, insert, select, update)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

SCHEMA_VERSION = 1
# Fallback run UUIDs for records written before records carried one: stable, so re-imports match.
_RECORD_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "p1reader:bring-up-record")
_PG_MIGRATION_LOCK = 0x70317264  # any constant; only p1reader's migration takes this advisory lock

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_uuid", String(36), nullable=False, unique=True),
    Column("board_serial", String(64), nullable=False, index=True),
    Column("station", String(200), nullable=False),
    Column("operator", String(200), nullable=False),
    Column("firmware", String(64), nullable=False),
    Column("harness_version", String(64), nullable=False),
    Column("board_revision", String(64), nullable=False),
    Column("design_commit", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("failed_step", String(100)),
    Column("reason", Text, nullable=False),
    Column("started", DateTime, nullable=False),  # naive UTC on both databases
    Column("finished", DateTime),
    Column("record_path", Text, nullable=False),
    Column("inject", String(64)),
)

measurements = Table(
    "measurements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("step_index", Integer, nullable=False),
    Column("step", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("value", Float),  # numeric values (not booleans); None otherwise
    Column("value_text", Text, nullable=False),  # the value as JSON, for every kind
    Column("unit", String(32), nullable=False),
    Column("low", Float),
    Column("high", Float),
    Column("expect", Text),  # JSON of the expected value for exact measurements
    Column("outcome", String(16), nullable=False),
)


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[runs, measurements])


# MIGRATIONS[k] takes a database at version k to version k + 1.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1]
assert len(MIGRATIONS) == SCHEMA_VERSION


class StoreError(Exception):
    """The database cannot be used (bad URL, unreachable server, newer schema); names the URL.
    ``bad_url``: the URL itself is wrong (no server could fix it)."""

    def __init__(self, message: str, bad_url: bool = False):
        super().__init__(message)
        self.bad_url = bad_url


def default_url(records_dir: str | Path) -> str:
    return f"sqlite:///{(Path(records_dir) / 'p1reader.db').resolve()}"


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def connect(url: str) -> Engine:
    """An engine for ``url`` with the schema brought up to date. ``postgresql://`` means psycopg 3."""
    try:
        u = make_url(url)
    except ArgumentError as e:
        raise StoreError(f"database URL {url!r}: not a URL ({e})", bad_url=True) from e
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    backend = u.get_backend_name()
    if backend == "sqlite":
        if u.database and u.database != ":memory:":
            try:
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"database {display_url(url)}: folder {Path(u.database).parent}: "
                                 f"{e.strerror or e}") from e
        engine = create_engine(u, connect_args={"timeout": 60})
        _sqlite_locking(engine)
    elif backend == "postgresql":
        engine = create_engine(u, pool_pre_ping=True)
    else:
        raise StoreError(f"database URL {display_url(url)}: use sqlite:///FILE or postgresql://USER@HOST/DB",
                         bad_url=True)
    try:
        migrate(engine)
    except StoreError:
        engine.dispose()
        raise
    except (SQLAlchemyError, OSError) as e:
        engine.dispose()
        raise StoreError(f"database {display_url(url)}: {e.__class__.__name__}: {_first_line(e)}") from e
    return engine


def _first_line(e: Exception) -> str:
    text = str(getattr(e, "orig", None) or e)
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__


def _sqlite_locking(engine: Engine) -> None:
    """WAL (readers never block the writer) and real transactions: pysqlite's own BEGIN handling is
    switched off; writing transactions (:func:`_writing`) start with BEGIN IMMEDIATE, so two stations
    writing at once wait for each other (busy timeout 60 s) instead of failing on a lock upgrade."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 60000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writing") else "BEGIN")


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: committed at the end, rolled back on an exception."""
    with engine.connect().execution_options(writing=True) as conn, conn.begin():
        yield conn


def migrate(engine: Engine) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; returns the version found before."""
    with _writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        schema_version.create(conn, checkfirst=True)
        found = conn.scalar(select(func.max(schema_version.c.version))) or 0
        if found > SCHEMA_VERSION:
            raise StoreError(f"database schema version {found} is newer than this harness ({SCHEMA_VERSION}): "
                             f"update p1reader")
        for k in range(found, SCHEMA_VERSION):
            MIGRATIONS[k](conn)
        if found == 0:
            conn.execute(insert(schema_version).values(version=SCHEMA_VERSION))
        elif found < SCHEMA_VERSION:
            conn.execute(update(schema_version).values(version=SCHEMA_VERSION))
    return found


# ---------------------------------------------------------------- record → rows
class RecordNotFinished(Exception):
    """The record is still RUNNING (a run in progress, or one that crashed): nothing to store yet."""


def run_uuid(record: dict) -> str:
    """The record's run UUID (``run_id``, record schema 2); records written before runs carried one
    get a stable UUID made from serial, start time and station, so importing them again matches."""
    if record.get("run_id"):
        return str(uuid.UUID(str(record["run_id"])))
    key = f"{record.get('board_serial')}/{record.get('started')}/{record.get('station')}"
    return str(uuid.uuid5(_RECORD_NAMESPACE, key))


def _utc(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)


def _num(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return None if isinstance(v, float) and math.isnan(v) else float(v)


def rows_from_record(record: dict, path: str | Path) -> tuple[dict, list[dict]]:
    """The run row and measurement rows for one record (a dict as read from its JSON)."""
    if record.get("outcome") in (None, "RUNNING"):
        raise RecordNotFinished(f"{path}: record not finished (outcome {record.get('outcome')})")
    run = {
        "run_uuid": run_uuid(record),
        "board_serial": record["board_serial"],
        "station": record.get("station") or "unknown",
        "operator": record.get("operator") or "unknown",
        "firmware": record.get("firmware") or "unknown",
        "harness_version": record.get("harness_version") or "unknown",
        "board_revision": record.get("board_revision") or "unknown",
        "design_commit": record.get("design_commit") or "unknown",
        "outcome": record["outcome"],
        "failed_step": record.get("failed_step"),
        "reason": record.get("reason") or "",
        "started": _utc(record["started"]),
        "finished": _utc(record.get("finished")),
        "record_path": str(Path(path).resolve()),
        "inject": record.get("inject"),
    }
    ms = []
    for step in record.get("steps", []):
        for m in step.get("measurements", []):
            ms.append({
                "step_index": step["index"], "step": step["name"], "name": m["name"],
                "value": _num(m.get("value")), "value_text": json.dumps(m.get("value")),
                "unit": m.get("unit") or "", "low": _num(m.get("low")), "high": _num(m.get("high")),
                "expect": None if m.get("expect") is None else json.dumps(m["expect"]),
                "outcome": m["outcome"],
            })
    return run, ms


def _insert_ignoring_duplicate(conn: Connection, row: dict) -> int | None:
    """Insert the run row unless its run UUID is there; the new id, or None when it was."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = (dialect_insert(runs).values(**row).on_conflict_do_nothing(index_elements=["run_uuid"])
            .returning(runs.c.id))
    return conn.execute(stmt).scalar()


def save(engine: Engine, record: dict, path: str | Path) -> bool:
    """Store one finished record (run + measurements in one transaction). False: already stored."""
    run, ms = rows_from_record(record, path)
    with _writing(engine) as conn:
        run_id = _insert_ignoring_duplicate(conn, run)
        if run_id is None:
            return False
        if ms:
            conn.execute(insert(measurements), [dict(m, run_id=run_id) for m in ms])
    return True


def save_file(engine: Engine, path: str | Path) -> bool:
    return save(engine, json.loads(Path(path).read_text(encoding="utf-8")), path)


# ---------------------------------------------------------------- import
@dataclass
class ImportResult:
    added: int = 0
    already: int = 0
    unfinished: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "path: why"


def record_files(records_dir: str | Path) -> list[Path]:
    """Run records under a records directory: ``<serial>/<time>.json``."""
    return sorted(p for p in Path(records_dir).glob("*/*.json") if not p.name.startswith("."))


def import_records(engine: Engine, files: Iterable[Path],
                   progress: Callable[[int, int], None] = lambda done, total: None) -> ImportResult:
    files = list(files)
    res = ImportResult()
    for i, p in enumerate(files, 1):
        try:
            record = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(record, dict) or "board_serial" not in record or "steps" not in record:
                raise ValueError("not a run record")
            if save(engine, record, p):
                res.added += 1
            else:
                res.already += 1
        except RecordNotFinished:
            res.unfinished.append(str(p))
        except (OSError, ValueError, KeyError, TypeError) as e:
            res.unreadable.append(f"{p}: {type(e).__name__}: {e}")
        progress(i, len(files))
    return res


# ---------------------------------------------------------------- reading back
@dataclass
class StoredMeasurement:
    step_index: int
    step: str
    name: str
    value: float | None
    value_text: str
    unit: str
    low: float | None
    high: float | None
    outcome: str


@dataclass
class StoredRun:
    run_uuid: str
    board_serial: str
    station: str
    operator: str
    firmware: str
    outcome: str
    failed_step: str | None
    reason: str
    started: datetime
    finished: datetime | None
    record_path: str
    measurements: list[StoredMeasurement] = field(default_factory=list)


def load_runs(engine: Engine, progress: Callable[[int, int], None] = lambda done, total: None) -> list[StoredRun]:
    """Every run with its measurements, in start order. ``progress(rows read, total rows)``."""
    with engine.connect() as conn:
        total = (conn.scalar(select(func.count()).select_from(runs)) or 0) + (
            conn.scalar(select(func.count()).select_from(measurements)) or 0)
        by_id: dict[int, StoredRun] = {}
        done = 0
        for r in conn.execute(select(runs).order_by(runs.c.started, runs.c.id)).mappings():
            by_id[r["id"]] = StoredRun(**{k: r[k] for k in StoredRun.__dataclass_fields__ if k != "measurements"})
            done += 1
        progress(done, total)
        cols = [measurements.c[k] for k in StoredMeasurement.__dataclass_fields__]
        q = select(measurements.c.run_id, *cols).order_by(measurements.c.run_id, measurements.c.id)
        for m in conn.execution_options(yield_per=2000).execute(q):
            by_id[m[0]].measurements.append(StoredMeasurement(*m[1:]))
            done += 1
            if done % 2000 == 0:
                progress(done, total)
        progress(total, total)
    return list(by_id.values())


def counts(engine: Engine) -> tuple[int, int]:
    """(runs, measurements) stored."""
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(runs)),
                conn.scalar(select(func.count()).select_from(measurements)))
