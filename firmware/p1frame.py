"""P1 telegram framing and CRC-16/ARC, shared by the board firmware and the host simulation.

Runs unchanged under CPython and MicroPython: no dataclasses, no typing, no f-strings, no
bytes.hex(sep). A telegram runs from '/' to the CR LF after '!' and its CRC (four hex digits; DSMR
2.2/3 meters send none, a few meters fewer than four); the CRC covers '/' through '!'.
"""

P1_BAUD = 115200  # the P1 line, 8N1 (DSMR P1 5.0.2): the firmware's UART2 and every host tool
PROTOCOL_VERSION = 3  # 3: verdict ok-nocrc, 1-4 digit CRCs, @T flag= and reason=, @H ok_nocrc=
FIRMWARE_VERSION = "1.2.0"
IDLE_MS = 200  # silence inside a frame that ends it: a meter sends a telegram in < 100 ms
MAX_TELEGRAM = 4096  # bytes buffered per telegram; beyond -> overflow
# A line may be as long as a telegram (a long text message in 0-0:96.13.0): the line check costs
# no memory (a counter), so it can never drop a telegram the buffer could hold.
MAX_LINE = MAX_TELEGRAM

VERDICTS = ("ok", "ok-nocrc", "crc-error", "truncated", "framing-error", "overflow")
# Why a frame was a framing-error (the @T line's reason=).
LINE_TOO_LONG = "line-too-long"  # a line over MAX_LINE characters (CR LF not counted)
BAD_CRC_FORMAT = "bad-crc-format"  # after '!': a non-hex byte, or a fifth digit, before CR
NO_LF = "no-lf"  # the CR after the CRC is not followed by LF
CRC_UNPADDED = "crc-unpadded"  # flag of an ok frame whose CRC had 1-3 digits (compared as if zero-padded)

_SLASH = 0x2F
_BANG = 0x21
_CR = 0x0D
_LF = 0x0A

# Framer states.
_OUTSIDE = 0  # between telegrams: bytes are garbage until '/'
_BODY = 1  # header and data lines
_DIGITS = 2  # after '!': up to four hex digits, then CR
_EXPECT_LF = 3


def _make_table():
    # CRC-16/ARC: polynomial 0x8005 reflected = 0xA001, init 0, no final XOR.
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def crc16_arc(data, crc=0):
    """CRC-16/ARC of the bytes in `data`, continuing from `crc` (0 to start)."""
    table = _TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


def _is_hex(b):
    return 0x30 <= b <= 0x39 or 0x41 <= b <= 0x46 or 0x61 <= b <= 0x66


class Report:
    """The outcome of one frame: what arrived, what the CRC says, and the verdict."""

    def __init__(self, seq, verdict, telegram, length, crc_sent, crc_calc, lowercase, flag=None, reason=None):
        self.seq = seq
        self.verdict = verdict
        self.telegram = telegram
        self.length = length
        self.crc_sent = crc_sent
        self.crc_calc = crc_calc
        self.lowercase = lowercase
        self.flag = flag  # CRC_UNPADDED or None
        self.reason = reason  # why a framing-error, else None

    def __repr__(self):
        return ("Report(seq=%d, verdict=%r, length=%d, crc_sent=%r, crc_calc=0x%04X, lowercase=%r, flag=%r, "
                "reason=%r)") % (self.seq, self.verdict, self.length, self.crc_sent, self.crc_calc, self.lowercase,
                                 self.flag, self.reason)


