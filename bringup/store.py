"""The results database: runs, measurements and replayed telegrams, filled from the JSON records (the record
is written first) one transaction per run, idempotently by run UUID. SQLite or PostgreSQL (psycopg 3) behind
a URL, one SQLAlchemy Core code for both. A record is validated (:class:`RecordIn`) before a row of it is
written; the schema is versioned (:data:`MIGRATIONS`, applied under a lock; ``report`` opens it read-only and
never migrates); the text older records and rows said a run's category in is read once, by
:func:`fields_from_text`. The top-level README ("Bring-up at batch scale") says the rest.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Callable, Iterable, Iterator, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table, Text,
                        bindparam, create_engine, event, func, insert, inspect, select, text, update)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DataError, SQLAlchemyError

from .errors import BringupError
from .measurement import Category, Outcome
from .record import SCHEMA as RECORD_SCHEMA, check_serial
from .replay import TelegramRow

SCHEMA_VERSION = 2  # 2: category, failed_step_index and failed_step_name for the text failed_step; telegrams
# Fallback run UUIDs for records written before records carried one: stable, so re-imports match.
_RECORD_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "p1reader:bring-up-record")
_PG_MIGRATION_LOCK = 0x70317264  # any constant; only p1reader's migration takes this advisory lock
TIMEOUT_ENV = "P1READER_DB_TIMEOUT"
DEFAULT_TIMEOUT_S = 10  # connect and statement timeout on PostgreSQL (seconds)

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

runs = Table(  # as schema 1 made it and schema 2 changed it (MIGRATIONS)
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
    Column("reason", Text, nullable=False),
    Column("started", DateTime, nullable=False),  # naive UTC on both databases
    Column("finished", DateTime),
    Column("record_path", Text, nullable=False),
    Column("inject", String(64)),
    Column("category", String(16)),  # a Category; added by schema 2, so NULL is allowed, never written
    Column("failed_step_index", Integer),
    Column("failed_step_name", String(64)),
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

telegrams = Table(  # the replay's per-telegram table (bringup.replay.TelegramRow), in replay order
    "telegrams", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("offset", Integer),
    Column("length", Integer, nullable=False),
    Column("flavour", Text, nullable=False),
    Column("expected", Text, nullable=False),
    Column("board_verdict", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("problem", Text, nullable=False),
    Column("decode", Text, nullable=False),
    Column("decoder_limitation", Boolean, nullable=False),
)


def _v1(conn: Connection) -> None:
    """Schema 1: ``runs`` as it was made (frozen: schema 2 changed it) and ``measurements`` as defined above
    (unchanged since; a schema that changes it copies the definition in here first, as ``runs``)."""
    v1 = MetaData()
    Table("runs", v1,
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
          Column("started", DateTime, nullable=False),
          Column("finished", DateTime),
          Column("record_path", Text, nullable=False),
          Column("inject", String(64)))
    v1.create_all(conn)
    measurements.create(conn)


def fields_from_text(outcome: str, failed_step: str | None, reason: str) -> dict:
    """A run's category and failed step, read from the text records of schema 1 and 2 and rows of database
    schema 1 said them in ("4 loopback"; a reason beginning "aborted" or "internal error"), by the rules
    the yield page read them with then. The one place that text is read: once per row (migration to
    schema 2), once per older record (import)."""
    head, _, tail = (failed_step or "").partition(" ")
    index, name = (int(head), tail) if head.isdigit() else (None, failed_step or None)
    if outcome == "PASS":
        category = Category.PASS
    elif outcome == "ABORTED" or reason.startswith("aborted"):
        category = Category.ABORTED
    elif name in ("setup", "self_check") or reason.startswith("internal error"):
        category = Category.STATION_ERROR
    else:
        category = Category.FAIL
    return {"category": category.value, "failed_step_index": index, "failed_step_name": name}


def _v2(conn: Connection) -> None:
    """Schema 2: the category and the failed step as columns, filled once from the rows' text (the
    text column goes); the replay's per-telegram table. (It makes ``telegrams`` as defined above: a
    schema that changes that table copies this definition in here first, as ``_v1`` keeps schema 1's.)"""
    for column in ("category VARCHAR(16)", "failed_step_index INTEGER", "failed_step_name VARCHAR(64)"):
        conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {column}")
    rows = conn.execute(text("SELECT id, outcome, failed_step, reason FROM runs")).all()
    if rows:
        conn.execute(update(runs).where(runs.c.id == bindparam("row_id")),
                     [{"row_id": r.id, **fields_from_text(r.outcome, r.failed_step, r.reason)} for r in rows])
    conn.exec_driver_sql("ALTER TABLE runs DROP COLUMN failed_step")
    telegrams.create(conn)


