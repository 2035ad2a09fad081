"""Regenerate the KiCad project in `kicad/` from the circuit code — all or nothing.

Everything is written into a staging folder first and checked by KiCad (it must load the schematic, ERC
must be clean, the netlist must export); only then are the files copied over `kicad/`. A broken circuit
or library therefore never leaves half-written or stale-but-different files behind.
"""

import json
import shutil
import tempfile
from pathlib import Path

from . import d32lib, kicad_cli, kicadlibs, project
from .circuit import build_board
from .schematic import SymbolLibraries, schematic


class GenerationError(Exception):
    pass


# ERC checks switched off in the project, each with the reason a reviewer needs.
ERC_SEVERITY_OVERRIDES = {
    # The library symbols are copied verbatim into the schematic; KiCad compares them with whatever library
    # version a user has installed, which is not a property of this design.
    "lib_symbol_mismatch": "ignore",
}


def project_file(root_uuid: str) -> str:
    pro = {
        "meta": {"filename": f"{project.NAME}.kicad_pro", "version": 3},
        "erc": {"erc_exclusions": [], "meta": {"version": 0}, "pin_map": [],
                "rule_severities": ERC_SEVERITY_OVERRIDES},
        "sheets": [[root_uuid, "Root"]],
        "text_variables": {"REVISION": project.REVISION},
    }
    return json.dumps(pro, indent=2, sort_keys=True) + "\n"


def stage_project(stage: Path, log=print, build=build_board):
    """Write the whole project into `stage`; return the built board."""
    lib_dir = stage / "lib"
    log("  D32 symbol and footprint (kiutils)")
    d32lib.write_library(lib_dir)
    log("  circuit (skidl)")
    board = build(lib_dir=lib_dir)
    project_footprints = {project.NAME: lib_dir / f"{project.NAME}.pretty"}
    for ref, part in sorted(board.parts.items()):
        try:
            kicadlibs.footprint_file(part.footprint, project_footprints)
        except kicadlibs.LibraryError as e:
            raise GenerationError(f"{ref}: {e}") from e
    log("  schematic")
    sch_text = schematic(board, project.REVISION, SymbolLibraries(lib_dir))
    (stage / f"{project.NAME}.kicad_sch").write_text(sch_text, encoding="utf-8")
    root_uuid = sch_text.split('(uuid "', 1)[1].split('"', 1)[0]
    (stage / f"{project.NAME}.kicad_pro").write_text(project_file(root_uuid), encoding="utf-8")
    (stage / "sym-lib-table").write_text(project.sym_lib_table(), encoding="utf-8")
    (stage / "fp-lib-table").write_text(project.fp_lib_table(), encoding="utf-8")
    return board


def check_erc(stage: Path) -> dict:
    report = kicad_cli.erc(stage / f"{project.NAME}.kicad_sch", stage / "erc.json")
    problems = kicad_cli.active_violations(report)
    if problems:
        lines = [f"{v['severity']}: {v['type']}: {v['description']} at "
                 + ", ".join(i.get("description", "?") for i in v.get("items", [])) for v in problems]
        raise GenerationError("ERC found problems in the generated schematic:\n  " + "\n  ".join(lines))
    return report


def export_netlist(stage: Path):
    net = stage / f"{project.NAME}.net"
    kicad_cli.export_netlist(stage / f"{project.NAME}.kicad_sch", net)
    net.write_text(project.normalise_netlist(net.read_text(encoding="utf-8"), stage), encoding="utf-8")


GENERATED = [f"{project.NAME}.kicad_pro", f"{project.NAME}.kicad_sch", f"{project.NAME}.net", "sym-lib-table",
             "fp-lib-table", f"lib/{project.NAME}.kicad_sym", f"lib/{project.NAME}.pretty/{d32lib.NAME}.kicad_mod"]


def generate(out_dir: Path = project.KICAD_DIR, log=print, build=build_board) -> list[str]:
    """Regenerate `out_dir`; return the generated files that changed. `build` makes the circuit."""
    with tempfile.TemporaryDirectory(prefix="p1reader-") as tmp:
        stage = Path(tmp) / "kicad"
        stage.mkdir()
        stage_project(stage, log, build)
        log("  ERC (kicad-cli)")
        check_erc(stage)
        log("  netlist (kicad-cli)")
        export_netlist(stage)
        changed = []
        for rel in GENERATED:
            src, dst = stage / rel, out_dir / rel
            if not dst.exists() or dst.read_bytes() != src.read_bytes():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                changed.append(rel)
        return changed
