"""Regenerate the KiCad project in `kicad/` from the circuit code — all or nothing: written into a staging folder
and checked by KiCad (ERC clean, the netlist exports, DRC clean) before anything replaces a file in `kicad/`.
"""

import json
from pathlib import Path

from . import d32lib, fabrules, kicad_cli, kicadlibs, procs, project
from .circuit import build_board
from .errors import HwtoolsError
from .schematic import SymbolLibraries, schematic
from .staging import Stage
from .variant import P1, Variant


class GenerationError(HwtoolsError):
    pass


# ERC checks switched off in the project, each with the reason a reviewer needs.
ERC_SEVERITY_OVERRIDES = {
    # The library symbols are copied verbatim into the schematic; KiCad compares them with whatever library
    # version a user has installed, which is not a property of this design.
    "lib_symbol_mismatch": "ignore",
}


# Every DRC finding counts: warnings are raised to errors so `--exit-code-violations` sees them all.
DRC_SEVERITY_OVERRIDES = dict.fromkeys(
    ("hole_to_hole", "silk_overlap", "silk_over_copper", "silk_edge_clearance", "lib_footprint_mismatch",
     "lib_footprint_issues", "footprint_symbol_mismatch", "text_height", "text_thickness", "track_dangling",
     "via_dangling", "isolated_copper"), "error")


def _netclass(name, track, priority):
    return {"name": name, "clearance": fabrules.DESIGN_CLEARANCE_MM, "track_width": track,
            "via_diameter": fabrules.DESIGN_VIA_DIAMETER_MM, "via_drill": fabrules.DESIGN_VIA_DRILL_MM,
            "microvia_diameter": 0.3, "microvia_drill": 0.1, "diff_pair_gap": 0.25, "diff_pair_via_gap": 0.25,
            "diff_pair_width": 0.2, "bus_width": 12, "wire_width": 6, "line_style": 0, "priority": priority,
            "pcb_color": "rgba(0, 0, 0, 0.000)", "schematic_color": "rgba(0, 0, 0, 0.000)"}


def project_file(root_uuid: str) -> str:
    from .pcb import POWER_NETS

    pro = {
        "board": {"design_settings": {"rules": fabrules.BOARD_RULES, "rule_severities": DRC_SEVERITY_OVERRIDES,
                                      "meta": {"version": 2}}},
        "net_settings": {"classes": [_netclass("Default", fabrules.TRACK_SIGNAL_MM, 2147483647),
                                     _netclass("Power", fabrules.TRACK_POWER_MM, 0)],
                         "meta": {"version": 4},
                         "netclass_patterns": [{"netclass": "Power", "pattern": n} for n in sorted(POWER_NETS)]},
        "meta": {"filename": f"{project.NAME}.kicad_pro", "version": 3},
        "erc": {"erc_exclusions": [], "meta": {"version": 0}, "pin_map": [],
                "rule_severities": ERC_SEVERITY_OVERRIDES},
        "sheets": [[root_uuid, "Root"]],
        "text_variables": {"REVISION": project.REVISION},
    }
    return json.dumps(pro, indent=2, sort_keys=True) + "\n"


def stage_project(stage: Path, log=print, build=build_board, variant: Variant = P1):
    """Write the whole project into `stage`; return the built board."""
    lib_dir = stage / "lib"
    log("  D32 symbol and footprint (kiutils)")
    d32lib.write_library(lib_dir)
    log("  circuit (skidl)")
    board = build(lib_dir=lib_dir, variant=variant)
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
    (stage / f"{project.NAME}.kicad_dru").write_text(fabrules.dru_text(), encoding="utf-8")
    return board


def stage_board(stage: Path, log=print, variant: Variant = P1):
    """Place, route and pour the board from the staged netlist, with KiCad's own pcbnew.

    Runs in a fresh process: pcbnew keeps footprint caches and its UUID generator across calls, so only a
    new process makes the same board byte for byte (and a crash in KiCad cannot take the caller down).
    """
    import sys

    log("  board: placement, routing, ground pour (pcbnew)")
    proc = procs.run([sys.executable, "-m", "hwtools.board_job", str(stage), variant.name], capture_output=True,
                     text=True, cwd=project.ROOT)
    if proc.returncode != 0:
        # wxWidgets prints "Debug:" chatter on stderr; the job's own message is the last other line
        lines = [l for l in proc.stderr.splitlines() if l.strip() and "Debug:" not in l]
        raise GenerationError("board: " + (lines[-1] if lines else f"pcbnew job failed (exit {proc.returncode})"))


def _raise_if_any(problems, what):
    """One line per KiCad finding: severity, type, description and the items it names."""
    if problems:
        lines = [f"{v.get('severity', 'error')}: {v['type']}: {v['description']} at "
                 + ", ".join(i.get("description", "?") for i in v.get("items", [])) for v in problems]
        raise GenerationError(f"{what} found {len(problems)} problem(s):\n  " + "\n  ".join(lines))


def check_drc(stage: Path) -> dict:
    report = kicad_cli.drc(stage / f"{project.NAME}.kicad_pcb", stage / "drc.json")
    _raise_if_any(kicad_cli.active_violations(report) + report.get("unconnected_items", [])
                  + report.get("schematic_parity", []), "DRC of the generated board")
    return report


def check_erc(stage: Path) -> dict:
    report = kicad_cli.erc(stage / f"{project.NAME}.kicad_sch", stage / "erc.json")
    _raise_if_any(kicad_cli.active_violations(report), "ERC of the generated schematic")
    return report


def export_netlist(stage: Path):
    net = stage / f"{project.NAME}.net"
    kicad_cli.export_netlist(stage / f"{project.NAME}.kicad_sch", net)
    net.write_text(project.normalise_netlist(net.read_text(encoding="utf-8"), stage), encoding="utf-8")


def stage(stage_dir: Path, log=print, build=build_board, variant: Variant = P1, reports: dict | None = None):
    """Write and check the whole project in `stage_dir` (ERC, netlist, board, DRC); return the built circuit.
    `reports`, if given, receives kicad-cli's "erc" and "drc" reports (the checks step counts them)."""
    reports = {} if reports is None else reports
    board = stage_project(stage_dir, log, build, variant)
    log("  ERC (kicad-cli)")
    reports["erc"] = check_erc(stage_dir)
    log("  netlist (kicad-cli)")
    export_netlist(stage_dir)
    stage_board(stage_dir, log, variant)
    log("  DRC with schematic parity (kicad-cli)")
    reports["drc"] = check_drc(stage_dir)
    return board


def generate(out_dir: Path = project.KICAD_DIR, log=print, build=build_board, variant: Variant = P1) -> list[str]:
    """Regenerate `out_dir` all or nothing; return the generated files that changed. `build` makes the circuit."""
    out_dir = Path(out_dir).absolute()
    with Stage.for_folder(out_dir) as st:
        stage_dir = st.path("kicad")
        stage(stage_dir, log, build, variant)
        for rel in variant.project_files:
            st.add(out_dir / rel, stage_dir / rel)
        return [str(p.relative_to(out_dir)) for p in st.commit(allowed=[out_dir])]
