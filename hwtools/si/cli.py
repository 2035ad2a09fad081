"""`p1reader si` — simulate the P1 input over corners and Monte Carlo.

Prints each figure against its limit, or with --json the worst case as one JSON object.
Exit codes: 0 every limit met, 1 a limit broken, 2 an error (ngspice missing, circuit unreadable, an unknown
part in --set, a --fab folder that cannot be written); anything else is a bug (`p1reader`: exit 3).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import HwtoolsError


def main(argv=None, prog: str = "p1reader si") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the worst case as JSON on stdout")
    parser.add_argument("--quick", action="store_true", help="corners + 20 Monte Carlo runs (default 200)")
    parser.add_argument("--mc", type=int, help="number of Monte Carlo runs")
    parser.add_argument("--workers", type=int, default=2, help="parallel ngspice processes (default 2)")
    parser.add_argument("--set", action="append", default=[], metavar="REF=VALUE",
                        help='what-if part value, e.g. --set "R2=47 kOhm" (repeatable)')
    parser.add_argument("--fab", type=Path, metavar="DIR", help="also write the eye PNG and the table into DIR")
    args = parser.parse_args(argv)
    err = (lambda m: print(m, file=sys.stderr, flush=True))
    try:
        values = dict(s.split("=", 1) for s in args.set)
    except ValueError:
        err(f"ERROR: --set wants REF=VALUE, got {args.set}")
        return 2
    start = time.monotonic()
    try:
        from ..circuit import build_board
        from .sweep import analyse

        board = build_board(values)
        mc = args.mc if args.mc is not None else (20 if args.quick else None)
        report = analyse(board, mc_runs=mc, workers=args.workers, log=err)
        if args.fab:
            from .report import fab

            try:
                for path in fab(args.fab, report):
                    err(f"wrote {path}")
            except OSError as e:
                raise HwtoolsError(f"--fab {args.fab}: {e.strerror or e}") from e
    except HwtoolsError as e:
        err(f"ERROR: {e}")
        return 2
    if args.json:
        print(json.dumps(report.summary(), indent=2))
    else:
        for r in report.results:
            print(f"  {r}")
        print(f"{len(report.runs)} cases in {time.monotonic() - start:.1f} s: {'PASS' if report.passed else 'FAIL'}")
    return 0 if report.passed else 1
