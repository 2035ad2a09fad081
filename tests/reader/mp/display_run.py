# Runs under MicroPython: the J1 display driven through the I2C seam by a model of a PCF8574 backpack on an
# HD44780 16x2 LCD (what the bus carries, decoded as the LCD would: EN's falling edge latches a nibble, RS picks
# data or command, 0x80|address moves the cursor). Feeds the telegram files named, then prints the LCD's two lines
# as JSON, and whether a bus with no display at the backpack's addresses is left alone.
import json
import sys

import display
import p1frame
import reading


class LcdModel:
    def __init__(self, address):
        self.address = address
        self.ddram = [" "] * 0x68
        self.cursor = 0
        self.high = None
        self.enable = False
        self.writes = 0

    def scan(self):
        return [0x50, self.address]  # an EEPROM beside it

    def writeto(self, address, data):
        assert address == self.address
        for b in data:
            self.writes += 1
            if self.enable and not b & display.ENABLE:
                self._nibble(b >> 4, b & display.RS)
            self.enable = bool(b & display.ENABLE)

    def _nibble(self, nibble, rs):
        if self.high is None:
            self.high = nibble
            return
        value, self.high = self.high << 4 | nibble, None
        if rs:
            self.ddram[self.cursor] = chr(value)
            self.cursor += 1
        elif value & 0x80:
            self.cursor = value & 0x7F

    def line(self, row):
        start = display.LINE_ADDRESS[row]
        return "".join(self.ddram[start:start + display.WIDTH])


class EmptyBus:
    def scan(self):
        return [0x50]


lcd = LcdModel(0x27)
address = display.find(lcd)
screen = display.Display(lcd, address)
meter = reading.Reading()
framer = p1frame.Framer()
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for report in framer.feed(f.read()):
            meter.take(report.telegram)
screen.show(*display.lines(meter.state))
writes = lcd.writes
screen.show(*display.lines(meter.state))  # nothing changed: nothing written
print(json.dumps({"address": address, "lines": [lcd.line(0), lcd.line(1)], "again": lcd.writes - writes,
                  "empty_bus": display.find(EmptyBus()), "no_bus": display.find(None)}))
