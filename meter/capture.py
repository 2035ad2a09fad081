"""Captures of P1 telegrams as files: one telegram or a raw capture of many, with any bytes between them and a
cut telegram at either end — checked by stat() before anything is read, then read and framed exactly as the
board's firmware frames them (:mod:`firmware.p1frame` run over the same bytes on the host), so what a board
must report for them is known before they are sent.
"""
from __future__ import annotations

import bisect
import errno
import os
import stat
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

from firmware import p1frame

from .errors import MeterError

COMPLETE = ("ok", "ok-nocrc")  # verdicts of a telegram that arrived whole
# What --telegrams may send in one run unless --max-telegram-bytes raises it: about 6 minutes of line
# time at 115200 baud, and ~16 MB of memory while it is framed and judged.
DEFAULT_MAX_BYTES = 4_000_000
_NOT_CAPTURES = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                 (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))


class CaptureError(MeterError):
    """A telegram path cannot be used as a capture; names the path."""


def absolute(paths: list[str]) -> list[str]:
    """Paths made absolute without following symlinks (a symlink loop is named when checked, not here)."""
    return [os.path.abspath(p) for p in paths]


def _stat(p: Path, what: str) -> os.stat_result:
    """stat() with its failure named the way a user reads it."""
    try:
        return p.stat()
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise CaptureError(f"{what} {p}: symlink loop") from None
        if e.errno == errno.ENOENT and p.is_symlink():
            raise CaptureError(f"{what} {p}: broken symlink (to {os.readlink(p)})") from None
        if e.errno == errno.ENOENT:
            raise CaptureError(f"{what} {p}: no such file or folder") from None
        raise CaptureError(f"{what} {p}: cannot read ({e.strerror})") from None


def _capture_file(p: Path, st: os.stat_result, what: str) -> Path:
    for test, kind in _NOT_CAPTURES:
        if test(st.st_mode):
            raise CaptureError(f"{what} {p}: is {kind}, not a capture file")
    if st.st_size == 0:
        raise CaptureError(f"{what} {p}: empty (0 bytes)")
    return p


def files(paths: list[str | Path]) -> list[Path]:
    """The files behind `paths`: a file as given, a folder's files sorted by name (hidden files,
    ``*.md`` notes and sub-folders left out). Only stat() is used: nothing is opened or read here."""
    out: list[Path] = []
    for entry in paths:
        p = Path(entry)
        st = _stat(p, "telegram path")
        if not stat.S_ISDIR(st.st_mode):
            out.append(_capture_file(p, st, "telegram file"))
            continue
        try:
            names = sorted(f for f in p.iterdir() if not f.name.startswith(".") and f.suffix != ".md")
        except OSError as e:
            raise CaptureError(f"telegram folder {p}: cannot list ({e.strerror})") from None
        found = []
        for f in names:
            fst = _stat(f, "telegram file")
            if not stat.S_ISDIR(fst.st_mode):
                found.append(_capture_file(f, fst, "telegram file"))
        if not found:
            raise CaptureError(f"telegram folder {p}: no telegram files in it")
        out += found
    return out


def check(paths: list[str | Path], max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Before the run: every path usable and their total size within `max_bytes`, by stat() alone (a
    huge file is never read). Returns the total size; :func:`load` then names a file without a
    complete telegram."""
    sized = [(f.stat().st_size, f) for f in files(paths)]
    total = sum(size for size, _ in sized)
    if total > max_bytes:
        size, big = max(sized)
        raise CaptureError(f"telegram files: {total:,} bytes in all (the biggest: {big}, {size:,}), over the "
                          f"limit of {max_bytes:,} bytes for one run; --max-telegram-bytes N raises it")
    return total


@dataclass(frozen=True)
class Expected:
    """One report the board must give: the frame's bytes as it echoes them and its verdict."""

    source: str  # file name
    offset: int  # of the frame's first byte in that file
    echo: bytes
    verdict: str
    flag: str | None
    reason: str | None

    @property
    def complete(self) -> bool:
        return self.verdict in COMPLETE

    def key(self) -> tuple:
        return self.echo, self.verdict, self.flag, self.reason


@dataclass(frozen=True)
class Capture:
    stream: bytes  # everything sent, in order
    expected: list[Expected]
    garbage: int  # bytes outside any frame


def load(paths: list[str | Path]) -> Capture:
    """Read the files and predict the board's reports with the firmware's framer."""
    fs, chunks = files(paths), []
    for f in fs:
        try:
            chunks.append(f.read_bytes())
        except OSError as e:
            raise CaptureError(f"telegram file {f}: cannot read ({e.strerror})") from e
    starts = list(accumulate(map(len, chunks), initial=0))[:-1]  # where each file begins in the stream
    stream = b"".join(chunks)

    whole_in: set[int] = set()  # the files a complete telegram starts in

    def place(report, end: int) -> Expected:
        start = end - report.length  # the frame is stream[start:end]
        k = bisect.bisect_right(starts, start) - 1
        if report.verdict in COMPLETE:
            whole_in.add(k)
        return Expected(fs[k].name, start - starts[k], report.telegram, report.verdict, report.flag, report.reason)

    framer = p1frame.Framer()
    expected: list[Expected] = []
    view = memoryview(stream)
    for i in range(len(stream)):  # byte by byte, so every report's end is known exactly
        for r in framer.feed(view[i:i + 1]):
            # a '/' inside a frame ends the old one (truncated) before itself; others end at this byte
            expected.append(place(r, i if r.verdict == "truncated" and stream[i] == 0x2F else i + 1))
    for r in framer.idle():  # the capture ends inside a frame: the board reports it after the silence
        expected.append(place(r, len(stream)))
    for k, f in enumerate(fs):  # such a file would replay nothing worth judging
        if k not in whole_in:
            raise CaptureError(f"telegram file {f}: no complete telegram in it ({len(chunks[k]):,} bytes; a telegram "
                              f"runs from '/' to '!' and its CRC)")
    return Capture(stream, expected, framer.counters["garbage_bytes"])
