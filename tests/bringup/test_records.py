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

from bringup.measurement import Measurement, Outcome, StepResult
from bringup.record import RecordError, RunRecord, check_serial, render_html
from bringup_helpers import REPO, last_line, load_record, run_cli


def _claim_one(args) -> tuple[str, str]:
    records, serial = args
    rec = RunRecord(records, serial, "st")
    return str(rec.path), rec.run_id


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
        rec.finish(Outcome.PASS, None, b"@H fw=1\r\n")
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
    rec.finish(Outcome.FAIL, res, b"\x80\xff<tag>\r\n")
    html = rec.stem().with_suffix(".html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&lt;b &amp; c" in html and "&lt;tag&gt;" in html
    assert "\ufffd" not in html and "\x80\xff" in html  # console bytes shown one character per byte
    assert rec.run_id in html
    props = {p.get("name"): p.get("value")
             for p in ET.parse(rec.stem().with_suffix(".junit.xml")).getroot().iter("property")}
    assert props == {"run_id": rec.run_id, "outcome": "FAIL"}


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


def test_write_error_mid_run_still_prints_verdict_supply_state_and_path(tmp_path, fast_station):
    """A disk that fills up during the run (a file-size limit makes every write past 3,000 bytes fail,
    like a full disk): all steps still run, the supply is turned off, and the console gets the
    verdict, the supply state and the path that could not be written (exit 2: station error)."""
    st = fast_station(s1=None, loopback={"slow_count": 0})
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.run([sys.executable, "-m", "bringup", "run", "--station", str(st), "--board-serial", "D1",
                        "--records", str(tmp_path / "rec")], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=120, preexec_fn=_limit_file_size(3000))
    out = p.stdout
    assert p.returncode == 2, out + p.stderr
    assert "Traceback" not in out + p.stderr
    assert "supply output after the run: OFF" in out
    (json_path,) = (tmp_path / "rec" / "D1").glob("*.json")
    assert f"RECORD NOT WRITTEN: {json_path}" in out and "File too large" in out
    final = last_line(out)
    assert final.startswith("PASS D1 ") and str(json_path) in final
    assert "[6/7] Throughput: PASS" in out
    # what was written before the disk filled up is still a valid record
    assert json.loads(json_path.read_text())["outcome"] == "RUNNING"
    assert not list(json_path.parent.glob(".*"))  # no temporary files left behind
