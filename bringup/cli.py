"""``p1reader bringup run|import|report|limits`` (bringup/README.md, "Running"). Thin: parses arguments, prints
progress per step, ends with one line ``PASS|FAIL|ABORTED <serial> <record>``. Exit status: 0 PASS, 1 FAIL
or ABORTED, 2 station or usage error (also: the record could not be written).
"""
from __future__ import annotations

import argparse
import sys

from meter import capture
from meter.flavours import PROFILES

from . import cli_batch
from .interrupts import guard
from .record import RecordError, check_serial
from .sim.faults import FAULTS

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _progress(kind: str, res) -> None:
    from .steps import STEPS

    if kind == "start":
        print(f"[{res.index}/{len(STEPS)}] {res.title} …", flush=True)
        return
    if kind == "note":  # a long step's progress line
        print(f"      {res}", flush=True)
        return
    print(f"[{res.index}/{len(STEPS)}] {res.title}: {res.outcome.value} ({res.duration_s:.2f} s)", flush=True)
    for m in res.measurements:
        if m.outcome.value != "PASS":
            print(f"      {m.outcome.value}: {m.describe()}", flush=True)
    if res.error:
        print(f"      {res.error}", flush=True)


def _default_operator() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _parser(prog: str) -> argparse.ArgumentParser:
    # argparse's own usage errors: the usage and one line, exit 2 (EXIT_USAGE)
    ap = argparse.ArgumentParser(prog=prog, description="Bring-up station for the p1reader board.")
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the bring-up sequence on one board")
    r.add_argument("--station", required=True, help="station YAML file, or 'sim' for the simulated bench")
    r.add_argument("--board-serial", required=True, help="serial number of the board under test")
    r.add_argument("--records", default="records", help="records directory (default: ./records)")
    r.add_argument("--inject", choices=FAULTS, help="fault to inject (simulated station only)")
    r.add_argument("--telegrams", action="append", default=[], metavar="PATH",
                   help="real telegrams to replay in step 4: a file (one telegram or a raw capture) or a "
                        "folder of them; repeatable (adds to the station's telegrams:)")
    cli_batch.add_max_telegram_bytes(r)
    r.add_argument("--profile", choices=PROFILES, help="decode every replayed telegram with this dsmr_parser "
                   "specification instead of detecting the flavour per telegram")
    r.add_argument("--db", help="results database URL (default: sqlite:///<records>/p1reader.db)")
    r.add_argument("--operator", default=_default_operator(), help="who runs the bench (default: login name)")
    cli_batch.add_commands(sub)
    return ap


@guard  # Ctrl-C / SIGTERM before the run: one line, exit 1 (bringup/interrupts.py)
def main(argv: list[str] | None = None, prog: str = "p1reader bringup") -> int:
    a = _parser(prog).parse_args(argv)
    return _run(a) if a.command == "run" else cli_batch.main(a)


def _checked_station(a):
    """(station, plan) for ``run``, checked before anything else happens — the serial, the station file,
    the replay inputs (read and framed once, into the plan), the run's time and memory — or None after
    printing the station error."""
    from . import plan, station

    try:
        check_serial(a.board_serial)
        st = station.resolve(a.station)
        if a.inject and st.kind != "sim":
            raise station.StationError("--inject needs a simulated station (kind: sim)", st.source, "kind")
        # a copy with the --telegrams paths added and the --profile forced
        st = st.model_copy(update={"telegrams": st.telegrams + capture.absolute(a.telegrams),
                                   "profile": a.profile or st.profile})
        return st, plan.check(st, a.max_telegram_bytes)
    except (station.StationError, RecordError, capture.CaptureError) as e:
        print(f"station error: {e}", file=sys.stderr)
        return None


def _run(a) -> int:
    from . import runner
    from .provenance import provenance

    checked = _checked_station(a)
    if checked is None:
        return EXIT_USAGE
    st, estimate = checked
    go_on, db = cli_batch.prepare_run(a.records, a.board_serial, a.db)  # records folder, then database
    if not go_on:
        return EXIT_USAGE
    print(f"p1reader bring-up: board {a.board_serial}, station {st.name} ({st.source}), {estimate.summary()}"
          + (f", injecting {a.inject}" if a.inject else ""), flush=True)
    try:
        result = runner.run(st, a.board_serial, a.records, inject=a.inject, progress=_progress,
                            meta={"operator": a.operator, **provenance()}, hold_signals=True, plan=estimate)
    except OSError as e:  # the record could not be created: nothing was powered
        print(f"station error: records folder {a.records}: {e}", file=sys.stderr)
        return EXIT_USAGE
    return _finish(a.board_serial, result, db)


def _finish(board_serial: str, result, db) -> int:
    """After the run: the supply state, what went wrong where, the record into the store, the final line."""
    if result.supply_output_after not in ("OFF", "not opened"):
        print(f"WARNING: supply output state after the run: {result.supply_output_after} — switch it off by hand",
              flush=True)
    else:
        print(f"supply output after the run: {result.supply_output_after}", flush=True)
    setup_failed = result.failed is not None and result.failed.name == "setup"  # the bench could not start
    if setup_failed:
        print(f"station error: {result.failed.error}", file=sys.stderr)
    if result.aborted:  # the one line a signal gives, as before the run (bringup/interrupts.py)
        print(f"{result.failed.error} in step {result.failed.index} {result.failed.name}: supply output "
              f"{result.supply_output_after}, record {result.record_path}", file=sys.stderr)
    if cli_batch.say_what_is_on_disk(result):  # the store is filled from the record, never instead of it
        cli_batch.store_run(db, result.record_path)
    tail = ""
    if result.failed is not None:
        tail = f" — step {result.failed.index} {result.failed.name}: {result.failed.reason()}"
    print(f"{result.verdict} {board_serial} {result.record_path}{tail}", flush=True)
    if result.record_error or setup_failed:
        return EXIT_USAGE  # the station could not do its job (no record; the bench could not start)
    return EXIT_PASS if result.passed else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
