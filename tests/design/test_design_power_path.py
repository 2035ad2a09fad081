"""power-path: every shunt placement of rev 1.3's "ESP32 PWR" header × USB × P1 as ngspice operating points.

Rev 1.4 (no header: EN on GND, the 3V pad on U1's +3V3, USB into +5V through D5) is safe in every configuration and
powered wherever a supply is; the rev 1.3 fixture fails in each unsafe configuration the review named, each checked
on its own operating point (not only the worst one the rule reports).
"""

import functools

import pytest

from hwtools.facts import load_facts
from hwtools.rules import power_path
from rev13_circuit import build_rev13


@functools.cache
def runs(rev):
    board = build_rev13() if rev == "1.3" else __import__("hwtools.circuit").circuit.build_board()
    return board, power_path.measure(board, load_facts())


def at(rev, shunts, usb, p1):
    """The figures of one configuration: shunts e.g. ("1-2", "3-4"); usb "absent"/"4.75 V"; p1 "absent"/"present
    4.9 V"/"crossed 5.5 V"."""
    wanted = {"shunts": "+".join(shunts) or "none", "usb": usb, "p1": p1}
    (figures,) = [f for c, f in runs(rev)[1] if c.corner() == wanted]
    return figures


def test_rev14_has_no_header_and_every_configuration_is_safe():
    board, measured = runs("1.4")
    assert power_path.jumper_header(board) is None
    assert len(measured) == 3 * 4  # USB absent/4.75/5.25 V × P1 absent/4.9/5.5 V/crossed
    results = power_path.judge(board, load_facts(), measured)
    assert [str(r) for r in results if not r.passed] == []
    assert {r.what for r in results} == {"U1 VOUT over VIN, highest",
                                         "ESP32 VDD where the documents call it powered, lowest",
                                         "ESP32 pin over its VDD, highest", "current back into a supply, highest"}


@pytest.mark.parametrize("usb, p1", [("4.75 V", "absent"), ("absent", "present 4.9 V"), ("4.75 V", "present 5.5 V"),
                                     ("5.25 V", "present 4.9 V"), ("4.75 V", "crossed 5.5 V")],
                         ids=["USB only", "P1 only", "both, P1 higher", "both, USB higher", "USB, crossed cable"])
def test_rev14_runs_on_each_useful_supply(usb, p1):
    """bringup/README.md's three settings (and USB with a crossed cable): the ESP32 at U1's 3.3 V, U1 not back-fed."""
    figures = at("1.4", (), usb, p1)
    assert figures["vdd"] == pytest.approx(3.3, abs=0.02)  # the model regulators: 10 A/V, ≤ 15 mV low
    assert figures["backfeed"] < -0.5  # U1's input at least 0.5 V above its output: it regulates


def test_rev14_with_no_supply_feeds_nothing():
    figures = at("1.4", (), "absent", "absent")
    assert abs(figures["vdd"]) < 0.01 and figures["pin_over"][0] < 0.01


def test_rev13_header_gives_every_placement():
    board, measured = runs("1.3")
    assert power_path.jumper_header(board) == "J3"
    assert {c.shunts for c, _ in measured} == set(power_path.SHUNT_SETS)
    assert len(measured) == len(power_path.SHUNT_SETS) * 3 * 4


def test_rev13_fails_the_rule():
    board, measured = runs("1.3")
    results = power_path.judge(board, load_facts(), measured)
    # rev 1.3 fails the first three; its USB pad was open, so nothing fed a supply back
    assert [r.passed for r in results] == [False, False, False, True], [str(r) for r in results]


# rev 1.3's unsafe configurations, each with the figure that fails and why
def test_rev13_usb_with_3_4_only_backfeeds_u1():
    """1-2 pulled (the module's regulator on), USB in, no meter: the module's 3.3 V drives U1's output, whose body
    diode feeds +5V, C1, C2 and the display."""
    figures = at("1.3", ("3-4",), "4.75 V", "absent")
    assert figures["backfeed"] > 0.3


def test_rev13_usb_alone_with_the_boms_shunts_leaves_the_esp32_unpowered():
    """The BOM's two shunts (1-2 holds EN low) and USB only — bringup/README.md's step 1 of rev 1.3 said USB powers
    the ESP32."""
    figures = at("1.3", ("1-2", "3-4"), "4.75 V", "absent")
    assert figures["vdd"] < 0.1
    assert power_path.documented_powered(runs("1.3")[0], power_path.Config(("1-2", "3-4"), 4.75, "absent", None))


def test_rev13_meter_without_3_4_feeds_gpio16_while_unpowered():
    """3-4 open, no USB: U1 runs +3V3, R3 feeds GPIO16 of the unpowered ESP32 through its ESD diode."""
    figures = at("1.3", ("1-2",), "absent", "present 4.9 V")
    assert figures["vdd"] < 3.0 and figures["pin_over"] == (pytest.approx(figures["pin_over"][0]), "GPIO16")
    assert figures["pin_over"][0] > 0.3


def test_rev13_shunt_1_3_shorts_the_module_rail():
    """1-3 (GND to the module's 3V pad) with USB: the module's regulator into a short, the ESP32 off."""
    figures = at("1.3", ("1-3",), "5.25 V", "absent")
    assert figures["vdd"] < 0.1
