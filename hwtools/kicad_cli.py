"""One contract for calling `kicad-cli`: found on PATH, explicit accepted exit codes, stderr in the error."""

import json
import shutil
import subprocess
from pathlib import Path

VIOLATIONS = 5  # kicad-cli's exit code when --exit-code-violations finds something


class KicadCliError(Exception):
    pass


def run(*args, accept=(0,), cwd=None) -> subprocess.CompletedProcess:
    exe = shutil.which("kicad-cli")
    if exe is None:
        raise KicadCliError("kicad-cli not found on PATH: run `make setup` (KiCad 9 from bookworm-backports)")
    proc = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd)
    if proc.returncode not in accept:
        detail = (proc.stderr.strip() or proc.stdout.strip())[-2000:]
        raise KicadCliError(f"kicad-cli {' '.join(map(str, args[:3]))} failed (exit {proc.returncode}): {detail}")
    return proc


def version() -> str:
    return run("version").stdout.strip()


def erc(schematic: Path, report: Path) -> dict:
    """Run ERC, return KiCad's JSON report (violations with severities and exclusions)."""
    run("sch", "erc", "--format", "json", "--severity-all", "--exit-code-violations", "-o", report, schematic,
        accept=(0, VIOLATIONS))
    return json.loads(report.read_text(encoding="utf-8"))


def export_netlist(schematic: Path, out: Path):
    run("sch", "export", "netlist", "--format", "kicadsexpr", "-o", out, schematic)


def active_violations(report: dict, severities=("error", "warning")) -> list[dict]:
    """Violations of the given severities that are not excluded in the project."""
    found = []
    for sheet in report.get("sheets", []):
        for v in sheet.get("violations", []):
            if v.get("severity") in severities and not v.get("excluded", False):
                found.append(v)
    for v in report.get("violations", []):  # DRC reports keep them at the top level
        if v.get("severity") in severities and not v.get("excluded", False):
            found.append(v)
    return found
