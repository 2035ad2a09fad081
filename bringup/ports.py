"""The serial links of the bench, opened by pyserial URL (a device, ``rfc2217://``, ``socket://``,
a pty): :class:`MeterPort` plays the meter (on the P1 link, and at 2 Mbaud on the S1 jig),
:class:`BoardConsole` is the board's own USB console.
"""
from __future__ import annotations

import errno
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import serial

from .firmware.p1frame import crc16_arc  # noqa: F401  (re-exported for steps)


class PortError(Exception):
    """A serial link could not be opened, was lost, or stayed silent."""


class PortLost(PortError):
    pass


class ConsoleTimeout(PortError):
    pass


class BoardRefused(PortError):
    """The board answered a command with ``@R ERR …`` (e.g. its firmware has no S1 port)."""


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


# Console lines, matched strictly so frame bytes (even corrupted ones) are not taken for status lines.
_T_RE = re.compile(rb"@T seq=(\d+) len=(\d+) crc_sent=([0-9A-Fa-f]{1,4}|-) crc_calc=([0-9A-F]{4}) "
                   rb"verdict=(ok|ok-nocrc|crc-error|truncated|framing-error|overflow) case=(upper|lower|-) "
                   rb"flag=([a-z-]+) reason=([a-z-]+)\r\n")
_H_RE = re.compile(rb"@H fw=(\S+) proto=(\d+) uptime_ms=(\d+) telegrams=(\d+) ok=(\d+) crc_errors=(\d+) "
                   rb"truncated=(\d+) framing=(\d+) overflow=(\d+) garbage=(\d+) uart_errors=(\d+) "
                   rb"ok_nocrc=(\d+)\r\n")
_R_RE = re.compile(rb"@R ((?:VERSION|DRQ|ERR|S1)[^\r\n]*)\r\n")
_S_RE = re.compile(rb"@S frames=(\d+) fcs_errors=(\d+) seq_gaps=(\d+) skipped=(\d+) bytes=(\d+) "
                   rb"uart_errors=(\d+)\r\n")
_F_RE = re.compile(rb"@F ([0-9A-F]{90})\r\n")
_ANY = re.compile(rb"@[THRSF] ")


@dataclass
class TelegramReport:
    seq: int
    length: int
    crc_sent: str | None
    crc_calc: str
    verdict: str
    case: str
    echo: bytes
    received_at: float
    flag: str | None = None  # "crc-unpadded"
    reason: str | None = None  # why a framing-error

    def describe(self) -> str:
        """The verdict with what qualifies it: 'ok', 'ok (crc-unpadded)', 'framing-error (line-too-long)'."""
        extra = self.flag or self.reason
        return f"{self.verdict} ({extra})" if extra else self.verdict


@dataclass
class Heartbeat:
    fw: str
    proto: int
    uptime_ms: int
    counters: dict
    received_at: float


@dataclass
class S1Status:
    """An ``@S`` line: the board's S1 counters (since boot or ``S1 RESET``)."""

    frames: int
    fcs_errors: int
    seq_gaps: int
    skipped: int
    bytes: int
    uart_errors: int
    received_at: float


@dataclass
class ConsoleState:
    reports: list[TelegramReport] = field(default_factory=list)
    heartbeats: list[Heartbeat] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    s1_status: list[S1Status] = field(default_factory=list)
    s1_frames: list[bytes] = field(default_factory=list)  # raw frames from '@F' lines


