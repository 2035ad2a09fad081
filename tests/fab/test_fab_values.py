"""Strict values: resistors, capacitors and inductors need a number, a prefix and their unit (or RKM)."""

import pytest

from hwtools import values


@pytest.mark.parametrize("symbol, text, expected", [
    ("Device:R", "2.2 kOhm", 2200.0), ("Device:R", "220 Ohm", 220.0), ("Device:R", "220 Ω", 220.0),
    ("Device:R", "2k2", 2200.0), ("Device:R", "4R7", 4.7), ("Device:R", "220R", 220.0), ("Device:R", "1M", 1e6),
    ("Device:C_Polarized", "1000 µF", 1e-3), ("Device:C", "100 nF", 1e-7), ("Device:C", "4n7", 4.7e-9),
    ("Device:C", "1 uF", 1e-6), ("Device:L", "10 µH", 1e-5), ("Device:L", "4u7", 4.7e-6),
])
def test_accepted_forms(symbol, text, expected):
    assert values.check(symbol, text) == pytest.approx(expected)


@pytest.mark.parametrize("symbol, text", [
    ("Device:R", "2.2 kOm"), ("Device:R", "2.2 k"), ("Device:R", "2.2kOhms"), ("Device:R", "1..2 kOhm"),
    ("Device:R", "2k2k"), ("Device:R", "220 F"), ("Device:C", "1 µH"), ("Device:C", "100 nf"),
    ("Device:C", "2R2"), ("Device:L", "10 uF"), ("Device:R", ""),
])
def test_rejected_forms_name_the_value(symbol, text):
    with pytest.raises(values.BadValue, match=repr(text).replace(".", r"\.")):
        values.check(symbol, text)


@pytest.mark.parametrize("symbol, text", [("Transistor_BJT:BC547", "BC547"), ("Device:LED", "green"),
                                          ("Regulator_Linear:LM1085-3.3", "LM1085-3.3"), ("Isolator:4N35", "4N35")])
def test_part_numbers_are_exempt(symbol, text):
    assert values.check(symbol, text) is None


def test_a_bad_value_stops_the_circuit_naming_part_and_value():
    from hwtools.circuit import CircuitError, build_board

    with pytest.raises(CircuitError, match=r"R2: resistor value '2\.2 kOm'"):
        build_board({"R2": "2.2 kOm"})
