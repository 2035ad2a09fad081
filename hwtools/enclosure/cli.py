"""`p1reader enclosure` — the case for the board: base and lid (STEP, STL), the fit check, pictures.

Without --out: the `make fab` step for the case alone, on the committed kicad/ boards, into mech/ and mech/p1s1/
(skipped when its inputs did not change; --force runs it). With --out DIR: into DIR/<variant>/, nothing recorded,
written only when every check passed. Exit 0 every check passed; 1 a check failed (each failure named with its
part and figure, nothing written); 2 bad input (a footprint without a [[body]] row, a missing board …).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from .. import procs, project
from ..variant import VARIANTS, get as get_variant
from . import FitFailed, figures, make, summary


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument("--variant", choices=["all", *VARIANTS], default="all", help="board variant (default: all)")
    p.add_argument("--out", type=Path, help="write into OUT/<variant>/ instead of mech/ (every check still runs)")
    p.add_argument("--board", type=Path, help="with --out and one --variant: the .kicad_pcb to build around "
                   "(default: the variant's generated board)")
    p.add_argument("--min-clearance", type=float, metavar="MM",
                   help="with --out: the smallest clearance allowed, case to board and bodies (default: parts.toml's "
                        "[enclosure] clearance_min_mm)")
    p.add_argument("--force", action="store_true", help="run the step even when its inputs did not change")
    return p


def _to_folder(variants, args, log):
    for v in variants:
        pcb = args.board or v.kicad_dir / f"{project.NAME}.kicad_pcb"
        if not Path(pcb).is_file():
            raise FileNotFoundError(f"{pcb}: no board file (run `make fab` first, or give --board)")
        extra = ["--min-clearance", str(args.min_clearance)] if args.min_clearance is not None else []
        with procs.temp_dir("enclosure") as tmp:
            make(Path(pcb).absolute(), tmp / v.name, project.NAME, v.title, log, extra)
            fit = summary(figures(tmp / v.name, project.NAME))
            target = args.out / v.name
            target.mkdir(parents=True, exist_ok=True)
            for f in sorted((tmp / v.name).iterdir()):
                shutil.copyfile(f, target / f.name)
        log(f"case fit ({v.name}): {fit} -> {target}/")


def main(argv=None, prog: str = "p1reader enclosure") -> int:
    parser = _parser(prog)
    args = parser.parse_args(argv)
    variants = list(VARIANTS.values()) if args.variant == "all" else [get_variant(args.variant)]
    if (args.board or args.min_clearance is not None) and not args.out:
        parser.error("--board and --min-clearance go with --out (mech/ is made from the generated boards with "
                     "parts.toml's limit)")
    if args.board and len(variants) != 1:
        parser.error("--board goes with one --variant")
    try:
        if args.out:
            _to_folder(variants, args, print)
        else:
            from ..pipeline import enclosure_only

            changed = enclosure_only(variants, print, args.force)
            print(f"{len(changed)} file(s) changed" + (":\n  " + "\n  ".join(changed) if changed else ""))
    except FitFailed as e:
        print(f"FAIL: {e} — nothing was written", flush=True)
        return 1
    except FileNotFoundError as e:
        parser.exit(2, f"{prog}: error: {e}\n")
    return 0