# MIGRATIONS[k] takes a database at version k to version k + 1.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2]
assert len(MIGRATIONS) == SCHEMA_VERSION


class StoreError(BringupError):
    """The database cannot be used (bad URL, unreachable server, other schema version); names the URL.
    ``bad_url``: the URL or the timeout setting is wrong (no server could fix it)."""

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


def timeout_s() -> int:
    """PostgreSQL's connect and statement timeout in seconds: ``P1READER_DB_TIMEOUT`` (2 … 600; psycopg
    waits at least 2 s for a connection), else :data:`DEFAULT_TIMEOUT_S`."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    if not (raw.isascii() and raw.isdigit() and 2 <= int(raw) <= 600):
        raise StoreError(f"{TIMEOUT_ENV}={raw!r}: give whole seconds from 2 to 600", bad_url=True)
    return int(raw)


def connect(url: str, read_only: bool = False) -> Engine:
    """An engine for ``url`` with the schema brought up to date. ``read_only``: nothing is written (SQLite
    opened with ``mode=ro``, PostgreSQL in read-only transactions), the schema is only checked, never
    migrated. ``postgresql://`` means psycopg 3."""
    try:
        u = make_url(url)
    except ArgumentError as e:
        raise StoreError(f"database URL {url!r}: not a URL ({e})", bad_url=True) from e
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    created = None  # a SQLite file this call is about to create
    if u.get_backend_name() == "sqlite":
        engine, created = _sqlite_engine(u, url, read_only)
    elif u.get_backend_name() == "postgresql":
        engine = _postgresql_engine(u, read_only)
    else:
        raise StoreError(f"database URL {display_url(url)}: use sqlite:///FILE or postgresql://USER@HOST/DB",
                         bad_url=True)
    try:
        check_version(engine) if read_only else migrate(engine)
    except (StoreError, SQLAlchemyError, OSError) as e:
        engine.dispose()
        if created is not None:
            _remove_if_empty(created)
        why = str(e) if isinstance(e, StoreError) else f"{e.__class__.__name__}: {first_line(e)}"
        raise StoreError(f"database {display_url(url)}: {why}") from e
    return engine


def _sqlite_engine(u: URL, url: str, read_only: bool) -> tuple[Engine, Path | None]:
    """(engine, the file when connecting will create it). Busy timeout 60 s: stations wait for each other."""
    file = Path(u.database) if u.database and u.database != ":memory:" else None
    if read_only:
        if file is None or not file.is_file():
            raise StoreError(f"database {display_url(url)}: no such file (give --db, or fill it first: "
                             f"`p1reader bringup import RECORDS_DIR`)")
        return _sqlite_read_only(file), None
    created = None
    if file is not None:
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"database {display_url(url)}: folder {file.parent}: {e.strerror or e}") from e
        try:  # made here, empty (SQLite takes an empty file as a new database): only then ours to remove
            os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            created = file
        except FileExistsError:
            pass
        except OSError as e:
            raise StoreError(f"database {display_url(url)}: {e.strerror or e}") from e
    engine = create_engine(u, connect_args={"timeout": 60})
    _sqlite_locking(engine)
    return engine, created


