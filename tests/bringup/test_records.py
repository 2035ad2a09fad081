"""Records are never lost or shared: exclusive create, a run UUID, 0644 files, jinja2 HTML with
autoescape, and write errors that still leave the verdict and the supply state on the console."""
from __future__ import annotations

import json
import multiprocessing
import os
import resource
import signal
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from bringup.measurement import Category, Measurement, Outcome, StepResult
from bringup.record import RecordError, RunRecord, check_serial, render_html
from bringup_helpers import REPO, fast_station_dict, last_line, run_cli


def _claim_one(args) -> tuple[str, str]:
    records, serial = args
    rec = RunRecord(records, serial, "st")
    return str(rec.path), rec.data["run_id"]


def test_simultaneous_runs_never_share_a_record(tmp_path):
    """Eight processes start a record for the same board in the same second: eight different paths
    (exclusive create with a numbered suffix), eight different run UUIDs."""
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        got = pool.map(_claim_one, [(str(tmp_path), "SAME-1")] * 8)
    paths, ids = zip(*got)
    assert len(set(paths)) == 8 and len(set(ids)) == 8
    for path, run_id in got:
        assert json.loads(Path(path).read_text())["run_id"] == run_id
        assert uuid.UUID(run_id).version == 4


def test_a_taken_name_gets_the_next_suffix(tmp_path):
    a = RunRecord(tmp_path, "S-1", "st")
    b = RunRecord(tmp_path, "S-1", "st")
    assert a.path != b.path and a.path.exists() and b.path.exists()
    assert b.path.stem.startswith(a.path.stem.split("-")[0])


def test_files_are_0644_whatever_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        rec = RunRecord(tmp_path, "M-1", "st")
        res = StepResult(1, "power", "Power", [Measurement("idle_current_a", 0.08, "A", 0.02, 0.15)])
        res.finish()
        rec.add_step(res)
        rec.finish(Outcome.PASS, Category.PASS, None, b"@H fw=1\r\n")
    finally:
        os.umask(old)
    files = sorted(rec.dir.iterdir())
    assert {f.name[len(rec.path.stem):] for f in files} == {".json", ".console.log", ".html", ".junit.xml"}
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f


