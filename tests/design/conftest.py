"""Fixtures for the design tests: the committed KiCad project, the reference data, one built board."""

import pytest

from design_paths import SHARED


@pytest.fixture(scope="session")
def reference_dir():
    ref = SHARED / "reference"
    if not ref.is_dir():
        pytest.skip(f"reference data not found at {ref} (../shared beside the checkout)")
    return ref


@pytest.fixture(scope="session")
def board():
    from hwtools.circuit import build_board

    return build_board()
