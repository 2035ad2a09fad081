"""The meter simulator: sends bytes onto a serial link the way a meter does, at the line rate.

Used by the bench to play the meter to a board (P1, and the S1 jig at 2 Mbaud); the simulated bench's board
writes its console through the same pacer (`PacedLine`).
"""
from __future__ import annotations

import time
from typing import Callable

import serial

from .lines import BITS_PER_BYTE
from .link import PortLost, open_url


class PacedLine:
    """Writes to a serial link no faster than its line carries the bytes (ptys and sockets ignore the baud rate):
    each chunk goes out no earlier than the bytes before it would have finished on the line. Within a write the
    schedule is absolute, so sleep jitter does not add up; a write that finds the line idle starts a new one.
    On a real UART the adapter paces too: the schedule only keeps its buffer shallow."""

    def __init__(self, ser, bytes_per_s: float, chunk: int = 64):
        self.ser, self.bytes_per_s, self.chunk = ser, bytes_per_s, chunk
        self.free_at = 0.0  # when the bytes written so far have left the line

    def write(self, data: bytes, progress: Callable[[int], None] | None = None) -> None:
        self.free_at = max(self.free_at, time.perf_counter())
        for i in range(0, len(data), self.chunk):
            self.drain()
            part = data[i:i + self.chunk]
            self.ser.write(part)
            self.free_at += len(part) / self.bytes_per_s
            if progress is not None:
                progress(i + len(part))

    def drain(self) -> None:
        """Wait until everything written has left the line."""
        delay = self.free_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


class MeterPort:
    """Sends bytes the way a meter does: at the line rate (115200 8N1 for P1, 2 Mbit/s for S1), paced by the
    sender. ``bytes_per_s`` below the line rate leaves idle time between chunks (an S1 meter sending fewer
    frames than the line could carry). ``on_burst(busy, bytes sent so far)`` is told when a burst starts and
    ends (the simulated bench's line state)."""

    def __init__(self, url: str, baud: int = 115200, write_timeout: float | None = 2.0, chunk: int = 64,
                 bytes_per_s: float | None = None, label: str = "meter port",
                 on_burst: Callable[[bool, int], None] | None = None):
        self.url, self.baud, self.label = url, baud, label
        line = baud / BITS_PER_BYTE
        self._ser = open_url(url, baud, timeout=0, write_timeout=write_timeout, label=label)
        self._line = PacedLine(self._ser, min(line, bytes_per_s) if bytes_per_s else line, chunk)
        self.sent = 0
        self._on_burst = on_burst or (lambda busy, sent: None)

    @property
    def bytes_per_s(self) -> float:
        """The rate the bytes go out at: the line's, or the slower one asked for."""
        return self._line.bytes_per_s

    def send(self, data: bytes, paced: bool = True, progress: Callable[[int], None] | None = None) -> float:
        """Write `data` as one burst; return the time it took (s). ``progress(bytes written)`` is called
        after every chunk."""
        t0 = time.perf_counter()
        self._on_burst(True, self.sent)
        try:
            if paced:
                self._line.write(data, progress)
                self._line.drain()
            else:
                self._ser.write(data)
            self.sent += len(data)
        except (serial.SerialException, OSError) as e:
            raise PortLost(f"{self.label} {self.url}: write failed after {self.sent} bytes ({e})") from e
        finally:
            self._on_burst(False, self.sent)
        return time.perf_counter() - t0

    def cts(self) -> bool | None:
        """Logic level on CTS (Data Request watched through the adapter), None if the port has none."""
        try:
            return bool(self._ser.cts)
        except Exception:
            return None

    def close(self) -> None:
        try:
            self._ser.close()
        except Exception:
            pass
