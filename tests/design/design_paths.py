"""Where the design tests find the committed project and their reference data (tests/data/design)."""

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
KICAD = REPO / "kicad"
DATA = REPO / "tests" / "data" / "design"
