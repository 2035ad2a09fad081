"""The p1reader board as skidl code — one function per block, composed like the schematic.

Reference designators, values and footprints are the proven v1.1 board's (traceability); every part
carries a real, orderable MPN. Rev 1.3 adds to that topology only what the worst-case rules (hwtools/rules/)
demand, each change argued in docs/rev-1.3.md; rev 1.4 adds what the layout rules demand (pin 1's clamp and ceramic,
the regulator's 1 µF ceramics, test points: docs/rev-1.4.md). Read top to bottom: P1 jack → inverter → Data
Request → ESD → power → D32 → I2C level shifter and display header → test points.
"""

from dataclasses import dataclass, field
from pathlib import Path

from . import kicadlibs, procs, values as part_values
from .errors import HwtoolsError
from .kicadlibs import import_skidl
from .variant import P1, Variant

skidl = import_skidl()

AXIAL = "Resistor_THT:R_Axial_DIN0309_L9.0mm_D3.2mm_P12.70mm_Horizontal"  # 9 mm body: a 1/2 W MFR-50
DISC = "Capacitor_THT:C_Disc_D3.8mm_W2.6mm_P2.50mm"  # KEMET Goldmax C315: 3.81 × 2.54 mm body, 2.54 mm leads
DISC_1UF = "Capacitor_THT:C_Rect_L4.6mm_W3.8mm_P2.50mm_MKS02_FKP02"  # KEMET Goldmax C320: 5.08 × 3.18 mm, 2.54 mm leads
TVS = "Diode_THT:D_DO-15_P12.70mm_Horizontal"  # DO-15 (DO-204AC), 7.6 mm body: 12.7 mm leaves the 1 mm lead bends
TEST_POINT = "TestPoint:TestPoint_Keystone_5005-5009_Compact"


# The BOM line of J1 (rev 1.4): i2c-levels passes with the backpack's own pull-ups fitted or removed
DISPLAY_HEADER_NOTE = ("right-angle 1x04 header for a 5 V 16x2 LCD on a PCF8574 I2C backpack (SCL SDA 5V GND); leave "
                       "the backpack's own SDA/SCL pull-ups on: they sit on the 5 V side of the Q3/Q4 level shifter")


class CircuitError(HwtoolsError):
    """The circuit description is incomplete or inconsistent (floating net, unmarked pin...)."""


@dataclass
class Board:
    """A built circuit with its parts by reference and nets by name."""

    circuit: object
    parts: dict = field(default_factory=dict)
    nets: dict = field(default_factory=dict)
    lib_ids: dict = field(default_factory=dict)  # ref → "Library:Symbol", as the schematic names it
    variant: Variant = P1

    def value(self, ref):
        """The part's value as a number in SI units ("2.2 kOhm" → 2200.0)."""
        from quantiphy import Quantity

        return float(Quantity(self.parts[ref].value))

    def pins_on(self, net_name):
        """Set of (ref, pin number) on a net."""
        return {(pin.part.ref, pin.num) for pin in self.nets[net_name].pins}

    def net_of(self, ref, pin_num):
        """Name of the net on a pin, or None when the pin is marked not-connected."""
        pin = self.parts[ref][str(pin_num)]
        return pin.net.name if pin.is_connected() else None


_SCHLIBS = {}  # one skidl library per symbol, loaded once per process


def _schlib(nickname, name, lib_dir):
    """The skidl library to make part `nickname:name` from: the project's own library, or a one-symbol copy of
    KiCad's (skidl would parse the whole library, several MB of s-expressions, in Python)."""
    key = (nickname, str(lib_dir)) if nickname == "p1reader" else (nickname, name)
    if key not in _SCHLIBS:
        if nickname == "p1reader":
            _SCHLIBS[key] = skidl.SchLib(str(Path(lib_dir) / f"{nickname}.kicad_sym"), tool=skidl.KICAD9)
        else:
            with procs.temp_dir("symbol") as tmp:
                path = tmp / f"{nickname}.kicad_sym"
                path.write_text(kicadlibs.symbol_subset(nickname, name), encoding="utf-8")
                _SCHLIBS[key] = skidl.SchLib(str(path), tool=skidl.KICAD9, use_cache=False, use_pickle=False)
    return _SCHLIBS[key]


