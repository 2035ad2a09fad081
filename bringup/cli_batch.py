"""The batch commands of ``p1reader-bringup`` (thin, like ``cli.py``):

``import RECORDS_DIR [--db URL]``   load run records into the results store (again: adds nothing)
``report [--db URL] -o yield.html`` the batch page from the store
``limits [--station FILE]``         print every measurement each step records, with unit and limits

and the results-store hooks of ``run``. Errors name what and where, exit 2, no traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .provenance import provenance  # noqa: F401  (re-exported for cli.run)
from .store import default_url

EXIT_OK, EXIT_USAGE = 0, 2


def add_commands(sub) -> None:
    i = sub.add_parser("import", help="load run records into the results database (idempotent)")
    i.add_argument("records_dir", metavar="RECORDS_DIR", help="records directory (<serial>/<time>.json)")
    i.add_argument("--db", help="database URL (default: sqlite:///<RECORDS_DIR>/p1reader.db)")

    r = sub.add_parser("report", help="write the batch yield page from the results database")
    r.add_argument("--db", help="database URL (default: sqlite:///records/p1reader.db)")
    r.add_argument("-o", "--output", default="yield.html", help="HTML file to write (default: yield.html)")

    lim = sub.add_parser("limits", help="print the limits table: every measurement, unit and limits")
    lim.add_argument("--station", default="sim", help="station YAML file, or 'sim' (default)")
    add_max_telegram_bytes(lim)


def add_max_telegram_bytes(parser) -> None:
    """``--max-telegram-bytes N`` (run, limits): how much of the replay inputs one run may send."""
    from .replay import DEFAULT_MAX_BYTES

    def positive(text: str) -> int:
        if not text.isdigit() or int(text) == 0:
            raise argparse.ArgumentTypeError(f"must be a whole number of bytes > 0, not {text!r}")
        return int(text)

    parser.add_argument("--max-telegram-bytes", type=positive, default=DEFAULT_MAX_BYTES, metavar="N",
                        help=f"most bytes of telegram files one run replays (default {DEFAULT_MAX_BYTES:,}: "
                             f"about 6 min at line rate)")


def _progress(what: str):
    """A progress line on stderr: rewritten in place on a terminal, every 10 % otherwise."""
    tty = sys.stderr.isatty()
    last = [-1]

    def show(done: int, total: int) -> None:
        if tty:
            print(f"\r{what}: {done}/{total}", end="\n" if done >= total else "", file=sys.stderr, flush=True)
            return
        tenth = 10 * done // total if total else 10
        if tenth != last[0]:
            last[0] = tenth
            print(f"{what}: {done}/{total}", file=sys.stderr, flush=True)

    return show


def open_store(url: str):
    """The store's engine, or None after printing why it cannot be used."""
    from .store import StoreError, connect, display_url

    try:
        return connect(url)
    except StoreError as e:
        print(f"database error: {e}", file=sys.stderr)
    except OSError as e:
        print(f"database error: {display_url(url)}: {e}", file=sys.stderr)
    return None


def open_store_for_run(url: str):
    """Before a run: (go on?, engine). A wrong URL stops the run before anything is powered; a
    database that cannot be reached now only warns — the record is the first thing written and can be
    imported later."""
    from .store import StoreError, connect

    try:
        return True, connect(url)
    except StoreError as e:
        if e.bad_url:
            print(f"database error: {e}", file=sys.stderr)
            return False, None
        print(f"WARNING: {e} — the run goes on and its record is kept; load it later with "
              f"`p1reader-bringup import RECORDS_DIR --db URL`", flush=True)
        return True, None


def store_run(engine, record_path: str) -> bool:
    """After a run: its record into the store. A failure loses nothing (the record is on disk) and
    says how to load it later."""
    from sqlalchemy.exc import SQLAlchemyError

    from .store import display_url, save_file

    if engine is None:
        return False
    try:
        save_file(engine, record_path)
        print(f"results database: run stored ({display_url(str(engine.url))})", flush=True)
        return True
    except (SQLAlchemyError, OSError, ValueError) as e:
        print(f"WARNING: results database {display_url(str(engine.url))}: run not stored "
              f"({type(e).__name__}: {str(e).splitlines()[0]}); the record is kept — load it later with "
              f"`p1reader-bringup import {Path(record_path).parent.parent} --db URL`", flush=True)
        return False
    finally:
        engine.dispose()


def _missing_sqlite_file(url: str) -> str | None:
    """A report must not create an empty SQLite file where the user mistyped a path."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        u = make_url(url)
    except ArgumentError:
        return None  # connect() names the bad URL
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:" and not Path(u.database).exists():
        return u.database
    return None


def main(a) -> int:
    return {"import": _import, "report": _report, "limits": _limits}[a.command](a)


def _import(a) -> int:
    from .store import import_records, record_files

    root = Path(a.records_dir)
    if not root.is_dir():
        print(f"import error: records directory {root}: not a directory", file=sys.stderr)
        return EXIT_USAGE
    engine = open_store(a.db or default_url(root))
    if engine is None:
        return EXIT_USAGE
    files = record_files(root)
    res = import_records(engine, files, _progress("reading records"))
    engine.dispose()
    for line in res.unreadable:
        print(f"skipped (unreadable): {line}", file=sys.stderr)
    for p in res.unfinished:
        print(f"skipped (run not finished): {p}", file=sys.stderr)
    print(f"import: {len(files)} records, {res.added} added, {res.already} already stored, "
          f"{len(res.unfinished)} unfinished, {len(res.unreadable)} unreadable")
    return EXIT_OK


def _report(a) -> int:
    from . import yield_report
    from .store import display_url, load_runs

    url = a.db or default_url("records")
    missing = _missing_sqlite_file(url)
    if missing:
        print(f"report error: no database at {missing} (give --db, or run `import RECORDS_DIR` first)",
              file=sys.stderr)
        return EXIT_USAGE
    engine = open_store(url)
    if engine is None:
        return EXIT_USAGE
    runs = load_runs(engine, _progress("reading runs (rows)"))
    engine.dispose()
    summary = yield_report.summarize(runs)
    try:
        out = yield_report.write(summary, a.output, display_url(url))
    except OSError as e:
        print(f"report error: {a.output}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    fp = summary.first_pass_yield
    print(f"report: {summary.runs} runs, {len(summary.serials)} boards, first-pass yield "
          f"{'—' if fp is None else f'{100 * fp:.1f} %'} → {out}")
    return EXIT_OK


def _limits(a) -> int:
    from . import plan, station
    from .limits import format_table, table

    try:
        st = station.resolve(a.station)
        estimate = plan.check(st, a.max_telegram_bytes)
    except station.StationError as e:  # replay.ReplayError is one
        print(f"station error: {e}", file=sys.stderr)
        return EXIT_USAGE
    print(format_table(table(st), f"{st.name} ({st.source})"))
    print(f"a run takes {estimate.summary()} (a good board; a failing one may wait out its timeouts)")
    return EXIT_OK
