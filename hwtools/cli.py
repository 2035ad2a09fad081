"""`p1reader fab|check|generate` — a thin command line over the pipeline (hwtools/pipeline.py).

Prints one line per step with its time. Exit 1: a check failed; 2: a known error (`HwtoolsError`, a syntax error
in the circuit code, an incomplete environment) in one line; anything else is a bug for `p1reader` (exit 3).
"""

import argparse
import sys
import time
import traceback
from pathlib import Path

from . import project
from .errors import HwtoolsError
from .pipeline import CheckFailed, check_rules, check_si, rel
from .variant import SUBFOLDERS, VARIANTS, get as get_variant

UNTOUCHED = "nothing was replaced: kicad/, gerbers/ and mech/ are as they were"


def _where(e: BaseException) -> str:
    """file:line of the innermost frame inside the repository (else the innermost at all)."""
    frames = traceback.extract_tb(e.__traceback__)
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(project.ROOT)] or frames
    if not ours:
        return "?"
    return f"{rel(Path(ours[-1].filename).resolve())}:{ours[-1].lineno}"


def error_message(e: BaseException) -> str | None:
    """The one line for an error a user can act on; None for a bug."""
    if isinstance(e, SyntaxError):  # the circuit is code the user edits
        return f"{rel(Path(e.filename or '?').resolve())}:{e.lineno}: {type(e).__name__}: {e.msg}"
    if isinstance(e, ImportError):
        return f"{e} (at {_where(e)}): is the environment complete? run `make setup`"
    if isinstance(e, HwtoolsError):
        return str(e)
    return None


def _check(variant, kicad_dir: Path, log):
    """ERC, DRC, rules and SI on committed files: kicad-cli works on a copy, kicad/ is never written."""
    import shutil

    from . import procs, routed
    from .circuit import build_board
    from .generate import check_drc, check_erc

    if not (kicad_dir / f"{project.NAME}.kicad_sch").is_file():
        raise HwtoolsError(f"{kicad_dir}/{project.NAME}.kicad_sch not found: no KiCad project in {kicad_dir}")
    with procs.temp_dir("check") as tmp:
        copy = tmp / "kicad"
        shutil.copytree(kicad_dir, copy, ignore=shutil.ignore_patterns(*SUBFOLDERS))
        t = time.monotonic()
        report = check_erc(copy)  # raises with every active violation listed
        n = sum(len(s.get("violations", [])) for s in report.get("sheets", []))
        log(f"[{variant}: ERC (kicad-cli)] 0 errors, 0 warnings ({n} excluded) in {time.monotonic() - t:.1f} s")
        t = time.monotonic()
        report = check_drc(copy)
        log(f"[{variant}: DRC with schematic parity (kicad-cli)] 0 violations, "
            f"{len(report.get('unconnected_items', []))} unconnected, {len(report.get('schematic_parity', []))} "
            f"parity problems (rules: {kicad_dir}/{project.NAME}.kicad_dru) in {time.monotonic() - t:.1f} s")
    board = build_board(lib_dir=kicad_dir / "lib", variant=variant)
    check_rules(board, log, routed.read(kicad_dir / f"{project.NAME}.kicad_pcb"))
    if variant.simulates_si:
        check_si(board, log)


def check_json(variants, out) -> bool:
    """`check --json`: every figure of every rule, one JSON object per line; True if all pass."""
    import json

    from . import routed
    from .circuit import build_board
    from .rules import check

    ok = True
    for variant in variants:
        board_file = variant.kicad_dir / f"{project.NAME}.kicad_pcb"
        for result in check(build_board(variant=variant), routed=routed.read(board_file)):
            out.write(json.dumps(result.as_json(variant.name), ensure_ascii=False) + "\n")
            ok &= bool(result.passed)
    return ok


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["fab", "check", "generate"],
                        help="fab: regenerate, check and export (skips steps whose inputs did not change); "
                             "check: ERC, DRC, P1 rules and signal integrity on the committed files; "
                             "generate: regenerate kicad/ only")
    parser.add_argument("--variant", choices=["all", *VARIANTS], default="all",
                        help="board variant: p1 (the proven board), p1s1 (with the S1 port), all (default)")
    parser.add_argument("--kicad-dir", type=Path, help="check only: the project folder to check (one variant; "
                        "default kicad/[p1s1/])")
    parser.add_argument("--out", type=Path, help="fab/generate only: write kicad/ and gerbers/ under this folder "
                        "instead of the repository (every step runs, nothing is recorded)")
    parser.add_argument("--force", action="store_true", help="run every step, even those recorded as current")
    parser.add_argument("--json", action="store_true",
                        help="check only: the P1/S1 design rules as one JSON object per line and figure")
    return parser


def _run(args, variants, log):
    if args.json:
        return check_json(variants, sys.stdout)
    if args.out:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise HwtoolsError(f"--out {args.out}: {e.strerror or e}") from e
    from .staging import recover

    recovered = recover()
    if recovered:
        log(recovered)
    if args.command == "check":
        for v in variants:
            _check(v, Path(args.kicad_dir or v.kicad_dir).absolute(), log)
        return True
    from .pipeline import fab

    changed = fab(variants, log, force=args.force, root=args.out, only_generate=args.command == "generate")
    log(f"{len(changed)} file(s) changed" + (":\n  " + "\n  ".join(changed) if changed else ""))
    return True


def main(argv=None, prog: str = "p1reader") -> int:
    parser = _parser(prog)
    args = parser.parse_args(argv)
    variants = list(VARIANTS.values()) if args.variant == "all" else [get_variant(args.variant)]
    if args.json and args.command != "check":
        parser.error("--json goes with check")
    if args.kicad_dir and (args.command != "check" or len(variants) > 1):
        parser.error("--kicad-dir goes with check and a single --variant")
    if args.out and args.command == "check":
        parser.error("--out goes with fab or generate")
    start = time.monotonic()
    untouched = "" if args.command == "check" else f" — {UNTOUCHED}"
    try:
        if not _run(args, variants, log=lambda m: print(m, flush=True)):
            return 1  # check --json: a figure failed (the lines say which)
    except KeyboardInterrupt:
        print(f"interrupted{untouched} (files are renamed into place only when every step passed)",
              file=sys.stderr)
        return 130
    except CheckFailed as e:
        print(f"FAIL: {e}{untouched}", file=sys.stderr)
        return 1
    except Exception as e:
        message = error_message(e)
        if message is None:
            raise  # a bug: `p1reader` shows the traceback (exit 3)
        print(f"ERROR: {message}{untouched}", file=sys.stderr)
        return 2
    if not args.json:
        print(f"{args.command}: OK in {time.monotonic() - start:.1f} s")
    return 0
