"""The yield page in a real headless Chromium: the figures and the first Pareto bar read from the DOM
agree with the runs; a board's link opens its own report; a screenshot is kept as a test artifact."""
from __future__ import annotations

import json
import shutil

from selenium.webdriver.common.by import By

from bringup import store, yield_report
from db_helpers import ARTIFACTS, run_cli, station_dict


def _failing_names(record: dict) -> set[str]:
    return {f"{s['name']}: {m['name']}" for s in record["steps"] for m in s["measurements"]
            if m["outcome"] in ("FAIL", "ERROR")}


def test_yield_page_in_chromium(batch, pg, browser, tmp_path):
    url = pg.new_database("page")
    assert run_cli("import", str(batch.records_dir), "--db", url).returncode == 0
    page = batch.records_dir.parent / "yield.html"  # beside records/: the run reports are reachable
    p = run_cli("report", "--db", url, "-o", str(page))
    assert p.returncode == 0, p.stderr
    assert "reading runs (rows):" in p.stderr  # the progress line
    assert "report: 30 runs, 24 boards" in p.stdout

    browser.get(page.as_uri())
    first_pass, final, judged = batch.expected_yields()
    fp = browser.find_element(By.ID, "first-pass-yield")
    assert float(fp.get_attribute("data-value")) == first_pass
    assert fp.text == f"{100 * first_pass:.1f} %"
    assert browser.find_element(By.ID, "final-yield").text == f"{100 * final:.1f} %"
    counts = {e.get_attribute("data-category"): int(e.text)
              for e in browser.find_elements(By.CSS_SELECTOR, "#run-counts td[data-category]")}
    assert counts == dict(batch.expected_categories())

    # The first Pareto bar: the fault injected most often (over-current, 4 boards), named by a
    # measurement that failed in every one of those runs.
    bar = browser.find_elements(By.CSS_SELECTOR, "#pareto tr.pareto-row")[0]
    over = [json.loads(f.read_text()) for f in batch.files]
    over = [r for r in over if r.get("inject") == "over-current"]
    assert int(bar.get_attribute("data-count")) == len(over) == 4
    assert bar.get_attribute("data-name") in set.intersection(*map(_failing_names, over))
    assert bar.find_element(By.CSS_SELECTOR, ".bar").value_of_css_property("width") != "0px"

    # histograms with limits, Cpk where n ≥ 10 and the values spread (the throughput ratio does)
    assert browser.find_elements(By.CSS_SELECTOR, ".hist img[src^='data:image/png;base64,']")
    ratio = browser.find_element(By.CSS_SELECTOR, ".hist[data-measurement='throughput: ratio to line rate']")
    low, high = station_dict("any", s1=False)["limits"]["throughput_ratio"]
    assert "Cpk" in ratio.text and f"limits {low:g} … {high:g}" in ratio.text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#station-day tr")) == 1 + 2  # header + 2 stations, 1 day

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height + 50, 12000))
    assert browser.save_screenshot(str(ARTIFACTS / "yield-page.png"))
    browser.set_window_size(1280, 900)

    # each board links its own run report, relatively; following it opens that board's page
    row = browser.find_element(By.CSS_SELECTOR, "#serials tr[data-serial='B01']")
    links = row.find_elements(By.TAG_NAME, "a")
    assert len(links) == 2  # the over-current run and the retest
    href = browser.execute_script("return arguments[0].getAttribute('href')", links[0])
    assert href.startswith("records/B01/") and href.endswith(".html")
    links[0].click()
    assert "B01" in browser.title and "FAIL" in browser.title


def test_report_shows_the_path_when_a_run_report_is_not_reachable(batch, tmp_path):
    """A record moved away since it was stored: its path is shown as text, not a dead link."""
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    engine = store.connect(url)
    store.import_records(engine, batch.files[:2])
    runs = store.load_runs(engine)
    engine.dispose()
    copy = tmp_path / "elsewhere"
    shutil.copytree(batch.records_dir, copy)
    runs[0].record_path = str(tmp_path / "gone" / "x.json")
    runs[1].record_path = str(copy / runs[1].board_serial / batch.files[1].name)
    out = tmp_path / "page" / "yield.html"
    out.parent.mkdir()
    text = yield_report.write(yield_report.summarize(runs), out, url).read_text()
    assert f"<code>{tmp_path / 'gone' / 'x.html'}</code>" in text
    assert f'href="../elsewhere/{runs[1].board_serial}/{batch.files[1].with_suffix(".html").name}"' in text


def test_page_escapes_what_it_shows(batch, tmp_path):
    engine = store.connect(f"sqlite:///{tmp_path / 'runs.db'}")
    store.import_records(engine, batch.files[:1])
    runs = store.load_runs(engine)
    engine.dispose()
    runs[0].board_serial = "<script>alert(1)</script>"
    text = yield_report.render(yield_report.summarize(runs), tmp_path / "y.html", "x")
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_empty_database_and_missing_file(tmp_path):
    engine = store.connect(f"sqlite:///{tmp_path / 'empty.db'}")
    text = yield_report.render(yield_report.summarize(store.load_runs(engine)), tmp_path / "y.html", "x")
    engine.dispose()
    assert 'id="first-pass-yield" data-value="">—<' in text and "No board failed." in text
    p = run_cli("report", "--db", f"sqlite:///{tmp_path / 'typo.db'}", "-o", str(tmp_path / "y.html"))
    assert p.returncode == 2 and f"database sqlite:///{tmp_path / 'typo.db'}: no such file" in p.stderr
    assert not (tmp_path / "typo.db").exists()
