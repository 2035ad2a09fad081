"""Shared fixtures for the results-store tests: one batch of simulated runs (made once per session and
used by the SQLite, PostgreSQL, limits and browser tests), a throw-away PostgreSQL cluster, headless
Chromium.
"""
from __future__ import annotations

from pathlib import Path

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


# ---------------------------------------------------------------- Chromium
@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Debian's Chromium through Debian's chromedriver (never a downloaded driver), headless."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for exe in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not Path(exe).is_file():
            pytest.fail(f"{exe} missing (setup.sh installs Debian's chromium and chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
