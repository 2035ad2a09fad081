"""`python tests/review/rev12_board.py STAGE`: the board of a staged rev 1.2 project (tests/design/rev12_circuit.py)
built by the generator's own board job (placement, routing, pour), from today's placement table less the parts
rev 1.2 does not have, with the parts rev 1.4 moved around its new ones back at their rev 1.3 places (rev 1.2's
parts fit there) — the review compares parts and nets, so the rev 1.2 board's own coordinates do not matter."""

import dataclasses
import sys
from pathlib import Path

from hwtools import board_job, layout, pcb, variant

stage = Path(sys.argv[1])
parts, _ = pcb.read_netlist(stage / "p1reader.net")
today = layout.for_variant
# rev 1.3's places of the parts rev 1.4 moved to make room for D4, C10 and the test points, and of J3 (gone in rev 1.4)
REV13_PLACES = {"J3": (59.8, 50.8, 0), "C2": (24.0, 13.0, 0), "C4": (31.0, 13.0, 0), "C6": (12.0, 3.5, 0), "C7": (36.8, 15.0, 0),
                "R3": (24.0, 21.0, 0), "R2": (24.0, 26.0, 0), "R1": (24.0, 31.0, 0), "D3": (9.0, 36.0, 0)}


def at_rev13_place(place):
    if place.ref not in REV13_PLACES:
        return place
    x, y, rotation = REV13_PLACES[place.ref]
    return dataclasses.replace(place, x=x, y=y, rotation=rotation)


def only_the_circuits_parts(v=variant.P1):
    lay = today(v)
    gone = [layout.Place(ref, *REV13_PLACES[ref]) for ref in REV13_PLACES
            if ref in parts and all(p.ref != ref for p in lay.places)]
    return dataclasses.replace(lay, places=[at_rev13_place(p) for p in lay.places if p.ref in parts] + gone)


layout.for_variant = only_the_circuits_parts
board_job.build_board_file(stage, variant.P1)