class _Builder:
    """Creates parts and nets inside one fresh skidl Circuit (skidl's default circuit is global state)."""

    def __init__(self, values, lib_dir):
        self.values = values
        self.lib_dir = lib_dir
        self.ckt = skidl.Circuit()
        self.ckt.no_files = True
        self.nc = self.ckt.NC  # each circuit has its own no-connect net
        self.board = Board(self.ckt)

    def part(self, ref, symbol, value, footprint, mpn, manufacturer, in_bom=True):
        if ref in self.board.parts:  # skidl would rename the second one, which then reads as a missing part
            first = self.board.parts[ref]
            raise CircuitError(f"{ref}: reference used twice ({self.board.lib_ids[ref]} {first.value}, then "
                               f"{symbol} {value}): give each part its own reference")
        lib, _, name = symbol.partition(":")
        value = self.values.get(ref, value)
        try:
            part_values.check(symbol, value)
        except part_values.BadValue as e:
            raise CircuitError(f"{ref}: {e}") from e
        try:
            p = skidl.Part(_schlib(lib, name, self.lib_dir), name, ref=ref, tag=ref, value=value,
                           footprint=footprint, circuit=self.ckt)
        except Exception as e:  # skidl raises bare exceptions for unknown libraries and parts
            raise CircuitError(f"{ref}: cannot load symbol '{symbol}': {e}") from e
        p.fields["MPN"] = mpn
        p.fields["Manufacturer"] = manufacturer
        if not in_bom:
            p.fields["exclude_from_bom"] = "yes"
        self.board.parts[ref] = p
        self.board.lib_ids[ref] = symbol
        return p

    def net(self, name):
        n = skidl.Net(name, circuit=self.ckt)
        self.board.nets[name] = n
        return n


def p1_jack(b, p1_5v, drq, data, gnd):
    """J2: the RJ12 cable from the meter. Pin 4 is not connected in the meter either."""
    j2 = b.part("J2", "Connector:RJ12", "RJ12", "Connector_RJ:RJ12_Amphenol_54601-x06_Horizontal",
                "54601-906WPLF", "Amphenol ICC")
    p1_5v += j2[1]
    drq += j2[2]
    gnd += j2[3], j2[6]
    data += j2[5]
    j2[4] += b.nc


