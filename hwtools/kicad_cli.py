"""One contract for calling `kicad-cli`: found on PATH, explicit accepted exit codes, stderr in the error."""

import json
import shutil
import subprocess
from pathlib import Path

from . import procs
from .errors import HwtoolsError

VIOLATIONS = 5  # kicad-cli's exit code when --exit-code-violations finds something


class KicadCliError(HwtoolsError):
    pass


def run(*args, accept=(0,), cwd=None, env=None) -> subprocess.CompletedProcess:
    exe = shutil.which("kicad-cli")
    if exe is None:
        raise KicadCliError("kicad-cli not found on PATH: run `make setup` (KiCad 9 from bookworm-backports)")
    proc = procs.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env)
    if proc.returncode not in accept:
        detail = (proc.stderr.strip() or proc.stdout.strip())[-2000:]
        raise KicadCliError(f"kicad-cli {' '.join(map(str, args[:3]))} failed (exit {proc.returncode}): {detail}")
    return proc


def erc(schematic: Path, report: Path) -> dict:
    """Run ERC, return KiCad's JSON report (violations with severities and exclusions)."""
    run("sch", "erc", "--format", "json", "--severity-all", "--exit-code-violations", "-o", report, schematic,
        accept=(0, VIOLATIONS))
    return json.loads(report.read_text(encoding="utf-8"))


def drc(board: Path, report: Path) -> dict:
    """Run DRC with schematic parity, return KiCad's JSON report."""
    run("pcb", "drc", "--format", "json", "--severity-all", "--schematic-parity", "--exit-code-violations",
        "-o", report, board, accept=(0, VIOLATIONS))
    return json.loads(report.read_text(encoding="utf-8"))


def export_netlist(schematic: Path, out: Path):
    run("sch", "export", "netlist", "--format", "kicadsexpr", "-o", out, schematic)


def active_violations(report: dict, severities=("error", "warning")) -> list[dict]:
    """Violations of the given severities that are not excluded in the project."""
    every = [v for sheet in report.get("sheets", []) for v in sheet.get("violations", [])]
    every += report.get("violations", [])  # DRC reports keep them at the top level
    return [v for v in every if v.get("severity") in severities and not v.get("excluded", False)]


# --- manufacturing exports (hwtools/fab.py). Each is one bare kicad-cli call; fab.py normalises the output.

def export_gerbers(pcb: Path, out_dir: Path, layers):
    """Gerber X2 (attributes and netlist on, the default), coordinates from the aux (drill/place) origin."""
    run("pcb", "export", "gerbers", "--use-drill-file-origin", "--layers", ",".join(layers), "-o", f"{out_dir}/", pcb)


def export_drill(pcb: Path, out_dir: Path):
    """Excellon, metric, PTH and NPTH in separate files, offset by the aux origin (`--drill-origin plot`)."""
    run("pcb", "export", "drill", "--format", "excellon", "--excellon-units", "mm", "--excellon-separate-th",
        "--drill-origin", "plot", "-o", f"{out_dir}/", pcb)


def export_pos(pcb: Path, out: Path):
    run("pcb", "export", "pos", "--format", "csv", "--units", "mm", "--side", "both", "--use-drill-file-origin",
        "-o", out, pcb)


def export_ipcd356(pcb: Path, out: Path):
    run("pcb", "export", "ipcd356", "-o", out, pcb)


def export_odb(pcb: Path, out: Path):
    """ODB++ zip. kicad-cli 9.0.8 builds it in the fixed folder `$TMPDIR/kicad/odb`, so two exports at once on
    one machine mix their boards (a p1 package once held the p1s1 board): each call gets a TMPDIR of its own."""
    import os

    with procs.temp_dir("odb") as tmp:
        run("pcb", "export", "odb", "--compression", "zip", "--units", "mm", "-o", out, pcb,
            env=dict(os.environ, TMPDIR=str(tmp)))


def render(pcb: Path, out: Path, side: str, width=1600, height=900):
    """3D render to PNG, basic quality (≈ 1.5 s; `high` takes ≈ 8 s)."""
    run("pcb", "render", "--side", side, "--width", width, "--height", height, "--quality", "basic", "-o", out, pcb)


def export_sch_pdf(schematic: Path, out: Path):
    run("sch", "export", "pdf", "-o", out, schematic)
