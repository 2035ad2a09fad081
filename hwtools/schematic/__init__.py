"""The board's KiCad 9 schematic, generated from the circuit and drawn the way an engineer draws one.

`blocks.py` holds the placement template of each block, `drawing.py` places labels, power symbols, wires,
junctions and text, `router.py` draws the wires, `library.py` reads KiCad's symbols and `writer.py` writes
the s-expressions. Never edit the .kicad_sch by hand: change the circuit code and run `make fab`.
"""

from ..circuit import Board
from ..project import NAME
from .drawing import Drawing, LayoutError
from .library import SymbolLibraries
from .writer import emit

__all__ = ["LayoutError", "SymbolLibraries", "schematic"]


def schematic(board: Board, revision: str, libs: SymbolLibraries | None = None) -> str:
    """The complete `.kicad_sch` text for `board`."""
    libs = libs or SymbolLibraries()
    return emit(Drawing(board, libs).draw(), revision, NAME)