def inverter(b, p1_5v, data, rx, v3v3, gnd):
    """Pull the open-collector data line up and invert it with Q1 into a 3.3 V UART signal.

    R2 sets the current into the meter's output (≤ 5 mA; low enough in ohms that the meter's coupler does not
    saturate deeply, whose storage would otherwise skew the bits); R1 and R10 divide the line down to Q1's
    base, so a MARK anywhere up to the meter's 1.0 V LOW keeps Q1 off even hot; C9 carries the edges past the
    divider, so the switching speed does not pay for the higher DC threshold; R3 pulls RX to 3.3 V while the
    meter's output is low (idle line = MARK = RX high).

    Behind pin 5's clamp (the IEC 61000-4-2 pulse, hwtools/si/esd.py): the array holds a discharge at tens of volts,
    and C9 carries that edge to the base. R13 in series with C9 limits its current; D6 keeps the base above about
    -1 V (the BC547's emitter-base rating is 6 V). R13's 123 ns with C9 are little to an 8.7 µs bit.
    """
    r2 = b.part("R2", "Device:R", "1.2 kOhm", AXIAL, "MFR-50FBF52-1K2", "Yageo")
    r1 = b.part("R1", "Device:R", "6.8 kOhm", AXIAL, "MFR-50FBF52-6K8", "Yageo")
    r10 = b.part("R10", "Device:R", "5.6 kOhm", AXIAL, "MFR-50FBF52-5K6", "Yageo")
    c9 = b.part("C9", "Device:C", "560 pF", DISC, "C315C561J5G5TA", "KEMET")
    r3 = b.part("R3", "Device:R", "2.2 kOhm", AXIAL, "MFR-50FBF52-2K2", "Yageo")
    # TO-92_Inline_Wide, not the original's TO-92_Inline: its 1.05 mm pads on 0.75 mm drills leave a 0.15 mm
    # annular ring, below AISLER's 0.30 mm minimum; the wide variant (1.5 / 0.8 mm) meets it.
    q1 = b.part("Q1", "Transistor_BJT:BC547", "BC547", "Package_TO_SOT_THT:TO-92_Inline_Wide", "BC547BTA", "onsemi")
    r13 = b.part("R13", "Device:R", "220 Ohm", AXIAL, "MFR-50FBF52-220R", "Yageo")
    d6 = b.part("D6", "Diode:1N4148", "1N4148", "Diode_THT:D_DO-35_SOD27_P7.62mm_Horizontal", "1N4148", "onsemi")
    base, speedup = b.net("Q1_BASE"), b.net("Q1_SPEEDUP")
    p1_5v += r2[1]
    data += r2[2], r1[1], c9[1]
    speedup += c9[2], r13[1]
    base += r1[2], q1["B"], r10[1], r13[2], d6["K"]
    v3v3 += r3[1]
    rx += r3[2], q1["C"]
    gnd += q1["E"], r10[2], d6["A"]


def data_request(b, gpio_drq, p1_5v, drq, gnd):
    """GPIO12 lights U2's LED through R4; U2's transistor turns on Q2, which feeds pin 2 through R5.

    The optocoupler keeps the ESP32 from ever driving Data Request LOW (the meter forbids it); Q2, a PNP
    high-side switch from the P1 supply, gives the meter's 10 mA with a saturated transistor, so U2 only has
    to sink Q2's base current (R12) at whatever CTR it has. R11 holds Q2 off while U2 is dark. GPIO12 is a
    strapping pin: nothing here pulls it up, and the LED with R4 to ground keeps it low at reset.
    """
    r4 = b.part("R4", "Device:R", "220 Ohm", AXIAL, "MFR-50FBF52-220R", "Yageo")
    u2 = b.part("U2", "Isolator:4N35", "4N35", "Package_DIP:DIP-6_W7.62mm", "4N35", "Vishay")
    r5 = b.part("R5", "Device:R", "10 Ohm", AXIAL, "MFR-50FBF52-10R", "Yageo")
    q2 = b.part("Q2", "Transistor_BJT:BC557", "BC557", "Package_TO_SOT_THT:TO-92_Inline_Wide", "BC557BTA", "onsemi")
    r11 = b.part("R11", "Device:R", "10 kOhm", AXIAL, "MFR-50FBF52-10K", "Yageo")
    r12 = b.part("R12", "Device:R", "4.7 kOhm", AXIAL, "MFR-50FBF52-4K7", "Yageo")
    led_anode, q2_base, opto_c, switched = b.net("DRQ_LED"), b.net("DRQ_Q2_BASE"), b.net("DRQ_OPTO"), b.net("DRQ_SW")
    gpio_drq += r4[2]
    led_anode += r4[1], u2[1]
    gnd += u2[2], u2[4]
    opto_c += u2[5], r12[2]
    q2_base += r12[1], r11[2], q2["B"]
    p1_5v += q2["E"], r11[1]
    switched += q2["C"], r5[1]
    drq += r5[2]
    u2[3] += b.nc  # no connection inside the 4N35
    u2[6] += b.nc  # base left open: the LED alone switches the transistor


