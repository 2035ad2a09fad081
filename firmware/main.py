"""p1reader bring-up firmware for the Lolin D32 (MicroPython on ESP32).

Reads P1 telegrams on UART2 (RX = GPIO16), echoes each one on the USB console followed by an '@T'
status line, writes an '@H' heartbeat every second and obeys console commands (DRQ on GPIO12).
On the p1s1 board it also counts S1 frames on UART1 (RX = GPIO4, 2 Mbit/s) and adds an '@S' line
to every heartbeat. Line protocol: README.md next to this file. All logic sits in `Board`, which
takes its UARTs, pin, output function and clock from outside; only `main()` touches `machine`, so
the host tests can run `Board` (and `main()` with a fake `machine`) under the unix MicroPython.
"""

import sys
import time

import console
import p1frame
import s1frame

UART_ID = 2
BAUD = p1frame.P1_BAUD
RX_PIN = 16  # output of the transistor inverter: normal polarity, 3.3 V level
TX_PIN = 17  # nothing is sent to the meter; named so UART2 does not claim another pin
DRQ_PIN = 12  # HIGH = request: GPIO -> 220 ohm -> 4N35 LED. Strapping pin (MTDI): must be low at reset
UART_RXBUF = 4096  # ~350 ms of line time, so a slow console write loses nothing
IDLE_MS = p1frame.IDLE_MS
HEARTBEAT_MS = 1000
RX_CHUNK = 256
POLL_MS = 5  # loop sleep, spent waiting for console input

S1_ENABLED = True  # False: never touch UART1 (a board without the S1 receiver can leave it True)
S1_UART_ID = 1
S1_BAUD = s1frame.S1_BAUD
S1_RX_PIN = 4  # RO of the RS-422 receiver (p1s1 variant); not a strapping pin (0, 2, 5, 12, 15 are)
# UART1's default pins are GPIO9/10, the module's flash: TX must be moved to a pad the board leaves
# open. Nothing is sent on it.
S1_TX_PIN = 25
S1_RXBUF = 8192  # ~43 ms at the full 2 Mbit/s: covers a poll pass plus a console write
S1_CHUNK = 1024
S1_IDLE_MS = s1frame.IDLE_MS
S1_MAX_READS = 8  # per poll pass, so a flooded S1 line cannot starve the P1 side and the console


def _diff(a, b):
    return a - b


