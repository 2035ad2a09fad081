"""`python -m hwtools.enclosure.build BOARD.json OUT [options]`: the CAD process — case, fit check, files.

Reads what `board_read` printed, builds base and lid, checks the fit and printability, and (unless --no-files)
writes the STEP and STL files, the two pictures and the report into OUT. Never imports pcbnew (see board_read).
--check-board / --check-facts: check the case built from BOARD.json against another board or parts table (the
mutation tests: a case made for one board, checked against a changed one). Exit 0 every check passed, 1 a check
failed (the lines say which), 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..facts import load_facts
from .model import EnclosureError, load

PARTS = ("base", "lid")


def files(prefix: str) -> tuple[str, ...]:
    """What a build writes into its folder: the records of hwtools/outputs.py but the manifest (added by `make`)."""
    from ..outputs import ENCLOSURE_OUTPUTS, MANIFEST

    return tuple(o.name.format(n=prefix) for o in ENCLOSURE_OUTPUTS if o.name != MANIFEST)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hwtools.enclosure.build", description=__doc__.splitlines()[0])
    p.add_argument("board", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--prefix", default="p1reader")
    p.add_argument("--title", default="p1reader")
    p.add_argument("--min-clearance", type=float)
    p.add_argument("--facts", type=Path, help="the parts table to build from (default: hwtools/parts.toml)")
    p.add_argument("--check-board", type=Path)
    p.add_argument("--check-facts", type=Path)
    p.add_argument("--no-files", action="store_true")
    return p


def report(title: str, results, prints) -> str:
    lines = [f"# {title}: the case's fit check", "",
             "Made by `make fab` (hwtools/enclosure); mech/README.md says how to print and assemble it.", "",
             "| check | part | result |", "| --- | --- | --- |"]
    lines += [f"| {r.check} | {r.part} | {'PASS' if r.passed else 'FAIL'}: {r.text} |" for r in results + prints]
    return "\n".join(lines) + "\n"


def run(args) -> int:
    from . import case, fit, printing, solids

    board = load(json.loads(args.board.read_text(encoding="utf-8")), load_facts(args.facts) if args.facts else None)
    d = case.design(board)
    base, lid = case.solids(board, d)
    checked = board
    if args.check_board or args.check_facts:
        facts = load_facts(args.check_facts) if args.check_facts else None
        checked = load(json.loads((args.check_board or args.board).read_text(encoding="utf-8")), facts)
    results = fit.check(checked, d, base, lid, args.min_clearance)
    prints = []
    if not args.no_files:
        args.out.mkdir(parents=True, exist_ok=True)
        cfg = board.config["enclosure"]
        for name, shape in zip(PARTS, (base, lid)):
            solids.write_step(shape, args.out / f"{args.prefix}-{name}.step", f"{args.prefix}-{name}")
            solids.write_stl(shape, args.out / f"{args.prefix}-{name}.stl", cfg["mesh_deflection_mm"],
                             cfg["mesh_angle_rad"])
        prints = printing.check(args.out, args.prefix, cfg)
        from . import render

        render.pictures(board, d, args.out, args.prefix, args.title)
        (args.out / f"{args.prefix}-fit.md").write_text(report(args.title, results, prints), encoding="utf-8")
        figures = [r.as_json() for r in results + prints]  # for the revision review and other readers
        (args.out / f"{args.prefix}-fit.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n",
                                                         encoding="utf-8")
    for r in results + prints:
        print(r, flush=True)
    return 0 if all(r.passed for r in results + prints) else 1


def main(argv) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except EnclosureError as e:  # names the part: the caller adds the board
        print(e, file=sys.stderr)
        return 2
    except (OSError, json.JSONDecodeError, KeyError) as e:
        print(f"{args.board}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
