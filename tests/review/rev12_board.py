"""`python tests/review/rev12_board.py STAGE`: the board of a staged rev 1.2 project (tests/design/rev12_circuit.py)
built by the generator's own board job (placement, routing, pour), from today's placement table less the parts
rev 1.2 does not have — the review compares parts and nets, so the rev 1.2 board's own coordinates do not matter."""

import dataclasses
import sys
from pathlib import Path

from hwtools import board_job, layout, pcb, variant

stage = Path(sys.argv[1])
parts, _ = pcb.read_netlist(stage / "p1reader.net")
today = layout.for_variant


def only_the_circuits_parts(v=variant.P1):
    lay = today(v)
    return dataclasses.replace(lay, places=[p for p in lay.places if p.ref in parts])


layout.for_variant = only_the_circuits_parts
board_job.build_board_file(stage, variant.P1)