def esd(b, p1_5v, data, drq, gnd, drq_switched, q2_base):
    """Every live pin of the jack clamped where the cable enters: D3, a low-capacitance two-line ESD array, on data
    (pin 5) and Data Request (pin 2); D4, a 6.8 V bidirectional TVS (stand-off 5.8 V, above the meter's 5.5 V), on
    +5 V (pin 1), and C10, pin 1's ceramic, both at the jack.

    Behind pin 2's clamp (the IEC 61000-4-2 pulse, hwtools/si/esd.py): C11 with R5 (10 µs) keeps the clamped pin, at
    tens of volts, off Q2's collector (the BC557's VEBO 5 V, VCEO 45 V); D7 across Q2's emitter-base junction holds
    its base within a diode drop of the emitter when pin 1 is struck negative. Pin 5's part of it is in `inverter`."""
    d3 = b.part("D3", "Power_Protection:NUP2105L", "NUP2105L", "Package_TO_SOT_SMD:SOT-23", "NUP2105LT1G", "onsemi")
    d4 = b.part("D4", "Device:D_TVS", "P6KE6.8CA", TVS, "P6KE6.8CA", "Littelfuse")
    c10 = b.part("C10", "Device:C", "100 nF", DISC, "C315C104K5R5TA", "KEMET")
    c11 = b.part("C11", "Device:C", "1 µF", DISC_1UF, "C320C105K5R5TA", "KEMET")
    d7 = b.part("D7", "Diode:1N4148", "1N4148", "Diode_THT:D_DO-35_SOD27_P7.62mm_Horizontal", "1N4148", "onsemi")
    data += d3[1]
    drq += d3[2]
    p1_5v += d4[1], c10[1]
    drq_switched += c11[1]
    q2_base += d7["A"]
    p1_5v += d7["K"]
    gnd += d3[3], d4[2], c10[2], c11[2]


def power(b, p1_5v, v5, v3v3, usb_5v, gnd):
    """D2 blocks a crossed cable; the current limit (`current_limit`) holds the meter's current during a Wi-Fi burst
    while C1 carries the rest; D5 ORs in the D32's USB supply after the limit; U1, a low-dropout regulator, makes
    3.3 V for the whole board from whichever is higher.

    C6/C7 are the ceramic decoupling at U1's pins, C8 at the module's 3V pad; D1 shows 3V3 is up.
    """
    d2 = b.part("D2", "Diode:1N5817", "1N5817", "Diode_THT:D_DO-41_SOD81_P10.16mm_Horizontal", "1N5817-T", "Diodes Inc.")
    u1 = b.part("U1", "Regulator_Linear:MCP1825S", "MCP1825S-3.3", "Package_TO_SOT_THT:TO-220-3_Vertical",
                "MCP1825S-3302E/AB", "Microchip")
    # C1 carries the burst above the limit: 4700 µF (docs/rev-1.4.md "The meter's peak current"), a ø16 × 25 mm can
    c1 = b.part("C1", "Device:C_Polarized", "4700 µF", "Capacitor_THT:CP_Radial_D16.0mm_P7.50mm",
                "RGA472M1ABK-1625G", "Lelon")
    # 5 mm cans have 2.0 mm leads (parts.toml [tht_parts]): the v1.1 footprints had 2.5 mm
    c2 = b.part("C2", "Device:C_Polarized", "1 µF", "Capacitor_THT:CP_Radial_D5.0mm_P2.00mm",
                "UVR1H010MDD", "Nichicon")
    c3 = b.part("C3", "Device:C_Polarized", "220 µF", "Capacitor_THT:CP_Radial_D7.5mm_P2.50mm",
                "EEU-FR1A221", "Panasonic")
    c4 = b.part("C4", "Device:C_Polarized", "2.2 µF", "Capacitor_THT:CP_Radial_D5.0mm_P2.00mm",
                "UVR1H2R2MDD", "Nichicon")
    # C6/C7: the regulator's datasheet ceramics (≥ 1 µF, MCP1825S DS22056B), at its pins; C8 at the module's 3V pad
    ceramics = [b.part(ref, "Device:C", "1 µF", DISC_1UF, "C320C105K5R5TA", "KEMET") for ref in ("C6", "C7")]
    ceramics.append(b.part("C8", "Device:C", "100 nF", DISC, "C315C104K5R5TA", "KEMET"))
    r6 = b.part("R6", "Device:R", "220 Ohm", AXIAL, "MFR-50FBF52-220R", "Yageo")
    d1 = b.part("D1", "Device:LED", "LED", "LED_THT:LED_D5.0mm", "L-53GD", "Kingbright")
    led = b.net("PWR_LED")
    # D5: the USB side of the diode-OR (rev 1.4, power-path): USB alone runs U1 and so the module, and neither supply
    # can feed the other (D2 blocks USB → pin 1, D5 blocks P1 → the PC's VBUS)
    d5 = b.part("D5", "Diode:1N5817", "1N5817", "Diode_THT:D_DO-41_SOD81_P10.16mm_Horizontal", "1N5817-T", "Diodes Inc.")
    p1_5v += d2["A"]
    usb_5v += d5["A"]
    current_limit(b, b.net("LIM_IN"), v5, gnd)  # D2 → the limit → +5V; USB joins after it (not limited by it)
    b.board.nets["LIM_IN"] += d2["K"]
    v5 += d5["K"], u1["VI"], c1[1], c2[1], ceramics[0][1]
    v3v3 += u1["VO"], c3[1], c4[1], r6[1], ceramics[1][1]
    v3v3 += ceramics[2][1]
    gnd += u1["GND"], c1[2], c2[2], c3[2], c4[2], d1["K"], *(c[2] for c in ceramics)
    led += r6[2], d1["A"]


