"""The SI sweep over every corner with each BC547 storage-time model: run once per test session, shared."""

import pytest


@pytest.fixture(scope="session")
def model_sweep():
    """Today's board, every corner × every [bc547_models] model (no Monte Carlo: the corners carry the extremes)."""
    from hwtools.circuit import build_board
    from hwtools.si.sweep import analyse

    return analyse(build_board(), mc_runs=0)