class Board:
    """The firmware's behaviour, independent of the hardware it is given."""

    def __init__(self, uart, drq_pin, write, now_ms, ticks_diff=_diff, s1_uart=None):
        self.uart = uart
        self.drq_pin = drq_pin
        self.write = write
        self.framer = p1frame.Framer()
        self.s1_uart = s1_uart
        self.s1 = None
        self.s1_uart_errors = 0
        if s1_uart is not None:
            self.s1 = s1frame.Counter()
            self._s1rx = bytearray(S1_CHUNK)
            self._s1mv = memoryview(self._s1rx)
            self._s1_last_rx = now_ms
        self.console = console.Console(self.set_drq, self.heartbeat, p1frame.FIRMWARE_VERSION,
                                       p1frame.PROTOCOL_VERSION, None if self.s1 is None else self)
        self.uart_errors = 0
        self.uptime_ms = 0
        self._ticks_diff = ticks_diff
        self._rx = bytearray(RX_CHUNK)
        self._rxmv = memoryview(self._rx)
        self._last_tick = now_ms
        self._last_rx = now_ms
        self._last_heartbeat = now_ms
        self.set_drq(False)

    def set_drq(self, on):
        self.drq_pin.value(1 if on else 0)

    def heartbeat(self):
        return p1frame.heartbeat_line(self.framer, self.uptime_ms, self.uart_errors)

    def s1_status(self):
        return s1frame.status_line(self.s1, self.s1_uart_errors)

    def s1_frames(self, n):
        return s1frame.frame_lines(self.s1, n)

    def s1_reset(self):
        self.s1.reset()
        self.s1_uart_errors = 0

    def _beat(self):
        self._line(self.heartbeat())
        if self.s1 is not None:
            self._line(self.s1_status())

    def _line(self, text):
        self.write(text.encode() + b"\r\n")

    def start(self):
        """Announce the board: one heartbeat right away, so a host sees the version at boot."""
        self._beat()

    def console_input(self, data):
        """Bytes typed by the host: run the commands they complete."""
        for reply in self.console.feed(data):
            self._line(reply)

    def poll(self, now_ms):
        """One pass: read the UARTs, report telegrams, count S1 frames, end silent frames, send the
        heartbeat."""
        diff = self._ticks_diff
        # Uptime is summed from differences because ticks_ms wraps (2**30 ms on the ESP32).
        self.uptime_ms += diff(now_ms, self._last_tick)
        self._last_tick = now_ms
        n = 0
        try:
            waiting = self.uart.any()
            if waiting:
                n = self.uart.readinto(self._rxmv[:min(waiting, RX_CHUNK)]) or 0
        except OSError:
            self.uart_errors += 1
        if n:
            self._last_rx = now_ms
            reports = self.framer.feed(self._rxmv[:n])
        elif self.framer.in_frame and diff(now_ms, self._last_rx) > IDLE_MS:
            reports = self.framer.idle()
        else:
            reports = []
        for report in reports:
            self.write(p1frame.console_bytes(report))
        if self.s1 is not None:
            if self._poll_s1():
                self._s1_last_rx = now_ms
            elif self.s1.waiting and diff(now_ms, self._s1_last_rx) > S1_IDLE_MS:
                self.s1.flush()  # a cut-off frame will not be completed: its bytes are skipped
        if diff(now_ms, self._last_heartbeat) >= HEARTBEAT_MS:
            self._last_heartbeat = now_ms  # no catch-up burst after a stall
            self._beat()

    def _poll_s1(self):
        """Read what the S1 UART holds (bounded per pass); True if anything came."""
        got = False
        for _ in range(S1_MAX_READS):
            try:
                waiting = self.s1_uart.any()
                if not waiting:
                    break
                n = self.s1_uart.readinto(self._s1mv[:min(waiting, S1_CHUNK)]) or 0
            except OSError:
                self.s1_uart_errors += 1
                break
            if not n:
                break
            got = True
            self.s1.feed(self._s1mv[:n])
        return got


def open_hardware(machine):
    """UART2 and the DRQ pin of the p1reader board (DRQ low: no request until told)."""
    drq = machine.Pin(DRQ_PIN, machine.Pin.OUT, value=0)
    uart = machine.UART(UART_ID, baudrate=BAUD, bits=8, parity=None, stop=1,
                        rx=RX_PIN, tx=TX_PIN, rxbuf=UART_RXBUF, timeout=0)
    return uart, drq


def open_s1(machine, enabled=S1_ENABLED):
    """UART1 at 2 Mbit/s on GPIO4 for the S1 port, or None when disabled or it cannot be created."""
    if not enabled:
        return None
    try:
        return machine.UART(S1_UART_ID, baudrate=S1_BAUD, bits=8, parity=None, stop=1,
                            rx=S1_RX_PIN, tx=S1_TX_PIN, rxbuf=S1_RXBUF, timeout=0)
    except (ValueError, OSError):
        return None  # the P1 side runs on; 'S1 STATUS' answers '@R ERR s1-disabled'


def main(loops=None, s1=S1_ENABLED):
    """Run the firmware; `loops` bounds the passes (host tests), None runs forever."""
    import machine
    import select

    uart, drq = open_hardware(machine)
    s1_uart = open_s1(machine, s1)
    out = getattr(sys.stdout, "buffer", sys.stdout)  # raw: telegram CR LF must not be re-cooked
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    board = Board(uart, drq, out.write, time.ticks_ms(), time.ticks_diff, s1_uart)
    poller = select.poll()
    poller.register(sys.stdin, select.POLLIN)
    board.start()
    try:
        while loops is None or loops > 0:
            if loops is not None:
                loops -= 1
            # The poll is the loop's sleep; Ctrl-C still raises KeyboardInterrupt (mpremote needs it).
            if poller.poll(POLL_MS):
                data = stdin.read(1)
                if data:
                    board.console_input(data)
            board.poll(time.ticks_ms())
    finally:
        drq.value(0)  # never leave the meter requested by a stopped firmware


if __name__ == "__main__":
    main()