def current_limit(b, lim_in, v5, gnd):
    """Issue 26's p1-peak-current: the meter's current held at ≈ 185 mA during a Wi-Fi burst, C1 carrying the rest.

    R19 (1 Ω) senses the current after D2; U5, a 1.225 V shunt reference biased by R23, with the 0.1 % divider
    R21/R22 across it puts U4A's + input 185.3 mV below D2's cathode (1 Ω, not 0.5: the op-amp's offset is half
    the share of the limit's ± 3.5 % window); U4A integrates the difference (R26, C13) and
    drives Q5's base through R24: below the limit its output sits at 0 V and Q5 is saturated, above it Q5 turns
    down. U4 runs from D2's cathode (rail-to-rail input: the sense voltage sits 0.1 V under its supply); U4B is a
    follower at 0 V (unused). Figures and tolerance: docs/rev-1.4.md, "The meter's peak current".
    """
    lim_s, lim_x, lim_r, lim_n, lim_o, lim_b, spare = (b.net(n) for n in (
        "LIM_S", "LIM_X", "LIM_REF", "LIM_N", "LIM_O", "LIM_B", "LIM_SPARE"))
    r19 = b.part("R19", "Device:R", "1 Ohm", AXIAL, "MFR-50FBF52-1R", "Yageo")
    r21 = b.part("R21", "Device:R", "2.94 kOhm", AXIAL, "MFP-50BRD52-2K94", "Yageo")  # 0.1 %: the limit's divider
    r22 = b.part("R22", "Device:R", "16.5 kOhm", AXIAL, "MFP-50BRD52-16K5", "Yageo")
    r23 = b.part("R23", "Device:R", "10 kOhm", AXIAL, "MFR-50FBF52-10K", "Yageo")  # U5's bias: ≥ 60 µA left at 3 V
    r24 = b.part("R24", "Device:R", "1.2 kOhm", AXIAL, "MFR-50FBF52-1K2", "Yageo")
    r25 = b.part("R25", "Device:R", "10 kOhm", AXIAL, "MFR-50FBF52-10K", "Yageo")
    r26 = b.part("R26", "Device:R", "1 kOhm", AXIAL, "MFR-50FBF52-1K", "Yageo")
    c13 = b.part("C13", "Device:C", "1 nF", DISC, "C315C102K5R5TA", "KEMET")
    c14 = b.part("C14", "Device:C", "100 nF", DISC, "C315C104K5R5TA", "KEMET")
    u4 = b.part("U4", "p1reader:OpAmp_Dual_DIP8", "LMC6482A", "Package_DIP:DIP-8_W7.62mm", "LMC6482AIN/NOPB",
                "Texas Instruments")
    u5 = b.part("U5", "Reference_Voltage:LM4040LP-2.0", "LM4040A-1.2", "Package_TO_SOT_THT:TO-92_Inline_Wide",
                "LM4040AIZ-1.2/NOPB", "Texas Instruments")
    # BD140, not a BC327: at plug-in Q5 carries the limit with up to 5 V across it while C1 charges (parts.toml [bd140])
    q5 = b.part("Q5", "Transistor_BJT:BD140", "BD140-16", "Package_TO_SOT_THT:TO-126-3_Vertical", "BD140-16",
                "STMicroelectronics")
    lim_in += r19[1], r21[1], u5["K"], u4[8], c14[1]
    lim_s += r19[2], q5["E"], r25[1], r26[1]
    lim_x += r21[2], r22[1], u4[3]
    lim_r += r22[2], u5["A"], r23[1]
    lim_n += r26[2], c13[1], u4[2]
    lim_o += c13[2], u4[1], r24[1]
    lim_b += r24[2], q5["B"], r25[2]
    v5 += q5["C"]
    spare += u4[6], u4[7]
    gnd += r23[2], u4[4], u4[5], c14[2]


