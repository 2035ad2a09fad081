"""Before any test reads kicad/ or gerbers/: finish a `make fab` commit that a kill interrupted (the
staleness tests must judge the old complete set or the new one, never a mix)."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def recovered_tree():
    from hwtools import staging

    staging.recover()


# Chromium for the pages (the yield page, the revision review): one browser per session
@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Debian's Chromium through Debian's chromedriver (never a downloaded driver), headless."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for exe in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not Path(exe).is_file():
            pytest.fail(f"{exe} missing: run `make setup` (it installs Debian's chromium and chromium-driver)")
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
