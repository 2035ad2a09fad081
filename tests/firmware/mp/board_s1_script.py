# Runs under CPython and MicroPython alike: drives main.Board with a fake P1 UART, a fake S1 UART,
# a pin and a clock. stdin holds the S1 byte stream; console commands are typed at fixed times.
import sys

import main


class FakeUart:
    def __init__(self, data, per_poll):
        self.data = data
        self.pos = 0
        self.per_poll = per_poll
        self.left = 0

    def tick(self):
        self.left = self.per_poll  # what the line brings in one pass

    def any(self):
        return min(self.left, len(self.data) - self.pos)

    def readinto(self, buf):
        n = min(len(buf), self.left, len(self.data) - self.pos)
        buf[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        self.left -= n
        return n


class FakePin:
    def value(self, v):
        pass


out = sys.stdout.buffer
s1 = FakeUart(sys.stdin.buffer.read(), 2000)  # 10 ms at 2 Mbit/s
p1 = FakeUart(b"", 0)
board = main.Board(p1, FakePin(), out.write, 0, main._diff, s1)
board.start()
now = 0
commands = {5: b"S1 STATUS\r\n", 150: b"s1 frames 3\r\n", 151: b"S1 FRAMES 0\n", 152: b"S1 FRAMES x\n",
            153: b"VERSION\n", 230: b"S1 RESET\n", 231: b"S1 STATUS\n"}
for step in range(250):
    now += 10
    s1.tick()
    if step in commands:
        board.console_input(commands[step])
    board.poll(now)
out.write(b"read=%d\n" % s1.pos)
