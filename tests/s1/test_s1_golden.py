"""The decoder against the golden decode of a small capture made by the previous (whole-capture) decoder,
in every chunking: the streaming rewrite must not change a single frame or count."""

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from meter.s1 import decode_bytes
from meter.s1.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "s1"
CAPTURE = DATA / "golden-capture.bin"


@pytest.fixture(scope="module")
def golden_lines() -> list[dict]:
    return [json.loads(line) for line in (DATA / "golden-decode.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("chunk", [1, 44, 45, 1000, 1 << 22])
def test_decoder_matches_golden(golden_lines, chunk):
    res = decode_bytes(CAPTURE.read_bytes(), chunk_size=chunk)
    assert list(res.frames.records()) == golden_lines[:-1]
    assert asdict(res.stats) == json.loads((DATA / "golden-stats.json").read_text())


def test_cli_json_matches_golden(golden_lines, capsys):
    assert main(["decode", str(CAPTURE), "--json"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == golden_lines
