"""Build the board file in a staged project with KiCad's pcbnew (see generate.stage_board): placement, routing,
pour. Exit 0 with `STAGE/p1reader.kicad_pcb` written, or 3 with one line on stderr naming what went wrong.

`python -m hwtools.board_job STAGE [VARIANT]` builds one board. `build()` runs each board in a child forked from
one server per run (`python -m hwtools.board_job --serve`), which has loaded pcbnew and the router's compiled
loops once: pcbnew keeps footprint caches and its UUID generator across boards, so only a process that has built
no board yet makes the same board byte for byte; and a crash in KiCad cannot take the caller down. The server
itself never builds a board, so it never starts pcbnew's worker threads, and forking it is safe.
"""

import json
import subprocess
import sys
import threading
from pathlib import Path

from . import layout, pcb, procs, project
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


def preload():
    """Import pcbnew and load the router's compiled loops: what every board build needs."""
    import pcbnew  # noqa: F401

    from . import astar

    astar.compile_all()


def serve():
    """Build each board asked for on stdin (a JSON line: [stage, variant]) in a forked child; answer a JSON line
    [exit code, the child's stderr]. Ends at the end of stdin."""
    preload()
    for line in sys.stdin:
        code, err = procs.call_forked(main, json.loads(line))
        sys.stdout.write(json.dumps([code, err]) + "\n")
        sys.stdout.flush()


_server: subprocess.Popen | None = None
_server_lock = threading.Lock()


def build(stage: Path, variant: str) -> tuple[int, str]:
    """Build the board in `stage` in the server's next child: (exit code, its stderr)."""
    global _server
    with _server_lock:
        if _server is None or _server.poll() is not None:
            _server = procs.popen([sys.executable, "-m", "hwtools.board_job", "--serve"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, cwd=project.ROOT)
        _server.stdin.write(json.dumps([str(stage), str(variant)]) + "\n")
        _server.stdin.flush()
        answer = _server.stdout.readline()
        if not answer:
            code = _server.wait()
            _server = None
            return code or 1, f"the board job server exited (code {code}) before answering"
        code, err = json.loads(answer)
        return code, err


def main(argv):
    try:
        build_board_file(Path(argv[0]), *argv[1:2])
    except (pcb.LayoutError, RoutingError) as e:
        print(e, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        sys.exit(main(sys.argv[1:]))
