"""Where the design tests find the committed project and the reference data."""

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
KICAD = REPO / "kicad"
SHARED = REPO.parent / "shared"
