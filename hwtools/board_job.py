"""`python -m hwtools.board_job STAGE VARIANT`: build the board file in a staged project (see generate.stage_board).

The variant crosses the process boundary as its name and is rebuilt here (`variant.get`). Exit 0 with
`STAGE/p1reader.kicad_pcb` written, or 3 with one line on stderr naming what went wrong.
"""

import sys
from pathlib import Path

from . import layout, pcb, project
from .errors import HwtoolsError
from .variant import Variant, get as get_variant


def build_board_file(stage: Path, variant: Variant):
    import pcbnew

    lay = layout.for_variant(variant)
    pcbnew.KIID.SeedGenerator(1)  # KiCad makes random UUIDs otherwise: a seed makes the file reproducible
    path = stage / f"{project.NAME}.kicad_pcb"
    board = pcb.build(stage / f"{project.NAME}.net", stage / "lib", path, lay)
    problems = pcb.check_placement(board, lay)
    if problems:
        raise pcb.LayoutError("placement in hwtools/layout.py: " + "; ".join(problems))
    pcb.add_silkscreen(board, lay)  # before routing: vias keep off the silkscreen
    pcb.route(board, lay)
    pcb.add_ground_pours(board, lay)
    board.Save(str(path))
    add_stackup(path)
    fill_zones(path)


# What AISLER builds a 2-layer board from: 1.6 mm FR4, 35 µm copper, lead-free hot-air levelling. KiCad writes
# it into the Gerber job file (and ODB++) only from the board's stackup.
STACKUP = """\t\t(stackup
\t\t\t(layer "F.SilkS" (type "Top Silk Screen"))
\t\t\t(layer "F.Paste" (type "Top Solder Paste"))
\t\t\t(layer "F.Mask" (type "Top Solder Mask") (thickness 0.01))
\t\t\t(layer "F.Cu" (type "copper") (thickness 0.035))
\t\t\t(layer "dielectric 1" (type "core") (thickness 1.51) (material "FR4") (epsilon_r 4.5) (loss_tangent 0.02))
\t\t\t(layer "B.Cu" (type "copper") (thickness 0.035))
\t\t\t(layer "B.Mask" (type "Bottom Solder Mask") (thickness 0.01))
\t\t\t(layer "B.Paste" (type "Bottom Solder Paste"))
\t\t\t(layer "B.SilkS" (type "Bottom Silk Screen"))
\t\t\t(copper_finish "HAL lead-free")
\t\t\t(dielectric_constraints no)
\t\t)
"""


def add_stackup(path: Path):
    """Write the stackup into a saved board file: pcbnew's Python API does not wrap BOARD_STACKUP (KiCad 9.0),
    so it goes in as text, read back by KiCad when the zones are filled (tests/pcb checks the result)."""
    text = path.read_text(encoding="utf-8")
    if "(stackup" not in text:
        text = text.replace("\t(setup\n", "\t(setup\n" + STACKUP, 1)
    path.write_text(text, encoding="utf-8")


def fill_zones(path: Path):
    """Fill the board's zones, working around a pcbnew 9.0.8 scripting bug.

    ZONE_FILLER on a board built in memory pours copper straight over NPTH holes (DRC: hole_clearance,
    actual 0.0 mm); on the same board saved and loaded again with LoadBoard it knocks them out properly.
    tests/pcb/test_pcb_workarounds.py shows both.
    """
    import pcbnew

    board = pcbnew.LoadBoard(str(path))
    board.BuildConnectivity()
    pcbnew.ZONE_FILLER(board).Fill(board.Zones())
    board.Save(str(path))


def main(argv):
    if len(argv) != 2:
        print(f"usage: python -m hwtools.board_job STAGE VARIANT (got {len(argv)} argument(s))", file=sys.stderr)
        return 3
    try:
        build_board_file(Path(argv[0]), get_variant(argv[1]))
    except HwtoolsError as e:
        print(e, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
