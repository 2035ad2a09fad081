"""The J1 display: a 16×2 character LCD (HD44780) behind a PCF8574 I2C backpack, when one answers on the bus.
Runs unchanged under CPython and MicroPython; the bus is the seam's `i2c` (`scan()`, `writeto(addr, bytes)`).

Line 1: the power now and the running quarter's average; line 2: the headroom and the seconds left in the
quarter, `!` first while an alert stands. Written at most once a second by the reader's tick.
"""

ADDRESSES = (0x27, 0x3F)  # the PCF8574T and PCF8574AT backpacks' default addresses
RS, ENABLE, BACKLIGHT = 0x01, 0x04, 0x08  # PCF8574 P0, P2, P3; P4-P7 are the LCD's D4-D7
WIDTH = 16
LINE_ADDRESS = (0x00, 0x40)  # DDRAM address of each line's first character
INIT = (0x33, 0x32, 0x28, 0x0C, 0x06, 0x01)  # to 4-bit mode; 2 lines; display on; cursor moves right; clear


def find(i2c):
    """The display's address on the bus, or None (no display, or no bus)."""
    if i2c is None:
        return None
    try:
        found = i2c.scan()
    except OSError:
        return None
    for address in ADDRESSES:
        if address in found:
            return address
    return None


def lines(state):
    """The two lines for the reader's state ({topic: payload})."""
    alert = state.get("capacity/alert", "none") != "none"
    top = "P%s Q%s" % (state.get("power_import", "-"), state.get("capacity/average_kw", "-"))
    bottom = "%sH%skW %ss" % ("!" if alert else "", state.get("capacity/headroom_kw", "-"),
                              state.get("capacity/t_left_s", "-"))
    return top[:WIDTH], bottom[:WIDTH]


class Display:
    def __init__(self, i2c, address):
        self.i2c, self.address = i2c, address
        self.shown = None
        for command in INIT:
            self._byte(command, 0)

    def _nibble(self, nibble, mode):
        data = (nibble << 4) | BACKLIGHT | mode
        self.i2c.writeto(self.address, bytes((data | ENABLE, data)))  # the LCD latches on EN's falling edge

    def _byte(self, value, mode):
        self._nibble(value >> 4, mode)
        self._nibble(value & 0x0F, mode)

    def show(self, top, bottom):
        """Writes the lines that changed (padded to the width): the bus is busy only when there is news."""
        for row, text in enumerate((top, bottom)):
            text = (text + " " * WIDTH)[:WIDTH]
            if self.shown is not None and self.shown[row] == text:
                continue
            self._byte(0x80 | LINE_ADDRESS[row], 0)
            for ch in text:
                self._byte(ord(ch) if ord(ch) < 128 else ord("?"), RS)
        self.shown = ((top + " " * WIDTH)[:WIDTH], (bottom + " " * WIDTH)[:WIDTH])
