"""i2c-levels: the 5 V display on J1 against the ESP32's I2C pins, as ngspice operating points of the I2C block.

Rev 1.4 (a BSS138 level shifter, 10 kΩ pull-ups on each side) passes with the backpack's own pull-ups fitted or
removed; each way of getting it wrong fails on its own figure: rev 1.3 (J1 straight on the bus, the backpack pulling
it to 5 V), a plain 3.3 V bus (the backpack's pull-ups removed: 3.3 V is not a HIGH for a 5 V PCF8574), and a
shifter whose MOSFET has the through-hole parts' VGS(th) of 3.0 V (it does not turn on for the ESP32's LOW).
"""

import copy
import functools
from unittest import mock

import pytest

from hwtools import circuit
from hwtools.circuit import AXIAL
from hwtools.facts import load_facts
from hwtools.rules import i2c
from rev13_circuit import build_rev13


def plain_bus(b, scl, sda, v3v3, v5, gnd):
    """No shifter: 10 kΩ pull-ups to +3V3 and J1 straight on the ESP32's bus."""
    for ref, line in (("R15", scl), ("R16", sda)):
        r = b.part(ref, "Device:R", "10 kOhm", AXIAL, "MFR-50FBF52-10K", "Yageo")
        v3v3 += r[1]
        line += r[2]
    circuit.i2c_header(b, scl, sda, v5, gnd)


def build_plain_bus():
    with mock.patch.object(circuit, "i2c_display", plain_bus):
        return circuit.build_board()


@functools.cache
def figures(which, vgs_th=None):
    """{figure's words: Result} of a board: "1.4", "1.3" or "plain bus"; `vgs_th`: the BSS138's threshold instead."""
    board = {"1.4": circuit.build_board, "1.3": build_rev13, "plain bus": build_plain_bus}[which]()
    facts = load_facts()
    if vgs_th is not None:
        facts = copy.deepcopy(facts)
        facts["bss138"]["vgs_th_max_v"] = vgs_th
    return {r.what.split(" (")[0].split(",")[0]: r for r in i2c.judge(board, facts, i2c.measure(board, facts))}


PIN, HIGH, LOW_AT_DISPLAY, LOW_AT_ESP, SINK = ("ESP32 SDA/SCL over its VDD", "display's line released",
                                               "display's line with the ESP32 pulling low",
                                               "ESP32's line with the display pulling low",
                                               "current the display sinks pulling low")


def test_rev14_passes_every_figure_in_every_configuration():
    results = figures("1.4")
    assert set(results) == {PIN, HIGH, LOW_AT_DISPLAY, LOW_AT_ESP, SINK}
    assert [str(r) for r in results.values() if not r.passed] == []
    assert results[PIN].figure < 0.01  # the body diode blocks: nothing of the display's 5 V reaches the ESP32
    assert results[HIGH].figure == pytest.approx(results[HIGH].limit_min / 0.7, abs=0.01)  # the display's own rail
    assert "Q3, Q4, R15, R16, R17, R18" in str(results[PIN])


def test_every_power_state_and_drive_is_simulated():
    board, facts = circuit.build_board(), load_facts()
    runs = i2c.states(board, facts, i2c.block(board))
    powered = {(s.esp_v is None, s.display_v is None) for s in runs}
    assert powered == {(a, b) for a in (True, False) for b in (True, False)}
    assert {s.drive for s in runs if s.esp_v is None} == {"released", "display low"}  # an unpowered ESP32 pulls nothing
    assert {s.backpack_pullups for s in runs} == {True, False}
    assert {s.display_v for s in runs} == {None, *i2c.rail_range(board, facts, "+5V")}


def test_rev13_backpack_pulls_the_esp32_pin_above_its_vdd():
    """Rev 1.3: J1 on the ESP32's bus; the backpack's 4.7 kΩ to the display's 5 V feeds the unpowered ESP32."""
    result = figures("1.3")[PIN]
    assert not result.passed and result.figure > 0.5
    assert result.worst_case["esp32"] == "off" and result.worst_case["backpack_pullups"] == "fitted"
    assert str(result).startswith("FAIL")


def test_plain_33v_bus_is_no_high_for_a_5v_backpack():
    """3.3 V pull-ups and the backpack's removed: the ESP32 is safe, but 3.38 V is below 0.7 × 5.5 V = 3.85 V; with the
    backpack's pull-ups fitted the ESP32's pin goes above its VDD instead."""
    results = figures("plain bus")
    high = results[HIGH]
    assert not high.passed and high.figure < 3.4 and high.limit_min == pytest.approx(0.7 * 5.5)
    assert high.worst_case["backpack_pullups"] == "removed" and high.worst_case["display"] == "5.5 V"
    assert not results[PIN].passed and results[PIN].worst_case["backpack_pullups"] == "fitted"


def test_shifter_with_a_3v_threshold_does_not_pass_the_esp32s_low():
    """2N7000/BS170's VGS(th) maximum (3.0 V): at +3V3's low end less the ESP32's LOW the MOSFET stays off, the display
    keeps reading HIGH; the BSS138's 1.5 V passes (test_rev14_passes_every_figure_in_every_configuration)."""
    results = figures("1.4", vgs_th=3.0)
    low = results[LOW_AT_DISPLAY]
    assert not low.passed and low.figure > 4.0 and low.worst_case["drive"] == "ESP32 low"
    assert results[PIN].passed  # still safe: only the level fails


def test_a_part_the_deck_cannot_model_is_named():
    board = circuit.build_board()
    with mock.patch.dict(board.lib_ids, {"R15": "Device:L"}):
        with pytest.raises(i2c.I2cModelError, match=r"R15 \(Device:L\)"):
            i2c.measure(board, load_facts())
