"""A board variant: everything the pipeline needs to know about one board, decided in one place.

`p1` is the proven P1-only board; `p1s1` is the same board with the meter's S1 port added. One `Variant`
object is made per variant (`P1`, `P1S1`; `get` finds one by its name) and passed down to the circuit, layout,
rules, schematic, SI and export; a name crosses a process boundary and is turned back into the object there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import project
from .errors import HwtoolsError

N = project.NAME
# What the generator writes into a variant's kicad/ folder (relative paths). What goes into gerbers/: hwtools/outputs.py.
PROJECT_FILES = (f"{N}.kicad_pro", f"{N}.kicad_sch", f"{N}.net", f"{N}.kicad_pcb", f"{N}.kicad_dru",
                 "sym-lib-table", "fp-lib-table", f"lib/{N}.kicad_sym")  # + the D32 footprint: project_files


class VariantError(HwtoolsError, ValueError):
    pass


@dataclass(frozen=True)
class Variant:
    name: str
    title: str
    has_s1: bool
    kicad_rel: str   # the KiCad project folder, relative to the repository
    gerbers_rel: str  # the manufacturing package folder, relative to the repository
    simulates_si: bool  # the P1 input is the same circuit on every variant: simulated and plotted once

    @property
    def kicad_dir(self) -> Path:
        return project.ROOT / self.kicad_rel

    @property
    def gerbers_dir(self) -> Path:
        return project.ROOT / self.gerbers_rel

    @property
    def mech_rel(self) -> str:
        """The case's folder (hwtools/enclosure): mech/, mech/p1s1/ — beside the upload, never in it."""
        return "mech" if self is P1 else f"mech/{self.name}"

    @property
    def zip_name(self) -> str:
        """The file to upload: p1reader-1.2-aisler.zip, p1reader-p1s1-1.2-aisler.zip for the S1 variant."""
        label = N if self is P1 else f"{N}-{self.name}"
        return f"{label}-{project.REVISION}-aisler.zip"

    @property
    def project_files(self) -> tuple[str, ...]:
        return PROJECT_FILES + (f"lib/{N}.pretty/{project.D32_NAME}.kicad_mod",)

    def __str__(self):
        return self.name


P1 = Variant("p1", "P1 reader", False, "kicad", "gerbers", True)  # the proven board: the default
P1S1 = Variant("p1s1", "P1 reader with S1 port", True, "kicad/p1s1", "gerbers/p1s1", False)
VARIANTS = {v.name: v for v in (P1, P1S1)}
# The other variants' folders inside P1's kicad/ and gerbers/: a copy of P1's project leaves them out.
SUBFOLDERS = tuple(Path(v.kicad_rel).name for v in VARIANTS.values() if v is not P1)


def get(name: str) -> Variant:
    """The Variant of a name (from the command line, or across a process boundary), or VariantError naming the
    choices. Everything past that boundary passes the Variant itself."""
    try:
        return VARIANTS[name]
    except (KeyError, TypeError):
        raise VariantError(f"unknown board variant {name!r}: choose one of {', '.join(VARIANTS)}") from None
