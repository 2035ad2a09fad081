"""Meter profiles: which dsmr_parser specification decodes a telegram, and decoding it quietly.

The flavour is read from the identification line (``/XXX5…``) and the version object (Fluvius
``0-0:96.1.4``, DSMR ``1-3:0.2.8``); ``--profile NAME`` forces one of dsmr_parser's specifications.
A telegram of no known flavour is decoded as generic DSMR (V5, or V2_2 without a CRC) with a note.
Decoding is byte-exact (latin-1: one character per byte, never a replacement character) and
dsmr_parser's log messages are collected for the record instead of reaching the console.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

# dsmr_parser's names for its telegram specifications (V3 is the same specification as V2_2).
PROFILES = ("V2_2", "V3", "V4", "V5", "BELGIUM_FLUVIUS", "LUXEMBOURG_SMARTY", "SWEDEN", "EON_HUNGARY",
            "ISKRA_IE", "Q3D", "SAGEMCOM_T210_D_R", "AUSTRIA_ENERGIENETZE_STEIERMARK", "MSN")

_IDENT = re.compile(rb"/([A-Za-z]{3})(\d)([^\r\n]*)")
_FLUVIUS_VERSION = re.compile(rb"\r\n0-0:96\.1\.4\((\d+)\)")
_DSMR_VERSION = re.compile(rb"\r\n1-3:0\.2\.8\((\d+)\)")


@dataclass(frozen=True)
class Flavour:
    profile: str  # a dsmr_parser specification name
    why: str  # what identified it (for the record)
    generic: bool = False  # no rule matched: decoded as generic DSMR


def has_crc(telegram: bytes) -> bool:
    bang = telegram.rfind(b"!")
    return bang >= 0 and telegram[bang + 1:bang + 2] not in (b"\r", b"")


def detect(telegram: bytes) -> Flavour:
    """The flavour of one framed telegram ('/' … '!' [CRC] CR LF)."""
    ident = _IDENT.match(telegram)
    maker = ident[1].decode("latin-1").upper() if ident else ""
    head = ident[0].decode("latin-1") if ident else "(no identification line)"
    fluvius = _FLUVIUS_VERSION.search(telegram)
    if maker == "FLU" or fluvius:
        version = fluvius[1].decode() if fluvius else "?"
        return Flavour("BELGIUM_FLUVIUS", f"{head}, Fluvius version object 0-0:96.1.4({version})")
    if ident and ident[0].upper().startswith(b"/ESY5Q3D"):
        return Flavour("Q3D", f"{head}: EasyMeter Q3D")
    dsmr = _DSMR_VERSION.search(telegram)
    if dsmr:
        version = dsmr[1].decode()
        if version[0] in "45":
            return Flavour(f"V{version[0]}", f"{head}, DSMR version object 1-3:0.2.8({version})")
    if maker == "SAG" and not dsmr and has_crc(telegram):
        return Flavour("EON_HUNGARY", f"{head}: Sagemcom without a DSMR version object (E.ON Hungary)")
    if not dsmr and not has_crc(telegram):
        return Flavour("V2_2", f"{head}: no version object, no CRC (DSMR 2.2/3)")
    generic = "V5" if has_crc(telegram) else "V2_2"
    return Flavour(generic, f"{head}: unknown flavour, decoded as generic DSMR ({generic})", generic=True)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.lines.append(f"{record.levelname}: {text}")


@dataclass
class Decoded:
    profile: str
    objects: int = 0  # objects dsmr_parser decoded
    error: str = ""  # dsmr_parser raised
    log: list[str] = field(default_factory=list)  # what dsmr_parser logged

    @property
    def limitation(self) -> bool:
        """dsmr_parser raised or skipped a line it could not parse."""
        return bool(self.error) or any(line.startswith(("ERROR", "WARNING")) for line in self.log)

    def describe(self) -> str:
        if self.error:
            return f"decoder limitation: dsmr_parser {self.profile} raised {self.error}"
        text = f"{self.objects} objects ({self.profile})"
        skipped = [line for line in self.log if line.startswith(("ERROR", "WARNING"))]
        if skipped:
            text += f"; decoder limitation: {len(skipped)} line(s) dsmr_parser could not parse — {skipped[0]}"
        return text


def _upper_crc(text: str) -> str:
    """dsmr_parser only reads upper-case CRC digits; the board accepts both and says so."""
    bang = text.rfind("!")
    return text if bang < 0 else text[:bang + 1] + text[bang + 1:bang + 5].upper() + text[bang + 5:]


def parse(telegram: bytes, profile: str):
    """dsmr_parser's Telegram for `telegram` (CRC checked where the specification has one), its log
    collected: returns (telegram or None, Decoded)."""
    from dsmr_parser import telegram_specifications
    from dsmr_parser.parsers import TelegramParser

    spec = getattr(telegram_specifications, profile)
    logger = logging.getLogger("dsmr_parser")
    handler = _Collect()
    old_propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # never onto the console (Python's last-resort handler prints to stderr)
    result = Decoded(profile)
    parsed = None
    try:
        parsed = TelegramParser(spec).parse(_upper_crc(telegram.decode("latin-1")))
        result.objects = sum(1 for _ in parsed)
    except Exception as e:  # dsmr_parser raises ParseError, InvalidChecksumError, ValueError, …
        result.error = f"{type(e).__name__}: {e}"
    finally:
        logger.removeHandler(handler)
        logger.propagate = old_propagate
    result.log = handler.lines
    return parsed, result


def decode(telegram: bytes, profile: str) -> Decoded:
    return parse(telegram, profile)[1]
