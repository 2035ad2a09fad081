"""`python -m hwtools.board_job STAGE [VARIANT]`: build the board file in a staged project (see generate.stage_board).

Exit 0 with `STAGE/p1reader.kicad_pcb` written, or 3 with one line on stderr naming what went wrong.
"""

import sys
from pathlib import Path

from . import layout, pcb, project
from .routing import RoutingError


def build_board_file(stage: Path, variant: str = "p1"):
    import pcbnew

    lay = layout.for_variant(variant)
    pcbnew.KIID.SeedGenerator(1)  # KiCad makes random UUIDs otherwise: a seed makes the file reproducible
    path = stage / f"{project.NAME}.kicad_pcb"
    board = pcb.build(stage / f"{project.NAME}.net", stage / "lib", path, lay)
    problems = pcb.check_placement(board, lay)
    if problems:
        raise pcb.LayoutError("placement in hwtools/layout.py: " + "; ".join(problems))
    pcb.route(board, lay)
    pcb.add_silkscreen(board, lay)
    pcb.add_ground_pours(board, lay)
    board.Save(str(path))
    fill_zones(path)


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
    try:
        build_board_file(Path(argv[0]), *argv[1:2])
    except (pcb.LayoutError, RoutingError) as e:
        print(e, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
