"""Replaying real captures: files or folders of telegrams sent to the board exactly as captured.

All files are sent as one stream, every byte as captured (garbage included); what the board must
report comes from :mod:`meter.capture`, which frames the same stream with the firmware's own framer.
The board's reports are aligned with those expectations by content, in order (:func:`align`), so one
dropped or extra telegram is exactly one error, wherever it falls.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from meter import flavours
from meter.capture import Expected


@dataclass
class Row:
    """One line of the per-telegram table."""

    expected: Expected | None
    report: object | None  # console.TelegramReport
    problem: str = ""  # empty: the board reported exactly what was expected


def align(expected: list[Expected], reports: list) -> list[Row]:
    """Pair expectations with reports by content, in order (difflib on (echo, verdict, flag,
    reason)). A report missing, extra or different is one row with a problem each."""
    a = [e.key() for e in expected]
    b = [(r.echo, r.verdict, r.flag, r.reason) for r in reports]  # as Expected.key()
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


class TelegramRow(BaseModel):
    """One telegram of the replay as the record keeps it: made here, validated by the same model when the
    store reads a record (strict; keys it does not know are ignored)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    source: str  # the file it came from ("" for a report nothing was expected for)
    offset: int | None = Field(ge=0, lt=2**31)  # of its first byte in that file
    length: int = Field(ge=0, lt=2**31)  # bytes
    flavour: str  # the dsmr_parser specification it was decoded with, and why
    expected: str  # the verdict the firmware's framer gives the same bytes
    board_verdict: str
    outcome: Literal["PASS", "FAIL"]  # PASS: the board reported exactly what was expected
    problem: str  # what differs ("" for PASS)
    decode: str  # dsmr_parser's result
    # dsmr_parser could not decode a telegram the board framed right (not a board fault); records of
    # schema 3 on, older ones said it in `decode`
    decoder_limitation: bool | None = None


def table(rows: list[Row], profile: str | None = None) -> list[TelegramRow]:
    """The per-telegram table: source file, offset, flavour, verdicts, decode result."""
    out = []
    for row in rows:
        e, r = row.expected, row.report
        flavour, decoded = "", None
        if e is not None and e.complete:
            fl = flavours.detect(e.echo)
            flavour = profile or fl.profile
            if profile and profile != fl.profile:
                flavour += f" (forced; detected {fl.profile})"
            elif fl.generic:
                flavour += " (generic: unknown flavour)"
            if r is not None and not row.problem:
                decoded = flavours.decode(r.echo, profile or fl.profile)
        out.append(TelegramRow(
            source=e.source if e else "",
            offset=e.offset if e else None,
            length=len(e.echo) if e else len(r.echo),
            flavour=flavour,
            expected=_describe(e) if e else "",
            board_verdict=r.describe() if r is not None else "(none)",
            outcome="FAIL" if row.problem else "PASS",
            problem=row.problem,
            decode=decoded.describe() if decoded else "",
            decoder_limitation=bool(decoded and decoded.limitation),
        ))
    return out
