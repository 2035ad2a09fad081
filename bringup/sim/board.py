"""The simulated board under test: a process on two ptys that behaves like the firmware.

It reads the meter link, cuts and checks telegrams with the firmware's own ``Framer``, writes each
frame's echo and ``@T`` line to the console paced to the console baud, sends an ``@H`` heartbeat every
second and answers commands with the firmware's own ``Console``. An unfinished frame is reported as
truncated after the line has been quiet for 20 ms (with ``--line-state``: quiet *and* the sender
between bursts with every byte it wrote arrived — see ``bringup/sim/line_state.py``). With ``--s1`` it also
counts S1 frames on a third link with the firmware's own ``s1frame.Counter`` and adds an ``@S`` line to every
heartbeat. ``--fault`` plays a bad board or a bad line (the table in bringup/README.md, "Simulation").
"""
from __future__ import annotations

import argparse
import os
import random
import select
import sys
import time

import serial

from firmware import p1frame, s1frame
from firmware.console import Console
from meter.lines import BITS_PER_BYTE, P1_BAUD, S1_BAUD
from meter.simulator import PacedLine

from .faults import BOARD_FAULTS
from .line_state import LineState

DROPPED_TELEGRAM = 6  # drop-telegram: which telegram (counted by its '/') the line loses
S1_IDLE_S = s1frame.IDLE_MS / 1000  # as the firmware: silence that ends a cut-off frame