def d32_module(b, rx, gpio_drq, scl, sda, d32_en, d32_3v, gnd, s1_rx=None, usb_5v=None):
    """M1, the Lolin D32: UART2 RX on GPIO16, Data Request on GPIO12, I2C on GPIO22/21, S1 on GPIO4.

    Rev 1.4 (power-path): EN (the module's own regulator's enable) is tied to GND and the 3V pad to +3V3, so U1 is
    the ESP32's only regulator; the USB pad's 5 V reaches U1 through D5 (`power`). No jumper: no setting to get
    wrong. Pad 32 (second GND) stays unconnected as on the proven board: the module joins its GNDs inside.
    """
    m1 = b.part("M1", "p1reader:LolinD32", "LolinD32", "p1reader:LolinD32", "LOLIN D32", "WEMOS")
    rx += m1["GPIO16"]
    gpio_drq += m1["GPIO12"]
    scl += m1["GPIO22"]
    sda += m1["GPIO21"]
    d32_en += m1["EN"]
    d32_3v += m1["3V"]
    gnd += m1[17]
    if usb_5v is not None:
        usb_5v += m1["USB"]
    if s1_rx is not None:
        s1_rx += m1["GPIO4"]  # UART1 RX; not a strapping pin (0, 2, 5, 12, 15 are)
    for pin in m1.pins:
        if not pin.is_connected():
            pin += b.nc


def power_jumpers(b, d32_en, d32_3v, v3v3, gnd):
    """Rev 1.3's J3 "ESP32 PWR" (kept for the rev 1.3 fixture): jumper 1-2 holds EN low (the D32's own regulator
    off: USB cannot feed the ESP32), 3-4 feeds the module from U1. Rev 1.4 has no jumper (`d32_module`)."""
    j3 = b.part("J3", "Connector_Generic:Conn_02x02_Odd_Even", "ESP32 Power",
                "Connector_PinHeader_2.54mm:PinHeader_2x02_P2.54mm_Vertical", "TSW-102-07-G-D", "Samtec")
    gnd += j3[1]
    d32_en += j3[2]
    d32_3v += j3[3]
    v3v3 += j3[4]


