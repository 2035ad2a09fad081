"""``p1reader-bringup run --station <station.yaml | sim> --board-serial <SN> [--records DIR] [--inject <fault>]
[--telegrams PATH …] [--profile NAME] [--db URL] [--operator NAME]``

Thin: parses arguments, prints progress per step, ends with one line ``PASS|FAIL|ABORTED <serial> <record>``.
Exit status: 0 PASS, 1 FAIL or ABORTED, 2 station or usage error (also: the record could not be written).

Also ``import RECORDS_DIR --db URL`` (older records into the results store), ``report --db URL -o
yield.html`` (the batch page) and ``limits [--station FILE]`` (the limits table, before a board).
"""
from __future__ import annotations

import argparse
import sys

from .interrupts import guard

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 on usage errors, which is what we want
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


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


@guard  # Ctrl-C / SIGTERM before the run: one line, exit 1 (bringup/interrupts.py)
def main(argv: list[str] | None = None) -> int:
    from . import cli_batch
    from meter.flavours import PROFILES
    from .sim.faults import FAULTS

    ap = _Parser(prog="p1reader-bringup", description="Bring-up station for the p1reader board.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
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
    a = ap.parse_args(argv)
    if a.command != "run":
        return cli_batch.main(a)

    from meter import capture

    from . import plan, runner, station
    from .record import RecordError, check_serial

    try:
        check_serial(a.board_serial)
        st = station.resolve(a.station)
        if a.inject and st.kind != "sim":
            raise station.StationError("--inject needs a simulated station (kind: sim)", st.source, "kind")
        st = st.with_replay(capture.absolute(a.telegrams), a.profile)
        estimate = plan.check(st, a.max_telegram_bytes)  # replay inputs, the run's time and memory: now
    except (station.StationError, RecordError, capture.CaptureError) as e:
        print(f"station error: {e}", file=sys.stderr)
        return EXIT_USAGE
    go_on, db = cli_batch.prepare_run(a.records, a.board_serial, a.db)  # records folder, then database
    if not go_on:
        return EXIT_USAGE

    print(f"p1reader bring-up: board {a.board_serial}, station {st.name} ({st.source}), {estimate.summary()}"
          + (f", injecting {a.inject}" if a.inject else ""), flush=True)
    try:
        result = runner.run(st, a.board_serial, a.records, inject=a.inject, progress=_progress,
                            meta={"operator": a.operator, **cli_batch.provenance()}, hold_signals=True)
    except OSError as e:  # the record could not be created: nothing was powered
        print(f"station error: records folder {a.records}: {e}", file=sys.stderr)
        return EXIT_USAGE
    if result.supply_output_after not in ("OFF", "not opened"):
        print(f"WARNING: supply output state after the run: {result.supply_output_after} — switch it off by hand",
              flush=True)
    else:
        print(f"supply output after the run: {result.supply_output_after}", flush=True)
    if result.failed is not None and result.failed.name == "setup":
        print(f"station error: {result.failed.error}", file=sys.stderr)
    if result.aborted:  # the one line a signal gives, as before the run (bringup/interrupts.py)
        print(f"{result.failed.error} in step {result.failed.index} {result.failed.name}: supply output "
              f"{result.supply_output_after}, record {result.record_path}", file=sys.stderr)
    if cli_batch.say_what_is_on_disk(result):  # the store is filled from the record, never instead of it
        cli_batch.store_run(db, result.record_path)
    tail = ""
    if result.failed is not None:
        tail = f" — step {result.failed.index} {result.failed.name}: {result.failed.reason()}"
    print(f"{result.verdict} {a.board_serial} {result.record_path}{tail}", flush=True)
    if result.record_error or (result.failed is not None and result.failed.name == "setup"):
        return EXIT_USAGE  # the station could not do its job (no record; the bench could not start)
    return EXIT_PASS if result.passed else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
