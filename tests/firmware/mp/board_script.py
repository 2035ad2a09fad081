# Runs under CPython and MicroPython alike: drives main.Board with a fake UART, pin and clock.
# stdin holds the meter's byte stream; console commands are typed at fixed times.
import sys

import main


class FakeUart:
    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.per_poll = 0

    def any(self):
        return min(self.per_poll, len(self.data) - self.pos)

    def readinto(self, buf):
        n = min(len(buf), len(self.data) - self.pos)
        buf[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


class FakePin:
    def __init__(self):
        self.values = []

    def value(self, v):
        self.values.append(v)


out = sys.stdout.buffer
uart = FakeUart(sys.stdin.buffer.read())
pin = FakePin()
board = main.Board(uart, pin, out.write, 1000)
board.start()
now = 1000
commands = {50: b"VERSION\r\n", 60: b"DRQ 1\n", 70: b"STA", 71: b"TUS\r", 80: b"DRQ 0\r\n", 90: b"bogus\n"}
for step in range(400):
    now += 10  # 10 ms a pass: 115200 baud brings ~115 bytes in that time
    uart.per_poll = 115 if step < 200 else 0  # then the meter falls silent
    if step in commands:
        board.console_input(commands[step])
    board.poll(now)
out.write(("pin=" + ",".join([str(v) for v in pin.values]) + "\n").encode())
