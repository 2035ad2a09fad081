"""The board's KiCad 9 schematic, generated from the circuit and drawn the way an engineer draws one: placement
templates (`blocks.py`), labels, power symbols, wires and text (`drawing.py`, `router.py`), KiCad's symbols
(`library.py`), the s-expressions (`writer.py`)."""

from ..circuit import Board
from ..project import NAME
from .drawing import Drawing
from .library import SymbolLibraries
from .writer import emit

__all__ = ["SymbolLibraries", "schematic"]


def schematic(board: Board, revision: str, libs: SymbolLibraries | None = None) -> str:
    """The complete `.kicad_sch` text for `board`."""
    libs = libs or SymbolLibraries()
    return emit(Drawing(board, libs).draw(), revision, NAME)