def _sqlite_read_only(file: Path) -> Engine:
    """``mode=ro``: SQLite writes nothing. A WAL database is read through its ``-shm`` file, which SQLite
    must create beside it when no writer has one open; where it cannot (a read-only mount, a folder we
    may not write) and no writer is there (no ``-wal``/``-shm``), ``immutable=1`` lets it read without."""
    uri = file.resolve().as_uri() + "?mode=ro"
    if not (os.access(file.parent, os.W_OK) or Path(f"{file}-shm").exists() or Path(f"{file}-wal").exists()):
        uri += "&immutable=1"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, timeout=60,
                                                                        check_same_thread=False))
    _sqlite_locking(engine, wal=False)
    return engine


def _remove_if_empty(file: Path) -> None:
    """SQLite creates the file on connect: one this process created but could not give a schema (a full
    disk) must not stay behind, empty or holding only its first page. Only while its WAL is empty too:
    another station that created it at the same moment may be filling it."""
    wal = Path(f"{file}-wal")
    try:
        if not _no_table_in(file) or (wal.exists() and wal.stat().st_size):
            return
        for side in (wal, Path(f"{file}-shm"), Path(f"{file}-journal")):
            side.unlink(missing_ok=True)
        file.unlink()
    except OSError:
        pass  # nothing more we can do; the error that brought us here is reported


def _no_table_in(file: Path) -> bool:
    """0 bytes, or a SQLite file of one page: page 1 is the schema table's root, every table needs a
    page of its own."""
    with open(file, "rb") as f:
        head = f.read(18)
    if not head:
        return True
    if len(head) < 18 or not head.startswith(b"SQLite format 3\0"):
        return False
    page_size = int.from_bytes(head[16:18], "big")
    return file.stat().st_size <= (65536 if page_size == 1 else page_size)  # 1 means 65,536 (file format)


def _postgresql_engine(u: URL, read_only: bool) -> Engine:
    t = timeout_s()
    options = f"-c statement_timeout={t * 1000}" + (" -c default_transaction_read_only=on" if read_only else "")
    return create_engine(u, pool_pre_ping=True, connect_args={"connect_timeout": t, "options": options})


def first_line(e: Exception) -> str:
    """A database error's first line (the driver's message, not SQLAlchemy's dump of the statement)."""
    text = str(getattr(e, "orig", None) or e)
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__


def _switch_to_wal(cur, give_up_s: float = 60.0) -> None:
    """``PRAGMA journal_mode = WAL``, retried while another connection switches the same new file: two
    stations opening a new database at once each hold a shared lock and want an exclusive one, and SQLite
    answers one of them "database is locked" at once instead of waiting out the busy timeout."""
    deadline, pause = time.monotonic() + give_up_s, 0.01
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def _sqlite_locking(engine: Engine, wal: bool = True) -> None:
    """WAL (readers never block the writer) and real transactions: pysqlite's own BEGIN handling is
    switched off; writing transactions (:func:`_writing`) start with BEGIN IMMEDIATE, so two stations
    writing at once wait for each other (busy timeout 60 s) instead of failing on a lock upgrade.
    ``wal=False`` for a read-only connection (switching to WAL is a write)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 60000")
        if wal:
            _switch_to_wal(cur)
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


def _refuse_newer(found: int) -> None:
    if found > SCHEMA_VERSION:
        raise StoreError(f"schema version {found} is newer than this harness ({SCHEMA_VERSION}): update p1reader")


def migrate(engine: Engine) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; returns the version found before."""
    with _writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        schema_version.create(conn, checkfirst=True)
        found = conn.scalar(select(func.max(schema_version.c.version))) or 0
        _refuse_newer(found)
        for k in range(found, SCHEMA_VERSION):
            MIGRATIONS[k](conn)
        if found == 0:
            conn.execute(insert(schema_version).values(version=SCHEMA_VERSION))
        elif found < SCHEMA_VERSION:
            conn.execute(update(schema_version).values(version=SCHEMA_VERSION))
    return found


