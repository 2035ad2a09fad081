"""Before any test reads kicad/ or gerbers/: finish a `make fab` commit that a kill interrupted (the
staleness tests must judge the old complete set or the new one, never a mix)."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def recovered_tree():
    from hwtools import staging

    staging.recover()
