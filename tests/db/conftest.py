"""Shared fixtures for the results-store tests: one batch of simulated runs (made once per session and
used by the SQLite, PostgreSQL, limits and browser tests) and a throw-away PostgreSQL cluster (the headless
Chromium is tests/conftest.py's).
"""
from __future__ import annotations

import pytest

from db_helpers import Batch, PgCluster, make_batch


@pytest.fixture(scope="session")
def batch(tmp_path_factory) -> Batch:
    """30 simulated runs of 24 boards on two stations, made once for every test here."""
    return make_batch(tmp_path_factory.mktemp("batch"))


@pytest.fixture(scope="session")
def pg():
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
