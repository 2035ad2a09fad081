"""What the tests need from the machine. `make setup` installs every one of them, so a missing one fails the test
that needs it, naming `make setup` — never a skip that would let a broken set-up pass for green."""

from __future__ import annotations

import importlib
import shutil

import pytest


def module(name: str):
    """The imported module, or a failure naming it and `make setup`."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        pytest.fail(f"the Python module {name} cannot be imported ({e}): run `make setup`", pytrace=False)


def program(name: str) -> str:
    """The program's path on PATH, or a failure naming it and `make setup`."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: run `make setup`", pytrace=False)
    return path