def check_version(engine: Engine) -> None:
    """For a read-only use: the schema must be this harness's. An older one is named, not migrated."""
    with engine.connect() as conn:
        has_table = inspect(conn).has_table(schema_version.name)
        found = (conn.scalar(select(func.max(schema_version.c.version))) or 0) if has_table else 0
    if found == 0:
        raise StoreError("no p1reader results in it (fill it first: `p1reader bringup import RECORDS_DIR --db URL`)")
    _refuse_newer(found)
    if found < SCHEMA_VERSION:
        raise StoreError(f"schema version {found} is older than this harness ({SCHEMA_VERSION}); it was opened "
                         f"read-only, so not migrated: run `p1reader bringup import` on it once with write access")


# ---------------------------------------------------------------- the record as the store reads it
class RecordInvalid(BringupError, ValueError):
    """A record of the wrong shape (a wrong type, a missing key, text longer than its column): names the key."""


class RecordNotFinished(Exception):
    """The record is still RUNNING (a run in progress, or one that crashed): nothing to store yet."""


def _utc(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)


def _timestamp(v: str) -> str:
    datetime.fromisoformat(v.replace("Z", "+00:00"))  # ValueError naming the text (also an empty one)
    return v


def _scalar(v: Any) -> Any:
    if v is not None and not isinstance(v, (bool, int, float, str)):
        raise ValueError(f"must be a number, true/false, text or null, not {type(v).__name__}")
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**63:
        raise ValueError("number out of range")
    return v


def _uuid(v: str) -> str:
    uuid.UUID(v)  # ValueError: "badly formed hexadecimal UUID string"
    return v


def _record_schema(v: int) -> int:
    if not 1 <= v <= RECORD_SCHEMA:
        raise ValueError(f"record schema {v} is not one this harness reads (1 … {RECORD_SCHEMA}): update p1reader")
    return v


def _fits(column: Column, default: Any = ...) -> Any:
    """A text field no longer than its database column."""
    return Field(default, max_length=column.type.length)


Timestamp = Annotated[str, AfterValidator(_timestamp)]
Scalar = Annotated[Any, AfterValidator(_scalar)]  # a measured or expected value
OutcomeName = Literal[tuple(o.value for o in Outcome)]


class _In(BaseModel):
    # strict: no "5" for 5, no 1 for true; keys the store does not read (tracebacks, station source …) pass
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class MeasurementIn(_In):
    name: str = _fits(measurements.c.name)
    value: Scalar = None
    unit: str = _fits(measurements.c.unit, "")
    low: float | None = None
    high: float | None = None
    marginal: float | None = None
    expect: Scalar = None
    outcome: OutcomeName
    note: str = ""


class StepIn(_In):
    index: int = Field(ge=0, lt=2**31)  # the column's INTEGER
    name: str = _fits(measurements.c.step)
    title: str = ""
    outcome: OutcomeName
    error: str = ""
    started: str = ""
    duration_s: float = 0.0
    measurements: list[MeasurementIn] = []


class RecordIn(_In):
    """A run record as :mod:`bringup.record` writes it: schema 1 (no ``run_id``, no operator or
    provenance), schema 2 and schema 3 (the category and the failed step as fields)."""

    schema_: Annotated[int, AfterValidator(_record_schema)] = Field(alias="schema")
    run_id: Annotated[str, AfterValidator(_uuid)] | None = None
    board_serial: Annotated[str, AfterValidator(check_serial)]
    station: str = _fits(runs.c.station)
    started: Timestamp
    finished: Timestamp | None = None
    outcome: Literal["RUNNING", "PASS", "FAIL", "ABORTED"]
    category: Literal[tuple(c.value for c in Category)] | None = None
    failed_step_index: int | None = Field(None, ge=0, lt=2**31)
    failed_step_name: str | None = _fits(runs.c.failed_step_name, None)
    failed_step: str | None = None  # "<index> <name>": for people; read only in records before schema 3
    reason: str = ""
    firmware: str | None = _fits(runs.c.firmware, None)
    operator: str | None = _fits(runs.c.operator, None)
    harness_version: str | None = _fits(runs.c.harness_version, None)
    board_revision: str | None = _fits(runs.c.board_revision, None)
    design_commit: str | None = _fits(runs.c.design_commit, None)
    inject: str | None = _fits(runs.c.inject, None)
    marginal: bool = False
    supply_output_after: str | None = None
    steps: list[StepIn]
    telegrams: list[TelegramRow] = []



