# A stand-in for MicroPython's `machine` on the unix port: records how the firmware sets up the
# hardware and serves UART bytes from FEED (UART2, the P1 line) and FEED_S1 (UART1, the S1 line).
FEED = b""
FEED_S1 = b""
FAIL_UARTS = ()  # UART ids whose creation raises ValueError, as on a port without that UART/pin
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
        if uart_id in FAIL_UARTS:
            raise ValueError("invalid pin")
        self.feed = FEED_S1 if uart_id == 1 else FEED
        self.pos = 0

    def any(self):
        return len(self.feed) - self.pos

    def readinto(self, buf):
        n = min(len(buf), len(self.feed) - self.pos)
        buf[:n] = self.feed[self.pos:self.pos + n]
        self.pos += n
        return n
