"""Where an S1 stream comes from: a capture file, stdin (``-``), or a serial port — a pyserial URL (a name
with ``://``) or a character device, opened at 2 Mbit/s 8N1. :meth:`Source.chunks` yields the bytes as they
come (from a port at least every ``POLL_S``), stops when ``stop()`` turns true (Ctrl-C), and raises
:class:`Stalled` when a port sends nothing for ``stall_timeout`` seconds or goes away; ``save`` gets a copy
of every byte read.
"""

from __future__ import annotations

import os
import select
import stat
import sys
import time
from typing import BinaryIO, Callable, Iterator

from firmware.s1frame import S1_BAUD

from ..errors import MeterError

READ_SIZE = 1 << 20
FIRST_READ_SIZE = 1 << 16  # a small first chunk, so the first frames come out at once
POLL_S = 0.1


class SourceError(MeterError):
    """The input cannot be opened; the message names it."""


class Stalled(Exception):
    """A port sent nothing for too long, or went away; the message names it."""


def is_port(name: str) -> bool:
    if "://" in name:
        return True
    try:
        return stat.S_ISCHR(os.stat(name).st_mode)
    except OSError:
        return False


class Source:
    """An opened input; use as a context manager."""

    def __init__(self, name: str, stall_timeout: float = 5.0, save: BinaryIO | None = None) -> None:
        self.name = name
        self.stall_timeout = stall_timeout
        self.save = save
        self.is_port = name != "-" and is_port(name)
        self.size: int | None = None  # bytes in a regular file, for progress
        self._serial = None
        self._fd: int | None = None
        if self.is_port:
            import serial  # pyserial: only needed for ports

            try:
                self._serial = serial.serial_for_url(name, baudrate=S1_BAUD, bytesize=serial.EIGHTBITS,
                                                     parity=serial.PARITY_NONE, stopbits=serial.STOPBITS_ONE,
                                                     timeout=POLL_S)
            except (serial.SerialException, ValueError, OSError) as e:
                raise SourceError(f"cannot open port {name}: {e}") from None
            try:
                self._fd = self._serial.fileno()
            except (AttributeError, serial.SerialException, OSError):
                self._fd = None  # loop://, rfc2217://: only pyserial's read
        elif name == "-":
            self._fd = sys.stdin.fileno()
        else:
            try:
                st = os.stat(name)
                if not stat.S_ISREG(st.st_mode):
                    raise SourceError(f"cannot read capture: {name}: not a regular file, a character device or a "
                                      f"pyserial URL")
                self._fd = os.open(name, os.O_RDONLY)
            except OSError as e:
                raise SourceError(f"cannot read capture: {name}: {e.strerror}") from None
            self.size = st.st_size

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        if self._serial is not None:
            self._serial.close()
        elif self._fd is not None and self.name != "-":
            os.close(self._fd)

    def chunks(self, stop: Callable[[], bool] = lambda: False) -> Iterator[bytes]:
        if self._serial is None:
            read = self._read_fd
        else:
            read = self._read_port_fd if self._fd is not None else self._read_port
        size = FIRST_READ_SIZE
        last_data = time.monotonic()
        while not stop():
            data = read(size)
            if data is None:  # nothing yet
                if self._serial is not None and time.monotonic() - last_data >= self.stall_timeout:
                    raise Stalled(f"no data from port {self.name} for {self.stall_timeout:g} s")
                continue
            if not data:  # end of file
                return
            last_data = time.monotonic()
            size = READ_SIZE
            if self.save is not None:
                self.save.write(data)
                self.save.flush()  # what was read is on disk even if the run is killed
            yield data

    def _read_port_fd(self, size: int) -> bytes | None:
        """Read a device or socket port from its file descriptor.

        pyserial's read() drops what it has read so far when the port goes away in the same call
        (pyserial 3.5, serialposix and protocol_socket), losing the last frames of a stream; reading
        the descriptor keeps every byte, and an end of file says the port is gone.
        """
        ready, _, _ = select.select([self._fd], [], [], POLL_S)
        if not ready:
            return None
        parts, got, t0 = [], 0, time.monotonic()
        while True:
            try:
                data = os.read(self._fd, size - got)
            except OSError as e:  # EIO: the other end of a pty closed
                if parts:
                    break
                raise Stalled(f"port {self.name} went away: {e.strerror}") from None
            if not data:
                if parts:
                    break
                raise Stalled(f"port {self.name} went away (end of stream)")
            parts.append(data)
            got += len(data)
            # Gather what is already waiting (a pty gives 4 kB a read), up to `size` or POLL_S.
            if got >= size or time.monotonic() - t0 > POLL_S or not select.select([self._fd], [], [], 0)[0]:
                break
        return b"".join(parts)

    def _read_port(self, size: int) -> bytes | None:
        import serial

        try:
            data = self._serial.read(size)  # returns after POLL_S with what has come
        except (serial.SerialException, OSError) as e:
            raise Stalled(f"port {self.name} went away: {e}") from None
        return data or None

    def _read_fd(self, size: int) -> bytes | None:
        if self.name == "-":  # a pipe may stay quiet: wait in steps, so Ctrl-C is seen
            ready, _, _ = select.select([self._fd], [], [], POLL_S)
            if not ready:
                return None
        return os.read(self._fd, size)
