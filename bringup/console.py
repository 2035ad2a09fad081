"""The board's console (its USB serial): a reader thread that parses the firmware's status lines — ``@T`` a
telegram's verdict after its echo, ``@H`` heartbeats, ``@R`` replies, ``@S`` S1 counters, ``@F`` raw S1
frames — and the commands the bench sends.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import serial

from meter.link import PortError, PortLost, open_url


class ConsoleTimeout(PortError):
    pass


class BoardRefused(PortError):
    """The board answered a command with ``@R ERR …`` (e.g. its firmware has no S1 port)."""


# Console lines, matched strictly so frame bytes (even corrupted ones) are not taken for status lines.
_T_RE = re.compile(rb"@T seq=(\d+) len=(\d+) crc_sent=([0-9A-Fa-f]{1,4}|-) crc_calc=([0-9A-F]{4}) "
                   rb"verdict=(ok|ok-nocrc|crc-error|truncated|framing-error|overflow) case=(upper|lower|-) "
                   rb"flag=([a-z-]+) reason=([a-z-]+)\r\n")
# The @H line's counters, in line order (firmware/p1frame.py's heartbeat_line writes them).
COUNTERS = ("telegrams", "ok", "crc_errors", "truncated", "framing", "overflow", "garbage", "uart_errors", "ok_nocrc")
_H_RE = re.compile(rb"@H fw=(\S+) proto=(\d+) uptime_ms=(\d+) "
                   + b" ".join(c.encode() + rb"=(\d+)" for c in COUNTERS) + rb"\r\n")
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


@dataclass
class S1Status:
    """An ``@S`` line: the board's S1 counters (since boot or ``S1 RESET``)."""

    frames: int
    fcs_errors: int
    seq_gaps: int
    skipped: int
    bytes: int
    uart_errors: int


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
        self.log = bytearray()  # what was read, for the report (up to log_limit bytes)
        self._log_limit = log_limit
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
            if self._take(bytes(self._buf[start : end + 2]), bytes(self._buf[:start]), now):
                del self._buf[: end + 2]  # with what preceded it: an @T's echo, else stray bytes
                self._scan = 0
            else:  # '@T ' inside frame bytes that is not a status line: look past it
                self._scan = start + 1

    def _take(self, line: bytes, before: bytes, now: float) -> bool:
        """Keep what a console line says (`before`: the bytes ahead of it); False if it is no status line."""
        state = self._state
        if (t := _T_RE.fullmatch(line)):
            n = int(t[2])
            verdict = t[5].decode()
            crc_sent = t[3].decode()
            flag, reason = (None if x == b"-" else x.decode() for x in (t[7], t[8]))
            state.reports.append(TelegramReport(
                int(t[1]), n, None if crc_sent == "-" else crc_sent, t[4].decode(), verdict, t[6].decode(),
                b"" if verdict == "overflow" else before[:n], now, flag, reason))
        elif (h := _H_RE.fullmatch(line)):
            counters = dict(zip(COUNTERS, map(int, h.groups()[3:])))
            state.heartbeats.append(Heartbeat(h[1].decode(), int(h[2]), int(h[3]), counters))
        elif (s1 := _S_RE.fullmatch(line)):
            state.s1_status.append(S1Status(*map(int, s1.groups())))
        elif (f := _F_RE.fullmatch(line)):
            state.s1_frames.append(bytes.fromhex(f[1].decode()))
        elif (r := _R_RE.fullmatch(line)):
            state.replies.append(r[1].decode())
        else:
            return False
        return True

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

        def got(state: ConsoleState):  # the first reply to it, or an error
            return next((r for r in state.replies[n0:] if r.startswith((expect_prefix, "ERR"))), None)

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
