"""Decoding on the device equals dsmr_parser: every object dsmr_parser decodes from every telegram in tests/data
(and from built telegrams over 2 KB) has the same value and unit in the firmware's decoder run under MicroPython."""

import datetime
import decimal
import json
import re

from dsmr_parser import telegram_specifications

from reader_helpers import TELEGRAM_DIR, big_telegram, run_mp
from meter import flavours


def dsmr_reference(telegram: bytes, profile: str) -> dict:
    """{obis: [[(value, unit), …], …]}: what dsmr_parser's specification decodes from each line, flattened."""
    spec = getattr(telegram_specifications, profile)
    text = flavours._upper_crc(telegram.decode("latin-1"))
    out: dict = {}
    for obj in spec["objects"]:
        for line in re.findall(obj["obis_reference"], text, re.DOTALL | re.MULTILINE):
            try:
                parsed = obj["value_parser"].parse(line)
            except Exception:  # dsmr_parser skips a line it cannot parse: nothing to compare
                continue
            parts = parsed if isinstance(parsed, list) else [parsed]  # the 13-month history is a list of peaks
            values = [(v["value"], v["unit"]) for p in parts for v in p.values]
            out.setdefault(line.split("(")[0].strip(), []).append(values)
    return out


def same(published, reference) -> bool:
    (value, unit), (ref, ref_unit) = published, reference
    if ref is None:
        return value is None
    if isinstance(ref, datetime.datetime):
        return value == ref.isoformat()
    if isinstance(ref, (int, decimal.Decimal)):
        return decimal.Decimal(str(value)) == ref and (unit or None) == ref_unit
    return value == ref


def compare(name: str, telegram: bytes, device: list) -> int:
    """Asserts every dsmr_parser object equal on the device; returns how many values were compared."""
    profile = flavours.detect(telegram).profile
    reference = dsmr_reference(telegram, profile)
    by_obis = {obis: values for obis, values in device}
    compared = 0
    for obis, decodings in reference.items():
        assert obis in by_obis, f"{name}: {obis} decoded by dsmr_parser ({profile}) but not by the device"
        values = by_obis[obis]
        for ref in decodings:
            mine = values[3:] if obis.endswith("98.1.0") else values  # history: count and ids, then the peaks
            assert len(mine) == len(ref), f"{name} {obis}: device {mine}, dsmr_parser {ref}"
            for m, r in zip(mine, ref):
                assert same(m, r), f"{name} {obis}: device {m}, dsmr_parser {r} ({profile})"
                compared += 1
    return compared


def big_telegrams(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(big_telegram())
    return [path]


def test_every_dsmr_parser_value_equal_on_device(micropython, tmp_path):
    files = sorted(TELEGRAM_DIR.rglob("*.txt")) + big_telegrams(tmp_path)
    out = run_mp(micropython, "decode_telegrams.py", *files)
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == len(files)
    compared, refused = {}, []
    for path, result in zip(files, results):
        telegram = path.read_bytes()
        if flavours.parse(telegram, flavours.detect(telegram).profile)[0] is None:
            refused.append(path.name)  # a CRC error: the reader publishes nothing (tested with the broker)
            continue
        compared[path.name] = compare(path.name, telegram, result["objects"])
    assert refused == ["dsmr-reader-error-TestDataloggerError.txt"]
    assert len(compared) == len(files) - 1 and all(n >= 5 for n in compared.values()), compared
