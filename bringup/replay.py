"""Replaying real captures: files or folders of telegrams sent to the board exactly as captured.

A file may hold one telegram or a raw capture of many, with any bytes between them and a cut
telegram at either end. All files are sent as one stream, every byte as captured (garbage
included), and what the board must report is found by running the firmware's own framer
(:mod:`bringup.firmware.p1frame`) over the same stream on the host. The board's reports are then
aligned with those expectations by content, in order (:func:`align`), so one dropped or extra
telegram is exactly one error, wherever it falls.
"""
from __future__ import annotations

import bisect
import difflib
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from . import meters
from .firmware import p1frame
from .station import StationError

COMPLETE = ("ok", "ok-nocrc")  # verdicts of a telegram that arrived whole
# What --telegrams may send in one run unless --max-telegram-bytes raises it: about 6 minutes of line
# time at 115200 baud, and ~16 MB of memory while it is framed and judged.
DEFAULT_MAX_BYTES = 4_000_000
_NOT_CAPTURES = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                 (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))


class ReplayError(StationError):
    """A telegram path cannot be used; names the path."""


def absolute(paths: list[str]) -> list[str]:
    """Paths made absolute without following symlinks (a symlink loop is named when checked, not here)."""
    return [os.path.abspath(p) for p in paths]


def _stat(p: Path, what: str) -> os.stat_result:
    """stat() with its failure named the way a user reads it."""
    try:
        return p.stat()
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ReplayError(f"{what} {p}: symlink loop") from None
        if e.errno == errno.ENOENT and p.is_symlink():
            raise ReplayError(f"{what} {p}: broken symlink (to {os.readlink(p)})") from None
        if e.errno == errno.ENOENT:
            raise ReplayError(f"{what} {p}: no such file or folder") from None
        raise ReplayError(f"{what} {p}: cannot read ({e.strerror})") from None


def _capture_file(p: Path, st: os.stat_result, what: str) -> Path:
    for test, kind in _NOT_CAPTURES:
        if test(st.st_mode):
            raise ReplayError(f"{what} {p}: is {kind}, not a capture file")
    if st.st_size == 0:
        raise ReplayError(f"{what} {p}: empty (0 bytes)")
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
            raise ReplayError(f"telegram folder {p}: cannot list ({e.strerror})") from None
        found = []
        for f in names:
            fst = _stat(f, "telegram file")
            if not stat.S_ISDIR(fst.st_mode):
                found.append(_capture_file(f, fst, "telegram file"))
        if not found:
            raise ReplayError(f"telegram folder {p}: no telegram files in it")
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
        raise ReplayError(f"telegram files: {total:,} bytes in all (the biggest: {big}, {size:,}), over the "
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
    names: list[str] = []
    starts: list[int] = []  # where each file begins in the stream
    chunks: list[bytes] = []
    pos = 0
    fs = files(paths)
    for f in fs:
        try:
            data = f.read_bytes()
        except OSError as e:
            raise ReplayError(f"telegram file {f}: cannot read ({e.strerror})") from e
        names.append(f.name)
        starts.append(pos)
        chunks.append(data)
        pos += len(data)
    stream = b"".join(chunks)

    whole_in: set[int] = set()  # the files a complete telegram starts in

    def place(report, end: int) -> Expected:
        start = end - report.length  # the frame is stream[start:end]
        k = bisect.bisect_right(starts, start) - 1
        if report.verdict in COMPLETE:
            whole_in.add(k)
        return Expected(names[k], start - starts[k], report.telegram, report.verdict, report.flag, report.reason)

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
            raise ReplayError(f"telegram file {f}: no complete telegram in it ({len(chunks[k]):,} bytes; a telegram "
                              f"runs from '/' to '!' and its CRC)")
    return Capture(stream, expected, framer.counters["garbage_bytes"])


def board_key(report) -> tuple:
    return report.echo, report.verdict, report.flag, report.reason


@dataclass
class Row:
    """One line of the per-telegram table."""

    expected: Expected | None
    report: object | None  # ports.TelegramReport
    problem: str = ""  # empty: the board reported exactly what was expected


def align(expected: list[Expected], reports: list) -> list[Row]:
    """Pair expectations with reports by content, in order (difflib on (echo, verdict, flag,
    reason)). A report missing, extra or different is one row with a problem each."""
    a = [e.key() for e in expected]
    b = [board_key(r) for r in reports]
    rows: list[Row] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            rows += [Row(expected[i], reports[j]) for i, j in zip(range(i1, i2), range(j1, j2))]
            continue
        n = max(i2 - i1, j2 - j1)
        for k in range(n):
            e = expected[i1 + k] if i1 + k < i2 else None
            r = reports[j1 + k] if j1 + k < j2 else None
            rows.append(Row(e, r, _problem(e, r)))
    return rows


def _problem(e: Expected | None, r) -> str:
    if r is None:
        return "no report from the board"
    if e is None:
        return f"unexpected report ({r.describe()}, {len(r.echo)} bytes)"
    if r.echo != e.echo:
        diff = sum(x != y for x, y in zip(r.echo, e.echo)) + abs(len(r.echo) - len(e.echo))
        return f"echo differs in {diff} byte(s); board {r.describe()}"
    return f"board {r.describe()}, expected {_describe(e)}"


def _describe(e: Expected) -> str:
    extra = e.flag or e.reason
    return f"{e.verdict} ({extra})" if extra else e.verdict


def table(rows: list[Row], profile: str | None = None) -> list[dict]:
    """The record's per-telegram table: source file, offset, flavour, verdicts, decode result."""
    out = []
    for row in rows:
        e, r = row.expected, row.report
        flavour, decode = "", ""
        if e is not None and e.complete:
            fl = meters.detect(e.echo)
            flavour = profile or fl.profile
            if profile and profile != fl.profile:
                flavour += f" (forced; detected {fl.profile})"
            elif fl.generic:
                flavour += " (generic: unknown flavour)"
            if r is not None and not row.problem:
                decode = meters.decode(r.echo, profile or fl.profile).describe()
        out.append({
            "source": e.source if e else "",
            "offset": e.offset if e else None,
            "length": len(e.echo) if e else len(r.echo),
            "flavour": flavour,
            "expected": _describe(e) if e else "",
            "board_verdict": r.describe() if r is not None else "(none)",
            "outcome": "FAIL" if row.problem else "PASS",
            "problem": row.problem,
            "decode": decode,
        })
    return out
