"""The vendored libraries (firmware/lib) are their upstream files unchanged: the body after each header has the
SHA-256 the header states, and the header names the version, the source and the MIT licence."""

import hashlib
import re

import pytest

from reader_helpers import FIRMWARE_DIR

VENDORED = ["lib/umqtt/simple.py", "lib/microdot/microdot.py", "lib/microdot/__init__.py"]
END = "# --- end of header; the upstream file follows unchanged ---\n"


@pytest.mark.parametrize("name", VENDORED)
def test_vendored_body_is_upstream(name):
    text = (FIRMWARE_DIR / name).read_text(encoding="utf-8")
    header, sep, body = text.partition(END)
    assert sep, f"{name}: no end-of-header line"
    claimed = re.search(r"^# upstream-sha256: ([0-9a-f]{64})$", header, re.M)
    assert claimed and hashlib.sha256(body.encode()).hexdigest() == claimed[1], f"{name} differs from upstream"
    assert re.search(r"version \d+\.\d+\.\d+|\b\d+\.\d+\.\d+ \(", header), f"{name}: no upstream version"
    assert "MIT License" in header or "The MIT License" in header
