"""KiCad's library symbols, read as s-expressions and embedded in the schematic the way KiCad does.

skidl's own `generate_schematic()` fails on this board with KiCad 9 and kiutils drops KiCad 9's
`(hide yes)` flags when it saves a schematic, so the schematic is assembled as s-expressions with
`sexpdata`; library symbols are copied verbatim from KiCad's libraries (derived symbols flattened).
"""

import sexpdata
from sexpdata import Symbol as S

from .. import kicadlibs
from ..project import LIB_DIR, NAME
from ..sexpr import children
from .geometry import Box

class SymbolLibraries:
    """Library symbols by lib id, flattened (`extends` resolved) the way a schematic embeds them."""

    def __init__(self, project_lib_dir=LIB_DIR):
        self.project_lib_dir = project_lib_dir
        self._texts, self._cache = {}, {}

    def _raw(self, nickname, name):
        if nickname not in self._texts:
            self._texts[nickname] = ((self.project_lib_dir / f"{NAME}.kicad_sym").read_text(encoding="utf-8")
                                     if nickname == NAME else kicadlibs.library_text(nickname))
        text = kicadlibs.symbol_text(self._texts[nickname], name)
        if text is None:
            raise kicadlibs.LibraryError(f"symbol '{nickname}:{name}' not found in library '{nickname}'")
        return sexpdata.loads(text)

    def get(self, lib_id):
        if lib_id not in self._cache:
            nickname, _, name = lib_id.partition(":")
            sym = self._raw(nickname, name)
            parent = children(sym, "extends")
            if parent:
                sym = self._flatten(sym, self._raw(nickname, parent[0][1]), name)
            sym[1] = lib_id
            self._cache[lib_id] = sym
        return self._cache[lib_id]

    @staticmethod
    def _flatten(child, parent, name):
        """A derived symbol = the parent's drawing and pins with the child's properties."""
        pname = parent[1]
        flat = [S("symbol"), name]
        child_props = {p[1]: p for p in children(child, "property")}
        for item in parent[2:]:
            if isinstance(item, list) and item and item[0] == S("property"):
                flat.append(child_props.pop(item[1], item))
            elif isinstance(item, list) and item and item[0] == S("symbol"):
                flat.append([S("symbol"), item[1].replace(pname, name, 1)] + item[2:])
            else:
                flat.append(item)
        for prop in child_props.values():
            flat.insert(len(flat) - len(children(flat, "symbol")), prop)
        return flat

    def pin_table(self, lib_id):
        """[(number, name, (x, y), angle, length)] for every pin, in library coordinates (y up)."""
        found = []
        for unit in children(self.get(lib_id), "symbol"):
            for pin in children(unit, "pin"):
                at = children(pin, "at")[0]
                found.append((children(pin, "number")[0][1], children(pin, "name")[0][1], (at[1], at[2]),
                              at[3] if len(at) > 3 else 0, children(pin, "length")[0][1]))
        return found

    def body(self, lib_id):
        """Bounding box of the symbol's drawing (library coordinates, y up), or None (power symbols' pins)."""
        points = []
        for unit in children(self.get(lib_id), "symbol"):
            for item in unit[2:]:
                if not (isinstance(item, list) and item and isinstance(item[0], S)):
                    continue
                kind = item[0].value()
                if kind in ("rectangle", "arc"):
                    points += [tuple(c[1:3]) for c in item[1:] if isinstance(c, list) and c[0] in
                               (S("start"), S("end"), S("mid"))]
                elif kind == "polyline":
                    points += [tuple(xy[1:3]) for xy in children(children(item, "pts")[0], "xy")]
                elif kind == "circle":
                    (cx, cy), r = children(item, "center")[0][1:3], children(item, "radius")[0][1]
                    points += [(cx - r, cy - r), (cx + r, cy + r)]
        return Box.around(points) if points else None

    def shows_pin_numbers(self, lib_id):
        flags = children(self.get(lib_id), "pin_numbers")
        return not (flags and (children(flags[0], "hide") or S("hide") in flags[0]))
