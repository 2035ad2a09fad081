# A stand-in for MicroPython's `machine` on the unix port: records how the firmware sets up the
# hardware and serves UART bytes from FEED.
FEED = b""
CREATED = []


class Pin:
    OUT = 3

    def __init__(self, pin_id, mode=-1, value=None):
        CREATED.append(("Pin", pin_id, mode, value))
        self.id = pin_id
        self.values = [] if value is None else [value]

    def value(self, v):
        self.values.append(v)


class UART:
    def __init__(self, uart_id, **kw):
        CREATED.append(("UART", uart_id, sorted(kw.items())))
        self.pos = 0

    def any(self):
        return len(FEED) - self.pos

    def readinto(self, buf):
        n = min(len(buf), len(FEED) - self.pos)
        buf[:n] = FEED[self.pos:self.pos + n]
        self.pos += n
        return n
