"""The rev 1.2 circuit (the proven v1.1 topology) as a test fixture: the worst-case rules must catch what the
rev 1.3 review caught on it. Its three changed blocks are kept here verbatim; the rest is today's code."""

from hwtools import circuit
from hwtools.circuit import AXIAL
from hwtools.variant import P1


def inverter(b, p1_5v, data, rx, v3v3, gnd):
    r2 = b.part("R2", "Device:R", "2.2 kOhm", AXIAL, "MFR-50FBF52-2K2", "Yageo")
    r1 = b.part("R1", "Device:R", "1 kOhm", AXIAL, "MFR-50FBF52-1K", "Yageo")
    r3 = b.part("R3", "Device:R", "2.2 kOhm", AXIAL, "MFR-50FBF52-2K2", "Yageo")
    q1 = b.part("Q1", "Transistor_BJT:BC547", "BC547", "Package_TO_SOT_THT:TO-92_Inline_Wide", "BC547BTA", "onsemi")
    base = b.net("Q1_BASE")
    p1_5v += r2[1]
    data += r2[2], r1[1]
    base += r1[2], q1["B"]
    v3v3 += r3[1]
    rx += r3[2], q1["C"]
    gnd += q1["E"]


def data_request(b, gpio_drq, p1_5v, drq, gnd):
    r4 = b.part("R4", "Device:R", "220 Ohm", AXIAL, "MFR-50FBF52-220R", "Yageo")
    u2 = b.part("U2", "Isolator:4N35", "4N35", "Package_DIP:DIP-6_W7.62mm", "4N35", "Vishay")
    r5 = b.part("R5", "Device:R", "10 Ohm", AXIAL, "MFR-50FBF52-10R", "Yageo")
    led_anode, emitter = b.net("DRQ_LED"), b.net("DRQ_EMITTER")
    gpio_drq += r4[2]
    led_anode += r4[1], u2[1]
    gnd += u2[2]
    p1_5v += u2[5]
    emitter += u2[4], r5[1]
    drq += r5[2]
    u2[3] += b.nc
    u2[6] += b.nc


def power(b, p1_5v, v3v3, gnd):
    u1 = b.part("U1", "Regulator_Linear:LM1085-3.3", "LM1085-3.3", "Package_TO_SOT_THT:TO-220-3_Vertical",
                "LM1085IT-3.3/NOPB", "Texas Instruments")
    c1 = b.part("C1", "Device:C_Polarized", "1000 µF", "Capacitor_THT:CP_Radial_D8.0mm_P3.50mm", "EEU-FR1A102", "Panasonic")
    c2 = b.part("C2", "Device:C_Polarized", "1 µF", "Capacitor_THT:CP_Radial_D7.5mm_P2.50mm", "UVR1H010MDD", "Nichicon")
    c3 = b.part("C3", "Device:C_Polarized", "220 µF", "Capacitor_THT:CP_Radial_D7.5mm_P2.50mm", "EEU-FR1A221", "Panasonic")
    c4 = b.part("C4", "Device:C_Polarized", "2.2 µF", "Capacitor_THT:CP_Radial_D5.0mm_P2.50mm", "UVR1H2R2MDD", "Nichicon")
    r6 = b.part("R6", "Device:R", "220 Ohm", AXIAL, "MFR-50FBF52-220R", "Yageo")
    d1 = b.part("D1", "Device:LED", "LED", "LED_THT:LED_D5.0mm", "L-53GD", "Kingbright")
    led = b.net("PWR_LED")
    p1_5v += u1["VI"], c1[1], c2[1]
    v3v3 += u1["VO"], c3[1], c4[1], r6[1]
    gnd += u1["GND"], c1[2], c2[2], c3[2], c4[2], d1["K"]
    led += r6[2], d1["A"]


def build_rev12(variant=P1):
    from hwtools.project import LIB_DIR

    b = circuit._Builder({}, LIB_DIR)
    p1_5v, gnd, v3v3 = b.net("P1_5V"), b.net("GND"), b.net("+3V3")
    data, drq, rx = b.net("P1_DATA"), b.net("P1_DRQ"), b.net("RX")
    gpio_drq, scl, sda = b.net("GPIO12_DRQ"), b.net("I2C_SCL"), b.net("I2C_SDA")
    d32_en, d32_3v = b.net("D32_EN"), b.net("D32_3V")
    circuit.p1_jack(b, p1_5v, drq, data, gnd)
    inverter(b, p1_5v, data, rx, v3v3, gnd)
    data_request(b, gpio_drq, p1_5v, drq, gnd)
    power(b, p1_5v, v3v3, gnd)
    s1_rx = b.net("S1_RX") if variant.has_s1 else None
    circuit.d32_module(b, rx, gpio_drq, scl, sda, d32_en, d32_3v, gnd, s1_rx)
    circuit.power_jumpers(b, d32_en, d32_3v, v3v3, gnd)
    circuit.i2c_header(b, scl, sda, p1_5v, gnd)
    if s1_rx is not None:
        circuit.s1_port(b, s1_rx, v3v3, gnd)
    circuit.mounting_holes(b)
    circuit.check_connected(b.board)
    return b.board
