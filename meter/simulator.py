"""The meter simulator: sends bytes onto a serial link the way a meter does, at the line rate.

Used by the bench to play the meter to a board (P1, and the S1 jig at 2 Mbaud) and by the simulated bench,
whose simulated board reads the other end of a pty (`LineState` tells it when the sender is between bursts).
"""
from __future__ import annotations

import os
import time
from typing import Callable

import serial

from .link import PortLost, open_url


class LineState:
    """Simulated links only: the sender says whether it is inside a burst and how many bytes it has
    written (a one-line file, replaced atomically). The simulated board treats the line as silent
    only when the sender is between bursts and every byte written has arrived, so a sender or socat
    that the scheduler holds back mid-telegram never looks like a meter that stopped: on a busy
    machine pacing may slow, but no frame is cut and no byte is lost. A real UART needs none of
    this (the adapter's FIFO keeps clocking bytes out)."""

    def __init__(self, path: str):
        self.path = path

    def mark(self, busy: bool, sent: int) -> None:
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{'busy' if busy else 'idle'} {sent}\n")
        os.replace(tmp, self.path)

    @staticmethod
    def quiet(path: str | None, received: int) -> bool:
        """True when the sender behind `path` is between bursts and `received` covers all it wrote."""
        if path is None:
            return True
        try:
            state, sent = open(path).read().split()
        except (OSError, ValueError):
            return True  # no sender yet
        return state == "idle" and received >= int(sent)


class MeterPort:
    """Sends bytes the way a meter does: at the line rate, paced by the sender.

    Ptys and sockets ignore the baud rate, so pacing is done here on every transport: each chunk is
    written no earlier than its bytes would have finished on the line (115200 8N1 for P1, 2 Mbit/s
    for S1; absolute schedule, so sleep jitter does not accumulate). On a real UART the adapter
    paces too; the schedule only keeps its buffer shallow. ``bytes_per_s`` below the line rate
    leaves idle time between chunks (an S1 meter sending fewer frames than the line could carry).
    """

    def __init__(self, url: str, baud: int = 115200, bits_per_byte: int = 10, write_timeout: float | None = 2.0,
                 chunk: int = 64, bytes_per_s: float | None = None, label: str = "meter port",
                 line_state: str | None = None):
        self.url, self.baud, self.label = url, baud, label
        line = baud / bits_per_byte
        self.bytes_per_s = min(line, bytes_per_s) if bytes_per_s else line
        self.chunk = chunk
        self._ser = open_url(url, baud, timeout=0, write_timeout=write_timeout, label=label)
        self.sent = 0
        self._line = LineState(line_state) if line_state else None

    def send(self, data: bytes, paced: bool = True, progress: Callable[[int], None] | None = None) -> float:
        """Write `data` as one burst; return the time it took (s). ``progress(bytes written)`` is called
        after every chunk."""
        t0 = time.perf_counter()
        if self._line:
            self._line.mark(True, self.sent)
        try:
            for i in range(0, len(data), self.chunk):
                part = data[i : i + self.chunk]
                if paced:
                    due = t0 + i / self.bytes_per_s
                    delay = due - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                self._ser.write(part)
                self.sent += len(part)
                if progress is not None:
                    progress(i + len(part))
            if paced:
                end = t0 + len(data) / self.bytes_per_s
                delay = end - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
        except (serial.SerialException, OSError) as e:
            raise PortLost(f"{self.label} {self.url}: write failed after {self.sent} bytes ({e})") from e
        finally:
            if self._line:
                self._line.mark(False, self.sent)
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
