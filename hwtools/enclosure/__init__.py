"""The case for the board (issue 29): base and lid as STEP and STL, checked on solids, from the generated board.

Two child processes, never one: `board_read` loads the board with KiCad's pcbnew and prints JSON; `build` (OCCT
from the OCP wheel) makes the solids, checks the fit and writes the files. pcbnew carries an OCCT of its own:
the two must not meet in one process. `make` runs both into a folder and adds its SHA256SUMS.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from .. import procs
from .model import EnclosureError

MANIFEST = "SHA256SUMS"
# The Python packages the CAD process runs on (import names): their versions are in the step's input hash.
CAD_PACKAGES = ("OCP", "trimesh", "manifold3d", "matplotlib", "numpy")


class FitFailed(EnclosureError):
    """The case does not fit the board, or does not print (the report lines say which)."""


def cad_versions() -> list[str]:
    """Each CAD package's dist-info name (OCP's wheel is cadquery-ocp-novtk): the step reruns when one changes."""
    import importlib.util

    out = []
    for name in CAD_PACKAGES:
        spec = importlib.util.find_spec(name)
        where = (list(spec.submodule_search_locations or [])[:1] or [spec.origin]) if spec else []
        site = Path(where[0]).parent if where and where[0] else None  # a package's folder or a module's file
        pattern = "cadquery_ocp*.dist-info" if name == "OCP" else f"{name}-*.dist-info"
        found = sorted(p.name.removesuffix(".dist-info") for p in site.glob(pattern)) if site else []
        out.append(found[0] if found else f"{name}: not installed")
    return out


def read_board(pcb: Path, out_json: Path):
    """The board's outline, footprints, bodies' outlines and pads as JSON, read by pcbnew in a child process."""
    result = procs.run([sys.executable, "-m", "hwtools.enclosure.board_read", str(pcb)], capture_output=True,
                       text=True)
    if result.returncode != 0:
        raise EnclosureError(f"{pcb}: {result.stderr.strip() or 'reading the board failed'}")
    out_json.write_text(result.stdout, encoding="utf-8")


def make(pcb: Path, out: Path, prefix: str, title: str, log=print, extra=()) -> list[str]:
    """Build, check and write the case for `pcb` into `out` (+ SHA256SUMS); the report lines, each logged.
    EnclosureError (bad input: exit 2), FitFailed (a check failed); `out` then holds no manifest."""
    from .build import files

    out.mkdir(parents=True, exist_ok=True)
    board_json = out.parent / f"{out.name}-board.json"
    read_board(pcb, board_json)
    result = procs.run([sys.executable, "-m", "hwtools.enclosure.build", str(board_json), str(out), "--prefix",
                        prefix, "--title", title, *extra], capture_output=True, text=True)
    lines = result.stdout.splitlines()
    for line in lines:
        log(f"  {line}")
    if result.returncode == 2:
        raise EnclosureError(f"{pcb}: {result.stderr.strip()}")
    if result.returncode != 0:
        failed = [line[5:] for line in lines if line.startswith("FAIL ")]
        raise FitFailed(f"{title}: {len(failed)} case check(s) failed: " + "; ".join(failed)
                        if failed else f"{title}: the CAD process failed: {result.stderr.strip()[-2000:]}")
    sums = "".join(f"{hashlib.sha256((out / f).read_bytes()).hexdigest()}  {f}\n" for f in sorted(files(prefix)))
    (out / MANIFEST).write_text(sums, encoding="utf-8")
    return lines


def figures(folder: Path, prefix: str) -> list[dict]:
    """The fit and printability figures a build wrote ({prefix}-fit.json): check, passed, part, value, limit, text."""
    return json.loads((folder / f"{prefix}-fit.json").read_text(encoding="utf-8"))


def summary(results: list[dict]) -> str:
    """The fit figures for make fab's summary: the smallest clearance with the closest part, each plug's."""
    clearance = [r["text"] for r in results if r["check"] == "clearance"]
    plugs = [f"{r['part']} {r['value']:.2f} mm" for r in results if r["check"] == "plug"]
    return "; ".join(clearance + ([f"plugs clear the case by {', '.join(plugs)}"] if plugs else []))
