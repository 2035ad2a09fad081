"""The whole bring-up through the CLI on the simulated bench: PASS, every fault, Ctrl-C, usage errors."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from bringup_helpers import REPO, last_line, load_record, run_cli

STEP_NAMES = ["self_check", "power", "rails", "loopback", "negatives", "throughput", "s1"]


def test_full_sim_station_passes(tmp_path):
    """`--station sim` exactly as shipped (full telegram set, one a second): every step PASS.
    (Its throughput step records the ratio to line rate without judging it: on a busy machine the
    simulated line slows down; the timed figures live in tests/bench_bringup.py.)"""
    rc, out, err = run_cli(["run", "--station", "sim", "--board-serial", "SN-0001", "--records", str(tmp_path)])
    assert rc == 0, out + err
    final = last_line(out)
    word, serial, path = final.split()[:3]
    assert (word, serial) == ("PASS", "SN-0001")
    assert Path(path).parent == tmp_path / "SN-0001" and path.endswith(".json")
    rec = load_record(final)
    assert rec["outcome"] == "PASS" and rec["supply_output_after"] == "OFF"
    assert [s["name"] for s in rec["steps"]] == STEP_NAMES
    assert all(s["outcome"] == "PASS" for s in rec["steps"]), rec["steps"]
    assert rec["firmware"] == "1.2.0"
    for i in range(1, 8):
        assert f"[{i}/7]" in out
    stem = Path(path).with_suffix("")
    html = stem.with_suffix(".html").read_text()
    assert "Measurements and limits" in html and "@T seq=" in html and "rail_3v3_v" in html
    suite = ET.parse(stem.with_suffix(".junit.xml")).getroot()
    assert suite.get("tests") == "7" and suite.get("failures") == "0" and suite.get("errors") == "0"
    log = stem.with_suffix(".console.log").read_bytes()
    assert b"@H fw=1.2.0 proto=3" in log and b"\r\n@S frames=1997 fcs_errors=2 seq_gaps=3 skipped=17 " in log
    thr = {m["name"]: m for m in rec["steps"][5]["measurements"]}
    assert thr["ratio to line rate"]["low"] == 0.0 and thr["throughput"]["unit"] == "bytes/s"
    assert thr["ratio to line rate"]["value"] > 0  # the line did carry the telegrams


def test_every_step_measures_with_limits(tmp_path, fast_station):
    rc, out, _ = run_cli(["run", "--station", str(fast_station()), "--board-serial", "B1", "--records", str(tmp_path)])
    assert rc == 0, out
    rec = load_record(last_line(out))
    by_step = {s["name"]: {m["name"]: m for m in s["measurements"]} for s in rec["steps"]}
    # 1 self-check
    assert by_step["self_check"]["firmware version"]["value"] == "1.2.0"
    assert by_step["self_check"]["console protocol"]["value"] == "3"
    assert by_step["self_check"]["supply identifies"]["note"].startswith("P1READER-SIM,PSU")
    # 2 power: limit no higher than the trip point, realistic currents
    p = by_step["power"]
    assert p["current limit"]["value"] <= 0.26 and p["current limit"]["high"] == 0.26
    assert 0.08 < p["idle_current_a"]["value"] < 0.09 and p["idle_current_a"]["unit"] == "A"
    assert p["inrush_current_a"]["value"] == pytest.approx(0.121)
    assert 4.99 < p["supply_voltage_v"]["value"] < 5.01
    # 3 rails
    r = by_step["rails"]
    assert 3.29 < r["rail_3v3_v"]["value"] < 3.31 and r["rail_3v3_v"]["low"] == 3.2
    assert r["drq_v"]["low"] == 4.0 and r["drq_v"]["high"] == 5.5 and r["drq_v"]["outcome"] == "PASS"
    # 4 loopback: both sub-steps, nothing lost
    lb = by_step["loopback"]
    assert lb["line rate: byte errors"]["value"] == 0
    assert lb["one every 0.1 s: echo byte-identical"]["value"] == 2
    # 5 negatives
    n = by_step["negatives"]
    assert n["wrong CRC flagged"]["value"] == "crc-error"
    assert n["truncated telegram flagged"]["value"] == "truncated"
    assert n["garbage bytes counted"]["value"] == 256
    assert n["lower-case CRC accepted and reported"]["value"] == "ok/case=lower"
    assert n["over-long frame flagged"]["value"] == "overflow"
    assert n["non-inverted input diagnosed"]["note"].startswith("polarity looks wrong")
    # 6 throughput
    t = by_step["throughput"]
    assert t["throughput"]["unit"] == "bytes/s" and t["throughput run: byte errors"]["value"] == 0
    # 7 S1: every count exact, from the board's own s1frame counter (simulated board)
    s1 = by_step["s1"]
    for name, want in (("S1 frames", 1997), ("S1 FCS errors", 2), ("S1 sequence gaps", 3), ("S1 bytes skipped", 17),
                       ("S1 last 3 frames byte-identical", 3), ("S1 UART errors", 0)):
        assert s1[name]["value"] == s1[name]["low"] == s1[name]["high"] == want, name
    assert s1["S1 bytes received"]["value"] == s1["S1 bytes received"]["low"] > 2000 * 44
    assert s1["S1 send rate"]["unit"] == "frames/s" and s1["S1 send rate"]["value"] > 0


def test_station_without_s1_skips_the_s1_step_and_passes(tmp_path, fast_station):
    rc, out, _ = run_cli(["run", "--station", str(fast_station(s1=None)), "--board-serial", "B0", "--records",
                          str(tmp_path)])
    assert rc == 0, out
    final = last_line(out)
    assert final.startswith("PASS B0 ")
    rec = load_record(final)
    assert rec["outcome"] == "PASS"
    assert [s["outcome"] for s in rec["steps"]] == ["PASS"] * 6 + ["SKIPPED"]
    assert "no s1: section" in rec["steps"][6]["error"] and rec["steps"][6]["measurements"] == []
    assert "[7/7] S1 port: SKIPPED" in out


FAULTS = {
    # fault: (step index, step name, text the reason must contain)
    "bit-errors": (4, "loopback", "line rate"),
    "dropped-bytes": (4, "loopback", "line rate"),
    "port-closed": (4, "loopback", "port /dev/pts/"),  # the console or the meter pty, whichever goes first
    "instrument-timeout": (3, "rails", "no answer within"),
    "over-current": (2, "power", "current limit"),
    "polarity": (4, "loopback", "polarity looks wrong"),
    "s1-bit-errors": (7, "s1", "S1 frames"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_fails_cleanly_naming_the_step(tmp_path, fast_station, fault):
    index, name, text = FAULTS[fault]
    rc, out, err = run_cli(["run", "--station", str(fast_station()), "--board-serial", "F1", "--records",
                            str(tmp_path), "--inject", fault])
    assert rc == 1, out + err
    assert "Traceback" not in out + err
    assert "telegram is incomplete" not in out  # a bad frame is explained by the board's verdict, not dsmr_parser
    final = last_line(out)
    assert final.startswith("FAIL F1 ") and f"step {index} {name}" in final and text in final, final
    rec = load_record(final)
    assert rec["outcome"] == "FAIL" and (rec["failed_step_index"], rec["failed_step_name"]) == (index, name)
    assert rec["category"] == "fail"  # the board's failure, not the station's
    assert rec["inject"] == fault
    assert rec["supply_output_after"] == "OFF"
    outcomes = [s["outcome"] for s in rec["steps"]]
    assert outcomes[index - 1] == "FAIL" and outcomes[index:] == ["SKIPPED"] * (7 - index)


def _start_and_interrupt(tmp_path, station, serial, signals):
    """Start a run, send `signals` (one after the other) once step 4 has begun; return (rc, stdout)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.Popen([sys.executable, "-m", "p1reader", "bringup", "run", "--station", str(station), "--board-serial",
                          serial, "--records", str(tmp_path)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        lines.append(line)
        if "[4/7] Telegram loopback …" in line or not line:
            break
    time.sleep(0.5)
    for sig in signals:
        p.send_signal(sig)
        time.sleep(0.05)
    out, _ = p.communicate(timeout=60)
    return p.returncode, "".join(lines) + out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_turns_supply_off_and_keeps_record(tmp_path, fast_station, sig):
    st = fast_station(loopback={"slow_count": 50, "slow_interval_s": 0.2})
    rc, out = _start_and_interrupt(tmp_path, st, "I1", [sig])
    assert rc == 1, out
    final = last_line(out)
    assert final.startswith("ABORTED I1 ") and "step 4 loopback" in final and "aborted" in final
    assert "supply output after the run: OFF" in out
    rec = load_record(final)
    assert rec["outcome"] == "ABORTED" and rec["supply_output_after"] == "OFF"
    assert [s["outcome"] for s in rec["steps"]][:4] == ["PASS", "PASS", "PASS", "ERROR"]
    assert Path(final.split()[2]).with_suffix(".html").exists()


def test_second_ctrl_c_and_sigterm_still_exit_1(tmp_path, fast_station):
    """Ctrl-C twice then SIGTERM (an impatient operator): the first aborts, the others are ignored;
    the teardown completes and the exit status is the documented 1, not 130."""
    st = fast_station(loopback={"slow_count": 50, "slow_interval_s": 0.2})
    rc, out = _start_and_interrupt(tmp_path, st, "I2", [signal.SIGINT, signal.SIGINT, signal.SIGTERM])
    assert rc == 1, out
    assert "Traceback" not in out
    final = last_line(out)
    assert final.startswith("ABORTED I2 ")
    rec = load_record(final)
    assert rec["outcome"] == "ABORTED" and rec["supply_output_after"] == "OFF"


def test_record_is_written_after_every_step(tmp_path, fast_station):
    """Kill -9 mid-run (no finally at all): the JSON still holds the steps measured so far."""
    st = fast_station(loopback={"slow_count": 50, "slow_interval_s": 0.2})
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.Popen([sys.executable, "-m", "p1reader", "bringup", "run", "--station", str(st), "--board-serial", "K1",
                          "--records", str(tmp_path)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
                         start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "[4/7]" not in p.stdout.readline():
        pass
    os.killpg(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    (path,) = (tmp_path / "K1").glob("*.json")
    rec = json.loads(path.read_text())
    assert rec["outcome"] == "RUNNING"
    assert [s["name"] for s in rec["steps"]] == STEP_NAMES[:3]
    assert not list((tmp_path / "K1").glob(".*"))  # no temporary files left behind


@pytest.mark.parametrize("args, text", [
    (["run", "--station", "nonexistent.yaml", "--board-serial", "X"], "cannot read"),
    (["run", "--station", "sim", "--board-serial", "../evil"], "board serial"),
    (["run", "--station", "sim", "--board-serial", "X", "--inject", "gremlins"], "invalid choice"),
    (["run", "--board-serial", "X"], "--station"),
    ([], "required"),
])
def test_usage_and_station_errors_exit_2(tmp_path, args, text):
    rc, out, err = run_cli(args + (["--records", str(tmp_path)] if args else []))
    assert rc == 2
    assert text in err
    assert "Traceback" not in err


def test_bad_station_file_exit_2_names_key_and_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nkind: sim\nsupply:\n  current_limt_a: 0.2\n")
    rc, out, err = run_cli(["run", "--station", str(bad), "--board-serial", "X", "--records", str(tmp_path)])
    assert rc == 2
    assert "supply.current_limt_a" in err and str(bad) in err


def test_inject_refused_on_a_bench_station(tmp_path):
    rc, out, err = run_cli(["run", "--station", str(REPO / "bringup" / "stations" / "example.yaml"),
                            "--board-serial", "X", "--records", str(tmp_path), "--inject", "bit-errors"])
    assert rc == 2 and "kind" in err


def test_sim_bench_that_cannot_start_is_a_station_error(tmp_path, fast_station, monkeypatch):
    """No socat on PATH: exit 2 with a station error, and still a record saying why."""
    env_path = tmp_path / "bin"
    env_path.mkdir()
    (env_path / "python").symlink_to(sys.executable)
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH=str(env_path))
    p = subprocess.run([sys.executable, "-m", "p1reader", "bringup", "run", "--station", str(fast_station()),
                        "--board-serial", "N1", "--records", str(tmp_path / "rec")], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "socat not found" in p.stderr and "Traceback" not in p.stderr
    rec = load_record(last_line(p.stdout))
    assert (rec["failed_step_index"], rec["failed_step_name"], rec["category"]) == (0, "setup", "station error")
    assert rec["supply_output_after"] == "not opened"
