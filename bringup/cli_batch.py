"""The batch commands of ``p1reader bringup`` — ``import``, ``report``, ``limits`` — and the hooks of ``run``
around its record and the results store (records folder checked before the database, what is on disk after
the run). Errors name what and where, exit 2, no traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from meter.capture import DEFAULT_MAX_BYTES, CaptureError

from . import yield_report
from .record import check_folder, side_files
from .store import (StoreError, connect, default_url, display_url, first_line, import_records, load_runs,
                    record_files, save_file)

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


def _with_store(url: str, work, read_only: bool = False, stopped: str = ""):
    """``work(engine)`` on the store at `url`, or None after printing why the database cannot be used
    (`stopped` follows a database failure while working)."""
    try:
        engine = connect(url, read_only=read_only)
    except StoreError as e:
        print(f"database error: {e}", file=sys.stderr)
        return None
    except OSError as e:
        print(f"database error: {display_url(url)}: {e.strerror or e}", file=sys.stderr)
        return None
    try:
        return work(engine)
    except SQLAlchemyError as e:
        print(f"database error: {display_url(url)}: {type(e).__name__}: {first_line(e)}{stopped}", file=sys.stderr)
        return None
    finally:
        engine.dispose()


def prepare_run(records: str, board_serial: str, db_url: str | None):
    """Before a run, in this order: the records folder (a record must be writable, or the run does not
    start), then the database. (go on?, engine): a wrong URL stops the run before anything is powered;
    a database that cannot be reached now only warns — the record is the first thing written and can
    be imported later."""
    try:
        check_folder(records, board_serial)
    except OSError as e:
        print(f"station error: {e.strerror or e}", file=sys.stderr)
        return False, None
    try:
        return True, connect(db_url or default_url(records))
    except StoreError as e:
        if e.bad_url:
            print(f"database error: {e}", file=sys.stderr)
            return False, None
        print(f"WARNING: {e} — the run goes on and its record is kept; load it later with "
              f"`p1reader bringup import RECORDS_DIR --db URL`", flush=True)
        return True, None


def say_what_is_on_disk(result) -> bool:
    """After a run: which of its files could not be written, exactly. True when the JSON record on disk
    holds the verdict (the store is filled from it, never instead of it)."""
    try:  # the record says RUNNING until its verdict is written
        complete = json.loads(Path(result.record_path).read_text(encoding="utf-8")).get("outcome") == result.verdict
    except (OSError, ValueError, AttributeError):
        complete = False
    if not result.record_error:
        return complete
    if complete:
        missing = [p.name for p in side_files(result.record_path).values() if not p.exists()]
        print(f"NOT WRITTEN: {', '.join(missing)} ({result.record_error}) — the record {result.record_path} "
              f"is complete: the verdict below is on disk", flush=True)
    else:
        print(f"RECORD NOT WRITTEN: {result.record_error} — the verdict below is not on disk "
              f"({Path(result.record_path).name} stays RUNNING; no HTML or JUnit report was written)", flush=True)
    print(f"station error: not written: {result.record_error}", file=sys.stderr)
    return complete


def store_run(engine, record_path: str) -> None:
    """After a run: its record into the store (none: the database could not be reached before the run). A
    failure loses nothing (the record is on disk) and says how to load it later."""
    if engine is None:
        return
    try:
        save_file(engine, record_path)
        print(f"results database: run stored ({display_url(str(engine.url))})", flush=True)
    except (SQLAlchemyError, OSError, ValueError) as e:
        print(f"WARNING: results database {display_url(str(engine.url))}: run not stored "
              f"({type(e).__name__}: {str(e).splitlines()[0]}); the record is kept — load it later with "
              f"`p1reader bringup import {Path(record_path).parent.parent} --db URL`", flush=True)
    finally:
        engine.dispose()


def main(a) -> int:
    return {"import": _import, "report": _report, "limits": _limits}[a.command](a)


def _import(a) -> int:
    root = Path(a.records_dir)
    if not root.is_dir():
        print(f"import error: records directory {root}: not a directory", file=sys.stderr)
        return EXIT_USAGE
    files = record_files(root)
    # a database that fails (not a record) stops the import: what is stored stays stored
    res = _with_store(a.db or default_url(root),
                      lambda engine: import_records(engine, files, _progress("reading records")),
                      stopped=" — import stopped; run it again (nothing is added twice)")
    if res is None:
        return EXIT_USAGE
    for line in res.bad:
        print(f"skipped (bad record): {line}", file=sys.stderr)
    for p in res.unfinished:
        print(f"skipped (run not finished): {p}", file=sys.stderr)
    print(f"import: {len(files)} records: {res.added} imported, {len(res.bad)} skipped as bad, "
          f"{len(res.unfinished)} unfinished, {res.already} already stored")
    return EXIT_OK


def _report(a) -> int:
    folder = Path(a.output).parent
    if not folder.is_dir():  # never create folders where a path was mistyped
        print(f"report error: {a.output}: folder {folder} does not exist", file=sys.stderr)
        return EXIT_USAGE
    url = a.db or default_url("records")
    # read-only: a report writes nothing into the database, not even a migration
    runs = _with_store(url, lambda engine: load_runs(engine, _progress("reading runs (rows)")), read_only=True)
    if runs is None:
        return EXIT_USAGE
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
        estimate = plan.check(st, a.max_telegram_bytes)  # the captures read and framed once, here
    except (station.StationError, CaptureError) as e:
        print(f"station error: {e}", file=sys.stderr)
        return EXIT_USAGE
    print(format_table(table(st, estimate.captures), f"{st.name} ({st.source})"))
    print(f"a run takes {estimate.summary()} (a good board; a failing one may wait out its timeouts)")
    return EXIT_OK