def check_record(record: Any) -> RecordIn:
    """The record validated, or :class:`RecordInvalid` naming the first key that is wrong."""
    try:
        return RecordIn.model_validate(record)
    except ValidationError as e:
        err, count = e.errors()[0], e.error_count()
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
    more = f" (and {count - 1} more)" if count > 1 else ""
    if not key:
        raise RecordInvalid(f"not a run record: a JSON object expected, got {type(err['input']).__name__}")
    if err["type"] == "missing":
        raise RecordInvalid(f"key '{key}': missing{more}")
    got = repr(err["input"])
    got = got if len(got) <= 60 else got[:59] + "…"
    msg = err["msg"].removeprefix("Value error, ")
    for pydantic_says, we_say in (("Input should be", "must be"), ("String should have", "must have")):
        msg = msg.replace(pydantic_says, we_say)
    raise RecordInvalid(f"key '{key}': {msg} (got {got}){more}")


def run_uuid(record: dict) -> str:
    """The record's run UUID (``run_id``, record schema 2); records written before runs carried one
    get a stable UUID made from serial, start time and station, so importing them again matches."""
    if record.get("run_id"):
        return str(uuid.UUID(str(record["run_id"])))
    key = f"{record.get('board_serial')}/{record.get('started')}/{record.get('station')}"
    return str(uuid.uuid5(_RECORD_NAMESPACE, key))


