"""Serial links by pyserial URL — a device, ``rfc2217://``, ``socket://``, ``loop://``, a pty — and the errors
a link gives: cannot be opened, busy (another program holds it), lost.
"""
from __future__ import annotations

import errno

import serial

from .errors import MeterError


class PortError(MeterError):
    """A serial link could not be opened, was lost, or stayed silent."""


class PortLost(PortError):
    pass


class PortBusy(PortError):
    """Another program holds the port (a terminal left open, a second bring-up)."""


def open_url(url: str, baud: int, timeout: float | None = 0.05, write_timeout: float | None = 2.0,
             label: str = "port"):
    """Open a pyserial URL. A device path (a USB adapter, a pty) is opened exclusively — locked with
    flock(), as pyserial's ``exclusive=True`` does — so two programs never share a link: each would
    take bytes meant for the other, and the run would blame the board. A URL (``socket://``,
    ``rfc2217://``, ``loop://``) has no lock to take: the server at the other end decides who connects."""
    device = "://" not in url
    try:
        return serial.serial_for_url(url, baudrate=baud, timeout=timeout, write_timeout=write_timeout,
                                     **({"exclusive": True} if device else {}))
    except (serial.SerialException, OSError, ValueError) as e:
        # flock() refused (EAGAIN: another program holds the lock), or open() did (EBUSY: TIOCEXCL set)
        if getattr(e, "errno", None) in (errno.EAGAIN, errno.EBUSY):
            raise PortBusy(f"{label} {url} is busy: another program holds it") from e
        raise PortError(f"{label} {url}: cannot open ({e})") from e
