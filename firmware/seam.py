"""The reader's hardware seam: everything that differs between the D32 and the host, and nothing else.

`open_hardware(uart_path, state_dir)` gives an object with `uart_read()` (bytes or None, never blocking),
`wifi_up(config)`, `feed_watchdog()`, `state_dir` (the flash folder), `reset_cause()` and `i2c` (None when no
bus). On the D32: UART2 (GPIO16, RX buffer 4096 bytes), the station interface, the watchdog and I2C0 on the J1
pins. On the host (the MicroPython unix port): a serial device or pty opened as a file, Wi-Fi and watchdog no-ops,
a folder for flash, no I2C unless a test gives one.
"""

import os
import select
import sys

UART_RXBUF = 4096  # ≥ one 13-month telegram: a blocked loop loses nothing for 350 ms at 115200 baud
RX_CHUNK = 512
S1_CHUNK = 1024  # the S1 counter's scan buffer
S1_RXBUF = 8192  # 40 ms of S1 at 2 Mbit/sWATCHDOG_MS = 8000
I2C_SDA, I2C_SCL = 21, 22  # J1 (display): the ESP32's default I2C pins on the D32


SOL_SOCKET, SO_SNDBUF = 1, 7  # Linux's numbers: MicroPython's unix socket module does not name SO_SNDBUF
TCP_SNDBUF = 4096
VMIN = 6  # termios c_cc index: a read returns what is there, without waiting for a byte count


def open_serial(path, speed=None):
    """A serial device or pty, raw, reads returning what is there; (file, poll) for non-blocking reads."""
    import termios

    f = open(path, "rb")
    fd = f.fileno()
    termios.setraw(fd)  # 8N1, no echo, no line editing
    attrs = termios.tcgetattr(fd)
    if speed is not None:
        attrs[4] = attrs[5] = speed
    attrs[6][VMIN] = 0  # MicroPython's read(n) loops until n bytes unless the device returns fewer at once
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    poll = select.poll()
    poll.register(f, select.POLLIN)
    return f, poll


def read_now(f, poll, n):
    return (f.read(n) or None) if poll.poll(0) else None


class HostHardware:
    def __init__(self, uart_path, state_dir, s1_path=None):
        import termios

        self._uart = open_serial(uart_path, termios.B115200)
        self._s1 = open_serial(s1_path) if s1_path else None  # 2 Mbit/s is the adapter's to set: a pty has none
        self.state_dir = state_dir
        self.i2c = None

    def uart_read(self):
        return read_now(self._uart[0], self._uart[1], RX_CHUNK)

    def s1_read(self):
        """The S1 port's bytes (p1s1 boards), None when there are none or no S1 port."""
        return read_now(self._s1[0], self._s1[1], S1_CHUNK) if self._s1 else None

    def has_s1(self):
        return self._s1 is not None

    def wifi_up(self, config):
        return True

    def small_send_buffer(self, sock):
        """A TCP client's send buffer as small as the D32's (lwIP: about 5 KB), so a slow client shows alike."""
        sock.setsockopt(SOL_SOCKET, SO_SNDBUF, TCP_SNDBUF)

    def feed_watchdog(self):
        pass

    def reset_cause(self):
        return "host"


class BoardHardware:
    def __init__(self, state_dir, s1=False):
        import machine

        self._machine = machine
        self._uart = machine.UART(2, baudrate=115200, rx=16, tx=17, rxbuf=UART_RXBUF)
        # p1s1 boards: the RS-422 receiver's output on GPIO4 (UART1; TX moved to GPIO25, off the flash pins)
        self._s1 = machine.UART(1, baudrate=2000000, rx=4, tx=25, rxbuf=S1_RXBUF) if s1 else None
        self._wdt = machine.WDT(timeout=WATCHDOG_MS)
        self._wlan = None
        self.state_dir = state_dir
        try:
            self.i2c = machine.I2C(0, sda=machine.Pin(I2C_SDA), scl=machine.Pin(I2C_SCL), freq=400000)
        except (ValueError, OSError):
            self.i2c = None

    def uart_read(self):
        return self._uart.read(RX_CHUNK) if self._uart.any() else None

    def s1_read(self):
        return self._s1.read(S1_CHUNK) if self._s1 is not None and self._s1.any() else None

    def has_s1(self):
        return self._s1 is not None

    def wifi_up(self, config):
        import network  # Wi-Fi TX power is left at the default (full): the board's supply must hold it

        if self._wlan is None:
            self._wlan = network.WLAN(network.STA_IF)
            self._wlan.active(True)
        if not self._wlan.isconnected():
            self._wlan.connect(config["wifi_ssid"], config["wifi_password"])
        return self._wlan.isconnected()

    def feed_watchdog(self):
        self._wdt.feed()

    def small_send_buffer(self, sock):
        pass  # lwIP's is small already

    def reset_cause(self):
        causes = {getattr(self._machine, n, -1): n for n in ("PWRON_RESET", "HARD_RESET", "WDT_RESET",
                                                             "DEEPSLEEP_RESET", "SOFT_RESET")}
        return causes.get(self._machine.reset_cause(), "unknown")


def on_board():
    return sys.platform == "esp32"


def open_hardware(uart_path=None, state_dir="/data", s1=None):
    """s1: on the board, true for a p1s1 board (configuration `s1`); on the host, the S1 pty's path or None."""
    try:
        os.mkdir(state_dir)
    except OSError:
        pass  # it exists
    return BoardHardware(state_dir, bool(s1)) if on_board() else HostHardware(uart_path, state_dir, s1)
