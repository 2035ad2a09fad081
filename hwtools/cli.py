"""`python -m hwtools fab|check|generate` — a thin command line over the pipeline (hwtools/pipeline.py).

Prints one line per step with its time, maps errors to exit codes: 0 ok, 1 a check failed,
2 a bad input (circuit, library, tool, file) — always a message naming what and where, never a traceback.
"""

import argparse
import sys
import time
import traceback
from pathlib import Path

from . import project
from .pipeline import CheckFailed
from .variant import VARIANTS, get as get_variant

# Errors that carry their own message, by module: looked up only in modules already imported (a module that
# failed to import cannot have raised its error, and importing it again would fail again).
KNOWN_ERRORS = {"hwtools.circuit": "CircuitError", "hwtools.generate": "GenerationError",
                "hwtools.kicadlibs": "LibraryError", "hwtools.kicad_cli": "KicadCliError",
                "hwtools.si.model": "ModelError", "hwtools.si.spice": "NgspiceError", "hwtools.fab": "FabError",
                "hwtools.bom": "BomError", "hwtools.staging": "StagingError", "hwtools.pcb": "LayoutError",
                "hwtools.routing": "RoutingError"}


def _known(e: BaseException) -> bool:
    if isinstance(e, (ValueError, OSError)):  # VariantError, BadValue, a missing or unreadable file
        return True
    for module, name in KNOWN_ERRORS.items():
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(e, cls):
            return True
    return False


def _where(e: BaseException) -> str:
    """file:line of the innermost frame inside the repository (else the innermost at all)."""
    frames = traceback.extract_tb(e.__traceback__)
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(project.ROOT)] or frames
    if not ours:
        return "?"
    f = ours[-1]
    path = Path(f.filename).resolve()
    return f"{path.relative_to(project.ROOT) if path.is_relative_to(project.ROOT) else path}:{f.lineno}"


def error_message(e: BaseException) -> str:
    if isinstance(e, SyntaxError):
        path = Path(e.filename or "?").resolve()
        shown = path.relative_to(project.ROOT) if path.is_relative_to(project.ROOT) else path
        return f"{shown}:{e.lineno}: {type(e).__name__}: {e.msg}"
    if isinstance(e, ImportError):
        return f"{e} (at {_where(e)}): is the environment complete? run `make setup`"
    if _known(e):
        return str(e)
    return f"unexpected {type(e).__name__} at {_where(e)}: {e}"


def _check(variant, kicad_dir: Path, log):
    """ERC, DRC, rules and SI on committed files: kicad-cli works on a copy, kicad/ is never written."""
    import shutil

    from . import procs
    from .circuit import build_board
    from .generate import check_drc, check_erc
    from .rules import check

    if not (kicad_dir / f"{project.NAME}.kicad_sch").is_file():
        raise FileNotFoundError(f"{kicad_dir}/{project.NAME}.kicad_sch not found: no KiCad project in {kicad_dir}")
    with procs.temp_dir("check") as tmp:
        copy = tmp / "kicad"
        shutil.copytree(kicad_dir, copy, ignore=shutil.ignore_patterns("p1s1"))
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
    results = check(board)
    for r in results:
        log(f"  {r}")
    failed = [r for r in results if not r.passed]
    if failed:
        raise CheckFailed(f"{len(failed)} {variant} design rule(s) failed: " + "; ".join(r.name for r in failed))
    if variant.simulates_si:
        from . import si

        report = si.analyse(board, log=lambda m: log(f"  {m}"))
        for r in report.results:
            log(f"  {r}")
        failed = [r for r in report.results if not r.passed]
        if failed:
            raise CheckFailed(f"{len(failed)} P1 signal-integrity limit(s) broken: " + "; ".join(map(str, failed)))


def check_json(variants, out) -> bool:
    """`check --json`: every figure of every rule, one JSON object per line; True if all pass."""
    import json

    from .circuit import build_board
    from .rules import check

    ok = True
    for variant in variants:
        for result in check(build_board(variant=variant)):
            out.write(json.dumps(result.as_json(variant.name), ensure_ascii=False) + "\n")
            ok &= bool(result.passed)
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hwtools", description=__doc__.splitlines()[0])
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
    args = parser.parse_args(argv)
    variants = list(VARIANTS.values()) if args.variant == "all" else [get_variant(args.variant)]
    if args.json:
        if args.command != "check":
            parser.error("--json goes with check")
        return 0 if check_json(variants, sys.stdout) else 1
    if args.kicad_dir and (args.command != "check" or len(variants) > 1):
        parser.error("--kicad-dir goes with check and a single --variant")
    if args.out and args.command == "check":
        parser.error("--out goes with fab or generate")
    log = (lambda m: print(m, flush=True))
    start = time.monotonic()
    try:
        from .staging import recover

        recovered = recover()
        if recovered:
            log(recovered)
        if args.command == "check":
            for v in variants:
                _check(v, Path(args.kicad_dir or v.kicad_dir).absolute(), log)
        else:
            from .pipeline import fab

            changed = fab(variants, log, force=args.force, root=args.out, only_generate=args.command == "generate")
            log(f"{len(changed)} file(s) changed" + (":\n  " + "\n  ".join(changed) if changed else ""))
    except KeyboardInterrupt:
        print("interrupted: nothing was replaced (files are renamed into place only when every step passed)",
              file=sys.stderr)
        return 130
    except Exception as e:
        if isinstance(e, CheckFailed):
            print(f"FAIL: {e}", file=sys.stderr)
            print("Nothing was replaced: kicad/ and gerbers/ are as they were.", file=sys.stderr)
            return 1
        print(f"ERROR: {error_message(e)}", file=sys.stderr)
        if args.command != "check":
            print("Nothing was replaced: kicad/ and gerbers/ are as they were.", file=sys.stderr)
        return 2
    print(f"{args.command}: OK in {time.monotonic() - start:.1f} s")
    return 0