def test_html_is_autoescaped_and_carries_the_run_id(tmp_path):
    rec = RunRecord(tmp_path, "H-1", "<script>alert(1)</script>")
    res = StepResult(1, "power", "Power", [Measurement("idle_current_a", 0.3, "A", 0.02, 0.15, note="a<b & c")])
    res.finish()
    rec.add_step(res)
    rec.finish(Outcome.FAIL, Category.FAIL, res, b"\x80\xff<tag>\r\n")
    html = rec.path.with_suffix(".html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&lt;b &amp; c" in html and "&lt;tag&gt;" in html
    assert "\ufffd" not in html and "\x80\xff" in html  # console bytes shown one character per byte
    assert rec.data["run_id"] in html
    props = {p.get("name"): p.get("value")
             for p in ET.parse(rec.path.with_suffix(".junit.xml")).getroot().iter("property")}
    assert props == {"run_id": rec.data["run_id"], "outcome": "FAIL", "category": "fail"}


def test_render_html_needs_no_hand_escaping():
    d = {"board_serial": "B", "outcome": "PASS", "station": "s", "firmware": None, "started": "t",
         "finished": "t", "supply_output_after": "OFF", "run_id": "r", "steps": []}
    assert "<b>&lt;&gt;</b>" not in render_html(d, b"")  # sanity: the template escapes, it is not bypassed
    assert "&lt;i&gt;" in render_html(dict(d, station="<i>"), b"")


@pytest.mark.parametrize("serial", ["SN-1\n", "SN 1", "", "-x", "a" * 65, "../x"])
def test_bad_board_serials_are_refused(serial):
    with pytest.raises(RecordError):
        check_serial(serial)


def test_board_serial_with_a_newline_is_a_usage_error(tmp_path):
    rc, out, err = run_cli(["run", "--station", "sim", "--board-serial", "SN-1\n", "--records", str(tmp_path)])
    assert rc == 2 and "board serial" in err and not list(tmp_path.iterdir())


def test_records_folder_that_cannot_be_written_is_a_station_error(tmp_path, fast_station):
    """Nothing is powered when the record cannot even be created; the error names the folder."""
    blocker = tmp_path / "records"
    blocker.write_text("a file where the records folder should be\n")
    rc, out, err = run_cli(["run", "--station", str(fast_station(s1=None)), "--board-serial", "W1",
                            "--records", str(blocker)])
    assert rc == 2, out + err
    assert str(blocker) in err and "Traceback" not in err
    assert "[1/7]" not in out


def _limit_file_size(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


# A PASS run of this station writes a ~11 kB JSON record, a ~13 kB console log, a ~19 kB HTML report and
# a ~3 kB JUnit file. A file-size limit makes every write past it fail with EFBIG (a real kernel error,
# like a disk that fills up): 3,000 bytes stops the JSON record in mid-run, 15,000 bytes only the HTML.
LIMITS = {"mid-run": 3_000, "html only": 15_000}


@pytest.fixture(scope="module")
def limited_runs(tmp_path_factory):
    """Both runs at once (they are independent): {name: (returncode, stdout, stderr, records folder)}."""
    st = tmp_path_factory.mktemp("station") / "station.yaml"
    st.write_text(yaml.safe_dump(fast_station_dict(s1=None, loopback={"slow_count": 0})))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = {}
    for name, limit in LIMITS.items():
        records = tmp_path_factory.mktemp("limited") / "rec"
        procs[name] = (records, subprocess.Popen(
            [sys.executable, "-m", "p1reader", "bringup", "run", "--station", str(st), "--board-serial", "D1", "--records",
             str(records)], cwd=REPO, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=_limit_file_size(limit)))
    try:
        results = {}
        for name, (records, p) in procs.items():
            out, err = p.communicate(timeout=120)  # a give-up limit, not a speed target
            results[name] = (p.returncode, out, err, records)
        return results
    finally:
        for _, p in procs.values():
            if p.poll() is None:
                p.kill()
                p.communicate()


def test_write_error_mid_run_still_prints_verdict_supply_state_and_path(limited_runs):
    """A disk that fills up during the run: all steps still run, the supply is turned off, and the
    console gets the verdict, the supply state and the path that could not be written (exit 2:
    station error). The JSON record stays RUNNING, so no HTML or JUnit report claims a verdict."""
    rc, out, err, records = limited_runs["mid-run"]
    assert rc == 2, out + err
    assert "Traceback" not in out + err
    assert "supply output after the run: OFF" in out
    (json_path,) = (records / "D1").glob("*.json")
    assert f"RECORD NOT WRITTEN: {json_path}: File too large" in out
    assert "the verdict below is not on disk" in out
    final = last_line(out)
    assert final.startswith("PASS D1 ") and str(json_path) in final
    assert "[6/7] Throughput: PASS" in out
    # what was written before the disk filled up is still a valid record; nothing says otherwise
    assert json.loads(json_path.read_text())["outcome"] == "RUNNING"
    assert not list(json_path.parent.glob("*.html")) and not list(json_path.parent.glob("*.junit.xml"))
    assert not list(json_path.parent.glob(".*"))  # no temporary files left behind
    assert [p for p in records.rglob("*") if p.is_file() and p.stat().st_size == 0] == []  # nor empty ones
    assert not list(records.glob("p1reader.db*"))  # the database got no schema on this disk: not left behind


def test_a_complete_record_is_never_called_missing(limited_runs):
    """The JSON record is complete and only the HTML report could not be written: the console names the
    HTML as missing and the record as complete — never "the verdict below is not on disk" — and the
    JUnit file, written from the record on disk, says what the record says."""
    rc, out, err, records = limited_runs["html only"]
    assert rc == 2, out + err
    (json_path,) = (records / "D1").glob("*.json")
    record = json.loads(json_path.read_text())
    assert record["outcome"] == "PASS" and json_path.stat().st_size < LIMITS["html only"]
    html = json_path.with_suffix(".html")
    assert f"NOT WRITTEN: {html.name} ({html}: File too large) — the record {json_path} is complete: " \
           f"the verdict below is on disk" in out
    assert "not on disk" not in out and "RECORD NOT WRITTEN" not in out
    assert last_line(out).startswith(f"PASS D1 {json_path}")
    assert not html.exists()
    assert not list(records.glob("p1reader.db*"))  # the database got no schema on this disk: not left behind
    junit = ET.parse(json_path.with_suffix(".junit.xml")).getroot()
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert props == {"run_id": record["run_id"], "outcome": "PASS", "category": "pass"}
    assert [c.get("name") for c in junit.iter("testcase")] == [f"{s['index']}_{s['name']}" for s in record["steps"]]
