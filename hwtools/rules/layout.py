"""Layout rules: figures measured on the routed board (the variant's `kicad/…kicad_pcb`, read with hwtools.geometry);
each declares `needs=(ROUTED_BOARD,)` or `(CIRCUIT, ROUTED_BOARD)`, and `check()` refuses to run it without that board.
"""

from __future__ import annotations

RULES: list = []