def i2c_level_shifter(b, scl, sda, scl_5v, sda_5v, v3v3, v5):
    """Q3/Q4: NXP AN10441's bidirectional level shifter, one N-MOSFET per line, gate on +3V3, a pull-up on each side.

    Released, each side sits at its own rail (the display's PCF8574 reads a HIGH only from 0.7 × 5 V = 3.5 V up); the
    ESP32 pulling low turns the MOSFET on, the display pulling low pulls the ESP32's side down through the body diode
    until the MOSFET turns on; with +3V3 down the MOSFET stays off and the body diode blocks, so a powered display
    cannot feed the ESP32 (i2c-levels). BSS138, SMD: parts.toml [bss138] smd_reason. 10 kΩ each side: with a
    backpack's own 4.7 kΩ the display sinks ≤ 2.1 mA of its 3 mA.
    """
    for q, r_low, r_high, low, high in (("Q3", "R15", "R17", scl, scl_5v), ("Q4", "R16", "R18", sda, sda_5v)):
        fet = b.part(q, "Transistor_FET:BSS138", "BSS138", "Package_TO_SOT_SMD:SOT-23", "BSS138", "onsemi")
        pull_low = b.part(r_low, "Device:R", "10 kOhm", AXIAL, "MFR-50FBF52-10K", "Yageo")
        pull_high = b.part(r_high, "Device:R", "10 kOhm", AXIAL, "MFR-50FBF52-10K", "Yageo")
        v3v3 += fet["G"], pull_low[1]
        low += fet["S"], pull_low[2]
        v5 += pull_high[1]
        high += fet["D"], pull_high[2]


def i2c_display(b, scl, sda, v3v3, v5, gnd):
    """The ESP32's I2C bus to the 5 V display: the level shifter, then J1 on its 5 V side (rev 1.4, i2c-levels)."""
    scl_5v, sda_5v = b.net("I2C_SCL_5V"), b.net("I2C_SDA_5V")
    i2c_level_shifter(b, scl, sda, scl_5v, sda_5v, v3v3, v5)
    i2c_header(b, scl_5v, sda_5v, v5, gnd)


def i2c_header(b, scl, sda, v5, gnd):
    """J1: a 5 V I2C display (a 16×2 LCD on a PCF8574 backpack, parts.toml [i2c_display]); rev 1.4 joins it to the
    ESP32 through `i2c_level_shifter`."""
    j1 = b.part("J1", "Connector_Generic:Conn_01x04", "LCD pin header",
                "Connector_PinHeader_2.54mm:PinHeader_1x04_P2.54mm_Horizontal", "TSW-104-08-G-S-RA", "Samtec")
    if scl.name.endswith("_5V"):  # behind the level shifter: the BOM line says what the backpack's pull-ups do
        j1.fields["BOM note"] = DISPLAY_HEADER_NOTE  # hwtools/pcb.py BOM_NOTE
    scl += j1[1]
    sda += j1[2]
    v5 += j1[3]  # behind D2: a crossed cable cannot reach the display either
    gnd += j1[4]


def s1_port(b, s1_rx, v3v3, gnd):
    """J4 + U3: the meter's S1 port (RS-422, 2 Mbit/s, output only) into UART1 RX on GPIO4.

    The reader terminates the line (R7, 120 Ω) and biases it (R8 up, R9 down) so that an idle or
    unplugged cable reads as a steady MARK instead of noise: 3.3 V × 120 / (680 + 120 + 680) = 0.27 V,
    above the receiver's ±0.2 V threshold. U3's driver half is unused: DI held high, Y and Z open.
    """
    j4 = b.part("J4", "Connector:RJ12", "RJ12", "Connector_RJ:RJ12_Amphenol_54601-x06_Horizontal",
                "54601-906WPLF", "Amphenol ICC")
    u3 = b.part("U3", "Interface_UART:MAX3490xPA", "MAX3490", "Package_DIP:DIP-8_W7.62mm", "MAX3490ECPA+",
                "Analog Devices")
    r7 = b.part("R7", "Device:R", "120 Ohm", AXIAL, "MFR-50FBF52-120R", "Yageo")
    r8 = b.part("R8", "Device:R", "680 Ohm", AXIAL, "MFR-50FBF52-680R", "Yageo")
    r9 = b.part("R9", "Device:R", "680 Ohm", AXIAL, "MFR-50FBF52-680R", "Yageo")
    c5 = b.part("C5", "Device:C", "100 nF", DISC, "C315C104K5R5TA", "KEMET")
    bus_p, bus_m = b.net("S1_BUS_P"), b.net("S1_BUS_M")
    bus_p += j4[5], u3["A"], r7[1], r8[2]
    bus_m += j4[4], u3["B"], r7[2], r9[1]
    gnd += j4[3], u3["GND"], r9[2], c5[2]
    v3v3 += u3["VCC"], r8[1], c5[1], u3["DI"]
    s1_rx += u3["RO"]
    for pin in (j4[1], j4[2], j4[6], u3["Y"], u3["Z"]):
        pin += b.nc


