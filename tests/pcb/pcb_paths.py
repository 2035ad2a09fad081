"""Where the PCB tests find the committed project."""

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
KICAD = REPO / "kicad"
