"""`python -m hwtools fab|check|generate` — a thin command line over the pure modules.

Prints one line per step with its time, maps errors to exit codes: 0 ok, 1 a check failed,
2 a bad input (circuit, library, tool).
"""

import argparse
import sys
import time
from pathlib import Path

from . import kicad_cli, project


class CheckFailed(Exception):
    pass


def _rel(path):
    path = Path(path).resolve()
    return f"{path.relative_to(project.ROOT)}/" if path.is_relative_to(project.ROOT) else str(path)


def _step(title, func, *args):
    start = time.monotonic()
    print(f"[{title}] ...", flush=True)
    result = func(*args)
    print(f"[{title}] done in {time.monotonic() - start:.1f} s", flush=True)
    return result


def _generate(out_dir, variant):
    from .generate import generate

    changed = generate(out_dir, log=lambda m: print(m, flush=True), variant=variant)
    print(f"  {len(changed)} file(s) changed" + (": " + ", ".join(changed) if changed else ""))


def _in_copy(kicad_dir, check):
    """kicad-cli rewrites the project file and drops reports beside it: check a copy, never kicad/ itself."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="p1reader-check-") as tmp:
        copy = Path(tmp) / "kicad"
        shutil.copytree(kicad_dir, copy)
        return check(copy)  # raises with every active violation listed


def _erc(kicad_dir):
    from .generate import check_erc

    report = _in_copy(kicad_dir, check_erc)
    n = sum(len(s.get("violations", [])) for s in report.get("sheets", []))
    print(f"  ERC: 0 errors, 0 warnings ({n} excluded)")


def _drc(kicad_dir):
    from .generate import check_drc

    report = _in_copy(kicad_dir, check_drc)
    print(f"  DRC: 0 violations, {len(report.get('unconnected_items', []))} unconnected, "
          f"{len(report.get('schematic_parity', []))} parity problems (rules: {_rel(kicad_dir)}{project.NAME}.kicad_dru)")


def _rules(variant):
    from .circuit import build_board
    from .rules import check

    results = check(build_board(variant=variant))
    for r in results:
        print(f"  {r}")
    failed = [r for r in results if not r.passed]
    if failed:
        raise CheckFailed(f"{len(failed)} P1 design rule(s) failed: " + "; ".join(r.name for r in failed))


def _si(out_dir=None):
    """ngspice over corners and Monte Carlo; with `out_dir`, also the eye diagram and table for fab."""
    from . import si
    from .circuit import build_board

    report = si.analyse(build_board(), log=lambda m: print(f"  {m}", flush=True))
    for r in report.results:
        print(f"  {r}")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for p in si.fab(out_dir, report=report):
            print(f"  wrote {p.relative_to(project.ROOT) if p.is_relative_to(project.ROOT) else p}")
    failed = [r for r in report.results if not r.passed]
    if failed:
        raise CheckFailed(f"{len(failed)} P1 signal-integrity limit(s) broken: " + "; ".join(str(r) for r in failed))


def _export(kicad_dir, out_dir, variant):
    from .fab import export

    export(kicad_dir, out_dir, log=lambda m: print(m, flush=True), variant=variant)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hwtools", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["fab", "check", "generate"],
                        help="fab: regenerate, check and export; check: ERC, DRC, P1 rules and signal "
                             "integrity on the committed files; generate: regenerate kicad/ only")
    parser.add_argument("--variant", choices=["all", *project.VARIANT_DIRS], default="all",
                        help="board variant: p1 (the proven board), p1s1 (with the S1 port), all (default)")
    parser.add_argument("--kicad-dir", type=Path, help="project folder (one variant only; default kicad/[p1s1/])")
    parser.add_argument("--out-dir", type=Path, help="manufacturing output (one variant only; default gerbers/[p1s1/])")
    parser.add_argument("--json", action="store_true",
                        help="check only: the P1/S1 design rules as one JSON object per line and figure")
    args = parser.parse_args(argv)
    variants = list(project.VARIANT_DIRS) if args.variant == "all" else [args.variant]
    if args.json:
        if args.command != "check":
            parser.error("--json goes with check")
        from .rules import check_json

        return 0 if check_json(variants, sys.stdout) else 1
    if (args.kicad_dir or args.out_dir) and len(variants) > 1:
        parser.error("--kicad-dir/--out-dir need a single --variant")
    start = time.monotonic()
    try:
        for variant in variants:
            kicad_dir = args.kicad_dir or project.VARIANT_DIRS[variant][0]
            out_dir = args.out_dir or project.VARIANT_DIRS[variant][1]
            if args.command in ("fab", "generate"):  # generation itself is gated by ERC and DRC with parity
                _step(f"{variant}: generate {_rel(kicad_dir)} from the circuit (ERC, DRC)", _generate, kicad_dir,
                      variant)
            if args.command == "check":
                _step(f"{variant}: ERC (kicad-cli)", _erc, kicad_dir)
                _step(f"{variant}: DRC with schematic parity (kicad-cli)", _drc, kicad_dir)
            if args.command in ("fab", "check"):
                _step(f"{variant}: P1{'/S1' if variant == 'p1s1' else ''} design rules", _rules, variant)
            # the P1 input stage is the same circuit on every variant: simulated once, with the P1 board
            if args.command == "check" and variant == "p1":
                _step("P1 signal integrity (ngspice)", _si)
            if args.command == "fab" and variant == "p1":
                _step("P1 signal integrity (ngspice) + plot", _si, out_dir)
            if args.command == "fab":
                _step(f"{variant}: manufacturing package (kicad-cli, iBoM) -> {_rel(out_dir)}", _export, kicad_dir,
                      out_dir, variant)
    except CheckFailed as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # every known failure carries its own message; show it, not a traceback
        from .circuit import CircuitError
        from .generate import GenerationError
        from .kicadlibs import LibraryError
        from .si.model import ModelError
        from .si.spice import NgspiceError

        from .fab import FabError

        known = (CircuitError, GenerationError, LibraryError, kicad_cli.KicadCliError, ModelError, NgspiceError,
                 FabError, ValueError)
        if not isinstance(e, known):
            raise
        print(f"ERROR: {e}", file=sys.stderr)
        print("Files already current stay as they were; nothing half-written was kept.", file=sys.stderr)
        return 2
    print(f"{args.command}: OK in {time.monotonic() - start:.1f} s")
    return 0