class BoardConsole:
    """Reads the board's console in a background thread and parses @T / @H / @R / @S / @F lines.

    For each ``@T`` the ``len`` bytes that precede it are the board's echo of the frame. Everything
    read is kept in a serial log for the report. A read error (port gone) is remembered and raised by
    whichever call waits next, as :class:`PortLost`.
    """

    def __init__(self, url: str, baud: int = 921600, timeout_s: float = 3.0, log_limit: int = 4 << 20):
        self.url, self.baud, self.timeout_s = url, baud, timeout_s
        self._ser = open_url(url, baud, timeout=0.05, write_timeout=2.0, label="console port")
        self._buf = bytearray()
        self._scan = 0  # where the next search for a console line starts
        self._cond = threading.Condition()
        self._state = ConsoleState()
        self._lost: str | None = None
        self._stop = threading.Event()
        self.log = bytearray()
        self._log_limit = log_limit
        self.log_dropped = 0
        self._thread = threading.Thread(target=self._reader, name=f"console {url}", daemon=True)
        self._thread.start()

    # --- reader thread
    def _reader(self) -> None:
        while not self._stop.is_set():
            try:
                # read() waits for all it asked for or the timeout: ask for what is there (≥ 1 byte)
                data = self._ser.read(min(max(1, self._ser.in_waiting), 65536))
            except (serial.SerialException, OSError, TypeError, AttributeError) as e:
                if not self._stop.is_set():
                    with self._cond:
                        self._lost = f"console port {self.url} lost: {e}"
                        self._cond.notify_all()
                return
            if not data:
                continue
            with self._cond:
                if len(self.log) < self._log_limit:
                    self.log += data
                else:
                    self.log_dropped += len(data)
                self._buf += data
                self._parse()
                self._cond.notify_all()

    def _parse(self) -> None:
        now = time.monotonic()
        while True:
            m = _ANY.search(self._buf, self._scan)
            if not m:
                # keep the buffer bounded while a frame streams in (frames ≤ MAX_TELEGRAM + slack)
                if len(self._buf) > 65536:
                    del self._buf[: len(self._buf) - 16384]
                    self._scan = 0
                return
            start = m.start()
            end = self._buf.find(b"\r\n", start)
            if end < 0:
                return
            line = bytes(self._buf[start : end + 2])
            before = bytes(self._buf[:start])
            if (t := _T_RE.fullmatch(line)):
                n = int(t[2])
                verdict = t[5].decode()
                echo = b"" if verdict == "overflow" else before[:n]
                crc_sent = t[3].decode()
                flag, reason = (None if x == b"-" else x.decode() for x in (t[7], t[8]))
                self._state.reports.append(TelegramReport(
                    int(t[1]), n, None if crc_sent == "-" else crc_sent, t[4].decode(), verdict,
                    t[6].decode(), echo, now, flag, reason))
                del self._buf[: end + 2]
            elif (h := _H_RE.fullmatch(line)):
                names = ("telegrams", "ok", "crc_errors", "truncated", "framing", "overflow", "garbage", "uart_errors",
                         "ok_nocrc")
                counters = {k: int(h[4 + i]) for i, k in enumerate(names)}
                self._state.heartbeats.append(Heartbeat(h[1].decode(), int(h[2]), int(h[3]), counters, now))
                # a heartbeat never splits a frame echo: whatever precedes it is stray
                del self._buf[: end + 2]
            elif (s1 := _S_RE.fullmatch(line)):
                self._state.s1_status.append(S1Status(*(int(x) for x in s1.groups()), received_at=now))
                del self._buf[: end + 2]
            elif (f := _F_RE.fullmatch(line)):
                self._state.s1_frames.append(bytes.fromhex(f[1].decode()))
                del self._buf[: end + 2]
            elif (r := _R_RE.fullmatch(line)):
                self._state.replies.append(r[1].decode())
                del self._buf[: end + 2]
            else:
                # '@T ' inside frame bytes that is not a status line: look past it
                self._scan = start + 1
                continue
            self._scan = 0

    # --- waiting helpers
    def _check_lost(self) -> None:
        if self._lost:
            raise PortLost(self._lost)

    def wait_for(self, predicate, timeout: float | None, what: str):
        """Wait until predicate(state) returns something truthy; return it."""
        timeout = self.timeout_s if timeout is None else timeout
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = predicate(self._state)
                if got:
                    return got
                self._check_lost()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ConsoleTimeout(f"console {self.url}: no {what} within {timeout:g} s "
                                         f"(console log has {len(self.log)} bytes)")
                self._cond.wait(min(left, 0.2))

    def send_command(self, cmd: str) -> None:
        self._check_lost()
        try:
            self._ser.write(cmd.encode("ascii") + b"\r\n")
            self._ser.flush()
        except (serial.SerialException, OSError) as e:
            raise PortLost(f"console port {self.url}: write failed ({e})") from e

    def command(self, cmd: str, expect_prefix: str, timeout: float | None = None, retry_s: float | None = None) -> str:
        """Send a command and wait for its ``@R`` reply (an ``@R ERR`` reply is returned too).

        With ``retry_s`` the command is repeated at that interval until answered (a board that is
        still booting, or a port that flushed its input when it was opened, misses the first one).
        """
        timeout = self.timeout_s if timeout is None else timeout
        with self._cond:
            n0 = len(self._state.replies)

        def got(state: ConsoleState):
            for r in state.replies[n0:]:
                if r.startswith(expect_prefix) or r.startswith("ERR"):
                    return r
            return None

        deadline = time.monotonic() + timeout
        while True:
            self.send_command(cmd)
            left = deadline - time.monotonic()
            try:
                return self.wait_for(got, min(left, retry_s) if retry_s else left, f"reply to {cmd!r}")
            except ConsoleTimeout:
                if not retry_s or time.monotonic() >= deadline:
                    raise ConsoleTimeout(f"console {self.url}: no reply to {cmd!r} within {timeout:g} s "
                                         f"(console log has {len(self.log)} bytes)") from None

    def status(self, timeout: float | None = None) -> Heartbeat:
        """Ask for an immediate heartbeat (STATUS) and return it."""
        with self._cond:
            n0 = len(self._state.heartbeats)
        self.send_command("STATUS")
        return self.wait_for(lambda s: s.heartbeats[n0] if len(s.heartbeats) > n0 else None, timeout, "@H reply to STATUS")

    def s1_status(self, timeout: float | None = None) -> S1Status:
        """Ask for the S1 counters (``S1 STATUS``); a board without S1 raises :class:`BoardRefused`."""
        with self._cond:
            n0, r0 = len(self._state.s1_status), len(self._state.replies)
        self.send_command("S1 STATUS")

        def got(state: ConsoleState):
            if len(state.s1_status) > n0:
                return state.s1_status[-1]
            return next((r for r in state.replies[r0:] if r.startswith("ERR")), None)

        answer = self.wait_for(got, timeout, "@S reply to 'S1 STATUS'")
        if isinstance(answer, str):
            raise BoardRefused(f"console {self.url}: board answered 'S1 STATUS' with '@R {answer}'")
        return answer

    def s1_frames(self, n: int, timeout: float | None = None) -> list[bytes]:
        """The board's last ``n`` raw S1 frames (``S1 FRAMES n``), oldest first."""
        with self._cond:
            f0 = len(self._state.s1_frames)
        reply = self.command(f"S1 FRAMES {n}", "S1 FRAMES", timeout)
        if reply.startswith("ERR"):
            raise BoardRefused(f"console {self.url}: board answered 'S1 FRAMES {n}' with '@R {reply}'")
        k = int(reply.split()[-1])
        with self._cond:  # the @F lines came before their @R line, so they are parsed already
            frames = self._state.s1_frames[f0:]
        return frames[len(frames) - k:] if k else []

    def report_count(self) -> int:
        with self._cond:
            return len(self._state.reports)

    def reports_since(self, n0: int) -> list[TelegramReport]:
        with self._cond:
            return list(self._state.reports[n0:])

    def wait_reports(self, n0: int, count: int, timeout: float | None = None) -> list[TelegramReport]:
        self.wait_for(lambda s: len(s.reports) >= n0 + count, timeout, f"{count} @T status line(s)")
        return self.reports_since(n0)[:count]

    def close(self) -> None:
        self._stop.set()
        try:
            self._ser.close()
        except Exception:
            pass
        self._thread.join(timeout=1.0)