class SimBoard:
    def __init__(self, meter_url: str, console_url: str, baud: int = 115200, console_baud: int = 921600,
                 heartbeat_s: float = 1.0, idle_ms: float = 20.0, fault: str | None = None, seed: int = 1,
                 s1_url: str | None = None, line_state: str | None = None, s1_line_state: str | None = None):
        self.meter = serial.serial_for_url(meter_url, baudrate=baud, timeout=0)
        # no write timeout: a harness that reads slowly slows the board down (the pty blocks), loses nothing
        self.console = serial.serial_for_url(console_url, baudrate=console_baud, timeout=0, write_timeout=None)
        self.s1_link = serial.serial_for_url(s1_url, baudrate=S1_BAUD, timeout=0) if s1_url else None
        self.s1 = s1frame.Counter() if self.s1_link is not None else None
        self.out = PacedLine(self.console, console_baud / BITS_PER_BYTE, chunk=256)
        self.framer = p1frame.Framer()
        # Data Request drives no pin here: the console keeps its state
        self.cmd = Console(lambda on: None, self._heartbeat, p1frame.FIRMWARE_VERSION, p1frame.PROTOCOL_VERSION,
                           None if self.s1 is None else self)
        self.heartbeat_s, self.idle_s, self.fault = heartbeat_s, idle_ms / 1000.0, fault
        self.rng = random.Random(seed)
        self.t0 = time.monotonic()
        self.slashes = 0  # '/' seen on the meter line (drop-telegram)
        self.line_state, self.s1_line_state = line_state, s1_line_state
        self.rx = self.s1_rx = 0  # bytes read from each link (before any fault)

    def _heartbeat(self) -> str:
        return p1frame.heartbeat_line(self.framer, int((time.monotonic() - self.t0) * 1000))

    # The S1 side of the console, as main.Board has it.
    def s1_status(self) -> str:
        return s1frame.status_line(self.s1)

    def s1_frames(self, n: int) -> list[str]:
        return s1frame.frame_lines(self.s1, n)

    def s1_reset(self) -> None:
        self.s1.reset()

    def _beat(self) -> None:
        self.out.write(self._heartbeat().encode() + b"\r\n")
        if self.s1 is not None:
            self.out.write(self.s1_status().encode() + b"\r\n")

    def _s1_fault(self, data: bytes) -> bytes:
        if self.fault == "s1-bit-errors":
            return bytes(b ^ (1 << self.rng.randrange(8)) if self.rng.random() < 1 / 2000 else b for b in data)
        return data

    def _line_fault(self, data: bytes) -> bytes:
        f = self.fault
        if f == "polarity":
            return bytes(b ^ 0xFF for b in data)
        if f == "bit-errors":
            return bytes(b ^ (1 << self.rng.randrange(8)) if self.rng.random() < 1 / 400 else b for b in data)
        if f == "dropped-bytes":
            return bytes(b for b in data if self.rng.random() >= 1 / 400)
        if f == "drop-telegram":
            kept = bytearray()
            for b in data:
                self.slashes += b == 0x2F
                if self.slashes != DROPPED_TELEGRAM:
                    kept.append(b)
            return bytes(kept)
        return data

    def _emit(self, reports) -> bool:
        for r in reports:
            self.out.write(p1frame.console_bytes(r))
            if self.fault == "port-closed" and self.framer.counters["telegrams"] >= 2:
                return False
        return True

    def run(self) -> int:
        mfd, cfd = self.meter.fileno(), self.console.fileno()
        sfd = self.s1_link.fileno() if self.s1_link is not None else None
        fds = [mfd, cfd] + ([sfd] if sfd is not None else [])
        next_hb = time.monotonic() + self.heartbeat_s
        last_rx = last_s1 = time.monotonic()
        recheck = 0.01  # silence is due but the sender is mid-burst: look again this much later
        while True:
            now = time.monotonic()
            wait = next_hb - now
            if self.framer.in_frame:
                wait = min(wait, max(last_rx + self.idle_s - now, recheck if now - last_rx >= self.idle_s else 0))
            if self.s1 is not None and self.s1.waiting:
                wait = min(wait, max(last_s1 + S1_IDLE_S - now, recheck if now - last_s1 >= S1_IDLE_S else 0))
            ready, _, _ = select.select(fds, [], [], max(0.0, wait))
            if sfd is not None and sfd in ready:
                data = os.read(sfd, 65536)
                if not data:
                    return 0
                last_s1 = time.monotonic()
                self.s1_rx += len(data)
                self.s1.feed(self._s1_fault(data))
            if mfd in ready:
                data = os.read(mfd, 4096)
                if not data:
                    return 0
                last_rx = time.monotonic()
                self.rx += len(data)
                if not self._emit(self.framer.feed(self._line_fault(data))):
                    return 3
            if cfd in ready:
                data = os.read(cfd, 1024)
                if not data:
                    return 0
                for reply in self.cmd.feed(data):
                    self.out.write(reply.encode() + b"\r\n")
            now = time.monotonic()
            if (self.framer.in_frame and now - last_rx >= self.idle_s
                    and LineState.quiet(self.line_state, self.rx)):
                if not self._emit(self.framer.idle()):
                    return 3
            if (self.s1 is not None and self.s1.waiting and now - last_s1 >= S1_IDLE_S
                    and LineState.quiet(self.s1_line_state, self.s1_rx)):
                self.s1.flush()
            if now >= next_hb:
                self._beat()
                next_hb = now + self.heartbeat_s

    def close(self) -> None:
        for s in (self.meter, self.console, self.s1_link):
            if s is None:
                continue
            try:
                s.close()
            except Exception:
                pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bringup.sim.board", description=__doc__.split("\n")[0])
    ap.add_argument("--meter", required=True, help="pyserial URL of the meter link (board side)")
    ap.add_argument("--console", required=True, help="pyserial URL of the console (board side)")
    ap.add_argument("--baud", type=int, default=P1_BAUD)
    ap.add_argument("--console-baud", type=int, default=921600)
    ap.add_argument("--heartbeat", type=float, default=1.0, help="seconds between @H lines")
    ap.add_argument("--s1", help="pyserial URL of the S1 link (board side); none: a board without S1")
    ap.add_argument("--fault", choices=BOARD_FAULTS)
    ap.add_argument("--line-state", help="the meter-line sender's state file (bringup/sim/line_state.py)")
    ap.add_argument("--s1-line-state", help="the S1 sender's state file")
    a = ap.parse_args(argv)
    board = SimBoard(a.meter, a.console, a.baud, a.console_baud, a.heartbeat, fault=a.fault, s1_url=a.s1,
                     line_state=a.line_state, s1_line_state=a.s1_line_state)
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
