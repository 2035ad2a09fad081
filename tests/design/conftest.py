"""Fixtures for the design tests: the reference data (in the repository), one built board per variant."""

import pytest

from design_paths import DATA


@pytest.fixture(scope="session")
def reference_dir():
    return DATA


@pytest.fixture(scope="session")
def board():
    from hwtools.circuit import build_board

    return build_board()


@pytest.fixture(scope="session")
def board_p1s1():
    from hwtools.circuit import build_board
    from hwtools.variant import P1S1

    return build_board(variant=P1S1)