def _num(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return None if isinstance(v, float) and math.isnan(v) else float(v)


def _result_fields(rec: RecordIn) -> dict:
    """The run's category and failed step: the record's fields, or (a record before schema 3) read once
    from its text. A category that does not go with the outcome is refused."""
    if rec.schema_ < 3:
        fields = fields_from_text(rec.outcome, rec.failed_step, rec.reason)
        longest = runs.c.failed_step_name.type.length
        if len(fields["failed_step_name"] or "") > longest:
            raise RecordInvalid(f"key 'failed_step': its step name has more than {longest} characters")
        return fields
    allowed = {"PASS": ("pass",), "ABORTED": ("aborted",), "FAIL": ("fail", "station error")}[rec.outcome]
    if rec.category not in allowed:
        raise RecordInvalid(f"key 'category': must be {' or '.join(map(repr, allowed))} for outcome {rec.outcome}, "
                            f"not {rec.category!r}")
    return {"category": rec.category, "failed_step_index": rec.failed_step_index,
            "failed_step_name": rec.failed_step_name}


def rows_from_record(record: dict, path: str | Path) -> tuple[dict, list[dict], list[dict]]:
    """The run row, measurement rows and telegram rows for one record (a dict as read from its JSON),
    validated first: :class:`RecordInvalid` or :class:`RecordNotFinished` before any row exists."""
    rec = check_record(record)
    if rec.outcome == "RUNNING":
        raise RecordNotFinished(f"{path}: record not finished (outcome RUNNING)")
    run = {
        "run_uuid": run_uuid(record),
        "board_serial": rec.board_serial,
        **{key: getattr(rec, key) or "unknown"  # absent from older records (firmware: until step 1 answers)
           for key in ("station", "operator", "firmware", "harness_version", "board_revision", "design_commit")},
        "outcome": rec.outcome,
        **_result_fields(rec),
        "reason": rec.reason,
        "started": _utc(rec.started),
        "finished": _utc(rec.finished),
        "record_path": str(Path(path).resolve()),
        "inject": rec.inject,
    }
    ms = [{"step_index": step.index, "step": step.name, "name": m.name,
           "value": _num(m.value), "value_text": json.dumps(m.value), "unit": m.unit,
           "low": _num(m.low), "high": _num(m.high),
           "expect": None if m.expect is None else json.dumps(m.expect), "outcome": m.outcome}
          for step in rec.steps for m in step.measurements]
    # a record before schema 3 said a decoder limitation only in `decode` (read once)
    tgs = [{**t.model_dump(), "position": k,
            "decoder_limitation": t.decoder_limitation if rec.schema_ >= 3 else "decoder limitation" in t.decode}
           for k, t in enumerate(rec.telegrams)]
    return run, ms, tgs


def save(engine: Engine, record: dict, path: str | Path) -> bool:
    """Store one finished record (run, measurements and replayed telegrams in one transaction). False:
    already stored."""
    run, ms, tgs = rows_from_record(record, path)
    with _writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        # the run row, unless its run UUID is there already
        run_id = conn.execute(dialect_insert(runs).values(**run).on_conflict_do_nothing(index_elements=["run_uuid"])
                              .returning(runs.c.id)).scalar()
        if run_id is None:
            return False
        for table, rows in ((measurements, ms), (telegrams, tgs)):
            if rows:
                conn.execute(insert(table), [dict(row, run_id=run_id) for row in rows])
    return True


def save_file(engine: Engine, path: str | Path) -> bool:
    return save(engine, json.loads(Path(path).read_text(encoding="utf-8")), path)


# ---------------------------------------------------------------- import
@dataclass
class ImportResult:
    added: int = 0
    already: int = 0
    unfinished: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)  # "path: why" — unreadable or of the wrong shape: skipped


def record_files(records_dir: str | Path) -> list[Path]:
    """Run records under a records directory: ``<serial>/<time>.json``."""
    return sorted(p for p in Path(records_dir).glob("*/*.json") if not p.name.startswith("."))


def _why_bad(e: Exception) -> str:
    if isinstance(e, json.JSONDecodeError):
        return f"not valid JSON ({e})"
    if isinstance(e, UnicodeDecodeError):
        return f"not UTF-8 text (byte {e.start})"
    if isinstance(e, OSError):
        return f"cannot read: {e.strerror or e}"
    if isinstance(e, DataError):  # what the schema cannot see, e.g. a NUL character PostgreSQL refuses
        return f"the database refused a value: {first_line(e)}"
    return str(e)


def import_records(engine: Engine, files: Iterable[Path],
                   progress: Callable[[int, int], None] = lambda done, total: None) -> ImportResult:
    """Each file read and validated before a row of it is written; a bad one is skipped (named in
    :attr:`ImportResult.bad`) and the rest imported. A database that fails (not a record) raises."""
    files = list(files)
    res = ImportResult()
    for i, p in enumerate(files, 1):
        try:
            if save_file(engine, p):
                res.added += 1
            else:
                res.already += 1
        except RecordNotFinished:
            res.unfinished.append(str(p))
        except (OSError, ValueError, DataError) as e:  # RecordInvalid and JSONDecodeError are ValueErrors
            res.bad.append(f"{p}: {_why_bad(e)}")
        progress(i, len(files))
    return res


# ---------------------------------------------------------------- reading back
@dataclass
class StoredMeasurement:
    step_index: int
    step: str
    name: str
    value: float | None
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
    outcome: str
    category: Category
    failed_step_index: int | None
    failed_step_name: str | None
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
            row = {k: r[k] for k in StoredRun.__dataclass_fields__ if k != "measurements"}
            by_id[r["id"]] = StoredRun(**{**row, "category": Category(r["category"])})
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
