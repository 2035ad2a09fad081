"""p1reader bring-up firmware for the Lolin D32 (MicroPython on ESP32).

Reads P1 telegrams on UART2 (RX = GPIO16), echoes each one on the USB console followed by an '@T'
status line, writes an '@H' heartbeat every second and obeys console commands (DRQ on GPIO12).
Line protocol: README.md next to this file. All logic sits in `Board`, which takes its UART, pin,
output function and clock from outside; only `main()` touches `machine`, so the host tests can run
`Board` (and `main()` with a fake `machine`) under the unix MicroPython.
"""

import sys
import time

import console
import p1frame

UART_ID = 2
BAUD = 115200
RX_PIN = 16  # output of the transistor inverter: normal polarity, 3.3 V level
TX_PIN = 17  # nothing is sent to the meter; named so UART2 does not claim another pin
DRQ_PIN = 12  # HIGH = request: GPIO -> 220 ohm -> 4N35 LED. Strapping pin (MTDI): must be low at reset
UART_RXBUF = 4096  # ~350 ms of line time, so a slow console write loses nothing
IDLE_MS = 200  # a meter sends a telegram in < 100 ms; 200 ms of silence ends an unfinished frame
HEARTBEAT_MS = 1000
RX_CHUNK = 256
POLL_MS = 5  # loop sleep, spent waiting for console input


def _diff(a, b):
    return a - b


class Board:
    """The firmware's behaviour, independent of the hardware it is given."""

    def __init__(self, uart, drq_pin, write, now_ms, ticks_diff=_diff):
        self.uart = uart
        self.drq_pin = drq_pin
        self.write = write
        self.framer = p1frame.Framer()
        self.console = console.Console(self.set_drq, self.heartbeat,
                                       p1frame.FIRMWARE_VERSION, p1frame.PROTOCOL_VERSION)
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

    def _line(self, text):
        self.write(text.encode() + b"\r\n")

    def start(self):
        """Announce the board: one heartbeat right away, so a host sees the version at boot."""
        self._line(self.heartbeat())

    def console_input(self, data):
        """Bytes typed by the host: run the commands they complete."""
        for reply in self.console.feed(data):
            self._line(reply)

    def poll(self, now_ms):
        """One pass: read the UART, report telegrams, end silent frames, send the heartbeat."""
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
        if diff(now_ms, self._last_heartbeat) >= HEARTBEAT_MS:
            self._last_heartbeat = now_ms  # no catch-up burst after a stall
            self._line(self.heartbeat())


def open_hardware(machine):
    """UART2 and the DRQ pin of the p1reader board (DRQ low: no request until told)."""
    drq = machine.Pin(DRQ_PIN, machine.Pin.OUT, value=0)
    uart = machine.UART(UART_ID, baudrate=BAUD, bits=8, parity=None, stop=1,
                        rx=RX_PIN, tx=TX_PIN, rxbuf=UART_RXBUF, timeout=0)
    return uart, drq


def main(loops=None):
    """Run the firmware; `loops` bounds the passes (host tests), None runs forever."""
    import machine
    import select

    uart, drq = open_hardware(machine)
    out = getattr(sys.stdout, "buffer", sys.stdout)  # raw: telegram CR LF must not be re-cooked
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    board = Board(uart, drq, out.write, time.ticks_ms(), time.ticks_diff)
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
