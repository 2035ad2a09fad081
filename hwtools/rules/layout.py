"""Layout rules: figures measured on the routed board (the variant's `kicad/…kicad_pcb`), not the circuit alone.

A rule here declares `needs=(ROUTED_BOARD,)` or `(CIRCUIT, ROUTED_BOARD)`; `check()` refuses to run it
without the routed board. The board's geometry is read with hwtools.geometry.
"""

from __future__ import annotations

RULES: list = []
