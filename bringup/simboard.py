"""The simulated board under test: a process on two ptys that behaves like the firmware.

It reads the meter link, cuts and checks telegrams with the firmware's own ``Framer``, writes each
frame's echo and ``@T`` line to the console paced to the console baud, sends an ``@H`` heartbeat every
second and answers commands with the firmware's own ``Console``. An unfinished frame is reported as
truncated after the line has been quiet for ``--idle-ms``.

Faults (``--fault``), as a bad board or a bad line would show them:
  bit-errors     flip one bit in about 1 of 400 received bytes
  dropped-bytes  lose about 1 of 400 received bytes
  port-closed    close both ports and exit after the second telegram
  polarity       every received byte inverted (the input stage does not invert)

Run: ``python -m bringup.simboard --meter /dev/pts/3 --console /dev/pts/5``
"""
from __future__ import annotations

import argparse
import os
import random
import select
import sys
import time

import serial

from .firmware import p1frame
from .firmware.console import Console

FAULTS = ("bit-errors", "dropped-bytes", "port-closed", "polarity")


class PacedWriter:
    """Writes to a serial port no faster than its baud (ptys ignore baud)."""

    def __init__(self, ser, baud: int, bits_per_byte: int = 10):
        self.ser = ser
        self.bytes_per_s = baud / bits_per_byte
        self.free_at = time.perf_counter()  # when the simulated line is idle again

    def write(self, data: bytes, chunk: int = 256) -> None:
        for i in range(0, len(data), chunk):
            part = data[i : i + chunk]
            now = time.perf_counter()
            if self.free_at > now:
                time.sleep(self.free_at - now)
            self.ser.write(part)
            self.free_at = max(self.free_at, time.perf_counter()) + len(part) / self.bytes_per_s


class SimBoard:
    def __init__(self, meter_url: str, console_url: str, baud: int = 115200, console_baud: int = 921600,
                 heartbeat_s: float = 1.0, idle_ms: float = 20.0, fault: str | None = None, seed: int = 1):
        self.meter = serial.serial_for_url(meter_url, baudrate=baud, timeout=0)
        self.console = serial.serial_for_url(console_url, baudrate=console_baud, timeout=0, write_timeout=5)
        self.out = PacedWriter(self.console, console_baud)
        self.framer = p1frame.Framer()
        self.drq = False
        self.cmd = Console(self._set_drq, self._heartbeat, p1frame.FIRMWARE_VERSION, p1frame.PROTOCOL_VERSION)
        self.heartbeat_s, self.idle_s, self.fault = heartbeat_s, idle_ms / 1000.0, fault
        self.rng = random.Random(seed)
        self.t0 = time.monotonic()

    def _set_drq(self, on: bool) -> None:
        self.drq = on

    def _heartbeat(self) -> str:
        return p1frame.heartbeat_line(self.framer, int((time.monotonic() - self.t0) * 1000))

    def _line_fault(self, data: bytes) -> bytes:
        f = self.fault
        if f == "polarity":
            return bytes(b ^ 0xFF for b in data)
        if f == "bit-errors":
            return bytes(b ^ (1 << self.rng.randrange(8)) if self.rng.random() < 1 / 400 else b for b in data)
        if f == "dropped-bytes":
            return bytes(b for b in data if self.rng.random() >= 1 / 400)
        return data

    def _emit(self, reports) -> bool:
        for r in reports:
            self.out.write(p1frame.console_bytes(r))
            if self.fault == "port-closed" and self.framer.counters["telegrams"] >= 2:
                return False
        return True

    def run(self) -> int:
        mfd, cfd = self.meter.fileno(), self.console.fileno()
        next_hb = time.monotonic() + self.heartbeat_s
        last_rx = time.monotonic()
        while True:
            now = time.monotonic()
            wait = next_hb - now
            if self.framer.in_frame:
                wait = min(wait, last_rx + self.idle_s - now)
            ready, _, _ = select.select([mfd, cfd], [], [], max(0.0, wait))
            if mfd in ready:
                data = os.read(mfd, 4096)
                if not data:
                    return 0
                last_rx = time.monotonic()
                if not self._emit(self.framer.feed(self._line_fault(data))):
                    return 3
            if cfd in ready:
                data = os.read(cfd, 1024)
                if not data:
                    return 0
                for reply in self.cmd.feed(data):
                    self.out.write(reply.encode() + b"\r\n")
            now = time.monotonic()
            if self.framer.in_frame and now - last_rx >= self.idle_s:
                if not self._emit(self.framer.idle()):
                    return 3
            if now >= next_hb:
                self.out.write(self._heartbeat().encode() + b"\r\n")
                next_hb = now + self.heartbeat_s

    def close(self) -> None:
        for s in (self.meter, self.console):
            try:
                s.close()
            except Exception:
                pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bringup.simboard", description=__doc__.split("\n")[0])
    ap.add_argument("--meter", required=True, help="pyserial URL of the meter link (board side)")
    ap.add_argument("--console", required=True, help="pyserial URL of the console (board side)")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--console-baud", type=int, default=921600)
    ap.add_argument("--heartbeat", type=float, default=1.0, help="seconds between @H lines")
    ap.add_argument("--idle-ms", type=float, default=20.0, help="quiet time that ends an unfinished frame")
    ap.add_argument("--fault", choices=FAULTS)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    board = SimBoard(a.meter, a.console, a.baud, a.console_baud, a.heartbeat, a.idle_ms, a.fault, a.seed)
    try:
        return board.run()
    except (OSError, serial.SerialException):
        return 0  # a link went away: the bench is being torn down
    except KeyboardInterrupt:
        return 0
    finally:
        board.close()


if __name__ == "__main__":
    sys.exit(main())
