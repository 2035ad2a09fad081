"""The revision review's fixtures: one review cache per session (the browser is tests/conftest.py's; the
helpers the tests import are in review_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def review_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("review-cache")