class Framer:
    """Cuts a byte stream into P1 telegrams and checks their CRC.

    Memory is one bytearray of `max_telegram` bytes allocated here and reused for every frame;
    an over-long frame keeps running through the same buffer (its CRC folded in as it fills) so the
    report can still give its full length and the framer resynchronises at the next '/'.
    """

    def __init__(self, max_telegram=MAX_TELEGRAM):
        if max_telegram < 8:
            raise ValueError("max_telegram must hold at least '/!XXXX\\r\\n'")
        self.max_telegram = max_telegram
        self._buf = bytearray(max_telegram)
        self._mv = memoryview(self._buf)
        self._digits = bytearray(4)
        self.counters = {
            "telegrams": 0, "ok": 0, "ok_nocrc": 0, "crc_error": 0, "truncated": 0,
            "framing_error": 0, "overflow": 0, "garbage_bytes": 0,
        }
        self._state = _OUTSIDE
        self._start()

    @property
    def in_frame(self):
        """True while a frame has started and not yet been reported."""
        return self._state != _OUTSIDE

    def _start(self):
        self._pos = 0  # bytes in the buffer
        self._length = 0  # bytes in the frame, including any that overflowed
        self._crc = 0  # CRC folded in from buffer fills (overflow only)
        self._bang = -1  # buffer index just after '!' (CRC ends there), -1 before '!'
        self._line = 0  # characters in the current line, CR and LF not counted
        self._ndigits = 0
        self._crc_closed = False  # the digits ended (CR, or a fourth digit): crc_sent is known
        self._overflowed = False

    def _put(self, b):
        if self._pos == self.max_telegram:
            # Overflow: fold what the CRC covers into the running CRC and reuse the buffer.
            end = self._pos if self._bang < 0 else self._bang
            self._crc = crc16_arc(self._mv[:end], self._crc)
            if self._bang >= 0:
                self._bang = 0
            self._pos = 0
            self._overflowed = True
        self._buf[self._pos] = b
        self._pos += 1
        self._length += 1

    def _finish(self, verdict, reason=None):
        """Report the frame. verdict None: it ended in CR LF after '!' and the CRC decides."""
        end = self._pos if self._bang < 0 else self._bang
        crc_calc = crc16_arc(self._mv[:end], self._crc)
        crc_sent = None
        lowercase = False
        flag = None
        if self._crc_closed and self._ndigits:
            crc_sent = "".join([chr(d) for d in self._digits[:self._ndigits]])
            lowercase = crc_sent != crc_sent.upper()
            if verdict is None:
                verdict = "ok" if int(crc_sent, 16) == crc_calc else "crc-error"
                if verdict == "ok" and self._ndigits < 4:
                    flag = CRC_UNPADDED
        elif verdict is None:  # '!' CR LF: a DSMR 2.2/3 meter sends no CRC
            verdict = "ok-nocrc"
        if self._overflowed:
            verdict = "overflow"
            telegram = b""
        else:
            telegram = bytes(self._mv[:self._pos])
        c = self.counters
        c["telegrams"] += 1
        c[verdict.replace("-", "_")] += 1
        report = Report(c["telegrams"], verdict, telegram, self._length, crc_sent, crc_calc, lowercase, flag,
                        reason if verdict == "framing-error" else None)
        self._state = _OUTSIDE
        self._start()
        return report

    def feed(self, data):
        """Take bytes (any split of the stream); return the reports of frames that ended in them."""
        reports = []
        for b in data:
            state = self._state
            if state == _OUTSIDE:
                if b == _SLASH:
                    self._state = _BODY
                    self._put(b)
                    self._line = 1
                else:
                    self.counters["garbage_bytes"] += 1
                continue
            if b == _SLASH:
                # A new header: the meter (or the line) dropped the rest of the old frame.
                reports.append(self._finish("truncated"))
                self._state = _BODY
                self._put(b)
                self._line = 1
                continue
            self._put(b)
            if state == _BODY:
                if b == _BANG:
                    self._bang = self._pos
                    self._state = _DIGITS
                elif b == _LF:
                    self._line = 0
                elif b != _CR:
                    self._line += 1
                    if self._line > MAX_LINE:
                        reports.append(self._finish("framing-error", LINE_TOO_LONG))
            elif state == _DIGITS:
                if b == _CR:
                    self._crc_closed = True
                    self._state = _EXPECT_LF
                elif _is_hex(b) and self._ndigits < 4:
                    self._digits[self._ndigits] = b
                    self._ndigits += 1
                    self._crc_closed = self._ndigits == 4
                else:
                    reports.append(self._finish("framing-error", BAD_CRC_FORMAT))
            elif b == _LF:  # _EXPECT_LF
                reports.append(self._finish(None))
            else:
                reports.append(self._finish("framing-error", NO_LF))
        return reports

    def idle(self):
        """The line has been silent: report an unfinished frame as truncated."""
        if self._state == _OUTSIDE:
            return []
        return [self._finish("truncated")]


def status_line(report):
    """The '@T' line for a report (no line end)."""
    if report.crc_sent is None:
        case = "-"
    elif report.lowercase:
        case = "lower"
    else:
        case = "upper"
    return "@T seq=%d len=%d crc_sent=%s crc_calc=%04X verdict=%s case=%s flag=%s reason=%s" % (
        report.seq, report.length, report.crc_sent or "-", report.crc_calc, report.verdict, case,
        report.flag or "-", report.reason or "-")


def heartbeat_line(framer, uptime_ms, uart_errors=0):
    """The '@H' line: firmware and protocol version plus all counters (no line end)."""
    c = framer.counters
    return ("@H fw=%s proto=%d uptime_ms=%d telegrams=%d ok=%d crc_errors=%d truncated=%d "
            "framing=%d overflow=%d garbage=%d uart_errors=%d ok_nocrc=%d") % (
        FIRMWARE_VERSION, PROTOCOL_VERSION, uptime_ms, c["telegrams"], c["ok"], c["crc_error"],
        c["truncated"], c["framing_error"], c["overflow"], c["garbage_bytes"], uart_errors, c["ok_nocrc"])


def console_bytes(report):
    """What the board writes to the console for a report: echo, then the '@T' line, CR LF.

    A partial echo that does not end in LF gets a CR LF so the '@T' line starts a line; the
    echo itself is always the first `len` bytes (none for overflow).
    """
    echo = report.telegram
    if echo and echo[-1] != _LF:
        echo = echo + b"\r\n"
    return echo + status_line(report).encode() + b"\r\n"
