"""The generated Lolin D32 footprint matches the proven board's, pad for pad, and adds courtyard and fab."""

from kiutils.footprint import Footprint
from kiutils.symbol import SymbolLib

from hwtools import d32lib, kicad_cli
from design_paths import KICAD


def _pads(fp):
    return {str(p.number): (round(p.position.X, 3), round(p.position.Y, 3), p.shape, p.type, round(p.size.X, 3),
                       round(p.size.Y, 3), round(p.drill.diameter, 3)) for p in fp.pads}


def test_footprint_matches_reference_pad_for_pad(reference_dir):
    reference = Footprint.from_file(str(reference_dir / "LolinD32.kicad_mod"))
    generated = Footprint.from_file(str(KICAD / "lib/p1reader.pretty/LolinD32.kicad_mod"))
    assert len(generated.pads) == 32
    assert _pads(generated) == _pads(reference)


def _lines(fp, layer):
    return [g for g in fp.graphicItems if type(g).__name__ == "FpLine" and g.layer == layer]


def test_footprint_has_courtyard_and_fab_around_every_pad():
    fp = Footprint.from_file(str(KICAD / "lib/p1reader.pretty/LolinD32.kicad_mod"))
    for layer in ("F.CrtYd", "F.Fab"):
        lines = _lines(fp, layer)
        assert len(lines) == 4, layer
        xs = [c for l in lines for c in (l.start.X, l.end.X)]
        ys = [c for l in lines for c in (l.start.Y, l.end.Y)]
        for pad in fp.pads:  # every pad, with its copper, inside the outline
            assert min(xs) < pad.position.X - 1 and pad.position.X + 1 < max(xs)
            assert min(ys) < pad.position.Y - 1 and pad.position.Y + 1 < max(ys)
    courtyard = _lines(fp, "F.CrtYd")
    assert min(l.start.X for l in courtyard) < d32lib.BODY[0]  # courtyard encloses the USB end of the body


def test_symbol_pins_are_the_module_pads():
    lib = SymbolLib.from_file(str(KICAD / "lib/p1reader.kicad_sym"))
    assert [s.entryName for s in lib.symbols] == [d32lib.NAME, d32lib.OPAMP_NAME]
    pins = {p.number: p.name for unit in lib.symbols[0].units for p in unit.pins}
    assert pins == {str(n): name for n, name, _ in d32lib.PINS}
    assert pins["22"] == "GPIO16" and pins["5"] == "GPIO12" and pins["16"] == "3V"


def test_the_dual_op_amp_symbol_has_each_pin_of_the_dip8_once_in_one_unit():
    """KiCad's dual op-amps put units A and B on the same pin places; the project's symbol is one unit of 8 pins
    with the LMC6482's pinout (LMC6482 data sheet: 1 OUTA, 2 -INA, 3 +INA, 4 V-, 5 +INB, 6 -INB, 7 OUTB, 8 V+)."""
    sym = SymbolLib.from_file(str(KICAD / "lib/p1reader.kicad_sym")).symbols[1]
    pins = [p for unit in sym.units for p in unit.pins]
    assert {p.number: p.name for p in pins} == {"1": "OUTA", "2": "-INA", "3": "+INA", "4": "V-", "5": "+INB",
                                                 "6": "-INB", "7": "OUTB", "8": "V+"}
    assert len({(p.position.X, p.position.Y) for p in pins}) == 8


def test_kicad_loads_the_generated_libraries(tmp_path):
    # KiCad's own upgrade command fails with "Unable to load library" on anything it cannot read.
    kicad_cli.run("sym", "upgrade", KICAD / "lib/p1reader.kicad_sym", "-o", tmp_path / "x.kicad_sym", "--force")
    kicad_cli.run("fp", "upgrade", KICAD / "lib/p1reader.pretty", "-o", tmp_path / "x.pretty")
    assert (tmp_path / "x.pretty" / "LolinD32.kicad_mod").is_file()
