"""A board variant: everything the pipeline needs to know about one board, decided in one place.

`p1` is the proven P1-only board; `p1s1` is the same board with the meter's S1 port added. One `Variant`
object is made per variant (`get`) and passed down to the circuit, layout, rules, schematic, SI and export.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import project
from .errors import HwtoolsError

N = project.NAME
# The Gerber file kicad-cli writes for each layer. fab.LAYERS chooses the layers sent; a file of a layer no
# longer sent is one the export removes.
GERBER_FILES = {"F.Cu": "F_Cu.gtl", "B.Cu": "B_Cu.gbl", "F.Mask": "F_Mask.gts", "B.Mask": "B_Mask.gbs",
                "F.SilkS": "F_Silkscreen.gto", "B.SilkS": "B_Silkscreen.gbo", "F.Paste": "F_Paste.gtp",
                "B.Paste": "B_Paste.gbp", "Edge.Cuts": "Edge_Cuts.gm1"}
# What the generator writes into a variant's kicad/ folder (relative paths).
PROJECT_FILES = (f"{N}.kicad_pro", f"{N}.kicad_sch", f"{N}.net", f"{N}.kicad_pcb", f"{N}.kicad_dru",
                 "sym-lib-table", "fp-lib-table", f"lib/{N}.kicad_sym")  # + the D32 footprint: project_files
# What the manufacturing export writes into a variant's gerbers/ folder, besides Gerbers, zip and manifest.
EXPORT_FILES = (
    f"{N}-PTH.drl", f"{N}-NPTH.drl", f"{N}-job.gbrjob", f"{N}.d356", f"{N}-odb.zip", f"{N}-placement.csv",
    f"{N}-schematic.pdf", f"{N}-top.png", f"{N}-bottom.png", f"{N}-ibom.html", f"{N}-bom.csv", "components.json")
MANIFEST = "SHA256SUMS"  # the sha256 of every generated file in a gerbers/ folder, for the reviewer
SI_FILES = ("p1-input-si.png", "p1-input-si.md")  # the P1 input's signal integrity, simulated once (p1)


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
    def zip_name(self) -> str:
        """The file to upload: p1reader-1.2-aisler.zip, p1reader-p1s1-1.2-aisler.zip for the S1 variant."""
        label = N if self.name == "p1" else f"{N}-{self.name}"
        return f"{label}-{project.REVISION}-aisler.zip"

    @property
    def project_files(self) -> tuple[str, ...]:
        return PROJECT_FILES + (f"lib/{N}.pretty/{project.D32_NAME}.kicad_mod",)

    @property
    def si_files(self) -> tuple[str, ...]:
        return SI_FILES if self.simulates_si else ()

    @property
    def export_files(self) -> tuple[str, ...]:
        """Every file the export produces in gerbers/, the manifest last: the only files it may replace."""
        return tuple(f"{N}-{name}" for name in GERBER_FILES.values()) + EXPORT_FILES + (self.zip_name, MANIFEST)

    def __str__(self):
        return self.name


VARIANTS = {
    "p1": Variant("p1", "P1 reader", False, "kicad", "gerbers", True),
    "p1s1": Variant("p1s1", "P1 reader with S1 port", True, "kicad/p1s1", "gerbers/p1s1", False),
}


def get(variant: str | Variant = "p1") -> Variant:
    """The Variant for a name (a Variant passes through), or VariantError naming the choices."""
    if isinstance(variant, Variant):
        return variant
    try:
        return VARIANTS[variant]
    except (KeyError, TypeError):
        raise VariantError(f"unknown board variant {variant!r}: choose one of {', '.join(VARIANTS)}") from None
