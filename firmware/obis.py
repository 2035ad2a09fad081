"""Decoding a P1 telegram on the device (no dsmr_parser there): every line to its OBIS code and its values.

Runs unchanged under CPython and MicroPython. A line is `OBIS(group)(group)…`; each group decodes by its shape:
`digits*unit` is a number with its unit, kept as a decimal string with the meter's digits (no float: the ESP32's
single-precision floats would change them) and leading zeros dropped; 12 digits + S/W is a timestamp, published
in ISO 8601 (UTC) as dsmr_parser writes it, None when it is no valid time; `()` is None; anything else is the
meter's text. The tests compare every value with dsmr_parser's for every telegram in tests/data.
"""

import mtime


def number(text):
    """'000301.548' → '301.548', '-0012' → '-12', '00.000' → '0.000': the meter's digits, no leading zeros."""
    sign = ""
    if text[:1] in ("-", "+"):
        sign, text = ("-" if text[0] == "-" else ""), text[1:]
    whole, dot, frac = text.partition(".")
    whole = whole.lstrip("0") or "0"
    return sign + whole + dot + frac


def is_number(text):
    digits = text.replace(".", "", 1)
    if digits[:1] in ("-", "+"):
        digits = digits[1:]
    return digits.isdigit()


def is_timestamp(text):
    """YYMMDDhhmmss with a flag letter, or without (DSMR 2.2 gas readings); a flag other than S/W reads as None."""
    return len(text) in (12, 13) and text[:12].isdigit() and text[12:].isalpha() or len(text) == 12 and text.isdigit()


def group(text):
    """(value, unit) of one group's text: value a decimal string, an ISO 8601 time, the text itself, or None."""
    if text == "":
        return None, None
    star = text.find("*")
    if star > 0 and is_number(text[:star]):
        return number(text[:star]), text[star + 1:]
    if is_timestamp(text):
        t = mtime.parse(text)
        return (None if t is None else mtime.iso(t)), None
    return text, None


def split_line(line):
    """('1-0:1.8.1', ['000301.548*kWh']) of a data line, or None for a line that is not `OBIS(…)…`."""
    start = line.find("(")
    if start <= 0 or not line.endswith(")") or ":" not in line[:start]:
        return None
    groups = line[start + 1:-1].split(")(")
    if len(groups) > 1 and groups[-1] == "":
        groups.pop()  # an empty list ends in '()': 0-0:98.1.0(0)(1-0:1.6.0)(1-0:1.6.0)()
    return line[:start], groups


def lines(telegram):
    """The data lines of a framed telegram (bytes from '/' to the CRC line), one at a time: the header and the
    '!' line left out. A generator: the device never holds a telegram's lines all at once."""
    text = telegram.decode()
    end = text.rfind("!")
    end = end if end >= 0 else len(text)
    start = text.find("\r\n") + 2
    while 1 < start < end:
        stop = text.find("\r\n", start)
        stop = end if stop < 0 or stop > end else stop
        yield text[start:stop]
        start = stop + 2


def entries(telegram):
    """(obis, [(value, unit), …], raw groups) for every data line, in the telegram's order, one at a time."""
    last = None
    for line in lines(telegram):
        if line.startswith("(") and last is not None:  # DSMR 2.2 gas: the reading continues on the next line
            more = split_line("x:" + line)
            for g in more[1] if more else ():
                last[2].append(g)
                last[1].append(group(g))
            continue
        parts = split_line(line)
        if parts is not None:
            if last is not None:
                yield last
            last = (parts[0], [group(g) for g in parts[1]], parts[1])
    if last is not None:
        yield last


def decode(telegram):
    """[(obis, [(value, unit), …], raw groups)] for every data line, in the telegram's order."""
    return list(entries(telegram))


def header(telegram):
    """The identification line without the '/': the meter's maker and model."""
    end = telegram.find(b"\r")
    return telegram[1:end if end > 0 else len(telegram)].decode()
