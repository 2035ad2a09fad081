"""The rev 1.3 circuit as a test fixture: the rules issue 26 added must catch on it what the rev 1.4 review caught.
Its three changed blocks are kept here verbatim (the ESD array alone on pins 2 and 5; the regulator's 100 nF
ceramics; the inverter's 220 pF speed-up capacitor and 4.7 kΩ base resistor); the rest is today's code without
the test points. Its routed board is the committed rev 1.3 file in tests/data/rev-1.3/ (never re-routed)."""

from design_paths import REPO
from hwtools import circuit
from hwtools.circuit import AXIAL, DISC
from hwtools.variant import P1

BOARDS = REPO / "tests" / "data" / "rev-1.3" / "kicad"


def inverter(b, p1_5v, data, rx, v3v3, gnd):
    r2 = b.part("R2", "Device:R", "1.2 kOhm", AXIAL, "MFR-50FBF52-1K2", "Yageo")
    r1 = b.part("R1", "Device:R", "6.8 kOhm", AXIAL, "MFR-50FBF52-6K8", "Yageo")
    r10 = b.part("R10", "Device:R", "4.7 kOhm", AXIAL, "MFR-50FBF52-4K7", "Yageo")
    c9 = b.part("C9", "Device:C", "220 pF", DISC, "C315C221J5G5TA", "KEMET")
    r3 = b.part("R3", "Device:R", "2.2 kOhm", AXIAL, "MFR-50FBF52-2K2", "Yageo")
    q1 = b.part("Q1", "Transistor_BJT:BC547", "BC547", "Package_TO_SOT_THT:TO-92_Inline_Wide", "BC547BTA", "onsemi")
    base = b.net("Q1_BASE")
    p1_5v += r2[1]
    data += r2[2], r1[1], c9[1]
    base += r1[2], q1["B"], r10[1], c9[2]
    v3v3 += r3[1]
    rx += r3[2], q1["C"]
    gnd += q1["E"], r10[2]


def esd(b, data, drq, gnd):
    d3 = b.part("D3", "Power_Protection:NUP2105L", "NUP2105L", "Package_TO_SOT_SMD:SOT-23", "NUP2105LT1G", "onsemi")
    data += d3[1]
    drq += d3[2]
    gnd += d3[3]


def power(b, p1_5v, v5, v3v3, d32_3v, gnd):
    d2 = b.part("D2", "Diode:1N5817", "1N5817", "Diode_THT:D_DO-41_SOD81_P10.16mm_Horizontal", "1N5817-T", "Diodes Inc.")
    u1 = b.part("U1", "Regulator_Linear:MCP1825S", "MCP1825S-3.3", "Package_TO_SOT_THT:TO-220-3_Vertical",
                "MCP1825S-3302E/AB", "Microchip")
    c1 = b.part("C1", "Device:C_Polarized", "1000 µF", "Capacitor_THT:CP_Radial_D8.0mm_P3.50mm",
                "EEU-FR1A102L", "Panasonic")
    c2 = b.part("C2", "Device:C_Polarized", "1 µF", "Capacitor_THT:CP_Radial_D5.0mm_P2.00mm",
                "UVR1H010MDD", "Nichicon")
    c3 = b.part("C3", "Device:C_Polarized", "220 µF", "Capacitor_THT:CP_Radial_D7.5mm_P2.50mm",
                "EEU-FR1A221", "Panasonic")
    c4 = b.part("C4", "Device:C_Polarized", "2.2 µF", "Capacitor_THT:CP_Radial_D5.0mm_P2.00mm",
                "UVR1H2R2MDD", "Nichicon")
    ceramics = [b.part(ref, "Device:C", "100 nF", DISC, "C315C104K5R5TA", "KEMET") for ref in ("C6", "C7", "C8")]
    r6 = b.part("R6", "Device:R", "220 Ohm", AXIAL, "MFR-50FBF52-220R", "Yageo")
    d1 = b.part("D1", "Device:LED", "LED", "LED_THT:LED_D5.0mm", "L-53GD", "Kingbright")
    led = b.net("PWR_LED")
    p1_5v += d2["A"]
    v5 += d2["K"], u1["VI"], c1[1], c2[1], ceramics[0][1]
    v3v3 += u1["VO"], c3[1], c4[1], r6[1], ceramics[1][1]
    d32_3v += ceramics[2][1]
    gnd += u1["GND"], c1[2], c2[2], c3[2], c4[2], d1["K"], *(c[2] for c in ceramics)
    led += r6[2], d1["A"]


def build_rev13(variant=P1):
    from hwtools.project import LIB_DIR

    b = circuit._Builder({}, LIB_DIR)
    b.board.variant = variant
    p1_5v, v5, gnd, v3v3 = b.net("P1_5V"), b.net("+5V"), b.net("GND"), b.net("+3V3")
    data, drq, rx = b.net("P1_DATA"), b.net("P1_DRQ"), b.net("RX")
    gpio_drq, scl, sda = b.net("GPIO12_DRQ"), b.net("I2C_SCL"), b.net("I2C_SDA")
    d32_en, d32_3v = b.net("D32_EN"), b.net("D32_3V")
    circuit.p1_jack(b, p1_5v, drq, data, gnd)
    inverter(b, p1_5v, data, rx, v3v3, gnd)
    circuit.data_request(b, gpio_drq, p1_5v, drq, gnd)
    esd(b, data, drq, gnd)
    power(b, p1_5v, v5, v3v3, d32_3v, gnd)
    s1_rx = b.net("S1_RX") if variant.has_s1 else None
    circuit.d32_module(b, rx, gpio_drq, scl, sda, d32_en, d32_3v, gnd, s1_rx)
    circuit.power_jumpers(b, d32_en, d32_3v, v3v3, gnd)
    circuit.i2c_header(b, scl, sda, v5, gnd)
    if s1_rx is not None:
        circuit.s1_port(b, s1_rx, v3v3, gnd)
    circuit.mounting_holes(b)
    circuit.check_connected(b.board)
    return b.board


def board_file(variant=P1):
    """The committed rev 1.3 routed board of a variant."""
    return BOARDS / variant.kicad_dir.relative_to(REPO / "kicad") / "p1reader.kicad_pcb"