def test_points(b):
    """TP1-TP7 (parts.toml [test_points]): where the bench's DMM and a reviewer's scope probe; Keystone 5005
    (red), GND's 5007 (black)."""
    from .facts import load_facts

    for ref, net in load_facts()["test_points"]["points"].items():
        tp = b.part(ref, "Connector:TestPoint", net, TEST_POINT, "5007" if net == "GND" else "5005", "Keystone")
        b.board.nets[net] += tp[1]


def mounting_holes(b):
    """H1-H4: M3 holes, not parts to buy (excluded from the BOM)."""
    for n in range(1, 5):
        b.part(f"H{n}", "Mechanical:MountingHole", "MountingHole_3.2mm_M3", "MountingHole:MountingHole_3.2mm_M3",
               "", "", in_bom=False)


def build_board(values=None, lib_dir: Path | None = None, variant: Variant = P1) -> Board:
    """Build the whole board in a fresh circuit; `values` overrides part values by ref (for what-if checks)."""
    from .project import LIB_DIR

    b = _Builder(values or {}, lib_dir or LIB_DIR)
    b.board.variant = variant
    p1_5v, v5, gnd, v3v3 = b.net("P1_5V"), b.net("+5V"), b.net("GND"), b.net("+3V3")
    data, drq, rx = b.net("P1_DATA"), b.net("P1_DRQ"), b.net("RX")
    gpio_drq, scl, sda = b.net("GPIO12_DRQ"), b.net("I2C_SCL"), b.net("I2C_SDA")
    usb_5v = b.net("USB_5V")

    p1_jack(b, p1_5v, drq, data, gnd)
    inverter(b, p1_5v, data, rx, v3v3, gnd)
    data_request(b, gpio_drq, p1_5v, drq, gnd)
    esd(b, p1_5v, data, drq, gnd, b.board.nets["DRQ_SW"], b.board.nets["DRQ_Q2_BASE"])
    power(b, p1_5v, v5, v3v3, usb_5v, gnd)
    s1_rx = b.net("S1_RX") if variant.has_s1 else None
    d32_module(b, rx, gpio_drq, scl, sda, gnd, v3v3, gnd, s1_rx, usb_5v)
    i2c_display(b, scl, sda, v3v3, v5, gnd)
    if s1_rx is not None:
        s1_port(b, s1_rx, v3v3, gnd)
    test_points(b)
    mounting_holes(b)
    unknown = sorted(set(values or {}) - set(b.board.parts))
    if unknown:  # a what-if value for a part the circuit does not have would silently change nothing
        raise CircuitError(f"no part {', '.join(unknown)} in the {variant} circuit (value given for it: "
                           + "; ".join(f"{ref}={values[ref]}" for ref in unknown) + ")")
    check_connected(b.board)
    return b.board


def check_connected(board: Board):
    """Every pin is on a net or marked NC, and every net joins at least two pins."""
    problems = []
    for ref, part in sorted(board.parts.items()):
        for pin in part.pins:
            if not pin.nets:
                problems.append(f"{ref} pin {pin.num} ({pin.name}) is floating: connect it or mark it NC")
    for name, net in sorted(board.nets.items()):
        if len(net.pins) < 2:
            problems.append(f"net {name} joins {len(net.pins)} pin(s): a floating net")
    if problems:
        raise CircuitError("; ".join(problems))
